/**
 * The graph IR: an ONNX GraphProto turned into plain JS (attributes decoded,
 * initializers read into host tensors, subgraphs converted recursively), with
 * nodes normalized to the newest opset (adapters.ts) and sorted topologically.
 * Names are kept: a graph refers to values by name, subgraphs may refer to the
 * values of the graphs around them.
 */
import type { DType } from '../dtype.js';
import { MxError } from '../errors.js';
import { adaptNode } from './adapters.js';
import {
  dtypeOf,
  num,
  onnx,
  readTensor,
  type AttributeProto,
  type GraphProto,
  type HostTensor,
  type NodeProto,
  type TypeProto,
  type ValueInfoProto,
} from './proto.js';

/** A value's declared type. Tensor dims: a number, a symbolic name, or null (unknown). */
export type ValueType =
  | { kind: 'tensor'; dtype: DType; shape?: (number | string | null)[] }
  | { kind: 'sequence'; elem?: ValueType }
  | { kind: 'optional'; elem?: ValueType }
  | { kind: 'unknown'; reason?: string };

export interface ValueInfo {
  readonly name: string;
  readonly type: ValueType;
}

/** A decoded attribute value. */
export type AttrJs = number | string | number[] | string[] | HostTensor | HostTensor[] | Graph | Graph[] | ValueType;

export interface Node {
  name: string;
  opType: string;
  /** '' for ai.onnx. */
  domain: string;
  /** Value names; '' marks an absent optional input or an unused output. */
  inputs: string[];
  outputs: string[];
  attrs: Record<string, AttrJs>;
  /** The opset version of the node's domain this node was written for. */
  version: number;
}

export interface Graph {
  name: string;
  /** Inputs the caller feeds (initializers excluded). */
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  initializers: Map<string, HostTensor>;
  nodes: Node[];
  /** Declared types of intermediate values (graph.value_info). */
  valueInfo: Map<string, ValueType>;
  /** Names used here (or in nested subgraphs) that an enclosing graph defines. */
  outerRefs: string[];
}

export const isGraph = (v: unknown): v is Graph => typeof v === 'object' && v !== null && 'nodes' in v && 'initializers' in v;

/** "node 'conv1' (Conv)": how messages name a node. */
export function nodeLabel(n: Pick<Node, 'name' | 'opType' | 'domain' | 'outputs'>): string {
  const op = n.domain ? `${n.domain}:${n.opType}` : n.opType;
  const id = n.name ? `'${n.name}'` : `producing '${n.outputs.find(Boolean) ?? '?'}'`;
  return `node ${id} (${op})`;
}

export const normDomain = (d: string | null | undefined): string => (!d || d === 'ai.onnx' ? '' : d);

export interface ConvertContext {
  /** Opset version per domain ('' = ai.onnx). */
  opsets: ReadonlyMap<string, number>;
  /** Folder of the model file, for external data. */
  baseDir?: string;
}

export function convertType(t: TypeProto | null | undefined, where: string): ValueType {
  if (!t) return { kind: 'unknown' };
  if (t.tensorType) {
    const tt = t.tensorType;
    const dtype = dtypeOf(tt.elemType ?? 0, where);
    if (!tt.shape) return { kind: 'tensor', dtype };
    const shape = (tt.shape.dim ?? []).map((d) => (d.dimParam ? d.dimParam : hasField(d, 'dimValue') ? num(d.dimValue) : null));
    return { kind: 'tensor', dtype, shape };
  }
  if (t.sequenceType) {
    const elem = t.sequenceType.elemType ? convertType(t.sequenceType.elemType, where) : undefined;
    return elem ? { kind: 'sequence', elem } : { kind: 'sequence' };
  }
  if (t.optionalType) {
    const elem = t.optionalType.elemType ? convertType(t.optionalType.elemType, where) : undefined;
    return elem ? { kind: 'optional', elem } : { kind: 'optional' };
  }
  if (t.sparseTensorType) throw new MxError('UNSUPPORTED', `${where}: sparse tensors are not supported`);
  if (t.mapType) throw new MxError('UNSUPPORTED', `${where}: map values are not supported`);
  return { kind: 'unknown' };
}

/** protobufjs puts defaults on the prototype: an own property means the field was present. */
const hasField = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

