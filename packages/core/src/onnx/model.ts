/**
 * Loading ONNX models: parse, convert, place, plan; `run()` replays the plan
 * made for the feeds' shapes (one plan per distinct set of input shapes).
 */
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DType } from '../dtype.js';
import { MxError } from '../errors.js';
import { markConstant, syncAll } from '../engine.js';
import { backendRecords, defaultDevice, devices as allDevices, registryVersion, use } from '../registry.js';
import { Tensor } from '../tensor.js';
import { Builder, NONE, disposePlan, disposeValue, isKnownOp, metaOf, metaOfType, runPlan, type Meta, type Plan, type Value } from './executor.js';
import { checkDefined, convertGraph, isGraph, nodeLabel, normDomain, type Graph, type Node, type ValueType } from './graph.js';
import { decodeModel, num } from './proto.js';
import { feedToTensor, hostToTensor, type TensorFeed } from './values.js';

export interface LoadOptions {
  /** Device to run on ('cpu', 'cuda:0'...); default: the first device of `backends`, else the default device. */
  device?: string;
  /**
   * Backends to use, most preferred first (names such as 'cpu'): every node runs
   * on one of them, the first that implements it and claims the call. Nodes run
   * on `device`; a node whose op it lacks there runs on another device of these
   * backends. Default: every available backend, in priority order. Two models of
   * one process may use different lists (e.g. ['onednn', 'cpu'] and ['cpu']).
   */
  backends?: readonly string[];
  /**
   * Fuse common node patterns when planning (Conv+BatchNormalization, Conv+Relu/
   * LeakyRelu/Clip into FusedConv, MatMul+Add into Gemm); default true. The environment variable MX_ONNX_FUSE=0 also turns it off.
   */
  fuse?: boolean;
}

/** An input or output of a model. Dims: numbers, symbolic names, or null where unknown. */
export interface ModelIO {
  readonly name: string;
  readonly kind: ValueType['kind'];
  readonly dtype?: DType;
  readonly shape?: readonly (number | string | null)[];
}

/** What a model file declares, without running anything. */
export interface ModelInfo {
  readonly irVersion: number;
  readonly producer: string;
  readonly opsets: Readonly<Record<string, number>>;
  readonly inputs: readonly ModelIO[];
  readonly outputs: readonly ModelIO[];
  readonly graph: Graph;
}

/** Every node, subgraphs included. */
export function* allNodes(g: Graph): Generator<Node> {
  for (const n of g.nodes) {
    yield n;
    for (const v of Object.values(n.attrs)) {
      if (isGraph(v)) yield* allNodes(v);
      else if (Array.isArray(v) && v.length && isGraph(v[0])) for (const s of v as Graph[]) yield* allNodes(s);
    }
  }
}

function io(name: string, t: ValueType): ModelIO {
  if (t.kind === 'tensor') return { name, kind: t.kind, dtype: t.dtype, ...(t.shape && { shape: t.shape }) };
  return { name, kind: t.kind };
}

/**
 * Parses a model (path or bytes) into its graph; nothing runs and no backend loads.
 * @example
 * const info = mx.onnx.parse('model.onnx');
 * console.log(info.inputs, info.opsets);
 */
