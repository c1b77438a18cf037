/**
 * Opset adapters: rewrite a node written for an older ai.onnx opset into the
 * newest form of its op (the form the op table declares). One small function
 * per op; each says which versions it rewrites. Attributes that became inputs
 * become constant initializers; changed semantics become a few equivalent nodes.
 *
 * Function ops of other domains whose attributes are graphs are expanded here
 * into their function body: ai.onnx.preview FlexAttention becomes MatMul, Mul,
 * Softmax and MatMul with its score_mod / prob_mod subgraphs inlined between them
 * (such an op cannot be one kernel: the subgraphs are arbitrary ONNX).
 */
import { MxError } from '../errors.js';
import type { HostTensor } from './proto.js';
import type { AttrJs, Graph, Node } from './graph.js';

export interface AdaptContext {
  /** Adds an initializer to the node's graph and returns its (unique) name. */
  constant(hint: string, t: HostTensor): string;
}

type Adapter = (n: Node, c: AdaptContext) => Node[] | void;

const i64 = (v: readonly number[], scalar = false): HostTensor => ({
  dtype: 'int64',
  dims: scalar ? [] : [v.length],
  data: BigInt64Array.from(v, (x) => BigInt(Math.trunc(x))),
});
const f32 = (v: number): HostTensor => ({ dtype: 'float32', dims: [], data: Float32Array.of(v) });

/** Moves attribute `attr` to input position `pos` (as a constant), if the node has it. */
function attrToInput(n: Node, c: AdaptContext, attr: string, pos: number, make: (v: AttrJs) => HostTensor): void {
  const v = n.attrs[attr];
  if (v === undefined) return;
  delete n.attrs[attr];
  while (n.inputs.length < pos) n.inputs.push('');
  n.inputs[pos] = c.constant(`${n.name || n.opType}_${attr}`, make(v));
}

const ints = (v: AttrJs) => i64(v as number[]);

function drop(n: Node, ...attrs: string[]): void {
  for (const a of attrs) delete n.attrs[a];
}

/** Reduce* took `axes` as an attribute before opset 18 (ReduceSum: 13). */
const reduceAxes =
  (since: number): Adapter =>
  (n, c) => {
    if (n.version < since) attrToInput(n, c, 'axes', 1, ints);
  };

/** Softmax, LogSoftmax, Hardmax before 13: the input is coerced to 2-D at `axis` (default 1). */
const coerced2d: Adapter = (n, c) => {
  if (n.version >= 13) return;
  const axis = (n.attrs.axis as number | undefined) ?? 1;
  const x = n.inputs[0]!;
  const base = `${n.name || n.opType}_2d`;
  const shape = `${base}_shape__${n.outputs[0]}`;
  const flat = `${base}_flat__${n.outputs[0]}`;
  const y2 = `${base}_out__${n.outputs[0]}`;
  const at = (opType: string, inputs: string[], outputs: string[], attrs: Record<string, AttrJs>): Node => ({
    name: `${base}_${opType}`,
    opType,
    domain: '',
    inputs,
    outputs,
    attrs,
    version: 13,
  });
  return [
    at('Shape', [x], [shape], {}),
    at('Flatten', [x], [flat], { axis }),
    at(n.opType, [flat], [y2], { axis: 1 }),
    at('Reshape', [y2, shape], [n.outputs[0]!], {}),
  ].map((m) => (m.opType === n.opType ? { ...m, name: n.name || m.name } : m));
};

/** CastLike(constant, like): a scalar bound of the same dtype as `like`. */
function castLikeConst(n: Node, c: AdaptContext, v: number, like: string, tag: string): { node: Node; name: string } {
  const k = c.constant(`${n.name || n.opType}_${tag}`, f32(v));
  const name = `${k}_cast`;
  return { node: { name: `${n.name || n.opType}_${tag}_cast`, opType: 'CastLike', domain: '', inputs: [k, like], outputs: [name], attrs: {}, version: 19 }, name };
}

