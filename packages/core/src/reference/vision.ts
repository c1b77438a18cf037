/**
 * Reference kernels of the vision ops (../ops/vision.ts): direct loops in float64,
 * reading the explicit attributes the shape rules folded. Where an op is another
 * op in disguise the kernel says so and calls it: CenterCropPad is Pad, LpPool a
 * depthwise sum-Conv of |x|^p, InstanceNormalization GroupNormalization with one
 * channel per group.
 */
import { isFloat } from '../dtype.js';
import { MxError } from '../errors.js';
import type { AttrValue } from '../ops/schema.js';
import { nnRef } from './nn.js';
import { tensorRef } from './tensor.js';
import type { RefKernel, RefTensor } from './types.js';
import { axisSplit, broadcastIndex, sizeOf, strides, unravel } from './util.js';

type Attrs = Readonly<Record<string, AttrValue>>;
const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);

// ---------------------------------------------------------------- column scatter (ConvTranspose, Col2Im)

/**
 * Sums columns col[(c, t), b] into images of `image` spatial dims: block b of the
 * `blocks` grid, tap t of the kernel, lands at b * stride - pad_begin + t * dilation
 * per axis (dropped outside the image). `out` holds `channels` images.
 */
function col2im(col: ArrayLike<number>, channels: number, blocks: readonly number[], image: readonly number[], attrs: Attrs, out: Float64Array, outBase = 0) {
  const kernel = attrs.kernel_shape as number[];
  const [s, d, pads] = [attrs.strides as number[], attrs.dilations as number[], attrs.pads as number[]];
  const [K, L, P] = [sizeOf(kernel), sizeOf(blocks), sizeOf(image)];
  const imgStr = strides(image);
  for (let t = 0; t < K; t++) {
    const tap = unravel(t, kernel);
    for (let b = 0; b < L; b++) {
      const pos = unravel(b, blocks);
      let dst = 0;
      for (let a = 0; a < image.length && dst >= 0; a++) {
        const o = pos[a]! * s[a]! - pads[a]! + tap[a]! * d[a]!;
        dst = o < 0 || o >= image[a]! ? -1 : dst + o * imgStr[a]!;
      }
      if (dst < 0) continue;
      for (let c = 0; c < channels; c++) out[outBase + c * P + dst] += col[(c * K + t) * L + b]!;
    }
  }
}

// ---------------------------------------------------------------- bilinear / cubic sampling helpers

/** Keys' cubic convolution kernel with parameter A, at distance t >= 0. */
function cubic(t: number, A: number): number {
  if (t <= 1) return ((A + 2) * t - (A + 3)) * t * t + 1;
  if (t < 2) return ((A * t - 5 * A) * t + 8 * A) * t - 4 * A;
  return 0;
}

/** Rounds half to even (C's nearbyint). */
function rint(v: number): number {
  const f = Math.floor(v);
  const r = v - f;
  return r < 0.5 ? f : r > 0.5 ? f + 1 : f % 2 === 0 ? f : f + 1;
}

/** Rounds half away from zero (C's round). */
const roundAway = (v: number) => (v < 0 ? -Math.round(-v) : Math.round(v));

/** Reflects x into [lo, hi] by the nearer border, repeatedly (GridSample's reflection padding). */
function reflect(x: number, lo: number, hi: number): number {
  const range = hi - lo;
  if (range <= 0) return lo;
  if (x < lo) {
    const dx = lo - x;
    const n = Math.floor(dx / range);
    const r = dx - n * range;
    return n % 2 === 0 ? lo + r : hi - r;
  }
  if (x > hi) {
    const dx = x - hi;
    const n = Math.floor(dx / range);
    const r = dx - n * range;
    return n % 2 === 0 ? hi - r : lo + r;
  }
  return x;
}

