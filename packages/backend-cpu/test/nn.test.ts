// The nn kernels (MatMul, Gemm, Conv, pooling, normalization, softmax) on what the
// conformance cases keep small: shapes that cross the GEMM's cache blocks and
// register tiles and spread over the thread pool, transposed operands, GEMV
// shapes, batched products, grouped/depthwise/strided/dilated and 1x1
// convolutions, pooling windows on the borders and inside, long softmax rows.
// Each call goes straight to the backend with the attributes core would pass and
// is compared with the reference kernel run on the same call. Run after
// `pnpm build` in this package. `pnpm test` runs them again with MX_CPU_ISA=avx2
// and MX_CPU_ISA=generic, so that the narrower paths are checked on a wider CPU.
import { describe, expect, it } from 'vitest';
import { DTYPES, type DType, type KernelCall, type KernelTensor } from '@mx/core';
import { type NativeBackend } from '@mx/core/bridge';
import { runReferenceKernel } from '@mx/core/reference';
import cpu from '../dist/index.js';

const q = (cpu as NativeBackend).queue('cpu');
type Arr = Float32Array | Float64Array | Int8Array | BigInt64Array;
type T = KernelTensor & { view: Arr };

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

function kt(dtype: DType, shape: number[], values?: ArrayLike<number>): T {
  const C = DTYPES[dtype].array as unknown as new (n: number) => Arr;
  const view = new C(size(shape));
  if (values) view.set(values as never);
  return { storage: { data: view.buffer as ArrayBuffer, byteOffset: 0 }, dtype, shape, view };
}

/** Deterministic values in [-1, 1) (integers in [-100, 100] for integer dtypes). */
function input(dtype: DType, shape: number[], seed: number): T {
  let s = seed >>> 0;
  const vals = Array.from({ length: size(shape) }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return dtype === 'int8' ? (s >>> 24) % 201 - 100 : s / 2 ** 31 - 1;
  });
  return kt(dtype, shape, vals);
}

const bytes = (t: KernelTensor) => new Uint8Array(t.storage.data as ArrayBuffer, t.storage.byteOffset, size(t.shape) * DTYPES[t.dtype].size);
const values = (t: T) => Array.from(t.view as ArrayLike<number | bigint>, Number);

/**
 * Runs op on the cpu backend and the reference kernel on fresh outputs of the
 * given shapes, and checks |cpu - ref| <= atol + rtol * |ref| element by element.
 */
async function check(
  op: string,
  key: string,
  inputs: (T | null)[],
  outputs: [DType, number[]][],
  attrs: KernelCall['attrs'],
  tol: { rtol: number; atol: number },
): Promise<void> {
  const call = (outs: T[]): KernelCall => ({ op, domain: op === 'FusedConv' ? 'mx' : '', key, device: 'cpu', inputs, outputs: outs, attrs });
  const got = outputs.map(([d, s]) => kt(d, s));
  const want = outputs.map(([d, s]) => kt(d, s));
  cpu.run(call(got));
  await q.sync();
  runReferenceKernel(call(want), bytes);
  got.forEach((g, k) => {
    const a = values(g);
    const b = values(want[k]!);
    for (let i = 0; i < a.length; i++) {
      const ok = a[i] === b[i] || (Number.isNaN(a[i]!) && Number.isNaN(b[i]!)) || Math.abs(a[i]! - b[i]!) <= tol.atol + tol.rtol * Math.abs(b[i]!);
      if (!ok) expect.fail(`${op}(${key}) ${JSON.stringify(attrs)} output ${k} element ${i}: got ${a[i]}, expected ${b[i]}`);
    }
  });
}

/** float32 tolerance for sums of k products of values in [-1, 1]. */
const f32 = (k: number) => ({ rtol: 1e-5, atol: 2e-6 * Math.sqrt(k) + 1e-6 });
const f64 = { rtol: 1e-12, atol: 1e-12 };

/** Output spatial dims of a sliding window with explicit attributes (no ceil_mode). */
function windowOut(x: number[], k: number[], s: number[], d: number[], p: number[]): number[] {
  const n = k.length;
  return k.map((kk, i) => Math.floor((x[2 + i]! + p[i]! + p[i + n]! - ((kk - 1) * d[i]! + 1)) / s[i]!) + 1);
}

