/**
 * Reference kernels of the sequence-model ops (../ops/sequence.ts): recurrent
 * layers, attention, losses, quantization and signal processing, as direct loops
 * in float64. The shape rules resolved every default (activations with their
 * alpha/beta, head counts, scale, axes, value inputs), so kernels read explicit
 * attributes. Integer-valued data read by kernels (sequence_lens, position_ids,
 * loss targets) out of range throws a RangeError.
 *
 * Quantized products reuse the MatMul and Conv reference kernels on the
 * zero-point-shifted operands.
 */
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16, isFloat, isNarrow, type DType } from '../dtype.js';
import { decodeNarrow, encodeNarrow, intNarrowRange } from '../narrow.js';
import type { AttrValue } from '../ops/schema.js';
import { roundHalfEven } from './elementwise.js';
import { nnRef } from './nn.js';
import type { RefKernel, RefTensor } from './types.js';
import { axisSplit, sizeOf, strides } from './util.js';

type Attrs = Readonly<Record<string, AttrValue>>;

// ---------------------------------------------------------------- recurrent layers

const sigmoid = (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
const softplus = (x: number) => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)));

/** The activation functions by canonical name (see RNN_ACTIVATIONS for which read alpha and beta). */
const ACTIVATIONS: Record<string, (x: number, a: number, b: number) => number> = {
  Relu: (x) => Math.max(0, x),
  Tanh: Math.tanh,
  Sigmoid: sigmoid,
  Affine: (x, a, b) => a * x + b,
  LeakyRelu: (x, a) => (x >= 0 ? x : a * x),
  ThresholdedRelu: (x, a) => (x > a ? x : 0),
  ScaledTanh: (x, a, b) => a * Math.tanh(b * x),
  HardSigmoid: (x, a, b) => Math.max(0, Math.min(1, a * x + b)),
  Elu: (x, a) => (x >= 0 ? x : a * (Math.exp(x) - 1)),
  Softsign: (x) => x / (1 + Math.abs(x)),
  Softplus: softplus,
};

/**
 * One time step of a cell for one batch entry. `pre(g, j)` is the gate's input
 * part x W^T + Wb (+ Rb where the cell adds it unconditionally), `rec(g, j, h)`
 * the recurrent part h R^T for a given state row; h and c are updated in place.
 */
type Step = (pre: (g: number, j: number) => number, rec: (g: number, j: number, h: ArrayLike<number>) => number, h: Float64Array, c: Float64Array) => void;

/**
 * RNN, GRU and LSTM: every direction and batch entry runs its own recurrence over
 * its sequence_lens[b] steps (reverse: from the last valid step back); Y is 0 past
 * the length and the states keep their last value.
 */
