/**
 * Vision and normalization extras: transposed and deformable convolution, Lp
 * pooling, unpooling, ROI pooling, Col2Im, the instance / group / Lp / mean-variance
 * / RMS / local-response normalizations, Resize, GridSample, AffineGrid,
 * CenterCropPad, Einsum and the window functions.
 *
 * Shape rules fold every value input (Resize's roi/scales/sizes, MaxUnpool's
 * output_shape, Col2Im's image and block shapes, AffineGrid's size, CenterCropPad's
 * shape, a window's size) and every defaulted or derived window attribute into
 * explicit attributes, documented per op; kernels read only those.
 *
 * Deviations from ONNX's type constraints, to keep kernel keys short: RMSNormalization
 * uses one type for X, scale and Y (ONNX: T and V), as LayerNormalization does in
 * nn.ts; Resize and Einsum take the numeric types (no bool or string); Col2Im and
 * DeformConv the float types.
 */
import { ALL_DTYPES, FLOAT_DTYPES, NUMERIC_DTYPES } from '../dtype.js';
import { nnOps, spatialInput } from './nn.js';
import { broadcastShapes, defineOp, sizeOf, type InferContext, type InferInput, type InferResult } from './schema.js';
import { axisIn, fmt, inp, intValues, uniqueAxes } from './tensor.js';

const FLOAT = FLOAT_DTYPES;
const AUTO_PAD = ['NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID'];

// ---------------------------------------------------------------- rule helpers

const spatial = spatialInput;

/** An int-list attribute of `n` values (default: all `dflt`), each >= `min`. */
function ints(ctx: InferContext, name: string, n: number, dflt: number, min = 0): number[] {
  const v = (ctx.attrs[name] as number[] | undefined) ?? new Array<number>(n).fill(dflt);
  if (v.length !== n) ctx.fail(`${name} ${fmt(v)} must have ${n} values`);
  if (v.some((d) => d < min)) ctx.fail(`${name} ${fmt(v)} must be >= ${min}`);
  return v.slice();
}

/** A string attribute restricted to `allowed`. */
function oneOf(ctx: InferContext, name: string, allowed: readonly string[]): string {
  const v = ctx.attrs[name] as string;
  if (!allowed.includes(v)) ctx.fail(`${name} '${v}' is not one of ${allowed.join(', ')}`);
  return v;
}

/** Input i must be 1-D of length n. */
function vector(ctx: InferContext, i: number, name: string, n: number): void {
  const t = inp(ctx, i);
  if (t.shape.length !== 1 || t.shape[0] !== n) ctx.fail(`${name} must have shape [${n}], got ${fmt(t.shape)}`);
}

/** `small` broadcasts unidirectionally to `big` (right-aligned, dims 1 or equal). */
function broadcastsTo(small: readonly number[], big: readonly number[]): boolean {
  const off = big.length - small.length;
  return off >= 0 && small.every((d, i) => d === 1 || d === big[off + i]);
}

/** A context that sees other inputs and attributes (to reuse another op's rule). */
function withInputs(ctx: InferContext, inputs: (InferInput | undefined)[], attrs: InferContext['attrs']): InferContext {
  return { op: ctx.op, inputs, attrs, numOutputs: 1, value: (i) => ctx.value(i), fail: (m) => ctx.fail(m) };
}

/** Same shape and dtype as input 0, plus kernel attributes. */
const sameShape = (ctx: InferContext, attrs?: InferResult['attrs']): InferResult => {
  const x = inp(ctx, 0);
  return { outputs: [{ shape: x.shape.slice(), dtype: x.dtype }], ...(attrs ? { attrs } : {}) };
};

/** Output of the global pools: spatial dims become 1. */
function globalShape(ctx: InferContext): InferResult {
  const x = spatial(ctx);
  return { outputs: [{ shape: x.shape.map((d, i) => (i < 2 ? d : 1)), dtype: x.dtype }] };
}

/** X [N,C,...] with per-channel scale and bias; `groups` channel groups share statistics. */
function channelNorm(ctx: InferContext, groups: number): InferResult {
  const x = spatial(ctx, 0, 0);
  const c = x.shape[1]!;
  if (groups < 1 || c % groups !== 0) ctx.fail(`num_groups ${groups} must be >= 1 and divide the ${c} channels of ${fmt(x.shape)}`);
  vector(ctx, 1, 'scale', c);
  vector(ctx, 2, 'bias', c);
  return sameShape(ctx, { num_groups: groups });
}

// ---------------------------------------------------------------- Resize

const RESIZE_MODES = ['nearest', 'linear', 'cubic'];
/** tf_half_pixel_for_nn left ONNX at opset 13; it stays for the older models that use it. */
const COORD_MODES = ['half_pixel', 'half_pixel_symmetric', 'pytorch_half_pixel', 'align_corners', 'asymmetric', 'tf_crop_and_resize', 'tf_half_pixel_for_nn'];
const NEAREST_MODES = ['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil'];
const ASPECT_POLICIES = ['stretch', 'not_larger', 'not_smaller'];

/**
 * Resize's output shape and the per-axis `scales` kernels use. With `scales`, an
 * axis of size d gets floor(d * scale) (roi does not change the size, as in
 * onnxruntime and ONNX's reference). With `sizes` and keep_aspect_ratio_policy
 * 'stretch', scale = size / d; with 'not_larger' / 'not_smaller' one scale, the
 * min / max of size / d over `axes`, applies to all of them and the sizes become
 * floor(scale * d + 0.5). Axes not in `axes` keep scale 1.
 */