describe('cpu MatMul and Gemm', () => {
  it('crosses every cache block and register tile edge, on the pool: [150,300] x [300,2100] float32', async () => {
    await check('MatMul', 'float32', [input('float32', [150, 300], 1), input('float32', [300, 2100], 2)], [['float32', [150, 2100]]], {}, f32(300));
  });

  it('packs a constant B once per constant id (MatMul, Gemm with transB): same results, a new id takes new values', async () => {
    // constant ids mark a model's initializers (ctx const_ids): the kernels keep B packed by id and address
    let id = 2000;
    const cases: [string, number[], number[], number[], Record<string, number>][] = [
      ['MatMul', [300, 520], [520, 700], [300, 700], {}],
      ['MatMul', [3, 40, 90], [90, 33], [3, 40, 33], {}],
      ['Gemm', [64, 300], [130, 300], [64, 130], { alpha: 1, beta: 1, transA: 0, transB: 1 }],
    ];
    for (const [op, a, b, y, attrs] of cases) {
      const A = input('float32', a, 41);
      const B = input('float32', b, 42);
      for (let round = 0; round < 3; round++) {
        if (round === 2) {
          B.view.set(input('float32', b, 43).view as Float32Array);
          id++;
        }
        (B.storage as { constId?: number }).constId = id;
        await check(op, 'float32', [A, B], [['float32', y]], attrs, f32(a[a.length - 1]!));
      }
      id++;
    }
  });

  it('reads B in place for few rows (M <= 18), whole panels, the last columns packed: one thread and the pool, float32 and float64', async () => {
    for (const [m, k, n] of [[5, 300, 67], [18, 1000, 330], [12, 40, 64], [7, 20, 18]])
      for (const dtype of ['float32', 'float64'] as const)
        await check('MatMul', dtype, [input(dtype, [m, k], 7), input(dtype, [k, n], 8)], [[dtype, [m, n]]], {}, dtype === 'float64' ? f64 : f32(k));
  });

  it('runs the float64 kernel over several K slices: [100,600] x [600,130]', async () => {
    await check('MatMul', 'float64', [input('float64', [100, 600], 3), input('float64', [600, 130], 4)], [['float64', [100, 130]]], {}, f64);
  });

  it('multiplies batches: broadcast batch dims, many small products, a shared B', async () => {
    const cases: [number[], number[], number[]][] = [
      [[16, 33, 40], [16, 40, 20], [16, 33, 20]],
      [[2, 1, 65, 70], [3, 70, 66], [2, 3, 65, 66]],
      [[4, 70, 90], [90, 50], [4, 70, 50]],
      [[70], [5, 70, 300], [5, 300]],
    ];
    for (const [a, b, y] of cases)
      await check('MatMul', 'float32', [input('float32', a, 5), input('float32', b, 6)], [['float32', y]], {}, f32(a[a.length - 1]!));
  });

  it('takes the GEMV paths for one row or one column, both operand layouts', async () => {
    await check('MatMul', 'float32', [input('float32', [1, 3000], 7), input('float32', [3000, 700], 8)], [['float32', [1, 700]]], {}, f32(3000));
    await check('MatMul', 'float32', [input('float32', [700, 3000], 9), input('float32', [3000], 10)], [['float32', [700]]], {}, f32(3000));
    const gemm = { alpha: 1, beta: 1, transA: 0, transB: 1 };
    await check('Gemm', 'float32', [input('float32', [1, 2000], 11), input('float32', [600, 2000], 12), null], [['float32', [1, 600]]], gemm, f32(2000));
    await check('Gemm', 'float32', [input('float32', [2000, 600], 13), input('float32', [2000, 1], 14), null], [['float32', [600, 1]]], { ...gemm, transA: 1, transB: 0 }, f32(2000));
  });

  it('packs transposed operands and adds alpha * AB + beta * C with C broadcast', async () => {
    const attrs = { alpha: 0.5, beta: -1.5, transA: 1, transB: 1 };
    const a = input('float32', [400, 300], 15);
    const b = input('float32', [500, 400], 16);
    for (const c of [[500], [300, 1], [300, 500]])
      await check('Gemm', 'float32', [a, b, input('float32', c, 17)], [['float32', [300, 500]]], attrs, f32(400));
  });

  it('wraps int32 products and truncates an integer Gemm with alpha and beta', async () => {
    const a = input('int8', [40, 70], 18);
    const b = input('int8', [70, 50], 19);
    const i32 = (t: T, scale: number) => kt('int32', t.shape as number[], values(t).map((v) => v * scale));
    const exact = { rtol: 0, atol: 0 };
    // products up to 1e10 overflow int32: both sides wrap modulo 2^32
    await check('MatMul', 'int32', [i32(a, 1000), i32(b, 1000)], [['int32', [40, 50]]], {}, exact);
    const c = i32(input('int8', [50], 20), 1);
    await check('Gemm', 'int32', [i32(a, 1), i32(b, 1), c], [['int32', [40, 50]]], { alpha: 0.5, beta: 3, transA: 0, transB: 0 }, exact);
  });
});