function recurrent(kind: 'RNN' | 'GRU' | 'LSTM'): RefKernel {
  const gates = { RNN: 1, GRU: 3, LSTM: 4 }[kind];
  return (inputs, attrs, outs) => {
    const [x, w, r, bias, lens, h0, c0, peep] = inputs;
    const layout = attrs.layout as number;
    const H = attrs.hidden_size as number;
    const dirs = attrs.direction === 'bidirectional' ? 2 : 1;
    const [seq, batch, input] = layout ? [x!.shape[1]!, x!.shape[0]!, x!.shape[2]!] : (x!.shape as [number, number, number]);
    const names = attrs.activations as string[];
    const per = names.length / dirs;
    const clip = attrs.clip as number | undefined;
    const cl = (v: number) => (clip === undefined ? v : Math.max(-clip, Math.min(clip, v)));
    const y = new Float64Array(sizeOf(outs[0]!.shape));
    const yh = new Float64Array(dirs * batch * H);
    const yc = new Float64Array(dirs * batch * H);
    const xAt = (t: number, b: number) => (layout ? b * seq + t : t * batch + b) * input;
    const yAt = (t: number, d: number, b: number) => (layout ? (b * seq + t) * dirs + d : (t * dirs + d) * batch + b) * H;
    const stAt = (d: number, b: number) => (layout ? b * dirs + d : d * batch + b) * H;
    const G = gates * H;
    for (let d = 0; d < dirs; d++) {
      const reverse = attrs.direction === 'reverse' || d === 1;
      const act = Array.from({ length: per }, (_, k) => {
        const i = d * per + k;
        const f = ACTIVATIONS[names[i]!]!;
        const [a, b] = [(attrs.activation_alpha as number[])[i]!, (attrs.activation_beta as number[])[i]!];
        return (v: number) => f(cl(v), a, b);
      });
      const wb = (g: number, j: number) => (bias ? bias.data[d * 2 * G + g * H + j]! : 0);
      const rb = (g: number, j: number) => (bias ? bias.data[d * 2 * G + G + g * H + j]! : 0);
      const step: Step = {
        RNN: ((pre, rec, h) => {
          const next = Array.from({ length: H }, (_, j) => act[0]!(pre(0, j) + rb(0, j) + rec(0, j, h)));
          h.set(next);
        }) as Step,
        // Gates z, r, h. linear_before_reset: r * (h R_h^T + Rb_h) instead of (r * h) R_h^T + Rb_h.
        GRU: ((pre, rec, h) => {
          const z = Array.from({ length: H }, (_, j) => act[0]!(pre(0, j) + rb(0, j) + rec(0, j, h)));
          const rs = Array.from({ length: H }, (_, j) => act[0]!(pre(1, j) + rb(1, j) + rec(1, j, h)));
          const rh = Array.from({ length: H }, (_, j) => rs[j]! * h[j]!);
          const cand = Array.from({ length: H }, (_, j) =>
            act[1]!(pre(2, j) + (attrs.linear_before_reset ? rs[j]! * (rec(2, j, h) + rb(2, j)) : rec(2, j, rh) + rb(2, j))),
          );
          for (let j = 0; j < H; j++) h[j] = (1 - z[j]!) * cand[j]! + z[j]! * h[j]!;
        }) as Step,
        // Gates i, o, f, c; peepholes P = [Pi, Po, Pf]; input_forget couples f = 1 - i.
        LSTM: ((pre, rec, h, c) => {
          const p = (k: number, j: number) => (peep ? peep.data[d * 3 * H + k * H + j]! : 0);
          const g = (k: number, j: number) => pre(k, j) + rb(k, j) + rec(k, j, h);
          const i = Array.from({ length: H }, (_, j) => act[0]!(g(0, j) + p(0, j) * c[j]!));
          const f = Array.from({ length: H }, (_, j) => (attrs.input_forget ? 1 - i[j]! : act[0]!(g(2, j) + p(2, j) * c[j]!)));
          const cand = Array.from({ length: H }, (_, j) => act[1]!(g(3, j)));
          for (let j = 0; j < H; j++) c[j] = f[j]! * c[j]! + i[j]! * cand[j]!;
          const o = Array.from({ length: H }, (_, j) => act[0]!(g(1, j) + p(1, j) * c[j]!));
          for (let j = 0; j < H; j++) h[j] = o[j]! * act[2]!(c[j]!);
        }) as Step,
      }[kind];
      for (let b = 0; b < batch; b++) {
        const len = lens ? lens.data[b]! : seq;
        if (!(len >= 0 && len <= seq)) throw new RangeError(`${kind}: sequence_lens[${b}] = ${len} is out of range [0, ${seq}]`);
        const h = new Float64Array(H);
        const c = new Float64Array(H);
        for (let j = 0; j < H; j++) [h[j], c[j]] = [h0 ? h0.data[stAt(d, b) + j]! : 0, c0 ? c0.data[stAt(d, b) + j]! : 0];
        for (let s = 0; s < len; s++) {
          const t = reverse ? len - 1 - s : s;
          const xr = xAt(t, b);
          const pre = (g: number, j: number) => {
            let sum = wb(g, j);
            for (let k = 0; k < input; k++) sum += x!.data[xr + k]! * w!.data[(d * G + g * H + j) * input + k]!;
            return sum;
          };
          const rec = (g: number, j: number, hs: ArrayLike<number>) => {
            let sum = 0;
            for (let k = 0; k < H; k++) sum += hs[k]! * r!.data[(d * G + g * H + j) * H + k]!;
            return sum;
          };
          step(pre, rec, h, c);
          y.set(h, yAt(t, d, b));
        }
        yh.set(h, stAt(d, b));
        yc.set(c, stAt(d, b));
      }
    }
    return [y, yh, yc].slice(0, outs.length);
  };
}

