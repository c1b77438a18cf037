/**
 * Indexing, selection and rearrangement ops: GatherElements/GatherND,
 * ScatterElements/ScatterND, TensorScatter (a key/value cache write), TopK, OneHot, Trilu, Compress, DepthToSpace/
 * SpaceToDepth, ReverseSequence, EyeLike, Size, Hardmax, Det, CumProd, Dropout
 * (inference only) and the ops whose output shape depends on input values:
 * NonZero, Unique, NonMaxSuppression.
 *
 * Data-dependent outputs: an input that decides the output shape is declared
 * `value: true`, so the shape rule sees its numbers on the host. Compress folds
 * its condition into the positions to keep (`selected`) and its kernel copies
 * those slices of the data. NonZero, Unique and NonMaxSuppression read every
 * input as a value: the rule computes the whole result and hands it to the
 * kernels as attributes (NonZero `indices`; Unique `values`, `indices`,
 * `inverse_indices`, `counts`; NonMaxSuppression `selected`), which they only
 * copy into the outputs. Values travel as JS numbers, so 64-bit integers beyond
 * 2^53 lose precision there.
 *
 * Dropout runs in inference mode: its output is a view of the data, and the
 * optional mask is all true. Training mode with a ratio > 0 draws random
 * numbers; it is rejected as UNSUPPORTED rather than computed with a generator
 * no other runtime would reproduce.
 */
import { ALL_DTYPES, FLOAT_DTYPES, NUMERIC_DTYPES, type DType } from '../dtype.js';
import { MxError } from '../errors.js';
import { reduceOps } from './reduce.js';
import { defineOp, sizeOf, type InferContext, type InferInput, type InferResult } from './schema.js';
import { axisIn, fmt, inp } from './tensor.js';

const T = ALL_DTYPES;
const IND = ['int32', 'int64'] as const;
const REDUCTIONS = ['none', 'add', 'mul', 'max', 'min'];

/** A string attribute restricted to a set of values. */
function oneOf(ctx: InferContext, name: string, allowed: readonly string[]): string {
  const v = ctx.attrs[name] as string;
  if (!allowed.includes(v)) ctx.fail(`${name} '${v}' is not one of ${allowed.join(', ')}`);
  return v;
}

/** The single number of value input i (a scalar or a 1-element tensor); `dflt` when the optional input is absent or empty. */
function scalarValue(ctx: InferContext, i: number, name: string, dflt?: number): number {
  const v = ctx.value(i);
  if (v === undefined || (v.length === 0 && dflt !== undefined)) {
    if (dflt === undefined) ctx.fail(`input '${name}' is required`);
    return dflt;
  }
  if (v.length !== 1) ctx.fail(`input '${name}' must hold a single value, got shape ${fmt(ctx.inputs[i]!.shape)}`);
  return v[0]!;
}

/** GatherElements/ScatterElements: indices of data's rank, no larger than data off the axis. */
function elementsRule(ctx: InferContext, what: string): number {
  const [x, idx] = [inp(ctx, 0), inp(ctx, 1)];
  const a = axisIn(ctx, ctx.attrs.axis as number, x.shape.length);
  if (idx.shape.length !== x.shape.length) ctx.fail(`indices ${fmt(idx.shape)} must have the rank of data ${fmt(x.shape)}`);
  if (idx.shape.some((d, i) => i !== a && d > x.shape[i]!))
    ctx.fail(`indices ${fmt(idx.shape)} must not exceed data ${fmt(x.shape)} on the axes other than ${what} axis ${a}`);
  return a;
}

/** m = indices.shape[-1], the number of leading data axes an index tuple addresses (after `batch` batch axes). */
function tupleLength(ctx: InferContext, x: InferInput, idx: InferInput, batch: number): number {
  const q = idx.shape.length;
  if (x.shape.length < 1 || q < 1) ctx.fail(`data ${fmt(x.shape)} and indices ${fmt(idx.shape)} must have rank >= 1`);
  const m = idx.shape[q - 1]!;
  if (m < 1 || m > x.shape.length - batch)
    ctx.fail(`indices ${fmt(idx.shape)}: the last dim (${m}) must be in [1, ${x.shape.length - batch}] for data ${fmt(x.shape)}${batch ? ` with batch_dims ${batch}` : ''}`);
  return m;
}

