import { describe, expect, it } from 'vitest';
import { nnCases } from '../src/conformance/cases/nn.js';
import { nnOps } from '../src/ops/nn.js';
import { kernelKey, type AttrValue, type OpSchema } from '../src/ops/schema.js';
import { nnRef } from '../src/reference/nn.js';
import { checkCases, expectClose, infer, instances, rejecter, run, t, type T } from './op-harness.js';

const OPS = nnOps as unknown as Record<string, OpSchema>;
const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const f32 = (shape: number[], data?: number[]) => t('float32', shape, data ?? new Array(size(shape)).fill(0));
/** 0, 1, 2, ... in `shape`. */
const iota = (shape: number[], from = 0) => f32(shape, Array.from({ length: size(shape) }, (_, i) => from + i));
const shapeOf = (op: string, inputs: (T | null)[], attrs: Record<string, AttrValue> = {}) => infer(OPS[op]!, inputs, attrs).outputs[0]!.shape;
const data = (op: string, inputs: (T | null)[], attrs: Record<string, AttrValue> = {}) => run(OPS[op]!, nnRef[op]!, inputs, attrs)[0]!.data;
/** The reference kernel with `n` outputs requested. */
function outputs(op: string, inputs: (T | null)[], attrs: Record<string, AttrValue>, n: number) {
  const r = infer(OPS[op]!, inputs, attrs, n);
  const defaults = Object.fromEntries(Object.entries(OPS[op]!.attrs ?? {}).flatMap(([k, a]) => (a.default === undefined ? [] : [[k, a.default]])));
  return { meta: r.outputs, data: nnRef[op]!(inputs, { ...defaults, ...attrs, ...r.attrs }, r.outputs).map((a) => Array.from(a)) };
}

const rejects = rejecter(OPS);

const close = expectClose;

