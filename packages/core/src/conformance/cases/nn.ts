/**
 * Conformance cases of the nn ops. Values stay in the kit's default ranges so
 * 16-bit float results hold the default tolerances when a backend accumulates in
 * float32; the long reductions are split by precision with their own bounds.
 */
import type { ConformanceCase, CaseInput } from '../types.js';

const x = (...shape: number[]): CaseInput => ({ shape });
const WIDE: ConformanceCase['dtypes'] = ['float32', 'float64'];
const HALF: ConformanceCase['dtypes'] = ['float16', 'bfloat16'];
/** Distinct small integers (a fixed permutation of 0..n-1): maxima without ties in every dtype. */
const distinct = (...shape: number[]): CaseInput => {
  const n = shape.reduce((a, b) => a * b, 1);
  return { shape, values: Array.from({ length: n }, (_, i) => (i * 17) % n) };
};

const matmul: ConformanceCase[] = [
  { op: 'MatMul', name: '2-D [3,4]x[4,5]', inputs: [x(3, 4), x(4, 5)] },
  { op: 'MatMul', name: '1-D x 2-D [4]x[4,3]', inputs: [x(4), x(4, 3)] },
  { op: 'MatMul', name: '2-D x 1-D [3,4]x[4]', inputs: [x(3, 4), x(4)] },
  { op: 'MatMul', name: '1-D x 1-D gives a scalar', inputs: [x(5), x(5)] },
  { op: 'MatMul', name: 'batch broadcast [2,1,3,4]x[5,4,2]', inputs: [x(2, 1, 3, 4), x(5, 4, 2)] },
  { op: 'MatMul', name: 'batched x 1-D [2,3,4]x[4]', inputs: [x(2, 3, 4), x(4)] },
  { op: 'MatMul', name: '1-D x batched [4]x[2,4,3]', inputs: [x(4), x(2, 4, 3)] },
  { op: 'MatMul', name: 'batch 1 broadcast [1,3,4]x[3,4,2]', inputs: [x(1, 3, 4), x(3, 4, 2)] },
  { op: 'MatMul', name: 'empty M [0,3]x[3,4]', inputs: [x(0, 3), x(3, 4)] },
  { op: 'MatMul', name: 'empty K gives zeros [2,0]x[0,3]', inputs: [x(2, 0), x(0, 3)] },
  { op: 'MatMul', name: 'long K [2,96]x[96,3]', inputs: [x(2, 96), x(96, 3)], dtypes: WIDE, rtol: 1e-4, atol: 1e-4 },
  { op: 'MatMul', name: 'long K [2,96]x[96,3] (16-bit)', inputs: [x(2, 96), x(96, 3)], dtypes: HALF, rtol: 2e-2, atol: 5e-2 },
  { op: 'MatMul', name: 'thin [7,40]x[40,3] (few columns)', inputs: [x(7, 40), x(40, 3)], dtypes: WIDE, rtol: 1e-4, atol: 1e-4 },
  { op: 'MatMul', name: 'inner dims differ', inputs: [x(2, 3), x(4, 5)], throws: true },
  { op: 'MatMul', name: 'batch dims do not broadcast', inputs: [x(2, 3, 4), x(3, 4, 5)], throws: true },
  { op: 'MatMul', name: 'scalar operand', inputs: [x(), x(3)], throws: true },
];

