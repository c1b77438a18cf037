import { describe, expect, it } from 'vitest';
import { tensorCases } from '../src/conformance/cases/tensor.js';
import { tensorOps } from '../src/ops/tensor.js';
import { kernelKey, type AttrValue, type OpSchema } from '../src/ops/schema.js';
import { tensorRef } from '../src/reference/tensor.js';
import type { RefKernel } from '../src/reference/types.js';
import { checkCases, infer, rejecter, run, t, type T } from './op-harness.js';

const OPS = tensorOps as unknown as Record<string, OpSchema>;
const f32 = (shape: number[], data?: number[]) => t('float32', shape, data ?? new Array(shape.reduce((a, b) => a * b, 1)).fill(0));
const i64 = (...v: number[]) => t('int64', [v.length], v);
const shapeOf = (op: string, inputs: (T | null)[], attrs: Record<string, AttrValue> = {}) => infer(OPS[op]!, inputs, attrs).outputs.map((o) => o.shape);
const exec = (op: string, inputs: (T | null)[], attrs: Record<string, AttrValue> = {}) => run(OPS[op]!, tensorRef[op]!, inputs, attrs);
const data = (op: string, inputs: (T | null)[], attrs: Record<string, AttrValue> = {}) => exec(op, inputs, attrs)[0]!.data;

/** The rule rejects the call with INVALID_ARGUMENT; returns the message. */
const rejects = rejecter(OPS);

describe('view ops', () => {
  it('Reshape infers -1, copies 0 dims and is a view', () => {
    const r = infer(OPS.Reshape!, [f32([2, 3, 4]), i64(4, -1)]);
    expect(r.outputs[0]).toEqual({ shape: [4, 6], dtype: 'float32' });
    expect(r.viewOf).toBe(0);
    expect(shapeOf('Reshape', [f32([2, 3, 4]), i64(0, -1)])).toEqual([[2, 12]]);
    expect(shapeOf('Reshape', [f32([2, 0, 3]), i64(0, 6)], { allowzero: 1 })).toEqual([[0, 6]]);
    expect(shapeOf('Reshape', [f32([1]), i64()])).toEqual([[]]);
  });

  it('Reshape names the shapes when sizes differ', () => {
    const m = rejects('Reshape', [f32([2, 3]), i64(4, 2)]);
    expect(m).toContain('Reshape: cannot reshape [2,3] (6 elements) to [4,2] (8 elements)');
    expect(m).toContain('float32[2,3]');
    expect(rejects('Reshape', [f32([2, 3]), i64(-1, -1)])).toContain('more than one -1');
    expect(rejects('Reshape', [f32([2, 3]), i64(4, -1)])).toContain('cannot be inferred');
    // allowzero=1 with a 0 and a -1 is ambiguous
    expect(rejects('Reshape', [f32([0, 3]), i64(0, -1)], { allowzero: 1 })).toContain('cannot be inferred');
  });

  it('Flatten accepts axis in [-r, r]', () => {
    expect(shapeOf('Flatten', [f32([2, 3, 4])])).toEqual([[2, 12]]);
    expect(shapeOf('Flatten', [f32([2, 3, 4])], { axis: 0 })).toEqual([[1, 24]]);
    expect(shapeOf('Flatten', [f32([2, 3, 4])], { axis: 3 })).toEqual([[24, 1]]);
    expect(shapeOf('Flatten', [f32([2, 3, 4])], { axis: -1 })).toEqual([[6, 4]]);
    expect(rejects('Flatten', [f32([2, 3, 4])], { axis: 4 })).toContain('axis 4 is out of range [-3, 3]');
  });

  it('Squeeze and Unsqueeze', () => {
    expect(shapeOf('Squeeze', [f32([1, 3, 1, 2]), null])).toEqual([[3, 2]]);
    expect(shapeOf('Squeeze', [f32([2, 1, 3, 1]), i64(-1)])).toEqual([[2, 1, 3]]);
    expect(rejects('Squeeze', [f32([1, 3]), i64(1)])).toContain('cannot squeeze axis 1 of [1,3]');
    expect(shapeOf('Unsqueeze', [f32([3, 4]), i64(1, 3)])).toEqual([[3, 1, 4, 1]]);
    expect(shapeOf('Unsqueeze', [f32([3, 4]), i64(-1, 0)])).toEqual([[1, 3, 4, 1]]);
    expect(shapeOf('Unsqueeze', [f32([]), i64(0)])).toEqual([[1]]);
    expect(rejects('Unsqueeze', [f32([3]), i64(0, 0)])).toContain('duplicates');
  });
});

