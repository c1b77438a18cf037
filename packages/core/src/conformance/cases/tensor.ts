/**
 * Conformance cases of the shape and data-movement ops. Value inputs (shapes,
 * pads, slice bounds, axes) are fixed int64 lists; data is generated.
 */
import type { ConformanceCase, CaseInput } from '../types.js';

const x = (...shape: number[]): CaseInput => ({ shape });
/** A fixed int64 value input. */
const ints = (...values: number[]): CaseInput => ({ shape: [values.length], values, dtype: 'int64' });
/** A scalar of the data's dtype (Range bounds, Pad's constant_value). */
const scalar = (v: number): CaseInput => ({ shape: [], values: [v] });
const BIG = 2 ** 31 - 1;
const FLOATS: ConformanceCase['dtypes'] = ['float32', 'float64', 'float16', 'bfloat16'];

const views: ConformanceCase[] = [
  { op: 'Reshape', name: '[2,3,4] to [4,6]', inputs: [x(2, 3, 4), ints(4, 6)] },
  { op: 'Reshape', name: '-1 inferred', inputs: [x(2, 3, 4), ints(-1, 4)] },
  { op: 'Reshape', name: '0 copies the input dim', inputs: [x(2, 3, 4), ints(0, -1)] },
  { op: 'Reshape', name: 'allowzero keeps a literal 0', inputs: [x(2, 0, 3), ints(0, 6)], attrs: { allowzero: 1 } },
  { op: 'Reshape', name: 'scalar to [1,1]', inputs: [x(), ints(1, 1)] },
  { op: 'Reshape', name: '[1] to scalar', inputs: [x(1), ints()] },
  { op: 'Reshape', name: 'empty [0,4] to [4,0,1]', inputs: [x(0, 4), ints(4, 0, 1)], attrs: { allowzero: 1 } },
  { op: 'Reshape', name: 'incompatible size', inputs: [x(2, 3), ints(4, 2)], throws: true },
  { op: 'Reshape', name: 'two -1', inputs: [x(2, 3), ints(-1, -1)], throws: true },
  { op: 'Reshape', name: '-1 not divisible', inputs: [x(2, 3), ints(4, -1)], throws: true },

  { op: 'Flatten', name: 'default axis 1', inputs: [x(2, 3, 4)] },
  { op: 'Flatten', name: 'axis 0', inputs: [x(2, 3, 4)], attrs: { axis: 0 } },
  { op: 'Flatten', name: 'axis 2', inputs: [x(2, 3, 4)], attrs: { axis: 2 } },
  { op: 'Flatten', name: 'axis = rank', inputs: [x(2, 3, 4)], attrs: { axis: 3 } },
  { op: 'Flatten', name: 'axis -1', inputs: [x(2, 3, 4)], attrs: { axis: -1 } },
  { op: 'Flatten', name: 'scalar', inputs: [x()], attrs: { axis: 0 } },
  { op: 'Flatten', name: 'axis out of range', inputs: [x(2, 3, 4)], attrs: { axis: 4 }, throws: true },

  { op: 'Squeeze', name: 'axes [0,2]', inputs: [x(1, 3, 1, 2), ints(0, 2)] },
  { op: 'Squeeze', name: 'all size-1 dims', inputs: [x(1, 3, 1, 2)] },
  { op: 'Squeeze', name: 'negative axes', inputs: [x(2, 1, 3, 1), ints(-1, -3)] },
  { op: 'Squeeze', name: 'to a scalar', inputs: [x(1, 1)] },
  { op: 'Squeeze', name: 'axis of size 3', inputs: [x(1, 3), ints(1)], throws: true },

  { op: 'Unsqueeze', name: 'axes [0]', inputs: [x(3, 4), ints(0)] },
  { op: 'Unsqueeze', name: 'axes [1,3]', inputs: [x(3, 4), ints(1, 3)] },
  { op: 'Unsqueeze', name: 'unsorted and negative axes', inputs: [x(3, 4), ints(-1, 0)] },
  { op: 'Unsqueeze', name: 'scalar', inputs: [x(), ints(0)] },
  { op: 'Unsqueeze', name: 'duplicate axes', inputs: [x(3), ints(0, 0)], throws: true },

  { op: 'Identity', name: '[2,3]', inputs: [x(2, 3)] },
  { op: 'Identity', name: 'scalar', inputs: [x()] },
  { op: 'Identity', name: 'empty', inputs: [x(0, 3)] },
];

