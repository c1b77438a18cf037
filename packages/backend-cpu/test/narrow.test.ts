// The narrow dtypes on the cpu backend against core's JS conversions (an
// independent implementation): every float16 bit pattern and near-tie float64
// values cast to each float8/float4 format with and without saturation, every
// stored byte decoded, the 4- and 2-bit integers, and float8e8m0's rounding.
// Calls go straight to the backend with the attributes core would pass.
import { describe, expect, it } from 'vitest';
import { DTYPES, readNumber, writeNumber, type DType, type KernelCall, type KernelTensor, type TypedArray } from '@mx/core';
import { type NativeBackend } from '@mx/core/bridge';
import cpu from '../dist/index.js';

const q = (cpu as NativeBackend).queue('cpu');
const FLOAT8: DType[] = ['float8e4m3fn', 'float8e4m3fnuz', 'float8e5m2', 'float8e5m2fnuz', 'float4e2m1'];
const MAX: Partial<Record<DType, number>> = { float8e4m3fn: 448, float8e4m3fnuz: 240, float8e5m2: 57344, float8e5m2fnuz: 57344, float4e2m1: 6 };

function kt(dtype: DType, values: ArrayLike<number>): KernelTensor & { view: TypedArray } {
  const C = DTYPES[dtype].array as unknown as new (n: number) => TypedArray;
  const view = new C(values.length);
  view.set(values as never);
  return { storage: { data: view.buffer as ArrayBuffer, byteOffset: 0 }, dtype, shape: [values.length], view };
}

/** Runs Cast and returns the stored elements as numbers. */
async function cast(x: KernelTensor, to: DType, n: number, attrs: KernelCall['attrs'] = {}): Promise<number[]> {
  const out = kt(to, new Array<number>(n).fill(0));
  cpu.run({ op: 'Cast', domain: '', key: `${x.dtype},${to}`, device: 'cpu', inputs: [x], outputs: [out], attrs: { to: DTYPES[to].id, ...attrs } });
  await q.sync();
  return Array.from(out.view as ArrayLike<number>);
}

/** What core stores for x in dtype d (Cast without saturation; float8e8m0 to the nearest power of two). */
function stored(d: DType, x: number): number {
  const a = new DTYPES[d].array(1) as TypedArray;
  writeNumber(d, a, 0, x);
  return a[0] as number;
}

/** Saturation is a clamp to the largest finite value before the conversion. */
const clamp = (d: DType, x: number) => (Number.isNaN(x) ? x : Math.max(-MAX[d]!, Math.min(MAX[d]!, x)));

/** Where got and want differ (NaN matches NaN, -0 does not match 0), the first few. */
function diff(got: ArrayLike<number>, want: ArrayLike<number>, input: ArrayLike<number>): string[] {
  const out: string[] = [];
  for (let i = 0; i < want.length && out.length < 5; i++) if (!Object.is(got[i], want[i])) out.push(`x=${input[i]}: got ${got[i]}, want ${want[i]}`);
  return out;
}

describe('narrow dtypes on the cpu backend', () => {
  // every float16: normals, subnormals, both zeros, infinities, NaNs
  const bits = Array.from({ length: 65536 }, (_, i) => i);
  const halfValues = bits.map((b) => readNumber('float16', Uint16Array.of(b), 0));

  it.each(FLOAT8)('casts every float16 to %s like core, with and without saturation', async (d) => {
    const x = kt('float16', bits);
    const plain = await cast(x, d, bits.length, { saturate: 0 });
    expect(diff(plain, halfValues.map((v) => stored(d, v)), halfValues)).toEqual([]);
    const sat = await cast(x, d, bits.length, { saturate: 1 });
    expect(diff(sat, halfValues.map((v) => stored(d, clamp(d, v))), halfValues)).toEqual([]);
  });

  it.each(FLOAT8)('rounds float64 to %s once (values next to ties)', async (d) => {
    // every value of the format, and the points just above and below each midpoint between neighbours
    const vals = Array.from({ length: 256 }, (_, b) => readNumber(d, Uint8Array.of(b), 0)).filter(Number.isFinite).sort((a, b) => a - b);
    const xs: number[] = [];
    for (let i = 0; i + 1 < vals.length; i++) {
      const mid = (vals[i]! + vals[i + 1]!) / 2;
      xs.push(mid, mid * (1 + 2 ** -40), mid * (1 - 2 ** -40), vals[i]!);
    }
    const y = await cast(kt('float64', xs), d, xs.length, { saturate: 0 });
    expect(diff(y, xs.map((v) => stored(d, v)), xs)).toEqual([]);
  });

  it.each([...FLOAT8, 'float8e8m0' as DType])('decodes every stored byte of %s', async (d) => {
    const all = Array.from({ length: d === 'float4e2m1' ? 16 : 256 }, (_, b) => b);
    const y = await cast(kt(d, all), 'float32', all.length);
    const want = all.map((b) => Math.fround(readNumber(d, Uint8Array.of(b), 0)));
    expect(diff(y, want, all)).toEqual([]);
  });

  it('converts to float8e8m0 by the nearest power of two like core, and rounds up by default', async () => {
    const xs = [0, 2 ** -127, 2 ** -130, 0.3, 0.75, 1, 1.1, 1.5, 1.9, 3, 6, 2 ** 127, 2 ** 127 * 1.5, -4, NaN, Infinity].map(Math.fround);
    const nearest = await cast(kt('float32', xs), 'float8e8m0', xs.length, { saturate: 0, round_mode: 'nearest' });
    expect(diff(nearest, xs.map((v) => stored('float8e8m0', v)), xs)).toEqual([]);
    const up = await cast(kt('float32', [1.1, 1.5, 0.3, 2 ** 127 * 1.5]), 'float8e8m0', 4);
    expect(up).toEqual([0x80, 0x80, 0x7e, 0xfe]); // 2, 2, 0.5, saturated at 2^127
  });

  it.each(['int4', 'uint4', 'int2', 'uint2'] as DType[])('wraps float32 and int32 into %s and widens it back', async (d) => {
    const xs = Array.from({ length: 41 }, (_, i) => i - 20);
    const fromInt = await cast(kt('int32', xs), d, xs.length);
    expect(fromInt).toEqual(xs.map((v) => stored(d, v)));
    const fracs = xs.map((v) => v + 0.75);
    const fromFloat = await cast(kt('float32', fracs), d, xs.length);
    expect(fromFloat).toEqual(fracs.map((v) => stored(d, Math.trunc(v))));
    // back to int8 and float32: the stored values, sign-extended for int4/int2
    expect(await cast(kt(d, fromInt), 'int8', xs.length)).toEqual(fromInt);
    expect(await cast(kt(d, fromInt), 'float32', xs.length)).toEqual(fromInt);
  });
});