function resizeRule(ctx: InferContext): InferResult {
  const x = inp(ctx, 0);
  const r = x.shape.length;
  oneOf(ctx, 'mode', RESIZE_MODES);
  const coord = oneOf(ctx, 'coordinate_transformation_mode', COORD_MODES);
  oneOf(ctx, 'nearest_mode', NEAREST_MODES);
  const policy = oneOf(ctx, 'keep_aspect_ratio_policy', ASPECT_POLICIES);
  const given = ctx.attrs.axes as number[] | undefined;
  const axes = given ? uniqueAxes(ctx, given, r) : x.shape.map((_, i) => i);
  const scalesIn = ctx.value(2);
  const sizesIn = ctx.value(3);
  const hasScales = scalesIn !== undefined && scalesIn.length > 0;
  const hasSizes = sizesIn !== undefined && sizesIn.length > 0;
  if (hasScales === hasSizes) ctx.fail('exactly one of scales and sizes must be given (and not empty)');
  const scales = new Array<number>(r).fill(1);
  const shape = x.shape.slice();
  if (hasScales) {
    if (scalesIn.length !== axes.length) ctx.fail(`scales ${fmt(scalesIn)} must have one value per resized axis (${axes.length})`);
    if (scalesIn.some((s) => !(s > 0))) ctx.fail(`scales ${fmt(scalesIn)} must be positive`);
    axes.forEach((a, i) => {
      scales[a] = scalesIn[i]!;
      shape[a] = Math.floor(x.shape[a]! * scalesIn[i]!);
    });
  } else {
    const sizes = intValues(ctx, 3, 'sizes', true);
    if (sizes.length !== axes.length) ctx.fail(`sizes ${fmt(sizes)} must have one value per resized axis (${axes.length})`);
    if (sizes.some((s) => s < 0)) ctx.fail(`sizes ${fmt(sizes)} must be >= 0`);
    axes.forEach((a, i) => {
      if (x.shape[a] === 0 && sizes[i] !== 0) ctx.fail(`axis ${a} of ${fmt(x.shape)} is empty and cannot be resized to ${sizes[i]}`);
    });
    const ratios = axes.map((a, i) => (x.shape[a] === 0 ? 1 : sizes[i]! / x.shape[a]!));
    if (policy === 'stretch')
      axes.forEach((a, i) => {
        scales[a] = ratios[i]!;
        shape[a] = sizes[i]!;
      });
    else {
      const s = policy === 'not_larger' ? Math.min(...ratios) : Math.max(...ratios);
      for (const a of axes) {
        scales[a] = s;
        shape[a] = Math.floor(s * x.shape[a]! + 0.5);
      }
    }
  }
  const attrs: Record<string, number[]> = { scales };
  if (coord === 'tf_crop_and_resize') {
    const roi = ctx.value(1);
    if (!roi || roi.length !== 2 * axes.length) ctx.fail(`tf_crop_and_resize needs roi with 2 values per resized axis (${2 * axes.length}: starts, then ends)`);
    const full = [...new Array<number>(r).fill(0), ...new Array<number>(r).fill(1)];
    axes.forEach((a, i) => {
      full[a] = roi[i]!;
      full[a + r] = roi[i + axes.length]!;
    });
    attrs.roi = full;
  }
  return { outputs: [{ shape, dtype: x.dtype }], attrs };
}

// ---------------------------------------------------------------- Einsum

/**
 * Parses an Einsum equation (NumPy's rules: letters are labels, '...' stands for
 * the broadcast of the inputs' remaining leading dims; without '->' the output is
 * '...' followed by the labels used once, in alphabetical order). Folded into
 * attributes: `labels`, every input's label ids in axis order (concatenated, one
 * per input dim), `out_labels`, and `label_sizes` (size of each id; an input dim
 * of 1 under '...' broadcasts).
 */