const gemm: ConformanceCase[] = [
  { op: 'Gemm', name: 'no C', inputs: [x(3, 4), x(4, 5)] },
  { op: 'Gemm', name: 'C [3,5]', inputs: [x(3, 4), x(4, 5), x(3, 5)] },
  { op: 'Gemm', name: 'transA', inputs: [x(4, 3), x(4, 5), x(3, 5)], attrs: { transA: 1 } },
  { op: 'Gemm', name: 'transB', inputs: [x(3, 4), x(5, 4), x(3, 5)], attrs: { transB: 1 } },
  { op: 'Gemm', name: 'transA and transB', inputs: [x(4, 3), x(5, 4)], attrs: { transA: 1, transB: 1 } },
  { op: 'Gemm', name: 'alpha and beta', inputs: [x(3, 4), x(4, 5), x(3, 5)], attrs: { alpha: 0.5, beta: -2 }, dtypes: ['float32', 'float64', 'float16', 'bfloat16'] },
  { op: 'Gemm', name: 'all attributes', inputs: [x(4, 3), x(5, 4), x(1, 5)], attrs: { alpha: 0.25, beta: 0.5, transA: 1, transB: 1 }, dtypes: ['float32', 'float64', 'float16', 'bfloat16'] },
  { op: 'Gemm', name: 'C scalar', inputs: [x(3, 4), x(4, 5), x()] },
  { op: 'Gemm', name: 'C row [5]', inputs: [x(3, 4), x(4, 5), x(5)] },
  { op: 'Gemm', name: 'C column [3,1]', inputs: [x(3, 4), x(4, 5), x(3, 1)] },
  { op: 'Gemm', name: 'C single [1]', inputs: [x(3, 4), x(4, 5), x(1)] },
  { op: 'Gemm', name: 'empty K keeps beta*C', inputs: [x(3, 0), x(0, 5), x(3, 5)] },
  { op: 'Gemm', name: 'empty M', inputs: [x(0, 4), x(4, 5), x(5)] },
  { op: 'Gemm', name: 'inner dims differ', inputs: [x(3, 4), x(5, 5)], throws: true },
  { op: 'Gemm', name: 'C does not broadcast', inputs: [x(3, 4), x(4, 5), x(2, 5)], throws: true },
  { op: 'Gemm', name: 'A not 2-D', inputs: [x(2, 3, 4), x(4, 5)], throws: true },
];