const ADAPTERS: Record<string, Adapter> = {
  ReduceSum: reduceAxes(13),
  ReduceMean: reduceAxes(18),
  ReduceMax: reduceAxes(18),
  ReduceMin: reduceAxes(18),
  ReduceProd: reduceAxes(18),
  ReduceL1: reduceAxes(18),
  ReduceL2: reduceAxes(18),
  ReduceLogSum: reduceAxes(18),
  ReduceLogSumExp: reduceAxes(18),
  ReduceSumSquare: reduceAxes(18),
  Squeeze: (n, c) => void (n.version < 13 && attrToInput(n, c, 'axes', 1, ints)),
  Unsqueeze: (n, c) => void (n.version < 13 && attrToInput(n, c, 'axes', 1, ints)),
  Split(n, c) {
    if (n.version < 13) attrToInput(n, c, 'split', 1, ints);
    // before 18, no `split` meant equal parts, one per output
    if (n.version < 18 && !n.inputs[1] && n.attrs.num_outputs === undefined) n.attrs.num_outputs = n.outputs.length;
  },
  Pad(n, c) {
    if (n.version >= 11) return;
    attrToInput(n, c, 'pads', 1, ints);
    attrToInput(n, c, 'value', 2, (v) => f32(v as number));
    drop(n, 'paddings');
  },
  Slice(n, c) {
    if (n.version >= 10) return;
    const starts = n.attrs.starts;
    attrToInput(n, c, 'starts', 1, ints);
    attrToInput(n, c, 'ends', 2, ints);
    if (n.attrs.axes === undefined && starts !== undefined) n.attrs.axes = (starts as number[]).map((_, i) => i);
    attrToInput(n, c, 'axes', 3, ints);
  },
  Reshape: (n, c) => void (n.version < 5 && attrToInput(n, c, 'shape', 1, ints)),
  TopK: (n, c) => void (n.version < 10 && attrToInput(n, c, 'k', 1, (v) => i64([v as number]))),
  Clip(n, c) {
    drop(n, 'consumed_inputs');
    if (n.version >= 11) return;
    const extra: Node[] = [];
    for (const [attr, pos] of [['min', 1], ['max', 2]] as const) {
      const v = n.attrs[attr];
      if (v === undefined) continue;
      delete n.attrs[attr];
      const k = castLikeConst(n, c, v as number, n.inputs[0]!, attr);
      extra.push(k.node);
      while (n.inputs.length < pos) n.inputs.push('');
      n.inputs[pos] = k.name;
    }
    return [...extra, n];
  },
  Dropout(n, c) {
    drop(n, 'is_test', 'consumed_inputs');
    if (n.version < 12) attrToInput(n, c, 'ratio', 1, (v) => f32(v as number));
  },
  Cast(n) {
    // before opset 6 `to` was a type name ("FLOAT")
    const to = n.attrs.to;
    if (typeof to === 'string') n.attrs.to = TYPE_IDS[to.toUpperCase()] ?? to;
  },
  Concat(n) {
    if (n.attrs.axis === undefined && n.version < 4) n.attrs.axis = 1;
  },
  BatchNormalization: (n) => drop(n, 'spatial', 'is_test', 'consumed_inputs'),
  Scatter(n) {
    n.opType = 'ScatterElements';
  },
  Upsample(n, c) {
    // Upsample-7 (scales attribute) and -9 (scales input) are Resize with asymmetric coordinates
    const mode = (n.attrs.mode as string | undefined) ?? 'nearest';
    if (n.attrs.scales !== undefined) {
      const s = n.attrs.scales as number[];
      n.inputs[1] = c.constant(`${n.name || 'Upsample'}_scales`, { dtype: 'float32', dims: [s.length], data: Float32Array.from(s) });
    }
    return [
      {
        ...n,
        opType: 'Resize',
        inputs: [n.inputs[0]!, '', n.inputs[1]!],
        attrs: { mode, coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' },
        version: 19,
      },
    ];
  },
  Resize(n) {
    if (n.version >= 11) return;
    // Resize-10: (X, scales), asymmetric coordinates
    n.inputs = [n.inputs[0]!, '', n.inputs[1]!];
    n.attrs.coordinate_transformation_mode = 'asymmetric';
    n.attrs.nearest_mode = 'floor';
  },
  DFT(n, c) {
    // before 20, `axis` was an attribute (default 1); now it is input 2
    if (n.version >= 20) return;
    n.attrs.axis ??= 1;
    attrToInput(n, c, 'axis', 2, (v) => i64([v as number], true));
  },
  Softmax: coerced2d,
  LogSoftmax: coerced2d,
  Hardmax: coerced2d,
};

/** TensorProto.DataType ids by name, for Cast-1's string `to`. */
const TYPE_IDS: Record<string, number> = {
  FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8, BOOL: 9, FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13,
};

/** Binary ops before opset 7: `broadcast` (suffix-aligned, NumPy-compatible when no axis is given). */
const LEGACY_BROADCAST = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'And', 'Or', 'Xor', 'Equal', 'Greater', 'Less', 'Gemm', 'PRelu']);

