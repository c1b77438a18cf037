import { describe, expect, it } from 'vitest';
import { indexingCases } from '../src/conformance/cases/indexing.js';
import { MxError } from '../src/errors.js';
import { indexingOps } from '../src/ops/indexing.js';
import { kernelKey, type AttrValue, type OpSchema } from '../src/ops/schema.js';
import { indexingRef } from '../src/reference/indexing.js';
import { allKeys } from '../src/backends/reference.js';
import { checkCases, infer, rejecter, store, t, type T } from './op-harness.js';

const OPS = indexingOps as unknown as Record<string, OpSchema>;
const f32 = (shape: number[], data: number[]) => t('float32', shape, data);
const i64 = (shape: number[], data: number[]) => t('int64', shape, data);
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Runs the rule and the reference kernel; returns every computed output (numOutputs of them). */
function exec(op: string, inputs: (T | null)[], attrs: Record<string, AttrValue> = {}, numOutputs?: number): T[] {
  const schema = OPS[op]!;
  const r = infer(schema, inputs, attrs, numOutputs);
  const full: Record<string, AttrValue> = {};
  for (const [k, a] of Object.entries(schema.attrs ?? {})) if ((attrs[k] ?? a.default) !== undefined) full[k] = attrs[k] ?? a.default!;
  const kernelInputs = inputs.map((x, i) => (schema.inputs[Math.min(i, schema.inputs.length - 1)]!.value ? null : x));
  const outs = r.viewOf !== undefined ? [inputs[r.viewOf]!.data] : indexingRef[op]!(kernelInputs, { ...full, ...r.attrs }, r.outputs);
  return r.outputs.map((o, i) => ({ shape: o.shape, dtype: o.dtype, data: store(o.dtype, outs[i]!) }));
}
const data = (op: string, inputs: (T | null)[], attrs: Record<string, AttrValue> = {}) => exec(op, inputs, attrs)[0]!.data;

const rejects = rejecter(OPS);

describe('TensorScatter', () => {
  const past = f32([2, 4, 2], range(16));
  it('writes each batch entry at its own position, or from 0 without write_indices', () => {
    const upd = f32([2, 1, 2], [-1, -2, -3, -4]);
    expect(data('TensorScatter', [past, upd, i64([2], [3, 0])])).toEqual([0, 1, 2, 3, 4, 5, -1, -2, -3, -4, 10, 11, 12, 13, 14, 15]);
    expect(data('TensorScatter', [past, upd])).toEqual([-1, -2, 2, 3, 4, 5, 6, 7, -3, -4, 10, 11, 12, 13, 14, 15]);
  });
  it("mode 'circular' wraps; 'linear' rejects a write past the end", () => {
    const upd = f32([2, 2, 2], [-1, -2, -3, -4, -5, -6, -7, -8]);
    expect(data('TensorScatter', [past, upd, i64([2], [3, 1])], { mode: 'circular' })).toEqual([-3, -4, 2, 3, 4, 5, -1, -2, 8, 9, -5, -6, -7, -8, 14, 15]);
    expect(() => data('TensorScatter', [past, upd, i64([2], [3, 1])])).toThrow(/exceed the axis size 4/);
  });
});

