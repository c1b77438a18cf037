import { describe, expect, it } from 'vitest';
import { sequenceCases } from '../src/conformance/cases/sequence.js';
import type { DType } from '../src/dtype.js';
import { sequenceOps } from '../src/ops/sequence.js';
import type { AttrValue, OpSchema } from '../src/ops/schema.js';
import { sequenceRef } from '../src/reference/sequence.js';
import { checkCases, expectClose, infer, instances, rejecter, run, t, type T } from './op-harness.js';

const OPS = sequenceOps as unknown as Record<string, OpSchema>;
const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const f32 = (shape: number[], data?: number[]) => t('float32', shape, data ?? new Array(size(shape)).fill(0));
const i64 = (shape: number[], data: number[]) => t('int64', shape, data);
const shapes = (op: string, inputs: (T | null)[], attrs: Record<string, AttrValue> = {}, n?: number) => infer(OPS[op]!, inputs, attrs, n).outputs.map((o) => o.shape);

/** The reference kernel with `n` outputs requested. */
function outputs(op: string, inputs: (T | null)[], attrs: Record<string, AttrValue> = {}, n?: number): number[][] {
  const r = infer(OPS[op]!, inputs, attrs, n);
  const defaults = Object.fromEntries(Object.entries(OPS[op]!.attrs ?? {}).flatMap(([k, a]) => (a.default === undefined ? [] : [[k, a.default]])));
  const kernelInputs = inputs.map((x, i) => (OPS[op]!.inputs[i]!.value ? null : x));
  return sequenceRef[op]!(kernelInputs, { ...defaults, ...attrs, ...r.attrs }, r.outputs).map((a) => Array.from(a));
}
const data = (op: string, inputs: (T | null)[], attrs: Record<string, AttrValue> = {}) => run(OPS[op]!, sequenceRef[op]!, inputs, attrs)[0]!;

const rejects = rejecter(OPS);

const close = expectClose;
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

