/**
 * Conformance cases of the elementwise ops: per op a scalar, an empty tensor and
 * plain multi-dimensional cases; broadcasting ops also [2,3]x[3], [2,1,4]x[3,1] and
 * scalar-with-tensor; every behaviour-changing attribute; and calls that must fail.
 * Ranges keep inputs in each function's domain and results representable.
 */
import { ALL_DTYPES, FLOAT_DTYPES, INT_DTYPES, dtypeSize, isNarrow, type DType } from '../../dtype.js';
import type { AttrValue } from '../../ops/schema.js';
import type { CaseInput, ConformanceCase } from '../types.js';

type In = Partial<CaseInput>;
type Opts = { attrs?: Record<string, AttrValue>; dtypes?: readonly DType[]; tag?: string; rtol?: number; atol?: number };

const SIGNED_INTS: readonly DType[] = ['int8', 'int16', 'int32', 'int64'];
const named = (tag: string | undefined, name: string) => (tag ? `${tag}, ${name}` : name);
/** The optional fields of a case, left out where undefined. */
const opts = ({ attrs, dtypes, rtol, atol }: Opts) => ({ ...(attrs && { attrs }), ...(dtypes && { dtypes }), ...(rtol !== undefined && { rtol }), ...(atol !== undefined && { atol }) });

function unaryCases(op: string, x: In = {}, o: Opts = {}): ConformanceCase[] {
  const shapes: [string, number[]][] = [['scalar', []], ['empty', [0, 3]], ['2-D', [3, 4]], ['3-D', [2, 3, 4]]];
  return shapes.map(([name, shape]) => ({ op, name: named(o.tag, name), inputs: [{ shape, ...x }], ...opts(o) }));
}

const BROADCASTS: [string, number[], number[]][] = [
  ['scalars', [], []],
  ['empty', [0, 3], [3]],
  ['same shape 3-D', [2, 3, 4], [2, 3, 4]],
  ['broadcast [2,3]x[3]', [2, 3], [3]],
  ['broadcast [2,1,4]x[3,1]', [2, 1, 4], [3, 1]],
  ['scalar with tensor', [], [2, 3]],
  ['tensor with scalar', [2, 3], []],
];
function binaryCases(op: string, a: In = {}, b: In = a, o: Opts = {}): ConformanceCase[] {
  return BROADCASTS.map(([name, sa, sb]) => ({ op, name: named(o.tag, name), inputs: [{ shape: sa, ...a }, { shape: sb, ...b }], ...opts(o) }));
}

/** Fixed values for a 1-D input. */
const vals = (values: number[], extra: In = {}): CaseInput => ({ shape: [values.length], values, ...extra });
const mismatch = (op: string, o: Opts = {}): ConformanceCase => ({ op, name: 'shapes [2,3] and [4] do not broadcast', inputs: [{ shape: [2, 3] }, { shape: [4] }], throws: true, ...opts(o) });

const SPECIALS = [NaN, Infinity, -Infinity, 0, 1.5, -2, -0.5, 3];

const unaryMath: ConformanceCase[] = [
  ...['Abs', 'Neg', 'Floor', 'Ceil', 'Round', 'Exp', 'Sin', 'Cos', 'Atan', 'Sinh', 'Cosh', 'Asinh', 'Erf', 'BitwiseNot', 'Not'].flatMap((op) => unaryCases(op)),
  ...unaryCases('Sign'),
  ...unaryCases('Sign', { integer: true }, { tag: 'with zeros' }),
  ...['Log', 'Sqrt', 'Reciprocal'].flatMap((op) => unaryCases(op, { range: [0.05, 6] })),
  { op: 'Reciprocal', name: 'negative values', inputs: [vals([-4, -0.5, -3, -0.25])] },
  ...unaryCases('Tan', { range: [-1.2, 1.2] }),
  ...['Asin', 'Acos'].flatMap((op) => unaryCases(op, { range: [-0.95, 0.95] })),
  ...unaryCases('Atanh', { range: [-0.9, 0.9] }),
  ...unaryCases('Acosh', { range: [1, 6] }),
  { op: 'Round', name: 'halves to even', inputs: [vals([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.4, -0.6])] },
  { op: 'Floor', name: 'integers and negatives', inputs: [vals([-2, -1.5, -0.25, 0, 0.25, 2])] },
  { op: 'Ceil', name: 'integers and negatives', inputs: [vals([-2, -1.5, -0.25, 0, 0.25, 2])] },
  ...['IsNaN', 'IsInf'].flatMap((op) => [
    { op, name: 'scalar', inputs: [{ shape: [] }] },
    { op, name: 'empty', inputs: [{ shape: [2, 0] }] },
    { op, name: 'NaN and infinities', inputs: [vals(SPECIALS)] },
  ]),
  { op: 'IsInf', name: 'detect_negative=0', inputs: [vals(SPECIALS)], attrs: { detect_negative: 0 } },
  { op: 'IsInf', name: 'detect_positive=0', inputs: [vals(SPECIALS)], attrs: { detect_positive: 0 } },
];

