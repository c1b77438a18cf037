/**
 * Conformance cases of the sequence-model ops: recurrent layers, attention,
 * losses, quantization and signal processing. Weights stay in [-1, 1] so gates
 * do not all saturate; integer data the kernels index with (sequence_lens,
 * position_ids, loss targets) is fixed and in range.
 */
import type { AttrValue } from '../../ops/schema.js';
import type { CaseInput, ConformanceCase } from '../types.js';

const x = (...shape: number[]): CaseInput => ({ shape });
const w = (...shape: number[]): CaseInput => ({ shape, range: [-1, 1] });
/** Fixed values of a fixed-dtype input (int32 sequence_lens, int64 ids and lengths). */
const fixed = (dtype: 'int32' | 'int64', shape: number[], values: number[]): CaseInput => ({ shape, values, dtype });
/** A value input holding one int64 number. */
const int64 = (v: number): CaseInput => ({ shape: [], values: [v], dtype: 'int64' });
const WIDE: ConformanceCase['dtypes'] = ['float32', 'float64'];

// ---------------------------------------------------------------- recurrent layers

/** X, W, R, B, and optional extras for a layer with `gates` gates: seq 3, batch 2, input 4, hidden 3. */
function rnnInputs(gates: number, dirs = 1, layout = 0, seq = 3, batch = 2, input = 4, hidden = 3): CaseInput[] {
  const X = layout ? w(batch, seq, input) : w(seq, batch, input);
  return [X, w(dirs, gates * hidden, input), w(dirs, gates * hidden, hidden), w(dirs, 2 * gates * hidden)];
}
const state = (dirs: number, layout = 0, batch = 2, hidden = 3) => (layout ? w(batch, dirs, hidden) : w(dirs, batch, hidden));
const lens = (...v: number[]) => fixed('int32', [v.length], v);

function recurrentCases(op: 'RNN' | 'GRU' | 'LSTM', gates: number, outputs: number): ConformanceCase[] {
  const [f, g] = op === 'RNN' ? [['Relu'], ['Tanh']] : op === 'GRU' ? [['HardSigmoid', 'Softsign'], ['Sigmoid', 'Tanh']] : [['HardSigmoid', 'Elu', 'Softsign'], ['Sigmoid', 'Tanh', 'Tanh']];
  return [
    { op, name: 'forward, no bias', inputs: rnnInputs(gates).slice(0, 3) },
    { op, name: 'forward with bias, all outputs', inputs: rnnInputs(gates), outputs },
    { op, name: 'reverse', inputs: rnnInputs(gates), attrs: { direction: 'reverse' }, outputs },
    { op, name: 'bidirectional', inputs: rnnInputs(gates, 2), attrs: { direction: 'bidirectional' }, outputs },
    { op, name: 'initial_h', inputs: [...rnnInputs(gates), null, state(1)], outputs },
    { op, name: 'sequence_lens, bidirectional', inputs: [...rnnInputs(gates, 2, 0, 4, 3), lens(4, 2, 1), state(2, 0, 3)], attrs: { direction: 'bidirectional' }, outputs },
    { op, name: 'sequence_lens with a 0, reverse', inputs: [...rnnInputs(gates, 1, 0, 3, 3), lens(0, 3, 2)], attrs: { direction: 'reverse' }, outputs },
    { op, name: 'layout 1', inputs: [...rnnInputs(gates, 1, 1), null, state(1, 1)], attrs: { layout: 1 }, outputs },
    { op, name: 'layout 1 bidirectional with lengths', inputs: [...rnnInputs(gates, 2, 1), lens(2, 3), state(2, 1)], attrs: { layout: 1, direction: 'bidirectional' }, outputs },
    { op, name: 'hidden_size given, batch 1, seq 1', inputs: rnnInputs(gates, 1, 0, 1, 1, 2, 5), attrs: { hidden_size: 5 }, outputs },
    { op, name: 'clip', inputs: [{ shape: [3, 2, 4], range: [-4, 4] }, ...rnnInputs(gates).slice(1)], attrs: { clip: 0.5 }, outputs },
    { op, name: 'activations with alpha and beta', inputs: rnnInputs(gates), attrs: { activations: f, activation_alpha: [0.3, 0.9], activation_beta: [0.4] }, outputs },
    {
      op,
      name: 'activations per direction (lowercase names)',
      inputs: rnnInputs(gates, 2),
      attrs: { direction: 'bidirectional', activations: [...f, ...g].map((n) => n.toLowerCase()) },
      outputs,
    },
    { op, name: 'empty batch', inputs: rnnInputs(gates, 1, 0, 3, 0), outputs },
    { op, name: 'long sequence', inputs: rnnInputs(gates, 1, 0, 12, 2, 8, 6), dtypes: WIDE, rtol: 1e-4, atol: 1e-4 },
    { op, name: 'W of the wrong shape', inputs: [w(3, 2, 4), w(1, 2 * gates, 3), w(1, 3 * gates, 3)], throws: true },
    { op, name: 'hidden_size contradicts W', inputs: rnnInputs(gates).slice(0, 3), attrs: { hidden_size: 4 }, throws: true },
    { op, name: 'unknown activation', inputs: rnnInputs(gates).slice(0, 3), attrs: { activations: f.map(() => 'Swish') }, throws: true },
    { op, name: 'bidirectional with one direction of weights', inputs: rnnInputs(gates).slice(0, 3), attrs: { direction: 'bidirectional' }, throws: true },
  ];
}