export function parse(src: string | Uint8Array | ArrayBuffer): ModelInfo {
  let bytes: Uint8Array;
  let baseDir: string | undefined;
  if (typeof src === 'string') {
    try {
      bytes = readFileSync(src);
    } catch (e) {
      throw new MxError('INVALID_ARGUMENT', `cannot read model file '${src}': ${(e as Error).message}`, { cause: e });
    }
    baseDir = dirname(src);
  } else bytes = src instanceof Uint8Array ? src : new Uint8Array(src);
  if (bytes.length === 0) throw new MxError('INVALID_ARGUMENT', 'not a valid ONNX model: the file is empty');
  const m = decodeModel(bytes);
  if (!m.graph || (!m.graph.node?.length && !m.graph.output?.length))
    throw new MxError('INVALID_ARGUMENT', 'not a valid ONNX model: it has no graph', { hint: 'the file is truncated or corrupt, or is not an ONNX model' });
  const opsets = new Map<string, number>();
  for (const o of m.opsetImport ?? []) opsets.set(normDomain(o.domain), num(o.version));
  if (!opsets.has('')) opsets.set('', 1);
  const graph = convertGraph(m.graph, { opsets, ...(baseDir !== undefined && { baseDir }) }, m.graph.name || 'main');
  checkDefined(graph);
  return {
    irVersion: num(m.irVersion),
    producer: [m.producerName, m.producerVersion].filter(Boolean).join(' '),
    opsets: Object.fromEntries([...opsets].map(([d, v]) => [d || 'ai.onnx', v])),
    inputs: graph.inputs.map((v) => io(v.name, v.type)),
    outputs: graph.outputs.map((v) => io(v.name, v.type)),
    graph,
  };
}

/** A model's input value: a tensor feed, a list of them (sequence), or null (empty optional). */
export type Feed = TensorFeed | readonly Feed[] | null;
/** A model's output value: a tensor, a list (sequence output), or null (empty optional output). */
export type Output = Tensor | Output[] | null;

const MAX_PLANS = 16;

export class Model implements ModelInfo {
  readonly irVersion: number;
  readonly producer: string;
  readonly opsets: Readonly<Record<string, number>>;
  readonly inputs: readonly ModelIO[];
  readonly outputs: readonly ModelIO[];
  readonly graph: Graph;
  /** Devices nodes may run on, the model's device first. */
  readonly devices: readonly string[];
  private readonly plans = new Map<string, Promise<Plan>>();
  private readonly tensors = new Map<Graph, Map<string, Tensor>>();
  private disposed = false;

  /** @internal use load() */
  constructor(
    info: ModelInfo,
    devices: readonly string[],
    private readonly fuse = true,
    /** LoadOptions.backends: the only backends nodes may run on, in this order. */
    private readonly backends?: readonly string[],
  ) {
    this.irVersion = info.irVersion;
    this.producer = info.producer;
    this.opsets = info.opsets;
    this.inputs = info.inputs;
    this.outputs = info.outputs;
    this.graph = info.graph;
    this.devices = devices;
  }

  get device(): string {
    return this.devices[0]!;
  }

  private initializers(g: Graph): ReadonlyMap<string, Tensor> {
    let m = this.tensors.get(g);
    if (!m) {
      m = new Map();
      for (const [name, h] of g.initializers) {
        const t = hostToTensor(h, this.device);
        // kernels may cache data derived from constants (prepacked weights) by this id
        markConstant(t._storage);
        m.set(name, t);
      }
      this.tensors.set(g, m);
    }
    return m;
  }

  /** The plan for these input metas (made once per distinct shapes; concurrent runs share it). */
  async plan(metas: readonly Meta[]): Promise<Plan> {
    const sig = metas.map((m) => (m.kind === 'tensor' ? `${m.dtype}[${m.shape?.join(',') ?? '?'}]` : m.kind)).join(';');
    const cached = this.plans.get(sig);
    if (cached) {
      const p = await cached;
      if (p.version === registryVersion()) return p;
      if (this.plans.get(sig) === cached) {
        this.plans.delete(sig); // the set of backends changed: choose again
        disposePlan(p);
      }
      return this.plan(metas);
    }
    const b = new Builder(this.graph, { devices: this.devices, initializers: (g) => this.initializers(g), fuse: this.fuse, ...(this.backends && { backends: this.backends }) });
    const made = b.build(metas, []);
    if (this.plans.size >= MAX_PLANS) {
      const [oldest, old] = this.plans.entries().next().value as [string, Promise<Plan>];
      this.plans.delete(oldest);
      old.then(disposePlan, () => {});
    }
    this.plans.set(sig, made);
    try {
      return await made;
    } catch (e) {
      if (this.plans.get(sig) === made) this.plans.delete(sig);
      throw e;
    }
  }