describe('cpu Conv', () => {
  const conv = async (x: number[], w: number[], group: number, k: number[], s: number[], d: number[], p: number[], bias: boolean, tol = f32(size(w.slice(1)))) => {
    const y = [x[0]!, w[0]!, ...windowOut(x, k, s, d, p)];
    const inputs = [input('float32', x, 21), input('float32', w, 22), bias ? input('float32', [w[0]!], 23) : null];
    await check('Conv', 'float32', inputs, [['float32', y]], { kernel_shape: k, strides: s, dilations: d, pads: p, group, auto_pad: 'NOTSET' }, tol);
  };
  // Winograd F(4x4, 3x3) rounds its transforms: errors up to ~1e-5 of the
  // output's scale (sqrt(k) for k products of values in [-1, 1]), not of each value.
  const wino = (k: number) => ({ rtol: 1e-5, atol: 2e-5 * Math.sqrt(k) });

  it('5x5 over 64 channels (im2col packed straight from X, several K slices, the pool)', async () => {
    await conv([1, 64, 30, 30], [64, 64, 5, 5], 1, [5, 5], [1, 1], [1, 1], [2, 2, 2, 2], true);
  });

  it('3x3 stride 1 by Winograd: 64 channels, edge tiles, asymmetric pads, two images; few channels by im2col', async () => {
    await conv([1, 64, 30, 30], [64, 64, 3, 3], 1, [3, 3], [1, 1], [1, 1], [1, 1, 1, 1], true, wino(576));
    await conv([2, 24, 27, 23], [20, 24, 3, 3], 1, [3, 3], [1, 1], [1, 1], [0, 2, 1, 1], false, wino(216));
    await conv([1, 8, 30, 30], [16, 8, 3, 3], 1, [3, 3], [1, 1], [1, 1], [1, 1, 1, 1], true);
    // tile rows of 7 tiles (the x step's one partial vector) and of 14 with the last output column
    // cut (a whole vector that reads the next one's first phase values, then a partial one)
    await conv([1, 16, 28, 28], [20, 16, 3, 3], 1, [3, 3], [1, 1], [1, 1], [1, 1, 1, 1], true, wino(144));
    await conv([1, 16, 55, 55], [18, 16, 3, 3], 1, [3, 3], [1, 1], [1, 1], [1, 1, 1, 1], false, wino(144));
  });

  it('1x1 kernels with a stride and no padding: transposed (enough channels; the inputs they read gathered first), plain, grouped, two images', async () => {
    await conv([1, 96, 14, 14], [40, 96, 1, 1], 1, [1, 1], [2, 2], [1, 1], [0, 0, 0, 0], true); // 7x7
    await conv([2, 400, 28, 27], [36, 400, 1, 1], 1, [1, 1], [2, 2], [1, 1], [0, 0, 0, 0], false); // 14x14
    await conv([1, 288, 25, 30], [34, 288, 1, 1], 1, [1, 1], [2, 3], [1, 1], [0, 0, 0, 0], true); // 13x10
    await conv([1, 16, 31, 30], [20, 16, 1, 1], 1, [1, 1], [2, 3], [1, 1], [0, 0, 0, 0], true); // im2col's path
    await conv([2, 12, 9, 10], [6, 4, 1, 1], 3, [1, 1], [3, 2], [1, 1], [0, 0, 0, 0], true); // groups
  });

  it('strides, dilations, asymmetric pads and groups; many small images and groups', async () => {
    await conv([2, 32, 17, 19], [48, 16, 5, 3], 2, [5, 3], [2, 1], [1, 2], [2, 1, 1, 2], true);
    await conv([6, 16, 12, 12], [24, 4, 3, 3], 4, [3, 3], [1, 1], [1, 1], [1, 1, 1, 1], false);
  });

  it('packs a constant W once per constant id: same results, and a new id on the same buffer takes the new weights', async () => {
    // constant ids mark a model's initializers (ctx const_ids): the kernel keeps W packed by id and address
    let id = 1000;
    for (const [x, w, group, k, p] of [
      [[1, 48, 14, 14], [40, 48, 1, 1], 1, [1, 1], [0, 0, 0, 0]],
      [[2, 16, 11, 9], [24, 16, 5, 5], 1, [5, 5], [2, 2, 2, 2]],
      [[1, 8, 10, 10], [12, 4, 3, 3], 2, [3, 3], [1, 1, 1, 1]],
    ] as [number[], number[], number, number[], number[]][]) {
      const X = input('float32', x, 31);
      const W = input('float32', w, 32);
      const y = [x[0]!, w[0]!, ...windowOut(x, k, [1, 1], [1, 1], p)];
      const attrs = { kernel_shape: k, strides: [1, 1], dilations: [1, 1], pads: p, group, auto_pad: 'NOTSET' };
      for (let round = 0; round < 3; round++) {
        if (round === 2) {
          W.view.set(input('float32', w, 33).view as Float32Array);
          id++;
        }
        (W.storage as { constId?: number }).constId = id;
        await check('Conv', 'float32', [X, W, null], [['float32', y]], attrs, f32(size(w.slice(1))));
      }
      id++;
    }
  });

  it('small output planes run transposed (Y^T = col^T W^T): 1x1, 3x3 strided and padded, two images, odd channel counts', async () => {
    // P <= 256 output positions, >= 32 output channels and K, where it pads less (transposed_applies): the
    // transposed GEMM, then Y^T -> Y with the bias. 7x7 with K = 512: 54 padded rows against 64 columns
    await conv([1, 512, 7, 7], [48, 512, 1, 1], 1, [1, 1], [1, 1], [1, 1], [0, 0, 0, 0], true);
    // 7 positions to a panel where the CPU has AVX-512VL: 49 and 196 fill whole panels
    await conv([1, 96, 7, 7], [37, 96, 3, 3], 1, [3, 3], [1, 1], [1, 1], [1, 1, 1, 1], true);
    await conv([1, 1024, 14, 14], [40, 1024, 1, 1], 1, [1, 1], [1, 1], [1, 1], [0, 0, 0, 0], false);
    await conv([2, 64, 6, 6], [40, 64, 1, 1], 1, [1, 1], [1, 1], [1, 1], [0, 0, 0, 0], true); // 36 positions: 6 to a panel
    // a 1x1 with 4+ panels of output channels: each thread packs X^T and takes whole panels of W^T (the last one short)
    await conv([2, 160, 7, 7], [100, 160, 1, 1], 1, [1, 1], [1, 1], [1, 1], [0, 0, 0, 0], true);
    await conv([1, 512, 14, 14], [72, 512, 1, 1], 1, [1, 1], [1, 1], [1, 1], [0, 0, 0, 0], false);
    await conv([2, 40, 13, 11], [37, 40, 3, 3], 1, [3, 3], [2, 2], [1, 1], [1, 0, 1, 2], true);
    await conv([1, 33, 9, 9], [70, 33, 3, 3], 1, [3, 3], [1, 1], [2, 2], [2, 2, 2, 2], false);
    // output rows of whole panels (7 or 14 wide with 7 rows, 6 with 6), stride 1 or 2, dilation 1: col^T's
    // panels straight from the image padded once (rows split into even and odd columns for stride 2)
    await conv([2, 64, 14, 14], [40, 64, 3, 3], 1, [3, 3], [2, 2], [1, 1], [1, 1, 1, 1], true);
    await conv([1, 48, 28, 28], [33, 48, 3, 3], 1, [3, 3], [2, 2], [1, 1], [1, 1, 1, 1], false);
    await conv([1, 40, 14, 13], [35, 40, 3, 3], 1, [3, 3], [2, 2], [1, 1], [1, 0, 0, 2], true); // 7x7, asymmetric pads
    await conv([1, 32, 7, 7], [48, 32, 5, 5], 1, [5, 5], [1, 1], [1, 1], [2, 2, 2, 2], true);
    await conv([2, 40, 6, 6], [36, 40, 3, 3], 1, [3, 3], [1, 1], [1, 1], [1, 1, 1, 1], true); // 36 positions, 6 to a panel
    await conv([1, 40, 12, 12], [34, 40, 3, 3], 1, [3, 3], [2, 2], [1, 1], [1, 1, 1, 1], false);
  });

  it('Winograd with a constant W: the transform is kept per id; small images (few tiles) in phases; a new id takes new weights', async () => {
    // 14x14 and 12x16 outputs: 16 tiles, which take Winograd only when W is a constant
    let id = 5000;
    for (const [x, w, p] of [
      [[1, 32, 14, 14], [40, 32, 3, 3], [1, 1, 1, 1]],
      [[2, 24, 14, 18], [16, 24, 3, 3], [0, 0, 1, 1]],
      [[1, 16, 30, 30], [24, 16, 3, 3], [1, 1, 1, 1]],
      // small planes (F(4x4) would have 4 tiles) by F(2x2, 3x3): 7x7, two images; 8x6 and 7x5 with asymmetric pads
      [[2, 64, 7, 7], [72, 64, 3, 3], [1, 1, 1, 1]],
      [[1, 64, 8, 6], [64, 64, 3, 3], [0, 1, 2, 1]],
      [[1, 80, 7, 5], [66, 80, 3, 3], [1, 1, 1, 1]],
    ] as [number[], number[], number[]][]) {
      const X = input('float32', x, 41);
      const W = input('float32', w, 42);
      const y = [x[0]!, w[0]!, ...windowOut(x, [3, 3], [1, 1], [1, 1], p)];
      const attrs = { kernel_shape: [3, 3], strides: [1, 1], dilations: [1, 1], pads: p, group: 1, auto_pad: 'NOTSET' };
      for (let round = 0; round < 3; round++) {
        if (round === 2) {
          W.view.set(input('float32', w, 43).view as Float32Array);
          id++;
        }
        (W.storage as { constId?: number }).constId = id;
        await check('Conv', 'float32', [X, W, null], [['float32', y]], attrs, wino(9 * w[1]!));
      }
      id++;
    }
  });

  it('stems (few input channels, stride 1 or 2) computed directly: asymmetric pads, ragged rows and channel blocks, two images', async () => {
    await conv([2, 3, 23, 37], [10, 3, 7, 7], 1, [7, 7], [2, 2], [1, 1], [3, 2, 1, 3], true);
    await conv([1, 3, 30, 21], [8, 3, 3, 3], 1, [3, 3], [1, 1], [1, 1], [1, 1, 1, 1], false);
    await conv([1, 1, 20, 40], [7, 1, 5, 5], 1, [5, 5], [2, 2], [1, 1], [2, 2, 2, 2], true);
  });

  it('FusedConv applies the residual Z and the activation on every path (GEMM by columns and by rows, transposed, stem, depthwise, Winograd bands and phases)', async () => {
    const cases: [number[], number[], number, number[], number[], Record<string, unknown>, number?][] = [
      [[1, 24, 30, 30], [20, 24, 5, 5], 1, [1, 1], [2, 2, 2, 2], { activation: 'Relu' }],
      [[1, 64, 7, 7], [48, 64, 3, 3], 1, [1, 1], [1, 1, 1, 1], { activation: 'LeakyRelu', activation_params: [0.1] }],
      [[1, 3, 40, 40], [8, 3, 7, 7], 1, [2, 2], [3, 3, 3, 3], { activation: 'Clip', activation_params: [-0.5, 0.5] }],
      [[1, 16, 20, 20], [16, 1, 3, 3], 16, [1, 1], [1, 1, 1, 1], { activation: 'Relu' }],
      [[1, 16, 24, 24], [16, 16, 3, 3], 1, [1, 1], [1, 1, 1, 1], { activation: 'Identity' }],
      [[1, 32, 14, 14], [40, 32, 3, 3], 1, [1, 1], [1, 1, 1, 1], { activation: 'Relu' }, 9001], // constant W: Winograd in phases
      [[1, 64, 7, 7], [64, 64, 3, 3], 1, [1, 1], [1, 1, 1, 1], { activation: 'LeakyRelu', activation_params: [0.1] }, 9002], // F(2x2, 3x3)
      [[1, 96, 10, 10], [420, 96, 1, 1], 1, [1, 1], [0, 0, 0, 0], { activation: 'Relu' }, 9003], // M >= 4P: threads split the output channels (gemm by_rows)
      [[1, 512, 7, 7], [72, 512, 1, 1], 1, [1, 1], [0, 0, 0, 0], { activation: 'Relu' }, 9004], // transposed, split by K (constant W, K >= 4M): partials summed per share of channels
      [[1, 128, 14, 14], [40, 128, 3, 3], 1, [2, 2], [1, 1, 1, 1], { activation: 'Relu' }, 9005], // the same from the phased image (7 positions a panel: AVX-512VL)
      // 256 channels (a share of 256 in the K split): Y^T's rows 16 floats longer than the channels
      [[1, 128, 7, 7], [256, 128, 1, 1], 1, [1, 1], [0, 0, 0, 0], { activation: 'Relu' }], // transposed, each thread its panels of W^T
      [[1, 2048, 7, 7], [512, 2048, 1, 1], 1, [1, 1], [0, 0, 0, 0], { activation: 'Relu' }, 9006], // split by K
    ];
    // each case with the residual Z and without it (the activation alone: the Winograd paths apply it before making Y's rows)
    for (const [x, w, group, s, p, act, constId] of cases)
      for (const withZ of [true, false]) {
        const k = w.slice(2);
        const y = [x[0]!, w[0]!, ...windowOut(x, k, s, [1, 1], p)];
        const W = input('float32', w, 52);
        if (constId) (W.storage as { constId?: number }).constId = constId;
        const ins = [input('float32', x, 51), W, input('float32', [w[0]!], 53), ...(withZ ? [input('float32', y, 54)] : [])];
        const attrs = { kernel_shape: k, strides: s, dilations: [1, 1], pads: p, group, auto_pad: 'NOTSET', activation_params: [], ...act };
        await check('FusedConv', 'float32', ins, [['float32', y]], attrs as KernelCall['attrs'], k[0] === 3 && group === 1 && s[0] === 1 && x[1]! >= 16 ? wino(size(w.slice(1))) : f32(size(w.slice(1))));
      }
  });

  it("FusedConv's epilogue in the GEMM's stores: edge tiles, two K steps, groups, thin and GEMV products, float64", async () => {
    const cases: [string, number[], number[], number, Record<string, unknown>][] = [
      ['float32', [1, 16, 11, 13], [16, 16, 1, 1], 1, { activation: 'LeakyRelu', activation_params: [0.2] }], // 4-row and 15-column edge tiles
      ['float32', [1, 16, 14, 14], [29, 16, 1, 1], 1, { activation: 'Relu' }], // N = 196: a last panel of 4 columns (the half-width kernel)
      ['float32', [1, 16, 3, 8], [10, 16, 1, 1], 1, { activation: 'Relu' }], // N = 24, 10 rows: B read in place, its last 8 columns packed
      ['float32', [1, 300, 9, 9], [20, 300, 1, 1], 1, { activation: 'Clip', activation_params: [-0.3, 0.4] }], // K = 300: bias on the first step, act on the last
      ['float32', [2, 12, 10, 10], [9, 4, 3, 3], 3, { activation: 'Relu' }], // groups, images as units
      ['float32', [1, 8, 2, 2], [10, 8, 1, 1], 1, { activation: 'Relu' }], // N = 4: the thin path
      ['float32', [1, 300, 1, 1], [7, 300, 1, 1], 1, { activation: 'LeakyRelu', activation_params: [0.5] }], // N = 1: GEMV
      ['float64', [1, 16, 11, 13], [13, 16, 3, 3], 1, { activation: 'Clip', activation_params: [-0.5, 0.5] }],
      ['float64', [1, 16, 6, 6], [13, 16, 3, 3], 1, { activation: 'Relu' }], // N = 36: a last panel of 4 doubles
    ];
    for (const [dt, x, w, group, act] of cases) {
      const k = w.slice(2);
      const p = k.map((kk) => (kk - 1) / 2);
      const pads = [...p, ...p];
      const y = [x[0]!, w[0]!, ...windowOut(x, k, [1, 1], [1, 1], pads)];
      const d = dt as DType;
      for (const z of [true, false]) {
        const ins = [input(d, x, 61), input(d, w, 62), input(d, [w[0]!], 63), z ? input(d, y, 64) : null];
        const attrs = { kernel_shape: k, strides: [1, 1], dilations: [1, 1], pads, group, auto_pad: 'NOTSET', activation_params: [], ...act };
        await check('FusedConv', dt, ins, [[d, y]], attrs as KernelCall['attrs'], dt === 'float64' ? f64 : f32(size(w.slice(1))));
      }
    }
  });

  it('1x1 convolutions read X directly; strided 1x1 does not', async () => {
    await conv([1, 128, 20, 20], [96, 128, 1, 1], 1, [1, 1], [1, 1], [1, 1], [0, 0, 0, 0], true);
    await conv([1, 300, 1, 1], [1, 300, 1, 1], 1, [1, 1], [1, 1], [1, 1], [0, 0, 0, 0], true);
    await conv([2, 64, 15, 15], [32, 64, 1, 1], 1, [1, 1], [2, 2], [1, 1], [0, 0, 0, 0], false);
  });

  it('depthwise (one input channel per group), with a channel multiplier and strides', async () => {
    await conv([1, 32, 40, 40], [32, 1, 3, 3], 32, [3, 3], [2, 2], [1, 1], [1, 1, 1, 1], true);
    await conv([2, 8, 21, 23], [16, 1, 3, 5], 8, [3, 5], [1, 2], [2, 1], [2, 0, 1, 2], false);
  });

  it('1-D and 3-D', async () => {
    await conv([2, 24, 300], [20, 24, 7], 1, [7], [3], [2], [4, 1], true);
    await conv([1, 8, 10, 12, 14], [16, 8, 3, 3, 3], 1, [3, 3, 3], [1, 2, 1], [1, 1, 2], [1, 1, 0, 1, 0, 2], true);
  });
});