describe('shape rules', () => {
  it('recurrent layers: Y and state shapes for both layouts and directions', () => {
    const w = [f32([2, 16, 3]), f32([2, 16, 4])];
    expect(shapes('LSTM', [f32([5, 3, 3]), ...w], { direction: 'bidirectional' }, 3)).toEqual([[5, 2, 3, 4], [2, 3, 4], [2, 3, 4]]);
    expect(shapes('LSTM', [f32([3, 5, 3]), ...w], { direction: 'bidirectional', layout: 1 }, 3)).toEqual([[3, 5, 2, 4], [3, 2, 4], [3, 2, 4]]);
    expect(shapes('GRU', [f32([5, 3, 3]), f32([1, 12, 3]), f32([1, 12, 4])])).toEqual([[5, 1, 3, 4]]);
    expect(shapes('RNN', [f32([5, 3, 3]), f32([1, 4, 3]), f32([1, 4, 4])], {}, 2)).toEqual([[5, 1, 3, 4], [1, 3, 4]]);
  });

  it('recurrent activations: canonical names, alpha and beta consumed in order by the functions that read them', () => {
    const gru = infer(OPS.GRU!, [f32([2, 1, 3]), f32([1, 6, 3]), f32([1, 6, 2])], { activations: ['hardsigmoid', 'TANH'], activation_alpha: [0.3] });
    expect(gru.attrs).toMatchObject({ hidden_size: 2, activations: ['HardSigmoid', 'Tanh'], activation_alpha: [0.3, 0], activation_beta: [0.5, 0] });
    const lstm = infer(OPS.LSTM!, [f32([2, 1, 3]), f32([1, 8, 3]), f32([1, 8, 2])], { activations: ['LeakyRelu', 'ScaledTanh', 'Elu'], activation_alpha: [0.1, 2] });
    expect(lstm.attrs).toMatchObject({ activation_alpha: [0.1, 2, 1], activation_beta: [0, 1, 0] });
    // Defaults per direction; one direction's list serves both.
    const bi = infer(OPS.GRU!, [f32([2, 1, 3]), f32([2, 6, 3]), f32([2, 6, 2])], { direction: 'bidirectional', activations: ['Relu', 'Softsign'] });
    expect(bi.attrs!.activations).toEqual(['Relu', 'Softsign', 'Relu', 'Softsign']);
    expect(infer(OPS.RNN!, [f32([2, 1, 3]), f32([2, 2, 3]), f32([2, 2, 2])], { direction: 'bidirectional' }).attrs!.activations).toEqual(['Tanh', 'Tanh']);
  });

  it('recurrent layers reject inconsistent weights and attributes', () => {
    const x = f32([2, 1, 3]);
    expect(rejects('LSTM', [x, f32([1, 8, 3]), f32([1, 8, 2])], { activations: ['Sigmoid', 'Gelu', 'Tanh'] })).toContain("unknown activation 'Gelu'");
    expect(rejects('LSTM', [x, f32([1, 8, 3]), f32([1, 8, 2])], { hidden_size: 3 })).toContain('hidden_size 3 differs from W [1,8,3]');
    expect(rejects('GRU', [x, f32([1, 6, 4]), f32([1, 6, 2])])).toContain('W must be [1, 3 * hidden_size, 3]');
    expect(rejects('RNN', [x, f32([1, 2, 3]), f32([1, 2, 2]), null, t('int32', [2], [1, 1])])).toContain('sequence_lens must have shape [1]');
    expect(rejects('RNN', [x, f32([1, 2, 3]), f32([1, 2, 2])], { clip: 0 })).toContain('clip must be positive');
    expect(rejects('RNN', [x, f32([1, 2, 3]), f32([1, 2, 2])], { direction: 'sideways' })).toContain('direction');
  });

  it('Attention: 3-D and 4-D layouts, grouped heads, cache and qk outputs', () => {
    expect(shapes('Attention', [f32([2, 4, 24]), f32([2, 6, 8]), f32([2, 6, 10])], { q_num_heads: 6, kv_num_heads: 2 })).toEqual([[2, 4, 30]]);
    const past = [f32([2, 6, 4, 8]), f32([2, 2, 3, 8]), f32([2, 2, 3, 5]), f32([4, 10]), f32([2, 2, 7, 8]), f32([2, 2, 7, 5])];
    expect(shapes('Attention', past, {}, 4)).toEqual([[2, 6, 4, 5], [2, 2, 10, 8], [2, 2, 10, 5], [2, 6, 4, 10]]);
    const r = infer(OPS.Attention!, past.slice(0, 3), {});
    expect(r.attrs).toMatchObject({ q_num_heads: 6, kv_num_heads: 2, scale: 1 / Math.sqrt(8) });
    expect(rejects('Attention', [...past.slice(0, 3), f32([4, 11])])).toContain('at most 3 (total sequence length) columns');
    expect(rejects('Attention', [f32([1, 3, 2, 4]), f32([1, 2, 2, 4]), f32([1, 2, 2, 4])])).toContain('q_num_heads 3 must be a multiple of kv_num_heads 2');
    expect(rejects('Attention', [f32([1, 2, 8]), f32([1, 2, 8]), f32([1, 2, 8])])).toContain('q_num_heads and kv_num_heads');
    expect(rejects('Attention', [...past.slice(0, 4), f32([2, 2, 7, 8])])).toContain('past_key and past_value must be given together');
  });

  it('QuantizeLinear: output dtype from the zero point, output_dtype, or uint8; granularity from the scale', () => {
    const x = f32([3, 4]);
    expect(infer(OPS.QuantizeLinear!, [x, f32([]), t('int8', [], [0])]).outputs[0]!.dtype).toBe('int8');
    expect(infer(OPS.QuantizeLinear!, [x, f32([])], { output_dtype: 'int16' }).outputs[0]!.dtype).toBe('int16');
    expect(infer(OPS.QuantizeLinear!, [x, f32([])]).outputs[0]!.dtype).toBe('uint8');
    expect(infer(OPS.QuantizeLinear!, [x, t('float16', [], [1])]).attrs).toMatchObject({ precision: 'float16' });
    expect(rejects('QuantizeLinear', [x, f32([]), t('int8', [], [0])], { output_dtype: 'uint8' })).toContain("output_dtype uint8 differs from y_zero_point's dtype int8");
    expect(infer(OPS.QuantizeLinear!, [f32([3, 5]), f32([3, 2])], { axis: 1, block_size: 3 }).attrs).toMatchObject({ axis: 1 });
    expect(rejects('QuantizeLinear', [f32([3, 5]), f32([3, 3])], { axis: 1, block_size: 3 })).toContain('blocked y_scale must have shape [3,2]');
    expect(rejects('DequantizeLinear', [t('uint8', [3, 4], new Array(12).fill(0)), f32([4])], { axis: 0 })).toContain('per-axis x_scale must be 1-D of length 3');
    expect(infer(OPS.DequantizeLinear!, [t('int32', [2], [0, 0]), t('bfloat16', [], [1])]).outputs[0]!.dtype).toBe('bfloat16');
  });

  it('DFT, STFT and MelWeightMatrix output shapes', () => {
    expect(shapes('DFT', [f32([2, 10, 1])], { onesided: 1 })).toEqual([[2, 6, 2]]);
    // Complex-to-real: n defaults to 2 * (bins - 1).
    expect(shapes('DFT', [f32([6, 3, 2]), null, i64([], [0])], { inverse: 1, onesided: 1 })).toEqual([[10, 3, 1]]);
    expect(shapes('DFT', [f32([5, 2]), i64([], [8])])).toEqual([[8, 2]]);
    expect(rejects('DFT', [f32([5, 2]), null, i64([], [-1])])).toContain('the last dim holds the complex parts');
    expect(shapes('STFT', [f32([2, 128, 1]), i64([], [8]), null, i64([], [16])])).toEqual([[2, 15, 9, 2]]);
    expect(shapes('STFT', [f32([1, 20, 2]), i64([], [4]), f32([6]), null], { onesided: 0 })).toEqual([[1, 4, 6, 2]]);
    const mel = [t('int32', [], [8]), t('int32', [], [16]), t('int32', [], [8192]), f32([], [0]), f32([], [4096])];
    expect(shapes('MelWeightMatrix', mel)).toEqual([[9, 8]]);
  });

  it('every op has a doc, a reference kernel and cases', () => {
    for (const [name, s] of Object.entries(OPS)) {
      expect(s.name).toBe(name);
      expect(s.doc, name).toBeTruthy();
      expect(sequenceRef[name], name).toBeTypeOf('function');
      expect(sequenceCases.some((c) => c.op === name && !c.throws), name).toBe(true);
      if (name !== 'DynamicQuantizeLinear') expect(sequenceCases.some((c) => c.op === name && c.throws), name).toBe(true);
    }
  });
});

