/**
 * Reference kernels of the indexing ops (../ops/indexing.ts). Core normalized
 * the axes and folded TopK's K (`k`), OneHot's depth, Trilu's k and Compress's
 * condition (`selected` positions). NonZero, Unique and NonMaxSuppression were
 * computed by their shape rules: these kernels copy the folded attributes.
 * Negative indices count from the end; an index out of range throws.
 */
import type { RefKernel, RefTensor } from './types.js';
import { axisSplit, sizeOf, strides, unravel } from './util.js';

/** Index v along an axis of size n, negative counting from the end. */
function wrapIndex(op: string, v: number, n: number): number {
  const k = v < 0 ? v + n : v;
  if (!(k >= 0 && k < n)) throw new RangeError(`${op}: index ${v} is out of range for an axis of size ${n}`);
  return k;
}

/** How a scatter reduction combines the current value with an update. */
const COMBINE: Record<string, (cur: number, upd: number) => number> = {
  none: (_, u) => u,
  add: (c, u) => c + u,
  mul: (c, u) => c * u,
  max: (c, u) => (Number.isNaN(c) || Number.isNaN(u) ? NaN : Math.max(c, u)),
  min: (c, u) => (Number.isNaN(c) || Number.isNaN(u) ? NaN : Math.min(c, u)),
};

/** The flat offset into x of position i of `shape` (indices' shape) with coordinate `axis` replaced by the index at i. */
function elementOffset(op: string, x: RefTensor, shape: readonly number[], indices: RefTensor, axis: number, i: number): number {
  const s = strides(x.shape);
  const pos = unravel(i, shape);
  pos[axis] = wrapIndex(op, indices.data[i]!, x.shape[axis]!);
  return pos.reduce((acc, p, a) => acc + p * s[a]!, 0);
}

/**
 * The flat data offset of every index tuple of indices [..., m] (GatherND after
 * `batch` shared leading dims, ScatterND with batch 0), and the slice length.
 */
function tupleOffsets(op: string, x: RefTensor, indices: RefTensor, batch: number): { offsets: number[]; slice: number } {
  const q = indices.shape.length;
  const m = indices.shape[q - 1]!;
  const s = strides(x.shape);
  const tuples = sizeOf(indices.shape.slice(0, -1));
  const perBatch = tuples / Math.max(1, sizeOf(indices.shape.slice(0, batch)));
  const batchSize = sizeOf(x.shape.slice(batch));
  const offsets = Array.from({ length: tuples }, (_, t) => {
    let off = Math.floor(t / perBatch) * batchSize;
    for (let j = 0; j < m; j++) off += wrapIndex(op, indices.data[t * m + j]!, x.shape[batch + j]!) * s[batch + j]!;
    return off;
  });
  return { offsets, slice: sizeOf(x.shape.slice(batch + m)) };
}

/**
 * Maps every line along `axis` (outer x inner lines of n elements) with f, which
 * returns one array of `outN` values for each of the `nOut` outputs.
 */
function perLine(x: RefTensor, axis: number, outN: number, nOut: number, f: (line: number[]) => number[][]): Float64Array[] {
  const [outer, n, inner] = axisSplit(x.shape, axis);
  const outs = Array.from({ length: nOut }, () => new Float64Array(outer * outN * inner));
  for (let o = 0; o < outer; o++)
    for (let i = 0; i < inner; i++) {
      const res = f(Array.from({ length: n }, (_, j) => x.data[(o * n + j) * inner + i]!));
      outs.forEach((out, k) => {
        for (let j = 0; j < outN; j++) out[(o * outN + j) * inner + i] = res[k]![j]!;
      });
    }
  return outs;
}

/** Total order of TopK/Hardmax: NaN above every number. */
const greater = (a: number, b: number) => (Number.isNaN(a) ? !Number.isNaN(b) : a > b);

/** Determinant by Gaussian elimination with partial pivoting. */
function det(a: number[], m: number): number {
  let d = 1;
  for (let c = 0; c < m; c++) {
    let p = c;
    for (let r = c + 1; r < m; r++) if (Math.abs(a[r * m + c]!) > Math.abs(a[p * m + c]!)) p = r;
    if (a[p * m + c] === 0) return 0;
    if (p !== c) {
      for (let j = 0; j < m; j++) [a[c * m + j], a[p * m + j]] = [a[p * m + j]!, a[c * m + j]!];
      d = -d;
    }
    d *= a[c * m + c]!;
    for (let r = c + 1; r < m; r++) {
      const f = a[r * m + c]! / a[c * m + c]!;
      for (let j = c; j < m; j++) a[r * m + j] = a[r * m + j]! - f * a[c * m + j]!;
    }
  }
  return d;
}

