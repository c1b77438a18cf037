/**
 * Conformance cases of the vision ops. Data is generated in the kit's default
 * ranges; index-like inputs (MaxUnpool's I, ROIs, Einsum shapes, Resize's scales
 * and sizes) are fixed. Cases whose result depends on integer truncation of an
 * interpolation run on the float dtypes only, with one exact integer case.
 */
import type { ConformanceCase, CaseInput } from '../types.js';

const x = (...shape: number[]): CaseInput => ({ shape });
const ints = (...values: number[]): CaseInput => ({ shape: [values.length], values, dtype: 'int64' });
const floats = (...values: number[]): CaseInput => ({ shape: [values.length], values, dtype: 'float32' });
const ranged = (lo: number, hi: number, ...shape: number[]): CaseInput => ({ shape, range: [lo, hi] });
const fixed = (shape: number[], values: number[]): CaseInput => ({ shape, values });
/** MaxUnpool's indices: int64 of the given shape. */
const indices = (shape: number[], values: number[]): CaseInput => ({ shape, values, dtype: 'int64' });
const FLOAT: ConformanceCase['dtypes'] = ['float32', 'float64', 'float16', 'bfloat16'];
const WIDE: ConformanceCase['dtypes'] = ['float32', 'float64'];
const HALF: ConformanceCase['dtypes'] = ['float16', 'bfloat16'];
const INTS: ConformanceCase['dtypes'] = ['int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64'];

/** A case with long sums, split by precision with looser bounds for each. */
const long = (c: ConformanceCase): ConformanceCase[] => [
  { ...c, dtypes: WIDE, rtol: 1e-4, atol: 1e-4 },
  { ...c, name: `${c.name} (16-bit)`, dtypes: HALF, rtol: 2e-2, atol: 1e-1 },
];

const convTranspose: ConformanceCase[] = [
  { op: 'ConvTranspose', name: '1-D', inputs: [x(1, 1, 3), x(1, 2, 3)] },
  { op: 'ConvTranspose', name: '2-D with bias', inputs: [x(1, 2, 3, 3), x(2, 3, 3, 3), x(3)] },
  { op: 'ConvTranspose', name: 'strides', inputs: [x(1, 1, 3, 3), x(1, 2, 3, 3)], attrs: { strides: [3, 2] } },
  { op: 'ConvTranspose', name: 'output_padding', inputs: [x(1, 1, 3, 3), x(1, 2, 3, 3)], attrs: { strides: [3, 2], output_padding: [1, 1] } },
  { op: 'ConvTranspose', name: 'pads', inputs: [x(1, 1, 3, 3), x(1, 2, 3, 3)], attrs: { strides: [3, 2], pads: [1, 2, 1, 2] } },
  { op: 'ConvTranspose', name: 'asymmetric pads', inputs: [x(2, 2, 3, 4), x(2, 1, 3, 2), x(1)], attrs: { strides: [2, 1], pads: [0, 1, 2, 0] } },
  { op: 'ConvTranspose', name: 'dilations', inputs: [x(1, 1, 3, 3), x(1, 1, 2, 2)], attrs: { dilations: [2, 2] } },
  { op: 'ConvTranspose', name: 'group 2', inputs: [x(2, 4, 3, 3), x(4, 1, 3, 3), x(2)], attrs: { group: 2 } },
  { op: 'ConvTranspose', name: 'group 2, 2 outputs per group, strides', inputs: [x(1, 4, 2, 3), x(4, 2, 2, 2)], attrs: { group: 2, strides: [2, 2] } },
  { op: 'ConvTranspose', name: 'output_shape pads at the end', inputs: [x(1, 1, 3, 3), x(1, 2, 3, 3)], attrs: { strides: [3, 2], output_shape: [10, 8] } },
  { op: 'ConvTranspose', name: 'output_shape crops at the start', inputs: [x(1, 1, 3, 3), x(1, 2, 3, 3)], attrs: { strides: [3, 2], output_shape: [8, 6] } },
  { op: 'ConvTranspose', name: 'full output_shape with kernel_shape', inputs: [x(1, 1, 3, 3), x(1, 2, 3, 3)], attrs: { kernel_shape: [3, 3], strides: [3, 2], output_shape: [1, 2, 10, 8] } },
  { op: 'ConvTranspose', name: 'auto_pad SAME_UPPER', inputs: [x(1, 1, 3, 3), x(1, 2, 3, 3)], attrs: { auto_pad: 'SAME_UPPER', strides: [2, 2] } },
  { op: 'ConvTranspose', name: 'auto_pad SAME_LOWER', inputs: [x(1, 1, 3, 3), x(1, 2, 3, 3)], attrs: { auto_pad: 'SAME_LOWER', strides: [2, 2] } },
  { op: 'ConvTranspose', name: 'auto_pad SAME_UPPER, stride above the kernel', inputs: [x(1, 1, 3, 2), x(1, 1, 2, 2)], attrs: { auto_pad: 'SAME_UPPER', strides: [3, 3] } },
  { op: 'ConvTranspose', name: 'auto_pad VALID', inputs: [x(1, 1, 3, 3), x(1, 1, 2, 3)], attrs: { auto_pad: 'VALID', strides: [2, 1] } },
  { op: 'ConvTranspose', name: '3-D', inputs: [x(1, 2, 2, 3, 2), x(2, 2, 2, 2, 2), x(2)], attrs: { strides: [1, 2, 1], pads: [0, 1, 0, 1, 0, 0] } },
  { op: 'ConvTranspose', name: 'empty batch', inputs: [x(0, 2, 3, 3), x(2, 3, 3, 3), x(3)] },
  ...long({ op: 'ConvTranspose', name: 'long reduction 16 channels', inputs: [x(1, 16, 3, 3), x(16, 2, 3, 3)], attrs: { strides: [2, 2] } }),
  { op: 'ConvTranspose', name: 'W rows differ from the channels', inputs: [x(1, 2, 3, 3), x(3, 2, 3, 3)], throws: true },
  { op: 'ConvTranspose', name: 'output_padding not below the stride', inputs: [x(1, 1, 3, 3), x(1, 1, 3, 3)], attrs: { strides: [2, 2], output_padding: [2, 0] }, throws: true },
  { op: 'ConvTranspose', name: 'bias of the wrong size', inputs: [x(1, 2, 3, 3), x(2, 3, 3, 3), x(2)], throws: true },
  { op: 'ConvTranspose', name: 'channels not divisible by group', inputs: [x(1, 3, 3, 3), x(3, 1, 3, 3)], attrs: { group: 2 }, throws: true },
];

