import { describe, expect, it } from 'vitest';
import { f32ToF16, f16ToF32 } from '../src/dtype.js';
import { isMxError } from '../src/errors.js';
import { elementwiseCases } from '../src/conformance/cases/elementwise.js';
import { elementwiseOps } from '../src/ops/elementwise.js';
import { kernelKey, type AttrValue, type OpSchema } from '../src/ops/schema.js';
import { elementwiseRef } from '../src/reference/elementwise.js';
import { broadcastIndex, strides } from '../src/reference/util.js';
import { checkCases, infer, run, t, type T } from './op-harness.js';

const OPS: Record<string, OpSchema> = elementwiseOps;
const shapeOf = (op: string, inputs: (T | null)[], attrs?: Record<string, AttrValue>) => infer(OPS[op]!, inputs, attrs).outputs[0]!;
const ref = (op: string, inputs: (T | null)[], attrs?: Record<string, AttrValue>) => run(OPS[op]!, elementwiseRef[op]!, inputs, attrs)[0]!.data;
const f = (shape: number[], data: number[] = new Array(shape.reduce((a, b) => a * b, 1)).fill(0)) => t('float32', shape, data);
const f64 = (data: number[]) => t('float64', [data.length], data);

/** The INVALID_ARGUMENT MxError message of a failing call. */
function failure(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(isMxError(e) && e.code).toBe('INVALID_ARGUMENT');
    return (e as Error).message;
  }
  throw new Error('expected the call to fail');
}

describe('elementwise op table', () => {
  it('keys are the ONNX names and every op is documented and has a reference kernel', () => {
    for (const [k, s] of Object.entries(OPS)) {
      expect(s.name).toBe(k);
      expect(s.doc?.length).toBeGreaterThan(3);
      expect(elementwiseRef[k], k).toBeTypeOf('function');
    }
    expect(Object.keys(elementwiseRef).sort()).toEqual(Object.keys(OPS).sort());
  });

  it('kernel keys hold only the varying types, in ONNX constraint order', () => {
    expect(kernelKey(OPS.Add!, { T: 'float32' })).toBe('float32');
    expect(kernelKey(OPS.Cast!, { T1: 'float32', T2: 'int8' })).toBe('float32,int8');
    expect(kernelKey(OPS.Pow!, { T: 'float32', T1: 'int32' })).toBe('float32,int32');
    expect(Object.keys(OPS.Where!.types)).toEqual(['T']);
    expect(OPS.Where!.inputs[0]!.type).toBe('bool');
    for (const op of ['And', 'Or', 'Xor', 'Not']) expect(kernelKey(OPS[op]!, {}), op).toBe('');
    for (const op of ['Equal', 'Less', 'LessOrEqual', 'Greater', 'GreaterOrEqual', 'IsNaN', 'IsInf']) expect(OPS[op]!.outputs[0]!.type).toBe('bool');
  });
});