describe('cpu pooling', () => {
  const win = (k: number[], s: number[], d: number[], p: number[]) => ({ kernel_shape: k, strides: s, dilations: d, pads: p, auto_pad: 'NOTSET' });

  it('MaxPool with Indices in both storage orders, float32 and int8 (ties), windows inside and on the borders', async () => {
    const x = [2, 16, 57, 53];
    const a = win([3, 3], [2, 2], [1, 1], [1, 1, 1, 1]);
    const y = [2, 16, ...windowOut(x, [3, 3], [2, 2], [1, 1], [1, 1, 1, 1])];
    for (const dtype of ['float32', 'int8'] as const)
      for (const storage_order of [0, 1])
        await check('MaxPool', dtype, [input(dtype, x, 24)], [[dtype, y], ['int64', y]], { ...a, ceil_mode: 0, storage_order }, { rtol: 0, atol: 0 });
    await check('MaxPool', 'float32', [input('float32', x, 25)], [['float32', y]], { ...a, ceil_mode: 0, storage_order: 0 }, { rtol: 0, atol: 0 });
  });

  it('MaxPool 3x3 stride 2 by rows (vectorized from the input rows): no pads, asymmetric pads, ceil_mode, NaN and -inf inputs', async () => {
    const x = [1, 5, 40, 61];
    const t = input('float32', x, 26);
    const v = t.view as Float32Array;
    for (let i = 0; i < v.length; i += 37) v[i] = i % 3 ? NaN : -Infinity; // NaN never wins; a window of -inf and NaN gives -inf
    for (const [p, ceil] of [[[0, 0, 0, 0], 0], [[1, 0, 0, 1], 0], [[1, 1, 1, 1], 1]] as const) {
      const y = [1, 5, ...windowOut(x, [3, 3], [2, 2], [1, 1], [...p]).map((o, i) => (ceil && (x[2 + i]! + p[i]! + p[i + 2]! - 3) % 2 ? o + 1 : o))];
      await check('MaxPool', 'float32', [t], [['float32', y]], { ...win([3, 3], [2, 2], [1, 1], [...p]), ceil_mode: ceil, storage_order: 0 }, { rtol: 0, atol: 0 });
    }
    // rows of 9 and 13 windows (one vector step and the overlapping last one) and of 6 (scalar only)
    for (const xs of [[1, 3, 9, 19], [1, 2, 11, 27], [1, 2, 7, 13]]) {
      const y = [1, xs[1]!, ...windowOut(xs, [3, 3], [2, 2], [1, 1], [0, 0, 0, 0])];
      await check('MaxPool', 'float32', [input('float32', xs, 27)], [['float32', y]], { ...win([3, 3], [2, 2], [1, 1], [0, 0, 0, 0]), ceil_mode: 0, storage_order: 0 }, { rtol: 0, atol: 0 });
    }
  });

  it('MaxPool 3x3 stride 2: every row width from 1 to 24 windows (whole vector steps and each shorter last step), pads 0, 1, and top and bottom only, NaN inputs', async () => {
    // pads [1, 0, 1, 0]: rows straight from the input (the fast path) between a first and a last row in the padding
    for (let w = 3; w <= 50; w++)
      for (const pads of [[0, 0, 0, 0], [1, 1, 1, 1], [1, 0, 1, 0]]) {
        const x = [1, 3, 5, w];
        const t = input('float32', x, 28 + w);
        const v = t.view as Float32Array;
        for (let i = w % 7; i < v.length; i += 11) v[i] = NaN;
        const y = [1, 3, ...windowOut(x, [3, 3], [2, 2], [1, 1], pads)];
        await check('MaxPool', 'float32', [t], [['float32', y]], { ...win([3, 3], [2, 2], [1, 1], pads), ceil_mode: 0, storage_order: 0 }, { rtol: 0, atol: 0 });
      }
  });

  it('AveragePool counting pads or not, with dilations, 3-D, and ceil_mode windows past the end padding', async () => {
    const x = [1, 8, 31, 29];
    for (const count_include_pad of [0, 1]) {
      const a = win([3, 4], [2, 3], [2, 1], [1, 2, 2, 1]);
      await check('AveragePool', 'float32', [input('float32', x, 26)], [['float32', [1, 8, ...windowOut(x, [3, 4], [2, 3], [2, 1], [1, 2, 2, 1])]]], { ...a, ceil_mode: 0, count_include_pad }, f32(12));
      // ceil_mode: 31 + 1 + 1 - 3 = 30 -> ceil(30 / 4) + 1 = 9 windows, the last one past the end padding
      await check('AveragePool', 'float32', [input('float32', x, 27)], [['float32', [1, 8, 9, 8]]], { ...win([3, 3], [4, 4], [1, 1], [1, 1, 1, 1]), ceil_mode: 1, count_include_pad }, f32(9));
      const x3 = [1, 4, 9, 10, 11];
      await check('AveragePool', 'float32', [input('float32', x3, 28)], [['float32', [1, 4, ...windowOut(x3, [2, 3, 3], [1, 2, 2], [1, 1, 1], [1, 1, 1, 0, 1, 1])]]], {
        ...win([2, 3, 3], [1, 2, 2], [1, 1, 1], [1, 1, 1, 0, 1, 1]),
        ceil_mode: 0,
        count_include_pad,
      }, f32(18));
    }
  });

  it('global pools over large planes, and an AveragePool whose window is the whole plane', async () => {
    const x = input('float32', [2, 64, 33, 33], 29);
    await check('GlobalAveragePool', 'float32', [x], [['float32', [2, 64, 1, 1]]], {}, f32(1089));
    await check('GlobalMaxPool', 'float32', [x], [['float32', [2, 64, 1, 1]]], {}, { rtol: 0, atol: 0 });
    await check('AveragePool', 'float32', [input('float32', [2, 40, 7, 9], 30)], [['float32', [2, 40, 1, 1]]], { ...win([7, 9], [1, 1], [1, 1], [0, 0, 0, 0]), ceil_mode: 0, count_include_pad: 0 }, f32(63));
    const n = input('float64', [1, 3, 5, 5], 31);
    (n.view as Float64Array)[30] = NaN; // plane 1 averages to NaN
    await check('AveragePool', 'float64', [n], [['float64', [1, 3, 1, 1]]], { ...win([5, 5], [2, 2], [1, 1], [0, 0, 0, 0]), ceil_mode: 0, count_include_pad: 1 }, f64);
  });
});

