/**
 * Reference kernels of the nn ops: direct loops in float64. Window ops read the
 * explicit kernel_shape/strides/dilations/pads that the shape rules in
 * ../ops/nn.ts resolved (auto_pad already applied).
 */
import type { AttrValue } from '../ops/schema.js';
import type { RefKernel, RefTensor } from './types.js';
import { broadcastIndex, sizeOf, strides, unravel } from './util.js';

// ---------------------------------------------------------------- sliding windows

/**
 * The taps of every output window over one N x C plane. Output position p, tap t:
 * input spatial position i = p * stride - pad_begin + t * dilation per axis.
 * `src` is the flat spatial offset of the tap in the input plane, -1 in padding;
 * `inPadded` says whether the tap lies within the padded extent (it may not when
 * ceil_mode lets the last window run past the end padding).
 */
interface Tap {
  src: number;
  inPadded: boolean;
}

function windows(xShape: readonly number[], outShape: readonly number[], attrs: Readonly<Record<string, AttrValue>>): Tap[][] {
  const inSp = xShape.slice(2);
  const outSp = outShape.slice(2);
  const n = inSp.length;
  const kernel = attrs.kernel_shape as number[];
  const stride = attrs.strides as number[];
  const dil = attrs.dilations as number[];
  const pads = attrs.pads as number[];
  const inStr = strides(inSp);
  const result: Tap[][] = [];
  for (let p = 0; p < sizeOf(outSp); p++) {
    const pos = unravel(p, outSp);
    const taps: Tap[] = [];
    for (let t = 0; t < sizeOf(kernel); t++) {
      const k = unravel(t, kernel);
      let src = 0;
      let inPadded = true;
      for (let a = 0; a < n; a++) {
        const i = pos[a]! * stride[a]! - pads[a]! + k[a]! * dil[a]!;
        if (i < -pads[a]! || i >= inSp[a]! + pads[a + n]!) inPadded = false;
        src = src < 0 || i < 0 || i >= inSp[a]! ? -1 : src + i * inStr[a]!;
      }
      taps.push({ src, inPadded });
    }
    result.push(taps);
  }
  return result;
}

/** Runs f(plane, p) for every N x C plane and output spatial position, writing the result. */
function perPlane(x: RefTensor, outShape: readonly number[], f: (plane: number, p: number) => number): Float64Array {
  const planes = x.shape[0]! * x.shape[1]!;
  const outSize = sizeOf(outShape.slice(2));
  const out = new Float64Array(planes * outSize);
  for (let c = 0; c < planes; c++) for (let p = 0; p < outSize; p++) out[c * outSize + p] = f(c, p);
  return out;
}

/** Flat offset within an input plane in column-major order (MaxPool storage_order=1). */
function columnMajor(src: number, spatial: readonly number[]): number {
  const idx = unravel(src, spatial);
  let off = 0;
  for (let a = spatial.length - 1; a >= 0; a--) off = off * spatial[a]! + idx[a]!;
  return off;
}

/** Splits a shape around `axis`: [outer, size of axis, inner]. */
function around(shape: readonly number[], axis: number): [number, number, number] {
  return [sizeOf(shape.slice(0, axis)), shape[axis]!, sizeOf(shape.slice(axis + 1))];
}

/**
 * f(v, lse) for every element, where lse = log(sum(exp)) of its lane along
 * `axis`, computed as max + log(sum(exp(v - max))) so large inputs do not overflow.
 */
function alongAxis(x: RefTensor, axis: number, f: (v: number, lse: number) => number): Float64Array {
  const [outer, n, inner] = around(x.shape, axis);
  const out = new Float64Array(sizeOf(x.shape));
  for (let o = 0; o < outer; o++)
    for (let i = 0; i < inner; i++) {
      const at = (j: number) => (o * n + j) * inner + i;
      let max = -Infinity;
      for (let j = 0; j < n; j++) max = Math.max(max, x.data[at(j)]!);
      let sum = 0;
      for (let j = 0; j < n; j++) sum += Math.exp(x.data[at(j)]! - max);
      const lse = max + Math.log(sum);
      for (let j = 0; j < n; j++) out[at(j)] = f(x.data[at(j)]!, lse);
    }
  return out;
}