describe('elementwise shape rules', () => {
  it('broadcast binary ops follow NumPy', () => {
    expect(shapeOf('Add', [f([2, 3]), f([3])])).toEqual({ shape: [2, 3], dtype: 'float32' });
    expect(shapeOf('Mul', [f([2, 1, 4]), f([3, 1])]).shape).toEqual([2, 3, 4]);
    expect(shapeOf('Sub', [f([]), f([2, 3])]).shape).toEqual([2, 3]);
    expect(shapeOf('Div', [f([0, 3]), f([3])]).shape).toEqual([0, 3]);
    expect(shapeOf('Add', [f([]), f([])]).shape).toEqual([]);
  });

  it('a failed broadcast names the op, the shapes and the dtypes', () => {
    const m = failure(() => shapeOf('Add', [f([2, 3]), f([4])]));
    expect(m).toContain('Add: shapes [2,3] and [4] cannot be broadcast (inputs: float32[2,3], float32[4])');
    expect(failure(() => shapeOf('Where', [t('bool', [2, 3], []), f([4]), f([])]))).toContain('Where: shapes [2,3] and [4] and [] cannot be broadcast');
  });

  it('comparisons and predicates give bool; Pow keeps the base dtype', () => {
    expect(shapeOf('Equal', [t('int32', [2, 3], []), t('int32', [3], [])])).toEqual({ shape: [2, 3], dtype: 'bool' });
    expect(shapeOf('IsInf', [f([4])])).toEqual({ shape: [4], dtype: 'bool' });
    expect(shapeOf('Pow', [f([2, 1]), t('int32', [3], [])])).toEqual({ shape: [2, 3], dtype: 'float32' });
  });

  it('Where takes X dtype and broadcasts all three', () => {
    expect(shapeOf('Where', [t('bool', [3], []), t('int64', [2, 1], []), t('int64', [], [])])).toEqual({ shape: [2, 3], dtype: 'int64' });
  });

  it('variadic ops broadcast every input and need one', () => {
    expect(shapeOf('Max', [f([2, 1, 4]), f([3, 1]), f([])]).shape).toEqual([2, 3, 4]);
    expect(shapeOf('Sum', [f([5])]).shape).toEqual([5]);
    expect(failure(() => shapeOf('Mean', []))).toContain('Mean: needs at least one input');
  });

  it('PRelu broadcasts slope to X one way only', () => {
    expect(shapeOf('PRelu', [f([2, 3, 4]), f([3, 1])]).shape).toEqual([2, 3, 4]);
    expect(failure(() => shapeOf('PRelu', [f([3, 1]), f([3, 4])]))).toContain('PRelu: slope shape [3,4] does not broadcast to X shape [3,1]');
  });

  it('Clip keeps the input shape and takes single-value bounds', () => {
    expect(shapeOf('Clip', [f([2, 3]), null, f([])]).shape).toEqual([2, 3]);
    expect(shapeOf('Clip', [f([2, 3]), f([1]), f([1])]).shape).toEqual([2, 3]);
    expect(failure(() => shapeOf('Clip', [f([3]), f([2])]))).toContain('Clip: min must hold a single value, got shape [2] (inputs: float32[3], float32[2])');
  });

  it('Cast and CastLike produce the target dtype', () => {
    expect(shapeOf('Cast', [f([2, 3])], { to: 'int8' })).toEqual({ shape: [2, 3], dtype: 'int8' });
    expect(shapeOf('CastLike', [f([2]), t('uint16', [], [])])).toEqual({ shape: [2], dtype: 'uint16' });
    expect(failure(() => shapeOf('Cast', [f([2])], { to: 'complex64' }))).toContain('Cast: attribute to must be a dtype, got "complex64"');
  });

  it('attributes with fixed choices are checked', () => {
    const u8 = (s: number[]) => t('uint8', s, []);
    expect(failure(() => shapeOf('BitShift', [u8([2]), u8([2])], { direction: 'UP' }))).toContain("BitShift: attribute direction must be one of 'LEFT', 'RIGHT', got \"UP\"");
    expect(failure(() => shapeOf('Gelu', [f([2])], { approximate: 'fast' }))).toContain("attribute approximate must be one of 'none', 'tanh'");
    expect(failure(() => shapeOf('Mod', [f([2]), f([2])]))).toContain('Mod: fmod must be 1 for floating-point inputs');
    expect(shapeOf('Mod', [f([2]), f([2])], { fmod: 1 }).shape).toEqual([2]);
    expect(shapeOf('Mod', [t('int32', [2], []), t('int32', [], [])]).dtype).toBe('int32');
  });
});

describe('reference util', () => {
  it('strides and broadcast index maps', () => {
    expect(strides([2, 3, 4])).toEqual([12, 4, 1]);
    expect(strides([])).toEqual([]);
    expect([...broadcastIndex([2, 3], [3])]).toEqual([0, 1, 2, 0, 1, 2]);
    expect([...broadcastIndex([2, 3], [2, 1])]).toEqual([0, 0, 0, 1, 1, 1]);
    expect([...broadcastIndex([2, 3], [])]).toEqual([0, 0, 0, 0, 0, 0]);
    expect([...broadcastIndex([2, 0], [0])]).toEqual([]);
  });
});

