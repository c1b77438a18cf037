/**
 * onednn against cpu, kernel by kernel, on shapes large enough for oneDNN's JIT
 * paths and for both of Conv's layout choices (the conformance kit's cases are
 * small); LRN against its formula; the activations on signed zeros, subnormals
 * and large values against cpu, and on NaN and infinities against ONNX's
 * formulas. Calls go straight to each backend's own queue with the explicit
 * attributes core's shape rules would pass.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { DTYPES, type DType, type KernelCall, type KernelTensor } from '@mx/core';
import type { NativeBackend } from '@mx/core/bridge';

let cpu: NativeBackend;
let onednn: NativeBackend;
beforeAll(async () => {
  cpu = (await import('@mx/backend-cpu')).backend as NativeBackend;
  onednn = (await import('../src/index.js')).backend as NativeBackend;
  expect(cpu.init()).toBeNull();
  expect(onednn.init()).toBeNull();
});

type Attrs = KernelCall['attrs'];
// Tensors handed to a backend stay referenced here: nothing else keeps their
// buffers alive until the queue ran the kernel (the engine pins them; raw calls do not).
const alive: KernelTensor[][] = [];
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** Deterministic values in [-2, 2). */
function values(n: number, seed: number): number[] {
  let a = seed >>> 0;
  return Array.from({ length: n }, () => {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    return (a / 2 ** 32) * 4 - 2;
  });
}

function tensor(dtype: DType, shape: readonly number[], data?: readonly number[]): KernelTensor {
  const n = size(shape);
  const buf = new ArrayBuffer(Math.max(n * DTYPES[dtype].size, 1));
  if (data) {
    if (dtype === 'float32') new Float32Array(buf).set(data);
    else if (dtype === 'bfloat16') new Uint16Array(buf).set(data.map((v) => new Uint16Array(new Float32Array([v]).buffer)[1]!));
    else throw new Error(`no writer for ${dtype}`);
  }
  return { storage: { data: buf, byteOffset: 0 }, dtype, shape: [...shape] };
}

function read(t: KernelTensor): number[] {
  const buf = t.storage.data as ArrayBuffer;
  if (t.dtype === 'float32') return Array.from(new Float32Array(buf, 0, size(t.shape)));
  if (t.dtype === 'int64') return Array.from(new BigInt64Array(buf, 0, size(t.shape)), Number);
  // bfloat16: the high half of a float32
  return Array.from(new Uint16Array(buf, 0, size(t.shape)), (h) => new Float32Array(new Uint32Array([h << 16]).buffer)[0]!);
}

/** Runs op on both backends with the same inputs (kept alive until both are done); returns [onednn, cpu] outputs. */
async function both(op: string, key: string, inputs: (KernelTensor | null)[], outShapes: { dtype: DType; shape: number[] }[], attrs: Attrs = {}) {
  const results: number[][][] = [];
  for (const b of [onednn, cpu]) {
    const outputs = outShapes.map((o) => tensor(o.dtype, o.shape));
    alive.push(inputs.filter((t): t is KernelTensor => t !== null), outputs);
    b.run({ op, domain: '', key, device: 'cpu', inputs, outputs, attrs });
    await b.queue('cpu').sync();
    results.push(outputs.map(read));
  }
  return results as [number[][], number[][]];
}

function close(got: number[], want: number[], rtol: number, atol: number) {
  expect(got.length).toBe(want.length);
  let worst = -1;
  for (let i = 0; i < want.length; i++) {
    const [g, w] = [got[i]!, want[i]!];
    if (Object.is(g, w) || (Number.isNaN(g) && Number.isNaN(w))) continue;
    if (!(Math.abs(g - w) <= atol + rtol * Math.abs(w)) && worst < 0) worst = i;
  }
  expect(worst < 0 ? 'all close' : `element ${worst}: onednn ${got[worst]}, cpu ${want[worst]}`).toBe('all close');
}

