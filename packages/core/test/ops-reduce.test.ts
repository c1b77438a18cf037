import { describe, expect, it } from 'vitest';
import { isMxError } from '../src/errors.js';
import { reduceCases } from '../src/conformance/cases/reduce.js';
import { reduceOps } from '../src/ops/reduce.js';
import { kernelKey, type AttrValue, type OpSchema } from '../src/ops/schema.js';
import { reduceRef } from '../src/reference/reduce.js';
import { checkCases, infer, run, t, type T } from './op-harness.js';

const OPS: Record<string, OpSchema> = reduceOps;
const rule = (op: string, inputs: (T | null)[], attrs?: Record<string, AttrValue>) => {
  const r = infer(OPS[op]!, inputs, attrs);
  return { ...r.outputs[0]!, attrs: r.attrs };
};
const ref = (op: string, inputs: (T | null)[], attrs?: Record<string, AttrValue>) => run(OPS[op]!, reduceRef[op]!, inputs, attrs)[0]!.data;
const f = (shape: number[], data: number[] = new Array(shape.reduce((a, b) => a * b, 1)).fill(0)) => t('float32', shape, data);
const axes = (...v: number[]) => t('int64', [v.length], v);
const axis = (v: number, dtype: 'int32' | 'int64' = 'int64') => t(dtype, [], [v]);
const X23 = () => f([2, 3], [1, 2, 3, 4, 5, 6]);

function failure(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(isMxError(e) && e.code).toBe('INVALID_ARGUMENT');
    return (e as Error).message;
  }
  throw new Error('expected the call to fail');
}

describe('reduce op table', () => {
  it('keys are the ONNX names, every op is documented and has a reference kernel', () => {
    for (const [k, s] of Object.entries(OPS)) {
      expect(s.name).toBe(k);
      expect(s.doc?.length).toBeGreaterThan(10);
      expect(reduceRef[k], k).toBeTypeOf('function');
    }
    expect(Object.keys(reduceRef).sort()).toEqual(Object.keys(OPS).sort());
  });

  it('value inputs and fixed types stay out of kernel keys', () => {
    expect(OPS.ReduceSum!.inputs[1]).toMatchObject({ type: 'int64', value: true, optional: true });
    expect(OPS.ArgMax!.outputs[0]!.type).toBe('int64');
    expect(kernelKey(OPS.CumSum!, { T: 'float32' })).toBe('float32');
    expect(OPS.ReduceMax!.types.T).toContain('bool');
    expect(OPS.ReduceSum!.types.T).not.toContain('bool');
  });
});