function convertValueInfo(v: ValueInfoProto, what: string): ValueInfo {
  const name = v.name ?? '';
  return { name, type: convertType(v.type, `${what} '${name}'`) };
}

const utf8 = new TextDecoder();
let attrTypes: typeof onnx.AttributeProto.AttributeType | undefined; // read on first use: loading the messages is slow

function convertAttr(a: AttributeProto, ctx: ConvertContext, where: string): AttrJs {
  const A = (attrTypes ??= onnx.AttributeProto.AttributeType);
  const name = a.name ?? '';
  const w = `${where}, attribute '${name}'`;
  let type = a.type ?? A.UNDEFINED;
  if (type === A.UNDEFINED) {
    // Old models leave `type` unset: the field that is present tells.
    if (hasField(a, 'f')) type = A.FLOAT;
    else if (hasField(a, 'i')) type = A.INT;
    else if (hasField(a, 's')) type = A.STRING;
    else if (hasField(a, 't')) type = A.TENSOR;
    else if (hasField(a, 'g')) type = A.GRAPH;
    else if (a.floats?.length) type = A.FLOATS;
    else if (a.ints?.length) type = A.INTS;
    else if (a.strings?.length) type = A.STRINGS;
    else if (a.tensors?.length) type = A.TENSORS;
    else if (a.graphs?.length) type = A.GRAPHS;
  }
  switch (type) {
    case A.FLOAT:
      return a.f ?? 0;
    case A.INT:
      return num(a.i);
    case A.STRING:
      return utf8.decode(a.s ?? new Uint8Array());
    case A.TENSOR:
      return readTensor(a.t!, ctx.baseDir);
    case A.GRAPH:
      return convertGraph(a.g!, ctx, `${w}`);
    case A.FLOATS:
      return (a.floats ?? []).slice();
    case A.INTS:
      return (a.ints ?? []).map(num);
    case A.STRINGS:
      return (a.strings ?? []).map((s) => utf8.decode(s));
    case A.TENSORS:
      return (a.tensors ?? []).map((t) => readTensor(t, ctx.baseDir));
    case A.GRAPHS:
      return (a.graphs ?? []).map((g) => convertGraph(g, ctx, w));
    case A.TYPE_PROTO:
      return convertType(a.tp, w);
    case A.SPARSE_TENSOR:
    case A.SPARSE_TENSORS:
      throw new MxError('UNSUPPORTED', `${w}: sparse tensor attributes are not supported`);
    case A.UNDEFINED:
      return [] as number[]; // no field present: an empty list
    default:
      throw new MxError('INVALID_ARGUMENT', `${w}: unknown attribute type ${type}`);
  }
}