describe('elementwise reference kernels', () => {
  it('broadcast arithmetic', () => {
    expect(ref('Add', [f([2, 3], [1, 2, 3, 4, 5, 6]), f([3], [10, 20, 30])])).toEqual([11, 22, 33, 14, 25, 36]);
    expect(ref('Add', [f([2, 1, 2], [1, 2, 3, 4]), f([3, 1], [10, 20, 30])])).toEqual([11, 12, 21, 22, 31, 32, 13, 14, 23, 24, 33, 34]);
    expect(ref('Sub', [f([], [1]), f([3], [1, 2, 3])])).toEqual([0, -1, -2]);
    expect(ref('Div', [f([2], [1, -3]), f([], [2])])).toEqual([0.5, -1.5]);
  });

  it('integer results wrap and integer division truncates toward zero', () => {
    expect(ref('Sub', [t('uint8', [2], [1, 0]), t('uint8', [2], [2, 1])])).toEqual([255, 255]);
    expect(ref('Mul', [t('int8', [1], [100]), t('int8', [1], [3])])).toEqual([44]);
    expect(ref('Neg', [t('int8', [1], [-128])])).toEqual([-128]);
    expect(ref('Div', [t('int32', [4], [-7, 7, -7, 7]), t('int32', [4], [2, 2, -2, -2])])).toEqual([-3, 3, 3, -3]);
  });

  it('Mod: fmod=0 takes the sign of the divisor, fmod=1 of the dividend', () => {
    const a = t('int32', [4], [-7, 7, -7, 7]);
    const b = t('int32', [4], [3, 3, -3, -3]);
    expect(ref('Mod', [a, b])).toEqual([2, 1, -1, -2]);
    expect(ref('Mod', [a, b], { fmod: 1 })).toEqual([-1, 1, -1, 1]);
    expect(ref('Mod', [f([2], [-5.5, 5.5]), f([], [2])], { fmod: 1 })).toEqual([-1.5, 1.5]);
  });

  it('Pow with a different exponent dtype', () => {
    expect(ref('Pow', [f([2], [2, 3]), t('int32', [2], [3, 2])])).toEqual([8, 9]);
    expect(ref('Pow', [t('int64', [2], [2, -3]), t('int64', [], [3])])).toEqual([8, -27]);
    expect(ref('Pow', [f64([4, 2]), f64([0.5, -1])])).toEqual([2, 0.5]);
  });

  it('rounding', () => {
    expect(ref('Round', [f([8], [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.4, -0.6])])).toEqual([-2, -2, -0, 0, 2, 2, 0, -1]);
    expect(ref('Floor', [f([3], [-1.5, 1.5, 2])])).toEqual([-2, 1, 2]);
    expect(ref('Ceil', [f([3], [-1.5, 1.5, 2])])).toEqual([-1, 2, 2]);
  });

  it('Erf and Gelu match tabulated values', () => {
    const erf = ref('Erf', [f64([0, 0.5, 1, -2, 3, 7])]);
    [0, 0.5204998778130465, 0.8427007929497149, -0.9953222650189527, 0.9999779095030014, 1].forEach((v, i) => expect(erf[i]).toBeCloseTo(v, 14));
    expect(ref('Gelu', [f64([1])])[0]).toBeCloseTo(0.8413447460685429, 14); // x * Phi(x)
    expect(ref('Gelu', [f64([1])], { approximate: 'tanh' })[0]).toBeCloseTo(0.841192, 6);
    expect(ref('Erf', [t('int32', [3], [-2, 0, 3])])).toEqual([0, 0, 0]); // integer output truncates
  });

  it('activations with default and explicit attributes', () => {
    const x = f64([-1, 0, 1, 1.5]);
    expect(ref('Relu', [t('int8', [3], [-3, 0, 2])])).toEqual([0, 0, 2]);
    expect(ref('LeakyRelu', [x])).toEqual([-0.01, 0, 1, 1.5]);
    expect(ref('ThresholdedRelu', [x])).toEqual([0, 0, 0, 1.5]);
    expect(ref('HardSigmoid', [x])).toEqual([0.3, 0.5, 0.7, 0.8]);
    expect(ref('HardSwish', [f64([-4, 1, 4])])).toEqual([-0, 1 * (1 / 6 + 0.5), 4]);
    expect(ref('Softsign', [x])).toEqual([-0.5, 0, 0.5, 0.6]);
    expect(ref('Elu', [x])[0]).toBeCloseTo(Math.exp(-1) - 1, 15);
    expect(ref('Celu', [x], { alpha: 2 })[0]).toBeCloseTo(2 * (Math.exp(-0.5) - 1), 15);
    // ONNX's defaults are the float32 roundings of alpha and gamma.
    expect(ref('Selu', [x])[0]).toBeCloseTo(1.05070102214813232421875 * 1.67326319217681884765625 * (Math.exp(-1) - 1), 15);
    expect(ref('Selu', [x])[2]).toBeCloseTo(1.05070102214813232421875, 15);
    expect(ref('Sigmoid', [f64([0, 2])])).toEqual([0.5, 1 / (1 + Math.exp(-2))]);
    expect(ref('Softplus', [f64([0, 1000, -1000])])).toEqual([Math.LN2, 1000, 0]);
    expect(ref('Mish', [f64([1])])[0]).toBeCloseTo(0.8650983882673103, 14);
    expect(ref('PRelu', [f([2, 2], [-1, 2, -3, 4]), f([2], [0.5, 0.25])])).toEqual([-0.5, 2, -1.5, 4]) // slope per column;
  });

  it('predicates', () => {
    const x = f([5], [NaN, Infinity, -Infinity, 0, -2]);
    expect(ref('IsNaN', [x])).toEqual([1, 0, 0, 0, 0]);
    expect(ref('IsInf', [x])).toEqual([0, 1, 1, 0, 0]);
    expect(ref('IsInf', [x], { detect_negative: 0 })).toEqual([0, 1, 0, 0, 0]);
    expect(ref('IsInf', [x], { detect_positive: 0 })).toEqual([0, 0, 1, 0, 0]);
    expect(ref('Equal', [f([3], [1, NaN, 2]), f([3], [1, NaN, 3])])).toEqual([1, 0, 0]);
    expect(ref('LessOrEqual', [t('int32', [3], [1, 2, 3]), t('int32', [], [2])])).toEqual([1, 1, 0]);
    expect(ref('Greater', [t('uint8', [3], [1, 2, 3]), t('uint8', [], [2])])).toEqual([0, 0, 1]);
  });

  it('logical and bitwise ops', () => {
    const a = t('bool', [4], [0, 0, 1, 1]);
    const b = t('bool', [4], [0, 1, 0, 1]);
    expect(ref('And', [a, b])).toEqual([0, 0, 0, 1]);
    expect(ref('Or', [a, b])).toEqual([0, 1, 1, 1]);
    expect(ref('Xor', [a, b])).toEqual([0, 1, 1, 0]);
    expect(ref('Not', [a])).toEqual([1, 1, 0, 0]);
    expect(ref('BitwiseNot', [t('uint8', [2], [5, 0])])).toEqual([250, 255]);
    expect(ref('BitwiseNot', [t('int8', [2], [5, -1])])).toEqual([-6, 0]);
    expect(ref('BitwiseNot', [t('uint32', [1], [0])])).toEqual([4294967295]);
    expect(ref('BitwiseAnd', [t('int32', [2], [-1, 5]), t('int32', [2], [6, 3])])).toEqual([6, 1]);
    expect(ref('BitwiseOr', [t('int16', [2], [-8, 5]), t('int16', [2], [1, 3])])).toEqual([-7, 7]);
    expect(ref('BitwiseXor', [t('uint32', [1], [0xffffffff]), t('uint32', [1], [1])])).toEqual([0xfffffffe]);
    expect(ref('BitwiseAnd', [t('int64', [1], [2 ** 40 + 3]), t('int64', [1], [2 ** 40 + 6])])).toEqual([2 ** 40 + 2]);
  });

  it('BitShift in both directions (LEFT wraps)', () => {
    expect(ref('BitShift', [t('uint8', [2], [1, 255]), t('uint8', [2], [3, 1])], { direction: 'LEFT' })).toEqual([8, 254]);
    expect(ref('BitShift', [t('uint8', [2], [16, 255]), t('uint8', [2], [2, 7])], { direction: 'RIGHT' })).toEqual([4, 1]);
    expect(ref('BitShift', [t('uint64', [1], [3]), t('uint64', [1], [40])], { direction: 'LEFT' })).toEqual([3 * 2 ** 40]);
  });

  it('variadic ops broadcast and propagate NaN', () => {
    expect(ref('Max', [f([3], [1, 5, 3]), f([2, 1], [2, 4])])).toEqual([2, 5, 3, 4, 5, 4]);
    expect(ref('Min', [f([2], [1, NaN]), f([2], [0, 1])])).toEqual([0, NaN]);
    expect(ref('Sum', [f([2], [1, 2]), f([2], [3, 4]), f([], [5])])).toEqual([9, 11]);
    expect(ref('Mean', [f64([1, 2]), f64([3, 4]), f64([5, 6])])).toEqual([3, 4]);
    expect(ref('Max', [t('int32', [2], [-1, 7])])).toEqual([-1, 7]);
  });

  it('Where and Clip', () => {
    expect(ref('Where', [t('bool', [3], [1, 0, 1]), f([2, 3], [1, 2, 3, 4, 5, 6]), f([], [0])])).toEqual([1, 0, 3, 4, 0, 6]);
    const x = f([4], [-2, 0, 3, 9]);
    expect(ref('Clip', [x])).toEqual([-2, 0, 3, 9]);
    expect(ref('Clip', [x, f([], [0])])).toEqual([0, 0, 3, 9]);
    expect(ref('Clip', [x, null, f([1], [4])])).toEqual([-2, 0, 3, 4]);
    expect(ref('Clip', [x, f([], [1]), f([], [4])])).toEqual([1, 1, 3, 4]);
    expect(ref('Clip', [x, f([], [4]), f([], [1])])).toEqual([1, 1, 1, 1]); // min > max gives max
  });

  it('Cast truncates toward zero, tests != 0 for bool and rounds 16-bit floats to nearest even', () => {
    const x = f([5], [-1.7, 1.7, 0.5, -0.9, 0]);
    expect(ref('Cast', [x], { to: 'int32' })).toEqual([-1, 1, 0, 0, 0]);
    expect(ref('Cast', [x], { to: 'bool' })).toEqual([1, 1, 1, 1, 0]);
    expect(ref('Cast', [f([1], [NaN])], { to: 'bool' })).toEqual([1]);
    expect(ref('Cast', [t('int32', [2], [300, -1])], { to: 'uint8' })).toEqual([44, 255]);
    expect(ref('Cast', [t('bool', [2], [1, 0])], { to: 'float64' })).toEqual([1, 0]);
    expect(ref('Cast', [f64([1 / 3])], { to: 'float16' })).toEqual([f16ToF32(f32ToF16(1 / 3))]);
    expect(ref('Cast', [t('int64', [1], [2 ** 40])], { to: 'float32' })).toEqual([2 ** 40]);
    expect(ref('CastLike', [x, t('int8', [], [0])])).toEqual([-1, 1, 0, 0, 0]);
  });
});

