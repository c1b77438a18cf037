import { describe, expect, it } from 'vitest';
import { visionCases } from '../src/conformance/cases/vision.js';
import { nnOps } from '../src/ops/nn.js';
import type { AttrValue, OpSchema } from '../src/ops/schema.js';
import { visionOps } from '../src/ops/vision.js';
import { nnRef } from '../src/reference/nn.js';
import { visionRef } from '../src/reference/vision.js';
import { checkCases, expectClose, infer, rejecter, run, t, type T } from './op-harness.js';

const OPS = visionOps as unknown as Record<string, OpSchema>;
const NN = nnOps as unknown as Record<string, OpSchema>;
const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const f64 = (shape: number[], data?: number[]) => t('float64', shape, data ?? new Array(size(shape)).fill(0));
const i64 = (...v: number[]) => t('int64', [v.length], v);
/** 0, 1, 2, ... in `shape`. */
const iota = (shape: number[], from = 0) => f64(shape, Array.from({ length: size(shape) }, (_, i) => from + i));
/** Deterministic values in [-2, 2). */
const wavy = (shape: number[], seed = 1) => f64(shape, Array.from({ length: size(shape) }, (_, i) => 2 * Math.sin(seed * 7.1 + i * 1.37)));
const shapeOf = (op: string, inputs: (T | null)[], attrs: Record<string, AttrValue> = {}) => infer(OPS[op]!, inputs, attrs).outputs[0]!.shape;
const data = (op: string, inputs: (T | null)[], attrs: Record<string, AttrValue> = {}) => run(OPS[op]!, visionRef[op]!, inputs, attrs)[0]!.data;

const rejects = rejecter(OPS);

const close = (got: number[], want: number[], tol = 1e-9) => expectClose(got, want, tol);

