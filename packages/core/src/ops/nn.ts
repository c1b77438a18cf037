/**
 * Neural-network ops: matrix products, convolution, pooling, normalization and
 * softmax. Shape rules resolve auto_pad and every defaulted window attribute, so
 * kernels always read explicit `kernel_shape`, `strides`, `dilations` and `pads`
 * (2 per spatial axis: all begins, then all ends).
 */
import { FLOAT_DTYPES } from '../dtype.js';
import { broadcastShapes, defineOp, type InferContext, type InferInput } from './schema.js';
import { axisIn, fmt, inp } from './tensor.js';

const FLOAT = FLOAT_DTYPES;
const GEMM_T = [...FLOAT, 'int32', 'int64', 'uint32', 'uint64'] as const;
const MAXPOOL_T = [...FLOAT, 'int8', 'uint8'] as const;

const AUTO_PAD = ['NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID'];

/**
 * Output spatial dims of a sliding window (Conv and the pools) and the explicit
 * window attributes for kernels. Per axis, with effective kernel
 * e = (k - 1) * dilation + 1:
 *   NOTSET/VALID: out = floor_or_ceil((in + pad_begin + pad_end - e) / stride) + 1,
 *     and with ceil_mode a last window that would start in the end padding is dropped;
 *   SAME_*: out = ceil(in / stride), total pad = max(0, (out - 1) * stride + e - in),
 *     the odd one goes to the end (SAME_UPPER) or the beginning (SAME_LOWER).
 */
function slidingWindow(ctx: InferContext, x: InferInput, kernel: readonly number[], isPool: boolean) {
  const spatial = x.shape.slice(2);
  const n = spatial.length;
  const list = (name: string, len: number, dflt: number, min: number): number[] => {
    const v = (ctx.attrs[name] as number[] | undefined) ?? new Array<number>(len).fill(dflt);
    if (v.length !== len) ctx.fail(`${name} ${fmt(v)} must have ${len} values for input ${fmt(x.shape)}`);
    if (v.some((d) => d < min)) ctx.fail(`${name} ${fmt(v)} must be >= ${min}`);
    return v;
  };
  const strides = list('strides', n, 1, 1);
  const dilations = list('dilations', n, 1, 1);
  const autoPad = ctx.attrs.auto_pad as string;
  if (!AUTO_PAD.includes(autoPad)) ctx.fail(`auto_pad '${autoPad}' is not one of ${AUTO_PAD.join(', ')}`);
  const explicit = list('pads', 2 * n, 0, 0);
  if (autoPad !== 'NOTSET' && explicit.some((p) => p !== 0)) ctx.fail(`pads ${fmt(explicit)} cannot be combined with auto_pad ${autoPad}`);
  const ceil = ctx.attrs.ceil_mode === 1;
  const pads = new Array<number>(2 * n).fill(0);
  const out = spatial.map((size, i) => {
    const s = strides[i]!;
    const e = (kernel[i]! - 1) * dilations[i]! + 1;
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
      const o = Math.ceil(size / s);
      const total = Math.max(0, (o - 1) * s + e - size);
      const small = Math.floor(total / 2);
      pads[i] = autoPad === 'SAME_UPPER' ? small : total - small;
      pads[i + n] = total - pads[i]!;
      return o;
    }
    if (autoPad === 'NOTSET') [pads[i], pads[i + n]] = [explicit[i]!, explicit[i + n]!];
    const [b, end] = [pads[i]!, pads[i + n]!];
    if (isPool && (b >= e || end >= e)) ctx.fail(`pads ${fmt(pads)} must be smaller than the window (${e} on spatial axis ${i})`);
    const span = size + b + end - e;
    if (span < 0) ctx.fail(`the window (${e} on spatial axis ${i}) is larger than the padded input ${size + b + end} of ${fmt(x.shape)}`);
    let o = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
    if (ceil && (o - 1) * s >= size + b) o--;
    return o;
  });
  return { out, attrs: { kernel_shape: kernel.slice(), strides, dilations, pads, auto_pad: 'NOTSET' } };
}

/** Input i as N x C x D1 x ... with at least `min` spatial dims (conv and pool inputs). */
export function spatialInput(ctx: InferContext, i = 0, min = 1): InferInput {
  const x = inp(ctx, i);
  if (x.shape.length < 2 + min) ctx.fail(`X must be N x C x D1 x ... (rank >= ${2 + min}), got ${fmt(x.shape)}`);
  return x;
}

