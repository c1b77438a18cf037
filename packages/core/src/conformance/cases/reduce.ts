/**
 * Conformance cases of the reductions, ArgMax/ArgMin and CumSum: default and
 * explicit axes (several, negative, unsorted), keepdims 0/1, noop_with_empty_axes,
 * scalars, empty tensors and empty reductions, ties, exclusive/reverse, and calls
 * that must fail.
 */
import { FLOAT_DTYPES, type DType } from '../../dtype.js';
import type { CaseInput, ConformanceCase } from '../types.js';

const axes = (...values: number[]): CaseInput => ({ shape: [values.length], values, dtype: 'int64' });

/** The cases every Reduce* op gets; `x` sets the input range, `single` restricts cases that reduce one element. */
function reductionCases(op: string, x: Partial<CaseInput> = {}, single?: readonly DType[]): ConformanceCase[] {
  const d = (shape: number[]): CaseInput => ({ shape, ...x });
  const one = single ? { dtypes: single } : {};
  const cases: ConformanceCase[] = [
    { op, name: 'all axes, keepdims=1', inputs: [d([2, 3, 4])] },
    { op, name: 'all axes, keepdims=0', inputs: [d([2, 3, 4])], attrs: { keepdims: 0 } },
    { op, name: 'empty axes input reduces all', inputs: [d([2, 3]), axes()], attrs: { keepdims: 0 } },
    { op, name: 'axis 1, keepdims=1', inputs: [d([2, 3, 4]), axes(1)] },
    { op, name: 'axis 1, keepdims=0', inputs: [d([2, 3, 4]), axes(1)], attrs: { keepdims: 0 } },
    { op, name: 'axes [0,2], keepdims=0', inputs: [d([2, 3, 4]), axes(0, 2)], attrs: { keepdims: 0 } },
    { op, name: 'axes [2,0] unsorted', inputs: [d([2, 3, 4]), axes(2, 0)] },
    { op, name: 'negative axis -1', inputs: [d([2, 3, 4]), axes(-1)], attrs: { keepdims: 0 } },
    { op, name: 'negative axes [-3,-2]', inputs: [d([2, 3, 4]), axes(-3, -2)] },
    { op, name: 'scalar', inputs: [d([])], ...one },
    { op, name: 'noop_with_empty_axes=1 without axes', inputs: [d([2, 3])], attrs: { noop_with_empty_axes: 1 }, ...one },
    { op, name: 'noop_with_empty_axes=1 with empty axes', inputs: [d([3, 2]), axes()], attrs: { noop_with_empty_axes: 1, keepdims: 0 }, ...one },
    { op, name: 'noop_with_empty_axes=1 with axes given', inputs: [d([2, 3]), axes(0)], attrs: { noop_with_empty_axes: 1 } },
    { op, name: 'empty tensor, zero dim kept', inputs: [d([0, 3]), axes(1)] },
    { op, name: 'axis 3 out of range for rank 3', inputs: [d([2, 3, 4]), axes(3)], throws: true },
    { op, name: 'axis -4 out of range for rank 3', inputs: [d([2, 3, 4]), axes(-4)], throws: true },
    { op, name: 'axes [1,-2] repeat an axis', inputs: [d([2, 3, 4]), axes(1, -2)], throws: true },
  ];
  // Sum/Prod/L1/L2/SumSquare have an identity for the empty set; Max/Min only for floats (-inf/+inf);
  // LogSum/LogSumExp give -inf (floats only). Mean of nothing is 0/0 and has no case.
  const emptySet = ['ReduceSum', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceSumSquare'].includes(op) ? {} : { dtypes: FLOAT_DTYPES };
  if (op !== 'ReduceMean') cases.push({ op, name: 'reduce over an empty axis', inputs: [d([2, 0, 3]), axes(1)], ...emptySet });
  return cases;
}

const argCases = (op: string): ConformanceCase[] => [
  { op, name: 'default axis 0', inputs: [{ shape: [3, 4] }] },
  { op, name: 'axis 1, keepdims=0', inputs: [{ shape: [3, 4] }], attrs: { axis: 1, keepdims: 0 } },
  { op, name: 'axis -1', inputs: [{ shape: [2, 3, 4] }], attrs: { axis: -1 } },
  { op, name: '3-D axis 1, keepdims=0', inputs: [{ shape: [2, 3, 4] }], attrs: { axis: 1, keepdims: 0 } },
  { op, name: '1-D, keepdims=0', inputs: [{ shape: [5] }], attrs: { keepdims: 0 } },
  { op, name: 'ties: first index', inputs: [{ shape: [2, 4], values: [1, 3, 3, 0, 2, 2, 1, 2] }], attrs: { axis: 1 } },
  { op, name: 'ties: select_last_index=1', inputs: [{ shape: [2, 4], values: [1, 3, 3, 0, 2, 2, 1, 2] }], attrs: { axis: 1, select_last_index: 1 } },
  { op, name: 'random ties, select_last_index=1', inputs: [{ shape: [4, 6], range: [0, 2], integer: true }], attrs: { axis: 1, select_last_index: 1 } },
  { op, name: 'empty tensor, zero dim kept', inputs: [{ shape: [0, 3] }], attrs: { axis: 1 } },
  { op, name: 'axis of size 0', inputs: [{ shape: [0, 3] }], attrs: { axis: 0 }, throws: true },
  { op, name: 'axis 2 out of range for rank 2', inputs: [{ shape: [3, 4] }], attrs: { axis: 2 }, throws: true },
  { op, name: 'scalar has no axis', inputs: [{ shape: [] }], throws: true },
];

const axis = (v: number, dtype: DType = 'int64'): CaseInput => ({ shape: [], values: [v], dtype });
const cumSumCases: ConformanceCase[] = [
  { op: 'CumSum', name: '1-D', inputs: [{ shape: [5] }, axis(0)] },
  { op: 'CumSum', name: '2-D axis 0', inputs: [{ shape: [3, 4] }, axis(0)] },
  { op: 'CumSum', name: '2-D axis 1, int32 axis', inputs: [{ shape: [3, 4] }, axis(1, 'int32')] },
  { op: 'CumSum', name: 'negative axis -2 of 3-D', inputs: [{ shape: [2, 3, 4] }, axis(-2)] },
  { op: 'CumSum', name: 'exclusive', inputs: [{ shape: [3, 4] }, axis(1)], attrs: { exclusive: 1 } },
  { op: 'CumSum', name: 'reverse', inputs: [{ shape: [3, 4] }, axis(1)], attrs: { reverse: 1 } },
  { op: 'CumSum', name: 'exclusive and reverse', inputs: [{ shape: [2, 3, 4] }, axis(1)], attrs: { exclusive: 1, reverse: 1 } },
  { op: 'CumSum', name: 'axis given as a 1-element tensor', inputs: [{ shape: [3, 4] }, { shape: [1], values: [1], dtype: 'int64' }] },
  { op: 'CumSum', name: 'empty', inputs: [{ shape: [0, 3] }, axis(1)] },
  { op: 'CumSum', name: 'axis 2 out of range for rank 2', inputs: [{ shape: [3, 4] }, axis(2)], throws: true },
  { op: 'CumSum', name: 'axis with two values', inputs: [{ shape: [3, 4] }, { shape: [2], values: [0, 1], dtype: 'int64' }], throws: true },
  { op: 'CumSum', name: 'scalar has no axis', inputs: [{ shape: [] }, axis(0)], throws: true },
];

export const reduceCases: ConformanceCase[] = [
  ...['ReduceSum', 'ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceL1', 'ReduceL2', 'ReduceSumSquare'].flatMap((op) => reductionCases(op)),
  // Products of 24 values stay within float16 and int32; signs are covered where the dtype has them.
  ...reductionCases('ReduceProd', { range: [0.5, 1.5] }),
  { op: 'ReduceProd', name: 'negative values', inputs: [{ shape: [4, 3], range: [-2, 2] }, axes(1)], dtypes: ['int32', 'int64', ...FLOAT_DTYPES] },
  ...reductionCases('ReduceLogSum', { range: [1, 3] }),
  // For integers, log(e^x) truncates to x or x - 1 depending on rounding: reducing one element is checked on floats only.
  ...reductionCases('ReduceLogSumExp', {}, FLOAT_DTYPES),
  ...argCases('ArgMax'),
  ...argCases('ArgMin'),
  ...cumSumCases,
];