/** Output size of a sliding window (floor, or ceil without windows starting in the end pad). */
function windowOut(inp: number, k: number, s: number, d: number, pb: number, pe: number, ceil = false): number {
  const span = inp + pb + pe - ((k - 1) * d + 1);
  let o = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  if (ceil && (o - 1) * s >= inp + pb) o--;
  return o;
}

type Win = { kernel: number[]; strides?: number[]; dilations?: number[]; pads?: number[]; ceil?: boolean };
function windowAttrs(x: number[], w: Win) {
  const sp = x.length - 2;
  const strides = w.strides ?? Array(sp).fill(1);
  const dilations = w.dilations ?? Array(sp).fill(1);
  const pads = w.pads ?? Array(2 * sp).fill(0);
  const out = x.slice(2).map((d, i) => windowOut(d, w.kernel[i]!, strides[i]!, dilations[i]!, pads[i]!, pads[i + sp]!, w.ceil));
  return { out, attrs: { kernel_shape: w.kernel, strides, dilations, pads, auto_pad: 'NOTSET' } };
}

describe('Conv', () => {
  // Blocked layouts for large output planes; the plain layout (GEMM) for 1x1 and small planes.
  const cases: [string, number[], number[], boolean, Omit<Win, 'kernel'> & { group?: number }][] = [
    ['3x3 pads 1, bias (blocked)', [1, 16, 20, 20], [32, 16, 3, 3], true, { pads: [1, 1, 1, 1] }],
    ['3x3 on a 7x7 plane (plain)', [1, 32, 7, 7], [48, 32, 3, 3], true, { pads: [1, 1, 1, 1] }],
    ['first layer 7x7 stride 2 (blocked)', [1, 3, 64, 64], [16, 3, 7, 7], true, { strides: [2, 2], pads: [3, 3, 3, 3] }],
    ['1x1, batch 2 (plain)', [2, 64, 20, 20], [128, 64, 1, 1], true, {}],
    ['group 4, stride 2', [1, 32, 9, 9], [32, 8, 3, 3], false, { group: 4, strides: [2, 2], pads: [1, 1, 1, 1] }],
    ['depthwise', [2, 32, 10, 10], [32, 1, 3, 3], true, { group: 32, pads: [1, 1, 1, 1] }],
    ['dilations 2, asymmetric pads (blocked)', [1, 16, 24, 23], [16, 16, 3, 3], false, { dilations: [2, 2], pads: [2, 1, 0, 2] }],
    ['1-D (blocked)', [2, 16, 300], [8, 16, 5], true, { pads: [2, 1], strides: [2] }],
    ['3-D (blocked)', [1, 8, 8, 9, 7], [8, 8, 3, 3, 3], true, { pads: [1, 1, 1, 1, 1, 1] }],
  ];
  for (const [name, xs, ws, bias, opt] of cases)
    for (const dtype of ['float32', 'bfloat16'] as const)
      it(`${name} (${dtype})`, async () => {
        if (dtype === 'bfloat16' && !onednn.kernels().some((k) => k.op === 'Conv' && k.key === 'bfloat16')) return;
        const { out, attrs } = windowAttrs(xs, { kernel: ws.slice(2), ...opt });
        const x = tensor(dtype, xs, values(size(xs), 1));
        const w = tensor(dtype, ws, values(size(ws), 2).map((v) => v / 4));
        const b = bias ? tensor(dtype, [ws[0]!], values(ws[0]!, 3)) : null;
        const [[got], [want]] = await both('Conv', dtype, [x, w, b], [{ dtype, shape: [xs[0]!, ws[0]!, ...out] }], { ...attrs, group: opt.group ?? 1 });
        if (dtype === 'float32') close(got!, want!, 1e-4, 1e-4);
        else close(got!, want!, 2e-2, 5e-2);
      });
});