const lstmOnly: ConformanceCase[] = [
  {
    op: 'LSTM',
    name: 'peepholes and initial states',
    inputs: [...rnnInputs(4), lens(3, 2), state(1), state(1), w(1, 9)],
    outputs: 3,
  },
  { op: 'LSTM', name: 'input_forget', inputs: [...rnnInputs(4), null, state(1), state(1), w(1, 9)], attrs: { input_forget: 1 }, outputs: 3 },
  {
    op: 'LSTM',
    name: 'bidirectional, layout 1, peepholes',
    inputs: [...rnnInputs(4, 2, 1), null, state(2, 1), state(2, 1), w(2, 9)],
    attrs: { direction: 'bidirectional', layout: 1 },
    outputs: 3,
  },
  { op: 'LSTM', name: 'P of the wrong size', inputs: [...rnnInputs(4), null, null, null, w(1, 6)], throws: true },
];

const gruOnly: ConformanceCase[] = [
  { op: 'GRU', name: 'linear_before_reset', inputs: [...rnnInputs(3), null, state(1)], attrs: { linear_before_reset: 1 }, outputs: 2 },
  {
    op: 'GRU',
    name: 'linear_before_reset, bidirectional with lengths',
    inputs: [...rnnInputs(3, 2), lens(1, 3), state(2)],
    attrs: { linear_before_reset: 1, direction: 'bidirectional' },
    outputs: 2,
  },
];

// ---------------------------------------------------------------- attention

/** Q, K, V in the 4-D layout [batch, heads, seq, size]. */
const qkv4 = (b: number, hq: number, hkv: number, sq: number, skv: number, d: number, dv = d): CaseInput[] => [x(b, hq, sq, d), x(b, hkv, skv, d), x(b, hkv, skv, dv)];

/** A bool mask with at least one key kept in every row (so that no row is all -inf). */
const boolMask = (rows: number, cols: number): CaseInput => ({ shape: [rows, cols], values: Array.from({ length: rows * cols }, (_, i) => Number(i % cols === i % rows || i % 3 === 1)), dtype: 'bool' });