/** DepthToSpace/SpaceToDepth: an N x C x H x W input and a positive blocksize. */
function blockInput(ctx: InferContext): [InferInput, number] {
  const x = inp(ctx, 0);
  const b = ctx.attrs.blocksize as number;
  if (x.shape.length !== 4) ctx.fail(`input must be N x C x H x W (rank 4), got ${fmt(x.shape)}`);
  if (b < 1) ctx.fail(`blocksize must be >= 1, got ${b}`);
  return [x, b];
}

// ---------------------------------------------------------------- data-dependent results

/** Total order for sorting values: NaN after everything, NaNs equal. */
const cmpNum = (a: number, b: number): number => (Number.isNaN(a) ? (Number.isNaN(b) ? 0 : 1) : Number.isNaN(b) ? -1 : a - b);

/** NonZero: the coordinates of the non-zero elements, [rank, count] row-major (a scalar counts as shape [1]). */
function nonZero(x: InferInput, v: readonly number[]): { shape: number[]; indices: number[] } {
  const shape = x.shape.length ? x.shape : [1];
  const hits: number[] = [];
  v.forEach((e, i) => e !== 0 && hits.push(i));
  const indices = new Array<number>(shape.length * hits.length);
  hits.forEach((flat, j) => {
    for (let a = shape.length - 1; a >= 0; a--) {
      indices[a * hits.length + j] = flat % shape[a]!;
      flat = Math.floor(flat / shape[a]!);
    }
  });
  return { shape: [shape.length, hits.length], indices };
}

/**
 * Unique over slices along `axis` (elements when axis is undefined): slices are
 * compared lexicographically in row-major order; sorted=1 orders the result
 * ascending, sorted=0 by first occurrence.
 */
function unique(x: InferInput, v: readonly number[], axis: number | undefined, sorted: boolean) {
  const [outer, n, inner] = axis === undefined ? [1, v.length, 1] : [sizeOf(x.shape.slice(0, axis)), x.shape[axis]!, sizeOf(x.shape.slice(axis + 1))];
  const slice = (k: number) => Array.from({ length: outer * inner }, (_, j) => v[(Math.floor(j / inner) * n + k) * inner + (j % inner)]!);
  const slices = Array.from({ length: n }, (_, k) => slice(k));
  const cmp = (a: number[], b: number[]) => {
    for (let j = 0; j < a.length; j++) {
      const c = cmpNum(a[j]!, b[j]!);
      if (c !== 0) return c;
    }
    return 0;
  };
  // first occurrence of each distinct slice, in input order
  const first: number[] = [];
  const inverse = new Array<number>(n);
  const seen = new Map<string, number>();
  slices.forEach((s, k) => {
    const key = s.map((e) => (Number.isNaN(e) ? 'NaN' : String(e))).join(',');
    let u = seen.get(key);
    if (u === undefined) seen.set(key, (u = first.push(k) - 1));
    inverse[k] = u;
  });
  const order = first.map((_, u) => u);
  if (sorted) order.sort((p, q) => cmp(slices[first[p]!]!, slices[first[q]!]!));
  const rank = new Array<number>(order.length);
  order.forEach((u, r) => (rank[u] = r));
  const counts = new Array<number>(order.length).fill(0);
  for (const u of inverse) counts[rank[u]!]!++;
  const u = order.length;
  const values = new Array<number>(outer * u * inner);
  order.forEach((uo, r) => {
    const s = slices[first[uo]!]!;
    for (let j = 0; j < s.length; j++) values[(Math.floor(j / inner) * u + r) * inner + (j % inner)] = s[j]!;
  });
  const shape = axis === undefined ? [u] : x.shape.map((d, i) => (i === axis ? u : d));
  return { shape, values, indices: order.map((uo) => first[uo]!), inverse_indices: inverse.map((k) => rank[k]!), counts };
}

/**
 * NonMaxSuppression per batch and class: candidates with score > score_threshold
 * (all when absent) by descending score, ties to the lower box index; a candidate
 * is kept unless its IoU with a kept box exceeds iou_threshold. Boxes are corners
 * [y1, x1, y2, x2] in any order, or [x_center, y_center, width, height].
 */