describe('gather and scatter (ONNX operator examples)', () => {
  it('GatherElements picks along the axis, negative indices from the end', () => {
    expect(data('GatherElements', [f32([2, 2], [1, 2, 3, 4]), i64([2, 2], [0, 0, 1, 0])], { axis: 1 })).toEqual([1, 1, 4, 3]);
    expect(data('GatherElements', [f32([3, 3], range(9).map((i) => i + 1)), i64([2, 3], [-1, -2, 0, -2, 0, 0])])).toEqual([7, 5, 3, 4, 2, 3]);
    expect(rejects('GatherElements', [f32([2, 2], [1, 2, 3, 4]), i64([2], [0, 0])])).toContain('must have the rank of data');
  });

  it('GatherND with and without batch_dims', () => {
    const x = f32([2, 2, 2], range(8));
    expect(exec('GatherND', [x, i64([2, 2], [0, 1, 1, 0])])[0]).toMatchObject({ shape: [2, 2], data: [2, 3, 4, 5] });
    expect(exec('GatherND', [x, i64([2, 1, 2], [0, 1, 1, 0])])[0]).toMatchObject({ shape: [2, 1, 2], data: [2, 3, 4, 5] });
    expect(exec('GatherND', [x, i64([2, 1], [1, 0])], { batch_dims: 1 })[0]).toMatchObject({ shape: [2, 2], data: [2, 3, 4, 5] });
    expect(rejects('GatherND', [x, i64([1, 4], [0, 0, 0, 0])])).toContain('must be in [1, 3]');
  });

  it('ScatterElements replaces or reduces into a copy of data', () => {
    const x = f32([1, 5], [1, 2, 3, 4, 5]);
    const u = f32([1, 2], [1.1, 2.1]);
    expect(data('ScatterElements', [x, i64([1, 2], [1, 3]), u], { axis: 1 })).toEqual(store('float32', [1, 1.1, 3, 2.1, 5]));
    expect(data('ScatterElements', [x, i64([1, 2], [1, -4]), u], { axis: 1, reduction: 'add' })).toEqual(store('float32', [1, 2 + 1.1 + 2.1, 3, 4, 5]));
    expect(data('ScatterElements', [x, i64([1, 2], [1, 1]), u], { axis: 1, reduction: 'mul' })).toEqual(store('float32', [1, 2 * 1.1 * 2.1, 3, 4, 5]));
    expect(data('ScatterElements', [x, i64([1, 2], [1, 1]), u], { axis: 1, reduction: 'max' })).toEqual(store('float32', [1, 2.1, 3, 4, 5]));
    expect(rejects('ScatterElements', [x, i64([1, 2], [1, 1]), u], { reduction: 'sub' })).toContain("reduction 'sub' is not one of none, add, mul, max, min");
  });

  it('ScatterND writes elements and slices', () => {
    const x = f32([8], range(8).map((i) => i + 1));
    expect(data('ScatterND', [x, i64([4, 1], [4, 3, 1, 7]), f32([4], [9, 10, 11, 12])])).toEqual([1, 11, 3, 10, 9, 6, 7, 12]);
    const y = data('ScatterND', [f32([3, 2], range(6)), i64([2, 1], [2, 2]), f32([2, 2], [10, 20, 30, 40])], { reduction: 'add' });
    expect(y).toEqual([0, 1, 2, 3, 4 + 10 + 30, 5 + 20 + 40]);
    expect(rejects('ScatterND', [x, i64([2, 1], [0, 1]), f32([3], [0, 0, 0])])).toContain('updates must have shape [2]');
  });
});

describe('selection', () => {
  it('TopK returns values and int64 indices, ties by lower index', () => {
    const x = f32([3, 4], range(12));
    const [vals, idx] = exec('TopK', [x, i64([1], [3])]);
    expect(vals).toMatchObject({ shape: [3, 3], data: [3, 2, 1, 7, 6, 5, 11, 10, 9] });
    expect(idx).toMatchObject({ dtype: 'int64', data: [3, 2, 1, 3, 2, 1, 3, 2, 1] });
    expect(exec('TopK', [t('int64', [4], [0, 0, 0, 0]), i64([1], [3])])[1]!.data).toEqual([0, 1, 2]);
    expect(exec('TopK', [f32([5], [2, 1, 2, 0, 1]), i64([1], [3])], { largest: 0 })[1]!.data).toEqual([3, 1, 4]);
    expect(exec('TopK', [f32([2, 3], [1, 5, 2, 4, 0, 6]), i64([1], [1])], { axis: 0 })[1]!.data).toEqual([1, 0, 1]);
    expect(rejects('TopK', [x, i64([1], [5])])).toContain('K 5 must be in [0, 4]');
  });

  it('Hardmax marks the first maximum', () => {
    expect(data('Hardmax', [f32([2, 4], [3, 0, 1, 2, 1, 1, 1, 1])])).toEqual([1, 0, 0, 0, 1, 0, 0, 0]);
    expect(data('Hardmax', [f32([2, 2], [1, 4, 3, 2])], { axis: 0 })).toEqual([0, 1, 1, 0]);
  });

  it('OneHot inserts the depth axis, wrapping negative indices', () => {
    const y = exec('OneHot', [i64([3], [0, -7, -8]), f32([], [10]), f32([2], [1, 3])], { axis: 1 })[0]!;
    expect(y.shape).toEqual([3, 10]);
    expect(y.data.flatMap((v, i) => (v === 3 ? [i] : []))).toEqual([0, 13, 22]);
    const z = exec('OneHot', [f32([2], [1.9, 5]), f32([], [3.5]), t('int32', [2], [0, 1])], { axis: 0 })[0]!;
    expect(z).toMatchObject({ shape: [3, 2], dtype: 'int32', data: [0, 0, 1, 0, 0, 0] });
    expect(kernelKey(OPS.OneHot!, { T1: 'int64', T3: 'float32' })).toBe('int64,float32');
  });

  it('Compress keeps the slices where condition is true', () => {
    const x = f32([3, 2], [1, 2, 3, 4, 5, 6]);
    expect(exec('Compress', [x, t('bool', [3], [0, 1, 1])], { axis: 0 })[0]).toMatchObject({ shape: [2, 2], data: [3, 4, 5, 6] });
    expect(exec('Compress', [x, t('bool', [2], [0, 1])], { axis: -1 })[0]).toMatchObject({ shape: [3, 1], data: [2, 4, 6] });
    expect(exec('Compress', [x, t('bool', [5], [0, 1, 0, 0, 1])])[0]).toMatchObject({ shape: [2], data: [2, 5] });
    expect(rejects('Compress', [x, t('bool', [4], [0, 1, 0, 0])], { axis: 0 })).toContain('condition has 4 values but axis 0 has 3');
  });
});

