// The elementwise, cast and reduction kernels on what the conformance cases keep
// small: tensors large enough for the thread pool and the vector loops, integer
// division by zero, NaN, float-to-integer saturation, and the accuracy of long
// sums and of the vectorized exp/tanh/sigmoid. Calls go straight to the backend
// with the attributes core would pass. Run after `pnpm build` in this package.
import { describe, expect, it } from 'vitest';
import { DTYPES, type DType, type KernelCall, type KernelTensor } from '@mx/core';
import { type NativeBackend } from '@mx/core/bridge';
import cpu from '../dist/index.js';

const q = (cpu as NativeBackend).queue('cpu');
type Arr = Float32Array | Float64Array | Int8Array | Uint8Array | Int32Array | BigInt64Array;

function kt(dtype: DType, shape: number[], values?: ArrayLike<number> | ArrayLike<bigint>): KernelTensor & { view: Arr } {
  const n = shape.reduce((a, b) => a * b, 1);
  const C = DTYPES[dtype].array as unknown as new (n: number) => Arr;
  const view = new C(n);
  if (values) view.set(values as never);
  return { storage: { data: view.buffer as ArrayBuffer, byteOffset: 0 }, dtype, shape, view };
}

/** Runs one kernel and returns the output's elements as numbers. */
async function run(op: string, key: string, inputs: (KernelTensor | null)[], out: KernelTensor & { view: Arr }, attrs: KernelCall['attrs'] = {}): Promise<number[]> {
  cpu.run({ op, domain: '', key, device: 'cpu', inputs, outputs: [out], attrs });
  await q.sync();
  return Array.from(out.view as ArrayLike<number | bigint>, Number);
}

/** Deterministic pseudo-random integers in [lo, hi]. */
function ints(n: number, lo: number, hi: number, seed = 1): number[] {
  let s = seed;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return lo + (s % (hi - lo + 1));
  });
}

/** Distance in float32 ulps (of the expected value; subnormal spacing near 0). */
function ulps(got: number, want: number): number {
  if (Number.isNaN(want)) return Number.isNaN(got) ? 0 : Infinity;
  if (got === want) return 0;
  const w = Math.fround(want);
  const exp = w === 0 ? -149 : Math.max(Math.floor(Math.log2(Math.abs(w))) - 23, -149);
  return Math.abs(got - want) / 2 ** exp;
}

describe('cpu elementwise kernels', () => {
  it('broadcasts large tensors across the pool: same shape, row, column, scalar and a general 3-D case', async () => {
    const shapes: [number[], number[], number[]][] = [
      [[300, 1001], [300, 1001], [300, 1001]],
      [[300, 1001], [1001], [300, 1001]],
      [[300, 1001], [300, 1], [300, 1001]],
      [[300, 1001], [], [300, 1001]],
      [[7, 1, 5003], [1, 13, 1], [7, 13, 5003]],
    ];
    for (const [sa, sb, so] of shapes) {
      const a = kt('float32', sa, ints(sa.reduce((x, y) => x * y, 1), -1000, 1000, 3));
      const b = kt('float32', sb, ints(sb.reduce((x, y) => x * y, 1), -1000, 1000, 7));
      const got = await run('Sub', 'float32', [a, b], kt('float32', so));
      // NumPy broadcasting, index by index
      const idx = (shape: number[], full: number[]) => {
        let flat = 0;
        shape.forEach((d, k) => (flat = flat * d + (d === 1 ? 0 : full[so.length - shape.length + k]!)));
        return flat;
      };
      const full = new Array<number>(so.length).fill(0);
      for (let i = 0; i < got.length; i++) {
        for (let k = so.length - 1, r = i; k >= 0; k--) (full[k] = r % so[k]!), (r = Math.floor(r / so[k]!));
        const want = a.view[idx(sa, full)]! as number - (b.view[idx(sb, full)]! as number);
        if (got[i] !== want) expect.fail(`${sa} - ${sb}: element ${i} is ${got[i]}, expected ${want}`);
      }
    }
  });

  it('wraps integer overflow and survives integer division by zero and INT_MIN / -1', async () => {
    const min = -(2 ** 31);
    const a = kt('int32', [6], [7, -7, min, min, 2 ** 31 - 1, 5]);
    const b = kt('int32', [6], [0, 0, -1, -1, 1, 0]);
    expect(await run('Div', 'int32', [a, b], kt('int32', [6]))).toEqual([0, 0, min, min, 2 ** 31 - 1, 0]);
    expect(await run('Mod', 'int32', [a, b], kt('int32', [6]), { fmod: 0 })).toEqual([0, 0, 0, 0, 0, 0]);
    expect(await run('Add', 'int32', [a, b], kt('int32', [6]))).toEqual([7, -7, 2 ** 31 - 1, 2 ** 31 - 1, min, 5]);
    const i64 = kt('int64', [2], [-(2n ** 63n), 9n]);
    expect(await run('Div', 'int64', [i64, kt('int64', [2], [-1n, 0n])], kt('int64', [2]))).toEqual([-(2 ** 63), 0]);
  });

  it('computes float32 exp, log, tanh and sigmoid within 3 ulp over the whole range, specials included', async () => {
    const n = 200_001;
    const xs = Array.from({ length: n }, (_, i) => Math.fround(-110 + (220 * i) / (n - 1)));
    xs.push(...Array.from({ length: 300 }, (_, i) => Math.fround(2 ** (i - 150) * 1.37)));
    xs.push(0, -0, 1e-30, -1e-30, 1e-8, -3e-4, Infinity, -Infinity, NaN);
    const x = kt('float32', [xs.length], xs);
    const exact: Record<string, (v: number) => number> = {
      Exp: Math.exp,
      Log: Math.log,
      Tanh: Math.tanh,
      Sigmoid: (v) => 1 / (1 + Math.exp(-v)),
    };
    for (const [op, f] of Object.entries(exact)) {
      const got = await run(op, 'float32', [x], kt('float32', [xs.length]));
      let worst = 0;
      let at = 0;
      got.forEach((g, i) => {
        const e = ulps(g, f(xs[i]!));
        if (e > worst) (worst = e), (at = xs[i]!);
      });
      expect(worst, `${op} is ${worst} ulp off at x = ${at}`).toBeLessThanOrEqual(3);
    }
  });
});