  /**
   * Runs the model. Feeds by input name: mx Tensors, typed arrays with dims
   * (`{ data, dims }`), lists of them for sequence inputs, null for an empty
   * optional. Resolves when the outputs are computed; outputs belong to the caller
   * (dispose them). Sequence outputs come as arrays, empty optionals as null.
   * @example
   * const model = await mx.onnx.load('model.onnx');
   * const { y } = await model.run({ x: { data: new Float32Array(6), dims: [2, 3] } });
   * console.log(y.shape, await y.data());
   */
  async run(feeds: Readonly<Record<string, Feed | undefined>>): Promise<Record<string, Tensor>> {
    return (await this.runValues(feeds)) as Record<string, Tensor>;
  }

  /** Like run(), typed for models with sequence or optional outputs. */
  async runValues(feeds: Readonly<Record<string, Feed | undefined>>): Promise<Record<string, Output>> {
    if (this.disposed) throw new MxError('DISPOSED', 'the model was disposed');
    const owned: Tensor[] = [];
    try {
      const known = new Set(this.inputs.map((i) => i.name));
      for (const k of Object.keys(feeds))
        if (!known.has(k) && feeds[k] !== undefined)
          throw new MxError('INVALID_ARGUMENT', `unknown input '${k}'; the model's inputs are: ${[...known].join(', ')}`);
      const symbols = new Map<string, { dim: number; input: string }>();
      const values: Value[] = [];
      const metas: Meta[] = [];
      for (const inp of this.graph.inputs) {
        const v = this.feed(inp.name, inp.type, feeds[inp.name], owned);
        if (v instanceof Tensor) this.checkShape(inp.name, inp.type, v, symbols);
        values.push(v);
        metas.push(v instanceof Tensor ? metaOf(v) : metaOfType(inp.type));
      }
      const plan = await this.plan(metas);
      const outs = await runPlan(plan, values, []);
      try {
        await syncAll(); // kernel failures are reported here, not at the first read
      } catch (e) {
        for (const o of outs) disposeValue(o);
        throw e;
      }
      return Object.fromEntries(this.graph.outputs.map((o, i) => [o.name, toOutput(outs[i]!)]));
    } finally {
      for (const t of owned) t.dispose();
    }
  }

  private feed(name: string, type: ValueType, f: Feed | undefined, owned: Tensor[]): Value {
    const where = `input '${name}'`;
    if (type.kind === 'optional' && (f === null || f === undefined)) return NONE;
    if (f === undefined || f === null)
      throw new MxError('INVALID_ARGUMENT', `missing ${where}${type.kind === 'tensor' ? ` (${describe(type)})` : ''}`, {
        hint: `run() takes { ${this.inputs.map((i) => i.name).join(', ')} }`,
      });
    const elem = type.kind === 'optional' ? type.elem : type;
    if (elem?.kind === 'sequence') {
      if (!Array.isArray(f)) throw new MxError('INVALID_ARGUMENT', `${where} is a sequence: pass an array of tensors`);
      return (f as Feed[]).map((x, i) => this.feed(`${name}[${i}]`, elem.elem ?? { kind: 'unknown' }, x, owned));
    }
    if (Array.isArray(f)) throw new MxError('INVALID_ARGUMENT', `${where} takes a tensor, got an array`, { hint: 'pass { data: TypedArray, dims } or an mx Tensor' });
    const dtype = elem?.kind === 'tensor' ? elem.dtype : undefined;
    const { t, owned: own } = feedToTensor(f, dtype, this.device, where);
    if (own) owned.push(t);
    if (dtype && t.dtype !== dtype) throw new MxError('INVALID_ARGUMENT', `${where} must be ${dtype}, got ${t.dtype}${this.consumer(name)}`);
    return t;
  }

  /** " (read by node 'x' (Op))" for messages about an input. */
  private consumer(name: string): string {
    const n = this.graph.nodes.find((x) => x.inputs.includes(name));
    return n ? ` (read by ${nodeLabel(n)})` : '';
  }