describe('shape rules', () => {
  it('MatMul follows numpy for 1-D operands and batch broadcasting', () => {
    expect(shapeOf('MatMul', [f32([2, 1, 3, 4]), f32([5, 4, 2])])).toEqual([2, 5, 3, 2]);
    expect(shapeOf('MatMul', [f32([4]), f32([4, 3])])).toEqual([3]);
    expect(shapeOf('MatMul', [f32([3, 4]), f32([4])])).toEqual([3]);
    expect(shapeOf('MatMul', [f32([4]), f32([4])])).toEqual([]);
    expect(shapeOf('MatMul', [f32([4]), f32([2, 4, 3])])).toEqual([2, 3]);
    expect(shapeOf('MatMul', [f32([2, 0]), f32([0, 3])])).toEqual([2, 3]);
  });

  it('MatMul names the shapes and dtypes of a bad call', () => {
    const m = rejects('MatMul', [f32([2, 3]), f32([4, 5])]);
    expect(m).toContain('MatMul: inner dimensions differ: [2,3] x [4,5]');
    expect(m).toContain('float32[2,3], float32[4,5]');
    expect(rejects('MatMul', [f32([2, 3, 4]), f32([3, 4, 5])])).toContain('batch dims of [2,3,4] x [3,4,5]');
    expect(rejects('MatMul', [f32([]), f32([3])])).toContain('rank >= 1');
    expect(rejects('MatMul', [f32([2, 3]), t('float64', [3, 2], [0, 0, 0, 0, 0, 0])])).toContain('float64');
  });

  it('Gemm transposes and checks the C broadcast', () => {
    expect(shapeOf('Gemm', [f32([4, 3]), f32([5, 4]), f32([1, 5])], { transA: 1, transB: 1 })).toEqual([3, 5]);
    expect(rejects('Gemm', [f32([3, 4]), f32([4, 5]), f32([2, 5])])).toContain('C [2,5] cannot be broadcast to [3,5]');
    expect(rejects('Gemm', [f32([3, 4]), f32([5, 4])])).toContain('inner dimensions differ: A [3,4] (transA=0) x B [5,4] (transB=0)');
    expect(rejects('Gemm', [f32([2, 3, 4]), f32([4, 5])])).toContain('A and B must be 2-D');
  });

  it('Conv resolves kernel_shape and auto_pad into explicit attributes', () => {
    const r = infer(OPS.Conv!, [f32([1, 2, 6, 5]), f32([4, 2, 3, 3])], { auto_pad: 'SAME_UPPER', strides: [2, 2] });
    expect(r.outputs[0]!.shape).toEqual([1, 4, 3, 3]);
    // rows: total pad (3-1)*2 + 3 - 6 = 1 (odd, at the end); cols: (3-1)*2 + 3 - 5 = 2
    expect(r.attrs).toEqual({ kernel_shape: [3, 3], strides: [2, 2], dilations: [1, 1], pads: [0, 1, 1, 1], auto_pad: 'NOTSET', group: 1 });
    const lower = infer(OPS.Conv!, [f32([1, 2, 6, 5]), f32([4, 2, 3, 3])], { auto_pad: 'SAME_LOWER', strides: [2, 2] });
    expect(lower.attrs!.pads).toEqual([1, 1, 0, 1]);
    expect(shapeOf('Conv', [f32([1, 2, 6, 5]), f32([2, 2, 3, 2])], { auto_pad: 'VALID', strides: [2, 1] })).toEqual([1, 2, 2, 4]);
    expect(shapeOf('Conv', [f32([2, 2, 9]), f32([2, 2, 3])], { strides: [2], dilations: [2], pads: [1, 2] })).toEqual([2, 2, 4]);
    expect(shapeOf('Conv', [f32([1, 2, 4, 4, 3]), f32([2, 2, 2, 3, 2])], { pads: [1, 0, 1, 0, 1, 0], strides: [1, 2, 1] })).toEqual([1, 2, 4, 2, 3]);
  });

  it('Conv rejects channel, group, bias and kernel mismatches', () => {
    expect(rejects('Conv', [f32([1, 3, 5, 5]), f32([2, 2, 3, 3])])).toContain('X [1,3,5,5] has 3 channels but W [2,2,3,3] with group 1 expects 2 x 1 = 2');
    expect(rejects('Conv', [f32([1, 4, 5, 5]), f32([3, 2, 3, 3])], { group: 2 })).toContain('3 output channels, not divisible by group 2');
    expect(rejects('Conv', [f32([1, 2, 5, 5]), f32([3, 2, 3, 3]), f32([2])])).toContain('B must have shape [3]');
    expect(rejects('Conv', [f32([1, 2, 5, 5]), f32([3, 2, 3, 3])], { kernel_shape: [2, 2] })).toContain('kernel_shape [2,2] differs');
    expect(rejects('Conv', [f32([1, 1, 2, 2]), f32([1, 1, 3, 3])])).toContain('larger than the padded input');
    expect(rejects('Conv', [f32([1, 1, 5, 5]), f32([1, 1, 3, 3])], { auto_pad: 'SAME_UPPER', pads: [1, 1, 1, 1] })).toContain('cannot be combined');
    expect(rejects('Conv', [f32([1, 1, 5, 5]), f32([1, 1, 3, 3])], { auto_pad: 'same' })).toContain("auto_pad 'same'");
  });

  it('pools: ceil_mode drops a last window that would start in the end padding', () => {
    expect(shapeOf('MaxPool', [f32([1, 1, 6, 6])], { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 })).toEqual([1, 1, 3, 3]);
    expect(shapeOf('MaxPool', [f32([1, 1, 6, 6])], { kernel_shape: [3, 3], strides: [2, 2] })).toEqual([1, 1, 2, 2]);
    // (5 + 2 - 2) / 2 = 2.5 -> ceil 3, + 1 = 4 windows; the 4th would start at 6 - 1 = 5 >= 5 (in the end pad)
    expect(shapeOf('AveragePool', [f32([1, 1, 5, 5])], { kernel_shape: [2, 2], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1 })).toEqual([1, 1, 3, 3]);
    expect(shapeOf('MaxPool', [f32([1, 1, 5, 5])], { kernel_shape: [2, 2], auto_pad: 'SAME_LOWER' })).toEqual([1, 1, 5, 5]);
    expect(shapeOf('MaxPool', [f32([1, 1, 6, 6])], { kernel_shape: [2, 2], dilations: [2, 2] })).toEqual([1, 1, 4, 4]);
    expect(rejects('MaxPool', [f32([1, 1, 4, 4])], { kernel_shape: [2, 2], pads: [2, 0, 0, 0] })).toContain('smaller than the window');
    expect(rejects('MaxPool', [f32([1, 1, 4, 4])], { kernel_shape: [2] })).toContain('kernel_shape [2] must have one value per spatial axis of [1,1,4,4]');
    expect(rejects('AveragePool', [f32([1, 1, 4, 4])])).toContain('kernel_shape');
    expect(rejects('MaxPool', [f32([2, 3])], { kernel_shape: [2] })).toContain('rank >= 3');
  });

  it('MaxPool adds int64 Indices only when asked', () => {
    const x = f32([1, 2, 4, 4]);
    expect(infer(OPS.MaxPool!, [x], { kernel_shape: [2, 2] }).outputs).toHaveLength(1);
    expect(infer(OPS.MaxPool!, [x], { kernel_shape: [2, 2] }, 2).outputs[1]).toEqual({ shape: [1, 2, 3, 3], dtype: 'int64' });
    expect(kernelKey(OPS.MaxPool!, { T: 'uint8' })).toBe('uint8');
  });

  it('normalization and softmax rules', () => {
    const x = f32([2, 3, 4]);
    const stats = infer(OPS.LayerNormalization!, [x, f32([3, 4]), null], { axis: -2 }, 3);
    expect(stats.outputs.map((o) => o.shape)).toEqual([[2, 3, 4], [2, 1, 1], [2, 1, 1]]);
    expect(stats.attrs).toEqual({ axis: 1 });
    expect(shapeOf('LayerNormalization', [f32([2, 5]), f32([1, 5]), f32([5])])).toEqual([2, 5]);
    expect(rejects('LayerNormalization', [x, f32([3])])).toContain('Scale [3] must have the normalized shape [4] (X.shape[2:])');
    expect(shapeOf('BatchNormalization', [x, f32([3]), f32([3]), f32([3]), f32([3])])).toEqual([2, 3, 4]);
    expect(rejects('BatchNormalization', [x, f32([4]), f32([3]), f32([3]), f32([3])])).toContain('scale must have shape [3]');
    expect(rejects('BatchNormalization', [x, f32([3]), f32([3]), f32([3]), f32([3])], {}, 3)).toContain('outputs of training_mode=1');
    expect(infer(OPS.BatchNormalization!, [x, f32([3]), f32([3]), t('float64', [3], [0, 0, 0]), t('float64', [3], [1, 1, 1])], { training_mode: 1 }, 3).outputs.map((o) => `${o.dtype}[${o.shape}]`)).toEqual(['float32[2,3,4]', 'float64[3]', 'float64[3]']);
    expect(kernelKey(OPS.BatchNormalization!, { T: 'float16', T1: 'float32', T2: 'float32' })).toBe('float16,float32,float32');
    expect(infer(OPS.Softmax!, [x], { axis: -2 }).attrs).toEqual({ axis: 1 });
    expect(rejects('LogSoftmax', [f32([])])).toContain('scalar');
  });

  it('every op has a doc, a reference kernel and cases', () => {
    for (const [name, s] of Object.entries(OPS)) {
      expect(s.name).toBe(name);
      expect(s.doc, name).toBeTruthy();
      expect(nnRef[name], name).toBeTypeOf('function');
      expect(nnCases.some((c) => c.op === name && !c.throws), name).toBe(true);
      expect(nnCases.some((c) => c.op === name && c.throws), name).toBe(true);
    }
  });
});