const transpose: ConformanceCase[] = [
  { op: 'Transpose', name: 'default reverses', inputs: [x(2, 3, 4)] },
  { op: 'Transpose', name: 'perm [1,0,2]', inputs: [x(2, 3, 4)], attrs: { perm: [1, 0, 2] } },
  { op: 'Transpose', name: 'perm [2,0,1]', inputs: [x(2, 3, 4)], attrs: { perm: [2, 0, 1] } },
  { op: 'Transpose', name: '4-D perm [0,2,3,1]', inputs: [x(2, 3, 2, 4)], attrs: { perm: [0, 2, 3, 1] } },
  { op: 'Transpose', name: '2-D', inputs: [x(5, 3)] },
  { op: 'Transpose', name: 'scalar', inputs: [x()] },
  { op: 'Transpose', name: 'empty', inputs: [x(0, 3)], attrs: { perm: [1, 0] } },
  { op: 'Transpose', name: 'perm not a permutation', inputs: [x(2, 3, 4)], attrs: { perm: [0, 0, 1] }, throws: true },
];

const concat: ConformanceCase[] = [
  { op: 'Concat', name: '3 inputs on axis 0', inputs: [x(1, 3, 2), x(2, 3, 2), x(3, 3, 2)], attrs: { axis: 0 } },
  { op: 'Concat', name: '3 inputs on axis 1', inputs: [x(2, 1, 2), x(2, 3, 2), x(2, 2, 2)], attrs: { axis: 1 } },
  { op: 'Concat', name: '3 inputs on axis 2', inputs: [x(2, 3, 1), x(2, 3, 2), x(2, 3, 3)], attrs: { axis: 2 } },
  { op: 'Concat', name: 'axis -1', inputs: [x(2, 2), x(2, 3), x(2, 1)], attrs: { axis: -1 } },
  { op: 'Concat', name: 'with an empty input', inputs: [x(2, 3), x(0, 3), x(1, 3)], attrs: { axis: 0 } },
  { op: 'Concat', name: '1-D', inputs: [x(3), x(4), x(1)], attrs: { axis: 0 } },
  { op: 'Concat', name: 'single input', inputs: [x(2, 3)], attrs: { axis: 1 } },
  { op: 'Concat', name: 'rank mismatch', inputs: [x(2, 3), x(2, 3, 1)], attrs: { axis: 0 }, throws: true },
  { op: 'Concat', name: 'other dims differ', inputs: [x(2, 3), x(2, 4)], attrs: { axis: 0 }, throws: true },
  { op: 'Concat', name: 'scalars', inputs: [x(), x()], attrs: { axis: 0 }, throws: true },
];

const split: ConformanceCase[] = [
  { op: 'Split', name: 'num_outputs equal parts on axis 1', inputs: [x(2, 6)], attrs: { axis: 1, num_outputs: 3 } },
  { op: 'Split', name: 'num_outputs uneven (last smaller)', inputs: [x(7, 2)], attrs: { num_outputs: 3 } },
  { op: 'Split', name: 'explicit split', inputs: [x(2, 6), ints(1, 3, 2)], attrs: { axis: 1 } },
  { op: 'Split', name: 'explicit split with a 0 part, axis -1', inputs: [x(2, 3, 4), ints(2, 0, 2)], attrs: { axis: -1 } },
  { op: 'Split', name: 'by output count', inputs: [x(4, 3)], outputs: 2 },
  { op: 'Split', name: 'split does not sum to the axis', inputs: [x(2, 6), ints(1, 2)], attrs: { axis: 1 }, throws: true },
  { op: 'Split', name: 'split and num_outputs together', inputs: [x(2, 6), ints(3, 3)], attrs: { axis: 1, num_outputs: 2 }, throws: true },
];

const slice: ConformanceCase[] = [
  { op: 'Slice', name: 'basic', inputs: [x(4, 5), ints(1, 0), ints(3, 4)] },
  { op: 'Slice', name: 'steps 2', inputs: [x(6, 5), ints(0, 1), ints(6, 5), ints(0, 1), ints(2, 3)] },
  { op: 'Slice', name: 'negative starts and ends', inputs: [x(4, 6), ints(-3), ints(-1), ints(1)] },
  { op: 'Slice', name: 'negative steps', inputs: [x(4, 6), ints(-1, 4), ints(-BIG, 0), ints(0, 1), ints(-1, -2)] },
  { op: 'Slice', name: 'negative step from past the end', inputs: [x(5), ints(10), ints(1), ints(0), ints(-2)] },
  { op: 'Slice', name: 'clamping', inputs: [x(3, 4), ints(-10, 1), ints(BIG, 100)] },
  { op: 'Slice', name: 'axes subset, negative axis', inputs: [x(2, 3, 4), ints(1), ints(3), ints(-1)] },
  { op: 'Slice', name: 'start past the end gives empty', inputs: [x(3, 4), ints(5), ints(10), ints(1)] },
  { op: 'Slice', name: 'empty input', inputs: [x(0, 4), ints(0, 1), ints(1, 3)] },
  { op: 'Slice', name: 'zero step', inputs: [x(3, 4), ints(0), ints(2), ints(0), ints(0)], throws: true },
  { op: 'Slice', name: 'starts and ends lengths differ', inputs: [x(3, 4), ints(0, 0), ints(2)], throws: true },
];