export const nnRef: Record<string, RefKernel> = {
  MatMul: ([a, b], _, [o]) => {
    // 1-D operands: A [K] is [1,K], B [K] is [K,1]; the output drops those dims.
    const as = a!.shape.length === 1 ? [1, a!.shape[0]!] : a!.shape;
    const bs = b!.shape.length === 1 ? [b!.shape[0]!, 1] : b!.shape;
    const [m, k, n] = [as[as.length - 2]!, as[as.length - 1]!, bs[bs.length - 1]!];
    const batch = o!.shape.slice(0, o!.shape.length - (a!.shape.length === 1 ? 0 : 1) - (b!.shape.length === 1 ? 0 : 1));
    const aOf = broadcastIndex(batch, as.slice(0, -2));
    const bOf = broadcastIndex(batch, bs.slice(0, -2));
    const out = new Float64Array(sizeOf(o!.shape));
    for (let t = 0; t < aOf.length; t++)
      for (let i = 0; i < m; i++)
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let q = 0; q < k; q++) s += a!.data[aOf[t]! * m * k + i * k + q]! * b!.data[bOf[t]! * k * n + q * n + j]!;
          out[(t * m + i) * n + j] = s;
        }
    return [out];
  },

  Gemm: ([a, b, c], attrs, [o]) => {
    const [m, n] = o!.shape as [number, number];
    const k = attrs.transA ? a!.shape[0]! : a!.shape[1]!;
    const A = (i: number, q: number) => a!.data[attrs.transA ? q * m + i : i * k + q]!;
    const B = (q: number, j: number) => b!.data[attrs.transB ? j * k + q : q * n + j]!;
    const cOf = c ? broadcastIndex([m, n], c.shape) : undefined;
    const out = new Float64Array(m * n);
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let q = 0; q < k; q++) s += A(i, q) * B(q, j);
        out[i * n + j] = (attrs.alpha as number) * s + (c ? (attrs.beta as number) * c.data[cOf![i * n + j]!]! : 0);
      }
    return [out];
  },

  Conv: ([x, w, bias], attrs, [o]) => {
    const [batch, cIn] = [x!.shape[0]!, x!.shape[1]!];
    const m = w!.shape[0]!;
    const group = attrs.group as number;
    const cg = cIn / group;
    const mg = m / group;
    const inPlane = sizeOf(x!.shape.slice(2));
    const kSize = sizeOf(w!.shape.slice(2));
    const taps = windows(x!.shape, o!.shape, attrs);
    const outPlane = taps.length;
    const out = new Float64Array(batch * m * outPlane);
    for (let nb = 0; nb < batch; nb++)
      for (let oc = 0; oc < m; oc++) {
        const g = Math.floor(oc / mg);
        for (let p = 0; p < outPlane; p++) {
          let s = bias ? bias.data[oc]! : 0;
          for (let c = 0; c < cg; c++) {
            const xBase = (nb * cIn + g * cg + c) * inPlane;
            const wBase = (oc * cg + c) * kSize;
            taps[p]!.forEach((tap, t) => {
              if (tap.src >= 0) s += x!.data[xBase + tap.src]! * w!.data[wBase + t]!;
            });
          }
          out[(nb * m + oc) * outPlane + p] = s;
        }
      }
    return [out];
  },

  FusedConv: (inputs, attrs, outs) => {
    const [y] = nnRef.Conv!(inputs.slice(0, 3), attrs, outs) as Float64Array[];
    const z = inputs[3];
    const p = (attrs.activation_params as number[] | undefined) ?? [];
    const f = { Identity: (v: number) => v, Relu: (v: number) => Math.max(v, 0), LeakyRelu: (v: number) => (v < 0 ? p[0]! * v : v), Clip: (v: number) => Math.min(Math.max(v, p[0]!), p[1]!) }[attrs.activation as 'Relu'];
    return [y!.map((v, i) => f(z ? v + z.data[i]! : v))];
  },

  // Ties keep the first maximum in window order; Indices are flat positions in X
  // (plane offset + spatial offset, the latter column-major when storage_order=1).
  MaxPool: ([x], attrs, outs) => {
    const taps = windows(x!.shape, outs[0]!.shape, attrs);
    const spatial = x!.shape.slice(2);
    const inPlane = sizeOf(spatial);
    const argmax = (plane: number, p: number) => {
      let best = -Infinity;
      let at = -1;
      for (const { src } of taps[p]!) if (src >= 0 && x!.data[plane * inPlane + src]! > best) [best, at] = [x!.data[plane * inPlane + src]!, src];
      return [best, at] as const;
    };
    const y = perPlane(x!, outs[0]!.shape, (c, p) => argmax(c, p)[0]);
    if (outs.length < 2) return [y];
    const order = (src: number) => (attrs.storage_order === 1 ? columnMajor(src, spatial) : src);
    return [y, perPlane(x!, outs[0]!.shape, (c, p) => c * inPlane + order(argmax(c, p)[1]))];
  },

  AveragePool: ([x], attrs, [o]) => {
    const taps = windows(x!.shape, o!.shape, attrs);
    const inPlane = sizeOf(x!.shape.slice(2));
    return [
      perPlane(x!, o!.shape, (c, p) => {
        let s = 0;
        let count = 0;
        for (const { src, inPadded } of taps[p]!) {
          if (src >= 0) s += x!.data[c * inPlane + src]!;
          if (src >= 0 || (attrs.count_include_pad === 1 && inPadded)) count++;
        }
        return s / count;
      }),
    ];
  },

  GlobalAveragePool: ([x], _, [o]) => {
    const n = sizeOf(x!.shape.slice(2));
    return [perPlane(x!, o!.shape, (c) => Array.from({ length: n }, (_, i) => x!.data[c * n + i]!).reduce((s, v) => s + v, 0) / n)];
  },

  GlobalMaxPool: ([x], _, [o]) => {
    const n = sizeOf(x!.shape.slice(2));
    return [perPlane(x!, o!.shape, (c) => Array.from({ length: n }, (_, i) => x!.data[c * n + i]!).reduce((m, v) => Math.max(m, v), -Infinity))];
  },

  // training_mode=1: the statistics of X (population variance) normalize, and blend into the running ones.
  BatchNormalization: ([x, scale, b, mean, variance], { epsilon, training_mode, momentum }, outs) => {
    const [outer, ch, inner] = around(x!.shape, 1);
    const channel = (i: number) => Math.floor(i / inner) % ch;
    let [m, v] = [Array.from(mean!.data), Array.from(variance!.data)];
    if (training_mode) {
      const count = outer * inner;
      m = new Array<number>(ch).fill(0);
      v = new Array<number>(ch).fill(0);
      const xs = Array.from(x!.data);
      xs.forEach((val, i) => (m[channel(i)]! += val / count));
      xs.forEach((val, i) => (v[channel(i)]! += (val - m[channel(i)]!) ** 2 / count));
    }
    const out = new Float64Array(sizeOf(x!.shape));
    for (let i = 0; i < outer * ch * inner; i++) {
      const c = channel(i);
      out[i] = ((x!.data[i]! - m[c]!) / Math.sqrt(v[c]! + (epsilon as number))) * scale!.data[c]! + b!.data[c]!;
    }
    const mo = momentum as number;
    const running = [m.map((cur, c) => mean!.data[c]! * mo + cur * (1 - mo)), v.map((cur, c) => variance!.data[c]! * mo + cur * (1 - mo))];
    return [out, ...running.slice(0, outs.length - 1)];
  },

  // Population variance over the block X.shape[axis:]; Scale and B are read flat over that block.
  LayerNormalization: ([x, scale, b], { axis, epsilon }, outs) => {
    const a = axis as number;
    const rows = sizeOf(x!.shape.slice(0, a));
    const len = sizeOf(x!.shape.slice(a));
    const y = new Float64Array(rows * len);
    const means = new Float64Array(rows);
    const invs = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      const row = Array.from({ length: len }, (_, j) => x!.data[r * len + j]!);
      const mean = row.reduce((s, v) => s + v, 0) / len;
      const inv = 1 / Math.sqrt(row.reduce((s, v) => s + (v - mean) ** 2, 0) / len + (epsilon as number));
      row.forEach((v, j) => (y[r * len + j] = (v - mean) * inv * scale!.data[j]! + (b ? b.data[j]! : 0)));
      [means[r], invs[r]] = [mean, inv];
    }
    return [y, means, invs].slice(0, outs.length);
  },

  Softmax: ([x], { axis }) => [alongAxis(x!, axis as number, (v, lse) => Math.exp(v - lse))],
  LogSoftmax: ([x], { axis }) => [alongAxis(x!, axis as number, (v, lse) => v - lse)],
};