/** Offsets within 1.5 pixels, so some taps leave the image. */
const offsets = (n: number, og: number, k: number, h: number, w: number) => ranged(-1.5, 1.5, n, og * k * 2, h, w);
const deformConv: ConformanceCase[] = [
  { op: 'DeformConv', name: 'basic', inputs: [x(1, 1, 4, 4), x(1, 1, 2, 2), offsets(1, 1, 4, 3, 3)] },
  { op: 'DeformConv', name: 'pads and bias', inputs: [x(1, 2, 4, 4), x(2, 2, 2, 2), offsets(1, 1, 4, 5, 5), x(2)], attrs: { pads: [1, 1, 1, 1] } },
  { op: 'DeformConv', name: 'mask', inputs: [x(1, 2, 4, 4), x(2, 2, 2, 2), offsets(1, 1, 4, 3, 3), x(2), ranged(0, 1, 1, 4, 3, 3)] },
  { op: 'DeformConv', name: 'strides and dilations', inputs: [x(2, 1, 6, 5), x(1, 1, 2, 2), offsets(2, 1, 4, 2, 2)], attrs: { strides: [2, 2], dilations: [2, 1] } },
  { op: 'DeformConv', name: 'group 2', inputs: [x(1, 4, 4, 4), x(2, 2, 2, 2), offsets(1, 1, 4, 3, 3)], attrs: { group: 2 } },
  { op: 'DeformConv', name: 'offset_group 2 with mask', inputs: [x(1, 2, 3, 3), x(1, 2, 2, 2), offsets(1, 2, 4, 2, 2), null, ranged(0, 1, 1, 8, 2, 2)], attrs: { offset_group: 2 } },
  { op: 'DeformConv', name: 'kernel 3x2', inputs: [x(1, 1, 5, 5), x(2, 1, 3, 2), offsets(1, 1, 6, 3, 4)], attrs: { kernel_shape: [3, 2] } },
  { op: 'DeformConv', name: 'offset of the wrong shape', inputs: [x(1, 1, 4, 4), x(1, 1, 2, 2), offsets(1, 1, 4, 2, 2)], throws: true },
  { op: 'DeformConv', name: '1-D input', inputs: [x(1, 1, 4), x(1, 1, 2), ranged(-1, 1, 1, 2, 3)], throws: true },
];

const lpPool: ConformanceCase[] = [
  { op: 'LpPool', name: '1-D p 3', inputs: [x(1, 2, 8)], attrs: { kernel_shape: [3], p: 3 } },
  { op: 'LpPool', name: '2-D default p', inputs: [x(2, 2, 5, 5)], attrs: { kernel_shape: [2, 2] } },
  { op: 'LpPool', name: 'p 1', inputs: [x(1, 2, 5, 5)], attrs: { kernel_shape: [3, 3], p: 1 } },
  { op: 'LpPool', name: 'strides and pads', inputs: [x(1, 1, 7, 6)], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 0] } },
  { op: 'LpPool', name: 'dilations', inputs: [x(1, 1, 6, 6)], attrs: { kernel_shape: [2, 2], dilations: [2, 2] } },
  { op: 'LpPool', name: 'ceil_mode', inputs: [x(1, 1, 6, 6)], attrs: { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1, p: 3 } },
  { op: 'LpPool', name: 'auto_pad SAME_UPPER', inputs: [x(1, 1, 5, 5)], attrs: { kernel_shape: [2, 2], auto_pad: 'SAME_UPPER' } },
  { op: 'LpPool', name: 'auto_pad SAME_LOWER', inputs: [x(1, 1, 5, 5)], attrs: { kernel_shape: [2, 2], auto_pad: 'SAME_LOWER', p: 4 } },
  { op: 'LpPool', name: '3-D', inputs: [x(1, 2, 3, 4, 3)], attrs: { kernel_shape: [2, 2, 2] } },
  { op: 'LpPool', name: 'empty batch', inputs: [x(0, 2, 4, 4)], attrs: { kernel_shape: [2, 2] } },
  { op: 'LpPool', name: 'missing kernel_shape', inputs: [x(1, 1, 4, 4)], throws: true },
  { op: 'LpPool', name: 'p 0', inputs: [x(1, 1, 4, 4)], attrs: { kernel_shape: [2, 2], p: 0 }, throws: true },
];