const attentionCases: ConformanceCase[] = [
  { op: 'Attention', name: '4-D', inputs: qkv4(2, 3, 3, 4, 6, 8) },
  { op: 'Attention', name: '4-D, v head size differs', inputs: qkv4(1, 2, 2, 3, 5, 4, 6) },
  { op: 'Attention', name: '3-D with head counts', inputs: [x(2, 4, 12), x(2, 5, 12), x(2, 5, 6)], attrs: { q_num_heads: 3, kv_num_heads: 3 } },
  { op: 'Attention', name: 'grouped query heads 6/2', inputs: qkv4(1, 6, 2, 3, 4, 4) },
  { op: 'Attention', name: '3-D grouped query heads, causal', inputs: [x(1, 4, 16), x(1, 4, 8), x(1, 4, 8)], attrs: { q_num_heads: 4, kv_num_heads: 2, is_causal: 1 } },
  { op: 'Attention', name: 'causal, cross lengths', inputs: qkv4(2, 2, 2, 3, 5, 4), attrs: { is_causal: 1 } },
  { op: 'Attention', name: 'scale', inputs: qkv4(1, 2, 2, 3, 4, 4), attrs: { scale: 0.05 } },
  { op: 'Attention', name: 'softcap', inputs: qkv4(1, 2, 2, 3, 4, 4), attrs: { softcap: 1.5 } },
  { op: 'Attention', name: 'mask 2-D', inputs: [...qkv4(2, 2, 2, 3, 4, 4), x(3, 4)] },
  { op: 'Attention', name: 'mask 3-D [heads, q, kv] broadcast over batch', inputs: [...qkv4(2, 2, 2, 3, 4, 4), x(2, 3, 4)] },
  { op: 'Attention', name: 'mask 4-D broadcast over heads', inputs: [...qkv4(2, 2, 2, 3, 4, 4), x(2, 1, 3, 4)] },
  { op: 'Attention', name: 'mask narrower than the keys', inputs: [...qkv4(1, 2, 2, 3, 5, 4), x(3, 3)] },
  { op: 'Attention', name: 'mask and causal', inputs: [...qkv4(1, 2, 2, 3, 3, 4), x(3, 3)], attrs: { is_causal: 1 } },
  {
    op: 'Attention',
    name: 'past and present key/value',
    inputs: [...qkv4(2, 2, 2, 2, 3, 4), x(2, 5), x(2, 2, 2, 4), x(2, 2, 2, 4)],
    outputs: 3,
  },
  {
    op: 'Attention',
    name: '3-D, grouped heads, past, causal, all outputs',
    inputs: [x(1, 2, 8), x(1, 2, 4), x(1, 2, 6), null, x(1, 2, 3, 2), x(1, 2, 3, 3)],
    attrs: { q_num_heads: 4, kv_num_heads: 2, is_causal: 1 },
    outputs: 4,
  },
  ...[0, 1, 2, 3].map(
    (mode): ConformanceCase => ({
      op: 'Attention',
      name: `qk_matmul_output_mode ${mode} with mask and softcap`,
      inputs: [...qkv4(1, 2, 2, 3, 4, 4), x(3, 4)],
      attrs: { qk_matmul_output_mode: mode, softcap: 2 },
      outputs: 4,
    }),
  ),
  {
    op: 'Attention',
    name: 'nonpad_kv_seqlen',
    inputs: [...qkv4(2, 2, 2, 3, 5, 4), null, null, null, fixed('int64', [2], [5, 3])],
  },
  {
    op: 'Attention',
    name: 'nonpad_kv_seqlen, causal without past',
    inputs: [...qkv4(2, 2, 2, 2, 5, 4), null, null, null, fixed('int64', [2], [4, 2])],
    attrs: { is_causal: 1 },
  },
  { op: 'Attention', name: 'bool mask 2-D', inputs: [...qkv4(2, 2, 2, 3, 4, 4), boolMask(3, 4)] },
  { op: 'Attention', name: 'bool mask narrower than the keys, causal', inputs: [...qkv4(1, 2, 2, 3, 5, 4), boolMask(3, 3)], attrs: { is_causal: 1 } },
  { op: 'Attention', name: 'float mask of another dtype', inputs: [...qkv4(1, 2, 2, 2, 2, 4), { shape: [2, 2], dtype: 'float64' }], dtypes: ['float32'], throws: true },
  { op: 'Attention', name: 'q heads not a multiple of kv heads', inputs: qkv4(1, 3, 2, 2, 2, 4), throws: true },
  { op: 'Attention', name: '3-D without head counts', inputs: [x(1, 2, 8), x(1, 2, 8), x(1, 2, 8)], throws: true },
  { op: 'Attention', name: 'mask wider than the keys', inputs: [...qkv4(1, 2, 2, 3, 4, 4), x(3, 5)], throws: true },
  { op: 'Attention', name: 'K head size differs from Q', inputs: [x(1, 2, 3, 4), x(1, 2, 3, 5), x(1, 2, 3, 4)], throws: true },
];

const rotary: ConformanceCase[] = [
  { op: 'RotaryEmbedding', name: '4-D with position_ids', inputs: [x(2, 3, 4, 8), x(10, 4), x(10, 4), fixed('int64', [2, 4], [0, 1, 2, 3, 9, 4, 7, 0])] },
  { op: 'RotaryEmbedding', name: 'interleaved', inputs: [x(1, 2, 3, 6), x(5, 3), x(5, 3), fixed('int64', [1, 3], [4, 0, 2])], attrs: { interleaved: 1 } },
  { op: 'RotaryEmbedding', name: '3-D with num_heads', inputs: [x(2, 3, 16), x(6, 2), x(6, 2), fixed('int64', [2, 3], [0, 1, 2, 3, 4, 5])], attrs: { num_heads: 4 } },
  { op: 'RotaryEmbedding', name: 'no position_ids', inputs: [x(2, 2, 3, 4), x(2, 3, 2), x(2, 3, 2)] },
  { op: 'RotaryEmbedding', name: 'rotary_embedding_dim', inputs: [x(1, 2, 3, 8), x(4, 2), x(4, 2), fixed('int64', [1, 3], [3, 2, 1])], attrs: { rotary_embedding_dim: 4 } },
  { op: 'RotaryEmbedding', name: 'rotary_embedding_dim, interleaved, 3-D', inputs: [x(1, 2, 12), x(1, 2, 2), x(1, 2, 2)], attrs: { rotary_embedding_dim: 4, interleaved: 1, num_heads: 2 } },
  { op: 'RotaryEmbedding', name: 'odd rotary_embedding_dim', inputs: [x(1, 2, 3, 8), x(4, 2), x(4, 2)], attrs: { rotary_embedding_dim: 3 }, throws: true },
  { op: 'RotaryEmbedding', name: '3-D without num_heads', inputs: [x(1, 3, 8), x(1, 3, 4), x(1, 3, 4)], throws: true },
  { op: 'RotaryEmbedding', name: 'cache of the wrong width', inputs: [x(1, 2, 3, 8), x(4, 3), x(4, 3), fixed('int64', [1, 3], [0, 1, 2])], throws: true },
];