describe('reference kernels', () => {
  it('MatMul: 2-D, 1-D operands, broadcast batches', () => {
    const a = f32([2, 2], [1, 2, 3, 4]);
    const b = f32([2, 2], [5, 6, 7, 8]);
    expect(data('MatMul', [a, b])).toEqual([19, 22, 43, 50]);
    expect(data('MatMul', [f32([2], [1, 2]), b])).toEqual([19, 22]);
    expect(data('MatMul', [a, f32([2], [1, 1])])).toEqual([3, 7]);
    expect(data('MatMul', [f32([2], [1, 2]), f32([2], [3, 4])])).toEqual([11]);
    // A [2,1,1,2] (two row vectors) x B [3,2,1] (three column vectors) -> every pair
    const rows = f32([2, 1, 1, 2], [1, 0, 0, 1]);
    const cols = f32([3, 2, 1], [1, 2, 3, 4, 5, 6]);
    expect(data('MatMul', [rows, cols])).toEqual([1, 3, 5, 2, 4, 6]);
    expect(data('MatMul', [f32([2, 0]), f32([0, 3])])).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('Gemm: transposes, alpha, beta, broadcast C', () => {
    const a = f32([2, 2], [1, 2, 3, 4]);
    const b = f32([2, 2], [5, 6, 7, 8]);
    expect(data('Gemm', [a, b, f32([2], [1, -1])], { alpha: 2, beta: 3 })).toEqual([41, 41, 89, 97]);
    expect(data('Gemm', [a, b], { transA: 1 })).toEqual([26, 30, 38, 44]);
    expect(data('Gemm', [a, b], { transB: 1 })).toEqual([17, 23, 39, 53]);
    expect(data('Gemm', [f32([2, 0]), f32([0, 2]), f32([2, 1], [1, 2])], { beta: 0.5 })).toEqual([0.5, 0.5, 1, 1]);
  });

  it('Conv: the ONNX 5x5 example with and without padding', () => {
    const x = iota([1, 1, 5, 5]);
    const w = f32([1, 1, 3, 3], new Array(9).fill(1));
    expect(data('Conv', [x, w], { pads: [1, 1, 1, 1] })).toEqual([12, 21, 27, 33, 24, 33, 54, 63, 72, 51, 63, 99, 108, 117, 81, 93, 144, 153, 162, 111, 72, 111, 117, 123, 84]);
    expect(data('Conv', [x, w])).toEqual([54, 63, 72, 99, 108, 117, 144, 153, 162]);
    // strides 2 with asymmetric pads (rows 1 and 1, cols 0 and 0)
    expect(data('Conv', [x, w], { strides: [2, 2], pads: [1, 0, 1, 0] })).toEqual([21, 33, 99, 117, 111, 123]);
  });

  it('Conv: 1-D with bias, dilations, groups', () => {
    const x = f32([1, 1, 5], [1, 2, 3, 4, 5]);
    expect(data('Conv', [x, f32([1, 1, 3], [1, 0, -1]), f32([1], [10])], { pads: [1, 1] })).toEqual([8, 8, 8, 8, 14]);
    expect(data('Conv', [x, f32([1, 1, 2], [1, 1])], { dilations: [2] })).toEqual([4, 6, 8]);
    // group 2: channel 0 is scaled by 1, channel 1 by 10; each output sees only its group
    const x2 = f32([1, 2, 3], [1, 2, 3, 4, 5, 6]);
    expect(data('Conv', [x2, f32([2, 1, 1], [1, 10])], { group: 2 })).toEqual([1, 2, 3, 40, 50, 60]);
    // depthwise multiplier 2: outputs 0,1 read channel 0; outputs 2,3 channel 1
    expect(data('Conv', [x2, f32([4, 1, 1], [1, 2, 3, 4])], { group: 2 })).toEqual([1, 2, 3, 2, 4, 6, 12, 15, 18, 16, 20, 24]);
  });

  it('MaxPool with Indices in both storage orders', () => {
    const x = iota([1, 1, 4, 4]);
    const attrs = { kernel_shape: [2, 2], strides: [2, 2] };
    const rowMajor = outputs('MaxPool', [x], attrs, 2);
    expect(rowMajor.meta[1]!.dtype).toBe('int64');
    expect(rowMajor.data).toEqual([[5, 7, 13, 15], [5, 7, 13, 15]]);
    // column-major offsets h + w * H: (1,1) 5, (1,3) 13, (3,1) 7, (3,3) 15; the second plane adds 16
    const two = f32([1, 2, 4, 4], [...x.data, ...x.data]);
    expect(outputs('MaxPool', [two], { ...attrs, storage_order: 1 }, 2).data[1]).toEqual([5, 13, 7, 15, 21, 29, 23, 31]);
    // padding never wins, even against negatives
    expect(data('MaxPool', [f32([1, 1, 2, 2], [-1, -2, -3, -4])], { kernel_shape: [2, 2], pads: [1, 1, 1, 1] })).toEqual([-1, -1, -2, -1, -1, -2, -3, -3, -4]);
    expect(data('MaxPool', [iota([1, 1, 1, 6])], { kernel_shape: [1, 2], dilations: [1, 3] })).toEqual([3, 4, 5]);
  });

  it('AveragePool: pads excluded or counted, ceil_mode', () => {
    const x = f32([1, 1, 2, 2], [1, 2, 3, 4]);
    const attrs = { kernel_shape: [2, 2], pads: [1, 1, 1, 1] };
    expect(data('AveragePool', [x], attrs)).toEqual([1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4]);
    expect(data('AveragePool', [x], { ...attrs, count_include_pad: 1 })).toEqual([0.25, 0.75, 0.5, 1, 2.5, 1.5, 0.75, 1.75, 1]);
    // the ONNX ceil example: 4x4 of 1..16, kernel 3, strides 2
    expect(data('AveragePool', [iota([1, 1, 4, 4], 1)], { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 })).toEqual([6, 7.5, 12, 13.5]);
    // the last window covers 5, the end pad and one position past it: counted are 5 and the pad
    const row = f32([1, 1, 1, 5], [1, 2, 3, 4, 5]);
    expect(data('AveragePool', [row], { kernel_shape: [1, 3], strides: [1, 2], pads: [0, 0, 0, 1], ceil_mode: 1, count_include_pad: 1 })).toEqual([2, 4, 2.5]);
  });

  it('global pools, batch and layer normalization', () => {
    const x = f32([1, 2, 2, 2], [1, 2, 3, 4, -1, -2, -3, -4]);
    expect(data('GlobalAveragePool', [x])).toEqual([2.5, -2.5]);
    expect(data('GlobalMaxPool', [x])).toEqual([4, -1]);
    const bn = data('BatchNormalization', [f32([2, 2], [1, 2, 3, 4]), f32([2], [2, 1]), f32([2], [0, 1]), f32([2], [1, 2]), f32([2], [4, 1])], { epsilon: 0 });
    expect(bn).toEqual([0, 1, 2, 3]);
    const ln = outputs('LayerNormalization', [f32([2, 4], [1, 2, 3, 4, 2, 2, 2, 2]), f32([4], [1, 1, 2, 2]), f32([4], [0, 0, 0, 1])], { epsilon: 0.25 }, 3);
    const inv = 1 / Math.sqrt(1.25 + 0.25);
    close(ln.data[0]!, [-1.5 * inv, -0.5 * inv, 2 * 0.5 * inv, 2 * 1.5 * inv + 1, 0, 0, 0, 1]);
    close(ln.data[1]!, [2.5, 2]);
    close(ln.data[2]!, [inv, 2]);
  });

  it('Softmax and LogSoftmax along an axis, stable for large inputs', () => {
    const e = [Math.exp(1), Math.exp(2), Math.exp(3)];
    const sum = e[0]! + e[1]! + e[2]!;
    close(data('Softmax', [f32([3], [1, 2, 3])]), e.map((v) => v / sum));
    close(data('LogSoftmax', [f32([3], [1, 2, 3])]), [1, 2, 3].map((v) => v - Math.log(sum)));
    close(data('Softmax', [f32([2, 2], [0, 1000, 0, 1000])], { axis: 0 }), [0.5, 0.5, 0.5, 0.5]);
    close(data('LogSoftmax', [f32([2], [1000, 1000])]), [-Math.LN2, -Math.LN2]);
  });
});

describe('BatchNormalization training mode', () => {
  it("normalizes with X's statistics and blends them into the running ones", () => {
    // channel 0 holds 1 and 3 (mean 2, population variance 1), channel 1 holds 5 and 5
    const x = f32([2, 2], [1, 5, 3, 5]);
    const r = outputs('BatchNormalization', [x, f32([2], [2, 1]), f32([2], [0, 1]), f32([2], [10, 0]), f32([2], [4, 4])], { training_mode: 1, epsilon: 0, momentum: 0.75 }, 3);
    expect(r.data).toEqual([[-2, 1, 2, 1].map((v, i) => (i % 2 ? NaN : v)), [8, 1.25], [3.25, 3]]);
  });
});

describe('conformance cases', () => {
  it('are valid calls for every binding (throwing cases are rejected)', () => {
    expect(checkCases(OPS, nnRef, nnCases)).toEqual([]);
  });

  it('cases asking for optional outputs get them', () => {
    for (const c of nnCases.filter((k) => k.outputs && !k.throws)) {
      for (const inst of instances(OPS[c.op]!, c).slice(0, 2)) {
        const r = outputs(c.op, inst.inputs, inst.attrs, c.outputs!);
        expect(r.data, c.name).toHaveLength(c.outputs!);
        r.data.forEach((d, i) => expect(d.length).toBe(size(r.meta[i]!.shape)));
      }
    }
  });
});