describe('shape rules', () => {
  it('Transpose folds the default perm', () => {
    const r = infer(OPS.Transpose!, [f32([2, 3, 4])]);
    expect(r.outputs[0]!.shape).toEqual([4, 3, 2]);
    expect(r.attrs).toEqual({ perm: [2, 1, 0] });
    expect(rejects('Transpose', [f32([2, 3, 4])], { perm: [0, 0, 1] })).toContain('perm [0,0,1] is not a permutation');
  });

  it('Concat sums the axis and checks the other dims', () => {
    const r = infer(OPS.Concat!, [f32([2, 1]), f32([2, 0]), f32([2, 3])], { axis: -1 });
    expect(r.outputs[0]!.shape).toEqual([2, 4]);
    expect(r.attrs).toEqual({ axis: 1 });
    expect(rejects('Concat', [f32([2, 3]), f32([2, 3, 1])], { axis: 0 })).toContain('same rank, got [2,3], [2,3,1]');
    expect(rejects('Concat', [f32([2, 3]), f32([2, 4])], { axis: 0 })).toContain('dims other than axis 0 must match');
    expect(rejects('Concat', [f32([2, 3]), t('int32', [2, 3], [0, 0, 0, 0, 0, 0])], { axis: 0 })).toContain('int32');
  });

  it('Split: explicit, num_outputs (last smaller), by output count', () => {
    const r = infer(OPS.Split!, [f32([2, 6]), i64(1, 3, 2)], { axis: 1 });
    expect(r.outputs.map((o) => o.shape)).toEqual([[2, 1], [2, 3], [2, 2]]);
    expect(r.attrs).toEqual({ axis: 1, split: [1, 3, 2] });
    expect(shapeOf('Split', [f32([7, 2]), null], { num_outputs: 3 })).toEqual([[3, 2], [3, 2], [1, 2]]);
    expect(infer(OPS.Split!, [f32([4, 3]), null], {}, 2).outputs.map((o) => o.shape)).toEqual([[2, 3], [2, 3]]);
    expect(rejects('Split', [f32([2, 6]), i64(1, 2)], { axis: 1 })).toContain('split [1,2] does not sum to 6');
    expect(rejects('Split', [f32([5]), null], {}, 2)).toContain('cannot split axis 0 of size 5 into 2 equal parts');
    expect(rejects('Split', [f32([6]), i64(3, 3)], {}, 3)).toContain('3 outputs were asked for, but the split makes 2');
  });

  it('Slice folds full-rank starts and steps, clamping like ONNX', () => {
    const big = 2 ** 62;
    const fold = (shape: number[], ...v: number[][]) => {
      const ins = [f32(shape), ...v.map((a) => i64(...a))];
      while (ins.length < 5) ins.push(null as unknown as T);
      const r = infer(OPS.Slice!, ins);
      return { shape: r.outputs[0]!.shape, ...r.attrs };
    };
    expect(fold([4, 6], [-1, 4], [-big, 0], [0, 1], [-1, -2])).toEqual({ shape: [4, 2], starts: [3, 4], steps: [-1, -2] });
    expect(fold([3, 4], [-10, 1], [big, 100])).toEqual({ shape: [3, 3], starts: [0, 1], steps: [1, 1] });
    expect(fold([2, 3, 4], [1], [3], [-1])).toEqual({ shape: [2, 3, 2], starts: [0, 0, 1], steps: [1, 1, 1] });
    expect(fold([5], [10], [1], [0], [-2])).toEqual({ shape: [2], starts: [4], steps: [-2] });
    expect(fold([3, 4], [5], [10], [1])).toEqual({ shape: [3, 0], starts: [0, 0], steps: [1, 1] });
    expect(fold([0, 4], [0], [-1], [0], [-1])).toEqual({ shape: [0, 4], starts: [0, 0], steps: [-1, 1] });
    expect(rejects('Slice', [f32([3, 4]), i64(0), i64(2), i64(0), i64(0)])).toContain('steps [0] has a 0');
    expect(rejects('Slice', [f32([3, 4]), i64(0), i64(2), i64(0, 1)])).toContain('one value per sliced axis');
  });

  it('Gather: indices replace the axis; scalar indices drop it', () => {
    const idx = (shape: number[], v: number[]) => t('int32', shape, v);
    const r = infer(OPS.Gather!, [f32([2, 4, 3]), idx([2, 3], [0, 0, 0, 0, 0, 0])], { axis: -2 });
    expect(r.outputs[0]!.shape).toEqual([2, 2, 3, 3]);
    expect(r.attrs).toEqual({ axis: 1 });
    expect(shapeOf('Gather', [f32([3, 5]), idx([], [1])], { axis: 1 })).toEqual([[3]]);
    expect(rejects('Gather', [f32([3, 4]), idx([1], [0])], { axis: 2 })).toContain('axis 2 is out of range for rank 2');
    expect(rejects('Gather', [f32([]), idx([1], [0])])).toContain('scalar');
    expect(kernelKey(OPS.Gather!, { T: 'float16', Tind: 'int64' })).toBe('float16,int64');
  });

  it('Expand broadcasts both ways; Tile multiplies', () => {
    expect(shapeOf('Expand', [f32([2, 1, 4]), i64(3, 1)])).toEqual([[2, 3, 4]]);
    expect(shapeOf('Expand', [f32([3, 1]), i64(1, 5)])).toEqual([[3, 5]]);
    expect(shapeOf('Expand', [f32([1, 3]), i64(0, 3)])).toEqual([[0, 3]]);
    expect(rejects('Expand', [f32([2, 3]), i64(4, 3)])).toContain('cannot be broadcast');
    expect(shapeOf('Tile', [f32([2, 1, 3]), i64(1, 3, 2)])).toEqual([[2, 3, 6]]);
    expect(rejects('Tile', [f32([2, 3]), i64(2)])).toContain('repeats [2] must have one value per axis of [2,3]');
  });

  it('Pad folds axes into full begin/end pads and the constant', () => {
    const r = infer(OPS.Pad!, [f32([2, 3, 4]), i64(1, 2, 3, 0), f32([], [1.5]), i64(-1, 0)]);
    expect(r.outputs[0]!.shape).toEqual([4, 3, 8]);
    expect(r.attrs).toEqual({ pads: [2, 0, 1, 0, 0, 3], mode: 'constant', value: 1.5 });
    expect(shapeOf('Pad', [f32([4, 5]), i64(-1, 2, 1, -2), null, null])).toEqual([[4, 5]]);
    expect(rejects('Pad', [f32([2, 3]), i64(1, 1), null, null])).toContain('pads [1,1] must have 2 values per padded axis (4');
    expect(rejects('Pad', [f32([2, 3]), i64(-2, 0, -1, 0), null, null])).toContain('crop more than the 2 elements of axis 0');
    expect(rejects('Pad', [f32([0, 3]), i64(1, 0, 0, 0), null, null], { mode: 'edge' })).toContain("'edge' padding of axis 0");
  });

  it('Shape clamps start and end; ConstantOfShape and Range make new tensors', () => {
    const s = infer(OPS.Shape!, [f32([2, 3, 4, 5])], { start: -2, end: -1 });
    expect(s.outputs[0]).toEqual({ shape: [1], dtype: 'int64' });
    expect(s.attrs).toEqual({ start: 2, end: 3 });
    expect(shapeOf('Shape', [f32([2, 3, 4])], { start: 2, end: 1 })).toEqual([[0]]);
    expect(infer(OPS.ConstantOfShape!, [i64(2, 3)], { dtype: 'int32' }).outputs[0]).toEqual({ shape: [2, 3], dtype: 'int32' });
    expect(infer(OPS.ConstantOfShape!, [i64()]).outputs[0]).toEqual({ shape: [], dtype: 'float32' });
    const r = infer(OPS.Range!, [t('int32', [], [10]), t('int32', [], [-2]), t('int32', [], [-4])]);
    expect(r.outputs[0]).toEqual({ shape: [3], dtype: 'int32' });
    expect(r.attrs).toEqual({ start: 10, delta: -4 });
    expect(rejects('Range', [f32([], [0]), f32([], [3]), f32([], [0])])).toContain('delta must not be 0');
    // JS numbers given for value inputs arrive as int64: a fractional range must say so.
    const raw = (v: number): T => ({ shape: [], dtype: 'int64', data: [v] });
    expect(rejects('Range', [raw(0), raw(1), raw(0.25)])).toContain('not all integers');
  });

  it('every op has a doc; the view ops need no kernel, the others have one', () => {
    for (const [name, s] of Object.entries(OPS)) {
      expect(s.name).toBe(name);
      expect(s.doc, name).toBeTruthy();
      const isView = ['Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Identity'].includes(name);
      expect(tensorRef[name] === undefined, name).toBe(isView);
      expect(tensorCases.some((c) => c.op === name && !c.throws), name).toBe(true);
    }
  });
});