// ---------------------------------------------------------------- losses

/** Class indices in [0, c) for `shape`, with every `every`-th one replaced by `ii`. */
function targets(shape: number[], c: number, ii?: number, every = 3): CaseInput {
  const n = shape.reduce((a, b) => a * b, 1);
  return { shape, values: Array.from({ length: n }, (_, i) => (ii !== undefined && i % every === 1 ? ii : (i * 7 + 3) % c)) };
}

function lossCases(op: 'NegativeLogLikelihoodLoss' | 'SoftmaxCrossEntropyLoss'): ConformanceCase[] {
  const outputs = op === 'SoftmaxCrossEntropyLoss' ? 2 : 1;
  return [
    { op, name: 'mean [N,C]', inputs: [x(4, 5), targets([4], 5)] },
    { op, name: 'none [N,C]', inputs: [x(4, 5), targets([4], 5)], attrs: { reduction: 'none' } },
    { op, name: 'sum [N,C,d]', inputs: [x(3, 4, 2), targets([3, 2], 4)], attrs: { reduction: 'sum' }, outputs },
    { op, name: 'weighted mean [N,C,d1,d2]', inputs: [x(2, 3, 2, 2), targets([2, 2, 2], 3), { shape: [3], range: [0.2, 2] }], outputs },
    { op, name: 'weighted none', inputs: [x(3, 4), targets([3], 4), { shape: [4], range: [0.2, 2] }], attrs: { reduction: 'none' }, outputs },
    { op, name: 'ignore_index, mean', inputs: [x(5, 3), targets([5], 3, 1)], attrs: { ignore_index: 1 }, outputs },
    { op, name: 'negative ignore_index, weighted mean', inputs: [x(2, 3, 3), targets([2, 3], 3, -1), { shape: [3], range: [0.2, 2] }], attrs: { ignore_index: -1 }, outputs },
    { op, name: 'ignore_index out of class range, sum', inputs: [x(4, 3), targets([4], 3, 10, 2)], attrs: { reduction: 'sum', ignore_index: 10 } },
    { op, name: 'ignore_index, none', inputs: [x(2, 4, 3), targets([2, 3], 4, 0)], attrs: { reduction: 'none', ignore_index: 0 } },
    { op, name: 'target of the wrong shape', inputs: [x(3, 4), targets([4], 4)], throws: true },
    { op, name: 'unknown reduction', inputs: [x(3, 4), targets([3], 4)], attrs: { reduction: 'max' }, throws: true },
    { op, name: 'weight of the wrong size', inputs: [x(3, 4), targets([3], 4), x(3)], throws: true },
  ];
}

// ---------------------------------------------------------------- quantization

const scales = (...shape: number[]): CaseInput => ({ shape, range: [0.05, 0.5] });