// ---------------------------------------------------------------- attention

/**
 * Per batch b, query head h (kv head h / (q_heads / kv_heads)) and query row i:
 * scores s_j = scale * q.k_j over the keys of [past_key; K], softcapped
 * (cap * tanh(s / cap)) when softcap > 0, plus the bias (the mask's value; keys
 * past the mask's width, causal j > i + offset and keys past
 * nonpad_kv_seqlen[b] give -inf), softmax, then Y = sum_j p_j v_j. The causal
 * offset is the past length, or nonpad_kv_seqlen[b] - q_seq without a past.
 * qk_matmul_output holds the capped scores (modes 0, 1), scores plus bias (2)
 * or the softmax (3).
 */
const attention: RefKernel = ([q, k, v, mask, pk, pv, nonpad], attrs, outs) => {
  const four = q!.shape.length === 4;
  const [Hq, Hkv] = [attrs.q_num_heads as number, attrs.kv_num_heads as number];
  const B = q!.shape[0]!;
  const [Sq, Skv] = four ? [q!.shape[2]!, k!.shape[2]!] : [q!.shape[1]!, k!.shape[1]!];
  const D = four ? q!.shape[3]! : q!.shape[2]! / Hq;
  const Dv = four ? v!.shape[3]! : v!.shape[2]! / Hkv;
  const P = pk ? pk.shape[2]! : 0;
  const T = P + Skv;
  // Element e of row i of head h of a 4-D tensor or of its 3-D [batch, seq, heads * size] form.
  const at = (b: number, h: number, i: number, e: number, heads: number, seq: number, size: number) =>
    four ? ((b * heads + h) * seq + i) * size + e : ((b * seq + i) * heads + h) * size + e;
  const key = (b: number, h: number, j: number, e: number) => (j < P ? pk!.data[((b * Hkv + h) * P + j) * D + e]! : k!.data[at(b, h, j - P, e, Hkv, Skv, D)]!);
  const val = (b: number, h: number, j: number, e: number) => (j < P ? pv!.data[((b * Hkv + h) * P + j) * Dv + e]! : v!.data[at(b, h, j - P, e, Hkv, Skv, Dv)]!);
  const scale = attrs.scale as number;
  const cap = attrs.softcap as number;
  const mode = attrs.qk_matmul_output_mode as number;
  const ms = mask?.shape ?? [];
  const width = ms[ms.length - 1] ?? T;
  const mStr = strides(ms);
  const maskAt = (b: number, h: number, i: number, j: number) => {
    const idx = [b, h, i];
    let off = j;
    for (let a = 0; a < ms.length - 1; a++) if (ms[a] !== 1) off += idx[3 - (ms.length - 1) + a]! * mStr[a]!;
    return off;
  };
  const y = new Float64Array(sizeOf(outs[0]!.shape));
  const qk = new Float64Array(B * Hq * Sq * T);
  for (let b = 0; b < B; b++) {
    const valid = nonpad ? nonpad.data[b]! : T;
    const offset = pk || !nonpad ? P : valid - Sq;
    for (let h = 0; h < Hq; h++) {
      const hk = Math.floor(h / (Hq / Hkv));
      for (let i = 0; i < Sq; i++) {
        const z = new Float64Array(T);
        const row = ((b * Hq + h) * Sq + i) * T;
        for (let j = 0; j < T; j++) {
          let s = 0;
          for (let e = 0; e < D; e++) s += q!.data[at(b, h, i, e, Hq, Sq, D)]! * key(b, hk, j, e);
          s *= scale;
          if (cap > 0) s = cap * Math.tanh(s / cap);
          let bias = 0;
          if (mask) {
            const m = j < width ? mask.data[maskAt(b, h, i, j)]! : 0;
            bias = mask.dtype === 'bool' ? (m ? 0 : -Infinity) : j < width ? m : -Infinity;
          }
          if ((attrs.is_causal && j > i + offset) || j >= valid) bias = -Infinity;
          z[j] = s + bias;
          qk[row + j] = mode === 2 ? z[j]! : s;
        }
        const max = z.reduce((m, t) => Math.max(m, t), -Infinity);
        const e = z.map((t) => Math.exp(t - max));
        const sum = e.reduce((a, t) => a + t, 0);
        for (let j = 0; j < T; j++) {
          e[j] = e[j]! / sum;
          if (mode === 3) qk[row + j] = e[j]!;
        }
        for (let o = 0; o < Dv; o++) {
          let acc = 0;
          for (let j = 0; j < T; j++) acc += e[j]! * val(b, hk, j, o);
          y[at(b, h, i, o, Hq, Sq, Dv)] = acc;
        }
      }
    }
  }
  const present = (d: number, get: (b: number, h: number, j: number, e: number) => number) =>
    Float64Array.from({ length: B * Hkv * T * d }, (_, n) => get(Math.floor(n / (Hkv * T * d)), Math.floor(n / (T * d)) % Hkv, Math.floor(n / d) % T, n % d));
  return [y, present(D, key), present(Dv, val), qk].slice(0, outs.length);
};