function einsumRule(ctx: InferContext): InferResult {
  const eq = (ctx.attrs.equation as string).replace(/\s+/g, '');
  const parts = eq.split('->');
  if (parts.length > 2) ctx.fail(`equation '${eq}' has more than one '->'`);
  const terms = parts[0]!.split(',');
  if (terms.length !== ctx.inputs.length) ctx.fail(`equation '${eq}' has ${terms.length} input terms for ${ctx.inputs.length} inputs`);
  const tokens = (term: string): string[] => {
    const out: string[] = [];
    for (let i = 0; i < term.length; ) {
      if (term.startsWith('...', i)) {
        if (out.includes('...')) ctx.fail(`term '${term}' of '${eq}' has more than one '...'`);
        out.push('...');
        i += 3;
      } else if (/[a-zA-Z]/.test(term[i]!)) out.push(term[i++]!);
      else ctx.fail(`equation '${eq}' has an invalid character '${term[i]}'`);
    }
    return out;
  };
  const inTokens = terms.map(tokens);
  const shapes = ctx.inputs.map((t) => t!.shape);
  // the dims each input's '...' covers, and their broadcast
  const ellDims = inTokens.map((tk, k) => {
    const named = tk.filter((t) => t !== '...').length;
    const rank = shapes[k]!.length;
    if (tk.includes('...') ? rank < named : rank !== named)
      ctx.fail(`term '${terms[k]}' of '${eq}' does not match input ${k} of rank ${rank} ${fmt(shapes[k]!)}`);
    return tk.includes('...') ? shapes[k]!.slice(tk.indexOf('...'), tk.indexOf('...') + rank - named) : [];
  });
  const ell = broadcastShapes({ ...withInputs(ctx, [], ctx.attrs), fail: (m) => ctx.fail(`dims under '...' in '${eq}': ${m}`) }, ellDims);
  const ids = new Map<string, number>();
  const sizes: number[] = [];
  // ids 0 .. ell.length-1 are the '...' dims, right-aligned across inputs
  ell.forEach((d) => sizes.push(d));
  const idOf = (c: string) => {
    if (!ids.has(c)) {
      ids.set(c, sizes.length);
      sizes.push(-1);
    }
    return ids.get(c)!;
  };
  const labels: number[] = [];
  inTokens.forEach((tk, k) => {
    let axis = 0;
    for (const t of tk) {
      if (t === '...') {
        const n = ellDims[k]!.length;
        for (let j = 0; j < n; j++) labels.push(ell.length - n + j);
        axis += n;
        continue;
      }
      const id = idOf(t);
      const d = shapes[k]![axis++]!;
      if (sizes[id] !== -1 && sizes[id] !== d) ctx.fail(`label '${t}' of '${eq}' has size ${sizes[id]} and ${d}`);
      sizes[id] = d;
      labels.push(id);
    }
  });
  let outLabels: number[];
  if (parts.length === 2) {
    const out = tokens(parts[1]!);
    outLabels = [];
    for (const t of out) {
      if (t === '...') {
        outLabels.push(...ell.map((_, j) => j));
        continue;
      }
      if (!ids.has(t)) ctx.fail(`output label '${t}' of '${eq}' is not in any input`);
      if (outLabels.includes(ids.get(t)!)) ctx.fail(`output label '${t}' of '${eq}' appears twice`);
      outLabels.push(ids.get(t)!);
    }
  } else {
    const count = new Map<string, number>();
    for (const tk of inTokens) for (const t of tk) if (t !== '...') count.set(t, (count.get(t) ?? 0) + 1);
    const once = [...count.keys()].filter((c) => count.get(c) === 1).sort();
    outLabels = [...ell.map((_, j) => j), ...once.map((c) => ids.get(c)!)];
  }
  return {
    outputs: [{ shape: outLabels.map((id) => sizes[id]!), dtype: inp(ctx, 0).dtype }],
    attrs: { labels, out_labels: outLabels, label_sizes: sizes },
  };
}

// ---------------------------------------------------------------- windows

/** A window function of `size` (a scalar value input) values of dtype output_datatype. */
const windowOp = <const N extends string>(name: N, doc: string) =>
  defineOp({
    name,
    doc,
    inputs: [{ name: 'size', type: 'T1', value: true }],
    outputs: [{ name: 'output', type: 'T2' }],
    attrs: { output_datatype: { type: 'dtype', default: 'float32' }, periodic: { type: 'int', default: 1 } },
    types: { T1: ['int32', 'int64'], T2: NUMERIC_DTYPES },
    method: false,
    infer(ctx) {
      const size = intValues(ctx, 0, 'size', true);
      if (size.length !== 1 || size[0]! < 0) ctx.fail(`size must be one non-negative integer, got ${fmt(size)}`);
      const dtype = ctx.attrs.output_datatype as (typeof NUMERIC_DTYPES)[number];
      if (!NUMERIC_DTYPES.includes(dtype)) ctx.fail(`output_datatype ${dtype} is not a numeric dtype`);
      return { outputs: [{ shape: [size[0]!], dtype }] };
    },
  });

// ---------------------------------------------------------------- the ops