const quantize: ConformanceCase[] = [
  { op: 'QuantizeLinear', name: 'per tensor', inputs: [{ shape: [2, 6], range: [-20, 20] }, scales(), x()] },
  { op: 'QuantizeLinear', name: 'saturates', inputs: [{ shape: [12], range: [-300, 300] }, { shape: [], values: [0.25] }, x()] },
  { op: 'QuantizeLinear', name: 'ties round to even', inputs: [{ shape: [6], values: [0.5, 1.5, 2.5, -0.5, -1.5, 3.5] }, { shape: [], values: [1] }, null], attrs: (b) => ({ output_dtype: b.T3! }), dtypes: ['float32', 'float16', 'bfloat16'] },
  { op: 'QuantizeLinear', name: 'no zero point: output_dtype', inputs: [{ shape: [3, 4], range: [-5, 5] }, scales(1), null], attrs: (b) => ({ output_dtype: b.T3! }) },
  { op: 'QuantizeLinear', name: 'per axis 1', inputs: [{ shape: [2, 3, 4], range: [-5, 5] }, scales(3), x(3)] },
  { op: 'QuantizeLinear', name: 'per axis -1', inputs: [{ shape: [2, 3, 4], range: [-5, 5] }, scales(4), x(4)], attrs: { axis: -1 } },
  { op: 'QuantizeLinear', name: 'blocked', inputs: [{ shape: [3, 4], range: [-5, 5] }, scales(3, 2), x(3, 2)], attrs: { axis: 1, block_size: 2 } },
  { op: 'QuantizeLinear', name: 'blocked with a short last block', inputs: [{ shape: [5, 2], range: [-5, 5] }, scales(2, 2), x(2, 2)], attrs: { axis: 0, block_size: 3 } },
  { op: 'QuantizeLinear', name: 'float16 precision', inputs: [{ shape: [8], range: [-5, 5] }, scales(), x()], attrs: { precision: 'float16' } },
  { op: 'QuantizeLinear', name: 'scalar x', inputs: [{ shape: [], range: [-5, 5] }, scales(), x()] },
  { op: 'QuantizeLinear', name: 'empty', inputs: [x(0, 3), scales(), x()] },
  { op: 'QuantizeLinear', name: 'per-axis scale of the wrong length', inputs: [x(2, 3), scales(2), x(2)], throws: true },
  { op: 'QuantizeLinear', name: 'zero point shape differs from scale', inputs: [x(2, 3), scales(3), x(1)], throws: true },
  { op: 'QuantizeLinear', name: 'blocked scale of the wrong shape', inputs: [x(3, 4), scales(3, 3), null], attrs: { axis: 1, block_size: 2 }, throws: true },
  {
    op: 'QuantizeLinear',
    name: 'float8 without saturation: inf or NaN beyond the range, NaN stays NaN',
    inputs: [{ shape: [8], values: [NaN, 1000, -1000, 60, -60, 5, 0.3, 20000] }, { shape: [], values: [0.25] }, null],
    attrs: (b) => ({ output_dtype: b.T3!, saturate: 0 }),
    dtypes: ['float32', 'float16', 'bfloat16'],
    bindings: (b) => b.T3!.startsWith('float8'),
  },
];

/** DequantizeLinear's output dtype (T3) comes from output_dtype: every case asks for the bound one. */
const toT3 = (attrs: Record<string, AttrValue> = {}): ConformanceCase['attrs'] => (b) => ({ ...attrs, output_dtype: b.T3! });
const dequantize: ConformanceCase[] = [
  { op: 'DequantizeLinear', name: 'per tensor', inputs: [x(2, 5), scales(), x()], attrs: toT3() },
  { op: 'DequantizeLinear', name: 'no zero point', inputs: [x(7), scales(1), null], attrs: toT3() },
  { op: 'DequantizeLinear', name: 'per axis 0', inputs: [x(3, 4), scales(3), x(3)], attrs: toT3({ axis: 0 }) },
  { op: 'DequantizeLinear', name: 'per axis 1 of 4-D', inputs: [x(1, 3, 2, 2), scales(3), x(3)], attrs: toT3() },
  { op: 'DequantizeLinear', name: 'blocked', inputs: [x(2, 5), scales(2, 2), x(2, 2)], attrs: toT3({ axis: 1, block_size: 3 }) },
  { op: 'DequantizeLinear', name: 'output dtype defaults to the scale dtype', inputs: [x(6), scales(), x()] },
  { op: 'DequantizeLinear', name: 'empty', inputs: [x(0), scales(), x()], attrs: toT3() },
  { op: 'DequantizeLinear', name: 'zero point dtype differs from x', inputs: [x(3), scales(), { shape: [], dtype: 'int32' }], dtypes: ['int8', 'uint8', 'int16', 'uint16'], throws: true },
  { op: 'DequantizeLinear', name: 'per-axis scale of the wrong length', inputs: [x(3, 4), scales(4), null], attrs: { axis: 0 }, throws: true },
  {
    op: 'DequantizeLinear',
    name: 'float8 NaN, extremes and subnormals',
    inputs: [{ shape: [6], values: [NaN, 448, -240, 57344, 0.001953125, -0.0009765625] }, { shape: [], values: [2] }, null],
    attrs: toT3(),
    dtypes: ['float8e4m3fn', 'float8e4m3fnuz', 'float8e5m2', 'float8e5m2fnuz'],
  },
];

const dynamicQuantize: ConformanceCase[] = [
  { op: 'DynamicQuantizeLinear', name: 'mixed signs', inputs: [{ shape: [2, 5], range: [-4, 6] }] },
  { op: 'DynamicQuantizeLinear', name: 'all positive (range starts at 0)', inputs: [{ shape: [7], range: [1, 9] }] },
  { op: 'DynamicQuantizeLinear', name: 'all negative (zero point 255)', inputs: [{ shape: [6], range: [-9, -1] }] },
  { op: 'DynamicQuantizeLinear', name: 'all zeros', inputs: [{ shape: [4], values: [0, 0, 0, 0] }] },
  { op: 'DynamicQuantizeLinear', name: 'scalar', inputs: [{ shape: [], values: [3.5] }] },
  { op: 'DynamicQuantizeLinear', name: 'empty', inputs: [x(0, 2)] },
];