  private checkShape(name: string, type: ValueType, t: Tensor, symbols: Map<string, { dim: number; input: string }>): void {
    const want = type.kind === 'tensor' ? type.shape : type.kind === 'optional' && type.elem?.kind === 'tensor' ? type.elem.shape : undefined;
    if (!want) return;
    const bad = (why: string) =>
      new MxError('INVALID_ARGUMENT', `input '${name}': expected shape [${want.map((d) => d ?? '?').join(',')}], got [${t.shape.join(',')}]: ${why}${this.consumer(name)}`);
    if (want.length !== t.rank) throw bad(`rank ${t.rank} instead of ${want.length}`);
    want.forEach((d, i) => {
      const got = t.shape[i]!;
      if (typeof d === 'number' && d !== got) throw bad(`dim ${i} is ${got}, the model needs ${d}`);
      if (typeof d === 'string') {
        const prev = symbols.get(d);
        if (prev && prev.dim !== got) throw bad(`dim ${i} ('${d}') is ${got}, but '${d}' is ${prev.dim} in input '${prev.input}'`);
        symbols.set(d, { dim: got, input: name });
      }
    });
  }

  /** Releases the model's weights and plans. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const p of this.plans.values()) p.then(disposePlan, () => {});
    this.plans.clear();
    for (const m of this.tensors.values()) for (const t of m.values()) t.dispose();
    this.tensors.clear();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

function describe(t: ValueType): string {
  return t.kind === 'tensor' ? `${t.dtype}[${t.shape?.map((d) => d ?? '?').join(',') ?? '...'}]` : t.kind;
}

function toOutput(v: Value): Output {
  if (v === NONE) return null;
  if (Array.isArray(v)) return v.map(toOutput);
  return v;
}

/** Devices for the load options: the model's device first, then where nodes may fall back. */
function chooseDevices(opts: LoadOptions): string[] {
  let list: string[];
  if (opts.backends?.length) {
    list = [];
    for (const name of opts.backends) {
      let rec = backendRecords().find((r) => r.name === name);
      if (!rec || rec.status !== 'available') {
        use(name); // loads it, or throws why it cannot run here
        rec = backendRecords().find((r) => r.name === name);
      }
      for (const d of rec?.backend?.devices() ?? []) if (!list.includes(d.id)) list.push(d.id);
    }
  } else list = allDevices().map((d) => d.id);
  const first = opts.device ?? list[0] ?? defaultDevice();
  return [first, ...list.filter((d) => d !== first)];
}

/**
 * Loads an ONNX model from a path or bytes.
 * @example
 * import * as mx from '@mx/core';
 * const model = await mx.onnx.load('resnet18.onnx', { device: 'cpu' });
 * console.log(model.inputs); // [{ name: 'input', kind: 'tensor', dtype: 'float32', shape: ['N', 3, 224, 224] }]
 * const { logits } = await model.run({ input: { data: new Float32Array(3 * 224 * 224), dims: [1, 3, 224, 224] } });
 */
export async function load(src: string | Uint8Array | ArrayBuffer, opts: LoadOptions = {}): Promise<Model> {
  const info = parse(src);
  for (const n of allNodes(info.graph))
    if (!isKnownOp(n.domain, n.opType))
      throw new MxError('UNSUPPORTED', `${nodeLabel(n)}: op ${n.domain ? `${n.domain}:` : ''}${n.opType} is not in mx's op table`, {
        op: n.opType,
        hint: 'run `mx inspect <model>` to list every op the model uses that mx lacks',
      });
  const model = new Model(info, chooseDevices(opts), opts.fuse !== false, opts.backends?.length ? [...opts.backends] : undefined);
  // Fully static inputs: plan now, so that shape errors surface at load.
  const metas = model.graph.inputs.map((i) => (i.type.kind === 'tensor' && i.type.shape?.every((d) => typeof d === 'number') ? ({ kind: 'tensor', dtype: i.type.dtype, shape: i.type.shape as number[] } as Meta) : undefined));
  if (metas.every((m) => m !== undefined)) {
    try {
      await model.plan(metas as Meta[]);
    } catch (e) {
      model.dispose();
      throw e;
    }
  }
  return model;
}