describe('reference kernels', () => {
  const x23 = f32([2, 3], [1, 2, 3, 4, 5, 6]);

  it('Transpose', () => {
    expect(data('Transpose', [x23])).toEqual([1, 4, 2, 5, 3, 6]);
    expect(data('Transpose', [f32([1, 2, 2], [1, 2, 3, 4])], { perm: [2, 0, 1] })).toEqual([1, 3, 2, 4]);
  });

  it('Slice (the ONNX examples, and negative steps)', () => {
    const d = f32([2, 4], [1, 2, 3, 4, 5, 6, 7, 8]);
    expect(data('Slice', [d, i64(1, 0), i64(2, 3), i64(0, 1), i64(1, 2)])).toEqual([5, 7]);
    expect(data('Slice', [d, i64(0, 1), i64(-1, 1000), null, null])).toEqual([2, 3, 4]);
    expect(data('Slice', [d, i64(-1, -1), i64(-3, -5), null, i64(-1, -2)])).toEqual([8, 6, 4, 2]);
    expect(data('Slice', [d, i64(-1, -1), i64(0, 0), null, i64(-1, -2)])).toEqual([8, 6]);
  });

  it('Concat and Split are inverse', () => {
    const c = exec('Concat', [f32([2, 1], [1, 2]), f32([2, 0]), f32([2, 2], [3, 4, 5, 6])], { axis: 1 })[0]!;
    expect(c.data).toEqual([1, 3, 4, 2, 5, 6]);
    const parts = exec('Split', [c, i64(1, 0, 2)], { axis: 1 });
    expect(parts.map((p) => p.data)).toEqual([[1, 2], [], [3, 4, 5, 6]]);
  });

  it('Gather (the ONNX example, negative and scalar indices)', () => {
    const d = f32([3, 2], [1, 1.2, 2.3, 3.4, 4.5, 5.7]);
    const g = data('Gather', [d, t('int64', [2, 2], [0, 1, 1, 2])]);
    expect(g).toEqual(f32([8], [1, 1.2, 2.3, 3.4, 2.3, 3.4, 4.5, 5.7]).data);
    expect(data('Gather', [x23, t('int32', [2], [-1, 0])], { axis: 1 })).toEqual([3, 1, 6, 4]);
    expect(data('Gather', [x23, t('int32', [], [-2])])).toEqual([1, 2, 3]);
    expect(() => exec('Gather', [x23, t('int32', [1], [2])])).toThrow(/out of range/);
  });

  it('Expand and Tile', () => {
    expect(data('Expand', [f32([2, 1], [1, 2]), i64(2, 3)])).toEqual([1, 1, 1, 2, 2, 2]);
    expect(data('Tile', [f32([2, 2], [1, 2, 3, 4]), i64(1, 2)])).toEqual([1, 2, 1, 2, 3, 4, 3, 4]);
    expect(data('Tile', [f32([2], [1, 2]), i64(0)])).toEqual([]);
  });

  it('Pad in every mode (the ONNX examples)', () => {
    const d = f32([3, 2], [1, 1.2, 2.3, 3.4, 4.5, 5.7]);
    const v = (a: number[]) => f32([a.length], a).data;
    expect(data('Pad', [d, i64(0, 2, 0, 0), null, null])).toEqual(v([0, 0, 1, 1.2, 0, 0, 2.3, 3.4, 0, 0, 4.5, 5.7]));
    expect(data('Pad', [d, i64(0, 2, 0, 0), null, null], { mode: 'reflect' })).toEqual(v([1, 1.2, 1, 1.2, 2.3, 3.4, 2.3, 3.4, 4.5, 5.7, 4.5, 5.7]));
    expect(data('Pad', [d, i64(0, 2, 0, 0), null, null], { mode: 'edge' })).toEqual(v([1, 1, 1, 1.2, 2.3, 2.3, 2.3, 3.4, 4.5, 4.5, 4.5, 5.7]));
    expect(data('Pad', [d, i64(2, 1, 1, 1), null, null], { mode: 'wrap' })).toEqual(
      v([3.4, 2.3, 3.4, 2.3, 5.7, 4.5, 5.7, 4.5, 1.2, 1, 1.2, 1, 3.4, 2.3, 3.4, 2.3, 5.7, 4.5, 5.7, 4.5, 1.2, 1, 1.2, 1]),
    );
    expect(data('Pad', [x23, i64(1, 0), f32([], [9]), i64(-1)])).toEqual([9, 1, 2, 3, 9, 4, 5, 6]);
  });

  it('Pad: negative pads crop first; reflect and wrap repeat past one period', () => {
    const d = f32([4], [1, 2, 3, 4]);
    expect(data('Pad', [d, i64(-1, 1), null, null], { mode: 'edge' })).toEqual([2, 3, 4, 4]);
    expect(data('Pad', [d, i64(2, -1), null, null], { mode: 'reflect' })).toEqual([3, 2, 1, 2, 3]);
    expect(data('Pad', [d, i64(1, -2), null, null], { mode: 'wrap' })).toEqual([2, 1, 2]);
    const s = f32([3], [1, 2, 3]);
    // numpy.pad([1, 2, 3], (7, 6), mode)
    expect(data('Pad', [s, i64(7, 6), null, null], { mode: 'reflect' })).toEqual([2, 3, 2, 1, 2, 3, 2, 1, 2, 3, 2, 1, 2, 3, 2, 1]);
    expect(data('Pad', [s, i64(7, 6), null, null], { mode: 'wrap' })).toEqual([3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3]);
  });

  it('Shape, ConstantOfShape, Range', () => {
    expect(exec('Shape', [f32([2, 3, 4])], { start: 1 })[0]).toEqual({ shape: [2], dtype: 'int64', data: [3, 4] });
    expect(exec('ConstantOfShape', [i64(2, 2)], { value: 7, dtype: 'int8' })[0]).toEqual({ shape: [2, 2], dtype: 'int8', data: [7, 7, 7, 7] });
    expect(data('Range', [t('int32', [], [10]), t('int32', [], [-2]), t('int32', [], [-4])])).toEqual([10, 6, 2]);
    expect(data('Range', [f32([], [0.5]), f32([], [2]), f32([], [0.5])])).toEqual([0.5, 1, 1.5]);
  });
});

describe('conformance cases', () => {
  // The view ops run no kernel: the expected output is the input.
  const identity: RefKernel = ([x]) => [x!.data];
  const refs = { ...tensorRef, Reshape: identity, Flatten: identity, Squeeze: identity, Unsqueeze: identity, Identity: identity };

  it('are valid calls for every binding (throwing cases are rejected)', () => {
    expect(checkCases(OPS, refs, tensorCases)).toEqual([]);
  });
});