function nonMaxSuppression(ctx: InferContext): number[] {
  const boxes = ctx.value(0)!;
  const scores = ctx.value(1)!;
  const [nb, nbox] = inp(ctx, 0).shape as [number, number];
  const nc = inp(ctx, 1).shape[1]!;
  const maxOut = Math.max(0, scalarValue(ctx, 2, 'max_output_boxes_per_class', 0));
  const iouMax = scalarValue(ctx, 3, 'iou_threshold', 0);
  const minScore = ctx.value(4)?.length ? scalarValue(ctx, 4, 'score_threshold') : undefined;
  const center = ctx.attrs.center_point_box === 1;
  /** [ymin, xmin, ymax, xmax] of box i of batch b. */
  const corners = (b: number, i: number): number[] => {
    const [p, q, r, s] = boxes.slice((b * nbox + i) * 4, (b * nbox + i) * 4 + 4) as [number, number, number, number];
    if (center) return [q - s / 2, p - r / 2, q + s / 2, p + r / 2];
    return [Math.min(p, r), Math.min(q, s), Math.max(p, r), Math.max(q, s)];
  };
  const suppresses = (a: number[], c: number[]): boolean => {
    const h = Math.min(a[2]!, c[2]!) - Math.max(a[0]!, c[0]!);
    const w = Math.min(a[3]!, c[3]!) - Math.max(a[1]!, c[1]!);
    if (h <= 0 || w <= 0) return false;
    const inter = h * w;
    const areaA = (a[2]! - a[0]!) * (a[3]! - a[1]!);
    const areaC = (c[2]! - c[0]!) * (c[3]! - c[1]!);
    return inter / (areaA + areaC - inter) > iouMax;
  };
  const out: number[] = [];
  for (let b = 0; b < nb; b++)
    for (let c = 0; c < nc; c++) {
      const s = scores.slice((b * nc + c) * nbox, (b * nc + c + 1) * nbox);
      const cand = s.map((_, i) => i).filter((i) => minScore === undefined || s[i]! > minScore);
      cand.sort((i, j) => s[j]! - s[i]! || i - j);
      const kept: number[][] = [];
      for (const i of cand) {
        if (kept.length >= maxOut) break;
        const box = corners(b, i);
        if (kept.some((k) => suppresses(k, box))) continue;
        kept.push(box);
        out.push(b, c, i);
      }
    }
  return out;
}

// ---------------------------------------------------------------- the ops