describe('rearrangement', () => {
  it('DepthToSpace in DCR and CRD modes, SpaceToDepth inverts DCR', () => {
    const x = f32([1, 8, 2, 3], range(48));
    const dcr = exec('DepthToSpace', [x], { blocksize: 2 })[0]!;
    expect(dcr.shape).toEqual([1, 2, 4, 6]);
    expect(dcr.data.slice(0, 24)).toEqual([0, 12, 1, 13, 2, 14, 24, 36, 25, 37, 26, 38, 3, 15, 4, 16, 5, 17, 27, 39, 28, 40, 29, 41]);
    const crd = exec('DepthToSpace', [x], { blocksize: 2, mode: 'CRD' })[0]!;
    expect(crd.data.slice(0, 24)).toEqual([0, 6, 1, 7, 2, 8, 12, 18, 13, 19, 14, 20, 3, 9, 4, 10, 5, 11, 15, 21, 16, 22, 17, 23]);
    expect(exec('SpaceToDepth', [dcr], { blocksize: 2 })[0]).toMatchObject({ shape: [1, 8, 2, 3], data: x.data });
    expect(rejects('DepthToSpace', [f32([1, 6, 1, 1], range(6))], { blocksize: 2 })).toContain('divisible by blocksize^2 (4)');
  });

  it('Trilu keeps a triangle relative to diagonal k', () => {
    const x = f32([3, 3], range(9).map((i) => i + 1));
    expect(data('Trilu', [x, null])).toEqual([1, 2, 3, 0, 5, 6, 0, 0, 9]);
    expect(data('Trilu', [x, i64([], [-1])], { upper: 0 })).toEqual([0, 0, 0, 4, 0, 0, 7, 8, 0]);
    expect(data('Trilu', [x, i64([], [1])])).toEqual([0, 2, 3, 0, 0, 6, 0, 0, 0]);
  });

  it('ReverseSequence reverses each sequence prefix', () => {
    const x = f32([4, 4], range(16));
    expect(data('ReverseSequence', [x, i64([4], [4, 3, 2, 1])], { time_axis: 0, batch_axis: 1 })).toEqual([12, 9, 6, 3, 8, 5, 2, 7, 4, 1, 10, 11, 0, 13, 14, 15]);
    expect(data('ReverseSequence', [x, i64([4], [1, 2, 3, 4])], { time_axis: 1, batch_axis: 0 })).toEqual([0, 1, 2, 3, 5, 4, 6, 7, 10, 9, 8, 11, 15, 14, 13, 12]);
  });

  it('EyeLike, Size, Det, CumProd', () => {
    expect(exec('EyeLike', [t('int32', [3, 4], new Array(12).fill(7))], { k: 1, dtype: 'float64' })[0]).toMatchObject({
      dtype: 'float64',
      data: [0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1],
    });
    expect(exec('EyeLike', [t('int32', [2, 2], [5, 5, 5, 5])])[0]!.dtype).toBe('int32');
    expect(exec('Size', [f32([2, 3], range(6))])[0]).toEqual({ shape: [], dtype: 'int64', data: [6] });
    expect(exec('Det', [f32([2, 2, 2], [1, 2, 3, 4, 2, 0, 0, 3])])[0]).toMatchObject({ shape: [2], data: [-2, 6] });
    expect(data('Det', [f32([3, 3], [0, 1, 2, 1, 0, 3, 4, -3, 8])])).toEqual([-2]);
    const x = f32([5], [1, 2, 3, 4, 5]);
    expect(data('CumProd', [x, i64([], [0])])).toEqual([1, 2, 6, 24, 120]);
    expect(data('CumProd', [x, i64([], [0])], { exclusive: 1 })).toEqual([1, 1, 2, 6, 24]);
    expect(data('CumProd', [x, i64([], [0])], { reverse: 1, exclusive: 1 })).toEqual([120, 60, 20, 5, 1]);
    expect(rejects('CumProd', [x, i64([], [1])])).toContain('CumProd: axis 1 is out of range');
  });
});