describe('reference kernels', () => {
  // Hidden and input size 1: W = [[w]], R = [[r]], X = [seq, batch=1, 1].
  const scalarRnn = (x: number[], w: number, r: number) => [f32([x.length, 1, 1], x), f32([1, 1, 1], [w]), f32([1, 1, 1], [r])];

  it('RNN: h_t = f(w x_t + r h_{t-1}) with the chosen activation', () => {
    const [y, yh] = outputs('RNN', scalarRnn([1, -1], 2, 0.5), { activations: ['Relu'] }, 2);
    // h1 = relu(2) = 2, h2 = relu(-2 + 0.5 * 2) = 0
    expect(y).toEqual([2, 0]);
    expect(yh).toEqual([0]);
  });

  it('sequence_lens: Y is 0 past each length; reverse runs the valid prefix backwards', () => {
    // Affine(1, 0) is the identity: h_t = x_t + h_{t-1}, a running sum.
    const inputs = [f32([3, 2, 1], [1, 10, 2, 20, 3, 30]), f32([1, 1, 1], [1]), f32([1, 1, 1], [1]), null, t('int32', [2], [2, 3])];
    const id = { activations: ['Affine'], activation_alpha: [1], activation_beta: [0] };
    expect(outputs('RNN', inputs, id, 2)).toEqual([
      [1, 10, 3, 30, 0, 60],
      [3, 60],
    ]);
    expect(outputs('RNN', inputs, { ...id, direction: 'reverse' }, 2)).toEqual([
      [3, 60, 2, 50, 0, 30],
      [3, 60],
    ]);
  });

  it('LSTM: gates from the biases alone, with and without peepholes', () => {
    // Zero W and R: i = s(bi), o = s(bo), f = s(bf), c1 = s(bi) tanh(bc), h1 = s(bo) tanh(c1).
    const [bi, bo, bf, bc] = [0.5, -1, 2, 1.5];
    const inputs = [f32([1, 1, 1], [7]), f32([1, 4, 1]), f32([1, 4, 1]), f32([1, 8], [bi, bo, bf, bc, 0, 0, 0, 0])];
    const c1 = sigmoid(bi) * Math.tanh(bc);
    const [, h, c] = outputs('LSTM', inputs, {}, 3);
    close(h!, [sigmoid(bo) * Math.tanh(c1)]);
    close(c!, [c1]);
    // Peepholes with an initial cell c0: i and f see c0, o sees the new cell.
    const [c0, pi, po, pf] = [0.8, 0.3, -0.7, 0.2];
    const withP = [...inputs, null, null, f32([1, 1, 1], [c0]), f32([1, 3], [pi, po, pf])];
    const c2 = sigmoid(bf + pf * c0) * c0 + sigmoid(bi + pi * c0) * Math.tanh(bc);
    const [, h2, cc2] = outputs('LSTM', withP, {}, 3);
    close(cc2!, [c2]);
    close(h2!, [sigmoid(bo + po * c2) * Math.tanh(c2)]);
    // input_forget couples f = 1 - i.
    const [, , c3] = outputs('LSTM', withP, { input_forget: 1 }, 3);
    close(c3!, [(1 - sigmoid(bi + pi * c0)) * c0 + sigmoid(bi + pi * c0) * Math.tanh(bc)]);
  });

  it('GRU: linear_before_reset moves the recurrent bias inside the reset gate', () => {
    // Zero W: z = s(Rz h0 + bz), r = s(Rr h0 + br); candidate from Rh, Rbh.
    const [h0, rz, rr, rh, bz, br, wbh, rbh] = [0.6, 0.4, -0.3, 1.2, 0.1, 0.2, 0.3, -0.5];
    const inputs = [f32([1, 1, 1], [5]), f32([1, 3, 1]), f32([1, 3, 1], [rz, rr, rh]), f32([1, 6], [bz, br, wbh, 0, 0, rbh]), null, f32([1, 1, 1], [h0])];
    const z = sigmoid(rz * h0 + bz);
    const r = sigmoid(rr * h0 + br);
    const [, before] = outputs('GRU', inputs, {}, 2);
    close(before!, [(1 - z) * Math.tanh(wbh + rh * (r * h0) + rbh) + z * h0]);
    const [, after] = outputs('GRU', inputs, { linear_before_reset: 1 }, 2);
    close(after!, [(1 - z) * Math.tanh(wbh + r * (rh * h0 + rbh)) + z * h0]);
  });

  it('Attention: softmax-weighted values, causal rows, grouped heads sharing a kv head', () => {
    const q = f32([1, 1, 1, 2], [1, 0]);
    const k = f32([1, 1, 2, 2], [1, 0, 0, 1]);
    const v = f32([1, 1, 2, 2], [1, 2, 3, 4]);
    const [p0, p1] = [Math.E / (Math.E + 1), 1 / (Math.E + 1)];
    close(data('Attention', [q, k, v], { scale: 1 }).data, [p0 * 1 + p1 * 3, p0 * 2 + p1 * 4]);
    // Causal: query 0 sees key 0 only; a -inf mask entry removes key 1 the same way.
    const q2 = f32([1, 1, 2, 2], [1, 0, 0, 1]);
    expect(data('Attention', [q2, k, v], { is_causal: 1 }).data.slice(0, 2)).toEqual([1, 2]);
    expect(data('Attention', [q, k, v, f32([1, 2], [0, -Infinity])]).data).toEqual([1, 2]);
    // Two query heads over one kv head: both heads read the same keys and values.
    const y = data('Attention', [f32([1, 2, 1, 2], [1, 0, 1, 0]), k, v], { scale: 1 }).data;
    close(y, [p0 + 3 * p1, 2 * p0 + 4 * p1, p0 + 3 * p1, 2 * p0 + 4 * p1]);
  });

  it('Attention: present key/value append to the past; qk_matmul_output modes', () => {
    const past = f32([1, 1, 1, 2], [9, 8]);
    const [, pk, pv] = outputs('Attention', [f32([1, 1, 1, 2]), f32([1, 1, 1, 2], [1, 2]), f32([1, 1, 1, 2], [3, 4]), null, past, past], {}, 3);
    expect(pk).toEqual([9, 8, 1, 2]);
    expect(pv).toEqual([9, 8, 3, 4]);
    const inputs = [f32([1, 1, 1, 1], [2]), f32([1, 1, 2, 1], [1, 3]), f32([1, 1, 2, 1], [0, 0]), f32([1, 2], [0.5, 0])];
    const qk = (mode: number, softcap = 0) => outputs('Attention', inputs, { scale: 1, qk_matmul_output_mode: mode, softcap }, 4)[3]!;
    expect(qk(0)).toEqual([2, 6]);
    close(qk(1, 4), [4 * Math.tanh(0.5), 4 * Math.tanh(1.5)]);
    expect(qk(2)).toEqual([2.5, 6]);
    close(qk(3), [Math.exp(2.5) / (Math.exp(2.5) + Math.exp(6)), Math.exp(6) / (Math.exp(2.5) + Math.exp(6))]);
  });

  it('RotaryEmbedding: rotates halves or interleaved pairs; rotary_embedding_dim leaves the rest', () => {
    // cos 0, sin 1: (x1, x2) -> (-x2, x1).
    const x = f32([1, 1, 1, 4], [1, 2, 3, 4]);
    const cache = [f32([1, 2], [0, 0]), f32([1, 2], [1, 1]), i64([1, 1], [0])];
    expect(data('RotaryEmbedding', [x, ...cache]).data).toEqual([-3, -4, 1, 2]);
    expect(data('RotaryEmbedding', [x, ...cache], { interleaved: 1 }).data).toEqual([-2, 1, -4, 3]);
    expect(data('RotaryEmbedding', [x, f32([1, 1], [0]), f32([1, 1], [1]), i64([1, 1], [0])], { rotary_embedding_dim: 2 }).data).toEqual([-2, 1, 3, 4]);
  });

  it('NegativeLogLikelihoodLoss: reductions, weights and ignore_index', () => {
    const x = f32([2, 3], [-1, -2, -3, -4, -5, -6]);
    const target = i64([2], [0, 2]);
    expect(data('NegativeLogLikelihoodLoss', [x, target], { reduction: 'none' }).data).toEqual([1, 6]);
    expect(data('NegativeLogLikelihoodLoss', [x, target]).data).toEqual([3.5]);
    expect(data('NegativeLogLikelihoodLoss', [x, target], { reduction: 'sum' }).data).toEqual([7]);
    close(data('NegativeLogLikelihoodLoss', [x, target, f32([3], [1, 1, 2])]).data, [13 / 3]);
    expect(data('NegativeLogLikelihoodLoss', [x, target], { ignore_index: 2 }).data).toEqual([1]);
  });

  it('SoftmaxCrossEntropyLoss: uniform scores cost log(C); log_prob output', () => {
    const [loss, logp] = outputs('SoftmaxCrossEntropyLoss', [f32([2, 4], new Array(8).fill(3)), i64([2], [1, 3])], {}, 2);
    close(loss!, [Math.log(4)]);
    close(logp!, new Array(8).fill(-Math.log(4)));
  });

  it('QuantizeLinear rounds half to even and saturates; DequantizeLinear inverts per axis', () => {
    const q = data('QuantizeLinear', [f32([7], [0.5, 1.5, 2.5, -0.5, -1.5, 300, -300]), f32([], [1]), t('int8', [], [0])]);
    expect(q.data).toEqual([0, 2, 2, 0, -2, 127, -128]);
    const perAxis = data('QuantizeLinear', [f32([2, 2], [1, 2, 3, 4]), f32([2], [0.5, 2]), t('uint8', [2], [10, 20])], { axis: 0 });
    expect(perAxis.data).toEqual([12, 14, 22, 22]);
    const blocked = data('DequantizeLinear', [t('int8', [1, 5], [1, 2, 3, 4, 5]), f32([1, 2], [2, 10]), t('int8', [1, 2], [1, 0])], { axis: 1, block_size: 3 });
    expect(blocked.data).toEqual([0, 2, 4, 40, 50]);
  });

  it('DynamicQuantizeLinear: the ONNX example', () => {
    const [y, scale, zp] = outputs('DynamicQuantizeLinear', [f32([6], [0, 2, -3, -2.5, 1.34, 0.5])]);
    expect(y).toEqual([153, 255, 0, 26, 221, 179]);
    close(scale!, [Math.fround(5 / 255)]);
    expect(zp).toEqual([153]);
  });

  it('MatMulInteger: the ONNX example; QLinearMatMul requantizes', () => {
    const a = t('uint8', [4, 3], [11, 7, 3, 10, 6, 2, 9, 5, 1, 8, 4, 0]);
    const b = t('uint8', [3, 2], [1, 4, 2, 5, 3, 6]);
    expect(data('MatMulInteger', [a, b, t('uint8', [], [12]), t('uint8', [], [0])]).data).toEqual([-38, -83, -44, -98, -50, -113, -56, -128]);
    // acc = [[-38, -83], ...] * (0.5 * 1 / 2) + 100 = 90.5 -> 90 (even), 79.25 -> 79
    const one = (v: number, dt: DType = 'uint8') => t(dt, [], [v]);
    const y = data('QLinearMatMul', [a, f32([], [0.5]), one(12), b, f32([], [1]), one(0), f32([], [2]), one(100)]).data;
    expect(y.slice(0, 2)).toEqual([90, 79]);
  });

  it('DFT: an impulse transforms to ones; complex-to-real inverts a onesided transform', () => {
    const impulse = f32([4, 1], [1, 0, 0, 0]);
    close(data('DFT', [impulse]).data, [1, 0, 1, 0, 1, 0, 1, 0]);
    const x = [0.5, -1, 2, 3, 0.25, -2];
    const spectrum = data('DFT', [f32([6, 1], x)], { onesided: 1 });
    expect(spectrum.shape).toEqual([4, 2]);
    close(data('DFT', [t('float64', [4, 2], spectrum.data)], { inverse: 1, onesided: 1 }).data, x, 1e-6);
    close(data('DFT', [t('float64', [6, 2], data('DFT', [t('float64', [6, 1], x)]).data)], { inverse: 1 }).data, x.flatMap((v) => [v, 0]), 1e-12);
  });

  it('STFT: a constant signal puts each frame in bin 0; MelWeightMatrix filters peak at 1', () => {
    const y = data('STFT', [f32([1, 8, 1], new Array(8).fill(1)), i64([], [2]), null, i64([], [4])]).data;
    expect(y).toHaveLength(3 * 3 * 2);
    for (let f = 0; f < 3; f++) close(y.slice(f * 6, f * 6 + 6), [4, 0, 0, 0, 0, 0]);
    const mel = data('MelWeightMatrix', [t('int32', [], [6]), t('int32', [], [64]), t('int32', [], [16000]), f32([], [100]), f32([], [6000])]);
    expect(mel.shape).toEqual([33, 6]);
    for (let i = 0; i < 6; i++) {
      const col = Array.from({ length: 33 }, (_, j) => mel.data[j * 6 + i]!);
      expect(Math.max(...col)).toBe(1);
      expect(Math.min(...col)).toBe(0);
    }
  });
});