const gather: ConformanceCase[] = [
  { op: 'Gather', name: 'axis 0', inputs: [x(5, 4), { shape: [3], values: [0, 4, 2] }] },
  { op: 'Gather', name: 'axis 0 negative indices', inputs: [x(5, 4), { shape: [2, 2], values: [-1, 0, -5, 3] }] },
  { op: 'Gather', name: 'axis 1', inputs: [x(3, 5), { shape: [4], values: [4, -2, 0, 0] }], attrs: { axis: 1 } },
  { op: 'Gather', name: 'scalar index drops the axis', inputs: [x(3, 5), { shape: [], values: [-1] }], attrs: { axis: 1 } },
  { op: 'Gather', name: '3-D data, 2-D indices, axis -2', inputs: [x(2, 4, 3), { shape: [2, 3], values: [3, 0, 1, -1, 2, 2] }], attrs: { axis: -2 } },
  { op: 'Gather', name: 'empty indices', inputs: [x(4, 3), { shape: [0], values: [] }] },
  { op: 'Gather', name: '1-D data, scalar index', inputs: [x(6), { shape: [], values: [2] }] },
  { op: 'Gather', name: 'axis out of range', inputs: [x(3, 4), { shape: [1], values: [0] }], attrs: { axis: 2 }, throws: true },
];

const expandTile: ConformanceCase[] = [
  { op: 'Expand', name: '[3,1] to [2,3,4]', inputs: [x(3, 1), ints(2, 3, 4)] },
  { op: 'Expand', name: 'shape of lower rank keeps input dims', inputs: [x(2, 1, 4), ints(3, 1)] },
  { op: 'Expand', name: 'both directions [3,1] with [1,5]', inputs: [x(3, 1), ints(1, 5)] },
  { op: 'Expand', name: 'scalar', inputs: [x(), ints(2, 2)] },
  { op: 'Expand', name: 'to an empty dim', inputs: [x(1, 3), ints(0, 3)] },
  { op: 'Expand', name: 'incompatible', inputs: [x(2, 3), ints(4, 3)], throws: true },

  { op: 'Tile', name: '[2,3] by [2,1]', inputs: [x(2, 3), ints(2, 1)] },
  { op: 'Tile', name: '3-D by [1,3,2]', inputs: [x(2, 1, 3), ints(1, 3, 2)] },
  { op: 'Tile', name: 'repeat 0', inputs: [x(2, 3), ints(0, 2)] },
  { op: 'Tile', name: 'scalar', inputs: [x(), ints()] },
  { op: 'Tile', name: 'repeats length differs from rank', inputs: [x(2, 3), ints(2)], throws: true },
];

