/**
 * Sequence-model ops: recurrent layers (RNN, GRU, LSTM), attention
 * (Attention, RotaryEmbedding), the linear-attention blocks of Gated DeltaNet
 * and Mamba models (CausalConvWithState, LinearAttention), losses, quantization
 * and signal processing.
 *
 * Shape rules resolve every defaulted attribute, so kernels read explicit values:
 * recurrent ops get `hidden_size`, one canonical activation name per function and
 * direction with its alpha and beta; Attention gets both head counts and the
 * scale; quantization ops get a non-negative `axis`; DFT, STFT and
 * MelWeightMatrix get their value inputs (`dft_length`, `axis`, `frame_step`,
 * `frame_length`, the mel parameters) as attributes.
 *
 * Type constraints follow ONNX restricted to mx's dtypes, with these
 * simplifications: Attention's V shares Q and K's constraint (ONNX's T2 would let
 * V differ in float type, which no exporter produces); Attention's attn_mask (U)
 * is a bool mask (true takes part) or an additive mask of Q's dtype, so its
 * kernel keys are "T1" (no mask), "T1,T1" and "T1,bool"; QuantizeLinear's scale is a float type (ONNX also lists int32,
 * whose division precision is undefined). Accepted and without effect:
 * Attention's softmax_precision (the softmax runs in float32 or wider).
 * QuantizeLinear's saturate concerns float8 outputs only; float types add the
 * zero point to x / y_scale before the conversion, as ONNX's float4e2m1 does.
 */
import { FLOAT_DTYPES, type DType } from '../dtype.js';
import { CONV_ATTRS, nnOps } from './nn.js';
import { defineOp, sizeOf, type InferContext, type InferInput, type InferResult } from './schema.js';
import { axisIn, fmt, inp } from './tensor.js';