const activations: ConformanceCase[] = [
  ...['Relu', 'LeakyRelu', 'Elu', 'Selu', 'Celu', 'ThresholdedRelu', 'HardSigmoid', 'HardSwish', 'Sigmoid', 'Tanh', 'Softplus', 'Softsign', 'Gelu', 'Mish', 'Swish', 'Shrink'].flatMap(
    (op) => unaryCases(op),
  ),
  ...unaryCases('LeakyRelu', {}, { tag: 'alpha=0.2', attrs: { alpha: 0.2 } }),
  ...unaryCases('Elu', {}, { tag: 'alpha=0.5', attrs: { alpha: 0.5 } }),
  ...unaryCases('Selu', {}, { tag: 'alpha=2, gamma=0.5', attrs: { alpha: 2, gamma: 0.5 } }),
  ...unaryCases('Celu', {}, { tag: 'alpha=2', attrs: { alpha: 2 } }),
  ...unaryCases('ThresholdedRelu', {}, { tag: 'alpha=0.5', attrs: { alpha: 0.5 } }),
  ...unaryCases('HardSigmoid', {}, { tag: 'alpha=0.3, beta=0.4', attrs: { alpha: 0.3, beta: 0.4 } }),
  ...unaryCases('Gelu', {}, { tag: 'tanh', attrs: { approximate: 'tanh' } }),
  ...unaryCases('Swish', {}, { tag: 'alpha=0.5', attrs: { alpha: 0.5 } }),
  { op: 'Shrink', name: 'lambd=1.5, bias=1 at the thresholds', inputs: [vals([-3, -1.5, -1, 0, 1, 1.5, 2, 3])], attrs: { lambd: 1.5, bias: 1 } },
  { op: 'Gelu', name: "approximate='fast' is rejected", inputs: [{ shape: [2] }], attrs: { approximate: 'fast' }, throws: true },
  { op: 'PRelu', name: 'scalars', inputs: [{ shape: [] }, { shape: [] }] },
  { op: 'PRelu', name: 'empty', inputs: [{ shape: [0, 4] }, { shape: [4] }] },
  { op: 'PRelu', name: 'same shape', inputs: [{ shape: [3, 4] }, { shape: [3, 4] }] },
  { op: 'PRelu', name: 'slope [4] for [2,3,4]', inputs: [{ shape: [2, 3, 4] }, { shape: [4] }] },
  { op: 'PRelu', name: 'slope [3,1] for [2,3,4]', inputs: [{ shape: [2, 3, 4] }, { shape: [3, 1] }] },
  { op: 'PRelu', name: 'scalar slope', inputs: [{ shape: [2, 3] }, { shape: [] }] },
  { op: 'PRelu', name: 'slope [3,4] does not broadcast to X [3,1]', inputs: [{ shape: [3, 1] }, { shape: [3, 4] }], throws: true },
];

const NONZERO: In = { range: [1, 3] };
/** Dividend and divisor signs in every combination. */
const SIGNS = [vals([-7, 7, -7, 7, -4, 4, 0, 5]), vals([3, 3, -3, -3, 2, -2, 3, -5])];