describe('shape rules', () => {
  it('ConvTranspose: stride * (in - 1) + output_padding + extent - pads, or the pads that give output_shape', () => {
    const x = f64([1, 2, 3, 4]);
    const w = f64([2, 5, 3, 2]);
    expect(shapeOf('ConvTranspose', [x, w])).toEqual([1, 5, 5, 5]);
    expect(shapeOf('ConvTranspose', [x, w], { strides: [3, 2], output_padding: [1, 1], pads: [1, 0, 2, 1] })).toEqual([1, 5, 7, 8]);
    expect(shapeOf('ConvTranspose', [x, w], { dilations: [2, 3] })).toEqual([1, 5, 7, 7]);
    expect(shapeOf('ConvTranspose', [x, f64([2, 1, 3, 3])], { group: 2 })).toEqual([1, 2, 5, 6]);
    const r = infer(OPS.ConvTranspose!, [x, w], { strides: [2, 2], auto_pad: 'SAME_UPPER' });
    expect(r.outputs[0]!.shape).toEqual([1, 5, 6, 8]); // in * stride
    expect(r.attrs!.pads).toEqual([0, 0, 1, 0]); // totals 1 and 0: the odd one at the end
    expect(infer(OPS.ConvTranspose!, [x, w], { strides: [2, 2], auto_pad: 'SAME_LOWER' }).attrs!.pads).toEqual([1, 0, 0, 0]);
    const o = infer(OPS.ConvTranspose!, [x, w], { strides: [3, 2], output_shape: [10, 8] });
    expect(o.outputs[0]!.shape).toEqual([1, 5, 10, 8]);
    expect(o.attrs!.pads).toEqual([0, 0, -1, 0]); // a total of -1 extends the end
    expect(infer(OPS.ConvTranspose!, [x, w], { strides: [3, 2], output_shape: [8, 8] }).attrs!.pads).toEqual([1, 0, 0, 0]); // 1 crops the start
  });

  it('ConvTranspose names the shapes of a bad call', () => {
    expect(rejects('ConvTranspose', [f64([1, 2, 3, 3]), f64([3, 1, 3, 3])])).toContain('W [3,1,3,3] must have one row per input channel (2)');
    expect(rejects('ConvTranspose', [f64([1, 1, 3, 3]), f64([1, 1, 3, 3])], { strides: [2, 2], output_padding: [2, 0] })).toContain('output_padding');
  });

  it('Resize: floor(d * scale), sizes as given, or one scale for all axes under keep_aspect_ratio_policy', () => {
    const x = f64([1, 1, 2, 4]);
    expect(shapeOf('Resize', [x, null, t('float32', [4], [1, 1, 2.3, 0.6])])).toEqual([1, 1, 4, 2]);
    expect(shapeOf('Resize', [x, null, null, i64(1, 1, 3, 7)])).toEqual([1, 1, 3, 7]);
    expect(shapeOf('Resize', [x, null, null, i64(1, 3)], { axes: [2, 3], keep_aspect_ratio_policy: 'not_larger' })).toEqual([1, 1, 1, 2]);
    expect(shapeOf('Resize', [x, null, null, i64(1, 3)], { axes: [2, 3], keep_aspect_ratio_policy: 'not_smaller' })).toEqual([1, 1, 2, 3]);
    expect(shapeOf('Resize', [x, null, t('float32', [1], [3])], { axes: [-1] })).toEqual([1, 1, 2, 12]);
    expect(rejects('Resize', [x])).toContain('exactly one of scales and sizes');
    expect(rejects('Resize', [x, null, null, i64(3, 3)], { coordinate_transformation_mode: 'tf_crop_and_resize', axes: [2, 3] })).toContain('roi');
  });

  it('Einsum: explicit and implicit outputs, ellipsis broadcasting', () => {
    expect(shapeOf('Einsum', [f64([2, 3]), f64([3, 4])], { equation: 'ij,jk' })).toEqual([2, 4]);
    expect(shapeOf('Einsum', [f64([2, 3]), f64([3, 4])], { equation: 'ij,jk->kji' })).toEqual([4, 3, 2]);
    expect(shapeOf('Einsum', [f64([2, 1, 3, 4]), f64([5, 4, 6])], { equation: '...ij,...jk' })).toEqual([2, 5, 3, 6]);
    expect(shapeOf('Einsum', [f64([3, 3])], { equation: 'ii' })).toEqual([]);
    expect(shapeOf('Einsum', [f64([3, 3])], { equation: 'ba' })).toEqual([3, 3]);
    expect(rejects('Einsum', [f64([2, 3]), f64([4, 5])], { equation: 'ij,jk->ik' })).toContain("label 'j' of 'ij,jk->ik' has size 3 and 4");
    expect(rejects('Einsum', [f64([2, 3])], { equation: 'ijk->i' })).toContain('does not match input 0 of rank 2');
  });

  it('Col2Im, MaxUnpool, CenterCropPad, AffineGrid and the windows', () => {
    expect(shapeOf('Col2Im', [f64([2, 12, 6]), i64(3, 4), i64(2, 2)])).toEqual([2, 3, 3, 4]);
    expect(rejects('Col2Im', [f64([1, 4, 5]), i64(4, 4), i64(2, 2)])).toContain('input has 5 blocks');
    expect(shapeOf('MaxUnpool', [f64([1, 1, 2, 3]), t('int64', [1, 1, 2, 3], [0, 1, 2, 3, 4, 5])], { kernel_shape: [2, 2], strides: [2, 2] })).toEqual([1, 1, 4, 6]);
    const crop = infer(OPS.CenterCropPad!, [f64([5, 4]), i64(2, 7)]);
    expect(crop.outputs[0]!.shape).toEqual([2, 7]);
    expect(crop.attrs!.pads).toEqual([-1, 1, -2, 2]); // crop 3 rows: 1 before; pad 3 columns: 1 before
    expect(shapeOf('AffineGrid', [f64([2, 3, 4]), i64(2, 1, 3, 4, 5)])).toEqual([2, 3, 4, 5, 3]);
    const w = infer(OPS.HannWindow!, [t('int32', [], [8])], { output_datatype: 'float64' });
    expect(w.outputs[0]).toEqual({ shape: [8], dtype: 'float64' });
  });
});

