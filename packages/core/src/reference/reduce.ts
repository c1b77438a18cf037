/**
 * Reference kernels of the reductions, ArgMax/ArgMin and CumSum. Core folded the
 * axes: Reduce* get `axes` (sorted, non-negative, possibly empty = reduce nothing)
 * and `keepdims`; ArgMax/ArgMin and CumSum a non-negative `axis`. The flat order of
 * a reduction's output is the same with or without keepdims.
 */
import { isFloat, type DType } from '../dtype.js';
import type { RefKernel, RefTensor } from './types.js';
import { axisSplit, broadcastIndex, integral, sizeOf } from './util.js';

/** Lowest and highest value of the integer dtypes (int64/uint64 ones are not exact as doubles). */
const INT_LIMITS: Partial<Record<DType, readonly [number, number]>> = {
  bool: [0, 1],
  int8: [-(2 ** 7), 2 ** 7 - 1],
  uint8: [0, 2 ** 8 - 1],
  int16: [-(2 ** 15), 2 ** 15 - 1],
  uint16: [0, 2 ** 16 - 1],
  int32: [-(2 ** 31), 2 ** 31 - 1],
  uint32: [0, 2 ** 32 - 1],
  int64: [-(2 ** 63), 2 ** 63 - 1],
  uint64: [0, 2 ** 64 - 1],
};
const lowest = (d: DType) => (isFloat(d) ? -Infinity : INT_LIMITS[d]![0]);
const highest = (d: DType) => (isFloat(d) ? Infinity : INT_LIMITS[d]![1]);

/**
 * For every element of x, the flat index of the output element it reduces into
 * (`n` outputs), and how many elements each output reduces (`count`).
 */
function groups(x: RefTensor, axes: readonly number[]) {
  const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  return { map: broadcastIndex(x.shape, kept), n: sizeOf(kept), count: sizeOf(axes.map((a) => x.shape[a]!)) };
}

/** acc = step(acc, x) over each group starting from init(dtype), then fin(acc, count). */
function reduce(
  init: (d: DType) => number,
  step: (acc: number, x: number) => number,
  fin: (acc: number, count: number) => number = (acc) => acc,
): RefKernel {
  return ([x], attrs) => {
    const { map, n, count } = groups(x!, attrs.axes as number[]);
    const acc = new Array<number>(n).fill(init(x!.dtype));
    for (let i = 0; i < map.length; i++) acc[map[i]!] = step(acc[map[i]!]!, x!.data[i]!);
    const exact = integral(x!.dtype);
    return [acc.map((a) => exact(fin(a, count)))];
  };
}
const zero = () => 0;
const sum = (acc: number, x: number) => acc + x;

/** log(sum e^x) = m + log(sum e^(x - m)) with m the group's maximum (0 when not finite). */
const logSumExp: RefKernel = ([x], attrs, outs) => {
  const [m] = reduceRef.ReduceMax!([x!], attrs, outs) as number[][];
  const shift = m!.map((v) => (Number.isFinite(v) ? v : 0));
  const { map, n } = groups(x!, attrs.axes as number[]);
  const s = new Array<number>(n).fill(0);
  for (let i = 0; i < map.length; i++) s[map[i]!]! += Math.exp(x!.data[i]! - shift[map[i]!]!);
  const exact = integral(x!.dtype);
  return [s.map((v, j) => exact(Math.log(v) + shift[j]!))];
};

/** Index along `axis` of the element that `better` prefers; ties keep the first unless select_last_index. */
function arg(better: (v: number, best: number) => boolean): RefKernel {
  return ([x], attrs) => {
    const [outer, n, inner] = axisSplit(x!.shape, attrs.axis as number);
    const last = attrs.select_last_index !== 0;
    const r = new Array<number>(outer * inner);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        let bi = 0;
        let bv = x!.data[o * n * inner + i]!;
        for (let k = 1; k < n; k++) {
          const v = x!.data[(o * n + k) * inner + i]!;
          if (better(v, bv) || (last && v === bv)) [bi, bv] = [k, v];
        }
        r[o * inner + i] = bi;
      }
    }
    return [r];
  };
}

const cumSum: RefKernel = ([x], attrs) => {
  const [outer, n, inner] = axisSplit(x!.shape, attrs.axis as number);
  const r = new Array<number>(x!.data.length);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) {
        const at = (o * n + (attrs.reverse ? n - 1 - j : j)) * inner + i;
        const v = x!.data[at]!;
        if (attrs.exclusive) [r[at], s] = [s, s + v];
        else r[at] = s += v;
      }
    }
  }
  return [r];
};

export const reduceRef: Record<string, RefKernel> = {
  ReduceSum: reduce(zero, sum),
  ReduceMean: reduce(zero, sum, (s, count) => s / count),
  ReduceMax: reduce(lowest, Math.max),
  ReduceMin: reduce(highest, Math.min),
  ReduceProd: reduce(() => 1, (acc, x) => acc * x),
  ReduceL1: reduce(zero, (acc, x) => acc + Math.abs(x)),
  ReduceL2: reduce(zero, (acc, x) => acc + x * x, Math.sqrt),
  ReduceLogSum: reduce(zero, sum, Math.log),
  ReduceLogSumExp: logSumExp,
  ReduceSumSquare: reduce(zero, (acc, x) => acc + x * x),
  ArgMax: arg((v, best) => v > best),
  ArgMin: arg((v, best) => v < best),
  CumSum: cumSum,
};