/**
 * Rotates feature pairs of each head's first rotary_embedding_dim features:
 * (x1, x2) -> (x1 cos - x2 sin, x1 sin + x2 cos), pairs (j, j + dim/2), or
 * (2j, 2j + 1) when interleaved; angles from the caches at position_ids[b, s]
 * (or the caches' own [b, s] rows without position_ids).
 */
const rotary: RefKernel = ([x, cos, sin, ids], attrs) => {
  const four = x!.shape.length === 4;
  const D = attrs.head_size as number;
  const rot = attrs.rotary_embedding_dim as number;
  const half = rot / 2;
  const [B, H, S] = four ? [x!.shape[0]!, x!.shape[1]!, x!.shape[2]!] : [x!.shape[0]!, x!.shape[2]! / D, x!.shape[1]!];
  const out = Float64Array.from(x!.data);
  for (let b = 0; b < B; b++)
    for (let s = 0; s < S; s++) {
      let row = b * S + s;
      if (ids) {
        row = ids.data[b * S + s]!;
        if (!(row >= 0 && row < cos!.shape[0]!)) throw new RangeError(`RotaryEmbedding: position_ids value ${row} is out of range [0, ${cos!.shape[0]})`);
      }
      for (let h = 0; h < H; h++) {
        const base = four ? ((b * H + h) * S + s) * D : ((b * S + s) * H + h) * D;
        for (let j = 0; j < half; j++) {
          const [c, sn] = [cos!.data[row * half + j]!, sin!.data[row * half + j]!];
          const [i1, i2] = attrs.interleaved ? [base + 2 * j, base + 2 * j + 1] : [base + j, base + j + half];
          const [x1, x2] = [x!.data[i1]!, x!.data[i2]!];
          out[i1] = x1 * c - x2 * sn;
          out[i2] = x1 * sn + x2 * c;
        }
      }
    }
  return [out];
};

// ---------------------------------------------------------------- losses

/**
 * loss[n, d] = -logp[n, t, d] * w[t] for t = target[n, d] (0 where t is
 * ignore_index); 'sum' adds them, 'mean' divides the sum by the sum of the
 * weights of the entries not ignored.
 */
function nll(logp: RefTensor, target: RefTensor, weight: RefTensor | null, attrs: Attrs, op: string): Float64Array {
  const [N, C] = [logp.shape[0]!, logp.shape[1]!];
  const D = sizeOf(logp.shape.slice(2));
  const loss = new Float64Array(N * D);
  let wsum = 0;
  for (let n = 0; n < N; n++)
    for (let d = 0; d < D; d++) {
      const t = target.data[n * D + d]!;
      if (t === attrs.ignore_index) continue;
      if (!(t >= 0 && t < C)) throw new RangeError(`${op}: target ${t} is out of range [0, ${C})`);
      const wt = weight ? weight.data[t]! : 1;
      loss[n * D + d] = -logp.data[(n * C + t) * D + d]! * wt;
      wsum += wt;
    }
  if (attrs.reduction === 'none') return loss;
  const sum = loss.reduce((a, v) => a + v, 0);
  return Float64Array.of(attrs.reduction === 'mean' ? sum / wsum : sum);
}

// ---------------------------------------------------------------- quantization

/** A float64 value rounded to dtype d's precision (float32 or a 16-bit float). */
function roundTo(d: DType, v: number): number {
  if (d === 'float16') return f16ToF32(f32ToF16(v));
  if (d === 'bfloat16') return bf16ToF32(f32ToBf16(v));
  return Math.fround(v);
}