describe('ConvTranspose', () => {
  // [x shape, W shape, bias, strides, pads, group, Y spatial]
  const cases: [string, number[], number[], boolean, number[], number[], number, number[]][] = [
    ['2x2 stride 2 (upsampling), bias', [1, 32, 10, 12], [32, 16, 2, 2], true, [2, 2], [0, 0, 0, 0], 1, [20, 24]],
    ['3x3 stride 2, pads 1, output_padding 1', [2, 16, 7, 7], [16, 24, 3, 3], false, [2, 2], [1, 1, 1, 1], 1, [14, 14]],
    ['group 4', [1, 32, 6, 6], [32, 4, 3, 3], true, [1, 1], [1, 1, 1, 1], 4, [6, 6]],
    ['negative end pads (Y past the taps)', [1, 8, 5, 5], [8, 8, 3, 3], true, [2, 2], [0, 0, -2, -1], 1, [13, 12]],
  ];
  for (const [name, xs, ws, bias, strides, pads, group, ysp] of cases)
    for (const dtype of ['float32', 'bfloat16'] as const)
      it(`${name} (${dtype})`, async () => {
        if (dtype === 'bfloat16' && !onednn.kernels().some((k) => k.op === 'ConvTranspose' && k.key === 'bfloat16')) return;
        const m = ws[1]! * group;
        const x = tensor(dtype, xs, values(size(xs), 21));
        const w = tensor(dtype, ws, values(size(ws), 22).map((v) => v / 4));
        const b = bias ? tensor(dtype, [m], values(m, 23)) : null;
        const attrs = { kernel_shape: ws.slice(2), strides, dilations: [1, 1], pads, group, auto_pad: 'NOTSET' };
        const [[got], [want]] = await both('ConvTranspose', dtype, [x, w, b], [{ dtype, shape: [xs[0]!, m, ...ysp] }], attrs);
        if (dtype === 'float32') close(got!, want!, 1e-4, 1e-4);
        else close(got!, want!, 2e-2, 5e-2);
      });
});

describe('MatMul and Gemm', () => {
  const mm: [number[], number[], number[]][] = [
    [[64, 128], [128, 96], [64, 96]],
    [[4, 33, 65], [4, 65, 17], [4, 33, 17]],
    [[3, 1, 20, 30], [5, 30, 7], [3, 5, 20, 7]],
    [[1000], [1000, 10], [10]],
    [[2, 7, 300], [300], [2, 7]],
  ];
  for (const [as, bs, ys] of mm)
    it(`MatMul [${as}] x [${bs}]`, async () => {
      const [[got], [want]] = await both('MatMul', 'float32', [tensor('float32', as, values(size(as), 4)), tensor('float32', bs, values(size(bs), 5))], [
        { dtype: 'float32', shape: ys },
      ]);
      close(got!, want!, 1e-4, 1e-3);
    });

  const gemm: [string, Attrs, number[]][] = [
    ['transA, C [N]', { transA: 1, transB: 0, alpha: 1, beta: 1 }, [40]],
    ['transB, alpha, beta, C [M,1]', { transA: 0, transB: 1, alpha: 0.5, beta: -2 }, [50, 1]],
    ['both transposed, no C', { transA: 1, transB: 1, alpha: 2, beta: 1 }, []],
  ];
  for (const [name, attrs, cs] of gemm)
    it(`Gemm ${name}`, async () => {
      const [m, k, n] = [50, 70, 40];
      const a = tensor('float32', attrs.transA ? [k, m] : [m, k], values(m * k, 6));
      const b = tensor('float32', attrs.transB ? [n, k] : [k, n], values(k * n, 7));
      const c = cs.length ? tensor('float32', cs, values(size(cs), 8)) : null;
      const [[got], [want]] = await both('Gemm', 'float32', [a, b, c], [{ dtype: 'float32', shape: [m, n] }], attrs);
      close(got!, want!, 1e-4, 1e-3);
    });
});