describe('cpu normalization and softmax', () => {
  it('BatchNormalization over large planes, scale/B/mean/var in another float dtype', async () => {
    const c = 64;
    const variance = kt('float64', [c], values(input('float64', [c], 30)).map((v) => v + 1.5));
    const inputs = [input('float32', [2, c, 33, 33], 31), input('float64', [c], 32), input('float64', [c], 33), input('float64', [c], 34), variance];
    await check('BatchNormalization', 'float32,float64,float64', inputs, [['float32', [2, c, 33, 33]]], { epsilon: 1e-3, momentum: 0.9, training_mode: 0 }, f32(1));
  });

  it('LayerNormalization over long rows, with Mean and InvStdDev', async () => {
    for (const [shape, axis] of [[[64, 3000], 1], [[8, 16, 40], 1]] as [number[], number][]) {
      const norm = shape.slice(axis);
      const stats = shape.map((d, i) => (i < axis ? d : 1));
      const inputs = [input('float32', shape, 35), input('float32', norm, 36), input('float32', norm, 37)];
      await check('LayerNormalization', 'float32', inputs, [['float32', shape], ['float32', stats], ['float32', stats]], { axis, epsilon: 1e-5, stash_type: 1 }, f32(16));
    }
  });

  it('Softmax and LogSoftmax: long rows, lanes along an inner axis, large and -inf inputs', async () => {
    for (const [shape, axis] of [[[37, 5003], 1], [[6, 700, 37], 1], [[3, 50, 130], 1]] as [number[], number][]) {
      const x = input('float32', shape, 38);
      x.view.forEach((v, i) => (x.view[i] = i % 97 === 0 ? -Infinity : (v as number) * 80));
      await check('Softmax', 'float32', [x], [['float32', shape]], { axis }, { rtol: 1e-5, atol: 1e-7 });
      await check('LogSoftmax', 'float32', [x], [['float32', shape]], { axis }, { rtol: 1e-5, atol: 2e-5 });
    }
  });
});