const conv: ConformanceCase[] = [
  { op: 'Conv', name: '1-D with bias', inputs: [x(1, 2, 7), x(3, 2, 3), x(3)] },
  { op: 'Conv', name: '1-D strides dilations asymmetric pads', inputs: [x(2, 2, 9), x(2, 2, 3)], attrs: { strides: [2], dilations: [2], pads: [1, 2] } },
  { op: 'Conv', name: '1-D one input channel, strided frames (STFT-like)', inputs: [x(1, 1, 40), x(5, 1, 16), x(5)], attrs: { strides: [8] }, dtypes: WIDE, rtol: 1e-4, atol: 1e-4 },
  { op: 'FusedConv', name: 'Relu, 2-D pads 1 with bias', inputs: [x(2, 3, 5, 4), x(2, 3, 3, 3), x(2)], attrs: { pads: [1, 1, 1, 1] } },
  { op: 'FusedConv', name: 'LeakyRelu 0.1, strided', inputs: [x(1, 2, 7, 7), x(3, 2, 3, 3)], attrs: { strides: [2, 2], activation: 'LeakyRelu', activation_params: [0.1] } },
  { op: 'FusedConv', name: 'Clip [-0.5, 0.5], 1-D grouped', inputs: [x(1, 4, 9), x(4, 2, 3), x(4)], attrs: { group: 2, activation: 'Clip', activation_params: [-0.5, 0.5] } },
  { op: 'FusedConv', name: 'Relu, 3x3 16 channels at 24x24 (Winograd on cpu)', inputs: [x(1, 16, 24, 24), x(16, 16, 3, 3)], attrs: { pads: [1, 1, 1, 1] }, dtypes: WIDE, rtol: 1e-3, atol: 1e-3 }, // Winograd: errors ~1e-5 of the output's scale
  { op: 'FusedConv', name: 'residual Z then Relu, 2-D pads 1 with bias', inputs: [x(2, 3, 5, 4), x(2, 3, 3, 3), x(2), x(2, 2, 5, 4)], attrs: { pads: [1, 1, 1, 1] } },
  { op: 'FusedConv', name: 'residual Z, Identity, no bias, 1-D', inputs: [x(1, 4, 9), x(3, 4, 3), null, x(1, 3, 7)], attrs: { activation: 'Identity' } },
  { op: 'FusedConv', name: 'Z of another shape is rejected', inputs: [x(1, 2, 5), x(2, 2, 3), null, x(1, 2, 5)], throws: true },
  { op: 'FusedConv', name: 'an unknown activation is rejected', inputs: [x(1, 2, 5), x(2, 2, 3)], attrs: { activation: 'Tanh' }, throws: true },
  { op: 'FusedConv', name: 'Clip without its bounds is rejected', inputs: [x(1, 2, 5), x(2, 2, 3)], attrs: { activation: 'Clip' }, throws: true },
  { op: 'Conv', name: '2-D no bias', inputs: [x(1, 3, 5, 5), x(2, 3, 3, 3)] },
  { op: 'Conv', name: '2-D pads 1 with bias', inputs: [x(2, 3, 5, 4), x(2, 3, 3, 3), x(2)], attrs: { pads: [1, 1, 1, 1] } },
  { op: 'Conv', name: '2-D asymmetric pads', inputs: [x(1, 2, 5, 5), x(2, 2, 3, 3)], attrs: { pads: [1, 0, 2, 1] } },
  { op: 'Conv', name: '2-D strides, kernel 3x2', inputs: [x(1, 2, 7, 6), x(3, 2, 3, 2), x(3)], attrs: { strides: [2, 2] } },
  { op: 'Conv', name: '2-D dilations', inputs: [x(1, 2, 7, 7), x(2, 2, 3, 3)], attrs: { dilations: [2, 1], pads: [1, 1, 1, 1] } },
  { op: 'Conv', name: '2-D kernel_shape given', inputs: [x(1, 2, 5, 5), x(2, 2, 2, 3)], attrs: { kernel_shape: [2, 3] } },
  { op: 'Conv', name: '2-D group 2', inputs: [x(1, 4, 5, 5), x(6, 2, 3, 3), x(6)], attrs: { group: 2, pads: [1, 1, 1, 1] } },
  { op: 'Conv', name: 'depthwise', inputs: [x(2, 3, 6, 6), x(3, 1, 3, 3), x(3)], attrs: { group: 3, pads: [1, 1, 1, 1] } },
  { op: 'Conv', name: 'depthwise multiplier 2, strides', inputs: [x(1, 3, 7, 7), x(6, 1, 3, 3)], attrs: { group: 3, strides: [2, 2] } },
  { op: 'Conv', name: 'auto_pad SAME_UPPER', inputs: [x(1, 2, 6, 5), x(2, 2, 3, 3), x(2)], attrs: { auto_pad: 'SAME_UPPER', strides: [2, 2] } },
  { op: 'Conv', name: 'auto_pad SAME_LOWER', inputs: [x(1, 2, 6, 5), x(2, 2, 3, 3), x(2)], attrs: { auto_pad: 'SAME_LOWER', strides: [2, 2] } },
  { op: 'Conv', name: 'auto_pad SAME_UPPER odd total, kernel 2', inputs: [x(1, 1, 5, 5), x(1, 1, 2, 2)], attrs: { auto_pad: 'SAME_UPPER' } },
  { op: 'Conv', name: 'auto_pad SAME_LOWER odd total, kernel 2', inputs: [x(1, 1, 5, 5), x(1, 1, 2, 2)], attrs: { auto_pad: 'SAME_LOWER' } },
  { op: 'Conv', name: 'auto_pad VALID', inputs: [x(1, 2, 6, 5), x(2, 2, 3, 2)], attrs: { auto_pad: 'VALID', strides: [2, 1] } },
  { op: 'Conv', name: '3-D small', inputs: [x(1, 2, 4, 4, 3), x(2, 2, 2, 3, 2), x(2)], attrs: { pads: [1, 0, 1, 0, 1, 0], strides: [1, 2, 1] } },
  { op: 'Conv', name: 'empty batch', inputs: [x(0, 2, 5, 5), x(3, 2, 3, 3), x(3)] },
  { op: 'Conv', name: 'long reduction 16x3x3', inputs: [x(1, 16, 6, 6), x(4, 16, 3, 3)], dtypes: WIDE, rtol: 1e-4, atol: 1e-4 },
  { op: 'Conv', name: 'long reduction 16x3x3 (16-bit)', inputs: [x(1, 16, 6, 6), x(4, 16, 3, 3)], dtypes: HALF, rtol: 2e-2, atol: 1e-1 },
  { op: 'Conv', name: 'channels differ from W', inputs: [x(1, 3, 5, 5), x(2, 2, 3, 3)], throws: true },
  { op: 'Conv', name: 'output channels not divisible by group', inputs: [x(1, 4, 5, 5), x(3, 2, 3, 3)], attrs: { group: 2 }, throws: true },
  { op: 'Conv', name: 'W rank differs from X', inputs: [x(1, 2, 5, 5), x(2, 2, 3)], throws: true },
  { op: 'Conv', name: 'kernel larger than input', inputs: [x(1, 1, 2, 2), x(1, 1, 3, 3)], throws: true },
  { op: 'Conv', name: 'bias of the wrong size', inputs: [x(1, 2, 5, 5), x(3, 2, 3, 3), x(2)], throws: true },
];