describe('cpu casts', () => {
  it('truncates toward zero, saturates out of range, maps NaN to 0 and tests != 0 for bool', async () => {
    const xs = [1.9, -1.9, 126.5, 300.5, -1e10, NaN, Infinity, -0.5];
    const x = kt('float32', [xs.length], xs);
    expect(await run('Cast', 'float32,int8', [x], kt('int8', [xs.length]))).toEqual([1, -1, 126, 127, -128, 0, 127, 0]);
    expect(await run('Cast', 'float32,uint8', [x], kt('uint8', [xs.length]))).toEqual([1, 0, 126, 255, 0, 0, 255, 0]);
    expect(await run('Cast', 'float32,bool', [x], kt('bool', [xs.length]))).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
    expect(await run('Cast', 'float32,bool', [kt('float32', [2], [0, -0])], kt('bool', [2]))).toEqual([0, 0]);
  });
});

describe('cpu reductions', () => {
  it('sums 4M float32 values as accurately as float64 would (no float drift)', async () => {
    const n = 1 << 22;
    const tenth = Math.fround(0.1);
    const x = kt('float32', [n], new Float32Array(n).fill(tenth));
    const [sum] = await run('ReduceSum', 'float32', [x, null], kt('float32', []), { axes: [0], keepdims: 0 });
    expect(Math.abs(sum! - n * tenth) / (n * tenth)).toBeLessThan(1e-7);
  });

  it('reduces non-adjacent axes of a large tensor: sum over axes [0, 2] of [64, 33, 1000]', async () => {
    const [d0, d1, d2] = [64, 33, 1000];
    const vals = ints(d0 * d1 * d2, -50, 50, 11);
    const got = await run('ReduceSum', 'int32', [kt('int32', [d0, d1, d2], vals), null], kt('int32', [d1]), { axes: [0, 2], keepdims: 0 });
    const want = new Array<number>(d1).fill(0);
    vals.forEach((v, i) => (want[Math.floor(i / d2) % d1]! += v));
    expect(got).toEqual(want);
  });

  it('lets NaN win in ReduceMax, ReduceMin and ArgMax (NumPy)', async () => {
    const xs = [1, 5, NaN, 7, NaN, 2];
    const x = kt('float32', [2, 3], xs);
    expect(await run('ReduceMax', 'float32', [x, null], kt('float32', [2]), { axes: [1], keepdims: 0 })).toEqual([NaN, NaN]);
    expect(await run('ReduceMin', 'float32', [x, null], kt('float32', [3]), { axes: [0], keepdims: 0 })).toEqual([1, NaN, NaN]);
    expect(await run('ArgMax', 'float32', [x], kt('int64', [2]), { axis: 1, keepdims: 0, select_last_index: 0 })).toEqual([2, 1]);
  });
});