const globalLpPool: ConformanceCase[] = [
  { op: 'GlobalLpPool', name: '2-D default p', inputs: [x(2, 3, 4, 5)] },
  { op: 'GlobalLpPool', name: '1-D p 3', inputs: [x(1, 2, 7)], attrs: { p: 3 } },
  { op: 'GlobalLpPool', name: 'p 1', inputs: [x(1, 2, 3, 3)], attrs: { p: 1 } },
  { op: 'GlobalLpPool', name: '3-D', inputs: [x(1, 2, 2, 3, 2)] },
  { op: 'GlobalLpPool', name: 'empty batch', inputs: [x(0, 3, 2, 2)] },
  { op: 'GlobalLpPool', name: 'input without spatial dims', inputs: [x(2, 3)], throws: true },
];

const maxUnpool: ConformanceCase[] = [
  { op: 'MaxUnpool', name: '2-D', inputs: [x(1, 1, 2, 2), indices([1, 1, 2, 2], [5, 7, 13, 15])], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
  {
    op: 'MaxUnpool',
    name: 'batch and channels',
    inputs: [x(2, 2, 2, 2), indices([2, 2, 2, 2], [0, 3, 9, 14, 17, 18, 24, 31, 32, 38, 40, 45, 50, 55, 57, 63])],
    attrs: { kernel_shape: [2, 2], strides: [2, 2] },
  },
  { op: 'MaxUnpool', name: 'output_shape', inputs: [x(1, 1, 2, 2), indices([1, 1, 2, 2], [5, 7, 13, 15]), ints(1, 1, 5, 5)], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
  { op: 'MaxUnpool', name: 'pads', inputs: [x(1, 1, 2, 2), indices([1, 1, 2, 2], [0, 1, 3, 2])], attrs: { kernel_shape: [2, 2], strides: [2, 2], pads: [1, 1, 1, 1] } },
  { op: 'MaxUnpool', name: '1-D', inputs: [x(1, 2, 3), indices([1, 2, 3], [1, 2, 5, 6, 9, 10])], attrs: { kernel_shape: [2], strides: [2] } },
  { op: 'MaxUnpool', name: '3-D', inputs: [x(1, 1, 1, 1, 2), indices([1, 1, 1, 1, 2], [3, 6])], attrs: { kernel_shape: [2, 2, 2], strides: [2, 2, 2] } },
  { op: 'MaxUnpool', name: 'I of another shape', inputs: [x(1, 1, 2, 2), ints(0, 1, 2, 3)], attrs: { kernel_shape: [2, 2] }, throws: true },
  {
    op: 'MaxUnpool',
    name: 'output_shape smaller than the unpooled shape',
    inputs: [x(1, 1, 2, 2), indices([1, 1, 2, 2], [0, 1, 2, 3]), ints(1, 1, 3, 3)],
    attrs: { kernel_shape: [2, 2], strides: [2, 2] },
    throws: true,
  },
];

/** ROIs on multiples of 1/4 (exact in every float dtype), bins never an integral number of pixels. */
const rois5 = fixed([4, 5], [0, 1, 1, 4, 4, 1, 0, 0, 5, 3, 0, 2.25, 1.75, 3.5, 5.5, 1, 4.5, 3, 9, 7]);
const maxRoiPool: ConformanceCase[] = [
  { op: 'MaxRoiPool', name: 'pooled 2x2', inputs: [x(2, 3, 6, 6), rois5], attrs: { pooled_shape: [2, 2] } },
  { op: 'MaxRoiPool', name: 'pooled 3x2, spatial_scale', inputs: [x(2, 2, 6, 7), rois5], attrs: { pooled_shape: [3, 2], spatial_scale: 0.5 } },
  { op: 'MaxRoiPool', name: 'degenerate ROI', inputs: [x(1, 2, 4, 4), fixed([1, 5], [0, 3, 3, 1, 2])], attrs: { pooled_shape: [2, 2] } },
  { op: 'MaxRoiPool', name: 'rois without a batch index', inputs: [x(1, 1, 4, 4), fixed([1, 4], [0, 0, 2, 2])], attrs: { pooled_shape: [2, 2] }, throws: true },
  { op: 'MaxRoiPool', name: 'missing pooled_shape', inputs: [x(1, 1, 4, 4), fixed([1, 5], [0, 0, 0, 2, 2])], throws: true },
];

const rois4 = fixed([4, 4], [0.5, 1.25, 4.75, 5.5, 0, 0, 5, 3.5, 2.25, 1.75, 3.5, 5.25, 4.5, 3, 9.25, 7.75]);
const batch4 = ints(0, 1, 0, 1);
const roiAlign: ConformanceCase[] = [
  { op: 'RoiAlign', name: 'avg half_pixel sampling_ratio 2', inputs: [x(2, 2, 6, 6), rois4, batch4], attrs: { output_height: 3, output_width: 2, sampling_ratio: 2 } },
  { op: 'RoiAlign', name: 'avg adaptive sampling', inputs: [x(2, 2, 6, 6), rois4, batch4], attrs: { output_height: 2, output_width: 2 } },
  {
    op: 'RoiAlign',
    name: 'avg output_half_pixel, spatial_scale',
    inputs: [x(2, 2, 6, 7), rois4, batch4],
    attrs: { coordinate_transformation_mode: 'output_half_pixel', output_height: 2, output_width: 3, sampling_ratio: 2, spatial_scale: 0.5 },
  },
  { op: 'RoiAlign', name: 'max', inputs: [x(2, 2, 6, 6), rois4, batch4], attrs: { mode: 'max', output_height: 3, output_width: 3, sampling_ratio: 2 } },
  { op: 'RoiAlign', name: 'max output_half_pixel adaptive', inputs: [x(2, 1, 6, 6), rois4, batch4], attrs: { mode: 'max', coordinate_transformation_mode: 'output_half_pixel', output_height: 2, output_width: 2 } },
  { op: 'RoiAlign', name: 'default 1x1 output', inputs: [x(2, 3, 5, 5), rois4, batch4] },
  { op: 'RoiAlign', name: 'rois with 5 columns', inputs: [x(1, 1, 4, 4), fixed([1, 5], [0, 0, 0, 2, 2]), ints(0)], throws: true },
  { op: 'RoiAlign', name: 'batch_indices of another length', inputs: [x(1, 1, 4, 4), fixed([1, 4], [0, 0, 2, 2]), ints(0, 0)], throws: true },
  { op: 'RoiAlign', name: 'unknown mode', inputs: [x(1, 1, 4, 4), fixed([1, 4], [0, 0, 2, 2]), ints(0)], attrs: { mode: 'sum' }, throws: true },
];

const col2im: ConformanceCase[] = [
  { op: 'Col2Im', name: 'block 1x5', inputs: [x(1, 5, 5), ints(5, 5), ints(1, 5)] },
  { op: 'Col2Im', name: 'overlapping blocks 2x2', inputs: [x(2, 8, 12), ints(4, 5), ints(2, 2)] },
  { op: 'Col2Im', name: 'dilations', inputs: [x(1, 4, 5), ints(6, 6), ints(2, 2)], attrs: { dilations: [1, 5] } },
  { op: 'Col2Im', name: 'pads', inputs: [x(1, 5, 15), ints(5, 5), ints(1, 5)], attrs: { pads: [0, 1, 0, 1] } },
  { op: 'Col2Im', name: 'strides', inputs: [x(1, 9, 4), ints(5, 5), ints(3, 3)], attrs: { strides: [2, 2] } },
  { op: 'Col2Im', name: '3-D image', inputs: [x(1, 10, 12), ints(3, 4, 5), ints(1, 1, 5)] },
  { op: 'Col2Im', name: '1-D image', inputs: [x(1, 6, 3), ints(7), ints(3)], attrs: { strides: [2], pads: [1, 0] } },
  { op: 'Col2Im', name: 'block count differs from L', inputs: [x(1, 4, 5), ints(4, 4), ints(2, 2)], throws: true },
  { op: 'Col2Im', name: 'channels not a multiple of the block', inputs: [x(1, 5, 9), ints(4, 4), ints(2, 2)], throws: true },
];

const channelNorms: ConformanceCase[] = [
  { op: 'InstanceNormalization', name: '4-D', inputs: [x(2, 3, 4, 5), x(3), x(3)] },
  { op: 'InstanceNormalization', name: '3-D, epsilon', inputs: [x(2, 2, 7), x(2), x(2)], attrs: { epsilon: 0.01 } },
  { op: 'InstanceNormalization', name: 'empty batch', inputs: [x(0, 3, 2, 2), x(3), x(3)] },
  { op: 'InstanceNormalization', name: 'scale of the wrong size', inputs: [x(2, 3, 4), x(2), x(3)], throws: true },
  { op: 'GroupNormalization', name: '2 groups', inputs: [x(3, 4, 2, 2), x(4), x(4)], attrs: { num_groups: 2 } },
  { op: 'GroupNormalization', name: '1 group, epsilon', inputs: [x(2, 3, 5), x(3), x(3)], attrs: { num_groups: 1, epsilon: 0.01 } },
  { op: 'GroupNormalization', name: 'one channel per group', inputs: [x(2, 4, 3), x(4), x(4)], attrs: { num_groups: 4 } },
  { op: 'GroupNormalization', name: '3 groups of 2', inputs: [x(1, 6, 2, 3), x(6), x(6)], attrs: { num_groups: 3 } },
  { op: 'GroupNormalization', name: 'groups do not divide the channels', inputs: [x(1, 6, 4), x(6), x(6)], attrs: { num_groups: 4 }, throws: true },
  { op: 'GroupNormalization', name: 'missing num_groups', inputs: [x(1, 6, 4), x(6), x(6)], throws: true },
];

const norms: ConformanceCase[] = [
  { op: 'LpNormalization', name: 'p 2, last axis', inputs: [x(2, 3, 4)] },
  { op: 'LpNormalization', name: 'p 1, axis 0', inputs: [x(3, 4)], attrs: { axis: 0, p: 1 } },
  { op: 'LpNormalization', name: 'p 2, middle axis', inputs: [x(2, 3, 4)], attrs: { axis: 1 } },
  { op: 'LpNormalization', name: '1-D', inputs: [x(6)], attrs: { p: 1 } },
  { op: 'LpNormalization', name: 'a lane of zeros stays zero', inputs: [fixed([2, 3], [0, 0, 0, 1, -2, 2])] },
  { op: 'LpNormalization', name: 'p 3', inputs: [x(2, 3)], attrs: { p: 3 }, throws: true },
  { op: 'MeanVarianceNormalization', name: 'default axes', inputs: [x(3, 3, 3, 2)] },
  { op: 'MeanVarianceNormalization', name: 'axes [1]', inputs: [x(2, 5, 3)], attrs: { axes: [1] } },
  { op: 'MeanVarianceNormalization', name: 'all axes', inputs: [x(2, 3, 4)], attrs: { axes: [0, 1, 2] } },
  { op: 'MeanVarianceNormalization', name: 'negative axes [-1, 0]', inputs: [x(3, 2, 4)], attrs: { axes: [-1, 0] } },
  { op: 'MeanVarianceNormalization', name: 'duplicate axes', inputs: [x(3, 4)], attrs: { axes: [1, -1] }, throws: true },
  { op: 'RMSNormalization', name: 'last axis', inputs: [x(2, 3, 4), x(4)] },
  { op: 'RMSNormalization', name: 'axis 0', inputs: [x(2, 3, 4), x(2, 3, 4)], attrs: { axis: 0 } },
  { op: 'RMSNormalization', name: 'axis 1, epsilon', inputs: [x(2, 3, 4), x(3, 4)], attrs: { axis: 1, epsilon: 0.1 } },
  { op: 'RMSNormalization', name: 'scale broadcast [1,4]', inputs: [x(2, 3, 4), x(1, 4)], attrs: { axis: -2 } },
  { op: 'RMSNormalization', name: 'empty rows', inputs: [x(0, 4), x(4)] },
  { op: 'RMSNormalization', name: 'scale does not broadcast', inputs: [x(2, 3, 4), x(3)], throws: true },
  { op: 'LRN', name: 'size 3', inputs: [x(2, 5, 3, 3)], attrs: { size: 3 } },
  { op: 'LRN', name: 'size 2, alpha beta bias', inputs: [x(1, 4, 2, 3)], attrs: { size: 2, alpha: 0.01, beta: 0.5, bias: 2 } },
  { op: 'LRN', name: 'size 5 wider than half the channels', inputs: [x(1, 3, 4)], attrs: { size: 5, alpha: 0.1 } },
  { op: 'LRN', name: 'N x C only', inputs: [x(3, 6)], attrs: { size: 3, alpha: 0.05 } },
  { op: 'LRN', name: 'missing size', inputs: [x(1, 3, 4)], throws: true },
];

/** Resize inputs: X, no roi, and scales or sizes. */
const byScales = (shape: number[], scales: number[]): (CaseInput | null)[] => [x(...shape), null, floats(...scales)];
const bySizes = (shape: number[], sizes: number[]): (CaseInput | null)[] => [x(...shape), null, null, ints(...sizes)];
const roiSizes = (shape: number[], roi: number[], sizes: number[]): (CaseInput | null)[] => [x(...shape), floats(...roi), null, ints(...sizes)];
const resize: ConformanceCase[] = [
  // nearest: exact for every dtype
  { op: 'Resize', name: 'nearest upsample by scales', inputs: byScales([1, 1, 2, 2], [1, 1, 2, 3]) },
  { op: 'Resize', name: 'nearest downsample by scales', inputs: byScales([1, 1, 2, 4], [1, 1, 0.6, 0.6]) },
  { op: 'Resize', name: 'nearest by sizes', inputs: bySizes([1, 2, 3, 4], [1, 2, 7, 5]) },
  { op: 'Resize', name: 'nearest round_prefer_ceil asymmetric', inputs: bySizes([1, 1, 4, 4], [1, 1, 8, 7]), attrs: { nearest_mode: 'round_prefer_ceil', coordinate_transformation_mode: 'asymmetric' } },
  { op: 'Resize', name: 'nearest floor align_corners', inputs: bySizes([1, 1, 4, 4], [1, 1, 8, 6]), attrs: { nearest_mode: 'floor', coordinate_transformation_mode: 'align_corners' } },
  { op: 'Resize', name: 'nearest ceil half_pixel', inputs: bySizes([1, 1, 4, 4], [1, 1, 8, 3]), attrs: { nearest_mode: 'ceil' } },
  { op: 'Resize', name: 'nearest pytorch_half_pixel', inputs: bySizes([2, 3, 5], [2, 1, 3]), attrs: { coordinate_transformation_mode: 'pytorch_half_pixel' } },
  { op: 'Resize', name: 'nearest half_pixel_symmetric', inputs: byScales([1, 1, 2, 2], [1, 1, 2.3, 2.94]), attrs: { coordinate_transformation_mode: 'half_pixel_symmetric' } },
  { op: 'Resize', name: 'nearest tf_half_pixel_for_nn', inputs: bySizes([1, 1, 3, 4], [1, 1, 5, 3]), attrs: { coordinate_transformation_mode: 'tf_half_pixel_for_nn' } },
  { op: 'Resize', name: 'nearest axes [3,2]', inputs: [x(1, 1, 2, 2), null, floats(3, 2)], attrs: { axes: [3, 2] } },
  { op: 'Resize', name: 'nearest axes [-1] by sizes', inputs: [x(2, 3, 4), null, null, ints(7)], attrs: { axes: [-1] } },
  { op: 'Resize', name: 'nearest not_larger', inputs: [x(1, 1, 2, 4), null, null, ints(1, 3)], attrs: { axes: [2, 3], keep_aspect_ratio_policy: 'not_larger' } },
  { op: 'Resize', name: 'nearest not_smaller', inputs: [x(1, 1, 2, 4), null, null, ints(1, 3)], attrs: { axes: [2, 3], keep_aspect_ratio_policy: 'not_smaller' } },
  { op: 'Resize', name: '1-D nearest', inputs: [x(5), null, floats(1.6)] },
  { op: 'Resize', name: 'empty batch', inputs: byScales([0, 1, 2, 2], [1, 1, 2, 2]) },
  // linear and cubic
  { op: 'Resize', name: 'linear upsample', inputs: byScales([1, 1, 3, 4], [1, 1, 2, 1.5]), attrs: { mode: 'linear' }, dtypes: FLOAT },
  { op: 'Resize', name: 'linear downsample', inputs: byScales([1, 2, 4, 6], [1, 1, 0.6, 0.5]), attrs: { mode: 'linear' }, dtypes: FLOAT },
  { op: 'Resize', name: 'linear align_corners', inputs: byScales([1, 1, 2, 4], [1, 1, 0.6, 0.6]), attrs: { mode: 'linear', coordinate_transformation_mode: 'align_corners' }, dtypes: FLOAT },
  { op: 'Resize', name: 'linear asymmetric', inputs: bySizes([1, 1, 3, 3], [1, 1, 5, 7]), attrs: { mode: 'linear', coordinate_transformation_mode: 'asymmetric' }, dtypes: FLOAT },
  { op: 'Resize', name: 'linear pytorch_half_pixel to size 1', inputs: bySizes([1, 1, 4, 4], [1, 1, 3, 1]), attrs: { mode: 'linear', coordinate_transformation_mode: 'pytorch_half_pixel' }, dtypes: FLOAT },
  { op: 'Resize', name: 'linear half_pixel_symmetric', inputs: byScales([1, 1, 3, 4], [1, 1, 2.3, 0.6]), attrs: { mode: 'linear', coordinate_transformation_mode: 'half_pixel_symmetric' }, dtypes: FLOAT },
  {
    op: 'Resize',
    name: 'linear tf_crop_and_resize with extrapolation',
    inputs: roiSizes([1, 1, 4, 4], [0, 0, 0.4, 0.6, 1, 1, 1.2, 1.7], [1, 1, 3, 3]),
    attrs: { mode: 'linear', coordinate_transformation_mode: 'tf_crop_and_resize', extrapolation_value: 10 },
    dtypes: FLOAT,
  },
  {
    op: 'Resize',
    name: 'nearest tf_crop_and_resize on axes',
    inputs: [x(1, 1, 4, 5), floats(0.6, 0.4, 0.8, 0.6), null, ints(3, 2)],
    attrs: { axes: [3, 2], coordinate_transformation_mode: 'tf_crop_and_resize' },
  },
  { op: 'Resize', name: 'linear antialias downsample', inputs: byScales([1, 1, 5, 6], [1, 1, 0.6, 0.4]), attrs: { mode: 'linear', antialias: 1 }, dtypes: FLOAT },
  { op: 'Resize', name: 'trilinear 3 axes', inputs: bySizes([1, 3, 2, 4], [2, 4, 3, 3]), attrs: { mode: 'linear' }, dtypes: FLOAT },
  { op: 'Resize', name: 'cubic upsample', inputs: byScales([1, 1, 4, 4], [1, 1, 2, 1.5]), attrs: { mode: 'cubic' }, dtypes: FLOAT },
  { op: 'Resize', name: 'cubic downsample', inputs: byScales([1, 1, 4, 5], [1, 1, 0.8, 0.6]), attrs: { mode: 'cubic' }, dtypes: FLOAT },
  { op: 'Resize', name: 'cubic A -0.5 exclude_outside', inputs: byScales([1, 1, 4, 4], [1, 1, 2, 0.8]), attrs: { mode: 'cubic', cubic_coeff_a: -0.5, exclude_outside: 1 }, dtypes: FLOAT },
  { op: 'Resize', name: 'cubic align_corners', inputs: bySizes([1, 1, 4, 4], [1, 1, 7, 3]), attrs: { mode: 'cubic', coordinate_transformation_mode: 'align_corners' }, dtypes: FLOAT },
  { op: 'Resize', name: 'cubic asymmetric', inputs: byScales([1, 1, 3, 4], [1, 1, 2, 2]), attrs: { mode: 'cubic', coordinate_transformation_mode: 'asymmetric' }, dtypes: FLOAT },
  { op: 'Resize', name: 'cubic antialias downsample', inputs: bySizes([1, 1, 6, 7], [1, 1, 3, 2]), attrs: { mode: 'cubic', antialias: 1 }, dtypes: FLOAT },
  // integers: halfway linear weights are exact, the result truncates toward zero
  { op: 'Resize', name: 'linear integers', inputs: byScales([1, 2, 3], [1, 1, 2]), attrs: { mode: 'linear', coordinate_transformation_mode: 'asymmetric' }, dtypes: INTS },
  { op: 'Resize', name: 'scales and sizes', inputs: [x(1, 1, 2, 2), null, floats(1, 1, 2, 2), ints(1, 1, 4, 4)], throws: true },
  { op: 'Resize', name: 'neither scales nor sizes', inputs: [x(1, 1, 2, 2)], throws: true },
  { op: 'Resize', name: 'scales of the wrong length', inputs: byScales([1, 1, 2, 2], [2, 2]), throws: true },
  { op: 'Resize', name: 'tf_crop_and_resize without roi', inputs: bySizes([1, 1, 2, 2], [1, 1, 3, 3]), attrs: { coordinate_transformation_mode: 'tf_crop_and_resize' }, throws: true },
  { op: 'Resize', name: 'unknown mode', inputs: byScales([1, 1, 2, 2], [1, 1, 2, 2]), attrs: { mode: 'area' }, throws: true },
];

/** Normalized coordinates a little beyond [-1, 1], so padding_mode matters. */
const grid = (...shape: number[]) => ranged(-1.3, 1.3, ...shape);
const gridSample: ConformanceCase[] = [
  ...(['linear', 'nearest', 'cubic'] as const).flatMap((mode) =>
    (['zeros', 'border', 'reflection'] as const).flatMap((padding_mode) =>
      [0, 1].map((align_corners) => ({
        op: 'GridSample',
        name: `${mode} ${padding_mode} align_corners ${align_corners}`,
        inputs: [x(1, 2, 4, 5), grid(1, 3, 4, 2)],
        attrs: { mode, padding_mode, align_corners },
      })),
    ),
  ),
  { op: 'GridSample', name: 'batch 2 default attributes', inputs: [x(2, 1, 3, 3), grid(2, 2, 5, 2)] },
  { op: 'GridSample', name: 'volumetric linear', inputs: [x(1, 2, 3, 2, 4), grid(1, 2, 4, 2, 3)], attrs: { align_corners: 1 } },
  { op: 'GridSample', name: 'volumetric nearest border', inputs: [x(1, 1, 3, 2, 4), grid(1, 2, 3, 2, 3)], attrs: { mode: 'nearest', padding_mode: 'border' } },
  { op: 'GridSample', name: 'volumetric cubic reflection', inputs: [x(1, 1, 3, 3, 4), grid(1, 2, 2, 2, 3)], attrs: { mode: 'cubic', padding_mode: 'reflection' } },
  { op: 'GridSample', name: '1-D linear reflection', inputs: [x(1, 2, 5), grid(1, 6, 1)], attrs: { padding_mode: 'reflection' } },
  { op: 'GridSample', name: 'axis of size 1, align_corners', inputs: [x(1, 1, 1, 4), grid(1, 2, 3, 2)], attrs: { align_corners: 1, padding_mode: 'reflection' } },
  { op: 'GridSample', name: 'empty output', inputs: [x(1, 2, 3, 3), grid(1, 0, 4, 2)] },
  { op: 'GridSample', name: 'grid last dim differs from the spatial rank', inputs: [x(1, 1, 3, 3), grid(1, 2, 2, 3)], throws: true },
  { op: 'GridSample', name: 'unknown padding_mode', inputs: [x(1, 1, 3, 3), grid(1, 2, 2, 2)], attrs: { padding_mode: 'wrap' }, throws: true },
];

const affineGrid: ConformanceCase[] = [
  { op: 'AffineGrid', name: '2-D', inputs: [x(2, 2, 3), ints(2, 3, 5, 6)] },
  { op: 'AffineGrid', name: '2-D align_corners', inputs: [x(2, 2, 3), ints(2, 3, 5, 6)], attrs: { align_corners: 1 } },
  { op: 'AffineGrid', name: '3-D', inputs: [x(1, 3, 4), ints(1, 2, 3, 4, 2)] },
  { op: 'AffineGrid', name: '3-D align_corners', inputs: [x(2, 3, 4), ints(2, 1, 2, 3, 4)], attrs: { align_corners: 1 } },
  { op: 'AffineGrid', name: 'dims of size 1, align_corners', inputs: [x(1, 2, 3), ints(1, 1, 1, 4)], attrs: { align_corners: 1 } },
  { op: 'AffineGrid', name: 'theta of the wrong shape', inputs: [x(2, 3, 4), ints(2, 3, 5, 6)], throws: true },
  { op: 'AffineGrid', name: 'size of 3 values', inputs: [x(1, 2, 3), ints(1, 3, 5)], throws: true },
];

const centerCropPad: ConformanceCase[] = [
  { op: 'CenterCropPad', name: 'crop', inputs: [x(20, 10, 3), ints(10, 7, 3)] },
  { op: 'CenterCropPad', name: 'pad', inputs: [x(10, 7, 3), ints(20, 10, 3)] },
  { op: 'CenterCropPad', name: 'crop and pad', inputs: [x(20, 8, 3), ints(10, 11, 3)] },
  { op: 'CenterCropPad', name: 'axes [1,2]', inputs: [x(3, 9, 8), ints(4, 9)], attrs: { axes: [1, 2] } },
  { op: 'CenterCropPad', name: 'negative axes', inputs: [x(9, 8, 3), ints(4, 11)], attrs: { axes: [-3, -2] } },
  { op: 'CenterCropPad', name: 'to empty', inputs: [x(3, 4), ints(0, 4)] },
  { op: 'CenterCropPad', name: 'shape of another length', inputs: [x(3, 4), ints(2)], throws: true },
  { op: 'CenterCropPad', name: 'duplicate axes', inputs: [x(3, 4), ints(2, 2)], attrs: { axes: [1, -1] }, throws: true },
];

const einsum: ConformanceCase[] = [
  { op: 'Einsum', name: 'matmul ij,jk->ik', inputs: [x(3, 4), x(4, 5)], attrs: { equation: 'ij,jk->ik' } },
  { op: 'Einsum', name: 'batch matmul with spaces', inputs: [x(2, 3, 4), x(2, 4, 2)], attrs: { equation: 'bij, bjk -> bik' } },
  { op: 'Einsum', name: 'transpose', inputs: [x(3, 4)], attrs: { equation: 'ij->ji' } },
  { op: 'Einsum', name: 'row sums', inputs: [x(3, 4)], attrs: { equation: 'ij->i' } },
  { op: 'Einsum', name: 'inner product to a scalar', inputs: [x(5), x(5)], attrs: { equation: 'i,i' } },
  { op: 'Einsum', name: 'outer product', inputs: [x(3), x(4)], attrs: { equation: 'i,j->ij' } },
  { op: 'Einsum', name: 'trace', inputs: [x(4, 4)], attrs: { equation: 'ii' } },
  { op: 'Einsum', name: 'batch diagonal', inputs: [x(3, 4, 4)], attrs: { equation: '...ii->...i' } },
  { op: 'Einsum', name: 'implicit output', inputs: [x(2, 3), x(3, 4)], attrs: { equation: 'ij,jk' } },
  { op: 'Einsum', name: 'ellipsis broadcast', inputs: [x(2, 1, 3, 4), x(5, 4, 2)], attrs: { equation: '...ij,...jk->...ik' } },
  { op: 'Einsum', name: 'three operands', inputs: [x(2, 3), x(3, 4), x(4, 2)], attrs: { equation: 'ij,jk,kl->il' } },
  { op: 'Einsum', name: 'label shared by the first and last operand', inputs: [x(2, 3), x(3, 4), x(2, 4)], attrs: { equation: 'ij,jk,ik->k' } },
  { op: 'Einsum', name: 'sum over a label of one operand', inputs: [x(2, 3), x(3, 4)], attrs: { equation: 'ij,jk->k' } },
  { op: 'Einsum', name: 'batch dims and permuted output', inputs: [x(2, 3, 4), x(4, 3, 5)], attrs: { equation: 'bij,jik->kb' } },
  { op: 'Einsum', name: 'uppercase labels and a repeated label', inputs: [x(3, 3, 2), x(2, 4)], attrs: { equation: 'AAb,bC->CA' } },
  { op: 'Einsum', name: 'scalar', inputs: [x()], attrs: { equation: '->' } },
  { op: 'Einsum', name: 'empty contraction', inputs: [x(3, 0), x(0, 2)], attrs: { equation: 'ij,jk->ik' } },
  { op: 'Einsum', name: 'terms do not match the inputs', inputs: [x(3, 4)], attrs: { equation: 'ij,jk->ik' }, throws: true },
  { op: 'Einsum', name: 'label sizes differ', inputs: [x(3, 4), x(5, 2)], attrs: { equation: 'ij,jk->ik' }, throws: true },
  { op: 'Einsum', name: 'output label not in the inputs', inputs: [x(3, 4)], attrs: { equation: 'ij->iz' }, throws: true },
  { op: 'Einsum', name: 'invalid character', inputs: [x(3, 4)], attrs: { equation: 'i1->i' }, throws: true },
];

const size = (n: number): CaseInput => ({ shape: [], values: [n], dtype: 'int64' });
const windows: ConformanceCase[] = (['HannWindow', 'HammingWindow', 'BlackmanWindow'] as const).flatMap((op) => [
  { op, name: 'periodic 10', inputs: [size(10)], attrs: (b) => ({ output_datatype: b.T2! }) },
  { op, name: 'symmetric 10', inputs: [size(10)], attrs: (b) => ({ output_datatype: b.T2!, periodic: 0 }) },
  { op, name: 'periodic 1', inputs: [size(1)], attrs: (b) => ({ output_datatype: b.T2! }) },
  { op, name: 'empty', inputs: [size(0)], attrs: (b) => ({ output_datatype: b.T2! }) },
  { op, name: 'negative size', inputs: [size(-1)], throws: true },
  { op, name: 'size not a scalar', inputs: [ints(2, 3)], throws: true },
]);

export const visionCases: ConformanceCase[] = [
  ...convTranspose,
  ...deformConv,
  ...lpPool,
  ...globalLpPool,
  ...maxUnpool,
  ...maxRoiPool,
  ...roiAlign,
  ...col2im,
  ...channelNorms,
  ...norms,
  ...resize,
  ...gridSample,
  ...affineGrid,
  ...centerCropPad,
  ...einsum,
  ...windows,
];