const maxPool: ConformanceCase[] = [
  { op: 'MaxPool', name: '1-D', inputs: [x(1, 2, 8)], attrs: { kernel_shape: [3] } },
  { op: 'MaxPool', name: '2-D', inputs: [x(2, 2, 5, 5)], attrs: { kernel_shape: [2, 2] } },
  { op: 'MaxPool', name: '2-D strides', inputs: [x(1, 1, 7, 7)], attrs: { kernel_shape: [3, 3], strides: [2, 2] } },
  { op: 'MaxPool', name: '2-D pads', inputs: [x(1, 2, 5, 5)], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
  { op: 'MaxPool', name: '2-D asymmetric pads, kernel 2x3', inputs: [x(1, 1, 5, 6)], attrs: { kernel_shape: [2, 3], pads: [0, 1, 1, 2] } },
  { op: 'MaxPool', name: '2-D dilations', inputs: [x(1, 1, 6, 6)], attrs: { kernel_shape: [2, 2], dilations: [2, 2] } },
  { op: 'MaxPool', name: '2-D dilations, strides and pads', inputs: [x(1, 2, 7, 7)], attrs: { kernel_shape: [2, 3], dilations: [2, 2], strides: [2, 1], pads: [1, 2, 1, 2] } },
  { op: 'MaxPool', name: 'ceil_mode', inputs: [x(1, 1, 6, 6)], attrs: { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 } },
  { op: 'MaxPool', name: 'ceil_mode drops a window starting in the end pad', inputs: [x(1, 1, 5, 5)], attrs: { kernel_shape: [2, 2], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1 } },
  { op: 'MaxPool', name: 'auto_pad SAME_UPPER', inputs: [x(1, 1, 5, 5)], attrs: { kernel_shape: [2, 2], auto_pad: 'SAME_UPPER' } },
  { op: 'MaxPool', name: 'auto_pad SAME_LOWER', inputs: [x(1, 1, 5, 5)], attrs: { kernel_shape: [2, 2], auto_pad: 'SAME_LOWER' } },
  { op: 'MaxPool', name: 'auto_pad VALID with strides', inputs: [x(1, 1, 7, 6)], attrs: { kernel_shape: [3, 3], strides: [2, 2], auto_pad: 'VALID' } },
  { op: 'MaxPool', name: '3-D', inputs: [x(1, 2, 4, 4, 4)], attrs: { kernel_shape: [2, 2, 2], strides: [2, 2, 2] } },
  { op: 'MaxPool', name: 'Indices', inputs: [distinct(1, 2, 4, 5)], attrs: { kernel_shape: [2, 2], strides: [2, 1], pads: [1, 0, 0, 1] }, outputs: 2 },
  { op: 'MaxPool', name: 'Indices, storage_order 1', inputs: [distinct(2, 1, 4, 5)], attrs: { kernel_shape: [2, 3], strides: [1, 2], storage_order: 1 }, outputs: 2 },
  { op: 'MaxPool', name: 'Indices 1-D', inputs: [distinct(2, 2, 9)], attrs: { kernel_shape: [3], strides: [2] }, outputs: 2 },
  { op: 'MaxPool', name: 'empty batch', inputs: [x(0, 2, 4, 4)], attrs: { kernel_shape: [2, 2] } },
  { op: 'MaxPool', name: 'kernel_shape rank differs', inputs: [x(1, 1, 4, 4)], attrs: { kernel_shape: [2] }, throws: true },
  { op: 'MaxPool', name: 'pad as large as the window', inputs: [x(1, 1, 4, 4)], attrs: { kernel_shape: [2, 2], pads: [2, 0, 0, 0] }, throws: true },
  { op: 'MaxPool', name: 'input without spatial dims', inputs: [x(2, 3)], attrs: { kernel_shape: [2] }, throws: true },
];

const averagePool: ConformanceCase[] = [
  { op: 'AveragePool', name: '1-D', inputs: [x(1, 2, 8)], attrs: { kernel_shape: [3] } },
  { op: 'AveragePool', name: '2-D', inputs: [x(2, 2, 5, 5)], attrs: { kernel_shape: [2, 2] } },
  { op: 'AveragePool', name: '2-D strides', inputs: [x(1, 1, 7, 7)], attrs: { kernel_shape: [3, 3], strides: [2, 2] } },
  { op: 'AveragePool', name: 'pads excluded', inputs: [x(1, 2, 5, 5)], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
  { op: 'AveragePool', name: 'pads counted (count_include_pad)', inputs: [x(1, 2, 5, 5)], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], count_include_pad: 1 } },
  { op: 'AveragePool', name: 'asymmetric pads counted', inputs: [x(1, 1, 5, 6)], attrs: { kernel_shape: [2, 3], pads: [0, 1, 1, 2], count_include_pad: 1 } },
  { op: 'AveragePool', name: 'dilations', inputs: [x(1, 1, 7, 7)], attrs: { kernel_shape: [2, 2], dilations: [2, 3], pads: [1, 1, 0, 1] } },
  { op: 'AveragePool', name: 'ceil_mode', inputs: [x(1, 1, 6, 6)], attrs: { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 } },
  {
    op: 'AveragePool',
    name: 'ceil_mode window past the end pad, count_include_pad',
    inputs: [x(1, 1, 6, 6)],
    attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1, count_include_pad: 1 },
  },
  {
    op: 'AveragePool',
    name: 'ceil_mode drops a window starting in the end pad',
    inputs: [x(1, 1, 5, 5)],
    attrs: { kernel_shape: [2, 2], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1 },
  },
  { op: 'AveragePool', name: 'auto_pad SAME_UPPER', inputs: [x(1, 1, 5, 5)], attrs: { kernel_shape: [2, 2], auto_pad: 'SAME_UPPER' } },
  { op: 'AveragePool', name: 'auto_pad SAME_LOWER', inputs: [x(1, 1, 5, 5)], attrs: { kernel_shape: [2, 2], auto_pad: 'SAME_LOWER' } },
  { op: 'AveragePool', name: 'auto_pad SAME_UPPER counted', inputs: [x(1, 1, 6, 5)], attrs: { kernel_shape: [3, 3], strides: [2, 2], auto_pad: 'SAME_UPPER', count_include_pad: 1 } },
  { op: 'AveragePool', name: 'auto_pad VALID', inputs: [x(1, 1, 7, 6)], attrs: { kernel_shape: [3, 2], strides: [2, 2], auto_pad: 'VALID' } },
  { op: 'AveragePool', name: '3-D', inputs: [x(1, 2, 4, 4, 4)], attrs: { kernel_shape: [2, 2, 2], pads: [1, 0, 1, 0, 1, 0] } },
  { op: 'AveragePool', name: 'empty batch', inputs: [x(0, 1, 4, 4)], attrs: { kernel_shape: [2, 2] } },
  { op: 'AveragePool', name: 'missing kernel_shape', inputs: [x(1, 1, 4, 4)], throws: true },
  { op: 'AveragePool', name: 'strides of the wrong length', inputs: [x(1, 1, 4, 4)], attrs: { kernel_shape: [2, 2], strides: [1] }, throws: true },
];