describe('Swish, Shrink and BitCast', () => {
  it('Swish is x * sigmoid(alpha x) and Shrink moves values outside [-lambd, lambd] toward 0 by bias', () => {
    expect(ref('Swish', [f([3], [3, 0, -1])])[0]).toBeCloseTo(3 / (1 + Math.exp(-3)), 6);
    expect(ref('Swish', [f([1], [2])], { alpha: 0.5 })[0]).toBeCloseTo(2 / (1 + Math.exp(-1)), 6);
    expect(ref('Shrink', [f([5], [-2, -1, 0, 1, 2])], { lambd: 1.5 })).toEqual([-2, 0, 0, 0, 2]);
    expect(ref('Shrink', [f([5], [-2, -1, 0, 1, 2])], { lambd: 1.5, bias: 1.5 })).toEqual([-0.5, 0, 0, 0, 0.5]);
  });

  it('BitCast keeps the bytes and the shape, and only between dtypes of one width', () => {
    expect(ref('BitCast', [f([3], [1, -2.5, 3.75])], { to: 'int32' })).toEqual([1065353216, -1071644672, 1081081856]);
    expect(ref('BitCast', [t('int8', [2], [-1, 5])], { to: 'uint8' })).toEqual([255, 5]);
    expect(ref('BitCast', [t('uint16', [1], [0x3c00])], { to: 'float16' })).toEqual([1]);
    expect(shapeOf('BitCast', [f([2, 3])], { to: 'uint32' })).toEqual({ shape: [2, 3], dtype: 'uint32' });
    expect(failure(() => shapeOf('BitCast', [f([2])], { to: 'float64' }))).toMatch(/element width of float32/);
  });
});