const RANGE: Partial<Record<DType, [number, number]>> = {
  int8: [-128, 127], uint8: [0, 255], int16: [-32768, 32767], uint16: [0, 65535],
  int4: intNarrowRange('int4'), uint4: intNarrowRange('uint4'), int2: intNarrowRange('int2'), uint2: intNarrowRange('uint2'),
};
const saturate = (d: DType, v: number) => Math.min(RANGE[d]![1], Math.max(RANGE[d]![0], v));

/**
 * For every element of x, the index of its scale and zero point: 0 per tensor,
 * the index along `axis` per axis, the element's block otherwise.
 */
function paramIndex(x: RefTensor, scale: RefTensor, attrs: Attrs): Int32Array {
  const n = sizeOf(x.shape);
  const block = attrs.block_size as number;
  if (sizeOf(scale.shape) === 1 && block === 0) return new Int32Array(n);
  const [, len, inner] = axisSplit(x.shape, attrs.axis as number);
  if (block === 0) return Int32Array.from({ length: n }, (_, i) => Math.floor(i / inner) % len);
  const blocks = Math.ceil(len / block);
  return Int32Array.from({ length: n }, (_, i) => {
    const [o, a, r] = [Math.floor(i / (len * inner)), Math.floor(i / inner) % len, i % inner];
    return (o * blocks + Math.floor(a / block)) * inner + r;
  });
}

/**
 * y = saturate(round_half_even(x / scale) + zp), the division rounded to
 * `precision`; a float y is Cast(float32(x / scale + zp)) with attrs.saturate.
 */
function quantize(x: RefTensor, scale: RefTensor, zp: RefTensor | null, attrs: Attrs, out: DType, precision: DType): number[] {
  const idx = paramIndex(x, scale, attrs);
  return Array.from(x.data, (v, i) => {
    const q = roundTo(precision, roundTo(precision, v) / roundTo(precision, scale.data[idx[i]!]!));
    const z = zp ? zp.data[idx[i]!]! : 0;
    if (isNarrow(out) && isFloat(out)) return decodeNarrow(out, encodeNarrow(out, Math.fround(q + z), { saturate: attrs.saturate !== 0 }));
    return saturate(out, roundHalfEven(q) + z);
  });
}

/** t with `zp` subtracted; zp has one element or one per index along `axis` of t. */
function shifted(t: RefTensor, zp: RefTensor | null | undefined, axis: number): RefTensor {
  if (!zp) return t;
  const [, len, inner] = axisSplit(t.shape, axis);
  const per = sizeOf(zp.shape) !== 1;
  return { ...t, dtype: 'float64', data: Array.from(t.data, (v, i) => v - zp.data[per ? Math.floor(i / inner) % len : 0]!) };
}

/** Multiplies then requantizes an integer accumulator: saturate(round_half_even(acc * multiplier[c]) + zp). */
function requantize(acc: ArrayLike<number>, multiplier: (i: number) => number, zp: RefTensor, out: DType): number[] {
  return Array.from(acc, (v, i) => saturate(out, roundHalfEven(v * multiplier(i) + zp.data[0]!)));
}

// ---------------------------------------------------------------- signal

/** e^{sign 2 pi i k / n} as [cos, sin], with k reduced mod n first for accuracy. */
const twiddle = (k: number, n: number, sign: number): [number, number] => {
  const a = (sign * 2 * Math.PI * (k % n)) / n;
  return [Math.cos(a), Math.sin(a)];
};

/**
 * DFT of one lane: `get(k)` returns input element k as [re, im] (zero past the
 * input); writes `count` output bins through `set`. Forward: X_f = sum_k x_k
 * e^{-2 pi i f k / n}; inverse: x_k = 1/n sum_f X_f e^{2 pi i f k / n}.
 */
function dftLane(get: (k: number) => [number, number], n: number, count: number, inverse: boolean, set: (f: number, re: number, im: number) => void): void {
  for (let f = 0; f < count; f++) {
    let [re, im] = [0, 0];
    for (let k = 0; k < n; k++) {
      const [xr, xi] = get(k);
      const [c, s] = twiddle(f * k, n, inverse ? 1 : -1);
      re += xr * c - xi * s;
      im += xr * s + xi * c;
    }
    set(f, inverse ? re / n : re, inverse ? im / n : im);
  }
}

