/**
 * Shape and data-movement ops. Reshape, Flatten, Squeeze, Unsqueeze and Identity
 * are views (no kernel); the others copy. Value inputs (shapes, pads, slice
 * bounds...) are folded here into the attributes the kernels read, following the
 * conventions of the reference kernels in ../reference/tensor.ts.
 */
import { ALL_DTYPES } from '../dtype.js';
import { broadcastShapes, defineOp, normAxis, sizeOf, type InferContext, type InferInput } from './schema.js';

// ---------------------------------------------------------------- rule helpers (also used by nn.ts)

/** `[2,3]`: how messages print shapes and int lists. */
export const fmt = (s: readonly number[]): string => `[${s.join(',')}]`;

/** Input i, which the engine guarantees present (a required input). */
export const inp = (ctx: InferContext, i: number): InferInput => ctx.inputs[i]!;

/** Axis of an op that needs rank >= 1 (normAxis accepts axis 0 on scalars, for reductions). */
export function axisIn(ctx: InferContext, axis: number, rank: number, name = 'axis'): number {
  if (rank === 0) ctx.fail(`${name} ${axis} is out of range: the input is a scalar`);
  return normAxis(ctx, axis, rank, name);
}

/** Integer values of value input i; `undefined` when the optional input is absent. */
export function intValues(ctx: InferContext, i: number, name: string, required: true): number[];
export function intValues(ctx: InferContext, i: number, name: string, required?: boolean): number[] | undefined;
export function intValues(ctx: InferContext, i: number, name: string, required = false): number[] | undefined {
  const v = ctx.value(i);
  if (v === undefined) {
    if (required) ctx.fail(`input '${name}' is required`);
    return undefined;
  }
  const t = ctx.inputs[i];
  if (t && t.shape.length > 1) ctx.fail(`input '${name}' must be 1-D, got shape ${fmt(t.shape)}`);
  if (!v.every(Number.isInteger)) ctx.fail(`input '${name}' must hold integers, got ${fmt(v)}`);
  return v;
}

/** Normalizes a list of axes against `rank`, rejecting duplicates. */
export function uniqueAxes(ctx: InferContext, axes: readonly number[], rank: number, name = 'axes'): number[] {
  const out = axes.map((a) => axisIn(ctx, a, rank, `${name} value`));
  if (new Set(out).size !== out.length) ctx.fail(`${name} ${fmt(axes)} has duplicates`);
  return out;
}

const T = ALL_DTYPES;
const IND = ['int32', 'int64'] as const;
const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);