const binaryOps: ConformanceCase[] = [
  ...['Add', 'Sub', 'Mul'].flatMap((op) => [...binaryCases(op), mismatch(op)]),
  { op: 'Sub', name: 'unsigned wraps', inputs: [vals([1, 0, 5]), vals([2, 6, 5])] },
  ...binaryCases('Div', {}, NONZERO),
  { op: 'Div', name: 'negative operands (integers truncate)', inputs: SIGNS, dtypes: [...SIGNED_INTS, ...FLOAT_DTYPES] },
  mismatch('Div', {}),
  { op: 'Add', name: 'dtypes float32 and int32 do not mix', inputs: [{ shape: [2] }, { shape: [2], dtype: 'int32' }], dtypes: ['float32'], throws: true },
  // Exponents stay small and non-negative so that integer bases give integers.
  ...binaryCases('Pow', { integer: true }, { range: [0, 3], integer: true }),
  // The exponent's type T1 cannot be restricted, so exponents stay non-negative (unsigned T1).
  { op: 'Pow', name: 'fractional exponents', inputs: [{ shape: [3, 4], range: [0.5, 3] }, { shape: [4], range: [0, 2.5] }], dtypes: FLOAT_DTYPES },
  mismatch('Pow'),
  ...binaryCases('Mod', {}, NONZERO, { tag: 'fmod=1', attrs: { fmod: 1 } }),
  ...binaryCases('Mod', {}, NONZERO, { tag: 'fmod=0', dtypes: INT_DTYPES }),
  { op: 'Mod', name: 'fmod=0, signs follow the divisor', inputs: SIGNS, dtypes: SIGNED_INTS },
  { op: 'Mod', name: 'fmod=1, signs follow the dividend', inputs: SIGNS, attrs: { fmod: 1 }, dtypes: [...SIGNED_INTS, ...FLOAT_DTYPES] },
  { op: 'Mod', name: 'fmod=0 is rejected for floats', inputs: [{ shape: [2] }, { shape: [2], ...NONZERO }], dtypes: FLOAT_DTYPES, throws: true },
  ...binaryCases('BitShift', {}, { range: [0, 5] }, { tag: 'LEFT', attrs: { direction: 'LEFT' } }),
  ...binaryCases('BitShift', { range: [0, 255] }, { range: [0, 7] }, { tag: 'RIGHT', attrs: { direction: 'RIGHT' } }),
  { op: 'BitShift', name: "direction 'UP' is rejected", inputs: [{ shape: [2] }, { shape: [2] }], attrs: { direction: 'UP' }, throws: true },
  ...['BitwiseAnd', 'BitwiseOr', 'BitwiseXor', 'And', 'Or', 'Xor'].flatMap((op) => [...binaryCases(op), mismatch(op)]),
  ...['Equal', 'Less', 'LessOrEqual', 'Greater', 'GreaterOrEqual'].flatMap((op) => [...binaryCases(op, { integer: true }), mismatch(op)]),
  { op: 'Equal', name: 'NaN is not equal to itself', inputs: [vals([NaN, 1, Infinity]), vals([NaN, 1, Infinity])], dtypes: FLOAT_DTYPES },
];

const variadicOps: ConformanceCase[] = ['Max', 'Min', 'Sum', 'Mean'].flatMap((op) => [
  { op, name: 'one input', inputs: [{ shape: [2, 3] }] },
  { op, name: 'two inputs', inputs: [{ shape: [2, 3] }, { shape: [2, 3] }] },
  { op, name: 'three inputs [2,1,4], [3,1], []', inputs: [{ shape: [2, 1, 4] }, { shape: [3, 1] }, { shape: [] }] },
  { op, name: 'scalars', inputs: [{ shape: [] }, { shape: [] }] },
  { op, name: 'empty', inputs: [{ shape: [0, 3] }, { shape: [3] }] },
  { op, name: 'no input', inputs: [], throws: true },
  mismatch(op),
]);

const BOUNDS = [vals([1], { integer: true }), vals([4], { integer: true })];
const selection: ConformanceCase[] = [
  { op: 'Where', name: 'same shape', inputs: [{ shape: [2, 3] }, { shape: [2, 3] }, { shape: [2, 3] }] },
  { op: 'Where', name: 'broadcast [3], [2,3], []', inputs: [{ shape: [3] }, { shape: [2, 3] }, { shape: [] }] },
  { op: 'Where', name: 'broadcast [2,1,4], [3,1], [4]', inputs: [{ shape: [2, 1, 4] }, { shape: [3, 1] }, { shape: [4] }] },
  { op: 'Where', name: 'scalars', inputs: [{ shape: [] }, { shape: [] }, { shape: [] }] },
  { op: 'Where', name: 'empty', inputs: [{ shape: [0, 3] }, { shape: [3] }, { shape: [] }] },
  { op: 'Where', name: 'shapes [2,3] and [4] do not broadcast', inputs: [{ shape: [2, 3] }, { shape: [4] }, { shape: [] }], throws: true },
  { op: 'Clip', name: 'no bounds', inputs: [{ shape: [3, 4] }] },
  { op: 'Clip', name: 'min only', inputs: [{ shape: [3, 4], range: [0, 6] }, BOUNDS[0]!] },
  { op: 'Clip', name: 'max only', inputs: [{ shape: [3, 4], range: [0, 6] }, null, BOUNDS[1]!] },
  { op: 'Clip', name: 'min and max', inputs: [{ shape: [2, 3, 4], range: [0, 6] }, BOUNDS[0]!, BOUNDS[1]!] },
  { op: 'Clip', name: 'scalar bounds', inputs: [{ shape: [3, 4], range: [0, 6] }, { shape: [], values: [2] }, { shape: [], values: [3] }] },
  { op: 'Clip', name: 'min > max gives max', inputs: [{ shape: [3, 4], range: [0, 6] }, BOUNDS[1]!, BOUNDS[0]!] },
  { op: 'Clip', name: 'scalar', inputs: [{ shape: [], range: [0, 6] }, BOUNDS[0]!, BOUNDS[1]!] },
  { op: 'Clip', name: 'empty', inputs: [{ shape: [0, 3] }, BOUNDS[0]!, BOUNDS[1]!] },
  { op: 'Clip', name: 'min with two values is rejected', inputs: [{ shape: [3] }, { shape: [2], range: [1, 2] }], throws: true },
];