const dft: RefKernel = ([x], attrs, [o]) => {
  const axis = attrs.axis as number;
  const n = attrs.dft_length as number;
  const [inverse, onesided] = [attrs.inverse === 1, attrs.onesided === 1];
  const r = x!.shape.length;
  const comps = x!.shape[r - 1]!;
  const [outer, len, inner] = axisSplit(x!.shape.slice(0, -1), axis);
  const outLen = o!.shape[axis]!;
  const oc = o!.shape[r - 1]!;
  const out = new Float64Array(sizeOf(o!.shape));
  for (let a = 0; a < outer; a++)
    for (let i = 0; i < inner; i++) {
      const at = (k: number) => ((a * len + k) * inner + i) * comps;
      const get = (k: number): [number, number] => (k < len ? [x!.data[at(k)]!, comps === 2 ? x!.data[at(k) + 1]! : 0] : [0, 0]);
      const put = (k: number) => ((a * outLen + k) * inner + i) * oc;
      if (inverse && onesided) {
        // Complex-to-real: the bins f <= n/2 stand for the Hermitian spectrum; conjugate pairs
        // contribute twice, bin 0 (and n/2 for even n) once, and only their real parts count.
        for (let k = 0; k < n; k++) {
          let s = 0;
          for (let f = 0; f <= Math.floor(n / 2); f++) {
            const [xr, xi] = get(f);
            const [c, sn] = twiddle(f * k, n, 1);
            s += (f === 0 || 2 * f === n ? 1 : 2) * (xr * c - xi * sn);
          }
          out[put(k)] = s / n;
        }
      } else dftLane(get, n, outLen, inverse, (f, re, im) => ([out[put(f)], out[put(f) + 1]] = [re, im]));
    }
  return [out];
};

/** Frame t of batch b is signal[b, t * frame_step + k] * window[k], k < frame_length, transformed like DFT. */
const stft: RefKernel = ([x, , win], attrs, [o]) => {
  const [B, L, comps] = x!.shape as [number, number, number];
  const [step, n] = [attrs.frame_step as number, attrs.frame_length as number];
  const [frames, bins] = [o!.shape[1]!, o!.shape[2]!];
  const out = new Float64Array(sizeOf(o!.shape));
  for (let b = 0; b < B; b++)
    for (let t = 0; t < frames; t++) {
      const get = (k: number): [number, number] => {
        const at = (b * L + t * step + k) * comps;
        const wk = win ? win.data[k]! : 1;
        return [x!.data[at]! * wk, comps === 2 ? x!.data[at + 1]! * wk : 0];
      };
      dftLane(get, n, bins, false, (f, re, im) => ([out[((b * frames + t) * bins + f) * 2], out[((b * frames + t) * bins + f) * 2 + 1]] = [re, im]));
    }
  return [out];
};

/**
 * Triangular filters between num_mel_bins + 2 points evenly spaced on the mel
 * scale (mel = 2595 log10(1 + hz / 700)) from lower to upper edge, each mapped to
 * spectrogram bin floor((dft_length + 1) * hz / sample_rate). Filter i rises from
 * 0 at point i to 1 at point i + 1 and falls to 0 at point i + 2.
 */
const melWeightMatrix: RefKernel = (_, attrs, [o]) => {
  const [bins, dftLen, rate] = [attrs.num_mel_bins as number, attrs.dft_length as number, attrs.sample_rate as number];
  const rows = o!.shape[0]!;
  const mel = (hz: number) => 2595 * Math.log10(1 + hz / 700);
  const [lo, hi] = [mel(attrs.lower_edge_hertz as number), mel(attrs.upper_edge_hertz as number)];
  const step = (hi - lo) / (bins + 2);
  const point = Array.from({ length: bins + 2 }, (_, i) => Math.floor(((dftLen + 1) * (700 * (10 ** ((i * step + lo) / 2595) - 1))) / rate));
  const out = new Float64Array(rows * bins);
  const set = (j: number, i: number, v: number) => {
    if (j >= 0 && j < rows) out[j * bins + i] = v;
  };
  for (let i = 0; i < bins; i++) {
    const [l, c, r] = [point[i]!, point[i + 1]!, point[i + 2]!];
    if (c === l) set(c, i, 1);
    else for (let j = l; j <= c; j++) set(j, i, (j - l) / (c - l));
    for (let j = c; j < r; j++) set(j, i, (r - j) / (r - c));
  }
  return [out];
};