describe('linear attention blocks', () => {
  it('CausalConvWithState convolves [past_state, input] per channel and keeps the last K - 1 positions', () => {
    const x = f32([1, 1, 3], [1, 2, 3]);
    const w = f32([1, 1, 2], [0.5, 1]);
    expect(outputs('CausalConvWithState', [x, w, null, f32([1, 1, 1], [4])], {}, 2)).toEqual([[3, 2.5, 4], [3]]);
    expect(outputs('CausalConvWithState', [x, w, f32([1], [1])], {}, 2)).toEqual([[2, 3.5, 5], [3]]);
    const [silu] = outputs('CausalConvWithState', [x, w], { activation: 'silu' });
    expect(silu![0]).toBeCloseTo(1 / (1 + Math.exp(-1)), 6);
  });

  it('LinearAttention accumulates k v^T and reads scale * S^T q; delta rules correct toward v', () => {
    const [q, k, v] = [f32([1, 2, 1], [1, 2]), f32([1, 2, 1], [1, 1]), f32([1, 2, 1], [2, 3])];
    const heads = { q_num_heads: 1, kv_num_heads: 1 };
    expect(outputs('LinearAttention', [q, k, v], { ...heads, update_rule: 'linear' }, 2)).toEqual([[2, 10], [5]]);
    // delta with beta 1 and |k| = 1 stores v exactly: S = 2, then 3
    expect(outputs('LinearAttention', [q, k, v, null, null, f32([1, 2, 1], [1, 1])], { ...heads, update_rule: 'delta' }, 2)).toEqual([[2, 6], [3]]);
    // gated: S = e^g S + k v
    const g = Math.log(0.5);
    const gated = outputs('LinearAttention', [q, k, v, f32([1, 1, 1, 1], [4]), f32([1, 2, 1], [g, g])], { ...heads, update_rule: 'gated' }, 2);
    [4, 10, 5].forEach((want, i) => expect(gated.flat()[i]).toBeCloseTo(want, 6));
  });
});

describe('conformance cases', () => {
  it('are valid calls for every binding (throwing cases are rejected)', () => {
    expect(checkCases(OPS, sequenceRef, sequenceCases)).toEqual([]);
  });

  it('cases asking for optional outputs get them', () => {
    for (const c of sequenceCases.filter((k) => k.outputs && !k.throws)) {
      for (const inst of instances(OPS[c.op]!, c).slice(0, 2)) {
        const r = outputs(c.op, inst.inputs, inst.attrs, c.outputs!);
        expect(r, c.name).toHaveLength(c.outputs!);
      }
    }
  });
});