/** Cast to the binding's T2; values every dtype holds ([0, 100] integers, or 0/1 from bool). */
const castTo = (b: Readonly<Record<string, DType>>) => ({ to: b.T2! });
const NOT_BOOL = ALL_DTYPES.filter((d) => d !== 'bool');
/** BitCast's bindings: T1 and T2 of one width (the op rejects the others). */
const sameWidth = (b: Readonly<Record<string, DType>>) => dtypeSize(b.T1!) === dtypeSize(b.T2!);
const toNotBool = (b: Readonly<Record<string, DType>>) => sameWidth(b) && b.T2 !== 'bool';
const SMALL: In = { range: [0, 100], integer: true };
const conversion: ConformanceCase[] = [
  ...(['Cast', 'CastLike'] as const).flatMap((op) => {
    const target = (shape: number[]): CaseInput[] => (op === 'CastLike' ? [{ shape, range: [0, 1], integer: true }] : []);
    const attrs = op === 'Cast' ? castTo : undefined;
    const cases: ConformanceCase[] = [
      { op, name: 'integers 0..100', inputs: [{ shape: [3, 4], ...SMALL }, ...target([1])], dtypes: NOT_BOOL },
      { op, name: 'scalar', inputs: [{ shape: [], ...SMALL }, ...target([])], dtypes: NOT_BOOL },
      { op, name: 'empty', inputs: [{ shape: [0, 2], ...SMALL }, ...target([1])], dtypes: NOT_BOOL },
      { op, name: 'from bool', inputs: [{ shape: [2, 3] }, ...target([1])], dtypes: ['bool'] },
      // Truncation toward zero: -0.9 -> 0 where floor would give -1; to bool, 0.5 is true.
      { op, name: 'fractions truncate toward zero', inputs: [vals([0.5, 1.7, 2.5, 99.9, -0.5, -0.9, 0, 3.25]), ...target([1])], dtypes: FLOAT_DTYPES },
    ];
    return cases.map((c) => (attrs ? { ...c, attrs } : c));
  }),
  // BitCast to T2 for the bindings of one width; NaN payloads aside, every value round-trips through the bytes
  ...([
    ['integers 0..100', { shape: [3, 4], ...SMALL }, NOT_BOOL],
    ['scalar', { shape: [], ...SMALL }, NOT_BOOL],
    ['empty', { shape: [0, 2], ...SMALL }, NOT_BOOL],
    ['negative fractions', vals([-0.5, -1.75, 2.25, -3]), FLOAT_DTYPES],
    ['from bool', { shape: [2, 3] }, ['bool']],
  ] as const).map(([name, x, dtypes]): ConformanceCase => ({ op: 'BitCast', name, inputs: [x], attrs: castTo, bindings: toNotBool, dtypes })),
  { op: 'BitCast', name: 'to bool from 0 and 1', inputs: [{ shape: [2, 3], range: [0, 1], integer: true }], attrs: castTo, bindings: (b) => sameWidth(b) && b.T2 === 'bool' },
  { op: 'BitCast', name: 'to a dtype of another width is rejected', inputs: [{ shape: [2] }], attrs: { to: 'float64' }, bindings: (b) => b.T1 === 'float32' && b.T2 === 'int32', throws: true },
  { op: 'Cast', name: "to='complex64' is rejected", inputs: [{ shape: [2] }], attrs: { to: 'complex64' }, dtypes: ['float32'], throws: true },
  { op: 'Cast', name: 'saturate=2 is rejected', inputs: [{ shape: [2] }], attrs: { to: 'float8e5m2', saturate: 2 }, dtypes: ['float32'], throws: true },
  { op: 'Cast', name: "round_mode='even' is rejected", inputs: [{ shape: [2] }], attrs: { to: 'float8e8m0', round_mode: 'even' }, dtypes: ['float32'], throws: true },
  ...narrowConversion(),
];