describe('data-dependent outputs', () => {
  it('NonZero lists coordinates row-major; its kernel key has no type', () => {
    expect(exec('NonZero', [t('bool', [2, 2], [1, 0, 1, 1])])[0]).toEqual({ shape: [2, 3], dtype: 'int64', data: [0, 1, 1, 0, 0, 1] });
    expect(exec('NonZero', [f32([3], [0, 0, 0])])[0]!.shape).toEqual([1, 0]);
    expect(allKeys(OPS.NonZero!)).toEqual(['']);
  });

  it('Unique: sorted, first-occurrence and per-axis', () => {
    const x = f32([6], [2, 1, 1, 3, 4, 3]);
    expect(exec('Unique', [x], {}, 4).map((o) => o.data)).toEqual([[1, 2, 3, 4], [1, 0, 3, 4], [1, 0, 0, 2, 3, 2], [2, 1, 2, 1]]);
    expect(exec('Unique', [x], { sorted: 0 }, 4).map((o) => o.data)).toEqual([[2, 1, 3, 4], [0, 1, 3, 4], [0, 1, 1, 2, 3, 2], [1, 2, 2, 1]]);
    const rows = exec('Unique', [f32([3, 3], [1, 0, 0, 1, 0, 0, 2, 3, 4])], { axis: 0 }, 4);
    expect(rows[0]).toMatchObject({ shape: [2, 3], data: [1, 0, 0, 2, 3, 4] });
    expect(rows.slice(1).map((o) => o.data)).toEqual([[0, 2], [0, 0, 1], [2, 1]]);
    expect(exec('Unique', [x]).length).toBe(1);
  });

  it('NonMaxSuppression keeps the best boxes by IoU', () => {
    const boxes = f32([1, 6, 4], [0, 0, 1, 1, 0, 0.1, 1, 1.1, 0, -0.1, 1, 0.9, 0, 10, 1, 11, 0, 10.1, 1, 11.1, 0, 100, 1, 101]);
    const scores = f32([1, 1, 6], [0.9, 0.75, 0.6, 0.95, 0.5, 0.3]);
    const sel = (max: number, score: number) => exec('NonMaxSuppression', [boxes, scores, i64([1], [max]), f32([1], [0.5]), f32([1], [score])])[0]!;
    expect(sel(3, 0)).toEqual({ shape: [3, 3], dtype: 'int64', data: [0, 0, 3, 0, 0, 0, 0, 0, 5] });
    expect(sel(2, 0).data).toEqual([0, 0, 3, 0, 0, 0]);
    expect(sel(3, 0.4).data).toEqual([0, 0, 3, 0, 0, 0]);
    expect(exec('NonMaxSuppression', [boxes, scores])[0]!.shape).toEqual([0, 3]);
  });

  it('Dropout is a view in inference; training with a ratio is unsupported', () => {
    const x = f32([2, 3], range(6));
    expect(infer(OPS.Dropout!, [x]).viewOf).toBe(0);
    const [y, mask] = exec('Dropout', [x, f32([], [0.2])], {}, 2);
    expect(y!.data).toEqual(x.data);
    expect(mask).toEqual({ shape: [2, 3], dtype: 'bool', data: [1, 1, 1, 1, 1, 1] });
    expect(exec('Dropout', [x, f32([], [0]), t('bool', [], [1])], {}, 2)[1]!.data).toEqual([1, 1, 1, 1, 1, 1]);
    try {
      infer(OPS.Dropout!, [x, f32([], [0.5]), t('bool', [], [1])]);
      throw new Error('accepted');
    } catch (e) {
      expect((e as MxError).code).toBe('UNSUPPORTED');
      expect((e as Error).message).toContain('training_mode with ratio 0.5');
    }
  });
});

describe('conformance cases', () => {
  it('every case is a valid call (or is rejected when marked throws)', () => {
    expect(checkCases(OPS, indexingRef, indexingCases)).toEqual([]);
  });
});
