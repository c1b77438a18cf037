/**
 * Elementwise ops: unary math, activations, broadcasting binary ops, variadic
 * Max/Min/Sum/Mean, Where, Clip and Cast. Semantics and type constraints are
 * ONNX's (newest opset) restricted to mx's dtypes; a constraint that ONNX allows
 * only one type for (bool results, Where's condition, the logical ops) is written
 * as that dtype, so kernel keys hold only the types that vary. Celu is the one
 * widening: ONNX declares it for float32 only, mx for every float type like the
 * other activations.
 *
 * Shrink is declared for the float types only (ONNX also lists the integer
 * types, for which lambd and bias would be truncated).
 *
 * Broadcasting ops produce the NumPy broadcast shape; kernels receive the inputs
 * with their own shapes and broadcast themselves.
 */
import { ALL_DTYPES, EVERY_DTYPE, FLOAT_DTYPES, INT_DTYPES, NUMERIC_DTYPES, SIGNED_DTYPES, dtypeSize, isDType, isFloat, type DType } from '../dtype.js';
import { broadcastShapes, defineOp, sizeOf, type AttrSpec, type InferContext, type InferResult } from './schema.js';

type Attrs = Readonly<Record<string, AttrSpec>>;
type Rule = (ctx: InferContext) => InferResult;

const UINT: readonly DType[] = ['uint8', 'uint16', 'uint32', 'uint64'];
/** Pow's base type (ONNX T); the exponent (T1) may be any numeric type. */
const POW_BASE: readonly DType[] = ['float32', 'float64', 'float16', 'bfloat16', 'int32', 'int64'];
const PRELU: readonly DType[] = [...FLOAT_DTYPES, 'int32', 'int64', 'uint32', 'uint64'];

// ---------------------------------------------------------------- shape rules

const sameAs = (ctx: InferContext, dtype?: DType): InferResult => {
  const x = ctx.inputs[0]!;
  return { outputs: [{ shape: [...x.shape], dtype: dtype ?? x.dtype }] };
};
const same: Rule = (ctx) => sameAs(ctx);
const sameBool: Rule = (ctx) => sameAs(ctx, 'bool');

/** Broadcast of all present inputs; the result has `dtype`, or the dtype of input `like`. */
const broadcast =
  (dtype?: DType, like = 0): Rule =>
  (ctx) => {
    if (ctx.inputs.length === 0) ctx.fail('needs at least one input');
    const shape = broadcastShapes(ctx, ctx.inputs.map((t) => t!.shape));
    return { outputs: [{ shape, dtype: dtype ?? ctx.inputs[like]!.dtype }] };
  };

/** A string attribute restricted to a set of values. */
function oneOf(ctx: InferContext, name: string, allowed: readonly string[]): void {
  const v = ctx.attrs[name];
  if (!allowed.includes(v as string)) ctx.fail(`attribute ${name} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${JSON.stringify(v)}`);
}

const fmt = (s: readonly number[]) => `[${s.join(',')}]`;

// ---------------------------------------------------------------- family declarations

/** Y = f(X), same shape and dtype. */
const unary = <const N extends string, const A extends Attrs = {}>(name: N, T: readonly DType[], doc: string, attrs = {} as A, infer: Rule = same) =>
  defineOp({ name, doc, inputs: [{ name: 'X', type: 'T' }], outputs: [{ name: 'Y', type: 'T' }], attrs, types: { T }, infer });

/** Y = f(X) as bool (ONNX's T1 -> T2 where T2 is bool only). */
const predicate = <const N extends string, const A extends Attrs = {}>(name: N, T1: readonly DType[], doc: string, attrs = {} as A) =>
  defineOp({ name, doc, inputs: [{ name: 'X', type: 'T1' }], outputs: [{ name: 'Y', type: 'bool' }], attrs, types: { T1 }, infer: sameBool });