describe('reduce shape rules', () => {
  const x = f([2, 3, 4]);
  it('no axes reduce everything; keepdims chooses the rank', () => {
    expect(rule('ReduceSum', [x])).toEqual({ shape: [1, 1, 1], dtype: 'float32', attrs: { axes: [0, 1, 2], keepdims: 1 } });
    expect(rule('ReduceMean', [x], { keepdims: 0 })).toMatchObject({ shape: [], attrs: { axes: [0, 1, 2], keepdims: 0 } });
    expect(rule('ReduceMax', [x, axes()], { keepdims: 0 }).shape).toEqual([]);
    expect(rule('ReduceSum', [f([])])).toMatchObject({ shape: [], attrs: { axes: [] } });
  });

  it('axes are normalized, sorted and applied', () => {
    expect(rule('ReduceSum', [x, axes(-1)])).toMatchObject({ shape: [2, 3, 1], attrs: { axes: [2] } });
    expect(rule('ReduceL2', [x, axes(2, 0)], { keepdims: 0 })).toMatchObject({ shape: [3], attrs: { axes: [0, 2], keepdims: 0 } });
    expect(rule('ReduceProd', [f([0, 3]), axes(1)]).shape).toEqual([0, 1]);
  });

  it('noop_with_empty_axes=1 without axes reduces nothing', () => {
    expect(rule('ReduceSumSquare', [x], { noop_with_empty_axes: 1, keepdims: 0 })).toMatchObject({ shape: [2, 3, 4], attrs: { axes: [] } });
    expect(rule('ReduceSum', [x, axes()], { noop_with_empty_axes: 1 })).toMatchObject({ shape: [2, 3, 4], attrs: { axes: [] } });
    expect(rule('ReduceSum', [x, axes(1)], { noop_with_empty_axes: 1 }).shape).toEqual([2, 1, 4]);
  });

  it('bad axes name the op, the axis, the rank and the inputs', () => {
    expect(failure(() => rule('ReduceSum', [x, axes(3)]))).toContain('ReduceSum: axes entry 3 is out of range for rank 3 (inputs: float32[2,3,4], int64[1])');
    expect(failure(() => rule('ReduceMin', [x, axes(-4)]))).toContain('axes entry -4 is out of range for rank 3');
    expect(failure(() => rule('ReduceMean', [x, axes(1, -2)]))).toContain('ReduceMean: axes [1,-2] repeat an axis');
    expect(failure(() => rule('ReduceSum', [f([]), axes(0)]))).toContain('axes entry 0 is out of range for rank 0');
  });

  it('ArgMax/ArgMin give int64 and fold a non-negative axis', () => {
    expect(rule('ArgMax', [x])).toMatchObject({ shape: [1, 3, 4], dtype: 'int64', attrs: { axis: 0 } });
    expect(rule('ArgMin', [x], { axis: -1, keepdims: 0 })).toMatchObject({ shape: [2, 3], attrs: { axis: 2 } });
    expect(failure(() => rule('ArgMax', [f([0, 3])]))).toContain('ArgMax: axis 0 has size 0');
    expect(failure(() => rule('ArgMax', [f([])]))).toContain('axis 0 is out of range for rank 0');
    expect(failure(() => rule('ArgMin', [x], { axis: 3 }))).toContain('ArgMin: axis 3 is out of range for rank 3');
  });

  it('CumSum folds its axis input', () => {
    expect(rule('CumSum', [x, axis(-2)])).toMatchObject({ shape: [2, 3, 4], dtype: 'float32', attrs: { axis: 1 } });
    expect(rule('CumSum', [x, axis(2, 'int32')]).attrs).toEqual({ axis: 2 });
    expect(failure(() => rule('CumSum', [x, axes(0, 1)]))).toContain('CumSum: axis must hold a single value, got shape [2]');
    expect(failure(() => rule('CumSum', [x, axis(3)]))).toContain('axis 3 is out of range for rank 3');
  });
});