describe('pools and normalizations', () => {
  const pools: [string, string, number[], Win, Attrs, number][] = [
    ['MaxPool 3x3 stride 2 pads 1', 'MaxPool', [2, 32, 17, 17], { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }, {}, 1],
    ['MaxPool ceil_mode with Indices', 'MaxPool', [1, 16, 10, 11], { kernel: [3, 3], strides: [2, 2], ceil: true }, { storage_order: 0 }, 2],
    ['AveragePool excluding pads', 'AveragePool', [2, 32, 15, 15], { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }, { count_include_pad: 0 }, 1],
    ['AveragePool ceil_mode counting pads', 'AveragePool', [1, 16, 12, 12], { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil: true }, { count_include_pad: 1 }, 1],
    // planes too large for oneDNN's plain-layout JIT: pooled channel-blocked
    ['MaxPool 2x2 on a 150x150 plane', 'MaxPool', [1, 8, 150, 150], { kernel: [2, 2], strides: [2, 2] }, {}, 1],
    ['AveragePool ceil_mode counting pads, 141x141 plane', 'AveragePool', [1, 4, 141, 141], { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil: true }, { count_include_pad: 1 }, 1],
  ];
  for (const [name, op, xs, win, extra, outputs] of pools)
    it(name, async () => {
      const { out, attrs } = windowAttrs(xs, win);
      const shape = [xs[0]!, xs[1]!, ...out];
      const outs = [{ dtype: 'float32' as DType, shape }, { dtype: 'int64' as DType, shape }].slice(0, outputs);
      const [got, want] = await both(op, 'float32', [tensor('float32', xs, values(size(xs), 9))], outs, { ...attrs, ceil_mode: win.ceil ? 1 : 0, ...extra });
      close(got[0]!, want[0]!, 1e-6, 1e-6);
      if (outputs > 1) expect(got[1]).toEqual(want[1]);
    });

  for (const op of ['GlobalAveragePool', 'GlobalMaxPool'])
    it(op, async () => {
      const [[got], [want]] = await both(op, 'float32', [tensor('float32', [2, 64, 7, 7], values(2 * 64 * 49, 10))], [{ dtype: 'float32', shape: [2, 64, 1, 1] }]);
      close(got!, want!, 1e-5, 1e-6);
    });

  for (const [window, shape] of [
    [5, [2, 64, 13, 13]],
    [3, [1, 16, 50]],
    [4, [1, 12, 5, 5]],
  ] as const)
    it(`LRN size ${window} [${shape}] (against the formula)`, async () => {
      const [alpha, beta, bias] = [1e-3, 0.75, 2];
      const data = values(size(shape), 24).map((v) => v * 3);
      const [x, y] = [tensor('float32', shape, data), tensor('float32', shape)];
      alive.push([x, y]);
      onednn.run({ op: 'LRN', domain: '', key: 'float32', device: 'cpu', inputs: [x], outputs: [y], attrs: { size: window, alpha, beta, bias } });
      await onednn.queue('cpu').sync();
      const [c, plane] = [shape[1], size(shape.slice(2))];
      const xs = Float32Array.from(data);
      const want = Array.from(xs, (v, i) => {
        const [n, ch, p] = [Math.floor(i / (c * plane)), Math.floor(i / plane) % c, i % plane];
        let ss = 0;
        for (let k = Math.max(0, ch - Math.floor((window - 1) / 2)); k <= Math.min(c - 1, ch + Math.ceil((window - 1) / 2)); k++) ss += xs[(n * c + k) * plane + p]! ** 2;
        return v / (bias + (alpha / window) * ss) ** beta;
      });
      close(read(y), want, 1e-5, 1e-6);
    });

  it('LayerNormalization with Mean and InvStdDev', async () => {
    const [r, l] = [8, 768];
    const ins = [tensor('float32', [2, 4, l], values(r * l, 16)), tensor('float32', [l], values(l, 17)), tensor('float32', [l], values(l, 18))];
    const outs = [
      { dtype: 'float32' as DType, shape: [2, 4, l] },
      { dtype: 'float32' as DType, shape: [2, 4, 1] },
      { dtype: 'float32' as DType, shape: [2, 4, 1] },
    ];
    const [got, want] = await both('LayerNormalization', 'float32', ins, outs, { axis: 2, epsilon: 1e-5, stash_type: 1 });
    for (let i = 0; i < 3; i++) close(got[i]!, want[i]!, 1e-4, 1e-5);
  });

  // axis innermost, and not (run on a transposed copy)
  for (const [op, shape, axis] of [
    ['Softmax', [16, 1000], 1],
    ['Softmax', [4, 10, 6], 1],
    ['Softmax', [4, 10, 6], 0],
    ['Softmax', [1, 19, 40, 40], 1],
  ] as const)
    it(`${op} [${shape}] axis ${axis}`, async () => {
      const [[got], [want]] = await both(op, 'float32', [tensor('float32', shape, values(size(shape), 19).map((v) => v * 10))], [{ dtype: 'float32', shape: [...shape] }], { axis });
      close(got!, want!, 1e-5, 1e-6);
    });
});