describe('reference values', () => {
  it('ConvTranspose spreads each input over its taps', () => {
    // x = [1, 2], w = [1, 10, 100], stride 2: y[2i + t] += x[i] * w[t]
    close(data('ConvTranspose', [f64([1, 1, 2], [1, 2]), f64([1, 1, 3], [1, 10, 100])], { strides: [2] }), [1, 10, 102, 20, 200]);
    // pads crop the ends; a bias adds everywhere
    close(data('ConvTranspose', [f64([1, 1, 2], [1, 2]), f64([1, 1, 3], [1, 10, 100]), f64([1], [5])], { strides: [2], pads: [1, 1] }), [15, 107, 25]);
  });

  it('Col2Im puts non-overlapping blocks back in place, and sums overlapping ones', () => {
    // 2x2 blocks of a 4x4 image: column b holds block b's taps in row-major order
    const image = Array.from({ length: 16 }, (_, i) => i);
    const cols = new Array<number>(16);
    for (let b = 0; b < 4; b++)
      for (let k = 0; k < 4; k++) cols[k * 4 + b] = image[(Math.floor(b / 2) * 2 + Math.floor(k / 2)) * 4 + (b % 2) * 2 + (k % 2)]!;
    close(data('Col2Im', [f64([1, 4, 4], cols), i64(4, 4), i64(2, 2)], { strides: [2, 2] }), image);
    // 1-D, block 2, stride 1: every inner position is covered twice
    close(data('Col2Im', [f64([1, 2, 3], [1, 1, 1, 1, 1, 1]), i64(4), i64(2)]), [1, 2, 2, 1]);
  });

  it('DeformConv with zero offsets is Conv; a whole-pixel offset shifts the taps', () => {
    const x = wavy([1, 2, 5, 5]);
    const w = wavy([3, 2, 2, 2], 2);
    const b = wavy([3], 3);
    const conv = run(NN.Conv!, nnRef.Conv!, [x, w, b], { pads: [1, 0, 0, 1] })[0]!;
    const off = f64([1, 8, ...conv.shape.slice(2)]);
    close(data('DeformConv', [x, w, off, b], { pads: [1, 0, 0, 1] }), conv.data);
    // offset dx = +1 everywhere equals a conv of X shifted left by one column (zeros entering at the right)
    const shifted = f64(x.shape, x.data.map((_, i) => (i % 5 === 4 ? 0 : x.data[i + 1]!)));
    const want = run(NN.Conv!, nnRef.Conv!, [shifted, w], {})[0]!;
    const dx = f64([1, 8, 4, 4], Array.from({ length: 8 * 16 }, (_, i) => (Math.floor(i / 16) % 2 === 1 ? 1 : 0)));
    close(data('DeformConv', [x, w, dx]), want.data);
  });

  it('LpPool and GlobalLpPool are p-norms of the windows', () => {
    const x = f64([1, 1, 2, 3], [3, -4, 0, 1, 2, -2]);
    close(data('LpPool', [x], { kernel_shape: [2, 2] }), [Math.sqrt(9 + 16 + 1 + 4), Math.sqrt(16 + 4 + 4)]);
    close(data('LpPool', [x], { kernel_shape: [1, 2], p: 1 }), [7, 4, 3, 4]);
    close(data('GlobalLpPool', [x], { p: 3 }), [Math.cbrt(27 + 64 + 1 + 8 + 8)]);
  });

  it('MaxUnpool puts each value where MaxPool found it', () => {
    const x = f64([1, 1, 4, 4], [1, 9, 2, 3, 4, 5, 8, 6, 7, 0, 1, 2, 3, 4, 5, 11]);
    const pooled = run(NN.MaxPool!, nnRef.MaxPool!, [x], { kernel_shape: [2, 2], strides: [2, 2] });
    const [vals, idx] = (() => {
      const r = infer(NN.MaxPool!, [x], { kernel_shape: [2, 2], strides: [2, 2] }, 2);
      const outs = nnRef.MaxPool!([x], { ...r.attrs!, storage_order: 0 }, r.outputs);
      return [Array.from(outs[0]!), Array.from(outs[1]!)];
    })();
    expect(vals).toEqual(pooled[0]!.data);
    const y = data('MaxUnpool', [f64([1, 1, 2, 2], vals), t('int64', [1, 1, 2, 2], idx)], { kernel_shape: [2, 2], strides: [2, 2] });
    expect(y).toEqual(x.data.map((v, i) => (idx.includes(i) ? v : 0)));
  });

  it('MaxRoiPool and RoiAlign over a ramp', () => {
    // X[h, w] = 10h + w: a bin's max is at its bottom-right pixel
    const x = f64([1, 1, 4, 4], Array.from({ length: 16 }, (_, i) => 10 * Math.floor(i / 4) + (i % 4)));
    close(data('MaxRoiPool', [x, f64([1, 5], [0, 0, 0, 3, 3])], { pooled_shape: [2, 2] }), [11, 13, 31, 33]);
    // a linear image is reproduced exactly by bilinear samples: the mean of a bin is its center's value
    close(data('RoiAlign', [x, f64([1, 4], [0.5, 0.5, 2.5, 2.5]), i64(0)], { output_height: 2, output_width: 2, sampling_ratio: 2 }), [5.5, 6.5, 15.5, 16.5]);
  });

  it('normalizations', () => {
    const x = wavy([2, 4, 3]);
    const ones = f64([4], [1, 1, 1, 1]);
    const zeros = f64([4]);
    const inst = data('InstanceNormalization', [x, ones, zeros], { epsilon: 0 });
    for (let p = 0; p < 8; p++) {
      const plane = inst.slice(p * 3, p * 3 + 3);
      expect(Math.abs(plane.reduce((a, b) => a + b, 0))).toBeLessThan(1e-9);
      expect(plane.reduce((a, b) => a + b * b, 0) / 3).toBeCloseTo(1, 9);
    }
    close(data('GroupNormalization', [x, ones, zeros], { num_groups: 4, epsilon: 0 }), inst);
    const l2 = data('LpNormalization', [x], { axis: 1 });
    for (let n = 0; n < 2; n++) for (let k = 0; k < 3; k++) expect([0, 1, 2, 3].reduce((s, c) => s + l2[n * 12 + c * 3 + k]! ** 2, 0)).toBeCloseTo(1, 12);
    close(data('LpNormalization', [f64([2, 2], [0, 0, 3, -4])], { p: 1 }), [0, 0, 3 / 7, -4 / 7]);
    const rms = data('RMSNormalization', [x, f64([3], [1, 2, 3])], { epsilon: 0 });
    for (let r = 0; r < 8; r++) expect([0, 1, 2].reduce((s, j) => s + (rms[r * 3 + j]! / (j + 1)) ** 2, 0) / 3).toBeCloseTo(1, 12);
    const mvn = data('MeanVarianceNormalization', [x], { axes: [0, 2] });
    for (let c = 0; c < 4; c++) {
      const v = [0, 1].flatMap((n) => [0, 1, 2].map((k) => mvn[n * 12 + c * 3 + k]!));
      expect(v.reduce((a, b) => a + b, 0)).toBeCloseTo(0, 9);
      expect(v.reduce((a, b) => a + b * b, 0) / 6).toBeCloseTo(1, 6);
    }
    // LRN with size 1: x / (bias + alpha * x^2)^beta
    close(data('LRN', [f64([1, 2, 1], [2, -3])], { size: 1, alpha: 0.5, beta: 2, bias: 1 }), [2 / 9, -3 / 5.5 ** 2]);
    // size 3: neighbors on both sides
    close(data('LRN', [f64([1, 3], [1, 2, 3])], { size: 3, alpha: 3, beta: 1, bias: 0 }), [1 / 5, 2 / 14, 3 / 13]);
  });

  it('Resize interpolates as ONNX specifies', () => {
    const row = f64([1, 2], [1, 3]);
    const sizes = (...v: number[]) => [null, null, i64(...v)];
    close(data('Resize', [row, ...sizes(1, 4)], { mode: 'linear', coordinate_transformation_mode: 'asymmetric' }), [1, 2, 3, 3]);
    close(data('Resize', [row, ...sizes(1, 4)], { mode: 'linear' }), [1, 1.5, 2.5, 3]);
    close(data('Resize', [row, ...sizes(1, 3)], { mode: 'linear', coordinate_transformation_mode: 'align_corners' }), [1, 2, 3]);
    close(data('Resize', [row, ...sizes(1, 4)], { mode: 'nearest' }), [1, 1, 3, 3]);
    close(data('Resize', [f64([3], [1, 2, 3]), null, null, i64(5)], { nearest_mode: 'ceil', coordinate_transformation_mode: 'asymmetric' }), [1, 2, 3, 3, 3]);
    // cubic with Keys' A = -0.5 reproduces a linear ramp away from the edges
    const ramp = iota([8]);
    const up = data('Resize', [ramp, null, t('float32', [1], [2])], { mode: 'cubic', cubic_coeff_a: -0.5, coordinate_transformation_mode: 'align_corners' });
    close(up.slice(4, 11), [4, 5, 6, 7, 8, 9, 10].map((i) => (i * 7) / 15), 1e-12);
    // tf_crop_and_resize outside the crop gives extrapolation_value
    close(
      data('Resize', [f64([2], [0, 10]), f64([2], [0.5, 1.5]), null, i64(3)], { mode: 'linear', coordinate_transformation_mode: 'tf_crop_and_resize', extrapolation_value: -1 }),
      [5, 10, -1],
    );
    // integer outputs truncate toward zero
    expect(data('Resize', [t('int32', [2], [-3, 0]), null, null, i64(3)], { mode: 'linear', coordinate_transformation_mode: 'align_corners' })).toEqual([-3, -1, 0]);
  });

  it('AffineGrid with the identity theta samples X unchanged through GridSample', () => {
    const x = wavy([1, 2, 3, 4]);
    for (const align_corners of [0, 1]) {
      const grid = run(OPS.AffineGrid!, visionRef.AffineGrid!, [f64([1, 2, 3], [1, 0, 0, 0, 1, 0]), i64(1, 2, 3, 4)], { align_corners })[0]!;
      for (const mode of ['linear', 'nearest', 'cubic']) close(data('GridSample', [x, grid], { align_corners, mode }), x.data, 1e-9);
    }
    // border padding clamps a coordinate past the edge; zeros reads 0 there
    const g = f64([1, 1, 1, 2], [2.5, -1]);
    close(data('GridSample', [iota([1, 1, 2, 2]), g], { align_corners: 1, padding_mode: 'border' }), [1]);
    close(data('GridSample', [iota([1, 1, 2, 2]), g], { align_corners: 1, mode: 'nearest' }), [0]);
  });

  it('CenterCropPad keeps the center and pads with zeros', () => {
    close(data('CenterCropPad', [iota([5]), i64(3)]), [1, 2, 3]);
    close(data('CenterCropPad', [iota([2], 1), i64(5)]), [0, 1, 2, 0, 0]);
  });

  it('Einsum agrees with explicit sums', () => {
    const a = wavy([2, 3]);
    const b = wavy([3, 4], 2);
    const mm = data('Einsum', [a, b], { equation: 'ij,jk->ik' });
    for (let i = 0; i < 2; i++)
      for (let k = 0; k < 4; k++) expect(mm[i * 4 + k]).toBeCloseTo([0, 1, 2].reduce((s, j) => s + a.data[i * 3 + j]! * b.data[j * 4 + k]!, 0), 12);
    close(data('Einsum', [iota([3, 3])], { equation: 'ii->i' }), [0, 4, 8]);
    close(data('Einsum', [iota([3, 3])], { equation: 'ij->' }), [36]);
    close(data('Einsum', [f64([2], [1, 2]), f64([3], [1, 10, 100])], { equation: 'i,j' }), [1, 10, 100, 2, 20, 200]);
  });

  it('windows', () => {
    const hann = data('HannWindow', [t('int64', [], [5])], { periodic: 0, output_datatype: 'float64' });
    close(hann, [0, 0.5, 1, 0.5, 0], 1e-12);
    const periodic = data('HannWindow', [t('int64', [], [4])], { output_datatype: 'float64' });
    close(periodic, [0, 0.5, 1, 0.5], 1e-12);
    close(data('HammingWindow', [t('int64', [], [3])], { periodic: 0, output_datatype: 'float64' }), [4 / 46, 1, 4 / 46], 1e-12);
    close(data('BlackmanWindow', [t('int64', [], [3])], { periodic: 0, output_datatype: 'float64' }), [0, 1, 0], 1e-12);
  });
});

describe('conformance cases', () => {
  it('are valid calls for every binding (throwing cases are rejected)', () => {
    expect(checkCases(OPS, visionRef, visionCases)).toEqual([]);
  });
});