/** Per-row and per-column zero points of MatMulInteger/QLinearMatMul operands use the operand's constraint. */
const matmulInteger: ConformanceCase[] = [
  { op: 'MatMulInteger', name: '2-D without zero points', inputs: [x(3, 4), x(4, 5)] },
  { op: 'MatMulInteger', name: 'scalar zero points', inputs: [x(3, 4), x(4, 2), x(), x()] },
  { op: 'MatMulInteger', name: 'per-row and per-column zero points', inputs: [x(3, 4), x(4, 2), x(3), x(2)] },
  { op: 'MatMulInteger', name: 'batched, broadcast', inputs: [x(2, 3, 4), x(4, 5), x(1), null] },
  { op: 'MatMulInteger', name: '1-D A', inputs: [x(4), x(2, 4, 3), x(), x(3)] },
  { op: 'MatMulInteger', name: 'long K (wide accumulation)', inputs: [{ shape: [2, 200], range: [-128, 127] }, { shape: [200, 3], range: [0, 127] }], dtypes: ['int8'] },
  { op: 'MatMulInteger', name: 'inner dims differ', inputs: [x(3, 4), x(3, 5)], throws: true },
  { op: 'MatMulInteger', name: 'zero point of the wrong length', inputs: [x(3, 4), x(4, 5), x(4)], throws: true },
];

const qlinearMatmul: ConformanceCase[] = [
  { op: 'QLinearMatMul', name: '2-D', inputs: [x(2, 4), scales(), x(), x(4, 3), scales(), x(), scales(), x()] },
  { op: 'QLinearMatMul', name: 'batched 3-D with [1] params', inputs: [x(2, 2, 4), scales(1), x(1), x(2, 4, 3), scales(1), x(1), scales(1), x(1)] },
  { op: 'QLinearMatMul', name: 'b per column', inputs: [x(3, 4), scales(), x(), x(4, 2), scales(2), x(2), scales(), x()] },
  { op: 'QLinearMatMul', name: 'saturating output', inputs: [x(2, 6), scales(), x(), x(6, 2), scales(), x(), { shape: [], values: [0.001] }, x()] },
  { op: 'QLinearMatMul', name: 'a per row', inputs: [x(2, 4), scales(2), x(2), x(4, 3), scales(), x(), scales(), x()], throws: true },
];

const convInteger: ConformanceCase[] = [
  { op: 'ConvInteger', name: '2-D, scalar x zero point', inputs: [x(1, 2, 5, 5), x(3, 2, 3, 3), x(), null] },
  { op: 'ConvInteger', name: 'pads, per-channel w zero point', inputs: [x(2, 1, 4, 4), x(2, 1, 2, 2), x(), x(2)], attrs: { pads: [1, 1, 1, 1] } },
  { op: 'ConvInteger', name: 'strides, group, no zero points', inputs: [x(1, 4, 6, 6), x(4, 2, 3, 3)], attrs: { strides: [2, 2], group: 2 } },
  { op: 'ConvInteger', name: '1-D auto_pad SAME_UPPER', inputs: [x(1, 2, 7), x(2, 2, 2), x(), x()], attrs: { auto_pad: 'SAME_UPPER' } },
  { op: 'ConvInteger', name: 'channels differ', inputs: [x(1, 3, 5, 5), x(2, 2, 3, 3)], throws: true },
];

const qlinearConv: ConformanceCase[] = [
  { op: 'QLinearConv', name: '2-D', inputs: [x(1, 2, 5, 5), scales(), x(), x(3, 2, 3, 3), scales(), x(), scales(), x()] },
  {
    op: 'QLinearConv',
    name: 'per-channel w, bias, pads',
    inputs: [x(1, 2, 4, 4), scales(), x(), x(2, 2, 2, 2), scales(2), x(2), scales(), x(), { shape: [2], range: [-50, 50] }],
    attrs: { pads: [1, 0, 1, 0] },
  },
  { op: 'QLinearConv', name: 'depthwise, strides', inputs: [x(1, 3, 6, 6), scales(1), x(1), x(3, 1, 3, 3), scales(1), x(1), scales(1), x(1)], attrs: { group: 3, strides: [2, 2] } },
  { op: 'QLinearConv', name: 'bias of the wrong size', inputs: [x(1, 2, 4, 4), scales(), x(), x(2, 2, 2, 2), scales(), x(), scales(), x(), { shape: [3], dtype: 'int32' }], throws: true },
];

// ---------------------------------------------------------------- signal

