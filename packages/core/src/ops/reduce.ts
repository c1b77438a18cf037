/**
 * Reductions (Reduce*), ArgMax/ArgMin and CumSum, with ONNX's newest-opset
 * semantics: Reduce* take `axes` as an optional int64 input (folded here into
 * the sorted, non-negative `axes` attribute), ArgMax/ArgMin an `axis` attribute,
 * CumSum a scalar `axis` input (folded into the `axis` attribute).
 */
import { NUMERIC_DTYPES, type DType } from '../dtype.js';
import { defineOp, normAxis, type InferContext, type InferResult } from './schema.js';

/** ONNX's T of most reductions and CumSum. */
const REDUCE_T: readonly DType[] = ['float32', 'float64', 'float16', 'bfloat16', 'int32', 'int64', 'uint32', 'uint64'];
/** ReduceMax/ReduceMin also take 8-bit integers and bool. */
const MINMAX_T: readonly DType[] = [...REDUCE_T, 'int8', 'uint8', 'bool'];

/** A non-negative axis of a tensor of rank `rank` (a scalar has no axis). */
function axisOf(ctx: InferContext, axis: number, rank: number, name = 'axis'): number {
  if (rank === 0) ctx.fail(`${name} ${axis} is out of range for rank 0`);
  return normAxis(ctx, axis, rank, name);
}

/**
 * Reduce*: no axes (or empty axes) reduce everything unless noop_with_empty_axes=1,
 * which reduces nothing (the elementwise part, e.g. |x| for ReduceL1, still applies).
 */
function reduceRule(ctx: InferContext): InferResult {
  const x = ctx.inputs[0]!;
  const rank = x.shape.length;
  const given = ctx.value(1) ?? [];
  let axes: number[];
  if (given.length === 0) axes = ctx.attrs.noop_with_empty_axes ? [] : x.shape.map((_, i) => i);
  else {
    axes = given.map((a) => axisOf(ctx, a, rank, 'axes entry')).sort((a, b) => a - b);
    if (axes.some((a, i) => a === axes[i - 1])) ctx.fail(`axes [${given.join(',')}] repeat an axis`);
  }
  const keepdims = ctx.attrs.keepdims ? 1 : 0;
  const shape = keepdims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i));
  return { outputs: [{ shape, dtype: x.dtype }], attrs: { axes, keepdims } };
}

function argRule(ctx: InferContext): InferResult {
  const x = ctx.inputs[0]!;
  const axis = axisOf(ctx, ctx.attrs.axis as number, x.shape.length);
  if (x.shape[axis] === 0) ctx.fail(`axis ${axis} has size 0: there is no element to select`);
  const keepdims = ctx.attrs.keepdims ? 1 : 0;
  const shape = keepdims ? x.shape.map((d, i) => (i === axis ? 1 : d)) : x.shape.filter((_, i) => i !== axis);
  return { outputs: [{ shape, dtype: 'int64' }], attrs: { axis } };
}

function cumSumRule(ctx: InferContext): InferResult {
  const x = ctx.inputs[0]!;
  const v = ctx.value(1);
  if (!v || v.length !== 1) ctx.fail(`axis must hold a single value, got shape [${ctx.inputs[1]?.shape.join(',') ?? ''}]`);
  const axis = axisOf(ctx, v[0]!, x.shape.length);
  return { outputs: [{ shape: [...x.shape], dtype: x.dtype }], attrs: { axis } };
}

const reduce = <const N extends string>(name: N, doc: string, T = REDUCE_T) =>
  defineOp({
    name,
    doc,
    inputs: [{ name: 'data', type: 'T' }, { name: 'axes', type: 'int64', optional: true, value: true }],
    outputs: [{ name: 'reduced', type: 'T' }],
    attrs: { keepdims: { type: 'int', default: 1 }, noop_with_empty_axes: { type: 'int', default: 0 } },
    types: { T },
    infer: reduceRule,
  });

const arg = <const N extends string>(name: N, doc: string) =>
  defineOp({
    name,
    doc,
    inputs: [{ name: 'data', type: 'T' }],
    outputs: [{ name: 'reduced', type: 'int64' }],
    attrs: { axis: { type: 'int', default: 0 }, keepdims: { type: 'int', default: 1 }, select_last_index: { type: 'int', default: 0 } },
    types: { T: NUMERIC_DTYPES },
    infer: argRule,
  });

export const reduceOps = {
  ReduceSum: reduce('ReduceSum', 'Sum over axes (0 over an empty set).'),
  ReduceMean: reduce('ReduceMean', 'Mean over axes (integers truncate toward zero).'),
  ReduceMax: reduce('ReduceMax', 'Maximum over axes (-inf, or the lowest integer, over an empty set).', MINMAX_T),
  ReduceMin: reduce('ReduceMin', 'Minimum over axes (+inf, or the highest integer, over an empty set).', MINMAX_T),
  ReduceProd: reduce('ReduceProd', 'Product over axes (1 over an empty set).'),
  ReduceL1: reduce('ReduceL1', 'Sum of |x| over axes.'),
  ReduceL2: reduce('ReduceL2', 'sqrt(sum of x^2) over axes.'),
  ReduceLogSum: reduce('ReduceLogSum', 'log(sum of x) over axes.'),
  ReduceLogSumExp: reduce('ReduceLogSumExp', 'log(sum of e^x) over axes, computed without overflow.'),
  ReduceSumSquare: reduce('ReduceSumSquare', 'Sum of x^2 over axes.'),
  ArgMax: arg('ArgMax', 'Index of the largest element along axis (first of ties, or last with select_last_index=1).'),
  ArgMin: arg('ArgMin', 'Index of the smallest element along axis (first of ties, or last with select_last_index=1).'),
  CumSum: defineOp({
    name: 'CumSum',
    doc: 'Cumulative sum along axis; exclusive=1 leaves out the current element, reverse=1 sums from the end.',
    inputs: [{ name: 'x', type: 'T' }, { name: 'axis', type: 'T2', value: true }],
    outputs: [{ name: 'y', type: 'T' }],
    attrs: { exclusive: { type: 'int', default: 0 }, reverse: { type: 'int', default: 0 } },
    types: { T: REDUCE_T, T2: ['int32', 'int64'] },
    infer: cumSumRule,
  }),
};