export const indexingOps = {
  TensorScatter: defineOp({
    name: 'TensorScatter',
    doc: "A copy of past_cache where, per batch entry b, the slices of update along `axis` are written from position write_indices[b] (0 when absent) on; mode 'circular' wraps positions around the axis.",
    inputs: [{ name: 'past_cache', type: 'T' }, { name: 'update', type: 'T' }, { name: 'write_indices', type: 'int64', optional: true }],
    outputs: [{ name: 'present_cache', type: 'T' }],
    attrs: { axis: { type: 'int', default: -2 }, mode: { type: 'string', default: 'linear' } },
    types: { T },
    infer(ctx) {
      oneOf(ctx, 'mode', ['linear', 'circular']);
      const [past, upd] = [inp(ctx, 0), inp(ctx, 1)];
      const rank = past.shape.length;
      const axis = rank < 2 ? ctx.fail(`past_cache must have rank >= 2, got ${fmt(past.shape)}`) : axisIn(ctx, ctx.attrs.axis as number, rank);
      if (axis === 0) ctx.fail('axis must not be the batch axis 0');
      if (upd.dtype !== past.dtype) ctx.fail('past_cache and update must have the same dtype');
      if (upd.shape.length !== rank || upd.shape.some((d, i) => (i === axis ? d > past.shape[i]! : d !== past.shape[i])))
        ctx.fail(`update ${fmt(upd.shape)} must have past_cache's shape ${fmt(past.shape)} except along axis ${axis}, where it may be shorter`);
      const w = ctx.inputs[2];
      if (w && fmt(w.shape) !== fmt([past.shape[0]!])) ctx.fail(`write_indices must have shape [${past.shape[0]}] (the batch size), got ${fmt(w.shape)}`);
      return { outputs: [{ shape: past.shape.slice(), dtype: past.dtype }], attrs: { axis } };
    },
  }),
  GatherElements: defineOp({
    name: 'GatherElements',
    doc: 'Y has the shape of indices; Y[i][j][k] = data[indices[i][j][k]][j][k] for axis 0 (likewise for other axes); negative indices count from the end.',
    inputs: [{ name: 'data', type: 'T' }, { name: 'indices', type: 'Tind' }],
    outputs: [{ name: 'output', type: 'T' }],
    attrs: { axis: { type: 'int', default: 0 } },
    types: { T, Tind: IND },
    infer(ctx) {
      const axis = elementsRule(ctx, 'the gather');
      return { outputs: [{ shape: inp(ctx, 1).shape.slice(), dtype: inp(ctx, 0).dtype }], attrs: { axis } };
    },
  }),

  GatherND: defineOp({
    name: 'GatherND',
    doc: 'Gathers slices of data addressed by the index tuples in the last dim of indices (after batch_dims shared leading dims); output: indices.shape[:-1] + data.shape[batch_dims + m:].',
    inputs: [{ name: 'data', type: 'T' }, { name: 'indices', type: 'int64' }],
    outputs: [{ name: 'output', type: 'T' }],
    attrs: { batch_dims: { type: 'int', default: 0 } },
    types: { T },
    fn: 'gatherND',
    infer(ctx) {
      const [x, idx] = [inp(ctx, 0), inp(ctx, 1)];
      const b = ctx.attrs.batch_dims as number;
      if (b < 0 || b >= Math.min(x.shape.length, idx.shape.length))
        ctx.fail(`batch_dims ${b} must be in [0, ${Math.min(x.shape.length, idx.shape.length)}) for data ${fmt(x.shape)} and indices ${fmt(idx.shape)}`);
      if (x.shape.slice(0, b).some((d, i) => d !== idx.shape[i])) ctx.fail(`the first ${b} dims of data ${fmt(x.shape)} and indices ${fmt(idx.shape)} must match`);
      const m = tupleLength(ctx, x, idx, b);
      return { outputs: [{ shape: [...idx.shape.slice(0, -1), ...x.shape.slice(b + m)], dtype: x.dtype }] };
    },
  }),

  ScatterElements: defineOp({
    name: 'ScatterElements',
    doc: "A copy of data where output[indices[i][j]][j] = updates[i][j] for axis 0 (likewise for other axes), or combined with it by reduction 'add', 'mul', 'max' or 'min'.",
    inputs: [{ name: 'data', type: 'T' }, { name: 'indices', type: 'Tind' }, { name: 'updates', type: 'T' }],
    outputs: [{ name: 'output', type: 'T' }],
    attrs: { axis: { type: 'int', default: 0 }, reduction: { type: 'string', default: 'none' } },
    types: { T, Tind: IND },
    infer(ctx) {
      oneOf(ctx, 'reduction', REDUCTIONS);
      const axis = elementsRule(ctx, 'the scatter');
      if (fmt(inp(ctx, 2).shape) !== fmt(inp(ctx, 1).shape)) ctx.fail(`updates ${fmt(inp(ctx, 2).shape)} must have the shape of indices ${fmt(inp(ctx, 1).shape)}`);
      return { outputs: [{ shape: inp(ctx, 0).shape.slice(), dtype: inp(ctx, 0).dtype }], attrs: { axis } };
    },
  }),

  ScatterND: defineOp({
    name: 'ScatterND',
    doc: "A copy of data where the slices addressed by the index tuples in the last dim of indices are replaced by updates, or combined with them by reduction 'add', 'mul', 'max' or 'min'.",
    inputs: [{ name: 'data', type: 'T' }, { name: 'indices', type: 'int64' }, { name: 'updates', type: 'T' }],
    outputs: [{ name: 'output', type: 'T' }],
    attrs: { reduction: { type: 'string', default: 'none' } },
    types: { T },
    fn: 'scatterND',
    infer(ctx) {
      oneOf(ctx, 'reduction', REDUCTIONS);
      const [x, idx, upd] = [inp(ctx, 0), inp(ctx, 1), inp(ctx, 2)];
      const m = tupleLength(ctx, x, idx, 0);
      const want = [...idx.shape.slice(0, -1), ...x.shape.slice(m)];
      if (fmt(upd.shape) !== fmt(want)) ctx.fail(`updates must have shape ${fmt(want)} (indices.shape[:-1] + data.shape[${m}:]), got ${fmt(upd.shape)}`);
      return { outputs: [{ shape: x.shape.slice(), dtype: x.dtype }] };
    },
  }),

  TopK: defineOp({
    name: 'TopK',
    doc: 'The k largest (largest=1) or smallest elements along axis and their int64 indices, best first; equal values keep the lower index first, NaN counts as the largest.',
    inputs: [{ name: 'X', type: 'T' }, { name: 'K', type: 'int64', value: true }],
    outputs: [{ name: 'Values', type: 'T' }, { name: 'Indices', type: 'int64' }],
    attrs: { axis: { type: 'int', default: -1 }, largest: { type: 'int', default: 1 }, sorted: { type: 'int', default: 1 } },
    types: { T: NUMERIC_DTYPES },
    fn: 'topK',
    infer(ctx) {
      const x = inp(ctx, 0);
      const axis = axisIn(ctx, ctx.attrs.axis as number, x.shape.length);
      const k = scalarValue(ctx, 1, 'K');
      if (!Number.isInteger(k) || k < 0 || k > x.shape[axis]!) ctx.fail(`K ${k} must be in [0, ${x.shape[axis]}], the size of axis ${axis} of ${fmt(x.shape)}`);
      const shape = x.shape.map((d, i) => (i === axis ? k : d));
      return { outputs: [{ shape, dtype: x.dtype }, { shape: shape.slice(), dtype: 'int64' }], attrs: { axis, k } };
    },
  }),

  OneHot: defineOp({
    name: 'OneHot',
    doc: 'Inserts a new axis of size depth at `axis`: on_value where it equals the index (negative indices count from the end), off_value elsewhere; values = [off_value, on_value].',
    inputs: [{ name: 'indices', type: 'T1' }, { name: 'depth', type: 'T2', value: true }, { name: 'values', type: 'T3' }],
    outputs: [{ name: 'output', type: 'T3' }],
    attrs: { axis: { type: 'int', default: -1 } },
    types: { T1: NUMERIC_DTYPES, T2: NUMERIC_DTYPES, T3: T },
    fn: 'oneHot',
    infer(ctx) {
      const [idx, values] = [inp(ctx, 0), inp(ctx, 2)];
      const r = idx.shape.length;
      const axis = ctx.attrs.axis as number;
      if (!(axis >= -r - 1 && axis <= r)) ctx.fail(`axis ${axis} is out of range [${-r - 1}, ${r}] for indices ${fmt(idx.shape)}`);
      const a = axis < 0 ? axis + r + 1 : axis;
      // a non-integer depth is truncated, as ONNX casts it to int64
      const depth = Math.trunc(scalarValue(ctx, 1, 'depth'));
      if (!(depth >= 1)) ctx.fail(`depth must be >= 1, got ${ctx.value(1)![0]}`);
      if (sizeOf(values.shape) !== 2 || values.shape.length > 1) ctx.fail(`values must be [off_value, on_value] (shape [2]), got ${fmt(values.shape)}`);
      return { outputs: [{ shape: [...idx.shape.slice(0, a), depth, ...idx.shape.slice(a)], dtype: values.dtype }], attrs: { axis: a, depth } };
    },
  }),

  Trilu: defineOp({
    name: 'Trilu',
    doc: 'Keeps the upper (upper=1: column - row >= k) or lower (column - row <= k) triangle of the last two dims and zeroes the rest.',
    inputs: [{ name: 'input', type: 'T' }, { name: 'k', type: 'int64', optional: true, value: true }],
    outputs: [{ name: 'output', type: 'T' }],
    attrs: { upper: { type: 'int', default: 1 } },
    types: { T },
    infer(ctx) {
      const x = inp(ctx, 0);
      if (x.shape.length < 2) ctx.fail(`input must have rank >= 2, got ${fmt(x.shape)}`);
      const k = scalarValue(ctx, 1, 'k', 0);
      if (!Number.isInteger(k)) ctx.fail(`k must be an integer, got ${k}`);
      return { outputs: [{ shape: x.shape.slice(), dtype: x.dtype }], attrs: { k } };
    },
  }),

  Compress: defineOp({
    name: 'Compress',
    doc: 'Keeps the slices along axis (of the flattened input when axis is absent) where condition is true; condition may be shorter than the axis.',
    inputs: [{ name: 'input', type: 'T' }, { name: 'condition', type: 'bool', value: true }],
    outputs: [{ name: 'output', type: 'T' }],
    attrs: { axis: { type: 'int' } },
    types: { T },
    infer(ctx): InferResult {
      const x = inp(ctx, 0);
      const cond = ctx.value(1)!;
      if (inp(ctx, 1).shape.length !== 1) ctx.fail(`condition must be 1-D, got ${fmt(inp(ctx, 1).shape)}`);
      const given = ctx.attrs.axis as number | undefined;
      const axis = given === undefined ? undefined : axisIn(ctx, given, x.shape.length);
      const n = axis === undefined ? sizeOf(x.shape) : x.shape[axis]!;
      if (cond.length > n) ctx.fail(`condition has ${cond.length} values but ${axis === undefined ? 'the input has' : `axis ${axis} has`} ${n} elements`);
      const selected = cond.flatMap((c, i) => (c ? [i] : []));
      const shape = axis === undefined ? [selected.length] : x.shape.map((d, i) => (i === axis ? selected.length : d));
      return { outputs: [{ shape, dtype: x.dtype }], attrs: axis === undefined ? { selected } : { selected, axis } };
    },
  }),

  DepthToSpace: defineOp({
    name: 'DepthToSpace',
    doc: "Moves blocks of channels into blocksize x blocksize spatial blocks: [N,C,H,W] to [N,C/b^2,H*b,W*b]; mode 'DCR' (depth-column-row) or 'CRD' (column-row-depth).",
    inputs: [{ name: 'input', type: 'T' }],
    outputs: [{ name: 'output', type: 'T' }],
    attrs: { blocksize: { type: 'int', required: true }, mode: { type: 'string', default: 'DCR' } },
    types: { T },
    infer(ctx) {
      const [x, b] = blockInput(ctx);
      oneOf(ctx, 'mode', ['DCR', 'CRD']);
      const [n, c, h, w] = x.shape as [number, number, number, number];
      if (c % (b * b) !== 0) ctx.fail(`channels (${c}) of ${fmt(x.shape)} must be divisible by blocksize^2 (${b * b})`);
      return { outputs: [{ shape: [n, c / (b * b), h * b, w * b], dtype: x.dtype }] };
    },
  }),

  SpaceToDepth: defineOp({
    name: 'SpaceToDepth',
    doc: 'Moves blocksize x blocksize spatial blocks into channels: [N,C,H,W] to [N,C*b^2,H/b,W/b] (the inverse of DepthToSpace in DCR mode).',
    inputs: [{ name: 'input', type: 'T' }],
    outputs: [{ name: 'output', type: 'T' }],
    attrs: { blocksize: { type: 'int', required: true } },
    types: { T },
    infer(ctx) {
      const [x, b] = blockInput(ctx);
      const [n, c, h, w] = x.shape as [number, number, number, number];
      if (h % b !== 0 || w % b !== 0) ctx.fail(`height and width of ${fmt(x.shape)} must be divisible by blocksize ${b}`);
      return { outputs: [{ shape: [n, c * b * b, h / b, w / b], dtype: x.dtype }] };
    },
  }),

  ReverseSequence: defineOp({
    name: 'ReverseSequence',
    doc: 'Reverses the first sequence_lens[i] elements along time_axis of every batch entry i (along batch_axis); the rest is copied.',
    inputs: [{ name: 'input', type: 'T' }, { name: 'sequence_lens', type: 'int64' }],
    outputs: [{ name: 'Y', type: 'T' }],
    attrs: { batch_axis: { type: 'int', default: 1 }, time_axis: { type: 'int', default: 0 } },
    types: { T },
    infer(ctx) {
      const [x, lens] = [inp(ctx, 0), inp(ctx, 1)];
      const [b, t] = [ctx.attrs.batch_axis as number, ctx.attrs.time_axis as number];
      if (x.shape.length < 2) ctx.fail(`input must have rank >= 2, got ${fmt(x.shape)}`);
      if (![0, 1].includes(b) || ![0, 1].includes(t) || b === t) ctx.fail(`batch_axis ${b} and time_axis ${t} must be 0 and 1 in some order`);
      if (lens.shape.length !== 1 || lens.shape[0] !== x.shape[b]) ctx.fail(`sequence_lens must have shape [${x.shape[b]}] (the batch size), got ${fmt(lens.shape)}`);
      return { outputs: [{ shape: x.shape.slice(), dtype: x.dtype }] };
    },
  }),

  EyeLike: defineOp({
    name: 'EyeLike',
    doc: 'A 2-D tensor of the shape of input with ones on the k-th diagonal (k > 0 above the main one) and zeros elsewhere, of dtype `dtype` (default: the input dtype).',
    inputs: [{ name: 'input', type: 'T1' }],
    outputs: [{ name: 'output', type: 'T2' }],
    attrs: { dtype: { type: 'dtype' }, k: { type: 'int', default: 0 } },
    types: { T1: T, T2: T },
    infer(ctx) {
      const x = inp(ctx, 0);
      if (x.shape.length !== 2) ctx.fail(`input must be 2-D, got ${fmt(x.shape)}`);
      return { outputs: [{ shape: x.shape.slice(), dtype: (ctx.attrs.dtype as DType | undefined) ?? x.dtype }] };
    },
  }),

  Size: defineOp({
    name: 'Size',
    doc: 'The number of elements of data, as an int64 scalar.',
    inputs: [{ name: 'data', type: 'T' }],
    outputs: [{ name: 'size', type: 'int64' }],
    types: { T },
    method: false, // Tensor#size is the element count property
    infer: () => ({ outputs: [{ shape: [], dtype: 'int64' }] }),
  }),

  Hardmax: defineOp({
    name: 'Hardmax',
    doc: '1 at the first largest element along axis (NaN counts as the largest), 0 elsewhere.',
    inputs: [{ name: 'input', type: 'T' }],
    outputs: [{ name: 'output', type: 'T' }],
    attrs: { axis: { type: 'int', default: -1 } },
    types: { T: FLOAT_DTYPES },
    infer(ctx) {
      const x = inp(ctx, 0);
      return { outputs: [{ shape: x.shape.slice(), dtype: x.dtype }], attrs: { axis: axisIn(ctx, ctx.attrs.axis as number, x.shape.length) } };
    },
  }),

  Det: defineOp({
    name: 'Det',
    doc: 'Determinant of the square matrices in the last two dims; output: X.shape[:-2].',
    inputs: [{ name: 'X', type: 'T' }],
    outputs: [{ name: 'Y', type: 'T' }],
    types: { T: FLOAT_DTYPES },
    infer(ctx) {
      const x = inp(ctx, 0);
      const r = x.shape.length;
      if (r < 2 || x.shape[r - 1] !== x.shape[r - 2]) ctx.fail(`X must be [..., M, M] (square matrices), got ${fmt(x.shape)}`);
      return { outputs: [{ shape: x.shape.slice(0, -2), dtype: x.dtype }] };
    },
  }),

  CumProd: defineOp({
    ...reduceOps.CumSum,
    name: 'CumProd',
    doc: 'Cumulative product along axis; exclusive=1 leaves out the current element (the first output is 1), reverse=1 multiplies from the end.',
  }),

  Dropout: defineOp({
    name: 'Dropout',
    doc: 'Inference-mode dropout: output = data (a view) and an all-true mask; training_mode with ratio > 0 is random and unsupported.',
    inputs: [
      { name: 'data', type: 'T' },
      { name: 'ratio', type: 'T1', optional: true, value: true },
      { name: 'training_mode', type: 'bool', optional: true, value: true },
    ],
    outputs: [{ name: 'output', type: 'T' }, { name: 'mask', type: 'bool', optional: true }],
    attrs: { seed: { type: 'int' } },
    types: { T: FLOAT_DTYPES, T1: FLOAT_DTYPES },
    infer(ctx): InferResult {
      const x = inp(ctx, 0);
      const ratio = scalarValue(ctx, 1, 'ratio', 0.5);
      if (!(ratio >= 0 && ratio < 1)) ctx.fail(`ratio must be in [0, 1), got ${ratio}`);
      if (scalarValue(ctx, 2, 'training_mode', 0) && ratio > 0)
        throw new MxError('UNSUPPORTED', `Dropout: training_mode with ratio ${ratio} drops random elements, which mx does not compute`, {
          op: 'Dropout',
          hint: 'run in inference mode (training_mode false or absent), or with ratio 0',
        });
      const out = { shape: x.shape.slice(), dtype: x.dtype };
      if (ctx.numOutputs < 2) return { outputs: [out], viewOf: 0 };
      return { outputs: [out, { shape: x.shape.slice(), dtype: 'bool' }] };
    },
  }),

  NonZero: defineOp({
    name: 'NonZero',
    doc: 'The indices of the non-zero elements as an int64 [rank, count] tensor, in row-major order (a scalar is treated as shape [1]).',
    inputs: [{ name: 'X', type: 'T', value: true }],
    outputs: [{ name: 'Y', type: 'int64' }],
    types: { T },
    fn: 'nonZero',
    infer(ctx) {
      const { shape, indices } = nonZero(inp(ctx, 0), ctx.value(0)!);
      return { outputs: [{ shape, dtype: 'int64' }], attrs: { indices } };
    },
  }),

  Unique: defineOp({
    name: 'Unique',
    doc: 'The distinct elements (or slices along axis) of X, ascending with sorted=1 or in order of first occurrence; optional int64 outputs: first-occurrence indices, inverse indices, counts.',
    inputs: [{ name: 'X', type: 'T', value: true }],
    outputs: [
      { name: 'Y', type: 'T' },
      { name: 'indices', type: 'int64', optional: true },
      { name: 'inverse_indices', type: 'int64', optional: true },
      { name: 'counts', type: 'int64', optional: true },
    ],
    attrs: { axis: { type: 'int' }, sorted: { type: 'int', default: 1 } },
    types: { T },
    infer(ctx) {
      const x = inp(ctx, 0);
      const given = ctx.attrs.axis as number | undefined;
      const axis = given === undefined ? undefined : axisIn(ctx, given, x.shape.length);
      const u = unique(x, ctx.value(0)!, axis, ctx.attrs.sorted !== 0);
      const outputs = [
        { shape: u.shape, dtype: x.dtype },
        { shape: [u.indices.length], dtype: 'int64' as const },
        { shape: [u.inverse_indices.length], dtype: 'int64' as const },
        { shape: [u.counts.length], dtype: 'int64' as const },
      ].slice(0, ctx.numOutputs);
      return { outputs, attrs: { values: u.values, indices: u.indices, inverse_indices: u.inverse_indices, counts: u.counts } };
    },
  }),

  NonMaxSuppression: defineOp({
    name: 'NonMaxSuppression',
    doc: 'Greedy non-maximum suppression per batch and class; returns int64 [num_selected, 3] rows (batch, class, box). center_point_box=1 reads boxes as [x_center, y_center, width, height].',
    inputs: [
      { name: 'boxes', type: 'float32', value: true },
      { name: 'scores', type: 'float32', value: true },
      { name: 'max_output_boxes_per_class', type: 'int64', optional: true, value: true },
      { name: 'iou_threshold', type: 'float32', optional: true, value: true },
      { name: 'score_threshold', type: 'float32', optional: true, value: true },
    ],
    outputs: [{ name: 'selected_indices', type: 'int64' }],
    attrs: { center_point_box: { type: 'int', default: 0 } },
    types: {},
    infer(ctx) {
      const [boxes, scores] = [inp(ctx, 0), inp(ctx, 1)];
      if (boxes.shape.length !== 3 || boxes.shape[2] !== 4) ctx.fail(`boxes must be [num_batches, num_boxes, 4], got ${fmt(boxes.shape)}`);
      if (scores.shape.length !== 3 || scores.shape[0] !== boxes.shape[0] || scores.shape[2] !== boxes.shape[1])
        ctx.fail(`scores must be [num_batches, num_classes, num_boxes] = [${boxes.shape[0]}, C, ${boxes.shape[1]}], got ${fmt(scores.shape)}`);
      if (![0, 1].includes(ctx.attrs.center_point_box as number)) ctx.fail(`center_point_box must be 0 or 1, got ${ctx.attrs.center_point_box}`);
      const selected = nonMaxSuppression(ctx);
      return { outputs: [{ shape: [selected.length / 3, 3], dtype: 'int64' }], attrs: { selected } };
    },
  }),
};