/** C = f(A, B) with multidirectional broadcasting; same dtype as the inputs. */
const binary = <const N extends string, const A extends Attrs = {}>(name: N, T: readonly DType[], doc: string, attrs = {} as A, infer: Rule = broadcast()) =>
  defineOp({ name, doc, inputs: [{ name: 'A', type: 'T' }, { name: 'B', type: 'T' }], outputs: [{ name: 'C', type: 'T' }], attrs, types: { T }, infer });

/** C = A op B as bool, broadcasting. */
const compare = <const N extends string>(name: N, T: readonly DType[], doc: string) =>
  defineOp({ name, doc, inputs: [{ name: 'A', type: 'T' }, { name: 'B', type: 'T' }], outputs: [{ name: 'C', type: 'bool' }], types: { T }, infer: broadcast('bool') });

/** Logical ops: bool only, so no type constraint and an empty kernel key. */
const logical = <const N extends string>(name: N, doc: string) =>
  defineOp({ name, doc, inputs: [{ name: 'A', type: 'bool' }, { name: 'B', type: 'bool' }], outputs: [{ name: 'C', type: 'bool' }], types: {}, infer: broadcast('bool') });

/** One or more inputs broadcast together (ONNX variadic). */
const variadic = <const N extends string>(name: N, T: readonly DType[], doc: string) =>
  defineOp({ name, doc, inputs: [{ name: 'data_0', type: 'T', variadic: true }], outputs: [{ name: 'result', type: 'T' }], types: { T }, infer: broadcast() });

const alpha = (v: number) => ({ alpha: { type: 'float', default: v } }) as const;

// ---------------------------------------------------------------- rules with extra validation

const geluRule: Rule = (ctx) => (oneOf(ctx, 'approximate', ['none', 'tanh']), same(ctx));

const modRule: Rule = (ctx) => {
  const r = broadcast()(ctx);
  if (ctx.attrs.fmod === 0 && isFloat(r.outputs[0]!.dtype)) ctx.fail('fmod must be 1 for floating-point inputs');
  return r;
};

const bitShiftRule: Rule = (ctx) => (oneOf(ctx, 'direction', ['LEFT', 'RIGHT']), broadcast()(ctx));

/** PRelu: slope broadcasts to X one way only; the result has X's shape. */
const preluRule: Rule = (ctx) => {
  const [x, slope] = [ctx.inputs[0]!, ctx.inputs[1]!];
  const shape = broadcastShapes(ctx, [x.shape, slope.shape]);
  if (fmt(shape) !== fmt(x.shape)) ctx.fail(`slope shape ${fmt(slope.shape)} does not broadcast to X shape ${fmt(x.shape)}`);
  return sameAs(ctx);
};

/** Clip: min and max, when present, hold one element each; the result has the input's shape. */
const clipRule: Rule = (ctx) => {
  ctx.inputs.forEach((t, i) => {
    if (i > 0 && t && sizeOf(t.shape) !== 1) ctx.fail(`${i === 1 ? 'min' : 'max'} must hold a single value, got shape ${fmt(t.shape)}`);
  });
  return same(ctx);
};

/** Cast and CastLike: the result dtype, and checks of saturate and round_mode (used by float8 targets only). */
const castRule = (ctx: InferContext, to: unknown): InferResult => {
  if (!isDType(to)) ctx.fail(`attribute to must be a dtype, got ${JSON.stringify(to)}`);
  if (ctx.attrs.saturate !== 0 && ctx.attrs.saturate !== 1) ctx.fail(`attribute saturate must be 0 or 1, got ${JSON.stringify(ctx.attrs.saturate)}`);
  oneOf(ctx, 'round_mode', ['up', 'down', 'nearest']);
  return sameAs(ctx, to);
};
/**
 * saturate: float8 targets clamp out-of-range values to the largest finite value
 * (1) or give inf/NaN (0); round_mode: how float8e8m0 rounds to a power of two.
 */
const CAST_ATTRS = { saturate: { type: 'int', default: 1 }, round_mode: { type: 'string', default: 'up' } } as const;