const pad: ConformanceCase[] = [
  { op: 'Pad', name: 'constant default 0', inputs: [x(2, 3), ints(1, 0, 0, 2)] },
  { op: 'Pad', name: 'constant value', inputs: [x(2, 3), ints(0, 1, 2, 1), scalar(1)] },
  { op: 'Pad', name: 'reflect', inputs: [x(3, 4), ints(1, 2, 2, 3)], attrs: { mode: 'reflect' } },
  { op: 'Pad', name: 'edge', inputs: [x(3, 4), ints(2, 1, 1, 3)], attrs: { mode: 'edge' } },
  { op: 'Pad', name: 'wrap', inputs: [x(3, 4), ints(1, 4, 3, 2)], attrs: { mode: 'wrap' } },
  { op: 'Pad', name: 'negative pads crop (constant)', inputs: [x(4, 5), ints(-1, 2, 1, -2), scalar(1)] },
  { op: 'Pad', name: 'negative pads crop (edge)', inputs: [x(4, 5), ints(-1, 2, 1, -2)], attrs: { mode: 'edge' } },
  { op: 'Pad', name: 'negative pads crop (reflect)', inputs: [x(5, 5), ints(-1, 0, 2, -2)], attrs: { mode: 'reflect' } },
  { op: 'Pad', name: 'negative pads crop (wrap)', inputs: [x(4, 5), ints(1, -2, -1, 2)], attrs: { mode: 'wrap' } },
  { op: 'Pad', name: 'axes subset', inputs: [x(2, 3, 4), ints(1, 2), scalar(1), ints(1)] },
  { op: 'Pad', name: 'negative axes', inputs: [x(2, 3, 4), ints(0, 1, 1, 0), null, ints(-3, -1)], attrs: { mode: 'reflect' } },
  { op: 'Pad', name: 'reflect beyond one period', inputs: [x(2, 3), ints(0, 7, 0, 6)], attrs: { mode: 'reflect' } },
  { op: 'Pad', name: 'wrap beyond one period', inputs: [x(2, 3), ints(0, 7, 0, 6)], attrs: { mode: 'wrap' } },
  { op: 'Pad', name: '1-D edge', inputs: [x(3), ints(2, 3)], attrs: { mode: 'edge' } },
  { op: 'Pad', name: '3-D constant', inputs: [x(2, 2, 2), ints(1, 0, 1, 0, 2, 1)] },
  { op: 'Pad', name: 'empty input, constant', inputs: [x(0, 2), ints(1, 0, 1, 1)] },
  { op: 'Pad', name: 'scalar', inputs: [x(), ints()] },
  { op: 'Pad', name: 'pads of the wrong length', inputs: [x(2, 3), ints(1, 1)], throws: true },
  { op: 'Pad', name: 'unknown mode', inputs: [x(2, 3), ints(1, 1, 1, 1)], attrs: { mode: 'mirror' }, throws: true },
  { op: 'Pad', name: 'crop more than the axis', inputs: [x(2, 3), ints(-2, 0, -1, 0)], throws: true },
];

const generators: ConformanceCase[] = [
  { op: 'Shape', name: 'full', inputs: [x(2, 3, 4)] },
  { op: 'Shape', name: 'start 1', inputs: [x(2, 3, 4)], attrs: { start: 1 } },
  { op: 'Shape', name: 'start -2, end -1', inputs: [x(2, 3, 4, 5)], attrs: { start: -2, end: -1 } },
  { op: 'Shape', name: 'clamped start and end', inputs: [x(2, 3)], attrs: { start: -10, end: 10 } },
  { op: 'Shape', name: 'start after end', inputs: [x(2, 3, 4)], attrs: { start: 2, end: 1 } },
  { op: 'Shape', name: 'scalar', inputs: [x()] },
  { op: 'Shape', name: 'empty', inputs: [x(0, 3)] },

  { op: 'ConstantOfShape', name: 'default 0', inputs: [ints(2, 3)], attrs: (b) => ({ dtype: b.T2! }) },
  { op: 'ConstantOfShape', name: 'value 1', inputs: [ints(3, 1, 2)], attrs: (b) => ({ value: 1, dtype: b.T2! }) },
  { op: 'ConstantOfShape', name: 'scalar', inputs: [ints()], attrs: (b) => ({ value: 1, dtype: b.T2! }) },
  { op: 'ConstantOfShape', name: 'empty', inputs: [ints(0, 4)], attrs: (b) => ({ value: 1, dtype: b.T2! }) },
  { op: 'ConstantOfShape', name: 'negative dim', inputs: [ints(-1, 2)], throws: true },

  { op: 'Range', name: 'int positive delta', inputs: [scalar(1), scalar(10), scalar(3)], dtypes: ['int16', 'int32', 'int64'] },
  { op: 'Range', name: 'int negative delta', inputs: [scalar(10), scalar(-2), scalar(-4)], dtypes: ['int16', 'int32', 'int64'] },
  { op: 'Range', name: 'float', inputs: [scalar(-1), scalar(2), scalar(0.25)], dtypes: FLOATS },
  { op: 'Range', name: 'float, limit not reached exactly', inputs: [scalar(0.5), scalar(3.2), scalar(0.75)], dtypes: FLOATS },
  { op: 'Range', name: 'empty', inputs: [scalar(5), scalar(1), scalar(1)] },
  { op: 'Range', name: 'zero delta', inputs: [scalar(0), scalar(3), scalar(0)], throws: true },
];

export const tensorCases: ConformanceCase[] = [...views, ...transpose, ...concat, ...split, ...slice, ...gather, ...expandTile, ...pad, ...generators];