describe('reduce reference kernels', () => {
  it('sum, mean, max, min, prod along an axis', () => {
    expect(ref('ReduceSum', [X23(), axes(1)])).toEqual([6, 15]);
    expect(ref('ReduceSum', [X23(), axes(0)], { keepdims: 0 })).toEqual([5, 7, 9]);
    expect(ref('ReduceSum', [X23()])).toEqual([21]);
    expect(ref('ReduceMean', [X23(), axes(1)])).toEqual([2, 5]);
    expect(ref('ReduceMax', [X23(), axes(0)])).toEqual([4, 5, 6]);
    expect(ref('ReduceMin', [X23(), axes(-1)])).toEqual([1, 4]);
    expect(ref('ReduceProd', [X23(), axes(1)])).toEqual([6, 120]);
    const x3 = f([2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8]);
    expect(ref('ReduceSum', [x3, axes(0, 2)], { keepdims: 0 })).toEqual([1 + 2 + 5 + 6, 3 + 4 + 7 + 8]);
  });

  it('integer mean truncates toward zero', () => {
    expect(ref('ReduceMean', [t('int32', [2, 2], [1, 2, -3, -4]), axes(1)])).toEqual([1, -3]);
  });

  it('norms and logs', () => {
    expect(ref('ReduceL1', [f([2, 2], [3, -4, -1, 1]), axes(1)])).toEqual([7, 2]);
    expect(ref('ReduceL2', [f([2, 2], [3, -4, 0, 1]), axes(1)])).toEqual([5, 1]);
    expect(ref('ReduceSumSquare', [f([2, 2], [3, -4, 0, 1]), axes(1)])).toEqual([25, 1]);
    expect(ref('ReduceLogSum', [t('float64', [2], [1, Math.E - 1])])).toEqual([1]);
    const lse = ref('ReduceLogSumExp', [t('float64', [2, 2], [1000, 1000, 0, Math.log(3)]), axes(1)]);
    expect(lse[0]).toBeCloseTo(1000 + Math.LN2, 12); // no overflow
    expect(lse[1]).toBeCloseTo(Math.log(4), 14);
  });

  it('noop_with_empty_axes keeps the elementwise part', () => {
    const x = f([3], [-2, 0.5, 3]);
    expect(ref('ReduceSum', [x], { noop_with_empty_axes: 1 })).toEqual([-2, 0.5, 3]);
    expect(ref('ReduceL1', [x], { noop_with_empty_axes: 1 })).toEqual([2, 0.5, 3]);
    expect(ref('ReduceSumSquare', [x], { noop_with_empty_axes: 1 })).toEqual([4, 0.25, 9]);
    expect(ref('ReduceLogSumExp', [x], { noop_with_empty_axes: 1 })).toEqual([-2, 0.5, 3]);
  });

  it('empty reductions give the identity', () => {
    const e = f([2, 0]);
    expect(ref('ReduceSum', [e, axes(1)])).toEqual([0, 0]);
    expect(ref('ReduceProd', [e, axes(1)])).toEqual([1, 1]);
    expect(ref('ReduceMax', [e, axes(1)])).toEqual([-Infinity, -Infinity]);
    expect(ref('ReduceMin', [e, axes(1)])).toEqual([Infinity, Infinity]);
    expect(ref('ReduceLogSumExp', [e, axes(1)])).toEqual([-Infinity, -Infinity]);
    expect(ref('ReduceMax', [t('int32', [2, 0], []), axes(1)])).toEqual([-(2 ** 31), -(2 ** 31)]);
    expect(ref('ReduceMin', [t('uint8', [1, 0], []), axes(1)])).toEqual([255]);
    expect(ref('ReduceSum', [f([0, 3]), axes(1)])).toEqual([]);
  });

  it('ReduceMax/Min on bool', () => {
    expect(ref('ReduceMax', [t('bool', [2, 2], [0, 1, 0, 0]), axes(1)])).toEqual([1, 0]);
    expect(ref('ReduceMin', [t('bool', [2, 2], [1, 1, 0, 1]), axes(1)])).toEqual([1, 0]);
  });

  it('ArgMax/ArgMin pick the first tie unless select_last_index', () => {
    const x = f([2, 4], [1, 3, 3, 0, 2, 2, 1, 2]);
    expect(ref('ArgMax', [x], { axis: 1 })).toEqual([1, 0]);
    expect(ref('ArgMax', [x], { axis: 1, select_last_index: 1 })).toEqual([2, 3]);
    expect(ref('ArgMin', [x], { axis: 1 })).toEqual([3, 2]);
    expect(ref('ArgMin', [x])).toEqual([0, 1, 1, 0]);
    expect(ref('ArgMin', [f([2, 2], [5, 5, 5, 5])], { axis: 0, select_last_index: 1 })).toEqual([1, 1]);
    expect(ref('ArgMax', [f([2, 2, 2], [0, 9, 1, 0, 7, 0, 0, 8])], { axis: 1, keepdims: 0 })).toEqual([1, 0, 0, 1]);
  });

  it('CumSum with exclusive and reverse', () => {
    const x = f([5], [1, 2, 3, 4, 5]);
    expect(ref('CumSum', [x, axis(0)])).toEqual([1, 3, 6, 10, 15]);
    expect(ref('CumSum', [x, axis(0)], { exclusive: 1 })).toEqual([0, 1, 3, 6, 10]);
    expect(ref('CumSum', [x, axis(0)], { reverse: 1 })).toEqual([15, 14, 12, 9, 5]);
    expect(ref('CumSum', [x, axis(0)], { reverse: 1, exclusive: 1 })).toEqual([14, 12, 9, 5, 0]);
    expect(ref('CumSum', [X23(), axis(0)])).toEqual([1, 2, 3, 5, 7, 9]);
    expect(ref('CumSum', [X23(), axis(-1, 'int32')])).toEqual([1, 3, 6, 4, 9, 15]);
  });
});

describe('reduce conformance cases', () => {
  it('are valid calls for every binding, and the throwing ones throw INVALID_ARGUMENT', () => {
    expect(checkCases(OPS, reduceRef, reduceCases)).toEqual([]);
  });

  it('cover every op, with unique names', () => {
    for (const op of Object.keys(OPS)) {
      const names = reduceCases.filter((c) => c.op === op).map((c) => c.name);
      expect(names.length, op).toBeGreaterThan(5);
      expect(new Set(names).size, `${op} names`).toBe(names.length);
    }
  });
});