export const visionOps = {
  ConvTranspose: defineOp({
    name: 'ConvTranspose',
    doc: 'Transposed convolution of X [N,C,D...] with W [C,M/group,k...], plus optional bias B [M].',
    inputs: [{ name: 'X', type: 'T' }, { name: 'W', type: 'T' }, { name: 'B', type: 'T', optional: true }],
    outputs: [{ name: 'Y', type: 'T' }],
    attrs: {
      auto_pad: { type: 'string', default: 'NOTSET' },
      dilations: { type: 'ints' },
      group: { type: 'int', default: 1 },
      kernel_shape: { type: 'ints' },
      output_padding: { type: 'ints' },
      output_shape: { type: 'ints' },
      pads: { type: 'ints' },
      strides: { type: 'ints' },
    },
    types: { T: FLOAT },
    /**
     * Per spatial axis, full = stride * (in - 1) + output_padding + (k - 1) * dilation + 1
     * is the extent of every tap. Y = full - pad_begin - pad_end, where the pads are
     * explicit (NOTSET), 0 (VALID), or derived from a target size (output_shape, else
     * in * stride for SAME_*): total = full - target, pad_begin = floor(total / 2) for
     * SAME_UPPER and total - floor(total / 2) otherwise. Pads may come out negative
     * (Y extends past the taps; those positions hold only the bias). Kernel attrs:
     * kernel_shape, strides, dilations, pads (begins, then ends) and group.
     */
    infer(ctx) {
      const x = spatial(ctx);
      const w = inp(ctx, 1);
      const n = x.shape.length - 2;
      if (w.shape.length !== x.shape.length) ctx.fail(`W ${fmt(w.shape)} must have the rank of X ${fmt(x.shape)}`);
      const group = ctx.attrs.group as number;
      const c = x.shape[1]!;
      if (group < 1 || c % group !== 0) ctx.fail(`group ${group} must be >= 1 and divide the ${c} channels of X`);
      if (w.shape[0] !== c) ctx.fail(`W ${fmt(w.shape)} must have one row per input channel (${c})`);
      const m = w.shape[1]! * group;
      const kernel = w.shape.slice(2);
      const given = ctx.attrs.kernel_shape as number[] | undefined;
      if (given && fmt(given) !== fmt(kernel)) ctx.fail(`kernel_shape ${fmt(given)} differs from the spatial dims of W ${fmt(w.shape)}`);
      if (ctx.inputs[2]) vector(ctx, 2, 'B', m);
      const strides = ints(ctx, 'strides', n, 1, 1);
      const dilations = ints(ctx, 'dilations', n, 1, 1);
      const outPad = ints(ctx, 'output_padding', n, 0);
      outPad.forEach((p, i) => {
        if (p >= Math.max(strides[i]!, dilations[i]!)) ctx.fail(`output_padding ${fmt(outPad)} must be smaller than the stride or the dilation`);
      });
      const autoPad = oneOf(ctx, 'auto_pad', AUTO_PAD);
      const explicit = ints(ctx, 'pads', 2 * n, 0);
      const target = ctx.attrs.output_shape as number[] | undefined;
      if (target && target.length !== n && target.length !== n + 2) ctx.fail(`output_shape ${fmt(target)} must have ${n} (or ${n + 2}) values`);
      const full = x.shape.slice(2).map((d, i) => strides[i]! * (d - 1) + outPad[i]! + (kernel[i]! - 1) * dilations[i]! + 1);
      const pads = new Array<number>(2 * n).fill(0);
      full.forEach((f, i) => {
        if (target || autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
          const total = f - (target ? target[target.length - n + i]! : x.shape[2 + i]! * strides[i]!);
          const half = Math.floor(total / 2);
          pads[i] = autoPad === 'SAME_UPPER' ? half : total - half;
          pads[i + n] = total - pads[i]!;
        } else if (autoPad === 'NOTSET') [pads[i], pads[i + n]] = [explicit[i]!, explicit[i + n]!];
      });
      const out = full.map((f, i) => f - pads[i]! - pads[i + n]!);
      if (out.some((d) => d < 0)) ctx.fail(`pads ${fmt(pads)} leave a negative output size ${fmt(out)}`);
      return {
        outputs: [{ shape: [x.shape[0]!, m, ...out], dtype: x.dtype }],
        attrs: { kernel_shape: kernel, strides, dilations, pads, group, auto_pad: 'NOTSET' },
      };
    },
  }),

  DeformConv: defineOp({
    name: 'DeformConv',
    doc: 'Deformable 2-D convolution: every tap of Conv samples X bilinearly at its position plus a learned offset, times an optional mask.',
    inputs: [
      { name: 'X', type: 'T' },
      { name: 'W', type: 'T' },
      { name: 'offset', type: 'T' },
      { name: 'B', type: 'T', optional: true },
      { name: 'mask', type: 'T', optional: true },
    ],
    outputs: [{ name: 'Y', type: 'T' }],
    attrs: {
      dilations: { type: 'ints' },
      group: { type: 'int', default: 1 },
      kernel_shape: { type: 'ints' },
      offset_group: { type: 'int', default: 1 },
      pads: { type: 'ints' },
      strides: { type: 'ints' },
    },
    types: { T: FLOAT },
    /**
     * Output shape and window attrs as Conv (no auto_pad). offset is
     * [N, offset_group * kH * kW * 2, oH, oW] (per offset group and tap: dy, dx);
     * mask [N, offset_group * kH * kW, oH, oW]. Only 2 spatial dims.
     */
    infer(ctx) {
      const x = inp(ctx, 0);
      if (x.shape.length !== 4) ctx.fail(`X must be N x C x H x W (2 spatial dims are supported), got ${fmt(x.shape)}`);
      const conv = nnOps.Conv.infer(withInputs(ctx, [x, ctx.inputs[1], ctx.inputs[3]], { ...ctx.attrs, auto_pad: 'NOTSET' }));
      const y = conv.outputs[0]!.shape;
      const og = ctx.attrs.offset_group as number;
      if (og < 1 || x.shape[1]! % og !== 0) ctx.fail(`offset_group ${og} must be >= 1 and divide the ${x.shape[1]} channels of X`);
      const taps = sizeOf(inp(ctx, 1).shape.slice(2));
      const want = (per: number) => [x.shape[0]!, og * taps * per, y[2]!, y[3]!];
      if (fmt(inp(ctx, 2).shape) !== fmt(want(2))) ctx.fail(`offset must have shape ${fmt(want(2))}, got ${fmt(inp(ctx, 2).shape)}`);
      const mask = ctx.inputs[4];
      if (mask && fmt(mask.shape) !== fmt(want(1))) ctx.fail(`mask must have shape ${fmt(want(1))}, got ${fmt(mask.shape)}`);
      return { outputs: conv.outputs, attrs: { ...conv.attrs!, offset_group: og } };
    },
  }),

  LpPool: defineOp({
    name: 'LpPool',
    doc: 'p-norm over sliding windows: (sum of |x|^p over the taps in X)^(1/p); padding adds nothing.',
    inputs: [{ name: 'X', type: 'T' }],
    outputs: [{ name: 'Y', type: 'T' }],
    attrs: {
      auto_pad: { type: 'string', default: 'NOTSET' },
      ceil_mode: { type: 'int', default: 0 },
      dilations: { type: 'ints' },
      kernel_shape: { type: 'ints', required: true },
      p: { type: 'int', default: 2 },
      pads: { type: 'ints' },
      strides: { type: 'ints' },
    },
    types: { T: FLOAT },
    // Windows as AveragePool: kernel_shape, strides, dilations, pads explicit.
    infer(ctx) {
      if ((ctx.attrs.p as number) < 1) ctx.fail(`p must be >= 1, got ${ctx.attrs.p}`);
      return nnOps.AveragePool.infer(ctx);
    },
  }),

  GlobalLpPool: defineOp({
    name: 'GlobalLpPool',
    doc: 'p-norm over all spatial dims of X [N,C,D...], keeping them as 1s.',
    inputs: [{ name: 'X', type: 'T' }],
    outputs: [{ name: 'Y', type: 'T' }],
    attrs: { p: { type: 'int', default: 2 } },
    types: { T: FLOAT },
    infer(ctx) {
      if ((ctx.attrs.p as number) < 1) ctx.fail(`p must be >= 1, got ${ctx.attrs.p}`);
      return globalShape(ctx);
    },
  }),

  MaxUnpool: defineOp({
    name: 'MaxUnpool',
    doc: "Inverse of MaxPool: zeros except X's values at the positions I (MaxPool's Indices) names.",
    inputs: [
      { name: 'X', type: 'T1' },
      { name: 'I', type: 'int64' },
      { name: 'output_shape', type: 'int64', optional: true, value: true },
    ],
    outputs: [{ name: 'output', type: 'T1' }],
    attrs: { kernel_shape: { type: 'ints', required: true }, pads: { type: 'ints' }, strides: { type: 'ints' } },
    types: { T1: FLOAT },
    /**
     * The unpooled shape has spatial dims (in - 1) * stride + k - pad_begin - pad_end;
     * I indexes it (flat, as MaxPool's Indices). output_shape may enlarge it: the
     * unpooled block then sits at its origin, the rest is zeros (ONNX's reference).
     * Kernel attr scatter_shape: the unpooled shape.
     */
    infer(ctx) {
      const x = spatial(ctx);
      const n = x.shape.length - 2;
      if (fmt(inp(ctx, 1).shape) !== fmt(x.shape)) ctx.fail(`I must have the shape of X ${fmt(x.shape)}, got ${fmt(inp(ctx, 1).shape)}`);
      const kernel = ints(ctx, 'kernel_shape', n, 1, 1);
      const strides = ints(ctx, 'strides', n, 1, 1);
      const pads = ints(ctx, 'pads', 2 * n, 0);
      const unpooled = [x.shape[0]!, x.shape[1]!, ...x.shape.slice(2).map((d, i) => (d - 1) * strides[i]! + kernel[i]! - pads[i]! - pads[i + n]!)];
      if (unpooled.some((d) => d < 0)) ctx.fail(`pads ${fmt(pads)} leave a negative output size ${fmt(unpooled)}`);
      const given = intValues(ctx, 2, 'output_shape');
      if (given && (given.length !== n + 2 || given.some((d, i) => (i < 2 ? d !== unpooled[i] : d < unpooled[i]!))))
        ctx.fail(`output_shape ${fmt(given)} must be [${x.shape[0]},${x.shape[1]},...] with ${n} spatial dims at least ${fmt(unpooled.slice(2))}`);
      return { outputs: [{ shape: given ?? unpooled, dtype: x.dtype }], attrs: { scatter_shape: unpooled } };
    },
  }),

  MaxRoiPool: defineOp({
    name: 'MaxRoiPool',
    doc: 'Max over a pooled_shape grid of bins of each region of interest [batch, x1, y1, x2, y2] of X [N,C,H,W].',
    inputs: [{ name: 'X', type: 'T' }, { name: 'rois', type: 'T' }],
    outputs: [{ name: 'Y', type: 'T' }],
    attrs: { pooled_shape: { type: 'ints', required: true }, spatial_scale: { type: 'float', default: 1 } },
    types: { T: FLOAT },
    infer(ctx) {
      const x = inp(ctx, 0);
      const rois = inp(ctx, 1);
      if (x.shape.length !== 4) ctx.fail(`X must be N x C x H x W, got ${fmt(x.shape)}`);
      if (rois.shape.length !== 2 || rois.shape[1] !== 5) ctx.fail(`rois must be [num_rois, 5], got ${fmt(rois.shape)}`);
      const pooled = ints(ctx, 'pooled_shape', 2, 1, 1);
      return { outputs: [{ shape: [rois.shape[0]!, x.shape[1]!, ...pooled], dtype: x.dtype }] };
    },
  }),

  RoiAlign: defineOp({
    name: 'RoiAlign',
    doc: 'Average (or max) of bilinear samples over an output_height x output_width grid of bins of each ROI [x1, y1, x2, y2] of X.',
    inputs: [{ name: 'X', type: 'T1' }, { name: 'rois', type: 'T1' }, { name: 'batch_indices', type: 'int64' }],
    outputs: [{ name: 'Y', type: 'T1' }],
    attrs: {
      coordinate_transformation_mode: { type: 'string', default: 'half_pixel' },
      mode: { type: 'string', default: 'avg' },
      output_height: { type: 'int', default: 1 },
      output_width: { type: 'int', default: 1 },
      sampling_ratio: { type: 'int', default: 0 },
      spatial_scale: { type: 'float', default: 1 },
    },
    types: { T1: FLOAT },
    infer(ctx) {
      const x = inp(ctx, 0);
      const rois = inp(ctx, 1);
      if (x.shape.length !== 4) ctx.fail(`X must be N x C x H x W, got ${fmt(x.shape)}`);
      if (rois.shape.length !== 2 || rois.shape[1] !== 4) ctx.fail(`rois must be [num_rois, 4], got ${fmt(rois.shape)}`);
      vector(ctx, 2, 'batch_indices', rois.shape[0]!);
      oneOf(ctx, 'mode', ['avg', 'max']);
      oneOf(ctx, 'coordinate_transformation_mode', ['half_pixel', 'output_half_pixel']);
      const [h, w] = [ctx.attrs.output_height as number, ctx.attrs.output_width as number];
      if (h < 1 || w < 1) ctx.fail(`output_height ${h} and output_width ${w} must be >= 1`);
      if ((ctx.attrs.sampling_ratio as number) < 0) ctx.fail(`sampling_ratio must be >= 0, got ${ctx.attrs.sampling_ratio}`);
      return { outputs: [{ shape: [rois.shape[0]!, x.shape[1]!, h, w], dtype: x.dtype }] };
    },
  }),

  Col2Im: defineOp({
    name: 'Col2Im',
    doc: 'Rearranges columns [N, C*prod(block), L] into images [N, C, image...], summing overlapping blocks (the inverse of im2col).',
    inputs: [
      { name: 'input', type: 'T' },
      { name: 'image_shape', type: 'int64', value: true },
      { name: 'block_shape', type: 'int64', value: true },
    ],
    outputs: [{ name: 'output', type: 'T' }],
    attrs: { dilations: { type: 'ints' }, pads: { type: 'ints' }, strides: { type: 'ints' } },
    types: { T: FLOAT },
    /**
     * Block b (row-major over the block grid), tap t: image position
     * b * stride - pad_begin + t * dilation per axis. Kernel attrs: kernel_shape (the
     * block shape), strides, dilations, pads, and blocks (the block grid, per axis
     * floor((image + pads - (k - 1) * dilation - 1) / stride) + 1).
     */
    infer(ctx) {
      const x = inp(ctx, 0);
      const image = intValues(ctx, 1, 'image_shape', true);
      const block = intValues(ctx, 2, 'block_shape', true);
      const n = image.length;
      if (x.shape.length !== 3) ctx.fail(`input must be [N, C * prod(block_shape), L], got ${fmt(x.shape)}`);
      if (n < 1 || block.length !== n) ctx.fail(`image_shape ${fmt(image)} and block_shape ${fmt(block)} must have the same length >= 1`);
      if (block.some((b) => b < 1) || image.some((d) => d < 0)) ctx.fail(`block_shape ${fmt(block)} must be >= 1 and image_shape ${fmt(image)} >= 0`);
      const strides = ints(ctx, 'strides', n, 1, 1);
      const dilations = ints(ctx, 'dilations', n, 1, 1);
      const pads = ints(ctx, 'pads', 2 * n, 0);
      const k = sizeOf(block);
      if (x.shape[1]! % k !== 0) ctx.fail(`input dim 1 (${x.shape[1]}) must be a multiple of prod(block_shape) = ${k}`);
      const blocks = image.map((d, i) => Math.floor((d + pads[i]! + pads[i + n]! - (block[i]! - 1) * dilations[i]! - 1) / strides[i]!) + 1);
      if (blocks.some((b) => b < 1) || sizeOf(blocks) !== x.shape[2])
        ctx.fail(`input has ${x.shape[2]} blocks but image_shape ${fmt(image)}, block_shape ${fmt(block)} and the window attributes give ${fmt(blocks)}`);
      return {
        outputs: [{ shape: [x.shape[0]!, x.shape[1]! / k, ...image], dtype: x.dtype }],
        attrs: { kernel_shape: block, strides, dilations, pads, blocks },
      };
    },
  }),

  InstanceNormalization: defineOp({
    name: 'InstanceNormalization',
    doc: 'Normalizes each N x C plane of X to zero mean and unit variance, then * scale[c] + B[c].',
    inputs: [{ name: 'input', type: 'T' }, { name: 'scale', type: 'T' }, { name: 'B', type: 'T' }],
    outputs: [{ name: 'output', type: 'T' }],
    attrs: { epsilon: { type: 'float', default: 1e-5 } },
    types: { T: FLOAT },
    // Kernel attr num_groups = C: GroupNormalization with one channel per group.
    infer: (ctx) => channelNorm(ctx, spatial(ctx, 0, 0).shape[1]!),
  }),

  GroupNormalization: defineOp({
    name: 'GroupNormalization',
    doc: 'Normalizes each group of C / num_groups channels of X to zero mean and unit variance, then * scale[c] + bias[c].',
    inputs: [{ name: 'X', type: 'T' }, { name: 'scale', type: 'T' }, { name: 'bias', type: 'T' }],
    outputs: [{ name: 'Y', type: 'T' }],
    attrs: {
      epsilon: { type: 'float', default: 1e-5 },
      num_groups: { type: 'int', required: true },
      stash_type: { type: 'int', default: 1 },
    },
    types: { T: FLOAT },
    // Statistics are computed in at least float32 whatever stash_type says.
    infer: (ctx) => channelNorm(ctx, ctx.attrs.num_groups as number),
  }),

  LpNormalization: defineOp({
    name: 'LpNormalization',
    doc: 'x / ||x||_p along `axis` (p = 1 or 2); a lane whose norm is 0 stays 0.',
    inputs: [{ name: 'input', type: 'T' }],
    outputs: [{ name: 'output', type: 'T' }],
    attrs: { axis: { type: 'int', default: -1 }, p: { type: 'int', default: 2 } },
    types: { T: FLOAT },
    infer(ctx) {
      if (ctx.attrs.p !== 1 && ctx.attrs.p !== 2) ctx.fail(`p must be 1 or 2, got ${ctx.attrs.p}`);
      return sameShape(ctx, { axis: axisIn(ctx, ctx.attrs.axis as number, inp(ctx, 0).shape.length) });
    },
  }),

  MeanVarianceNormalization: defineOp({
    name: 'MeanVarianceNormalization',
    doc: '(X - mean) / (sqrt(variance) + 1e-9) with mean and population variance over `axes`.',
    inputs: [{ name: 'X', type: 'T' }],
    outputs: [{ name: 'Y', type: 'T' }],
    attrs: { axes: { type: 'ints', default: [0, 2, 3] } },
    types: { T: FLOAT },
    // Kernel attr axes: sorted, non-negative.
    infer(ctx) {
      const x = inp(ctx, 0);
      return sameShape(ctx, { axes: uniqueAxes(ctx, ctx.attrs.axes as number[], x.shape.length).sort((a, b) => a - b) });
    },
  }),

  RMSNormalization: defineOp({
    name: 'RMSNormalization',
    doc: 'X / sqrt(mean(X^2) + epsilon) * scale, the mean over dims axis..; scale broadcasts to those dims.',
    inputs: [{ name: 'X', type: 'T' }, { name: 'scale', type: 'T' }],
    outputs: [{ name: 'Y', type: 'T' }],
    attrs: {
      axis: { type: 'int', default: -1 },
      epsilon: { type: 'float', default: 1e-5 },
      stash_type: { type: 'int', default: 1 },
    },
    types: { T: FLOAT },
    // Kernel attr axis: non-negative.
    infer(ctx) {
      const x = inp(ctx, 0);
      const a = axisIn(ctx, ctx.attrs.axis as number, x.shape.length);
      const scale = inp(ctx, 1).shape;
      if (!broadcastsTo(scale, x.shape.slice(a))) ctx.fail(`scale ${fmt(scale)} must broadcast to the normalized shape ${fmt(x.shape.slice(a))} (X.shape[${a}:])`);
      return sameShape(ctx, { axis: a });
    },
  }),

  LRN: defineOp({
    name: 'LRN',
    doc: 'Local response normalization across channels: x / (bias + alpha / size * sum of x^2 over `size` neighboring channels)^beta.',
    inputs: [{ name: 'X', type: 'T' }],
    outputs: [{ name: 'Y', type: 'T' }],
    attrs: {
      alpha: { type: 'float', default: 1e-4 },
      beta: { type: 'float', default: 0.75 },
      bias: { type: 'float', default: 1 },
      size: { type: 'int', required: true },
    },
    types: { T: FLOAT },
    infer(ctx) {
      spatial(ctx, 0, 0);
      if ((ctx.attrs.size as number) < 1) ctx.fail(`size must be >= 1, got ${ctx.attrs.size}`);
      return sameShape(ctx);
    },
  }),

  Resize: defineOp({
    name: 'Resize',
    doc: 'Resizes X by nearest, (multi)linear or cubic interpolation to the sizes or scales given, with ONNX coordinate transformation modes.',
    inputs: [
      { name: 'X', type: 'T1' },
      { name: 'roi', type: 'T2', optional: true, value: true },
      { name: 'scales', type: 'float32', optional: true, value: true },
      { name: 'sizes', type: 'int64', optional: true, value: true },
    ],
    outputs: [{ name: 'Y', type: 'T1' }],
    attrs: {
      antialias: { type: 'int', default: 0 },
      axes: { type: 'ints' },
      coordinate_transformation_mode: { type: 'string', default: 'half_pixel' },
      cubic_coeff_a: { type: 'float', default: -0.75 },
      exclude_outside: { type: 'int', default: 0 },
      extrapolation_value: { type: 'float', default: 0 },
      keep_aspect_ratio_policy: { type: 'string', default: 'stretch' },
      mode: { type: 'string', default: 'nearest' },
      nearest_mode: { type: 'string', default: 'round_prefer_floor' },
    },
    types: { T1: NUMERIC_DTYPES, T2: ['float32', 'float64', 'float16'] },
    // Kernel attrs: scales (one per axis) and, for tf_crop_and_resize, roi (starts then ends, one per axis).
    infer: resizeRule,
  }),

  GridSample: defineOp({
    name: 'GridSample',
    doc: 'Samples X [N,C,D...] at the normalized coordinates of grid [N,out...,n] (last dim x, y, ...) by nearest, linear or cubic interpolation.',
    inputs: [{ name: 'X', type: 'T1' }, { name: 'grid', type: 'T2' }],
    outputs: [{ name: 'Y', type: 'T1' }],
    attrs: {
      align_corners: { type: 'int', default: 0 },
      mode: { type: 'string', default: 'linear' },
      padding_mode: { type: 'string', default: 'zeros' },
    },
    types: { T1: FLOAT, T2: ['float32', 'float64', 'float16'] },
    infer(ctx) {
      const x = spatial(ctx);
      const g = inp(ctx, 1);
      const n = x.shape.length - 2;
      if (g.shape.length !== n + 2 || g.shape[0] !== x.shape[0] || g.shape[n + 1] !== n)
        ctx.fail(`grid must be [${x.shape[0]}, out..., ${n}] (${n} output dims) for X ${fmt(x.shape)}, got ${fmt(g.shape)}`);
      oneOf(ctx, 'mode', ['linear', 'nearest', 'cubic']);
      oneOf(ctx, 'padding_mode', ['zeros', 'border', 'reflection']);
      return { outputs: [{ shape: [x.shape[0]!, x.shape[1]!, ...g.shape.slice(1, n + 1)], dtype: x.dtype }] };
    },
  }),

  AffineGrid: defineOp({
    name: 'AffineGrid',
    doc: 'The sampling grid [N,H,W,2] (or [N,D,H,W,3]) of affine matrices theta [N,2,3] (or [N,3,4]) for an output of `size`.',
    inputs: [{ name: 'theta', type: 'T1' }, { name: 'size', type: 'int64', value: true }],
    outputs: [{ name: 'grid', type: 'T1' }],
    attrs: { align_corners: { type: 'int', default: 0 } },
    types: { T1: FLOAT },
    infer(ctx) {
      const theta = inp(ctx, 0);
      const size = intValues(ctx, 1, 'size', true);
      if (size.length !== 4 && size.length !== 5) ctx.fail(`size ${fmt(size)} must be [N,C,H,W] or [N,C,D,H,W]`);
      if (size.some((d) => d < 0)) ctx.fail(`size ${fmt(size)} must be >= 0`);
      const n = size.length - 2;
      if (fmt(theta.shape) !== fmt([size[0]!, n, n + 1])) ctx.fail(`theta must have shape ${fmt([size[0]!, n, n + 1])} for size ${fmt(size)}, got ${fmt(theta.shape)}`);
      return { outputs: [{ shape: [size[0]!, ...size.slice(2), n], dtype: theta.dtype }] };
    },
  }),

  CenterCropPad: defineOp({
    name: 'CenterCropPad',
    doc: 'Crops or zero-pads each axis in `axes` (default all) to the given shape, keeping the content centered.',
    inputs: [{ name: 'input_data', type: 'T' }, { name: 'shape', type: 'Tind', value: true }],
    outputs: [{ name: 'output_data', type: 'T' }],
    attrs: { axes: { type: 'ints' } },
    types: { T: ALL_DTYPES, Tind: ['int32', 'int64'] },
    /**
     * Cropping d to s starts at floor((d - s) / 2); padding d to s puts
     * floor((s - d) / 2) zeros before. Kernel attrs are Pad's: pads (negative
     * crops; begins then ends), mode 'constant' and value 0.
     */
    infer(ctx) {
      const x = inp(ctx, 0);
      const r = x.shape.length;
      const given = ctx.attrs.axes as number[] | undefined;
      const axes = given ? uniqueAxes(ctx, given, r) : x.shape.map((_, i) => i);
      const shape = intValues(ctx, 1, 'shape', true);
      if (shape.length !== axes.length || shape.some((d) => d < 0)) ctx.fail(`shape ${fmt(shape)} must have one non-negative size per axis in ${fmt(axes)}`);
      const out = x.shape.slice();
      const pads = new Array<number>(2 * r).fill(0);
      axes.forEach((a, i) => {
        const diff = shape[i]! - x.shape[a]!;
        // diff < 0 crops floor(-diff / 2) before and the rest after
        pads[a] = diff >= 0 ? Math.floor(diff / 2) : -Math.floor(-diff / 2);
        pads[a + r] = diff - pads[a]!;
        out[a] = shape[i]!;
      });
      return { outputs: [{ shape: out, dtype: x.dtype }], attrs: { pads, mode: 'constant', value: 0 } };
    },
  }),

  Einsum: defineOp({
    name: 'Einsum',
    doc: "Sum of products over the labels of an Einstein summation equation such as 'bij,bjk->bik' (NumPy's einsum).",
    inputs: [{ name: 'Inputs', type: 'T', variadic: true }],
    outputs: [{ name: 'Output', type: 'T' }],
    attrs: { equation: { type: 'string', required: true } },
    types: { T: NUMERIC_DTYPES },
    infer: einsumRule,
  }),

  HannWindow: windowOp('HannWindow', 'Hann window of `size` values: 0.5 - 0.5 cos(2 pi n / N), N = size (periodic) or size - 1.'),
  HammingWindow: windowOp('HammingWindow', 'Hamming window: 25/46 - 21/46 cos(2 pi n / N), N = size (periodic) or size - 1.'),
  BlackmanWindow: windowOp('BlackmanWindow', 'Blackman window: 0.42 - 0.5 cos(2 pi n / N) + 0.08 cos(4 pi n / N), N = size (periodic) or size - 1.'),
};