function pool(ctx: InferContext) {
  const x = spatialInput(ctx);
  const kernel = ctx.attrs.kernel_shape as number[];
  if (kernel.length !== x.shape.length - 2) ctx.fail(`kernel_shape ${fmt(kernel)} must have one value per spatial axis of ${fmt(x.shape)}`);
  if (kernel.some((k) => k < 1)) ctx.fail(`kernel_shape ${fmt(kernel)} must be >= 1`);
  const w = slidingWindow(ctx, x, kernel, true);
  return { x, shape: [x.shape[0]!, x.shape[1]!, ...w.out], attrs: w.attrs };
}

function globalPool(ctx: InferContext) {
  const x = spatialInput(ctx);
  return { outputs: [{ shape: x.shape.map((d, i) => (i < 2 ? d : 1)), dtype: x.dtype }] };
}

function softmax(ctx: InferContext) {
  const x = inp(ctx, 0);
  return { outputs: [{ shape: x.shape.slice(), dtype: x.dtype }], attrs: { axis: axisIn(ctx, ctx.attrs.axis as number, x.shape.length) } };
}

/** The shape without its leading 1s, printed: equal results mean equal layouts. */
function dropLeadingOnes(s: readonly number[]): string {
  let i = 0;
  while (i < s.length && s[i] === 1) i++;
  return fmt(s.slice(i));
}

/** A 1-D input that must be [C]. */
function perChannel(ctx: InferContext, i: number, name: string, c: number) {
  const t = inp(ctx, i);
  if (t.shape.length !== 1 || t.shape[0] !== c) ctx.fail(`${name} must have shape [${c}] (one value per channel), got ${fmt(t.shape)}`);
}

/** Conv's attributes (FusedConv adds its activation; QLinearConv, ConvInteger share them). */
export const CONV_ATTRS = {
  auto_pad: { type: 'string', default: 'NOTSET' },
  dilations: { type: 'ints' },
  group: { type: 'int', default: 1 },
  kernel_shape: { type: 'ints' },
  pads: { type: 'ints' },
  strides: { type: 'ints' },
} as const;

/** Conv: X [N,C,D...], W [M,C/group,k...], B [M] -> Y [N,M,out...]. */
function convRule(ctx: InferContext) {
  const x = spatialInput(ctx);
  const w = inp(ctx, 1);
  if (w.shape.length !== x.shape.length) ctx.fail(`W ${fmt(w.shape)} must have the rank of X ${fmt(x.shape)}`);
  const group = ctx.attrs.group as number;
  const [m, cg] = [w.shape[0]!, w.shape[1]!];
  if (group < 1) ctx.fail(`group must be >= 1, got ${group}`);
  if (x.shape[1] !== cg * group)
    ctx.fail(`X ${fmt(x.shape)} has ${x.shape[1]} channels but W ${fmt(w.shape)} with group ${group} expects ${cg} x ${group} = ${cg * group}`);
  if (m % group !== 0) ctx.fail(`W ${fmt(w.shape)} has ${m} output channels, not divisible by group ${group}`);
  const kernel = w.shape.slice(2);
  const given = ctx.attrs.kernel_shape as number[] | undefined;
  if (given && fmt(given) !== fmt(kernel)) ctx.fail(`kernel_shape ${fmt(given)} differs from the spatial dims of W ${fmt(w.shape)}`);
  const bias = ctx.inputs[2];
  if (bias) perChannel(ctx, 2, 'B', m);
  const win = slidingWindow(ctx, x, kernel, false);
  return { outputs: [{ shape: [x.shape[0]!, m, ...win.out], dtype: x.dtype }], attrs: { ...win.attrs, group } };
}

/** FusedConv's activations and how many activation_params each takes. */
export const FUSED_ACTIVATIONS: Readonly<Record<string, number>> = { Identity: 0, Relu: 0, LeakyRelu: 1, Clip: 2 };

