/**
 * Reference kernels of the elementwise ops, in float64 on JS numbers. Integer
 * results are returned exact (the caller wraps them into the output dtype); bools
 * are 0/1. Broadcasting inputs are read through broadcastIndex maps.
 */
import { dtypeSize, isNarrow, readNumber, typedView, writeNumber, type DType } from '../dtype.js';
import { decodeNarrow, encodeNarrow, type E8m0Rounding } from '../narrow.js';
import type { AttrValue } from '../ops/schema.js';
import type { RefKernel, RefTensor } from './types.js';
import { broadcastIndex, integral, sizeOf } from './util.js';

type Attrs = Readonly<Record<string, AttrValue>>;

/**
 * out[i] = f(values of every input at the position broadcast to i), truncated for an
 * integer output; `dtype` is input 0's.
 */
function pointwise(f: (v: readonly number[], attrs: Attrs, dtype: DType) => number): RefKernel {
  return (inputs, attrs, [out]) => {
    const ins = inputs as readonly RefTensor[];
    const maps = ins.map((t) => broadcastIndex(out!.shape, t.shape));
    const exact = integral(out!.dtype);
    const n = sizeOf(out!.shape);
    const r = new Array<number>(n);
    const v = new Array<number>(ins.length);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < ins.length; k++) v[k] = ins[k]!.data[maps[k]![i]!]!;
      r[i] = exact(f(v, attrs, ins[0]!.dtype));
    }
    return [r];
  };
}
const unary = (f: (x: number, attrs: Attrs) => number) => pointwise((v, a) => f(v[0]!, a));
const binary = (f: (a: number, b: number, attrs: Attrs, dtype: DType) => number) => pointwise((v, at, d) => f(v[0]!, v[1]!, at, d));
const bitwise = (f: (a: bigint, b: bigint) => bigint) => binary((a, b) => Number(f(BigInt(a), BigInt(b))));
const num = (a: Attrs, k: string) => a[k] as number;

/** Round half to even (Math.round rounds halves up). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * erf(x) = 2/sqrt(pi) * e^(-x^2) * sum_n x (2x^2)^n / (1*3*...*(2n+1)): every term is
 * positive, so there is no cancellation and the sum is accurate to a few ulps. For
 * |x| >= 6, 1 - |erf(x)| is below half an ulp of 1.
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (Math.abs(x) >= 6) return Math.sign(x);
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let n = 1; Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
  }
  return (2 / Math.sqrt(Math.PI)) * Math.exp(-x2) * sum;
}

/** log(1 + e^x) without overflow. */
const softplus = (x: number) => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)));
const hardSigmoid = (x: number, alpha: number, beta: number) => Math.max(0, Math.min(1, alpha * x + beta));

/**
 * Cast: to bool is x != 0 (NaN is true); other targets truncate (integers) or keep
 * the value (floats); narrow targets get the value their encoding holds (with
 * saturate and round_mode).
 */
const cast: RefKernel = (inputs, attrs, outs) => {
  const to = outs[0]!.dtype;
  const opts = { saturate: attrs.saturate !== 0, roundMode: attrs.round_mode as E8m0Rounding | undefined };
  const same = inputs[0]!.dtype === to; // a copy (e8m0's 'up' would move 2^-127)
  const f = isNarrow(to) && !same ? (x: number) => decodeNarrow(to, encodeNarrow(to, x, opts)) : to === 'bool' ? (x: number) => Number(x !== 0) : (x: number) => x;
  return unary(f)([inputs[0]!], attrs, outs);
};

/** BitCast: each value written with the input's encoding and read back with the output's. */
const bitCast: RefKernel = ([x], _attrs, [out]) => {
  const n = x!.data.length;
  const bytes = new ArrayBuffer(n * dtypeSize(x!.dtype));
  const src = typedView(x!.dtype, bytes);
  for (let i = 0; i < n; i++) writeNumber(x!.dtype, src, i, x!.data[i]!);
  const dst = typedView(out!.dtype, bytes);
  return [Array.from({ length: n }, (_, i) => readNumber(out!.dtype, dst, i))];
};

