/**
 * Conformance cases of the indexing ops. Index inputs hold fixed values (with
 * negative and duplicate entries where the op allows them); data is generated.
 * Cases with negative values in an input of the first type constraint are
 * limited to signed dtypes.
 */
import type { ConformanceCase, CaseInput } from '../types.js';

const x = (...shape: number[]): CaseInput => ({ shape });
/** Fixed values of the input's own dtype (its constraint's binding). */
const v = (shape: number[], values: number[]): CaseInput => ({ shape, values });
/** A fixed int64 input. */
const i64 = (shape: number[], values: number[]): CaseInput => ({ shape, values, dtype: 'int64' });
/** A 1-D bool input. */
const bools = (...values: number[]): CaseInput => ({ shape: [values.length], values, dtype: 'bool' });
/** Dropout's ratio. */
const ratio = (r: number): CaseInput => ({ shape: [], values: [r], dtype: 'float32' });
/** Small integers of the data dtype, so that ties and duplicates occur in every dtype. */
const ints = (...shape: number[]): CaseInput => ({ shape, integer: true, range: [0, 4] });

const SIGNED: ConformanceCase['dtypes'] = ['float32', 'float64', 'float16', 'bfloat16', 'int8', 'int16', 'int32', 'int64'];
const WIDE: ConformanceCase['dtypes'] = ['float32', 'float64'];
const HALF: ConformanceCase['dtypes'] = ['float16', 'bfloat16'];
const NUMERIC: ConformanceCase['dtypes'] = [...WIDE!, ...HALF!, 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64'];

const gather: ConformanceCase[] = [
  { op: 'GatherElements', name: 'axis 0', inputs: [x(3, 3), v([2, 3], [1, 2, 0, 2, 0, 1])] },
  { op: 'GatherElements', name: 'axis 1, negative indices', inputs: [x(2, 3), v([2, 2], [-1, 0, 2, -3])], attrs: { axis: 1 } },
  { op: 'GatherElements', name: 'indices smaller than data', inputs: [x(3, 4), v([2, 2], [3, 0, 1, 1])], attrs: { axis: -1 } },
  { op: 'GatherElements', name: '3-D axis 1', inputs: [x(2, 3, 2), v([2, 4, 2], [0, 2, 1, 1, 2, 0, 0, 0, 2, 2, 1, 0, 0, 1, 2, 1])], attrs: { axis: 1 } },
  { op: 'GatherElements', name: 'empty indices', inputs: [x(3, 2), v([0, 2], [])] },
  { op: 'GatherElements', name: 'rank mismatch', inputs: [x(3, 3), v([3], [0, 1, 2])], throws: true },
  { op: 'GatherElements', name: 'indices larger than data off the axis', inputs: [x(2, 2), v([1, 3], [0, 0, 0])], throws: true },

  { op: 'GatherND', name: 'full tuples', inputs: [x(2, 2), i64([2, 2], [0, 0, 1, 1])] },
  { op: 'GatherND', name: 'slices', inputs: [x(2, 3), i64([2, 1], [1, 0])] },
  { op: 'GatherND', name: '3-D data, 2-element tuples, negative', inputs: [x(2, 3, 4), i64([3, 2], [0, 1, -1, -1, 1, 0])] },
  { op: 'GatherND', name: 'batch_dims 1', inputs: [x(2, 3, 2), i64([2, 1], [2, 0])], attrs: { batch_dims: 1 } },
  { op: 'GatherND', name: 'batch_dims 1, nested indices', inputs: [x(2, 3, 4), i64([2, 2, 2], [0, 1, 2, 3, 1, 0, 2, 2])], attrs: { batch_dims: 1 } },
  { op: 'GatherND', name: 'tuple longer than rank', inputs: [x(2, 2), i64([1, 3], [0, 0, 0])], throws: true },
  { op: 'GatherND', name: 'batch dims differ', inputs: [x(2, 3), i64([3, 1], [0, 1, 0])], attrs: { batch_dims: 1 }, throws: true },
];

const scatter: ConformanceCase[] = [
  { op: 'TensorScatter', name: 'one position per batch entry, axis -2', inputs: [x(2, 1, 4, 3), x(2, 1, 1, 3), i64([2], [1, 3])] },
  { op: 'TensorScatter', name: '3-D, two positions, no write_indices', inputs: [x(3, 4, 2), x(3, 2, 2)] },
  { op: 'TensorScatter', name: 'axis 1 of 4-D', inputs: [x(2, 4, 2, 3), x(2, 2, 2, 3), i64([2], [2, 0])], attrs: { axis: 1 } },
  { op: 'TensorScatter', name: 'circular wraps around', inputs: [x(2, 1, 4, 3), x(2, 1, 3, 3), i64([2], [1, 3])], attrs: { mode: 'circular' } },
  { op: 'TensorScatter', name: 'update longer than the cache', inputs: [x(2, 3, 2), x(2, 4, 2)], throws: true },
  { op: 'TensorScatter', name: 'axis 0 is the batch', inputs: [x(2, 3), x(1, 3)], attrs: { axis: 0 }, throws: true },
  { op: 'ScatterElements', name: 'axis 0', inputs: [x(3, 3), v([2, 3], [1, 0, 2, 0, 2, 1]), x(2, 3)] },
  { op: 'ScatterElements', name: 'axis 1, negative indices', inputs: [x(1, 5), v([1, 2], [1, -2]), x(1, 2)], attrs: { axis: 1 } },
  { op: 'ScatterElements', name: 'reduction add with duplicates', inputs: [x(2, 4), v([2, 3], [1, 1, 3, 0, 0, 0]), x(2, 3)], attrs: { axis: 1, reduction: 'add' } },
  { op: 'ScatterElements', name: 'reduction mul with duplicates', inputs: [x(2, 4), v([2, 3], [1, 1, 3, 0, 0, 2]), x(2, 3)], attrs: { axis: -1, reduction: 'mul' } },
  { op: 'ScatterElements', name: 'reduction max', inputs: [x(3, 2), v([3, 2], [0, 1, 0, 1, 2, 1]), x(3, 2)], attrs: { reduction: 'max' } },
  { op: 'ScatterElements', name: 'reduction min', inputs: [x(3, 2), v([3, 2], [0, 1, 0, 1, 2, 1]), x(3, 2)], attrs: { reduction: 'min' } },
  { op: 'ScatterElements', name: '3-D axis 2', inputs: [x(2, 2, 3), v([2, 1, 2], [2, 0, 1, 1]), x(2, 1, 2)], attrs: { axis: 2 } },
  { op: 'ScatterElements', name: 'unknown reduction', inputs: [x(2, 2), v([1, 1], [0]), x(1, 1)], attrs: { reduction: 'sub' }, throws: true },
  { op: 'ScatterElements', name: 'updates shape differs', inputs: [x(2, 2), v([1, 2], [0, 1]), x(2, 1)], throws: true },

  { op: 'ScatterND', name: 'elements', inputs: [x(8), i64([4, 1], [4, 3, 1, 7]), x(4)] },
  { op: 'ScatterND', name: 'slices', inputs: [x(4, 2, 3), i64([2, 1], [0, 2]), x(2, 2, 3)] },
  { op: 'ScatterND', name: '2-element tuples, negative', inputs: [x(3, 4), i64([2, 2], [0, -1, 2, 1]), x(2)] },
  { op: 'ScatterND', name: 'reduction add with duplicates', inputs: [x(4, 3), i64([3, 1], [1, 3, 1]), x(3, 3)], attrs: { reduction: 'add' } },
  { op: 'ScatterND', name: 'reduction mul with duplicates', inputs: [x(4, 3), i64([3, 1], [0, 0, 2]), x(3, 3)], attrs: { reduction: 'mul' } },
  { op: 'ScatterND', name: 'reduction max', inputs: [x(4, 3), i64([2, 1], [2, 2]), x(2, 3)], attrs: { reduction: 'max' } },
  { op: 'ScatterND', name: 'reduction min', inputs: [x(4, 3), i64([2, 1], [3, 0]), x(2, 3)], attrs: { reduction: 'min' } },
  { op: 'ScatterND', name: 'updates shape differs', inputs: [x(4, 3), i64([2, 1], [0, 1]), x(2, 2)], throws: true },
];

const select: ConformanceCase[] = [
  { op: 'TopK', name: 'k 3 of the last axis', inputs: [x(3, 5), i64([1], [3])] },
  { op: 'TopK', name: 'smallest, axis 0', inputs: [x(4, 3), i64([1], [2])], attrs: { axis: 0, largest: 0 } },
  { op: 'TopK', name: 'ties keep the lower index first', inputs: [ints(3, 6), i64([1], [4])] },
  { op: 'TopK', name: 'ties, smallest, middle axis', inputs: [ints(2, 5, 3), i64([1], [3])], attrs: { axis: 1, largest: 0 } },
  { op: 'TopK', name: 'k = axis size, sorted=0', inputs: [x(2, 4), i64([1], [4])], attrs: { sorted: 0 } },
  { op: 'TopK', name: 'k 0', inputs: [x(2, 4), i64([1], [0])] },
  { op: 'TopK', name: 'long axis', inputs: [x(2, 300), i64([1], [7])] },
  { op: 'TopK', name: 'k larger than the axis', inputs: [x(2, 4), i64([1], [5])], throws: true },
  { op: 'TopK', name: 'negative k', inputs: [x(2, 4), i64([1], [-1])], throws: true },

  { op: 'Hardmax', name: 'default axis -1', inputs: [x(3, 4)] },
  { op: 'Hardmax', name: 'axis 0', inputs: [x(3, 4, 2)], attrs: { axis: 0 } },
  { op: 'Hardmax', name: 'axis 1', inputs: [x(3, 4, 2)], attrs: { axis: 1 } },
  { op: 'Hardmax', name: 'ties pick the first', inputs: [v([2, 4], [1, 3, 3, 0, 2, 2, 2, 2])] },
  { op: 'Hardmax', name: 'axis out of range', inputs: [x(3, 4)], attrs: { axis: 2 }, throws: true },

  { op: 'OneHot', name: 'default axis -1', inputs: [v([3], [0, 2, 4]), i64([], [5]), v([2], [0, 1])] },
  { op: 'OneHot', name: 'negative and out-of-range indices', inputs: [v([2, 2], [-1, 1, 7, -6]), { shape: [1], values: [4], dtype: 'float32' }, v([2], [1, 0])], dtypes: SIGNED },
  { op: 'OneHot', name: 'axis 0', inputs: [v([2, 3], [0, 1, 2, 2, 1, 0]), i64([], [3]), v([2], [0, 1])], attrs: { axis: 0 } },
  { op: 'OneHot', name: 'axis 1 of 2-D indices', inputs: [v([2, 2], [1, 3, 0, 2]), { shape: [], values: [4], dtype: 'int32' }, v([2], [1, 0])], attrs: { axis: 1 } },
  { op: 'OneHot', name: 'axis -2', inputs: [v([2, 2], [1, 3, 0, 2]), { shape: [], values: [4], dtype: 'int32' }, v([2], [1, 0])], attrs: { axis: -2 } },
  { op: 'OneHot', name: 'scalar index', inputs: [v([], [2]), i64([], [3]), v([2], [0, 1])] },
  { op: 'OneHot', name: 'values of the wrong size', inputs: [v([2], [0, 1]), i64([], [3]), v([3], [0, 1, 1])], throws: true },
  { op: 'OneHot', name: 'axis out of range', inputs: [v([2], [0, 1]), i64([], [3]), v([2], [0, 1])], attrs: { axis: 2 }, throws: true },
];

const shapeOps: ConformanceCase[] = [
  { op: 'Trilu', name: 'upper', inputs: [x(4, 5)] },
  { op: 'Trilu', name: 'lower', inputs: [x(4, 5)], attrs: { upper: 0 } },
  { op: 'Trilu', name: 'upper k 1', inputs: [x(3, 4), i64([], [1])] },
  { op: 'Trilu', name: 'lower k -1', inputs: [x(5, 3), i64([], [-1])], attrs: { upper: 0 } },
  { op: 'Trilu', name: 'k beyond the matrix', inputs: [x(3, 4), i64([], [-7])], attrs: { upper: 0 } },
  { op: 'Trilu', name: 'batched', inputs: [x(2, 3, 3), i64([], [0])] },
  { op: 'Trilu', name: 'empty', inputs: [x(0, 3)] },
  { op: 'Trilu', name: '1-D input', inputs: [x(3)], throws: true },

  { op: 'DepthToSpace', name: 'DCR', inputs: [x(1, 8, 2, 3)], attrs: { blocksize: 2 } },
  { op: 'DepthToSpace', name: 'CRD', inputs: [x(2, 8, 2, 3)], attrs: { blocksize: 2, mode: 'CRD' } },
  { op: 'DepthToSpace', name: 'blocksize 3', inputs: [x(1, 18, 2, 2)], attrs: { blocksize: 3, mode: 'CRD' } },
  { op: 'DepthToSpace', name: 'channels not divisible', inputs: [x(1, 6, 2, 2)], attrs: { blocksize: 2 }, throws: true },
  { op: 'DepthToSpace', name: 'unknown mode', inputs: [x(1, 4, 2, 2)], attrs: { blocksize: 2, mode: 'RCD' }, throws: true },

  { op: 'SpaceToDepth', name: 'blocksize 2', inputs: [x(2, 3, 4, 6)], attrs: { blocksize: 2 } },
  { op: 'SpaceToDepth', name: 'blocksize 3', inputs: [x(1, 2, 3, 6)], attrs: { blocksize: 3 } },
  { op: 'SpaceToDepth', name: 'not divisible', inputs: [x(1, 1, 3, 4)], attrs: { blocksize: 2 }, throws: true },

  { op: 'ReverseSequence', name: 'time axis 0', inputs: [x(4, 3, 2), i64([3], [4, 1, 2])] },
  { op: 'ReverseSequence', name: 'batch axis 0', inputs: [x(3, 5), i64([3], [5, 0, 3])], attrs: { batch_axis: 0, time_axis: 1 } },
  { op: 'ReverseSequence', name: 'same axes', inputs: [x(3, 5), i64([3], [1, 1, 1])], attrs: { batch_axis: 0, time_axis: 0 }, throws: true },
  { op: 'ReverseSequence', name: 'lengths of the wrong size', inputs: [x(4, 3), i64([2], [1, 1])], throws: true },

  { op: 'EyeLike', name: 'square', inputs: [x(3, 3)], attrs: (b) => ({ dtype: b.T2! }) },
  { op: 'EyeLike', name: 'k 1', inputs: [x(3, 5)], attrs: (b) => ({ dtype: b.T2!, k: 1 }) },
  { op: 'EyeLike', name: 'k -2', inputs: [x(4, 3)], attrs: (b) => ({ dtype: b.T2!, k: -2 }) },
  { op: 'EyeLike', name: 'k past the matrix', inputs: [x(2, 3)], attrs: (b) => ({ dtype: b.T2!, k: 4 }) },
  { op: 'EyeLike', name: '3-D input', inputs: [x(2, 2, 2)], attrs: (b) => ({ dtype: b.T2! }), throws: true },

  { op: 'Size', name: '[2,3,4]', inputs: [x(2, 3, 4)] },
  { op: 'Size', name: 'scalar', inputs: [x()] },
  { op: 'Size', name: 'empty', inputs: [x(3, 0)] },

  { op: 'Compress', name: 'axis 0', inputs: [x(3, 2), bools(0, 1, 1)], attrs: { axis: 0 } },
  { op: 'Compress', name: 'axis -1, short condition', inputs: [x(2, 3, 4), bools(1, 0, 1)], attrs: { axis: -1 } },
  { op: 'Compress', name: 'flattened', inputs: [x(2, 3), bools(0, 1, 0, 0, 1)] },
  { op: 'Compress', name: 'nothing selected', inputs: [x(2, 3), bools(0, 0)], attrs: { axis: 1 } },
  { op: 'Compress', name: 'condition too long', inputs: [x(2, 3), bools(1, 0, 1)], attrs: { axis: 0 }, throws: true },
];

const math: ConformanceCase[] = [
  { op: 'Det', name: '2x2', inputs: [x(2, 2)] },
  { op: 'Det', name: 'batched 3x3', inputs: [x(4, 3, 3)], dtypes: WIDE },
  { op: 'Det', name: 'batched 3x3 (16-bit)', inputs: [x(4, 3, 3)], dtypes: HALF, rtol: 3e-2, atol: 0.1 },
  { op: 'Det', name: 'singular', inputs: [v([3, 3], [1, 2, 3, 2, 4, 6, 0, 1, 1])] },
  { op: 'Det', name: 'needs pivoting', inputs: [v([3, 3], [0, 1, 2, 1, 0, 3, 4, -3, 8])] },
  { op: 'Det', name: '1x1 and 5x5', inputs: [x(2, 1, 5, 5)], dtypes: WIDE, rtol: 1e-6, atol: 1e-6 },
  { op: 'Det', name: 'not square', inputs: [x(2, 3)], throws: true },

  { op: 'CumProd', name: '1-D', inputs: [x(5), i64([], [0])] },
  { op: 'CumProd', name: 'exclusive', inputs: [x(5), i64([], [0])], attrs: { exclusive: 1 } },
  { op: 'CumProd', name: 'reverse', inputs: [x(2, 4), i64([], [1])], attrs: { reverse: 1 } },
  { op: 'CumProd', name: 'reverse exclusive, axis -2', inputs: [x(3, 4), i64([], [-2])], attrs: { reverse: 1, exclusive: 1 } },
  { op: 'CumProd', name: 'int32 axis', inputs: [x(2, 3, 2), { shape: [], values: [1], dtype: 'int32' }] },
  { op: 'CumProd', name: 'axis out of range', inputs: [x(2, 3), i64([], [2])], throws: true },
];

const dataDependent: ConformanceCase[] = [
  { op: 'Dropout', name: 'inference is the identity', inputs: [x(3, 4)] },
  { op: 'Dropout', name: 'with mask', inputs: [x(3, 4)], outputs: 2 },
  { op: 'Dropout', name: 'ratio, training off', inputs: [x(2, 5), ratio(0.3), bools(0)], outputs: 2 },
  { op: 'Dropout', name: 'training with ratio 0', inputs: [x(2, 5), ratio(0), { shape: [], values: [1], dtype: 'bool' }], outputs: 2 },
  { op: 'Dropout', name: 'ratio 1', inputs: [x(2, 5), ratio(1)], throws: true },

  { op: 'NonZero', name: 'bool 2-D', inputs: [{ shape: [2, 3], values: [1, 0, 1, 0, 0, 1], dtype: 'bool' }] },
  { op: 'NonZero', name: 'float 3-D', inputs: [{ shape: [2, 2, 3], values: [0, 1.5, 0, -2, 0, 0, 0, 0, 0, 3, 0, 0.25], dtype: 'float32' }] },
  { op: 'NonZero', name: 'int64 1-D', inputs: [{ shape: [5], values: [0, 7, 0, -1, 2], dtype: 'int64' }] },
  { op: 'NonZero', name: 'all zero', inputs: [{ shape: [2, 2], values: [0, 0, 0, 0], dtype: 'int32' }] },
  { op: 'NonZero', name: 'scalar', inputs: [{ shape: [], values: [3], dtype: 'uint8' }] },

  { op: 'Unique', name: 'sorted, all outputs', inputs: [ints(8)], outputs: 4, dtypes: NUMERIC },
  { op: 'Unique', name: 'first-occurrence order', inputs: [ints(2, 5)], attrs: { sorted: 0 }, outputs: 4, dtypes: NUMERIC },
  { op: 'Unique', name: 'rows (axis 0)', inputs: [v([4, 3], [1, 0, 0, 2, 3, 4, 1, 0, 0, 0, 0, 1])], attrs: { axis: 0 }, outputs: 4, dtypes: NUMERIC },
  { op: 'Unique', name: 'columns (axis -1), unsorted', inputs: [v([2, 4], [2, 1, 2, 1, 0, 1, 0, 1])], attrs: { axis: -1, sorted: 0 }, outputs: 4, dtypes: NUMERIC },
  { op: 'Unique', name: 'slices of 3-D on axis 1', inputs: [v([2, 4, 2], [1, 1, 0, 1, 2, 1, 0, 1, 1, 1, 0, 1, 2, 1, 0, 1])], attrs: { axis: 1 }, outputs: 3, dtypes: NUMERIC },
  { op: 'Unique', name: 'Y only', inputs: [x(3, 3)] },
  { op: 'Unique', name: '0/1 values, unsorted', inputs: [v([6], [1, 1, 0, 1, 0, 0])], attrs: { sorted: 0 }, outputs: 4 },
  { op: 'Unique', name: 'axis out of range', inputs: [x(2, 3)], attrs: { axis: 2 }, throws: true },
];

/** Boxes as [y1, x1, y2, x2]: unit squares shifted along y, plus one far away. */
const BOXES = [0, 0, 1, 1, 0, 0.1, 1, 1.1, 0, -0.1, 1, 0.9, 0, 10, 1, 11, 0, 10.1, 1, 11.1, 0, 100, 1, 101];
const SCORES = [0.9, 0.75, 0.6, 0.95, 0.5, 0.3];
const nms = (center = false): CaseInput[] => [
  {
    shape: [1, 6, 4],
    values: center ? [0.5, 0.5, 1, 1, 0.5, 0.6, 1, 1, 0.5, 0.4, 1, 1, 0.5, 10.5, 1, 1, 0.5, 10.6, 1, 1, 0.5, 100.5, 1, 1] : BOXES,
  },
  { shape: [1, 1, 6], values: SCORES },
];
const limits = (max: number, iou: number, score?: number): (CaseInput | null)[] => [
  i64([1], [max]),
  { shape: [1], values: [iou] },
  score === undefined ? null : { shape: [1], values: [score] },
];

const suppression: ConformanceCase[] = [
  { op: 'NonMaxSuppression', name: 'suppress by IoU', inputs: [...nms(), ...limits(3, 0.5, 0)] },
  { op: 'NonMaxSuppression', name: 'center point boxes', inputs: [...nms(true), ...limits(3, 0.5, 0)], attrs: { center_point_box: 1 } },
  { op: 'NonMaxSuppression', name: 'score threshold', inputs: [...nms(), ...limits(3, 0.5, 0.4)] },
  { op: 'NonMaxSuppression', name: 'limit per class', inputs: [...nms(), ...limits(2, 0.5)] },
  { op: 'NonMaxSuppression', name: 'no max: empty result', inputs: nms() },
  { op: 'NonMaxSuppression', name: 'flipped corners', inputs: [{ shape: [1, 3, 4], values: [1, 1, 0, 0, 0, 0.1, 1, 1.1, 1, 11, 0, 10] }, { shape: [1, 1, 3], values: [0.9, 0.8, 0.7] }, ...limits(5, 0.5)] },
  {
    op: 'NonMaxSuppression',
    name: 'two batches, two classes',
    inputs: [
      { shape: [2, 6, 4], values: [...BOXES, ...BOXES] },
      { shape: [2, 2, 6], values: [...SCORES, 0.9, 0.75, 0.6, 0.95, 0.5, 0.3, ...SCORES.slice().reverse(), ...SCORES] },
      ...limits(2, 0.5, 0),
    ],
  },
  { op: 'NonMaxSuppression', name: 'identical scores keep the lower index', inputs: [{ shape: [1, 3, 4], values: [0, 0, 1, 1, 0, 0, 1, 1, 5, 5, 6, 6] }, { shape: [1, 1, 3], values: [0.5, 0.5, 0.5] }, ...limits(3, 0.5)] },
  { op: 'NonMaxSuppression', name: 'scores of the wrong shape', inputs: [{ shape: [1, 6, 4], values: BOXES }, { shape: [1, 5], values: [1, 2, 3, 4, 5] }], throws: true },
];

export const indexingCases: ConformanceCase[] = [...gather, ...scatter, ...select, ...shapeOps, ...math, ...dataDependent, ...suppression];