function convertNode(p: NodeProto, index: number, ctx: ConvertContext, graphName: string): Node {
  const domain = normDomain(p.domain);
  const opType = p.opType ?? '';
  const base = { name: p.name ?? '', opType, domain, outputs: (p.output ?? []).slice() };
  const label = `${nodeLabel(base)} of graph '${graphName}'`;
  if (!opType) throw new MxError('INVALID_ARGUMENT', `${label.replace('()', `#${index}`)}: the node has no op_type`);
  const version = ctx.opsets.get(domain);
  if (version === undefined)
    throw new MxError('UNSUPPORTED', `${label}: domain '${domain || 'ai.onnx'}' is not imported by the model's opset_import`, { op: opType });
  const attrs: Record<string, AttrJs> = {};
  for (const a of p.attribute ?? []) {
    if (a.refAttrName) throw new MxError('UNSUPPORTED', `${label}: attribute '${a.name}' refers to a function attribute`, { op: opType });
    attrs[a.name ?? ''] = convertAttr(a, ctx, label);
  }
  return { ...base, inputs: (p.input ?? []).slice(), attrs, version };
}

let uid = 0;

/** Converts a GraphProto (recursively), applies the opset adapters and sorts the nodes. */
export function convertGraph(g: GraphProto, ctx: ConvertContext, where = 'the model'): Graph {
  const name = g.name || where;
  const initializers = new Map<string, HostTensor>();
  for (const t of g.initializer ?? []) initializers.set(t.name ?? '', readTensor(t, ctx.baseDir));
  if (g.sparseInitializer?.length) throw new MxError('UNSUPPORTED', `graph '${name}': sparse initializers are not supported`);
  const valueInfo = new Map<string, ValueType>();
  for (const v of g.valueInfo ?? []) {
    try {
      valueInfo.set(v.name ?? '', convertType(v.type, `value '${v.name}'`));
    } catch {
      // declared types of intermediates are hints: an unrepresentable one is found again where it is used
    }
  }
  const inputs = (g.input ?? []).filter((v) => !initializers.has(v.name ?? '')).map((v) => convertValueInfo(v, 'input'));
  const outputs = (g.output ?? []).map((v) => convertValueInfo(v, 'output'));

  const graph: Graph = { name, inputs, outputs, initializers, nodes: [], valueInfo, outerRefs: [] };
  const constant = (hint: string, t: HostTensor): string => {
    const n = `${hint}__mx${uid++}`;
    initializers.set(n, t);
    return n;
  };
  const nodes: Node[] = [];
  (g.node ?? []).forEach((p, i) => nodes.push(...adaptNode(convertNode(p, i, ctx, name), { constant })));
  graph.nodes = sortNodes(graph, nodes);
  return graph;
}

/** Names a node reads, including what its subgraphs take from the enclosing scopes. */
export function nodeReads(n: Node): string[] {
  const r = n.inputs.filter(Boolean);
  for (const v of Object.values(n.attrs)) {
    if (isGraph(v)) r.push(...v.outerRefs);
    else if (Array.isArray(v) && v.length && isGraph(v[0])) for (const g of v as Graph[]) r.push(...g.outerRefs);
  }
  return r;
}

/**
 * Kahn's order (stable: the file's order where it is already valid). Values
 * defined nowhere in this graph are recorded as outer references; the caller
 * of the top-level graph rejects them.
 */
function sortNodes(g: Graph, nodes: Node[]): Node[] {
  const defined = new Set<string>([...g.inputs.map((v) => v.name), ...g.initializers.keys()]);
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => n.outputs.forEach((o) => o && producer.set(o, i)));
  const outer = new Set<string>();
  const deps = nodes.map((n) => {
    const d = new Set<number>();
    for (const r of nodeReads(n)) {
      if (defined.has(r)) continue;
      const p = producer.get(r);
      if (p === undefined) outer.add(r);
      else d.add(p);
    }
    return d;
  });
  for (const o of g.outputs) if (!defined.has(o.name) && !producer.has(o.name)) outer.add(o.name);
  const users = nodes.map(() => [] as number[]);
  const pending = deps.map((d, i) => {
    for (const p of d) users[p]!.push(i);
    return d.size;
  });
  const ready: number[] = [];
  pending.forEach((c, i) => c === 0 && ready.push(i));
  const order: Node[] = [];
  // a min-heap would keep the file order exactly; a sorted ready list is fine for graph sizes seen
  while (ready.length) {
    ready.sort((a, b) => a - b);
    const i = ready.shift()!;
    order.push(nodes[i]!);
    for (const u of users[i]!) if (--pending[u]! === 0) ready.push(u);
  }
  if (order.length !== nodes.length) {
    const stuck = nodes.find((_, i) => pending[i]! > 0)!;
    throw new MxError('INVALID_ARGUMENT', `${nodeLabel(stuck)} in graph '${g.name}' is part of a cycle`, { op: stuck.opType });
  }
  g.outerRefs = [...outer];
  return order;
}

/** Rejects references to values no scope defines. */
export function checkDefined(g: Graph): void {
  if (!g.outerRefs.length) return;
  const name = g.outerRefs[0]!;
  const user = findUser(g, name);
  const what = user ? `${nodeLabel(user)} reads '${name}'` : `output '${name}' is read`;
  throw new MxError('INVALID_ARGUMENT', `${what}, but no node, input or initializer of graph '${g.name}' defines it`, {
    ...(user && { op: user.opType }),
    hint: 'the model is incomplete (a truncated file?) or was edited without updating its references',
  });
}

function findUser(g: Graph, name: string): Node | undefined {
  for (const n of g.nodes) {
    if (n.inputs.includes(name)) return n;
    for (const v of Object.values(n.attrs)) {
      const subs = isGraph(v) ? [v] : Array.isArray(v) && v.length && isGraph(v[0]) ? (v as Graph[]) : [];
      for (const s of subs) if (s.outerRefs.includes(name)) return findUser(s, name) ?? n;
    }
  }
  return undefined;
}