describe('activations on special values', () => {
  const finite = [0, -0, 1e-40, -1e-40, 1e-7, -1e-7, 0.5, -0.5, 3, -3, 20, -20, 88, -88, 1e30, -1e30];
  const wide = [...finite, ...values(4099, 20).map((v) => v * 8)]; // odd length: a vector tail
  const inf = Infinity;
  // [op, attrs, absolute tolerance against cpu, ONNX's formula at NaN, +inf, -inf (inf * 0 is NaN)].
  // Gelu: both backends approximate erf/tanh and lose the relative accuracy of the
  // negative tail (values below 1e-6), within ONNX's test tolerance.
  const ops: [string, Attrs, number, number[]][] = [
    ['LeakyRelu', { alpha: 0.1 }, 2e-7, [NaN, inf, -inf]],
    ['Elu', { alpha: 0.7 }, 2e-7, [NaN, inf, -0.7]],
    ['Sigmoid', {}, 2e-7, [NaN, 1, 0]],
    ['Tanh', {}, 2e-7, [NaN, 1, -1]],
    ['Gelu', { approximate: 'none' }, 1e-6, [NaN, inf, NaN]],
    ['Gelu', { approximate: 'tanh' }, 1e-6, [NaN, inf, NaN]],
    ['HardSwish', {}, 2e-7, [NaN, inf, NaN]],
    ['Abs', {}, 2e-7, [NaN, inf, inf]],
    ['Sqrt', {}, 2e-7, [NaN, inf, NaN]],
  ];
  it('declares exactly these activations', () => {
    const declared = new Set(onednn.kernels().map((k) => k.op));
    for (const [op] of ops) expect(declared.has(op)).toBe(true);
    for (const op of ['Relu', 'Exp', 'Log', 'Softplus', 'Mish', 'LogSoftmax']) expect(declared.has(op)).toBe(false);
  });
  for (const [op, attrs, atol, special] of ops)
    it(`${op} ${JSON.stringify(attrs)}`, async () => {
      // finite values (signed zeros, subnormals, large magnitudes) as cpu computes them, to float32 rounding
      const [[got], [want]] = await both(op, 'float32', [tensor('float32', [wide.length], wide)], [{ dtype: 'float32', shape: [wide.length] }], attrs);
      close(got!, want!, 2e-6, atol);
      const y = tensor('float32', [3]);
      const x = tensor('float32', [3], [NaN, inf, -inf]);
      alive.push([x, y]);
      onednn.run({ op, domain: '', key: 'float32', device: 'cpu', inputs: [x], outputs: [y], attrs });
      await onednn.queue('cpu').sync();
      close(read(y), special, 1e-6, 0);
    });
});