/**
 * Casts with the narrow types (float8, float4e2m1, 4- and 2-bit integers): from
 * each of them to every type, and into them with saturate and round_mode. Values
 * converted to integer types stay in (-1, 100], where the conversion is defined.
 */
function narrowConversion(): ConformanceCase[] {
  const FLOAT_NARROW: DType[] = ['float8e4m3fn', 'float8e4m3fnuz', 'float8e5m2', 'float8e5m2fnuz', 'float4e2m1'];
  const INT_NARROW: DType[] = ['int4', 'uint4', 'int2', 'uint2'];
  const toNarrow = (b: Readonly<Record<string, DType>>) => isNarrow(b.T2!);
  const toFloat8 = (b: Readonly<Record<string, DType>>) => FLOAT_NARROW.includes(b.T2!);
  // Normal, subnormal, signed zero, NaN and rounding cases of the float8 formats; float4e2m1 holds
  // few of them and saturates the rest when the inputs are made.
  const small = [0, -0, 0.5, 1.5, 3, 6, 0.25, -0.625, 96, 0.001953125, 0.0048828125, 13, NaN, 0.3, 44];
  // Beyond every float8 range, ties, underflow to zero, infinities and NaN.
  const wide = [1e6, -1e6, 464, 480, 250, 60000, 61440, -61440, 1e-9, -1e-9, 0.1, 0.2, Infinity, -Infinity, NaN, 3.5];
  // e8m0: around powers of two, the top of the range, below the bottom, negative (the sign is ignored).
  const powers = [0, 0.3, 0.75, 1, 1.5, 3, 2 ** 127 * 1.5, 2 ** 127, 2 ** -130, -4, NaN, Infinity, 0.7, 6];
  const cases: ConformanceCase[] = [];
  for (const op of ['Cast', 'CastLike'] as const) {
    const target = (b: Readonly<Record<string, DType>>): Record<string, AttrValue> => (op === 'Cast' ? { to: b.T2! } : {});
    const like: CaseInput[] = op === 'CastLike' ? [{ shape: [1], range: [0, 1], integer: true }] : [];
    const withAttrs = (extra: Record<string, AttrValue>) => (b: Readonly<Record<string, DType>>) => ({ ...target(b), ...extra });
    cases.push(
      { op, name: 'from a narrow float', inputs: [vals(small), ...like], attrs: withAttrs({}), dtypes: FLOAT_NARROW },
      { op, name: 'from float8e8m0', inputs: [vals([1, 2, 64, 0.25, 2 ** -127, 0.5, NaN]), ...like], attrs: withAttrs({}), dtypes: ['float8e8m0'] },
      { op, name: 'from a narrow integer (its whole range)', inputs: [{ shape: [3, 5] }, ...like], attrs: withAttrs({}), dtypes: INT_NARROW },
      { op, name: 'narrow, empty', inputs: [{ shape: [0, 2], range: [0, 3], integer: true }, ...like], attrs: withAttrs({}), dtypes: [...FLOAT_NARROW, ...INT_NARROW] },
      { op, name: 'to a narrow type, saturate', inputs: [vals(wide), ...like], attrs: withAttrs({}), dtypes: ['float32', 'float64', 'float16'], bindings: toNarrow },
      { op, name: 'to a narrow type, saturate=0', inputs: [vals(wide), ...like], attrs: withAttrs({ saturate: 0 }), dtypes: ['float32', 'float64'], bindings: toFloat8 },
      { op, name: 'to a narrow type from int64 beyond its width', inputs: [vals([-100, 100, 1000, -1000, 70000, 17, -9]), ...like], attrs: withAttrs({}), dtypes: ['int64', 'int32'], bindings: toNarrow },
      ...(['up', 'down', 'nearest'] as const).flatMap((round_mode): ConformanceCase[] =>
        [1, 0].map((saturate) => ({
          op,
          name: `to float8e8m0, round_mode ${round_mode}, saturate=${saturate}`,
          inputs: [vals(powers), ...like],
          attrs: withAttrs({ round_mode, saturate }),
          dtypes: ['float32', 'float64'],
          bindings: (b: Readonly<Record<string, DType>>) => b.T2 === 'float8e8m0',
        })),
      ),
    );
  }
  return cases;
}

export const elementwiseCases: ConformanceCase[] = [...unaryMath, ...activations, ...binaryOps, ...variadicOps, ...selection, ...conversion];