/** Bilinear sample of a [h, w] plane at (y, x); neighbors outside the plane read 0. */
function bilinearZero(plane: (i: number) => number, h: number, w: number, y: number, x: number): number {
  const [y0, x0] = [Math.floor(y), Math.floor(x)];
  const [ly, lx] = [y - y0, x - x0];
  let v = 0;
  for (const [yy, wy] of [[y0, 1 - ly], [y0 + 1, ly]] as const)
    for (const [xx, wx] of [[x0, 1 - lx], [x0 + 1, lx]] as const) if (yy >= 0 && yy < h && xx >= 0 && xx < w) v += wy * wx * plane(yy * w + xx);
  return v;
}

// ---------------------------------------------------------------- Resize

interface AxisTaps {
  /** Per output position: input indices (clamped to the axis) and their weights. */
  idx: number[][];
  w: number[][];
  /** Per output position: outside the crop of tf_crop_and_resize (takes extrapolation_value). */
  outside: boolean[];
}

/**
 * The taps of one resized axis. The output position x maps to the input coordinate
 * xo of coordinate_transformation_mode, with `scale` and the float output length
 * scale * inLen. nearest takes one input index by nearest_mode (an integral xo maps
 * to itself). linear (support 1) and cubic (support 2) take, with i0 = ceil(xo) - 1
 * and r = xo - i0 in (0, 1], the indices i0 + i for i in [start, 1 - start],
 * start = floor(-support / s) + 1 where s = min(scale, 1) with antialias and 1
 * otherwise, weighted kernel(s * |i - r|); antialias and exclude_outside (which
 * zeroes the weights of indices outside the axis) renormalize the weights to sum 1.
 * Indices are then clamped to the axis (edge padding).
 */
function resizeTaps(inLen: number, outLen: number, scale: number, roi: [number, number], attrs: Attrs): AxisTaps {
  const coord = attrs.coordinate_transformation_mode as string;
  const mode = attrs.mode as string;
  const outF = scale * inLen;
  const taps: AxisTaps = { idx: [], w: [], outside: [] };
  for (let x = 0; x < outLen; x++) {
    let xo: number;
    if (coord === 'half_pixel') xo = (x + 0.5) / scale - 0.5;
    else if (coord === 'half_pixel_symmetric') xo = (inLen / 2) * (1 - outLen / outF) + (x + 0.5) / scale - 0.5;
    else if (coord === 'pytorch_half_pixel') xo = outLen > 1 ? (x + 0.5) / scale - 0.5 : 0;
    else if (coord === 'align_corners') xo = outF === 1 ? 0 : (x * (inLen - 1)) / (outF - 1);
    else if (coord === 'asymmetric') xo = x / scale;
    else if (coord === 'tf_half_pixel_for_nn') xo = (x + 0.5) / scale;
    else xo = (outF === 1 ? ((roi[1] - roi[0]) * (inLen - 1)) / 2 : (x * (roi[1] - roi[0]) * (inLen - 1)) / (outF - 1)) + roi[0] * (inLen - 1);
    taps.outside.push(coord === 'tf_crop_and_resize' && (xo < 0 || xo > inLen - 1));
    if (mode === 'nearest') {
      const f = Math.floor(xo);
      const r = xo - f;
      const nm = attrs.nearest_mode as string;
      const up = r > 0 && (nm === 'ceil' || (nm === 'round_prefer_floor' && r > 0.5) || (nm === 'round_prefer_ceil' && r >= 0.5));
      taps.idx.push([clamp(up ? f + 1 : f, 0, inLen - 1)]);
      taps.w.push([1]);
      continue;
    }
    const support = mode === 'linear' ? 1 : 2;
    const s = attrs.antialias ? Math.min(scale, 1) : 1;
    const i0 = Number.isInteger(xo) ? xo - 1 : Math.floor(xo);
    const r = xo - i0;
    const start = Math.floor(-support / s) + 1;
    const idx: number[] = [];
    const w: number[] = [];
    for (let i = start; i <= 1 - start; i++) {
      const t = Math.abs(s * (i - r));
      idx.push(i0 + i);
      w.push(mode === 'linear' ? Math.max(0, 1 - t) : cubic(t, attrs.cubic_coeff_a as number));
    }
    if (attrs.exclude_outside) idx.forEach((j, k) => (w[k] = j < 0 || j >= inLen ? 0 : w[k]!));
    if (attrs.antialias || attrs.exclude_outside) {
      const sum = w.reduce((a, b) => a + b, 0);
      w.forEach((v, k) => (w[k] = v / sum));
    }
    taps.idx.push(idx.map((j) => clamp(j, 0, inLen - 1)));
    taps.w.push(w);
  }
  return taps;
}