export const elementwiseRef: Record<string, RefKernel> = {
  Abs: unary(Math.abs),
  Neg: unary((x) => -x),
  Exp: unary(Math.exp),
  Log: unary(Math.log),
  Sqrt: unary(Math.sqrt),
  Reciprocal: unary((x) => 1 / x),
  Floor: unary(Math.floor),
  Ceil: unary(Math.ceil),
  Round: unary(roundHalfEven),
  Sign: unary(Math.sign),
  Sin: unary(Math.sin),
  Cos: unary(Math.cos),
  Tan: unary(Math.tan),
  Asin: unary(Math.asin),
  Acos: unary(Math.acos),
  Atan: unary(Math.atan),
  Sinh: unary(Math.sinh),
  Cosh: unary(Math.cosh),
  Asinh: unary(Math.asinh),
  Acosh: unary(Math.acosh),
  Atanh: unary(Math.atanh),
  Erf: unary(erf),
  IsNaN: unary((x) => Number(Number.isNaN(x))),
  IsInf: unary((x, a) => Number((x === Infinity && num(a, 'detect_positive') !== 0) || (x === -Infinity && num(a, 'detect_negative') !== 0))),
  Not: unary((x) => Number(!x)),
  // Two's complement: the result read as an unsigned dtype wraps to the right bits.
  BitwiseNot: unary((x) => -x - 1),

  Relu: unary((x) => Math.max(x, 0)),
  LeakyRelu: unary((x, a) => (x < 0 ? num(a, 'alpha') * x : x)),
  PRelu: binary((x, slope) => (x < 0 ? slope * x : x)),
  Elu: unary((x, a) => (x < 0 ? num(a, 'alpha') * Math.expm1(x) : x)),
  Selu: unary((x, a) => num(a, 'gamma') * (x > 0 ? x : num(a, 'alpha') * Math.expm1(x))),
  Celu: unary((x, a) => Math.max(0, x) + Math.min(0, num(a, 'alpha') * Math.expm1(x / num(a, 'alpha')))),
  ThresholdedRelu: unary((x, a) => (x > num(a, 'alpha') ? x : 0)),
  HardSigmoid: unary((x, a) => hardSigmoid(x, num(a, 'alpha'), num(a, 'beta'))),
  HardSwish: unary((x) => x * hardSigmoid(x, 1 / 6, 0.5)),
  Swish: unary((x, a) => x / (1 + Math.exp(-num(a, 'alpha') * x))),
  Shrink: unary((x, a) => (x < -num(a, 'lambd') ? x + num(a, 'bias') : x > num(a, 'lambd') ? x - num(a, 'bias') : 0)),
  Sigmoid: unary((x) => 1 / (1 + Math.exp(-x))),
  Tanh: unary(Math.tanh),
  Softplus: unary(softplus),
  Softsign: unary((x) => x / (1 + Math.abs(x))),
  Gelu: unary((x, a) =>
    a.approximate === 'tanh'
      ? 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)))
      : 0.5 * x * (1 + erf(x / Math.SQRT2)),
  ),
  Mish: unary((x) => x * Math.tanh(softplus(x))),

  Add: binary((a, b) => a + b),
  Sub: binary((a, b) => a - b),
  Mul: binary((a, b) => a * b),
  Div: binary((a, b) => a / b), // integer outputs truncate toward zero
  Pow: binary((a, b) => a ** b),
  Mod: binary((a, b, at) => {
    const r = a % b; // sign of the dividend (C fmod)
    return num(at, 'fmod') !== 0 || r === 0 || (r < 0) === (b < 0) ? r : r + b;
  }),
  BitShift: binary((a, b, at) => (at.direction === 'LEFT' ? a * 2 ** b : Math.floor(a / 2 ** b))),
  BitwiseAnd: bitwise((a, b) => a & b),
  BitwiseOr: bitwise((a, b) => a | b),
  BitwiseXor: bitwise((a, b) => a ^ b),
  And: binary((a, b) => Number(a !== 0 && b !== 0)),
  Or: binary((a, b) => Number(a !== 0 || b !== 0)),
  Xor: binary((a, b) => Number((a !== 0) !== (b !== 0))),
  Equal: binary((a, b) => Number(a === b)),
  Less: binary((a, b) => Number(a < b)),
  LessOrEqual: binary((a, b) => Number(a <= b)),
  Greater: binary((a, b) => Number(a > b)),
  GreaterOrEqual: binary((a, b) => Number(a >= b)),

  Max: pointwise((v) => Math.max(...v)),
  Min: pointwise((v) => Math.min(...v)),
  Sum: pointwise((v) => v.reduce((s, x) => s + x, 0)),
  Mean: pointwise((v) => v.reduce((s, x) => s + x, 0) / v.length),

  Where: pointwise((v) => (v[0] ? v[1]! : v[2]!)),
  Clip: (inputs, attrs, outs) => {
    const lo = inputs[1]?.data[0] ?? -Infinity;
    const hi = inputs[2]?.data[0] ?? Infinity;
    return unary((x) => Math.min(Math.max(x, lo), hi))([inputs[0]!], attrs, outs);
  },
  Cast: cast,
  CastLike: cast,
  BitCast: bitCast,
};