const globalPools: ConformanceCase[] = (['GlobalAveragePool', 'GlobalMaxPool'] as const).flatMap((op) => [
  { op, name: '2-D', inputs: [x(2, 3, 4, 5)] },
  { op, name: '1-D', inputs: [x(1, 2, 7)] },
  { op, name: '3-D', inputs: [x(1, 2, 2, 3, 2)] },
  { op, name: 'single element planes', inputs: [x(2, 3, 1, 1)] },
  { op, name: 'empty batch', inputs: [x(0, 3, 2, 2)] },
  { op, name: 'input without spatial dims', inputs: [x(2, 3)], throws: true },
]);

/** X, scale, B, mean, var for C channels; var stays in [0.5, 2]. */
const bnInputs = (shape: number[]): CaseInput[] => {
  const c = shape[1]!;
  return [{ shape }, x(c), x(c), x(c), { shape: [c], range: [0.5, 2] }];
};
const batchNorm: ConformanceCase[] = [
  { op: 'BatchNormalization', name: '4-D', inputs: bnInputs([2, 3, 4, 5]) },
  { op: 'BatchNormalization', name: '2-D', inputs: bnInputs([4, 3]) },
  { op: 'BatchNormalization', name: '3-D, epsilon', inputs: bnInputs([2, 2, 5]), attrs: { epsilon: 0.01 } },
  { op: 'BatchNormalization', name: 'empty batch', inputs: bnInputs([0, 3, 2]) },
  { op: 'BatchNormalization', name: 'scale of the wrong size', inputs: [x(2, 3, 4), x(4), x(3), x(3), { shape: [3], range: [0.5, 2] }], throws: true },
  { op: 'BatchNormalization', name: 'training mode, running statistics', inputs: bnInputs([2, 3, 4]), attrs: { training_mode: 1, momentum: 0.8 }, outputs: 3 },
  { op: 'BatchNormalization', name: 'training mode 2-D, Y only', inputs: bnInputs([5, 2]), attrs: { training_mode: 1 } },
  { op: 'BatchNormalization', name: 'running statistics without training mode', inputs: bnInputs([2, 3, 4]), outputs: 3, throws: true },
];