// ---------------------------------------------------------------- linear attention

/** y[b,c,t] = act(bias[c] + sum_j w[c,j] * seq[t + j]) over seq = [past_state (or zeros), x]; present = seq's last K - 1. */
const causalConvWithState: RefKernel = ([x, w, bias, past], a, outs) => {
  const [b, c, l] = x!.shape as [number, number, number];
  const k = w!.shape[2]!;
  const silu = a.activation !== 'none';
  const y = new Float64Array(b * c * l);
  const present = new Float64Array(b * c * (k - 1));
  for (let bc = 0; bc < b * c; bc++) {
    const ch = bc % c;
    const seq = [...(past ? Array.from(past.data).slice(bc * (k - 1), (bc + 1) * (k - 1)) : new Array<number>(k - 1).fill(0)), ...Array.from(x!.data).slice(bc * l, (bc + 1) * l)];
    for (let t = 0; t < l; t++) {
      let s = bias ? bias.data[ch]! : 0;
      for (let j = 0; j < k; j++) s += w!.data[ch * k + j]! * seq[t + j]!;
      y[bc * l + t] = silu ? s * sigmoid(s) : s;
    }
    present.set(seq.slice(l), bc * (k - 1));
  }
  return outs.length > 1 ? [y, present] : [y];
};

/**
 * Per batch entry and key/value head, the state S [dk, dv] runs over the steps:
 * decayed by exp(g) (per row or per head), then S += k (v - S^T k)^T * beta for
 * the delta rules, S += k v^T otherwise; each query head of the group reads
 * o = scale * S^T q.
 */
const linearAttention: RefKernel = ([q, k, v, past, decay, beta], a, outs) => {
  const [b, t] = q!.shape as [number, number];
  const [hq, hkv, scale] = [a.q_num_heads as number, a.kv_num_heads as number, a.scale as number];
  const dk = q!.shape[2]! / hq;
  const dv = v!.shape[2]! / hkv;
  const group = hq / hkv;
  const delta = (a.update_rule as string).endsWith('delta');
  const out = new Float64Array(b * t * hq * dv);
  const state = new Float64Array(b * hkv * dk * dv);
  if (past) state.set(past.data);
  for (let bi = 0; bi < b; bi++)
    for (let h = 0; h < hkv; h++) {
      const S = state.subarray((bi * hkv + h) * dk * dv, (bi * hkv + h + 1) * dk * dv);
      for (let s = 0; s < t; s++) {
        const row = bi * t + s;
        const kv = (i: number) => k!.data[(row * hkv + h) * dk + i]!;
        if (decay)
          for (let i = 0; i < dk; i++) {
            const g = a.decay_per_row ? decay.data[(row * hkv + h) * dk + i]! : decay.data[row * hkv + h]!;
            for (let j = 0; j < dv; j++) S[i * dv + j]! *= Math.exp(g);
          }
        const bt = beta ? beta.data[a.beta_per_head ? row * hkv + h : row]! : 1;
        for (let j = 0; j < dv; j++) {
          let u = v!.data[(row * hkv + h) * dv + j]!;
          if (delta) {
            let r = 0;
            for (let i = 0; i < dk; i++) r += S[i * dv + j]! * kv(i);
            u = bt * (u - r);
          }
          for (let i = 0; i < dk; i++) S[i * dv + j]! += kv(i) * u;
        }
        for (let g = 0; g < group; g++) {
          const qh = h * group + g;
          for (let j = 0; j < dv; j++) {
            let o = 0;
            for (let i = 0; i < dk; i++) o += q!.data[(row * hq + qh) * dk + i]! * S[i * dv + j]!;
            out[(row * hq + qh) * dv + j] = scale * o;
          }
        }
      }
    }
  return outs.length > 1 ? [out, state] : [out];
};