export const tensorOps = {
  Reshape: defineOp({
    name: 'Reshape',
    doc: 'Gives data a new shape with the same element count (0 copies the input dim unless allowzero=1; one -1 is inferred); a view.',
    inputs: [{ name: 'data', type: 'T' }, { name: 'shape', type: 'int64', value: true }],
    outputs: [{ name: 'reshaped', type: 'T' }],
    attrs: { allowzero: { type: 'int', default: 0 } },
    types: { T },
    infer(ctx) {
      const x = inp(ctx, 0);
      const spec = intValues(ctx, 1, 'shape', true);
      const keepZero = ctx.attrs.allowzero === 1;
      const out: number[] = [];
      let inferred = -1;
      spec.forEach((d, i) => {
        if (d === -1) {
          if (inferred >= 0) ctx.fail(`shape ${fmt(spec)} has more than one -1`);
          inferred = i;
          out.push(1);
        } else if (d === 0 && !keepZero) {
          if (i >= x.shape.length) ctx.fail(`shape ${fmt(spec)}: the 0 at index ${i} copies a dim that the input ${fmt(x.shape)} lacks`);
          out.push(x.shape[i]!);
        } else if (d < 0) ctx.fail(`shape ${fmt(spec)} has a negative dim other than -1`);
        else out.push(d);
      });
      const total = sizeOf(x.shape);
      if (inferred >= 0) {
        const known = sizeOf(out);
        if (known === 0 || total % known !== 0)
          ctx.fail(`cannot reshape ${fmt(x.shape)} (${total} elements) to ${fmt(spec)}: the -1 cannot be inferred`);
        out[inferred] = total / known;
      } else if (sizeOf(out) !== total)
        ctx.fail(`cannot reshape ${fmt(x.shape)} (${total} elements) to ${fmt(out)} (${sizeOf(out)} elements)`);
      return { outputs: [{ shape: out, dtype: x.dtype }], viewOf: 0 };
    },
  }),

  Flatten: defineOp({
    name: 'Flatten',
    doc: 'Flattens input to 2-D: dims before `axis` become rows, the rest columns; a view.',
    inputs: [{ name: 'input', type: 'T' }],
    outputs: [{ name: 'output', type: 'T' }],
    attrs: { axis: { type: 'int', default: 1 } },
    types: { T },
    infer(ctx) {
      const x = inp(ctx, 0);
      const r = x.shape.length;
      const axis = ctx.attrs.axis as number;
      // Flatten accepts axis == rank (all dims become rows).
      if (axis < -r || axis > r) ctx.fail(`axis ${axis} is out of range [-${r}, ${r}]`);
      const a = axis < 0 ? axis + r : axis;
      const shape = [sizeOf(x.shape.slice(0, a)), sizeOf(x.shape.slice(a))];
      return { outputs: [{ shape, dtype: x.dtype }], attrs: { axis: a }, viewOf: 0 };
    },
  }),

  Squeeze: defineOp({
    name: 'Squeeze',
    doc: 'Removes the size-1 dims listed in `axes` (all size-1 dims when absent); a view.',
    inputs: [{ name: 'data', type: 'T' }, { name: 'axes', type: 'int64', optional: true, value: true }],
    outputs: [{ name: 'squeezed', type: 'T' }],
    types: { T },
    infer(ctx) {
      const x = inp(ctx, 0);
      const given = intValues(ctx, 1, 'axes');
      const axes = given ? uniqueAxes(ctx, given, x.shape.length) : x.shape.flatMap((d, i) => (d === 1 ? [i] : []));
      for (const a of axes) if (x.shape[a] !== 1) ctx.fail(`cannot squeeze axis ${a} of ${fmt(x.shape)}: its size is not 1`);
      return { outputs: [{ shape: x.shape.filter((_, i) => !axes.includes(i)), dtype: x.dtype }], viewOf: 0 };
    },
  }),

  Unsqueeze: defineOp({
    name: 'Unsqueeze',
    doc: 'Inserts size-1 dims at `axes` (positions in the output); a view.',
    inputs: [{ name: 'data', type: 'T' }, { name: 'axes', type: 'int64', value: true }],
    outputs: [{ name: 'expanded', type: 'T' }],
    types: { T },
    infer(ctx) {
      const x = inp(ctx, 0);
      const given = intValues(ctx, 1, 'axes', true);
      const r = x.shape.length + given.length;
      const axes = uniqueAxes(ctx, given, r);
      const rest = x.shape[Symbol.iterator]();
      const shape = Array.from({ length: r }, (_, i) => (axes.includes(i) ? 1 : rest.next().value!));
      return { outputs: [{ shape, dtype: x.dtype }], viewOf: 0 };
    },
  }),

  Identity: defineOp({
    name: 'Identity',
    doc: 'Returns its input unchanged; a view.',
    inputs: [{ name: 'input', type: 'T' }],
    outputs: [{ name: 'output', type: 'T' }],
    types: { T },
    infer(ctx) {
      const x = inp(ctx, 0);
      return { outputs: [{ shape: x.shape.slice(), dtype: x.dtype }], viewOf: 0 };
    },
  }),

  Transpose: defineOp({
    name: 'Transpose',
    doc: 'Permutes dims: output dim i is input dim perm[i] (default: reversed).',
    inputs: [{ name: 'data', type: 'T' }],
    outputs: [{ name: 'transposed', type: 'T' }],
    attrs: { perm: { type: 'ints' } },
    types: { T },
    infer(ctx) {
      const x = inp(ctx, 0);
      const r = x.shape.length;
      const perm = (ctx.attrs.perm as number[] | undefined) ?? x.shape.map((_, i) => r - 1 - i);
      const ok = perm.length === r && perm.every((p, i) => Number.isInteger(p) && p >= 0 && p < r && perm.indexOf(p) === i);
      if (!ok) ctx.fail(`perm ${fmt(perm)} is not a permutation of the ${r} axes of ${fmt(x.shape)}`);
      return { outputs: [{ shape: perm.map((p) => x.shape[p]!), dtype: x.dtype }], attrs: { perm } };
    },
  }),

  Concat: defineOp({
    name: 'Concat',
    doc: 'Joins tensors of equal rank along `axis`; the other dims must match.',
    inputs: [{ name: 'inputs', type: 'T', variadic: true }],
    outputs: [{ name: 'concat_result', type: 'T' }],
    attrs: { axis: { type: 'int', required: true } },
    types: { T },
    method: false,
    infer(ctx) {
      const xs = ctx.inputs as InferInput[];
      if (xs.length === 0) ctx.fail('needs at least one input');
      const first = xs[0]!.shape;
      if (xs.some((t) => t.shape.length !== first.length))
        ctx.fail(`inputs must have the same rank, got ${xs.map((t) => fmt(t.shape)).join(', ')}`);
      const a = axisIn(ctx, ctx.attrs.axis as number, first.length);
      const shape = first.slice();
      shape[a] = 0;
      for (const t of xs) {
        if (t.shape.some((d, i) => i !== a && d !== first[i]))
          ctx.fail(`dims other than axis ${a} must match, got ${xs.map((u) => fmt(u.shape)).join(', ')}`);
        shape[a] += t.shape[a]!;
      }
      return { outputs: [{ shape, dtype: xs[0]!.dtype }], attrs: { axis: a } };
    },
  }),

  Split: defineOp({
    name: 'Split',
    doc: 'Splits input along `axis` into parts of sizes `split`, or num_outputs nearly equal parts (the last one smaller).',
    inputs: [{ name: 'input', type: 'T' }, { name: 'split', type: 'int64', optional: true, value: true }],
    outputs: [{ name: 'outputs', type: 'T', variadic: true }],
    attrs: { axis: { type: 'int', default: 0 }, num_outputs: { type: 'int' } },
    types: { T },
    infer(ctx) {
      const x = inp(ctx, 0);
      const a = axisIn(ctx, ctx.attrs.axis as number, x.shape.length);
      const d = x.shape[a]!;
      const n = ctx.attrs.num_outputs as number | undefined;
      let split = intValues(ctx, 1, 'split');
      if (split && n !== undefined) ctx.fail('give either the split input or num_outputs, not both');
      if (split) {
        if (split.some((s) => s < 0)) ctx.fail(`split ${fmt(split)} has a negative size`);
        if (split.reduce((s, v) => s + v, 0) !== d) ctx.fail(`split ${fmt(split)} does not sum to ${d}, the size of axis ${a} of ${fmt(x.shape)}`);
      } else if (n !== undefined) {
        if (n < 1) ctx.fail(`num_outputs must be >= 1, got ${n}`);
        const chunk = Math.ceil(d / n);
        const last = d - chunk * (n - 1);
        if (last < 0 || (last === 0 && d > 0)) ctx.fail(`cannot split axis ${a} of size ${d} into ${n} outputs`);
        split = Array.from({ length: n }, (_, i) => (i < n - 1 ? chunk : last));
      } else {
        const k = ctx.numOutputs;
        if (d % k !== 0) ctx.fail(`cannot split axis ${a} of size ${d} into ${k} equal parts`);
        split = new Array<number>(k).fill(d / k);
      }
      if (ctx.numOutputs > 1 && ctx.numOutputs !== split.length)
        ctx.fail(`${ctx.numOutputs} outputs were asked for, but the split makes ${split.length}`);
      const outputs = split.map((s) => {
        const shape = x.shape.slice();
        shape[a] = s;
        return { shape, dtype: x.dtype };
      });
      return { outputs, attrs: { axis: a, split } };
    },
  }),

  Slice: defineOp({
    name: 'Slice',
    doc: 'Takes elements starts..ends (exclusive) by steps along axes; out-of-range bounds are clamped, negative ones count from the end.',
    inputs: [
      { name: 'data', type: 'T' },
      { name: 'starts', type: 'Tind', value: true },
      { name: 'ends', type: 'Tind', value: true },
      { name: 'axes', type: 'Tind', optional: true, value: true },
      { name: 'steps', type: 'Tind', optional: true, value: true },
    ],
    outputs: [{ name: 'output', type: 'T' }],
    types: { T, Tind: IND },
    infer(ctx) {
      const x = inp(ctx, 0);
      const r = x.shape.length;
      const starts = intValues(ctx, 1, 'starts', true);
      const ends = intValues(ctx, 2, 'ends', true);
      const given = intValues(ctx, 3, 'axes');
      const steps = intValues(ctx, 4, 'steps') ?? starts.map(() => 1);
      const k = starts.length;
      if (ends.length !== k || (given && given.length !== k) || steps.length !== k)
        ctx.fail(`starts, ends, axes and steps must have one value per sliced axis, got lengths ${k}, ${ends.length}, ${given?.length ?? '-'}, ${steps.length}`);
      const axes = given ? uniqueAxes(ctx, given, r) : starts.map((_, i) => i);
      if (!given && k > r) ctx.fail(`starts has ${k} values but data ${fmt(x.shape)} has rank ${r}`);
      const shape = x.shape.slice();
      const st = new Array<number>(r).fill(0);
      const sp = new Array<number>(r).fill(1);
      axes.forEach((a, i) => {
        const d = x.shape[a]!;
        const step = steps[i]!;
        if (step === 0) ctx.fail(`steps ${fmt(steps)} has a 0`);
        let s = starts[i]!;
        let e = ends[i]!;
        if (s < 0) s += d;
        if (e < 0) e += d;
        // ONNX clamping: [0, d] going forward; [0, d-1] for the start and [-1, d-1] for the end going backward.
        if (step > 0) [s, e] = [clamp(s, 0, d), clamp(e, 0, d)];
        else [s, e] = [clamp(s, 0, d - 1), clamp(e, -1, d - 1)];
        const n = Math.max(0, Math.ceil((e - s) / step));
        shape[a] = n;
        st[a] = n > 0 ? s : 0;
        sp[a] = step;
      });
      return { outputs: [{ shape, dtype: x.dtype }], attrs: { starts: st, steps: sp } };
    },
  }),

  Gather: defineOp({
    name: 'Gather',
    doc: 'Picks entries of data along `axis` at `indices` (negative indices count from the end); output: data.shape[:axis] + indices.shape + data.shape[axis+1:].',
    inputs: [{ name: 'data', type: 'T' }, { name: 'indices', type: 'Tind' }],
    outputs: [{ name: 'output', type: 'T' }],
    attrs: { axis: { type: 'int', default: 0 } },
    types: { T, Tind: IND },
    infer(ctx) {
      const x = inp(ctx, 0);
      const idx = inp(ctx, 1);
      const a = axisIn(ctx, ctx.attrs.axis as number, x.shape.length);
      const shape = [...x.shape.slice(0, a), ...idx.shape, ...x.shape.slice(a + 1)];
      return { outputs: [{ shape, dtype: x.dtype }], attrs: { axis: a } };
    },
  }),

  Expand: defineOp({
    name: 'Expand',
    doc: 'Broadcasts input against `shape` (NumPy rules, both directions: a 1 in shape keeps the input dim).',
    inputs: [{ name: 'input', type: 'T' }, { name: 'shape', type: 'int64', value: true }],
    outputs: [{ name: 'output', type: 'T' }],
    types: { T },
    infer(ctx) {
      const x = inp(ctx, 0);
      const target = intValues(ctx, 1, 'shape', true);
      if (target.some((d) => d < 0)) ctx.fail(`shape ${fmt(target)} has a negative dim`);
      return { outputs: [{ shape: broadcastShapes(ctx, [x.shape, target]), dtype: x.dtype }] };
    },
  }),

  Tile: defineOp({
    name: 'Tile',
    doc: 'Repeats input repeats[i] times along each axis i.',
    inputs: [{ name: 'input', type: 'T' }, { name: 'repeats', type: 'int64', value: true }],
    outputs: [{ name: 'output', type: 'T' }],
    types: { T },
    infer(ctx) {
      const x = inp(ctx, 0);
      const reps = intValues(ctx, 1, 'repeats', true);
      if (reps.length !== x.shape.length) ctx.fail(`repeats ${fmt(reps)} must have one value per axis of ${fmt(x.shape)}`);
      if (reps.some((v) => v < 0)) ctx.fail(`repeats ${fmt(reps)} has a negative value`);
      return { outputs: [{ shape: x.shape.map((d, i) => d * reps[i]!), dtype: x.dtype }] };
    },
  }),

  Pad: defineOp({
    name: 'Pad',
    doc: "Pads (or crops, with negative pads) each axis; mode 'constant' (constant_value), 'reflect', 'edge' or 'wrap'.",
    inputs: [
      { name: 'data', type: 'T' },
      { name: 'pads', type: 'int64', value: true },
      { name: 'constant_value', type: 'T', optional: true, value: true },
      { name: 'axes', type: 'Tind', optional: true, value: true },
    ],
    outputs: [{ name: 'output', type: 'T' }],
    attrs: { mode: { type: 'string', default: 'constant' } },
    types: { T, Tind: IND },
    infer(ctx) {
      const x = inp(ctx, 0);
      const r = x.shape.length;
      const mode = ctx.attrs.mode as string;
      if (!['constant', 'reflect', 'edge', 'wrap'].includes(mode)) ctx.fail(`mode '${mode}' is not one of constant, reflect, edge, wrap`);
      const given = intValues(ctx, 3, 'axes');
      const axes = given ? uniqueAxes(ctx, given, r) : x.shape.map((_, i) => i);
      const raw = intValues(ctx, 1, 'pads', true);
      if (raw.length !== 2 * axes.length)
        ctx.fail(`pads ${fmt(raw)} must have 2 values per padded axis (${2 * axes.length}: begins, then ends)`);
      const pads = new Array<number>(2 * r).fill(0);
      axes.forEach((a, i) => {
        pads[a] = raw[i]!;
        pads[a + r] = raw[i + axes.length]!;
      });
      const cv = ctx.value(2);
      if (cv && cv.length !== 1) ctx.fail(`constant_value must be a single value, got ${cv.length}`);
      const shape = x.shape.map((d, a) => {
        const [b, e] = [pads[a]!, pads[a + r]!];
        // Negative pads crop first; the remaining `kept` elements are what the modes read.
        const kept = d + Math.min(b, 0) + Math.min(e, 0);
        if (kept < 0) ctx.fail(`pads ${fmt(pads)} crop more than the ${d} elements of axis ${a}`);
        if (kept === 0 && mode !== 'constant' && (b > 0 || e > 0)) ctx.fail(`'${mode}' padding of axis ${a} needs at least one element to read`);
        return d + b + e;
      });
      return { outputs: [{ shape, dtype: x.dtype }], attrs: { pads, mode, value: cv?.[0] ?? 0 } };
    },
  }),

  Shape: defineOp({
    name: 'Shape',
    doc: 'The shape of data as a 1-D int64 tensor, dims start..end (clamped; negative counts from the end).',
    inputs: [{ name: 'data', type: 'T' }],
    outputs: [{ name: 'shape', type: 'int64' }],
    attrs: { start: { type: 'int', default: 0 }, end: { type: 'int' } },
    types: { T },
    method: false, // Tensor#shape is the shape property
    infer(ctx) {
      const r = inp(ctx, 0).shape.length;
      const norm = (v: number) => clamp(v < 0 ? v + r : v, 0, r);
      const start = norm(ctx.attrs.start as number);
      const end = Math.max(start, norm((ctx.attrs.end as number | undefined) ?? r));
      return { outputs: [{ shape: [end - start], dtype: 'int64' }], attrs: { start, end } };
    },
  }),

  ConstantOfShape: defineOp({
    name: 'ConstantOfShape',
    doc: 'A tensor of the given shape filled with `value`, of dtype `dtype` (default float32); an empty shape gives a scalar.',
    inputs: [{ name: 'input', type: 'int64', value: true }],
    outputs: [{ name: 'output', type: 'T2' }],
    attrs: { value: { type: 'float', default: 0 }, dtype: { type: 'dtype', default: 'float32' } },
    types: { T2: T },
    method: false,
    infer(ctx) {
      const shape = intValues(ctx, 0, 'input', true);
      if (shape.some((d) => d < 0)) ctx.fail(`shape ${fmt(shape)} has a negative dim`);
      return { outputs: [{ shape, dtype: ctx.attrs.dtype as (typeof T)[number] }] };
    },
  }),

  Range: defineOp({
    name: 'Range',
    doc: 'The sequence start, start+delta, ... up to but excluding limit; the inputs are scalars of the output dtype.',
    inputs: [
      { name: 'start', type: 'T', value: true },
      { name: 'limit', type: 'T', value: true },
      { name: 'delta', type: 'T', value: true },
    ],
    outputs: [{ name: 'output', type: 'T' }],
    types: { T: ['float32', 'float64', 'float16', 'bfloat16', 'int16', 'int32', 'int64'] },
    method: false,
    infer(ctx) {
      const names = ['start', 'limit', 'delta'];
      const [start, limit, delta] = names.map((n, i) => {
        const v = ctx.value(i);
        if (v?.length !== 1) return ctx.fail(`${n} must be a single value`);
        return v[0]!;
      }) as [number, number, number];
      const dtype = inp(ctx, 0).dtype;
      if (inp(ctx, 1).dtype !== dtype || inp(ctx, 2).dtype !== dtype) ctx.fail('start, limit and delta must have the same dtype');
      if (dtype.startsWith('int') && ![start, limit, delta].every(Number.isInteger))
        ctx.fail(`start ${start}, limit ${limit}, delta ${delta} are not all integers but the dtype is ${dtype}; pass float tensors for a fractional range`);
      if (delta === 0) ctx.fail('delta must not be 0');
      const n = Math.max(0, Math.ceil((limit - start) / delta));
      return { outputs: [{ shape: [n], dtype }], attrs: { start, delta } };
    },
  }),
};