const layerNorm: ConformanceCase[] = [
  { op: 'LayerNormalization', name: 'axis -1', inputs: [x(2, 3, 8), x(8), x(8)] },
  { op: 'LayerNormalization', name: 'axis -2', inputs: [x(2, 3, 4), x(3, 4), x(3, 4)], attrs: { axis: -2 } },
  { op: 'LayerNormalization', name: 'axis 0', inputs: [x(3, 4), x(3, 4), x(3, 4)], attrs: { axis: 0 } },
  { op: 'LayerNormalization', name: 'axis 1 of 4-D', inputs: [x(2, 2, 3, 2), x(2, 3, 2), x(2, 3, 2)], attrs: { axis: 1 } },
  { op: 'LayerNormalization', name: 'no bias, epsilon', inputs: [x(4, 6), x(6), null], attrs: { epsilon: 0.1 } },
  { op: 'LayerNormalization', name: 'Scale with a leading 1', inputs: [x(2, 5), x(1, 5), x(5)] },
  { op: 'LayerNormalization', name: 'Mean and InvStdDev outputs', inputs: [x(3, 2, 5), x(2, 5), x(2, 5)], attrs: { axis: 1 }, outputs: 3 },
  { op: 'LayerNormalization', name: 'empty rows', inputs: [x(0, 4), x(4), x(4)] },
  { op: 'LayerNormalization', name: 'Scale of the wrong shape', inputs: [x(2, 3, 4), x(3)], throws: true },
  { op: 'LayerNormalization', name: 'axis out of range', inputs: [x(2, 3), x(3)], attrs: { axis: 2 }, throws: true },
];

const softmaxes: ConformanceCase[] = (['Softmax', 'LogSoftmax'] as const).flatMap((op) => [
  { op, name: 'default axis', inputs: [x(2, 6)] },
  { op, name: 'axis 0', inputs: [x(3, 4, 5)], attrs: { axis: 0 } },
  { op, name: 'axis 1', inputs: [x(3, 4, 5)], attrs: { axis: 1 } },
  { op, name: 'axis -1', inputs: [x(3, 4, 5)], attrs: { axis: -1 } },
  { op, name: '1-D', inputs: [x(7)] },
  { op, name: 'large magnitudes', inputs: [{ shape: [3, 5], range: [-60, 60] }] },
  { op, name: 'empty', inputs: [x(0, 4)] },
  { op, name: 'scalar input', inputs: [x()], throws: true },
  { op, name: 'axis out of range', inputs: [x(2, 3)], attrs: { axis: 2 }, throws: true },
]);

export const nnCases: ConformanceCase[] = [...matmul, ...gemm, ...conv, ...maxPool, ...averagePool, ...globalPools, ...batchNorm, ...layerNorm, ...softmaxes];
