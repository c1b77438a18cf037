/**
 * Index helpers shared by the reference kernels. Shapes are dense row-major; a
 * rank-0 shape has one element. Broadcasting follows NumPy (right-aligned).
 */
import { isFloat, type DType } from '../dtype.js';
import { sizeOf } from '../ops/schema.js';

export { sizeOf };

/** Row-major element strides of `shape` (the last axis has stride 1). */
export function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/**
 * For every flat index of `outShape`, the flat index of the element of an input of
 * `inShape` that broadcasts to it (inShape must broadcast to outShape).
 */
export function broadcastIndex(outShape: readonly number[], inShape: readonly number[]): Int32Array {
  const n = sizeOf(outShape);
  const map = new Int32Array(n);
  const rank = outShape.length;
  const off = rank - inShape.length;
  const inStr = strides(inShape);
  // Per output axis: the input stride, 0 where the input is broadcast or absent.
  const step = outShape.map((d, a) => (a < off || inShape[a - off] === 1 ? 0 : inStr[a - off]!));
  const idx = new Array<number>(rank).fill(0);
  let src = 0;
  for (let i = 0; i < n; i++) {
    map[i] = src;
    // Odometer increment over the output index, updating src incrementally.
    for (let a = rank - 1; a >= 0; a--) {
      src += step[a]!;
      idx[a] = idx[a]! + 1;
      if (idx[a]! < outShape[a]!) break;
      src -= step[a]! * outShape[a]!;
      idx[a] = 0;
    }
  }
  return map;
}

/** Multi-index of flat index `i` in `shape`. */
export function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let a = shape.length - 1; a >= 0; a--) {
    const d = shape[a]!;
    idx[a] = i % d;
    i = Math.floor(i / d);
  }
  return idx;
}

/**
 * [outer, n, inner] around `axis`: element (o, k, i) of the axis view is flat index
 * (o * n + k) * inner + i.
 */
export function axisSplit(shape: readonly number[], axis: number): [number, number, number] {
  return [sizeOf(shape.slice(0, axis)), shape[axis]!, sizeOf(shape.slice(axis + 1))];
}

/**
 * How a float64 result becomes a value of dtype `d`: unchanged for floats (the
 * caller rounds); truncated toward zero for integers, as C++ casts do (e.g. an
 * integer ReduceMean or Erf), after which the caller wraps out-of-range values.
 * Bool results are already 0/1.
 */
export const integral = (d: DType): ((x: number) => number) => (isFloat(d) ? (x) => x : Math.trunc);