export const nnOps = {
  MatMul: defineOp({
    name: 'MatMul',
    doc: 'Matrix product with NumPy semantics: 1-D operands are promoted to matrices and batch dims broadcast.',
    inputs: [{ name: 'A', type: 'T' }, { name: 'B', type: 'T' }],
    outputs: [{ name: 'Y', type: 'T' }],
    types: { T: GEMM_T },
    fn: 'matmul',
    method: 'matmul',
    infer(ctx) {
      const [a, b] = [inp(ctx, 0), inp(ctx, 1)];
      const [ra, rb] = [a.shape.length, b.shape.length];
      if (ra === 0 || rb === 0) ctx.fail(`operands must have rank >= 1: ${fmt(a.shape)} x ${fmt(b.shape)}`);
      const as = ra === 1 ? [1, a.shape[0]!] : a.shape;
      const bs = rb === 1 ? [b.shape[0]!, 1] : b.shape;
      if (as[as.length - 1] !== bs[bs.length - 2]) ctx.fail(`inner dimensions differ: ${fmt(a.shape)} x ${fmt(b.shape)}`);
      const batch = broadcastShapes({ ...ctx, fail: (m: string) => ctx.fail(`batch dims of ${fmt(a.shape)} x ${fmt(b.shape)}: ${m}`) }, [
        as.slice(0, -2),
        bs.slice(0, -2),
      ]);
      const shape = [...batch, ...(ra === 1 ? [] : [as[as.length - 2]!]), ...(rb === 1 ? [] : [bs[bs.length - 1]!])];
      return { outputs: [{ shape, dtype: a.dtype }] };
    },
  }),

  Gemm: defineOp({
    name: 'Gemm',
    doc: 'Y = alpha * op(A) @ op(B) + beta * C for 2-D A and B (op transposes when transA/transB); C broadcasts to [M,N].',
    inputs: [{ name: 'A', type: 'T' }, { name: 'B', type: 'T' }, { name: 'C', type: 'T', optional: true }],
    outputs: [{ name: 'Y', type: 'T' }],
    attrs: {
      alpha: { type: 'float', default: 1 },
      beta: { type: 'float', default: 1 },
      transA: { type: 'int', default: 0 },
      transB: { type: 'int', default: 0 },
    },
    types: { T: GEMM_T },
    infer(ctx) {
      const [a, b, c] = [inp(ctx, 0), inp(ctx, 1), ctx.inputs[2]];
      if (a.shape.length !== 2 || b.shape.length !== 2) ctx.fail(`A and B must be 2-D, got ${fmt(a.shape)} and ${fmt(b.shape)}`);
      const [m, k] = ctx.attrs.transA ? [a.shape[1]!, a.shape[0]!] : [a.shape[0]!, a.shape[1]!];
      const [k2, n] = ctx.attrs.transB ? [b.shape[1]!, b.shape[0]!] : [b.shape[0]!, b.shape[1]!];
      if (k !== k2)
        ctx.fail(`inner dimensions differ: A ${fmt(a.shape)} (transA=${ctx.attrs.transA}) x B ${fmt(b.shape)} (transB=${ctx.attrs.transB})`);
      if (c) {
        const cs = c.shape;
        const ok = cs.length <= 2 && cs.every((d, i) => d === 1 || d === [m, n][2 - cs.length + i]);
        if (!ok) ctx.fail(`C ${fmt(cs)} cannot be broadcast to [${m},${n}]`);
      }
      return { outputs: [{ shape: [m, n], dtype: a.dtype }] };
    },
  }),

  Conv: defineOp({
    name: 'Conv',
    doc: 'N-D convolution (cross-correlation) of X [N,C,D...] with W [M,C/group,k...], plus optional bias B [M].',
    inputs: [{ name: 'X', type: 'T' }, { name: 'W', type: 'T' }, { name: 'B', type: 'T', optional: true }],
    outputs: [{ name: 'Y', type: 'T' }],
    attrs: CONV_ATTRS,
    types: { T: FLOAT },
    infer: convRule,
  }),
  FusedConv: defineOp({
    name: 'FusedConv',
    domain: 'mx',
    doc: "Y = activation(Conv(X, W, B) + Z) in one kernel, Z (optional, Y's shape) a residual added before the activation: the ONNX executor makes it from Conv -> Add -> Relu, Conv -> Relu, LeakyRelu or Clip when the Conv's backend declares it. activation: 'Identity', 'Relu', 'LeakyRelu' (activation_params [alpha]) or 'Clip' ([min, max]).",
    inputs: [{ name: 'X', type: 'T' }, { name: 'W', type: 'T' }, { name: 'B', type: 'T', optional: true }, { name: 'Z', type: 'T', optional: true }],
    outputs: [{ name: 'Y', type: 'T' }],
    attrs: { ...CONV_ATTRS, activation: { type: 'string', default: 'Relu' }, activation_params: { type: 'floats' } },
    types: { T: FLOAT },
    infer(ctx) {
      const act = ctx.attrs.activation as string;
      const params = (ctx.attrs.activation_params as number[] | undefined) ?? [];
      const want = FUSED_ACTIVATIONS[act];
      if (want === undefined) ctx.fail(`activation must be one of ${Object.keys(FUSED_ACTIVATIONS).join(', ')}, got '${act}'`);
      if (params.length !== want) ctx.fail(`activation ${act} takes ${want} activation_params, got ${params.length}`);
      const res = convRule(ctx);
      const z = ctx.inputs[3];
      if (z && fmt(z.shape) !== fmt(res.outputs[0]!.shape)) ctx.fail(`Z ${fmt(z.shape)} must have the output's shape ${fmt(res.outputs[0]!.shape)}`);
      return res;
    },
  }),

  MaxPool: defineOp({
    name: 'MaxPool',
    doc: 'Max over sliding windows (padding never wins); optional Indices: flat input positions of the maxima.',
    inputs: [{ name: 'X', type: 'T' }],
    outputs: [{ name: 'Y', type: 'T' }, { name: 'Indices', type: 'int64', optional: true }],
    attrs: {
      auto_pad: { type: 'string', default: 'NOTSET' },
      ceil_mode: { type: 'int', default: 0 },
      dilations: { type: 'ints' },
      kernel_shape: { type: 'ints', required: true },
      pads: { type: 'ints' },
      storage_order: { type: 'int', default: 0 },
      strides: { type: 'ints' },
    },
    types: { T: MAXPOOL_T },
    infer(ctx) {
      const p = pool(ctx);
      const order = ctx.attrs.storage_order;
      if (order !== 0 && order !== 1) ctx.fail(`storage_order must be 0 (row major) or 1 (column major), got ${order}`);
      const outputs = [{ shape: p.shape, dtype: p.x.dtype }];
      if (ctx.numOutputs > 1) outputs.push({ shape: p.shape.slice(), dtype: 'int64' });
      return { outputs, attrs: p.attrs };
    },
  }),

  AveragePool: defineOp({
    name: 'AveragePool',
    doc: 'Mean over sliding windows; padding counts in the divisor only with count_include_pad=1.',
    inputs: [{ name: 'X', type: 'T' }],
    outputs: [{ name: 'Y', type: 'T' }],
    attrs: {
      auto_pad: { type: 'string', default: 'NOTSET' },
      ceil_mode: { type: 'int', default: 0 },
      count_include_pad: { type: 'int', default: 0 },
      dilations: { type: 'ints' },
      kernel_shape: { type: 'ints', required: true },
      pads: { type: 'ints' },
      strides: { type: 'ints' },
    },
    types: { T: FLOAT },
    infer(ctx) {
      const p = pool(ctx);
      return { outputs: [{ shape: p.shape, dtype: p.x.dtype }], attrs: p.attrs };
    },
  }),

  GlobalAveragePool: defineOp({
    name: 'GlobalAveragePool',
    doc: 'Mean over all spatial dims of X [N,C,D...], keeping them as 1s.',
    inputs: [{ name: 'X', type: 'T' }],
    outputs: [{ name: 'Y', type: 'T' }],
    types: { T: FLOAT },
    infer: globalPool,
  }),

  GlobalMaxPool: defineOp({
    name: 'GlobalMaxPool',
    doc: 'Max over all spatial dims of X [N,C,D...], keeping them as 1s.',
    inputs: [{ name: 'X', type: 'T' }],
    outputs: [{ name: 'Y', type: 'T' }],
    types: { T: FLOAT },
    infer: globalPool,
  }),

  BatchNormalization: defineOp({
    name: 'BatchNormalization',
    doc: 'Batch norm over channel axis 1: Y = (X - mean) / sqrt(var + epsilon) * scale + B, with the input statistics, or with those of X when training_mode=1 (then running_mean/var = input * momentum + current * (1 - momentum)).',
    inputs: [
      { name: 'X', type: 'T' },
      { name: 'scale', type: 'T1' },
      { name: 'B', type: 'T1' },
      { name: 'input_mean', type: 'T2' },
      { name: 'input_var', type: 'T2' },
    ],
    outputs: [
      { name: 'Y', type: 'T' },
      { name: 'running_mean', type: 'T2', optional: true },
      { name: 'running_var', type: 'T2', optional: true },
    ],
    attrs: {
      epsilon: { type: 'float', default: 1e-5 },
      momentum: { type: 'float', default: 0.9 },
      training_mode: { type: 'int', default: 0 },
    },
    types: { T: FLOAT, T1: FLOAT, T2: FLOAT },
    infer(ctx) {
      const x = inp(ctx, 0);
      const training = ctx.attrs.training_mode;
      if (training !== 0 && training !== 1) ctx.fail(`training_mode must be 0 or 1, got ${training}`);
      if (ctx.numOutputs > 1 && !training) ctx.fail('running_mean and running_var are outputs of training_mode=1');
      if (x.shape.length < 2) ctx.fail(`X must be N x C x ... (rank >= 2), got ${fmt(x.shape)}`);
      const c = x.shape[1]!;
      ['scale', 'B', 'input_mean', 'input_var'].forEach((name, i) => perChannel(ctx, i + 1, name, c));
      const outputs = [{ shape: x.shape.slice(), dtype: x.dtype }];
      for (let i = 1; i < ctx.numOutputs; i++) outputs.push({ shape: [c], dtype: inp(ctx, 3).dtype });
      return { outputs };
    },
  }),

  LayerNormalization: defineOp({
    name: 'LayerNormalization',
    doc: 'Normalizes X over dims axis.. to zero mean and unit variance, then * Scale + B; optional Mean and InvStdDev outputs.',
    inputs: [{ name: 'X', type: 'T' }, { name: 'Scale', type: 'T' }, { name: 'B', type: 'T', optional: true }],
    outputs: [
      { name: 'Y', type: 'T' },
      { name: 'Mean', type: 'T', optional: true },
      { name: 'InvStdDev', type: 'T', optional: true },
    ],
    attrs: {
      axis: { type: 'int', default: -1 },
      epsilon: { type: 'float', default: 1e-5 },
      stash_type: { type: 'int', default: 1 },
    },
    types: { T: FLOAT },
    infer(ctx) {
      const x = inp(ctx, 0);
      const a = axisIn(ctx, ctx.attrs.axis as number, x.shape.length);
      const norm = x.shape.slice(a);
      // Scale and B are read flat over the normalized block: their shape must be
      // the normalized shape, up to leading 1s.
      for (const [i, name] of [[1, 'Scale'], [2, 'B']] as const) {
        const t = ctx.inputs[i];
        if (t && (t.shape.length > x.shape.length || dropLeadingOnes(t.shape) !== dropLeadingOnes(norm)))
          ctx.fail(`${name} ${fmt(t.shape)} must have the normalized shape ${fmt(norm)} (X.shape[${a}:])`);
      }
      const stats = x.shape.map((d, i) => (i < a ? d : 1));
      const outputs = [{ shape: x.shape.slice(), dtype: x.dtype }];
      for (let i = 1; i < Math.min(ctx.numOutputs, 3); i++) outputs.push({ shape: stats.slice(), dtype: x.dtype });
      return { outputs, attrs: { axis: a } };
    },
  }),

  Softmax: defineOp({
    name: 'Softmax',
    doc: 'exp(x) / sum(exp(x)) along `axis`.',
    inputs: [{ name: 'input', type: 'T' }],
    outputs: [{ name: 'output', type: 'T' }],
    attrs: { axis: { type: 'int', default: -1 } },
    types: { T: FLOAT },
    infer: softmax,
  }),

  LogSoftmax: defineOp({
    name: 'LogSoftmax',
    doc: 'x - log(sum(exp(x))) along `axis`.',
    inputs: [{ name: 'input', type: 'T' }],
    outputs: [{ name: 'output', type: 'T' }],
    attrs: { axis: { type: 'int', default: -1 } },
    types: { T: FLOAT },
    infer: softmax,
  }),
};