/** Resize: one pass per axis, each a weighted sum over the axis's taps (the interpolation is separable). */
const resize: RefKernel = ([x], attrs, [o]) => {
  const scales = attrs.scales as number[];
  const roi = attrs.roi as number[] | undefined;
  const r = x!.shape.length;
  let shape = x!.shape.slice();
  let data: ArrayLike<number> = x!.data;
  for (let a = 0; a < r; a++) {
    const taps = resizeTaps(shape[a]!, o!.shape[a]!, scales[a]!, roi ? [roi[a]!, roi[a + r]!] : [0, 1], attrs);
    const [outer, inLen, inner] = axisSplit(shape, a);
    const outLen = o!.shape[a]!;
    const next = new Float64Array(outer * outLen * inner);
    for (let q = 0; q < outer; q++)
      for (let p = 0; p < outLen; p++)
        for (let i = 0; i < inner; i++) {
          let v = 0;
          if (taps.outside[p]) v = attrs.extrapolation_value as number;
          else taps.idx[p]!.forEach((j, k) => (v += taps.w[p]![k]! * data[(q * inLen + j) * inner + i]!));
          next[(q * outLen + p) * inner + i] = v;
        }
    shape = shape.map((d, k) => (k === a ? outLen : d));
    data = next;
  }
  return [isFloat(o!.dtype) ? data : Array.from(data, Math.trunc)];
};

// ---------------------------------------------------------------- GridSample

/**
 * GridSample: the grid's last dim holds (x, y, z...) = spatial axes n-1, n-2, ...
 * Each normalized coordinate g becomes v = (g + 1) / 2 * (L - 1) with align_corners,
 * else ((g + 1) * L - 1) / 2. nearest rounds v first (half to even; half away from
 * zero for 3 spatial dims, as PyTorch). A v outside [-0.5, L - 0.5] ([0, L - 1] with
 * align_corners) is clamped to [0, L - 1] (border) or reflected into that range
 * (reflection). Then nearest reads index v, linear the 2 and cubic (A = -0.75)
 * the 4 indices around floor(v); each index outside the axis reads 0 (zeros), the
 * clamped index (border) or the reflected index (reflection).
 */
const gridSample: RefKernel = ([x, grid], attrs, [o]) => {
  const dims = x!.shape.slice(2);
  const n = dims.length;
  const [N, C] = [x!.shape[0]!, x!.shape[1]!];
  const P = sizeOf(o!.shape.slice(2));
  const plane = sizeOf(dims);
  const inStr = strides(dims);
  const { mode, padding_mode: pad } = attrs as { mode: string; padding_mode: string };
  const align = attrs.align_corners === 1;
  const out = new Float64Array(N * C * P);
  for (let nb = 0; nb < N; nb++)
    for (let p = 0; p < P; p++) {
      // per spatial axis: (input index or -1, weight)
      const axes = dims.map((L, a) => {
        const g = grid!.data[(nb * P + p) * n + (n - 1 - a)]!;
        let v = align ? ((g + 1) / 2) * (L - 1) : ((g + 1) * L - 1) / 2;
        const [lo, hi] = align ? [0, L - 1] : [-0.5, L - 0.5];
        if (mode === 'nearest') v = rint(v);
        if (v < lo || v > hi) v = pad === 'border' ? clamp(v, 0, L - 1) : pad === 'reflection' ? reflect(v, lo, hi) : v;
        const at = (i: number) => (pad === 'zeros' ? (i >= 0 && i < L ? i : -1) : pad === 'border' ? clamp(i, 0, L - 1) : Math.trunc(reflect(i, lo, hi)));
        if (mode === 'nearest') return [[at(Math.trunc(v)), 1]];
        const f = Math.floor(v);
        const t = v - f;
        if (mode === 'linear') return [[at(f), 1 - t], [at(f + 1), t]];
        return [-1, 0, 1, 2].map((k) => [at(f + k), cubic(Math.abs(k - t), -0.75)]);
      });
      for (let c = 0; c < C; c++) {
        const base = (nb * C + c) * plane;
        let sum = 0;
        const walk = (a: number, off: number, w: number): void => {
          if (a === n) {
            sum += w * x!.data[base + off]!;
            return;
          }
          for (const [i, wi] of axes[a]!) if (i! >= 0) walk(a + 1, off + i! * inStr[a]!, w * wi!);
        };
        walk(0, 0, 1);
        out[(nb * C + c) * P + p] = sum;
      }
    }
  return [out];
};