const dft: ConformanceCase[] = [
  { op: 'DFT', name: 'real, default axis', inputs: [x(2, 8, 1)] },
  { op: 'DFT', name: 'complex, axis 1 of 4-D', inputs: [x(2, 5, 3, 2), null, int64(1)] },
  { op: 'DFT', name: 'negative axis -3', inputs: [x(2, 5, 3, 2), null, int64(-3)] },
  { op: 'DFT', name: 'onesided real', inputs: [x(3, 10, 1)], attrs: { onesided: 1 } },
  { op: 'DFT', name: 'onesided odd length', inputs: [x(7, 1)], attrs: { onesided: 1 } },
  { op: 'DFT', name: 'inverse complex', inputs: [x(4, 6, 2)], attrs: { inverse: 1 } },
  { op: 'DFT', name: 'inverse real', inputs: [x(6, 1)], attrs: { inverse: 1 } },
  { op: 'DFT', name: 'dft_length pads', inputs: [x(2, 5, 2), { shape: [], values: [8], dtype: 'int64' }] },
  { op: 'DFT', name: 'dft_length truncates', inputs: [x(2, 9, 1), { shape: [], values: [6], dtype: 'int32' }] },
  { op: 'DFT', name: 'inverse onesided (complex to real)', inputs: [x(2, 5, 2)], attrs: { inverse: 1, onesided: 1 } },
  { op: 'DFT', name: 'inverse onesided with odd dft_length', inputs: [x(4, 2), { shape: [], values: [7], dtype: 'int64' }], attrs: { inverse: 1, onesided: 1 } },
  { op: 'DFT', name: 'long transform', inputs: [x(1, 64, 2)], dtypes: WIDE, rtol: 1e-4, atol: 1e-4 },
  { op: 'DFT', name: 'onesided complex input', inputs: [x(4, 2)], attrs: { onesided: 1 }, throws: true },
  { op: 'DFT', name: 'axis on the complex dim', inputs: [x(4, 2), null, int64(-1)], throws: true },
  { op: 'DFT', name: 'last dim not 1 or 2', inputs: [x(4, 3)], throws: true },
];

const stft: ConformanceCase[] = [
  { op: 'STFT', name: 'frame_length, no window', inputs: [x(1, 32, 1), int64(4), null, int64(8)] },
  { op: 'STFT', name: 'window', inputs: [x(2, 20, 1), int64(3), { shape: [6], range: [0, 1] }, null] },
  { op: 'STFT', name: 'window and frame_length', inputs: [x(1, 16, 1), int64(5), { shape: [5], range: [0, 1] }, int64(5)] },
  { op: 'STFT', name: 'two-sided complex signal', inputs: [x(1, 12, 2), int64(2), null, int64(4)], attrs: { onesided: 0 } },
  { op: 'STFT', name: 'frame_length differs from the window', inputs: [x(1, 16, 1), int64(4), x(6), int64(8)], throws: true },
  { op: 'STFT', name: 'frame longer than the signal', inputs: [x(1, 8, 1), int64(1), null, int64(9)], throws: true },
];

/** MelWeightMatrix takes only value inputs: int32 sizes and float32 edges. */
const mel = (bins: number, dft: number, rate: number, lo: number, hi: number): CaseInput[] => [
  { shape: [], values: [bins], dtype: 'int32' },
  { shape: [], values: [dft], dtype: 'int32' },
  { shape: [], values: [rate], dtype: 'int32' },
  { shape: [], values: [lo], dtype: 'float32' },
  { shape: [], values: [hi], dtype: 'float32' },
];
const melWeightMatrix: ConformanceCase[] = [
  { op: 'MelWeightMatrix', name: '8 bins, dft 16', inputs: mel(8, 16, 8192, 0, 4096), attrs: (b) => ({ output_datatype: b.T3! }) },
  { op: 'MelWeightMatrix', name: '5 bins, odd dft, narrow band', inputs: mel(5, 33, 16000, 300, 6000), attrs: (b) => ({ output_datatype: b.T3! }) },
  { op: 'MelWeightMatrix', name: 'upper edge at Nyquist, odd dft', inputs: mel(4, 9, 1000, 0, 500), attrs: (b) => ({ output_datatype: b.T3! }) },
  { op: 'MelWeightMatrix', name: 'default float32 output', inputs: mel(3, 8, 800, 50, 350) },
  { op: 'MelWeightMatrix', name: 'lower edge above upper', inputs: mel(4, 16, 8000, 500, 100), throws: true },
];

/** Each case runs once per Q dtype, under the key the engine picks: U unbound without a mask, else the mask's dtype (bool or Q's). */
const attention = attentionCases.map((c): ConformanceCase => {
  const mask = c.inputs[3];
  return { ...c, bindings: (b) => (!mask ? b.U === undefined : mask.dtype === 'bool' ? b.U === 'bool' : b.U === b.T1) };
});

// ---------------------------------------------------------------- linear attention