const FLOAT = FLOAT_DTYPES;
/** ONNX's "float, float16, bfloat16" constraints (no float64). */
const FLOAT32_16 = ['float32', 'float16', 'bfloat16'] as const;
const IND = ['int32', 'int64'] as const;
const Q8 = ['int8', 'uint8'] as const;
/** Quantized types: ONNX's T3 of QuantizeLinear (the float8 types but e8m0, float4e2m1, the 4- and 2-bit integers). */
const QUANT = [
  'int8', 'uint8', 'int16', 'uint16', 'float8e4m3fn', 'float8e4m3fnuz', 'float8e5m2', 'float8e5m2fnuz', 'float4e2m1', 'int4', 'uint4', 'int2', 'uint2',
] as const;
const NUMERIC = ['float32', 'float64', 'float16', 'bfloat16', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64'] as const;

/** A string attribute restricted to a set of values. */
function oneOf(ctx: InferContext, name: string, allowed: readonly string[]): string {
  const v = ctx.attrs[name] as string;
  if (!allowed.includes(v)) ctx.fail(`attribute ${name} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${JSON.stringify(v)}`);
  return v;
}

/** An int attribute restricted to a set of values. */
function intIn(ctx: InferContext, name: string, allowed: readonly number[]): number {
  const v = ctx.attrs[name] as number;
  if (!allowed.includes(v)) ctx.fail(`attribute ${name} must be one of ${allowed.join(', ')}, got ${v}`);
  return v;
}

/** Fails unless optional input i is absent or has exactly `shape`. */
function shapeIs(ctx: InferContext, i: number, name: string, shape: readonly number[]): void {
  const t = ctx.inputs[i];
  if (t && fmt(t.shape) !== fmt(shape)) ctx.fail(`${name} must have shape ${fmt(shape)}, got ${fmt(t.shape)}`);
}

/** A value input that must hold one number (a scalar or a 1-element tensor). */
function scalarValue(ctx: InferContext, i: number, name: string): number | undefined {
  const v = ctx.value(i);
  if (v === undefined) return undefined;
  if (v.length !== 1) ctx.fail(`${name} must hold a single value, got ${v.length}`);
  return v[0]!;
}

// ---------------------------------------------------------------- recurrent layers

/**
 * Activation functions of RNN, GRU and LSTM, by canonical name, with the defaults
 * of the alpha and beta they read (absent: the function takes none). Names are
 * matched case-insensitively; activation_alpha/activation_beta values are
 * consumed in order by the functions that take them, defaults filling the rest.
 */
const RNN_ACTIVATIONS: Readonly<Record<string, { alpha?: number; beta?: number }>> = {
  Relu: {},
  Tanh: {},
  Sigmoid: {},
  Affine: { alpha: 1, beta: 0 },
  LeakyRelu: { alpha: 0.01 },
  ThresholdedRelu: { alpha: 1 },
  ScaledTanh: { alpha: 1, beta: 1 },
  HardSigmoid: { alpha: 0.2, beta: 0.5 },
  Elu: { alpha: 1 },
  Softsign: {},
  Softplus: {},
};

/** Per recurrent op: gates (blocks of hidden_size rows in W and R), default activations of one direction, state outputs. */
const CELLS = {
  RNN: { gates: 1, acts: ['Tanh'], states: 1 },
  GRU: { gates: 3, acts: ['Sigmoid', 'Tanh'], states: 1 },
  LSTM: { gates: 4, acts: ['Sigmoid', 'Tanh', 'Tanh'], states: 2 },
} as const;

/**
 * The rule shared by RNN, GRU and LSTM. Inputs X, W, R, B, sequence_lens,
 * initial_h (and initial_c, P for LSTM). layout 0: X [seq, batch, input],
 * Y [seq, dirs, batch, hidden], states [dirs, batch, hidden]; layout 1: X
 * [batch, seq, input], Y [batch, seq, dirs, hidden], states [batch, dirs, hidden].
 */
function recurrent(kind: keyof typeof CELLS) {
  return (ctx: InferContext): InferResult => {
    const cell = CELLS[kind];
    const [x, w] = [inp(ctx, 0), inp(ctx, 1)];
    const dirs = oneOf(ctx, 'direction', ['forward', 'reverse', 'bidirectional']) === 'bidirectional' ? 2 : 1;
    const layout = intIn(ctx, 'layout', [0, 1]);
    if (x.shape.length !== 3) ctx.fail(`X must be 3-D (${layout ? '[batch, seq, input]' : '[seq, batch, input]'}), got ${fmt(x.shape)}`);
    const [seq, batch, input] = layout ? [x.shape[1]!, x.shape[0]!, x.shape[2]!] : (x.shape as [number, number, number]);
    if (w.shape.length !== 3 || w.shape[0] !== dirs || w.shape[2] !== input || w.shape[1]! % cell.gates !== 0)
      ctx.fail(`W must be [${dirs}, ${cell.gates} * hidden_size, ${input}] (directions, gates x hidden, input), got ${fmt(w.shape)}`);
    const hidden = w.shape[1]! / cell.gates;
    const given = ctx.attrs.hidden_size as number | undefined;
    if (given !== undefined && given !== hidden) ctx.fail(`hidden_size ${given} differs from W ${fmt(w.shape)}, which gives ${hidden}`);
    const gh = cell.gates * hidden;
    shapeIs(ctx, 2, 'R', [dirs, gh, hidden]);
    shapeIs(ctx, 3, 'B', [dirs, 2 * gh]);
    shapeIs(ctx, 4, 'sequence_lens', [batch]);
    const state = layout ? [batch, dirs, hidden] : [dirs, batch, hidden];
    shapeIs(ctx, 5, 'initial_h', state);
    if (kind === 'LSTM') {
      shapeIs(ctx, 6, 'initial_c', state);
      shapeIs(ctx, 7, 'P', [dirs, 3 * hidden]);
      intIn(ctx, 'input_forget', [0, 1]);
    }
    if (kind === 'GRU') intIn(ctx, 'linear_before_reset', [0, 1]);
    const clip = ctx.attrs.clip as number | undefined;
    if (clip !== undefined && !(clip > 0)) ctx.fail(`clip must be positive, got ${clip}`);

    // Activations: one per function and direction, forward first.
    const names = (ctx.attrs.activations as string[] | undefined) ?? [];
    const per = cell.acts.length;
    const list = names.length === 0 ? Array.from({ length: dirs }, () => [...cell.acts]).flat() : names.length === per && dirs === 2 ? [...names, ...names] : names;
    if (list.length !== per * dirs) ctx.fail(`activations must list ${per * dirs} functions (${per} per direction), got ${names.length}`);
    const canonical = list.map((n) => {
      const c = Object.keys(RNN_ACTIVATIONS).find((k) => k.toLowerCase() === n.toLowerCase());
      if (!c) ctx.fail(`unknown activation '${n}'; supported: ${Object.keys(RNN_ACTIVATIONS).join(', ')}`);
      return c;
    });
    const alphas = [...((ctx.attrs.activation_alpha as number[] | undefined) ?? [])];
    const betas = [...((ctx.attrs.activation_beta as number[] | undefined) ?? [])];
    const alpha = canonical.map((c) => (RNN_ACTIVATIONS[c]!.alpha === undefined ? 0 : (alphas.shift() ?? RNN_ACTIVATIONS[c]!.alpha!)));
    const beta = canonical.map((c) => (RNN_ACTIVATIONS[c]!.beta === undefined ? 0 : (betas.shift() ?? RNN_ACTIVATIONS[c]!.beta!)));

    const dt = x.dtype;
    const outputs = [{ shape: layout ? [batch, seq, dirs, hidden] : [seq, dirs, batch, hidden], dtype: dt }];
    for (let i = 1; i < Math.min(ctx.numOutputs, 1 + cell.states); i++) outputs.push({ shape: state.slice(), dtype: dt });
    return { outputs, attrs: { hidden_size: hidden, activations: canonical, activation_alpha: alpha, activation_beta: beta } };
  };
}

const RECURRENT_ATTRS = {
  activation_alpha: { type: 'floats' },
  activation_beta: { type: 'floats' },
  activations: { type: 'strings' },
  clip: { type: 'float' },
  direction: { type: 'string', default: 'forward' },
  hidden_size: { type: 'int' },
  layout: { type: 'int', default: 0 },
} as const;

const RECURRENT_INPUTS = [
  { name: 'X', type: 'T' },
  { name: 'W', type: 'T' },
  { name: 'R', type: 'T' },
  { name: 'B', type: 'T', optional: true },
  { name: 'sequence_lens', type: 'int32', optional: true },
  { name: 'initial_h', type: 'T', optional: true },
] as const;

// ---------------------------------------------------------------- attention

/** Attention shapes in the 4-D [batch, heads, seq, head_size] view. */
function attention(ctx: InferContext): InferResult {
  const [q, k, v] = [inp(ctx, 0), inp(ctx, 1), inp(ctx, 2)];
  const rank = q.shape.length;
  if ((rank !== 3 && rank !== 4) || k.shape.length !== rank || v.shape.length !== rank)
    ctx.fail(`Q, K and V must all be 3-D [batch, seq, hidden] or all 4-D [batch, heads, seq, head_size], got ${fmt(q.shape)}, ${fmt(k.shape)}, ${fmt(v.shape)}`);
  const batch = q.shape[0]!;
  if (k.shape[0] !== batch || v.shape[0] !== batch) ctx.fail(`Q, K and V must have the same batch size, got ${fmt(q.shape)}, ${fmt(k.shape)}, ${fmt(v.shape)}`);
  let qHeads = ctx.attrs.q_num_heads as number | undefined;
  let kvHeads = ctx.attrs.kv_num_heads as number | undefined;
  let qSeq: number, kvSeq: number, head: number, vHead: number;
  if (rank === 3) {
    if (!qHeads || !kvHeads || qHeads < 1 || kvHeads < 1) ctx.fail('3-D inputs need the attributes q_num_heads and kv_num_heads (positive)');
    if (q.shape[2]! % qHeads !== 0 || k.shape[2]! % kvHeads !== 0 || v.shape[2]! % kvHeads !== 0)
      ctx.fail(`hidden sizes of Q ${fmt(q.shape)} (q_num_heads ${qHeads}) and K, V ${fmt(k.shape)}, ${fmt(v.shape)} (kv_num_heads ${kvHeads}) must divide by the head counts`);
    [qSeq, kvSeq, head, vHead] = [q.shape[1]!, k.shape[1]!, q.shape[2]! / qHeads, v.shape[2]! / kvHeads];
    if (k.shape[2]! / kvHeads !== head) ctx.fail(`K's head size ${k.shape[2]! / kvHeads} differs from Q's ${head}`);
  } else {
    if ((qHeads && qHeads !== q.shape[1]) || (kvHeads && kvHeads !== k.shape[1])) ctx.fail(`q_num_heads ${qHeads} / kv_num_heads ${kvHeads} differ from the head dims of Q ${fmt(q.shape)} and K ${fmt(k.shape)}`);
    [qHeads, kvHeads] = [q.shape[1]!, k.shape[1]!];
    [qSeq, kvSeq, head, vHead] = [q.shape[2]!, k.shape[2]!, q.shape[3]!, v.shape[3]!];
    if (v.shape[1] !== kvHeads || v.shape[2] !== kvSeq || k.shape[3] !== head)
      ctx.fail(`K ${fmt(k.shape)} must be [${batch}, kv_heads, kv_seq, ${head}] and V ${fmt(v.shape)} [${batch}, ${kvHeads}, ${kvSeq}, v_head_size]`);
  }
  if (rank === 3 && v.shape[1] !== kvSeq) ctx.fail(`K ${fmt(k.shape)} and V ${fmt(v.shape)} must have the same sequence length`);
  if (qHeads % kvHeads !== 0) ctx.fail(`q_num_heads ${qHeads} must be a multiple of kv_num_heads ${kvHeads}`);
  const [pk, pv] = [ctx.inputs[4], ctx.inputs[5]];
  if (!pk !== !pv) ctx.fail('past_key and past_value must be given together');
  const past = pk ? pk.shape[2]! : 0;
  if (pk) {
    shapeIs(ctx, 4, 'past_key', [batch, kvHeads, past, head]);
    shapeIs(ctx, 5, 'past_value', [batch, kvHeads, past, vHead]);
  }
  const total = past + kvSeq;
  const mask = ctx.inputs[3];
  if (mask) {
    if (mask.dtype !== 'bool' && mask.dtype !== q.dtype) ctx.fail(`attn_mask must be bool or of Q's dtype ${q.dtype}, got ${mask.dtype}`);
    const ms = mask.shape;
    // The mask broadcasts to [batch, q_heads, q_seq, total]; a shorter last dim is padded with masked-out keys.
    if (ms.length < 2 || ms.length > 4 || ms[ms.length - 1]! > total)
      ctx.fail(`attn_mask ${fmt(ms)} must be 2-D to 4-D with at most ${total} (total sequence length) columns`);
    const full = [batch, qHeads, qSeq];
    ms.slice(0, -1).forEach((d, i) => {
      const want = full[3 - (ms.length - 1) + i]!;
      if (d !== 1 && d !== want) ctx.fail(`attn_mask ${fmt(ms)} does not broadcast to [${batch},${qHeads},${qSeq},${total}]`);
    });
  }
  shapeIs(ctx, 6, 'nonpad_kv_seqlen', [batch]);
  const mode = intIn(ctx, 'qk_matmul_output_mode', [0, 1, 2, 3]);
  intIn(ctx, 'is_causal', [0, 1]);
  const scale = (ctx.attrs.scale as number | undefined) ?? 1 / Math.sqrt(head);
  const dt = q.dtype;
  if (k.dtype !== dt || v.dtype !== dt) ctx.fail('Q, K and V must have the same dtype');
  const outputs = [{ shape: rank === 3 ? [batch, qSeq, qHeads * vHead] : [batch, qHeads, qSeq, vHead], dtype: dt }];
  const extra = [
    [batch, kvHeads, total, head],
    [batch, kvHeads, total, vHead],
    [batch, qHeads, qSeq, total],
  ];
  for (let i = 1; i < Math.min(ctx.numOutputs, 4); i++) outputs.push({ shape: extra[i - 1]!, dtype: dt });
  return { outputs, attrs: { q_num_heads: qHeads, kv_num_heads: kvHeads, scale, qk_matmul_output_mode: mode } };
}

// ---------------------------------------------------------------- linear attention (Gated DeltaNet, Mamba)

/** CausalConvWithState: input [B, C, L], depthwise weight [C, 1, K]; the state holds the last K - 1 positions. */
function causalConv(ctx: InferContext): InferResult {
  const [x, w] = [inp(ctx, 0), inp(ctx, 1)];
  if (x.shape.length !== 3) ctx.fail(`input must be 3-D [batch, channels, length], got ${fmt(x.shape)}`);
  const [b, c] = [x.shape[0]!, x.shape[1]!];
  if (w.shape.length !== 3 || w.shape[0] !== c || w.shape[1] !== 1 || w.shape[2]! < 1) ctx.fail(`weight must be [${c}, 1, kernel_size], got ${fmt(w.shape)}`);
  const k = w.shape[2]!;
  shapeIs(ctx, 2, 'bias', [c]);
  shapeIs(ctx, 3, 'past_state', [b, c, k - 1]);
  if (ctx.inputs.some((t) => t && t.dtype !== x.dtype)) ctx.fail('every input must have the dtype of input');
  oneOf(ctx, 'activation', ['none', 'silu', 'swish']);
  const outputs = [{ shape: x.shape.slice(), dtype: x.dtype }];
  if (ctx.numOutputs > 1) outputs.push({ shape: [b, c, k - 1], dtype: x.dtype });
  return { outputs };
}

/**
 * LinearAttention: query [B, T, Hq*dk], key [B, T, Hkv*dk], value [B, T, Hkv*dv];
 * decay [B, T, Hkv*dk] (per key row) or [B, T, Hkv] (per head); beta [B, T, Hkv]
 * or [B, T, 1]. Folds the head sizes, the scale, and how decay and beta are laid out.
 */
function linearAttention(ctx: InferContext): InferResult {
  const [q, k, v] = [inp(ctx, 0), inp(ctx, 1), inp(ctx, 2)];
  if (q.shape.length !== 3 || k.shape.length !== 3 || v.shape.length !== 3) ctx.fail('query, key and value must be 3-D [batch, seq, heads * head_size]');
  const [b, t] = [q.shape[0]!, q.shape[1]!];
  if ([k, v].some((x) => x.shape[0] !== b || x.shape[1] !== t)) ctx.fail('query, key and value must have the same batch and sequence sizes');
  if (ctx.inputs.some((x) => x && x.dtype !== q.dtype)) ctx.fail('every input must have the dtype of query');
  const hq = ctx.attrs.q_num_heads as number | undefined;
  const hkv = ctx.attrs.kv_num_heads as number | undefined;
  if (!hq || !hkv || hq < 1 || hkv < 1 || hq % hkv !== 0) ctx.fail(`q_num_heads (${hq}) must be a positive multiple of kv_num_heads (${hkv})`);
  const dk = q.shape[2]! / hq;
  const dv = v.shape[2]! / hkv;
  if (!Number.isInteger(dk) || !Number.isInteger(dv) || k.shape[2] !== hkv * dk)
    ctx.fail(`query ${fmt(q.shape)}, key ${fmt(k.shape)} and value ${fmt(v.shape)} must split into ${hq} query heads and ${hkv} key/value heads of one key size`);
  const rule = oneOf(ctx, 'update_rule', ['linear', 'gated', 'delta', 'gated_delta']);
  const [decay, beta] = [ctx.inputs[4], ctx.inputs[5]];
  const gated = rule.startsWith('gated');
  const delta = rule.endsWith('delta');
  if (gated !== !!decay) ctx.fail(`decay is ${gated ? 'required' : 'not taken'} by update_rule '${rule}'`);
  if (delta !== !!beta) ctx.fail(`beta is ${delta ? 'required' : 'not taken'} by update_rule '${rule}'`);
  const last = (x: InferInput | undefined, name: string, allowed: number[]) => {
    if (!x) return 0;
    if (x.shape.length !== 3 || x.shape[0] !== b || x.shape[1] !== t || !allowed.includes(x.shape[2]!)) ctx.fail(`${name} must be [${b}, ${t}, ${allowed.join(' or ')}], got ${fmt(x.shape)}`);
    return x.shape[2]!;
  };
  const decayWidth = last(decay, 'decay', [hkv * dk, hkv]);
  const betaWidth = last(beta, 'beta', [hkv, 1]);
  shapeIs(ctx, 3, 'past_state', [b, hkv, dk, dv]);
  const scale = (ctx.attrs.scale as number | undefined) || 1 / Math.sqrt(dk);
  const outputs = [{ shape: [b, t, hq * dv], dtype: q.dtype }];
  if (ctx.numOutputs > 1) outputs.push({ shape: [b, hkv, dk, dv], dtype: q.dtype });
  return { outputs, attrs: { q_num_heads: hq, kv_num_heads: hkv, scale, decay_per_row: decayWidth === hkv * dk && dk > 1 ? 1 : 0, beta_per_head: betaWidth === hkv ? 1 : 0 } };
}

// ---------------------------------------------------------------- losses

/** input [N, C, d...], target [N, d...], weight [C]; the loss is per element or reduced to a scalar. */
function loss(ctx: InferContext): InferResult {
  const [x, t] = [inp(ctx, 0), inp(ctx, 1)];
  if (x.shape.length < 2) ctx.fail(`input must be [N, C, d1, ...] (rank >= 2), got ${fmt(x.shape)}`);
  const want = [x.shape[0]!, ...x.shape.slice(2)];
  if (fmt(t.shape) !== fmt(want)) ctx.fail(`target must have shape ${fmt(want)} (the input's without C), got ${fmt(t.shape)}`);
  shapeIs(ctx, 2, 'weight', [x.shape[1]!]);
  const reduction = oneOf(ctx, 'reduction', ['none', 'sum', 'mean']);
  const outputs = [{ shape: reduction === 'none' ? want : [], dtype: x.dtype }];
  if (ctx.numOutputs > 1) outputs.push({ shape: x.shape.slice(), dtype: x.dtype });
  return { outputs };
}

const LOSS_ATTRS = { ignore_index: { type: 'int' }, reduction: { type: 'string', default: 'mean' } } as const;

// ---------------------------------------------------------------- quantization

/**
 * Checks a scale (and zero point of the same shape) against x: per tensor (one
 * element), per axis (1-D of x.shape[axis]) or blocked (x's shape with
 * ceil(x.shape[axis] / block_size) along axis). Returns the non-negative axis.
 */
function quantParams(ctx: InferContext, x: InferInput, scale: InferInput, zp: InferInput | undefined, names: [string, string]): number {
  // Per tensor, a scalar and a 1-element 1-D tensor are interchangeable.
  const single = (t: InferInput) => sizeOf(t.shape) === 1 && t.shape.length <= 1;
  if (zp && fmt(zp.shape) !== fmt(scale.shape) && !(single(zp) && single(scale)))
    ctx.fail(`${names[1]} ${fmt(zp.shape)} must have the shape of ${names[0]} ${fmt(scale.shape)}`);
  const block = ctx.attrs.block_size as number;
  if (block < 0) ctx.fail(`block_size must be >= 0, got ${block}`);
  if (sizeOf(scale.shape) === 1 && scale.shape.length <= 1 && block === 0) return 0;
  const axis = axisIn(ctx, ctx.attrs.axis as number, x.shape.length);
  const d = x.shape[axis]!;
  if (block === 0) {
    if (scale.shape.length !== 1 || scale.shape[0] !== d)
      ctx.fail(`per-axis ${names[0]} must be 1-D of length ${d} (x ${fmt(x.shape)} along axis ${axis}), got ${fmt(scale.shape)}`);
  } else {
    const want = x.shape.map((n, i) => (i === axis ? Math.ceil(n / block) : n));
    if (fmt(scale.shape) !== fmt(want)) ctx.fail(`blocked ${names[0]} must have shape ${fmt(want)} (x ${fmt(x.shape)}, block_size ${block} along axis ${axis}), got ${fmt(scale.shape)}`);
  }
  return axis;
}

const QUANT_ATTRS = { axis: { type: 'int', default: 1 }, block_size: { type: 'int', default: 0 }, output_dtype: { type: 'dtype' } } as const;

/** Zero point of a QLinear/Integer op: absent, one element, or one per index of `axis` of the operand. */
function zeroPoint(ctx: InferContext, i: number, name: string, count: number, what: string): void {
  const t = ctx.inputs[i];
  if (t && sizeOf(t.shape) !== 1 && (t.shape.length !== 1 || t.shape[0] !== count)) ctx.fail(`${name} must have one element or ${count} (${what}), got ${fmt(t.shape)}`);
}

/** The shape rule of Conv run on (x, w): output shape and resolved window attributes. */
function convShape(ctx: InferContext, x: InferInput, w: InferInput): InferResult {
  return nnOps.Conv.infer({ ...ctx, inputs: [x, w, undefined], value: (i) => ctx.value(i), fail: (m) => ctx.fail(m) });
}

/** The shape rule of MatMul run on (a, b). */
function matmulShape(ctx: InferContext, a: InferInput, b: InferInput): number[] {
  return nnOps.MatMul.infer({ ...ctx, inputs: [a, b], value: (i) => ctx.value(i), fail: (m) => ctx.fail(m) }).outputs[0]!.shape;
}

// ---------------------------------------------------------------- signal

/** Complex data as [..., 2] (real, imaginary) or real as [..., 1]. */
function complexLast(ctx: InferContext, x: InferInput, name: string): void {
  const c = x.shape[x.shape.length - 1];
  if (x.shape.length < 2 || (c !== 1 && c !== 2)) ctx.fail(`${name} must be [..., 1] (real) or [..., 2] (complex), got ${fmt(x.shape)}`);
}

export const sequenceOps = {
  CausalConvWithState: defineOp({
    name: 'CausalConvWithState',
    doc: "Causal depthwise 1-D convolution with a carried state: each channel of [past_state, input] convolved with its kernel (plus bias, then SiLU for activation 'silu'/'swish'); present_state is the last kernel_size - 1 positions.",
    inputs: [
      { name: 'input', type: 'T' },
      { name: 'weight', type: 'T' },
      { name: 'bias', type: 'T', optional: true },
      { name: 'past_state', type: 'T', optional: true },
    ],
    outputs: [{ name: 'output', type: 'T' }, { name: 'present_state', type: 'T', optional: true }],
    attrs: { activation: { type: 'string', default: 'none' } },
    types: { T: FLOAT },
    infer: causalConv,
  }),

  LinearAttention: defineOp({
    name: 'LinearAttention',
    doc: "Recurrent linear attention over packed heads: per step a state S [dk, dv] per key/value head is updated by update_rule 'linear' (S + k v^T), 'gated' (exp(g) S + k v^T), 'delta' or 'gated_delta' (S' + beta k (v - S'^T k)^T with S' = exp(g) S), and o = scale * S^T q.",
    inputs: [
      { name: 'query', type: 'T' },
      { name: 'key', type: 'T' },
      { name: 'value', type: 'T' },
      { name: 'past_state', type: 'T', optional: true },
      { name: 'decay', type: 'T', optional: true },
      { name: 'beta', type: 'T', optional: true },
    ],
    outputs: [{ name: 'output', type: 'T' }, { name: 'present_state', type: 'T', optional: true }],
    attrs: { kv_num_heads: { type: 'int' }, q_num_heads: { type: 'int' }, scale: { type: 'float' }, update_rule: { type: 'string', default: 'gated_delta' } },
    types: { T: FLOAT },
    infer: linearAttention,
  }),
  RNN: defineOp({
    name: 'RNN',
    doc: 'Elman recurrent layer: H_t = f(X_t W^T + H_{t-1} R^T + Wb + Rb) per direction; optional final state Y_h.',
    inputs: RECURRENT_INPUTS,
    outputs: [{ name: 'Y', type: 'T' }, { name: 'Y_h', type: 'T', optional: true }],
    attrs: RECURRENT_ATTRS,
    types: { T: FLOAT },
    fn: 'rnn',
    infer: recurrent('RNN'),
  }),

  GRU: defineOp({
    name: 'GRU',
    doc: 'Gated recurrent unit layer (gates z, r, h; linear_before_reset applies R_h before the reset gate); optional final state Y_h.',
    inputs: RECURRENT_INPUTS,
    outputs: [{ name: 'Y', type: 'T' }, { name: 'Y_h', type: 'T', optional: true }],
    attrs: { ...RECURRENT_ATTRS, linear_before_reset: { type: 'int', default: 0 } },
    types: { T: FLOAT },
    fn: 'gru',
    infer: recurrent('GRU'),
  }),

  LSTM: defineOp({
    name: 'LSTM',
    doc: 'Long short-term memory layer (gates i, o, f, c; optional peepholes P and coupled input-forget gate); optional final states Y_h, Y_c.',
    inputs: [...RECURRENT_INPUTS, { name: 'initial_c', type: 'T', optional: true }, { name: 'P', type: 'T', optional: true }],
    outputs: [{ name: 'Y', type: 'T' }, { name: 'Y_h', type: 'T', optional: true }, { name: 'Y_c', type: 'T', optional: true }],
    attrs: { ...RECURRENT_ATTRS, input_forget: { type: 'int', default: 0 } },
    types: { T: FLOAT },
    fn: 'lstm',
    infer: recurrent('LSTM'),
  }),

  Attention: defineOp({
    name: 'Attention',
    doc: 'Scaled dot-product attention softmax(Q K^T * scale + mask) V with grouped heads, causal masking, softcap and a key/value cache.',
    inputs: [
      { name: 'Q', type: 'T1' },
      { name: 'K', type: 'T1' },
      { name: 'V', type: 'T1' },
      { name: 'attn_mask', type: 'U', optional: true },
      { name: 'past_key', type: 'T1', optional: true },
      { name: 'past_value', type: 'T1', optional: true },
      { name: 'nonpad_kv_seqlen', type: 'int64', optional: true },
    ],
    outputs: [
      { name: 'Y', type: 'T1' },
      { name: 'present_key', type: 'T1', optional: true },
      { name: 'present_value', type: 'T1', optional: true },
      { name: 'qk_matmul_output', type: 'T1', optional: true },
    ],
    attrs: {
      is_causal: { type: 'int', default: 0 },
      kv_num_heads: { type: 'int' },
      q_num_heads: { type: 'int' },
      qk_matmul_output_mode: { type: 'int', default: 0 },
      scale: { type: 'float' },
      softcap: { type: 'float', default: 0 },
      softmax_precision: { type: 'dtype' },
    },
    types: { T1: FLOAT, U: [...FLOAT, 'bool'] },
    infer: attention,
  }),

  RotaryEmbedding: defineOp({
    name: 'RotaryEmbedding',
    doc: 'Rotary position embedding: rotates pairs of the first rotary_embedding_dim features of each head by cached angles.',
    inputs: [
      { name: 'X', type: 'T' },
      { name: 'cos_cache', type: 'T' },
      { name: 'sin_cache', type: 'T' },
      { name: 'position_ids', type: 'int64', optional: true },
    ],
    outputs: [{ name: 'Y', type: 'T' }],
    attrs: { interleaved: { type: 'int', default: 0 }, num_heads: { type: 'int', default: 0 }, rotary_embedding_dim: { type: 'int', default: 0 } },
    types: { T: FLOAT32_16 },
    infer(ctx) {
      const [x, cos, sin] = [inp(ctx, 0), inp(ctx, 1), inp(ctx, 2)];
      const r = x.shape.length;
      if (r !== 3 && r !== 4) ctx.fail(`X must be [batch, heads, seq, head_size] or [batch, seq, hidden], got ${fmt(x.shape)}`);
      const heads = ctx.attrs.num_heads as number;
      let head: number;
      if (r === 4) head = x.shape[3]!;
      else {
        if (heads < 1 || x.shape[2]! % heads !== 0) ctx.fail(`3-D X ${fmt(x.shape)} needs num_heads (> 0) dividing its hidden size, got ${heads}`);
        head = x.shape[2]! / heads;
      }
      const rot = (ctx.attrs.rotary_embedding_dim as number) || head;
      if (rot % 2 !== 0 || rot > head || rot < 0) ctx.fail(`rotary_embedding_dim ${rot} must be even and at most the head size ${head}`);
      intIn(ctx, 'interleaved', [0, 1]);
      const [batch, seq] = r === 4 ? [x.shape[0]!, x.shape[2]!] : [x.shape[0]!, x.shape[1]!];
      const ids = ctx.inputs[3];
      if (ids) {
        shapeIs(ctx, 3, 'position_ids', [batch, seq]);
        if (cos.shape.length !== 2 || cos.shape[1] !== rot / 2) ctx.fail(`cos_cache must be [max_position, ${rot / 2}] with position_ids, got ${fmt(cos.shape)}`);
      } else if (fmt(cos.shape) !== fmt([batch, seq, rot / 2])) ctx.fail(`cos_cache must be [${batch}, ${seq}, ${rot / 2}] without position_ids, got ${fmt(cos.shape)}`);
      shapeIs(ctx, 2, 'sin_cache', cos.shape);
      return { outputs: [{ shape: x.shape.slice(), dtype: x.dtype }], attrs: { rotary_embedding_dim: rot, head_size: head } };
    },
  }),

  NegativeLogLikelihoodLoss: defineOp({
    name: 'NegativeLogLikelihoodLoss',
    doc: "loss = -input[n, target, d...] * weight[target]; reduction 'none', 'sum' or 'mean' (weighted); ignore_index entries count 0.",
    inputs: [{ name: 'input', type: 'T' }, { name: 'target', type: 'Tind' }, { name: 'weight', type: 'T', optional: true }],
    outputs: [{ name: 'loss', type: 'T' }],
    attrs: LOSS_ATTRS,
    types: { T: FLOAT, Tind: IND },
    infer: loss,
  }),

  SoftmaxCrossEntropyLoss: defineOp({
    name: 'SoftmaxCrossEntropyLoss',
    doc: 'NegativeLogLikelihoodLoss of LogSoftmax(scores) over axis 1; optional log_prob output.',
    inputs: [{ name: 'scores', type: 'T' }, { name: 'labels', type: 'Tind' }, { name: 'weights', type: 'T', optional: true }],
    outputs: [{ name: 'output', type: 'T' }, { name: 'log_prob', type: 'T', optional: true }],
    attrs: LOSS_ATTRS,
    types: { T: FLOAT, Tind: IND },
    infer: loss,
  }),

  QuantizeLinear: defineOp({
    name: 'QuantizeLinear',
    doc: 'y = saturate(round_half_even(x / y_scale) + y_zero_point) per tensor, per axis or per block (float8/float4 y: Cast(x / y_scale + y_zero_point, saturate)); y has the zero point type (output_dtype, default uint8).',
    inputs: [{ name: 'x', type: 'T1' }, { name: 'y_scale', type: 'T2' }, { name: 'y_zero_point', type: 'T3', optional: true }],
    outputs: [{ name: 'y', type: 'T3' }],
    attrs: { ...QUANT_ATTRS, precision: { type: 'dtype' }, saturate: { type: 'int', default: 1 } },
    types: { T1: ['float32', 'float16', 'bfloat16', 'int32'], T2: FLOAT32_16, T3: QUANT },
    infer(ctx) {
      const [x, s, zp] = [inp(ctx, 0), inp(ctx, 1), ctx.inputs[2]];
      const axis = quantParams(ctx, x, s, zp, ['y_scale', 'y_zero_point']);
      const given = ctx.attrs.output_dtype as DType | undefined;
      if (zp && given && given !== zp.dtype) ctx.fail(`output_dtype ${given} differs from y_zero_point's dtype ${zp.dtype}`);
      const dtype = zp?.dtype ?? given ?? 'uint8';
      if (!(QUANT as readonly string[]).includes(dtype)) ctx.fail(`output_dtype ${dtype} is not a quantized type (${QUANT.join(', ')})`);
      // The division runs in `precision` (default: y_scale's dtype).
      const precision = (ctx.attrs.precision as DType | undefined) ?? s.dtype;
      if (!(FLOAT32_16 as readonly string[]).includes(precision)) ctx.fail(`precision ${precision} must be one of ${FLOAT32_16.join(', ')}`);
      return { outputs: [{ shape: x.shape.slice(), dtype }], attrs: { axis, precision } };
    },
  }),

  DequantizeLinear: defineOp({
    name: 'DequantizeLinear',
    doc: 'y = (x - x_zero_point) * x_scale per tensor, per axis or per block; y has output_dtype, default the scale dtype.',
    inputs: [{ name: 'x', type: 'T1' }, { name: 'x_scale', type: 'T2' }, { name: 'x_zero_point', type: 'T1', optional: true }],
    outputs: [{ name: 'y', type: 'T3' }],
    attrs: QUANT_ATTRS,
    types: { T1: [...QUANT, 'int32'], T2: FLOAT32_16, T3: FLOAT32_16 },
    infer(ctx) {
      const [x, s, zp] = [inp(ctx, 0), inp(ctx, 1), ctx.inputs[2]];
      const axis = quantParams(ctx, x, s, zp, ['x_scale', 'x_zero_point']);
      const dtype = (ctx.attrs.output_dtype as DType | undefined) ?? s.dtype;
      if (!(FLOAT32_16 as readonly string[]).includes(dtype)) ctx.fail(`output_dtype ${dtype} must be one of ${FLOAT32_16.join(', ')}`);
      return { outputs: [{ shape: x.shape.slice(), dtype }], attrs: { axis } };
    },
  }),

  DynamicQuantizeLinear: defineOp({
    name: 'DynamicQuantizeLinear',
    doc: 'Quantizes float32 x to uint8 with scale (max(0, max x) - min(0, min x)) / 255 and the zero point that maps 0 exactly.',
    inputs: [{ name: 'x', type: 'float32' }],
    outputs: [{ name: 'y', type: 'uint8' }, { name: 'y_scale', type: 'float32' }, { name: 'y_zero_point', type: 'uint8' }],
    types: {},
    infer(ctx) {
      const x = inp(ctx, 0);
      return { outputs: [{ shape: x.shape.slice(), dtype: 'uint8' }, { shape: [], dtype: 'float32' }, { shape: [], dtype: 'uint8' }] };
    },
  }),

  MatMulInteger: defineOp({
    name: 'MatMulInteger',
    doc: 'int32 matrix product of (A - a_zero_point) and (B - b_zero_point) with MatMul semantics; zero points per tensor, per row of A or per column of B.',
    inputs: [
      { name: 'A', type: 'T1' },
      { name: 'B', type: 'T2' },
      { name: 'a_zero_point', type: 'T1', optional: true },
      { name: 'b_zero_point', type: 'T2', optional: true },
    ],
    outputs: [{ name: 'Y', type: 'int32' }],
    types: { T1: Q8, T2: Q8 },
    method: false,
    infer(ctx) {
      const [a, b] = [inp(ctx, 0), inp(ctx, 1)];
      const shape = matmulShape(ctx, a, b);
      // A 1-D operand has no rows (A) or columns (B) to quantize separately.
      zeroPoint(ctx, 2, 'a_zero_point', a.shape.length < 2 ? 1 : a.shape[a.shape.length - 2]!, 'rows of A');
      zeroPoint(ctx, 3, 'b_zero_point', b.shape.length < 2 ? 1 : b.shape[b.shape.length - 1]!, 'columns of B');
      return { outputs: [{ shape, dtype: 'int32' }] };
    },
  }),

  QLinearMatMul: defineOp({
    name: 'QLinearMatMul',
    doc: 'Quantized MatMul: y = saturate(round((a - a_zp) @ (b - b_zp) * a_scale * b_scale / y_scale) + y_zp); b may be quantized per column.',
    inputs: [
      { name: 'a', type: 'T1' },
      { name: 'a_scale', type: 'TS' },
      { name: 'a_zero_point', type: 'T1' },
      { name: 'b', type: 'T2' },
      { name: 'b_scale', type: 'TS' },
      { name: 'b_zero_point', type: 'T2' },
      { name: 'y_scale', type: 'TS' },
      { name: 'y_zero_point', type: 'T3' },
    ],
    outputs: [{ name: 'y', type: 'T3' }],
    types: { TS: FLOAT32_16, T1: Q8, T2: Q8, T3: Q8 },
    fn: 'qlinearMatMul',
    method: false,
    infer(ctx) {
      const [a, b] = [inp(ctx, 0), inp(ctx, 3)];
      const shape = matmulShape(ctx, a, b);
      const n = b.shape[b.shape.length - 1]!;
      for (const [i, name] of [[1, 'a_scale'], [2, 'a_zero_point'], [6, 'y_scale'], [7, 'y_zero_point']] as const)
        if (sizeOf(inp(ctx, i).shape) !== 1) ctx.fail(`${name} must have one element (per-tensor quantization), got ${fmt(inp(ctx, i).shape)}`);
      zeroPoint(ctx, 4, 'b_scale', n, 'columns of b');
      zeroPoint(ctx, 5, 'b_zero_point', n, 'columns of b');
      if (sizeOf(inp(ctx, 4).shape) !== sizeOf(inp(ctx, 5).shape)) ctx.fail('b_scale and b_zero_point must have the same number of elements');
      return { outputs: [{ shape, dtype: ctx.inputs[7]!.dtype }] };
    },
  }),

  ConvInteger: defineOp({
    name: 'ConvInteger',
    doc: 'int32 convolution of (x - x_zero_point) with (w - w_zero_point), Conv attributes; w_zero_point per tensor or per output channel.',
    inputs: [
      { name: 'x', type: 'T1' },
      { name: 'w', type: 'T2' },
      { name: 'x_zero_point', type: 'T1', optional: true },
      { name: 'w_zero_point', type: 'T2', optional: true },
    ],
    outputs: [{ name: 'y', type: 'int32' }],
    attrs: CONV_ATTRS,
    types: { T1: Q8, T2: Q8 },
    method: false,
    infer(ctx) {
      const [x, w] = [inp(ctx, 0), inp(ctx, 1)];
      const res = convShape(ctx, x, w);
      zeroPoint(ctx, 2, 'x_zero_point', 1, 'per tensor');
      zeroPoint(ctx, 3, 'w_zero_point', w.shape[0]!, 'output channels');
      return { outputs: [{ shape: res.outputs[0]!.shape, dtype: 'int32' }], ...(res.attrs ? { attrs: res.attrs } : {}) };
    },
  }),

  QLinearConv: defineOp({
    name: 'QLinearConv',
    doc: 'Quantized Conv: y = saturate(round((conv(x - x_zp, w - w_zp) + B) * x_scale * w_scale / y_scale) + y_zp); w per tensor or per output channel.',
    inputs: [
      { name: 'x', type: 'T1' },
      { name: 'x_scale', type: 'float32' },
      { name: 'x_zero_point', type: 'T1' },
      { name: 'w', type: 'T2' },
      { name: 'w_scale', type: 'float32' },
      { name: 'w_zero_point', type: 'T2' },
      { name: 'y_scale', type: 'float32' },
      { name: 'y_zero_point', type: 'T3' },
      { name: 'B', type: 'int32', optional: true },
    ],
    outputs: [{ name: 'y', type: 'T3' }],
    attrs: CONV_ATTRS,
    types: { T1: Q8, T2: Q8, T3: Q8 },
    fn: 'qlinearConv',
    method: false,
    infer(ctx) {
      const [x, w] = [inp(ctx, 0), inp(ctx, 3)];
      const res = convShape(ctx, x, w);
      const m = w.shape[0]!;
      for (const [i, name] of [[1, 'x_scale'], [2, 'x_zero_point'], [6, 'y_scale'], [7, 'y_zero_point']] as const)
        if (sizeOf(inp(ctx, i).shape) !== 1) ctx.fail(`${name} must have one element (per-tensor quantization), got ${fmt(inp(ctx, i).shape)}`);
      zeroPoint(ctx, 4, 'w_scale', m, 'output channels');
      zeroPoint(ctx, 5, 'w_zero_point', m, 'output channels');
      shapeIs(ctx, 8, 'B', [m]);
      return { outputs: [{ shape: res.outputs[0]!.shape, dtype: ctx.inputs[7]!.dtype }], ...(res.attrs ? { attrs: res.attrs } : {}) };
    },
  }),

  DFT: defineOp({
    name: 'DFT',
    doc: 'Discrete Fourier transform along `axis` of real [..., 1] or complex [..., 2] data; inverse, onesided (real-to-complex, or complex-to-real when inverse) and dft_length (zero-pad or truncate).',
    inputs: [
      { name: 'input', type: 'T1' },
      { name: 'dft_length', type: 'T2', optional: true, value: true },
      { name: 'axis', type: 'int64', optional: true, value: true },
    ],
    outputs: [{ name: 'output', type: 'T1' }],
    attrs: { inverse: { type: 'int', default: 0 }, onesided: { type: 'int', default: 0 } },
    types: { T1: FLOAT, T2: IND },
    fn: 'dft',
    infer(ctx) {
      const x = inp(ctx, 0);
      complexLast(ctx, x, 'input');
      const r = x.shape.length;
      const a = scalarValue(ctx, 2, 'axis') ?? -2;
      // The last dim holds the complex parts: the axis ranges over the others.
      if (!Number.isInteger(a) || a < -r || a >= r - 1 || a === -1) ctx.fail(`axis ${a} is out of range for input ${fmt(x.shape)} (the last dim holds the complex parts)`);
      const axis = a < 0 ? a + r : a;
      const [inverse, onesided] = [intIn(ctx, 'inverse', [0, 1]), intIn(ctx, 'onesided', [0, 1])];
      const complex = x.shape[r - 1] === 2;
      const d = x.shape[axis]!;
      // inverse + onesided: the input holds the first n/2+1 bins of a Hermitian spectrum; n defaults to 2 * (bins - 1).
      const n = scalarValue(ctx, 1, 'dft_length') ?? (inverse && onesided ? 2 * (d - 1) : d);
      if (!Number.isInteger(n) || n < 1) ctx.fail(`dft_length must be a positive integer, got ${n}`);
      if (onesided && !inverse && complex) ctx.fail('onesided=1 needs a real input [..., 1] (or inverse=1)');
      if (onesided && inverse && !complex) ctx.fail('onesided=1 with inverse=1 needs a complex input [..., 2]');
      const shape = x.shape.slice();
      shape[axis] = onesided && !inverse ? Math.floor(n / 2) + 1 : n;
      shape[r - 1] = onesided && inverse ? 1 : 2;
      return { outputs: [{ shape, dtype: x.dtype }], attrs: { dft_length: n, axis } };
    },
  }),

  STFT: defineOp({
    name: 'STFT',
    doc: 'Short-time Fourier transform of signal [batch, length, 1 or 2]: windowed frames every frame_step samples -> [batch, frames, bins, 2].',
    inputs: [
      { name: 'signal', type: 'T1' },
      { name: 'frame_step', type: 'T2', value: true },
      { name: 'window', type: 'T1', optional: true },
      { name: 'frame_length', type: 'T2', optional: true, value: true },
    ],
    outputs: [{ name: 'output', type: 'T1' }],
    attrs: { onesided: { type: 'int', default: 1 } },
    types: { T1: FLOAT, T2: IND },
    fn: 'stft',
    infer(ctx) {
      const x = inp(ctx, 0);
      if (x.shape.length !== 3) ctx.fail(`signal must be [batch, length, 1 or 2], got ${fmt(x.shape)}`);
      complexLast(ctx, x, 'signal');
      const step = scalarValue(ctx, 1, 'frame_step')!;
      if (!(step >= 1) || !Number.isInteger(step)) ctx.fail(`frame_step must be a positive integer, got ${step}`);
      const win = ctx.inputs[2];
      if (win && win.shape.length !== 1) ctx.fail(`window must be 1-D, got ${fmt(win.shape)}`);
      const given = scalarValue(ctx, 3, 'frame_length');
      if (win && given !== undefined && given !== win.shape[0]) ctx.fail(`frame_length ${given} differs from the window length ${win.shape[0]}`);
      const len = given ?? win?.shape[0] ?? x.shape[1]!;
      if (!Number.isInteger(len) || len < 1 || len > x.shape[1]!) ctx.fail(`frame_length ${len} must be in [1, ${x.shape[1]}] (the signal length)`);
      const onesided = intIn(ctx, 'onesided', [0, 1]);
      if (onesided && x.shape[2] === 2) ctx.fail('onesided=1 needs a real signal [batch, length, 1]');
      const frames = Math.floor((x.shape[1]! - len) / step) + 1;
      const bins = onesided ? Math.floor(len / 2) + 1 : len;
      return { outputs: [{ shape: [x.shape[0]!, frames, bins, 2], dtype: x.dtype }], attrs: { frame_step: step, frame_length: len } };
    },
  }),

  MelWeightMatrix: defineOp({
    name: 'MelWeightMatrix',
    doc: 'Triangular mel filter bank [floor(dft_length / 2) + 1, num_mel_bins] between lower_edge_hertz and upper_edge_hertz.',
    inputs: [
      { name: 'num_mel_bins', type: 'T1', value: true },
      { name: 'dft_length', type: 'T1', value: true },
      { name: 'sample_rate', type: 'T1', value: true },
      { name: 'lower_edge_hertz', type: 'T2', value: true },
      { name: 'upper_edge_hertz', type: 'T2', value: true },
    ],
    outputs: [{ name: 'output', type: 'T3' }],
    attrs: { output_datatype: { type: 'dtype', default: 'float32' } },
    types: { T1: IND, T2: FLOAT, T3: NUMERIC },
    method: false,
    infer(ctx) {
      const names = ['num_mel_bins', 'dft_length', 'sample_rate', 'lower_edge_hertz', 'upper_edge_hertz'] as const;
      const [bins, dft, rate, lo, hi] = names.map((n, i) => scalarValue(ctx, i, n)!);
      if (![bins, dft, rate].every((v) => Number.isInteger(v) && v! > 0)) ctx.fail(`num_mel_bins ${bins}, dft_length ${dft} and sample_rate ${rate} must be positive integers`);
      if (!(lo! >= 0 && hi! > lo!)) ctx.fail(`need 0 <= lower_edge_hertz (${lo}) < upper_edge_hertz (${hi})`);
      const dtype = ctx.attrs.output_datatype as DType;
      if (!(NUMERIC as readonly string[]).includes(dtype)) ctx.fail(`output_datatype ${dtype} is not numeric`);
      return {
        outputs: [{ shape: [Math.floor(dft! / 2) + 1, bins!], dtype }],
        attrs: { num_mel_bins: bins!, dft_length: dft!, sample_rate: rate!, lower_edge_hertz: lo!, upper_edge_hertz: hi! },
      };
    },
  }),
};