/** BitCast: `to` must have the input's element width; the shape is kept. */
const bitCastRule = (ctx: InferContext): InferResult => {
  const to = ctx.attrs.to;
  if (!isDType(to)) ctx.fail(`attribute to must be a dtype, got ${JSON.stringify(to)}`);
  const r = sameAs(ctx, to);
  const from = ctx.inputs[0]!.dtype;
  if (dtypeSize(from) !== dtypeSize(to)) ctx.fail(`to=${to} (${dtypeSize(to)} bytes) must have the element width of ${from} (${dtypeSize(from)} bytes)`);
  return r;
};

// ---------------------------------------------------------------- the table

export const elementwiseOps = {
  // unary math
  Abs: unary('Abs', NUMERIC_DTYPES, 'Absolute value, |x|.'),
  Neg: unary('Neg', SIGNED_DTYPES, 'Negation, -x (integers wrap).'),
  Exp: unary('Exp', FLOAT_DTYPES, 'Exponential, e^x.'),
  Log: unary('Log', FLOAT_DTYPES, 'Natural logarithm.'),
  Sqrt: unary('Sqrt', FLOAT_DTYPES, 'Square root.'),
  Reciprocal: unary('Reciprocal', FLOAT_DTYPES, 'Reciprocal, 1/x.'),
  Floor: unary('Floor', FLOAT_DTYPES, 'Largest integer not greater than x.'),
  Ceil: unary('Ceil', FLOAT_DTYPES, 'Smallest integer not less than x.'),
  Round: unary('Round', FLOAT_DTYPES, 'Round to the nearest integer, halves to even.'),
  Sign: unary('Sign', NUMERIC_DTYPES, 'Sign of x: -1, 0 or 1.'),
  Sin: unary('Sin', FLOAT_DTYPES, 'Sine.'),
  Cos: unary('Cos', FLOAT_DTYPES, 'Cosine.'),
  Tan: unary('Tan', FLOAT_DTYPES, 'Tangent.'),
  Asin: unary('Asin', FLOAT_DTYPES, 'Arcsine.'),
  Acos: unary('Acos', FLOAT_DTYPES, 'Arccosine.'),
  Atan: unary('Atan', FLOAT_DTYPES, 'Arctangent.'),
  Sinh: unary('Sinh', FLOAT_DTYPES, 'Hyperbolic sine.'),
  Cosh: unary('Cosh', FLOAT_DTYPES, 'Hyperbolic cosine.'),
  Asinh: unary('Asinh', FLOAT_DTYPES, 'Inverse hyperbolic sine.'),
  Acosh: unary('Acosh', FLOAT_DTYPES, 'Inverse hyperbolic cosine.'),
  Atanh: unary('Atanh', FLOAT_DTYPES, 'Inverse hyperbolic tangent.'),
  Erf: unary('Erf', NUMERIC_DTYPES, 'Gauss error function.'),
  IsNaN: predicate('IsNaN', FLOAT_DTYPES, 'True where x is NaN.'),
  IsInf: predicate('IsInf', FLOAT_DTYPES, 'True where x is infinite (of the signs selected by detect_negative/detect_positive).', {
    detect_negative: { type: 'int', default: 1 },
    detect_positive: { type: 'int', default: 1 },
  }),
  Not: defineOp({ name: 'Not', doc: 'Logical not.', inputs: [{ name: 'X', type: 'bool' }], outputs: [{ name: 'Y', type: 'bool' }], types: {}, infer: same }),
  BitwiseNot: unary('BitwiseNot', INT_DTYPES, 'Bitwise complement, ~x.'),

  // activations
  Relu: unary('Relu', SIGNED_DTYPES, 'Rectified linear unit, max(x, 0).'),
  LeakyRelu: unary('LeakyRelu', FLOAT_DTYPES, 'x for x >= 0, alpha * x otherwise.', alpha(0.01)),
  PRelu: defineOp({
    name: 'PRelu',
    doc: 'x for x >= 0, slope * x otherwise; slope broadcasts to X.',
    inputs: [{ name: 'X', type: 'T' }, { name: 'slope', type: 'T' }],
    outputs: [{ name: 'Y', type: 'T' }],
    types: { T: PRELU },
    infer: preluRule,
  }),
  Elu: unary('Elu', FLOAT_DTYPES, 'x for x > 0, alpha * (e^x - 1) otherwise.', alpha(1)),
  Selu: unary('Selu', FLOAT_DTYPES, 'gamma * x for x > 0, gamma * alpha * (e^x - 1) otherwise.', {
    alpha: { type: 'float', default: 1.67326319217681884765625 },
    gamma: { type: 'float', default: 1.05070102214813232421875 },
  }),
  Celu: unary('Celu', FLOAT_DTYPES, 'max(0, x) + min(0, alpha * (e^(x/alpha) - 1)).', alpha(1)),
  ThresholdedRelu: unary('ThresholdedRelu', FLOAT_DTYPES, 'x for x > alpha, 0 otherwise.', alpha(1)),
  HardSigmoid: unary('HardSigmoid', FLOAT_DTYPES, 'max(0, min(1, alpha * x + beta)).', {
    alpha: { type: 'float', default: 0.2 },
    beta: { type: 'float', default: 0.5 },
  }),
  HardSwish: unary('HardSwish', FLOAT_DTYPES, 'x * max(0, min(1, x / 6 + 1/2)).'),
  Swish: unary('Swish', FLOAT_DTYPES, 'x * sigmoid(alpha * x).', alpha(1)),
  Shrink: unary('Shrink', FLOAT_DTYPES, 'x - bias for x > lambd, x + bias for x < -lambd, 0 otherwise.', {
    bias: { type: 'float', default: 0 },
    lambd: { type: 'float', default: 0.5 },
  }),
  Sigmoid: unary('Sigmoid', FLOAT_DTYPES, 'Logistic function, 1 / (1 + e^-x).'),
  Tanh: unary('Tanh', FLOAT_DTYPES, 'Hyperbolic tangent.'),
  Softplus: unary('Softplus', FLOAT_DTYPES, 'log(1 + e^x).'),
  Softsign: unary('Softsign', FLOAT_DTYPES, 'x / (1 + |x|).'),
  Gelu: unary('Gelu', FLOAT_DTYPES, "Gaussian error linear unit, exact ('none') or tanh approximation ('tanh').", { approximate: { type: 'string', default: 'none' } }, geluRule),
  Mish: unary('Mish', FLOAT_DTYPES, 'x * tanh(softplus(x)).'),

  // broadcasting binary
  Add: binary('Add', NUMERIC_DTYPES, 'Sum, a + b (integers wrap).'),
  Sub: binary('Sub', NUMERIC_DTYPES, 'Difference, a - b (integers wrap).'),
  Mul: binary('Mul', NUMERIC_DTYPES, 'Product, a * b (integers wrap).'),
  Div: binary('Div', NUMERIC_DTYPES, 'Quotient, a / b; integer division truncates toward zero.'),
  Pow: defineOp({
    name: 'Pow',
    doc: 'Power, x^y; the exponent may have another numeric type than the base.',
    inputs: [{ name: 'X', type: 'T' }, { name: 'Y', type: 'T1' }],
    outputs: [{ name: 'Z', type: 'T' }],
    types: { T: POW_BASE, T1: NUMERIC_DTYPES },
    infer: broadcast(),
  }),
  Mod: binary('Mod', NUMERIC_DTYPES, 'Remainder: sign of the divisor (fmod=0, integers only) or of the dividend (fmod=1).', { fmod: { type: 'int', default: 0 } }, modRule),
  BitShift: binary('BitShift', UINT, "Shift of x by y bits, direction 'LEFT' or 'RIGHT'.", { direction: { type: 'string', required: true } }, bitShiftRule),
  BitwiseAnd: binary('BitwiseAnd', INT_DTYPES, 'Bitwise and.'),
  BitwiseOr: binary('BitwiseOr', INT_DTYPES, 'Bitwise or.'),
  BitwiseXor: binary('BitwiseXor', INT_DTYPES, 'Bitwise exclusive or.'),
  And: logical('And', 'Logical and.'),
  Or: logical('Or', 'Logical or.'),
  Xor: logical('Xor', 'Logical exclusive or.'),
  Equal: compare('Equal', ALL_DTYPES, 'a == b.'),
  Less: compare('Less', NUMERIC_DTYPES, 'a < b.'),
  LessOrEqual: compare('LessOrEqual', NUMERIC_DTYPES, 'a <= b.'),
  Greater: compare('Greater', NUMERIC_DTYPES, 'a > b.'),
  GreaterOrEqual: compare('GreaterOrEqual', NUMERIC_DTYPES, 'a >= b.'),

  // variadic
  Max: variadic('Max', NUMERIC_DTYPES, 'Elementwise maximum of the inputs (NaN propagates).'),
  Min: variadic('Min', NUMERIC_DTYPES, 'Elementwise minimum of the inputs (NaN propagates).'),
  Sum: variadic('Sum', FLOAT_DTYPES, 'Elementwise sum of the inputs.'),
  Mean: variadic('Mean', FLOAT_DTYPES, 'Elementwise mean of the inputs.'),

  // selection and conversion
  Where: defineOp({
    name: 'Where',
    doc: 'X where condition is true, Y elsewhere; all three broadcast.',
    inputs: [{ name: 'condition', type: 'bool' }, { name: 'X', type: 'T' }, { name: 'Y', type: 'T' }],
    outputs: [{ name: 'output', type: 'T' }],
    types: { T: ALL_DTYPES },
    infer: broadcast(undefined, 1),
  }),
  Clip: defineOp({
    name: 'Clip',
    doc: 'Limits values to [min, max]; an absent bound does not limit (min > max gives max).',
    inputs: [{ name: 'input', type: 'T' }, { name: 'min', type: 'T', optional: true }, { name: 'max', type: 'T', optional: true }],
    outputs: [{ name: 'output', type: 'T' }],
    types: { T: NUMERIC_DTYPES },
    infer: clipRule,
  }),
  Cast: defineOp({
    name: 'Cast',
    doc: 'Converts to dtype `to`: floats to integers truncate toward zero, to bool is x != 0, to float types round to nearest even (float8: see saturate).',
    inputs: [{ name: 'input', type: 'T1' }],
    outputs: [{ name: 'output', type: 'T2' }],
    attrs: { to: { type: 'dtype', required: true }, ...CAST_ATTRS },
    types: { T1: EVERY_DTYPE, T2: EVERY_DTYPE },
    infer: (ctx) => castRule(ctx, ctx.attrs.to),
  }),
  CastLike: defineOp({
    name: 'CastLike',
    doc: "Converts input to target_type's dtype, as Cast does.",
    inputs: [{ name: 'input', type: 'T1' }, { name: 'target_type', type: 'T2' }],
    outputs: [{ name: 'output', type: 'T2' }],
    attrs: CAST_ATTRS,
    types: { T1: EVERY_DTYPE, T2: EVERY_DTYPE },
    infer: (ctx) => castRule(ctx, ctx.inputs[1]!.dtype),
  }),
  BitCast: defineOp({
    name: 'BitCast',
    doc: 'Reinterprets the bytes of each element (little endian) as dtype `to`, which has the same width; the shape is kept.',
    inputs: [{ name: 'input', type: 'T1' }],
    outputs: [{ name: 'output', type: 'T2' }],
    attrs: { to: { type: 'dtype', required: true } },
    types: { T1: ALL_DTYPES, T2: ALL_DTYPES },
    infer: bitCastRule,
  }),
};