export const sequenceRef: Record<string, RefKernel> = {
  CausalConvWithState: causalConvWithState,
  LinearAttention: linearAttention,
  RNN: recurrent('RNN'),
  GRU: recurrent('GRU'),
  LSTM: recurrent('LSTM'),
  Attention: attention,
  RotaryEmbedding: rotary,

  NegativeLogLikelihoodLoss: ([x, t, w], attrs) => [nll(x!, t!, w ?? null, attrs, 'NegativeLogLikelihoodLoss')],
  SoftmaxCrossEntropyLoss: ([x, t, w], attrs, outs) => {
    const logp = nnRef.LogSoftmax!([x], { axis: 1 }, [{ shape: [...x!.shape], dtype: x!.dtype }])[0]!;
    const loss = nll({ ...x!, data: logp }, t!, w ?? null, attrs, 'SoftmaxCrossEntropyLoss');
    return [loss, logp].slice(0, outs.length);
  },

  QuantizeLinear: ([x, s, zp], attrs, [o]) => [quantize(x!, s!, zp ?? null, attrs, o!.dtype, attrs.precision as DType)],
  DequantizeLinear: ([x, s, zp], attrs) => {
    const idx = paramIndex(x!, s!, attrs);
    return [Array.from(x!.data, (v, i) => (v - (zp ? zp.data[idx[i]!]! : 0)) * s!.data[idx[i]!]!)];
  },
  // float32 arithmetic as in ONNX's function body; an all-zero range uses scale 1.
  DynamicQuantizeLinear: ([x]) => {
    let [lo, hi] = [0, 0];
    for (const v of Array.from(x!.data)) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
    const scale = hi === lo ? 1 : Math.fround(Math.fround(hi - lo) / 255);
    const zp = roundHalfEven(Math.min(255, Math.max(0, Math.fround(0 - Math.fround(lo / scale)))));
    const s: RefTensor = { shape: [], dtype: 'float32', data: [scale] };
    const z: RefTensor = { shape: [], dtype: 'uint8', data: [zp] };
    return [quantize(x!, s, z, { block_size: 0 }, 'uint8', 'float32'), [scale], [zp]];
  },

  // Zero points: A's per row (axis rank-2), B's per column (axis rank-1).
  MatMulInteger: ([a, b, azp, bzp], attrs, outs) => {
    const ra = a!.shape.length;
    const rb = b!.shape.length;
    return nnRef.MatMul!([shifted(a!, azp, Math.max(0, ra - 2)), shifted(b!, bzp, rb - 1)], attrs, outs);
  },
  QLinearMatMul: ([a, as, azp, b, bs, bzp, ys, yzp], attrs, [o]) => {
    const acc = nnRef.MatMul!([shifted(a!, azp, 0), shifted(b!, bzp, b!.shape.length - 1)], attrs, [o!])[0]!;
    // The multiplier a_scale * b_scale / y_scale is computed in the scales' precision; per column of b.
    const n = o!.shape[o!.shape.length - 1] ?? 1;
    const m = (c: number) => roundTo(as!.dtype, roundTo(as!.dtype, as!.data[0]! * bs!.data[bs!.data.length === 1 ? 0 : c]!) / ys!.data[0]!);
    const cols = b!.shape.length === 1 ? 1 : n;
    return [requantize(acc, (i) => m(i % cols), yzp!, o!.dtype)];
  },
  ConvInteger: ([x, w, xzp, wzp], attrs, outs) => nnRef.Conv!([shifted(x!, xzp, 0), shifted(w!, wzp, 0), null], attrs, outs),
  QLinearConv: ([x, xs, xzp, w, ws, wzp, ys, yzp, bias], attrs, [o]) => {
    const acc = nnRef.Conv!([shifted(x!, xzp, 0), shifted(w!, wzp, 0), bias ?? null], attrs, [o!])[0]!;
    const [, m, plane] = axisSplit(o!.shape, 1);
    const mult = (c: number) => Math.fround(Math.fround(xs!.data[0]! * ws!.data[ws!.data.length === 1 ? 0 : c]!) / ys!.data[0]!);
    return [requantize(acc, (i) => mult(Math.floor(i / plane) % m), yzp!, o!.dtype)];
  },

  DFT: dft,
  STFT: stft,
  MelWeightMatrix: melWeightMatrix,
};