describe('elementwise conformance cases', () => {
  it('are valid calls for every binding, and the throwing ones throw INVALID_ARGUMENT', () => {
    expect(checkCases(OPS, elementwiseRef, elementwiseCases)).toEqual([]);
  });

  it('the checker reports a wrong case', () => {
    const problems = checkCases(OPS, elementwiseRef, [
      { op: 'Add', name: 'fails unexpectedly', inputs: [{ shape: [2] }, { shape: [3] }], dtypes: ['float32'] },
      { op: 'Add', name: 'does not throw', inputs: [{ shape: [2] }, { shape: [2] }], dtypes: ['int8'], throws: true },
      { op: 'Log', name: 'out of domain', inputs: [{ shape: [2], range: [-3, -1] }], dtypes: ['float64'] },
      { op: 'Nope', name: 'unknown', inputs: [] },
    ]);
    expect(problems).toHaveLength(4);
    expect(problems[0]).toMatch(/^Add\/fails unexpectedly \[float32\]: .*cannot be broadcast/);
    expect(problems[1]).toBe('Add/does not throw [int8]: did not throw');
    expect(problems[2]).toContain('Log/out of domain [float64]: NaN result');
    expect(problems[3]).toContain('unknown op');
  });

  it('cover every op with a scalar and an empty case, with unique names', () => {
    for (const op of Object.keys(OPS)) {
      const cases = elementwiseCases.filter((c) => c.op === op && !c.throws);
      expect(cases.some((c) => c.inputs[0]?.shape.length === 0), `${op} scalar`).toBe(true);
      expect(cases.some((c) => c.inputs.some((i) => i?.shape.includes(0))), `${op} empty`).toBe(true);
      const names = elementwiseCases.filter((c) => c.op === op).map((c) => c.name);
      expect(new Set(names).size, `${op} names`).toBe(names.length);
    }
  });
});