// ---------------------------------------------------------------- normalizations

/** GroupNormalization (InstanceNormalization: num_groups = C): population statistics per (n, group). */
const groupNorm: RefKernel = ([x, scale, bias], attrs) => {
  const [N, C] = [x!.shape[0]!, x!.shape[1]!];
  const groups = attrs.num_groups as number;
  const inner = sizeOf(x!.shape.slice(2));
  const len = (C / groups) * inner;
  const out = new Float64Array(sizeOf(x!.shape));
  for (let g = 0; g < N * groups; g++) {
    const vals = Array.from({ length: len }, (_, j) => x!.data[g * len + j]!);
    const mean = vals.reduce((s, v) => s + v, 0) / len;
    const inv = 1 / Math.sqrt(vals.reduce((s, v) => s + (v - mean) ** 2, 0) / len + (attrs.epsilon as number));
    vals.forEach((v, j) => {
      const c = Math.floor((g * len + j) / inner) % C;
      out[g * len + j] = (v - mean) * inv * scale!.data[c]! + bias!.data[c]!;
    });
  }
  return [out];
};

/** Runs f(get, set, n) on every lane along `axis` (lane element j: get(j), set(j, v)). */
function lanes(x: RefTensor, axis: number, f: (get: (j: number) => number, set: (j: number, v: number) => void, n: number) => void): Float64Array {
  const [outer, n, inner] = axisSplit(x.shape, axis);
  const out = new Float64Array(sizeOf(x.shape));
  for (let o = 0; o < outer; o++)
    for (let i = 0; i < inner; i++) {
      const at = (j: number) => (o * n + j) * inner + i;
      f((j) => x.data[at(j)]!, (j, v) => (out[at(j)] = v), n);
    }
  return out;
}

// ---------------------------------------------------------------- Einsum

/** Einsum: for every combination of label values, the product of the inputs' elements adds to the output's. */
const einsum: RefKernel = (inputs, attrs, [o]) => {
  const labels = attrs.labels as number[];
  const outLabels = attrs.out_labels as number[];
  const sizes = attrs.label_sizes as number[];
  let at = 0;
  // per input: [label, stride] of every axis; broadcast (size-1) dims have stride 0
  const axes = inputs.map((t) => {
    const str = strides(t!.shape);
    return t!.shape.map((d, k) => [labels[at++]!, d === 1 ? 0 : str[k]!] as const);
  });
  const outStr = strides(o!.shape);
  const out = new Float64Array(sizeOf(o!.shape));
  for (let i = 0; i < sizeOf(sizes); i++) {
    const idx = unravel(i, sizes);
    let prod = 1;
    inputs.forEach((t, k) => (prod *= t!.data[axes[k]!.reduce((s, [l, st]) => s + idx[l]! * st, 0)]!));
    out[outLabels.reduce((s, l, k) => s + idx[l]! * outStr[k]!, 0)] += prod;
  }
  return [out];
};

// ---------------------------------------------------------------- windows

/** A window of the output's length: f(2 pi n / N), N = length (periodic) or length - 1. */
const window =
  (f: (a: number) => number): RefKernel =>
  (_, attrs, [o]) => {
    const size = o!.shape[0]!;
    const N = attrs.periodic ? size : size - 1;
    const v = Array.from({ length: size }, (_, n) => f((2 * Math.PI * n) / N));
    return [isFloat(o!.dtype) ? v : v.map(Math.trunc)];
  };