const causalConv: ConformanceCase[] = [
  { op: 'CausalConvWithState', name: 'no state, kernel 4', inputs: [x(2, 3, 6), w(3, 1, 4)], outputs: 2 },
  { op: 'CausalConvWithState', name: 'bias and past_state, silu', inputs: [x(2, 3, 5), w(3, 1, 3), w(3), x(2, 3, 2)], attrs: { activation: 'silu' }, outputs: 2 },
  { op: 'CausalConvWithState', name: 'decode step (length 1) with state', inputs: [x(1, 4, 1), w(4, 1, 4), null, x(1, 4, 3)], outputs: 2 },
  { op: 'CausalConvWithState', name: 'input shorter than the state', inputs: [x(1, 2, 2), w(2, 1, 4), w(2)], attrs: { activation: 'swish' }, outputs: 2 },
  { op: 'CausalConvWithState', name: 'kernel size 1 (empty state), output only', inputs: [x(2, 2, 3), w(2, 1, 1)] },
  { op: 'CausalConvWithState', name: 'past_state of the wrong length', inputs: [x(1, 2, 3), w(2, 1, 3), null, x(1, 2, 3)], throws: true },
];

/** query, key, value [B, T, H*d] for hq/hkv heads of key size dk and value size dv. */
const lin = (b: number, t: number, hq: number, hkv: number, dk: number, dv: number): CaseInput[] => [w(b, t, hq * dk), w(b, t, hkv * dk), w(b, t, hkv * dv)];
const gate = (...shape: number[]): CaseInput => ({ shape, range: [-1, 0] });
const beta = (...shape: number[]): CaseInput => ({ shape, range: [0, 1] });
const heads = (hq: number, hkv: number, rule: string) => ({ q_num_heads: hq, kv_num_heads: hkv, update_rule: rule });
const linearAttention: ConformanceCase[] = [
  { op: 'LinearAttention', name: 'linear', inputs: lin(2, 3, 2, 2, 3, 4), attrs: heads(2, 2, 'linear'), outputs: 2 },
  { op: 'LinearAttention', name: 'linear with past_state, explicit scale', inputs: [...lin(1, 2, 2, 2, 3, 3), w(1, 2, 3, 3)], attrs: { ...heads(2, 2, 'linear'), scale: 0.3 }, outputs: 2 },
  { op: 'LinearAttention', name: 'gated, decay per row', inputs: [...lin(2, 3, 2, 2, 3, 4), null, gate(2, 3, 6)], attrs: heads(2, 2, 'gated'), outputs: 2 },
  { op: 'LinearAttention', name: 'gated, decay per head', inputs: [...lin(2, 3, 2, 2, 3, 4), null, gate(2, 3, 2)], attrs: heads(2, 2, 'gated'), outputs: 2 },
  { op: 'LinearAttention', name: 'delta, beta per head', inputs: [...lin(1, 4, 2, 2, 3, 2), null, null, beta(1, 4, 2)], attrs: heads(2, 2, 'delta'), outputs: 2 },
  { op: 'LinearAttention', name: 'gated_delta, grouped heads 4/2, shared beta', inputs: [...lin(2, 3, 4, 2, 2, 3), w(2, 2, 2, 3), gate(2, 3, 4), beta(2, 3, 1)], attrs: heads(4, 2, 'gated_delta'), outputs: 2 },
  { op: 'LinearAttention', name: 'gated_delta decode step, output only', inputs: [...lin(1, 1, 2, 1, 4, 4), w(1, 1, 4, 4), gate(1, 1, 1), beta(1, 1, 1)], attrs: heads(2, 1, 'gated_delta') },
  { op: 'LinearAttention', name: 'gated without decay', inputs: lin(1, 2, 2, 2, 3, 3), attrs: heads(2, 2, 'gated'), throws: true },
  { op: 'LinearAttention', name: 'heads that do not divide', inputs: lin(1, 2, 3, 2, 2, 2), attrs: heads(3, 2, 'linear'), throws: true },
];

export const sequenceCases: ConformanceCase[] = [
  ...recurrentCases('RNN', 1, 2),
  ...recurrentCases('GRU', 3, 2),
  ...gruOnly,
  ...recurrentCases('LSTM', 4, 3),
  ...lstmOnly,
  ...attention,
  ...rotary,
  ...causalConv,
  ...linearAttention,
  ...lossCases('NegativeLogLikelihoodLoss'),
  ...lossCases('SoftmaxCrossEntropyLoss'),
  ...quantize,
  ...dequantize,
  ...dynamicQuantize,
  ...matmulInteger,
  ...qlinearMatmul,
  ...convInteger,
  ...qlinearConv,
  ...dft,
  ...stft,
  ...melWeightMatrix,
];