/**
 * Inlines subgraph `g` (one input, one output) applied to value `input`: its
 * initializers become constants, its values get names under `prefix`; names it
 * takes from enclosing graphs stay. Returns the nodes and the output's name.
 */
function inlineGraph(g: Graph, input: string, prefix: string, c: AdaptContext): { nodes: Node[]; output: string } {
  if (g.inputs.length !== 1 || g.outputs.length !== 1) throw new MxError('INVALID_ARGUMENT', `subgraph '${g.name}' must have one input and one output, it has ${g.inputs.length} and ${g.outputs.length}`);
  const names = new Map<string, string>([[g.inputs[0]!.name, input]]);
  for (const [name, t] of g.initializers) names.set(name, c.constant(`${prefix}_${name}`, t));
  for (const m of g.nodes) for (const o of m.outputs) if (o) names.set(o, `${prefix}_${o}`);
  const rename = (v: string) => names.get(v) ?? v;
  const nodes = g.nodes.map((m) => ({ ...m, name: `${prefix}_${m.name || m.opType}`, inputs: m.inputs.map((v) => v && rename(v)), outputs: m.outputs.map((v) => v && rename(v)) }));
  return { nodes, output: rename(g.outputs[0]!.name) };
}

/**
 * FlexAttention: Y = prob_mod(Softmax(score_mod((Q K^T) * scale))) V over
 * [batch, heads, seq, size] inputs; query head h uses key/value head
 * h / (q_heads / kv_heads). The grouping is a reshape: Q [B, Hq, L, E] viewed as
 * [B, Hkv, (Hq / Hkv) * L, E] multiplies K^T of its key/value head directly.
 */
const flexAttention: Adapter = (n, c) => {
  const [q, k, v] = n.inputs as [string, string, string];
  const y = n.outputs[0]!;
  const p = `${y}__flex`;
  const nodes: Node[] = [];
  const node = (opType: string, inputs: string[], attrs: Record<string, AttrJs> = {}, out = `${p}_${nodes.length}_${opType}`): string => {
    nodes.push({ name: out, opType, domain: '', inputs, outputs: [out], attrs, version: 21 });
    return out;
  };
  const dims = (x: string, start: number, end: number) => node('Shape', [x], { start, end });
  const concat = (...parts: string[]) => node('Concat', parts, { axis: 0 });
  const minusOne = c.constant(`${p}_minus_one`, i64([-1]));
  const kvHeads = dims(k, 1, 2);
  const grouped = (x: string, last: string) => node('Reshape', [x, concat(dims(q, 0, 1), kvHeads, minusOne, last)]);
  const scores = node('MatMul', [grouped(q, dims(q, 3, 4)), node('Transpose', [k], { perm: [0, 1, 3, 2] })]);
  let s = node('Reshape', [scores, concat(dims(q, 0, 3), dims(k, 2, 3))]);
  const scale =
    n.attrs.scale !== undefined
      ? node('CastLike', [c.constant(`${p}_scale`, f32(n.attrs.scale as number)), q])
      : node('Reciprocal', [node('Sqrt', [node('CastLike', [dims(q, 3, 4), q])])]);
  s = node('Mul', [s, scale]);
  const mod = (attr: string, x: string): string => {
    const g = n.attrs[attr] as Graph | undefined;
    if (!g) return x;
    const r = inlineGraph(g, x, `${p}_${attr}`, c);
    nodes.push(...r.nodes);
    return r.output;
  };
  s = mod('score_mod', s);
  const probs = mod('prob_mod', node('Softmax', [s], { axis: -1 }));
  const out = node('MatMul', [grouped(probs, dims(k, 2, 3)), v]);
  node('Reshape', [out, concat(dims(q, 0, 3), dims(v, 3, 4))], {}, y);
  return nodes;
};

/** Adapters of other domains, keyed 'domain:op'. */
const DOMAIN_ADAPTERS: Record<string, Adapter> = {
  'ai.onnx.preview:FlexAttention': flexAttention,
};

/** The newest form of `n` (one or more nodes). Nodes outside ai.onnx pass through, except function ops expanded here. */
export function adaptNode(n: Node, c: AdaptContext): Node[] {
  if (n.domain !== '') return DOMAIN_ADAPTERS[`${n.domain}:${n.opType}`]?.(n, c) ?? [n];
  delete n.attrs.consumed_inputs; // opset < 6 memory hint, no meaning today
  if (LEGACY_BROADCAST.has(n.opType) && n.version < 7 && n.attrs.axis === undefined) delete n.attrs.broadcast;
  return ADAPTERS[n.opType]?.(n, c) ?? [n];
}