// ---------------------------------------------------------------- the kernels

export const visionRef: Record<string, RefKernel> = {
  // Per image and group: col[(m, t), i] = sum_c W[c, m, t] * X[c, i], scattered like Col2Im over the input positions.
  ConvTranspose: ([x, w, bias], attrs, [o]) => {
    const [N, C] = [x!.shape[0]!, x!.shape[1]!];
    const M = o!.shape[1]!;
    const G = attrs.group as number;
    const [Cg, Mg] = [C / G, M / G];
    const inSp = x!.shape.slice(2);
    const outSp = o!.shape.slice(2);
    const [Pin, Pout, K] = [sizeOf(inSp), sizeOf(outSp), sizeOf(w!.shape.slice(2))];
    const out = new Float64Array(N * M * Pout);
    for (let i = 0; i < out.length; i++) out[i] = bias ? bias.data[Math.floor(i / Pout) % M]! : 0;
    for (let nb = 0; nb < N; nb++)
      for (let g = 0; g < G; g++) {
        const col = new Float64Array(Mg * K * Pin);
        for (let r = 0; r < Mg * K; r++)
          for (let c = 0; c < Cg; c++) {
            const wv = w!.data[(g * Cg + c) * Mg * K + r]!;
            for (let i = 0; i < Pin; i++) col[r * Pin + i] += wv * x!.data[(nb * C + g * Cg + c) * Pin + i]!;
          }
        col2im(col, Mg, inSp, outSp, attrs, out, (nb * M + g * Mg) * Pout);
      }
    return [out];
  },

  Col2Im: ([x], attrs, [o]) => {
    const [N, C] = [o!.shape[0]!, o!.shape[1]!];
    const image = o!.shape.slice(2);
    const out = new Float64Array(sizeOf(o!.shape));
    const per = x!.shape[1]! * x!.shape[2]!;
    for (let nb = 0; nb < N; nb++)
      col2im(Array.prototype.slice.call(x!.data, nb * per, (nb + 1) * per), C, attrs.blocks as number[], image, attrs, out, nb * C * sizeOf(image));
    return [out];
  },

  // Taps at (i * stride - pad + k * dilation + offset) per axis, sampled bilinearly (0 outside X), times mask.
  DeformConv: ([x, w, offset, bias, mask], attrs, [o]) => {
    const [N, C, H, W] = x!.shape as [number, number, number, number];
    const [M, , kH, kW] = w!.shape as [number, number, number, number];
    const [oH, oW] = [o!.shape[2]!, o!.shape[3]!];
    const [s, d, pads] = [attrs.strides as number[], attrs.dilations as number[], attrs.pads as number[]];
    const G = attrs.group as number;
    const OG = attrs.offset_group as number;
    const [Cg, Mg, K] = [C / G, M / G, kH * kW];
    const out = new Float64Array(N * M * oH * oW);
    for (let nb = 0; nb < N; nb++)
      for (let m = 0; m < M; m++)
        for (let i = 0; i < oH; i++)
          for (let j = 0; j < oW; j++) {
            let sum = bias ? bias.data[m]! : 0;
            const g = Math.floor(m / Mg);
            for (let c = g * Cg; c < (g + 1) * Cg; c++) {
              const og = Math.floor(c / (C / OG));
              const plane = (q: number) => x!.data[(nb * C + c) * H * W + q]!;
              for (let k = 0; k < K; k++) {
                const [kh, kw] = [Math.floor(k / kW), k % kW];
                const off = (dim: number) => offset!.data[(((nb * OG + og) * K + k) * 2 + dim) * oH * oW + i * oW + j]!;
                const y = i * s[0]! - pads[0]! + kh * d[0]! + off(0);
                const xx = j * s[1]! - pads[1]! + kw * d[1]! + off(1);
                const mk = mask ? mask.data[((nb * OG + og) * K + k) * oH * oW + i * oW + j]! : 1;
                sum += w!.data[(m * Cg + (c - g * Cg)) * K + k]! * mk * bilinearZero(plane, H, W, y, xx);
              }
            }
            out[((nb * M + m) * oH + i) * oW + j] = sum;
          }
    return [out];
  },

  // (sum over the window's taps in X of |x|^p)^(1/p): a depthwise Conv with unit weights of |x|^p.
  LpPool: ([x], attrs, outs) => {
    const p = attrs.p as number;
    const C = x!.shape[1]!;
    const kernel = attrs.kernel_shape as number[];
    const ones: RefTensor = { shape: [C, 1, ...kernel], dtype: x!.dtype, data: new Float64Array(C * sizeOf(kernel)).fill(1) };
    const powered: RefTensor = { ...x!, data: Array.from(x!.data, (v) => Math.abs(v) ** p) };
    const [sums] = nnRef.Conv!([powered, ones, null], { ...attrs, group: C }, outs);
    return [Array.from(sums!, (v) => v ** (1 / p))];
  },

  GlobalLpPool: ([x], attrs) => {
    const p = attrs.p as number;
    const planes = x!.shape[0]! * x!.shape[1]!;
    const n = sizeOf(x!.shape.slice(2));
    const out = new Float64Array(planes);
    for (let c = 0; c < planes; c++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += Math.abs(x!.data[c * n + i]!) ** p;
      out[c] = s ** (1 / p);
    }
    return [out];
  },

  // X[j] lands at the position I[j] has in `scatter_shape` (the output without output_shape).
  MaxUnpool: ([x, ind], attrs, [o]) => {
    const from = attrs.scatter_shape as number[];
    const outStr = strides(o!.shape);
    const out = new Float64Array(sizeOf(o!.shape));
    for (let j = 0; j < x!.data.length; j++) {
      const at = ind!.data[j]!;
      if (at < 0 || at >= sizeOf(from)) throw new MxError('INVALID_ARGUMENT', `MaxUnpool: index ${at} is outside the unpooled shape [${from}]`);
      out[unravel(at, from).reduce((s, i, a) => s + i * outStr[a]!, 0)] = x!.data[j]!;
    }
    return [out];
  },

  // Bins of the ROI (corners rounded half away from zero after spatial_scale, at least 1x1):
  // rows floor(ph * h / PH) .. ceil((ph + 1) * h / PH) from its start, clipped to X; an empty bin gives 0.
  MaxRoiPool: ([x, rois], attrs, [o]) => {
    const [N, C, H, W] = x!.shape as [number, number, number, number];
    const [R, , PH, PW] = o!.shape as [number, number, number, number];
    const scale = attrs.spatial_scale as number;
    const out = new Float64Array(R * C * PH * PW);
    for (let r = 0; r < R; r++) {
      const roi = Array.from({ length: 5 }, (_, k) => rois!.data[r * 5 + k]!);
      const b = Math.trunc(roi[0]!);
      if (b < 0 || b >= N) throw new MxError('INVALID_ARGUMENT', `MaxRoiPool: ROI ${r} has batch index ${b}, outside [0, ${N})`);
      const [x1, y1, x2, y2] = roi.slice(1).map((v) => roundAway(v * scale)) as [number, number, number, number];
      const [bh, bw] = [Math.max(y2 - y1 + 1, 1) / PH, Math.max(x2 - x1 + 1, 1) / PW];
      for (let c = 0; c < C; c++)
        for (let ph = 0; ph < PH; ph++)
          for (let pw = 0; pw < PW; pw++) {
            const [hs, he] = [clamp(Math.floor(ph * bh) + y1, 0, H), clamp(Math.ceil((ph + 1) * bh) + y1, 0, H)];
            const [ws, we] = [clamp(Math.floor(pw * bw) + x1, 0, W), clamp(Math.ceil((pw + 1) * bw) + x1, 0, W)];
            let m = he <= hs || we <= ws ? 0 : -Infinity;
            for (let h = hs; h < he; h++) for (let w = ws; w < we; w++) m = Math.max(m, x!.data[((b * C + c) * H + h) * W + w]!);
            out[((r * C + c) * PH + ph) * PW + pw] = m;
          }
    }
    return [out];
  },

  /**
   * Per ROI (scaled by spatial_scale, minus 0.5 with half_pixel; at least 1x1 with
   * output_half_pixel), bin (ph, pw) takes a grid of sampling_ratio (or
   * ceil(roi size / bins)) points per axis at the centers of equal sub-bins. A
   * point beyond [-1, size] contributes 0; otherwise it is clamped to >= 0 and
   * interpolated bilinearly (the last row/column repeats). avg: the mean of the
   * points; max: the max over points of the largest weighted corner (weight * value).
   */
  RoiAlign: ([x, rois, batch], attrs, [o]) => {
    const [N, C, H, W] = x!.shape as [number, number, number, number];
    const [R, , PH, PW] = o!.shape as [number, number, number, number];
    const scale = attrs.spatial_scale as number;
    const half = attrs.coordinate_transformation_mode === 'half_pixel';
    const ratio = attrs.sampling_ratio as number;
    const out = new Float64Array(R * C * PH * PW);
    for (let r = 0; r < R; r++) {
      const b = batch!.data[r]!;
      if (b < 0 || b >= N) throw new MxError('INVALID_ARGUMENT', `RoiAlign: ROI ${r} has batch index ${b}, outside [0, ${N})`);
      const [x1, y1, x2, y2] = Array.from({ length: 4 }, (_, k) => rois!.data[r * 4 + k]! * scale - (half ? 0.5 : 0)) as [number, number, number, number];
      const [rw, rh] = half ? [x2 - x1, y2 - y1] : [Math.max(x2 - x1, 1), Math.max(y2 - y1, 1)];
      const [bh, bw] = [rh / PH, rw / PW];
      const [gh, gw] = ratio > 0 ? [ratio, ratio] : [Math.ceil(rh / PH), Math.ceil(rw / PW)];
      const count = Math.max(gh * gw, 1);
      for (let c = 0; c < C; c++) {
        const at = (yy: number, xx: number) => x!.data[((b * C + c) * H + yy) * W + xx]!;
        for (let ph = 0; ph < PH; ph++)
          for (let pw = 0; pw < PW; pw++) {
            let acc = 0;
            let first = true;
            for (let iy = 0; iy < gh; iy++)
              for (let ix = 0; ix < gw; ix++) {
                let y = y1 + ph * bh + ((iy + 0.5) * bh) / gh;
                let xx = x1 + pw * bw + ((ix + 0.5) * bw) / gw;
                let corners = [0, 0, 0, 0];
                if (!(y < -1 || y > H || xx < -1 || xx > W)) {
                  [y, xx] = [Math.max(y, 0), Math.max(xx, 0)];
                  let [yl, xl] = [Math.trunc(y), Math.trunc(xx)];
                  let [yh, xh] = [yl + 1, xl + 1];
                  if (yl >= H - 1) [yl, yh, y] = [H - 1, H - 1, H - 1];
                  if (xl >= W - 1) [xl, xh, xx] = [W - 1, W - 1, W - 1];
                  const [ly, lx] = [y - yl, xx - xl];
                  corners = [(1 - ly) * (1 - lx) * at(yl, xl), (1 - ly) * lx * at(yl, xh), ly * (1 - lx) * at(yh, xl), ly * lx * at(yh, xh)];
                }
                if (attrs.mode === 'avg') acc += corners.reduce((s, v) => s + v, 0);
                else {
                  const v = Math.max(...corners);
                  acc = first ? v : Math.max(acc, v);
                  first = false;
                }
              }
            out[((r * C + c) * PH + ph) * PW + pw] = attrs.mode === 'avg' ? acc / count : acc;
          }
      }
    }
    return [out];
  },

  GroupNormalization: groupNorm,
  InstanceNormalization: groupNorm,

  LpNormalization: ([x], { axis, p }) => [
    lanes(x!, axis as number, (get, set, n) => {
      let norm = 0;
      for (let j = 0; j < n; j++) norm += p === 1 ? Math.abs(get(j)) : get(j) ** 2;
      if (p === 2) norm = Math.sqrt(norm);
      for (let j = 0; j < n; j++) set(j, norm === 0 ? 0 : get(j) / norm);
    }),
  ],

  MeanVarianceNormalization: ([x], attrs) => {
    const axes = attrs.axes as number[];
    const kept = x!.shape.map((d, a) => (axes.includes(a) ? 1 : d));
    const group = broadcastIndex(x!.shape, kept); // element -> its statistics slot
    const n = sizeOf(x!.shape) / Math.max(sizeOf(kept), 1);
    const [sum, sq] = [new Float64Array(sizeOf(kept)), new Float64Array(sizeOf(kept))];
    for (let i = 0; i < group.length; i++) sum[group[i]!] += x!.data[i]!;
    for (let i = 0; i < group.length; i++) sq[group[i]!] += (x!.data[i]! - sum[group[i]!]! / n) ** 2;
    return [Array.from(x!.data, (v, i) => (v - sum[group[i]!]! / n) / (Math.sqrt(sq[group[i]!]! / n) + 1e-9))];
  },

  RMSNormalization: ([x, scale], attrs) => {
    const a = attrs.axis as number;
    const block = x!.shape.slice(a);
    const len = sizeOf(block);
    const sOf = broadcastIndex(block, scale!.shape);
    const out = new Float64Array(sizeOf(x!.shape));
    for (let r = 0; r < out.length / Math.max(len, 1); r++) {
      let ss = 0;
      for (let j = 0; j < len; j++) ss += x!.data[r * len + j]! ** 2;
      const inv = 1 / Math.sqrt(ss / len + (attrs.epsilon as number));
      for (let j = 0; j < len; j++) out[r * len + j] = x!.data[r * len + j]! * inv * scale!.data[sOf[j]!]!;
    }
    return [out];
  },

  // Channels c - floor((size - 1) / 2) .. c + ceil((size - 1) / 2), clipped to [0, C).
  LRN: ([x], attrs) => {
    const size = attrs.size as number;
    const [alpha, beta, bias] = [attrs.alpha as number, attrs.beta as number, attrs.bias as number];
    return [
      lanes(x!, 1, (get, set, C) => {
        for (let c = 0; c < C; c++) {
          let ss = 0;
          for (let k = Math.max(0, c - Math.floor((size - 1) / 2)); k <= Math.min(C - 1, c + Math.ceil((size - 1) / 2)); k++) ss += get(k) ** 2;
          set(c, get(c) / (bias + (alpha / size) * ss) ** beta);
        }
      }),
    ];
  },

  Resize: resize,
  GridSample: gridSample,

  // Base coordinates per axis of size L: -1 + (2i + 1) / L, or with align_corners
  // -1 + 2i / (L - 1) (-1 when L = 1); grid = theta @ (x, y[, z], 1).
  AffineGrid: ([theta], attrs, [o]) => {
    const sp = o!.shape.slice(1, -1);
    const n = sp.length;
    const base = (i: number, L: number) => (attrs.align_corners ? (L === 1 ? -1 : -1 + (2 * i) / (L - 1)) : -1 + (2 * i + 1) / L);
    const P = sizeOf(sp);
    const out = new Float64Array(o!.shape[0]! * P * n);
    for (let nb = 0; nb < o!.shape[0]!; nb++)
      for (let p = 0; p < P; p++) {
        const pos = unravel(p, sp);
        const vec = [...pos.map((i, a) => base(i, sp[a]!)).reverse(), 1];
        for (let k = 0; k < n; k++) out[(nb * P + p) * n + k] = vec.reduce((s, v, j) => s + theta!.data[(nb * n + k) * (n + 1) + j]! * v, 0);
      }
    return [out];
  },

  CenterCropPad: (inputs, attrs, outs) => tensorRef.Pad!(inputs, attrs, outs),

  Einsum: einsum,

  HannWindow: window((a) => 0.5 - 0.5 * Math.cos(a)),
  HammingWindow: window((a) => 25 / 46 - (21 / 46) * Math.cos(a)),
  BlackmanWindow: window((a) => 0.42 - 0.5 * Math.cos(a) + 0.08 * Math.cos(2 * a)),
};