export const indexingRef: Record<string, RefKernel> = {
  TensorScatter: ([past, upd, w], { axis, mode }) => {
    const out = Float64Array.from(past!.data);
    const [outer, n] = axisSplit(past!.shape, axis as number);
    const [, u, inner] = axisSplit(upd!.shape, axis as number);
    const perBatch = outer / past!.shape[0]!;
    for (let o = 0; o < outer; o++) {
      const start = w ? w.data[Math.floor(o / perBatch)]! : 0;
      for (let k = 0; k < u; k++) {
        let pos = start + k;
        if (mode === 'circular') pos = ((pos % n) + n) % n;
        else if (!(start >= 0 && pos < n)) throw new RangeError(`TensorScatter: write index ${start} + ${u} positions exceed the axis size ${n}`);
        for (let i = 0; i < inner; i++) out[(o * n + pos) * inner + i] = upd!.data[(o * u + k) * inner + i]!;
      }
    }
    return [out];
  },
  GatherElements: ([x, indices], { axis }, [o]) =>
    [Float64Array.from({ length: sizeOf(o!.shape) }, (_, i) => x!.data[elementOffset('GatherElements', x!, indices!.shape, indices!, axis as number, i)]!)],

  GatherND: ([x, indices], { batch_dims }, [o]) => {
    const { offsets, slice } = tupleOffsets('GatherND', x!, indices!, batch_dims as number);
    const out = new Float64Array(sizeOf(o!.shape));
    offsets.forEach((off, t) => {
      for (let j = 0; j < slice; j++) out[t * slice + j] = x!.data[off + j]!;
    });
    return [out];
  },

  ScatterElements: ([x, indices, updates], { axis, reduction }) => {
    const out = Float64Array.from(x!.data);
    const combine = COMBINE[reduction as string]!;
    for (let i = 0; i < updates!.data.length; i++) {
      const at = elementOffset('ScatterElements', x!, indices!.shape, indices!, axis as number, i);
      out[at] = combine(out[at]!, updates!.data[i]!);
    }
    return [out];
  },

  ScatterND: ([x, indices, updates], { reduction }) => {
    const out = Float64Array.from(x!.data);
    const combine = COMBINE[reduction as string]!;
    const { offsets, slice } = tupleOffsets('ScatterND', x!, indices!, 0);
    offsets.forEach((off, t) => {
      for (let j = 0; j < slice; j++) out[off + j] = combine(out[off + j]!, updates!.data[t * slice + j]!);
    });
    return [out];
  },

  TopK: ([x], { axis, k, largest }) => {
    const better = largest ? greater : (p: number, q: number) => greater(q, p);
    return perLine(x!, axis as number, k as number, 2, (line) => {
      const order = line.map((_, j) => j).sort((p, q) => (better(line[p]!, line[q]!) ? -1 : better(line[q]!, line[p]!) ? 1 : p - q));
      const top = order.slice(0, k as number);
      return [top.map((j) => line[j]!), top];
    });
  },

  OneHot: ([indices, , values], { axis, depth }, [o]) => {
    const d = depth as number;
    const inner = sizeOf(indices!.shape.slice(axis as number));
    const out = new Float64Array(sizeOf(o!.shape)).fill(values!.data[0]!);
    Array.from(indices!.data).forEach((v, i) => {
      const k = Math.trunc(v) < 0 ? Math.trunc(v) + d : Math.trunc(v);
      if (k >= 0 && k < d) out[(Math.floor(i / inner) * d + k) * inner + (i % inner)] = values!.data[1]!;
    });
    return [out];
  },

  Trilu: ([x], { k, upper }) => {
    const [rows, cols] = x!.shape.slice(-2) as [number, number];
    return [Float64Array.from(x!.data, (v, i) => {
      const diff = (i % cols) - (Math.floor(i / cols) % rows);
      return (upper ? diff >= (k as number) : diff <= (k as number)) ? v : 0;
    })];
  },

  Compress: ([x], { axis, selected }) => {
    const sel = selected as number[];
    if (axis === undefined) return [sel.map((i) => x!.data[i]!)];
    const [outer, n, inner] = axisSplit(x!.shape, axis as number);
    const out: number[] = [];
    for (let o = 0; o < outer; o++) for (const s of sel) for (let i = 0; i < inner; i++) out.push(x!.data[(o * n + s) * inner + i]!);
    return [out];
  },

  DepthToSpace: ([x], { blocksize, mode }, [o]) => {
    const b = blocksize as number;
    const [, c, h, w] = x!.shape as [number, number, number, number];
    const oc = o!.shape[1]!;
    return [Float64Array.from({ length: sizeOf(o!.shape) }, (_, i) => {
      const [n, cc, y, xx] = unravel(i, o!.shape) as [number, number, number, number];
      const [bi, bj] = [y % b, xx % b];
      const ch = mode === 'DCR' ? (bi * b + bj) * oc + cc : cc * b * b + bi * b + bj;
      return x!.data[((n * c + ch) * h + Math.floor(y / b)) * w + Math.floor(xx / b)]!;
    })];
  },

  SpaceToDepth: ([x], { blocksize }, [o]) => {
    const b = blocksize as number;
    const [, c, h, w] = x!.shape as [number, number, number, number];
    return [Float64Array.from({ length: sizeOf(o!.shape) }, (_, i) => {
      const [n, ch, y, xx] = unravel(i, o!.shape) as [number, number, number, number];
      const [blk, cc] = [Math.floor(ch / c), ch % c];
      return x!.data[((n * c + cc) * h + y * b + Math.floor(blk / b)) * w + xx * b + (blk % b)]!;
    })];
  },

  ReverseSequence: ([x, lens], { batch_axis, time_axis }) => {
    const s = strides(x!.shape);
    const [bAxis, tAxis] = [batch_axis as number, time_axis as number];
    return [Float64Array.from({ length: x!.data.length }, (_, i) => {
      const pos = unravel(i, x!.shape);
      const len = lens!.data[pos[bAxis]!]!;
      if (!(len >= 0 && len <= x!.shape[tAxis]!)) throw new RangeError(`ReverseSequence: sequence length ${len} is out of range [0, ${x!.shape[tAxis]}]`);
      if (pos[tAxis]! < len) pos[tAxis] = len - 1 - pos[tAxis]!;
      return x!.data[pos.reduce((acc, p, a) => acc + p * s[a]!, 0)]!;
    })];
  },

  EyeLike: (_, { k }, [o]) => {
    const [rows, cols] = o!.shape as [number, number];
    return [Float64Array.from({ length: rows * cols }, (_, i) => (i % cols) - Math.floor(i / cols) === k ? 1 : 0)];
  },

  Size: ([x]) => [[x!.data.length]],

  Hardmax: ([x], { axis }) =>
    perLine(x!, axis as number, x!.shape[axis as number]!, 1, (line) => {
      const best = line.reduce((b, v, j) => (greater(v, line[b]!) ? j : b), 0);
      return [line.map((_, j) => (j === best ? 1 : 0))];
    }),

  Det: ([x], _, [o]) => {
    const m = x!.shape[x!.shape.length - 1]!;
    const all = Array.from(x!.data);
    return [Float64Array.from({ length: sizeOf(o!.shape) }, (_, b) => det(all.slice(b * m * m, (b + 1) * m * m), m))];
  },

  CumProd: ([x], { axis, exclusive, reverse }) =>
    perLine(x!, axis as number, x!.shape[axis as number]!, 1, (line) => {
      const out = new Array<number>(line.length);
      let p = 1;
      for (let j = 0; j < line.length; j++) {
        const at = reverse ? line.length - 1 - j : j;
        if (exclusive) [out[at], p] = [p, p * line[at]!];
        else out[at] = p *= line[at]!;
      }
      return [out];
    }),

  Dropout: ([x]) => [x!.data, new Float64Array(x!.data.length).fill(1)],

  NonZero: (_, { indices }) => [indices as number[]],

  Unique: (_, attrs, outs) => (['values', 'indices', 'inverse_indices', 'counts'] as const).slice(0, outs.length).map((k) => attrs[k] as number[]),

  NonMaxSuppression: (_, { selected }) => [selected as number[]],
};
