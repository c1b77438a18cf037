/**
 * The graph executor. Planning walks a graph once for given input shapes: it
 * folds constants (nodes whose inputs are all constants, Shape/Size of known
 * shapes), runs each op's shape rule, picks the device and backend of each node
 * (falling back to another device only when the op is unsupported on the chosen
 * one), and computes when each value is last used. Running replays the plan:
 * per node it allocates the outputs and submits the kernel call, then disposes
 * the values that no later node reads.
 *
 * A node whose input shapes are unknown at planning time (data-dependent
 * shapes, loop-carried values) becomes a dynamic step that runs through the
 * engine's runOp (shape rule at run time). Control flow (If, Loop, Scan),
 * sequences and optionals are executor steps (control.ts).
 *
 * Value ownership: each slot of a running plan owns its value (a tensor handle,
 * a list of them for a sequence, NONE for an empty optional), except inputs and
 * constants, which the caller and the plan own. Outputs that are inputs or
 * constants are returned as new handles to the same storage.
 */
import { dtypeSize, readNumber, type DType } from '../dtype.js';
import { placeArena } from './arena.js';
import { MxError, isMxError, type MxErrorCode } from '../errors.js';
import { copyTo, createTensor, device, inferOp, isStrict, isSyncEngine, markConstant, onNativeQueue, runOp, submit, submitProgram, type DeviceState, type Storage, type TensorBase } from '../engine.js';
import { OPS } from '../ops/index.js';
import { kernelKey, type AttrValue, type InferInput, type OpSchema } from '../ops/schema.js';
import type { Backend, ClaimQuery, ProgramCall, ProgramTensor } from '../protocol.js';
import { registryVersion } from '../registry.js';
import { Tensor } from '../tensor.js';
import { EXEC_OPS } from './control.js';
import { isGraph, nodeLabel, normDomain, type Graph, type Node, type ValueType } from './graph.js';
import { dtypeOf, isHostTensor } from './proto.js';

// ------------------------------------------------------------------ values

/** An empty optional. */
export const NONE: unique symbol = Symbol('mx.onnx.none');
export type Value = Tensor | Value[] | typeof NONE;

export function disposeValue(v: Value | undefined): void {
  if (v instanceof Tensor) v.dispose();
  else if (Array.isArray(v)) for (const x of v) disposeValue(x);
}

/** A new handle to the same data (a tensor shares its storage). */
export function alias(v: Value): Value {
  if (v instanceof Tensor) return copyTo(v, v.device) as Tensor;
  if (Array.isArray(v)) return v.map(alias);
  return v;
}

/** What planning knows of a slot. */
export interface Meta {
  kind: 'tensor' | 'sequence' | 'optional' | 'unknown';
  /** Known for tensors whose shape is static in this plan. */
  shape?: readonly number[];
  dtype?: DType;
}
const UNKNOWN: Meta = { kind: 'unknown' };

export const metaOf = (t: Tensor): Meta => ({ kind: 'tensor', shape: t.shape, dtype: t.dtype });
export function metaOfType(t: ValueType | undefined): Meta {
  if (!t) return UNKNOWN;
  if (t.kind === 'tensor') return { kind: 'tensor', dtype: t.dtype };
  return { kind: t.kind };
}

// ------------------------------------------------------------------ plans

export interface Step {
  /** Slots read and written (-1: an unused output), for liveness. */
  readonly reads: readonly number[];
  readonly writes: readonly number[];
  /** Filled by the planner: slots to dispose after this step. */
  free: number[];
  readonly label: string;
  readonly op: string;
  /** `fast`: this run replays programs (see planPrograms); other steps ignore it. */
  run(v: (Value | undefined)[], fast?: boolean): void | Promise<void>;
}

export interface Plan {
  steps: Step[];
  nSlots: number;
  /** Slots of the formal inputs, then of the captured outer values (non-constant ones). */
  inputSlots: number[];
  captureSlots: number[];
  /** Outer slot (in the enclosing plan) of each capture. */
  captureFrom: number[];
  outputSlots: number[];
  /** Constant slots and their values. */
  constSlots: number[];
  constVals: Tensor[];
  /** Constants this plan made (folded values); disposed with the plan. */
  owned: Tensor[];
  outputMetas: Meta[];
  /** Registry version the backend choices were made under. */
  version: number;
  /** Child plans (subgraphs), disposed with this one. */
  children: Plan[];
  /** Input, capture and constant slots: values a run does not own. */
  borrowed: Set<number>;
  /** Some steps are ProgramSteps (planPrograms). */
  programs: boolean;
  /** Bytes of the arena that program steps place intermediates in. */
  arenaBytes: number;
  /** The arena, allocated on the first run that replays programs; released with the plan. */
  arena?: Storage;
  /** A run that replays programs is in progress (a concurrent run of this plan takes the per-step path). */
  busy: boolean;
}

export interface PlanOptions {
  /** Devices in order of preference; the first is the model's device. */
  devices: readonly string[];
  /** The initializers of a (sub)graph as tensors on the model's device. */
  initializers(g: Graph): ReadonlyMap<string, Tensor>;
  /** Fuse node patterns (see Builder.fuse); default true, MX_ONNX_FUSE=0 turns it off. */
  fuse?: boolean;
  /** Backends nodes may run on, most preferred first (LoadOptions.backends); default: every one in use. */
  backends?: readonly string[];
}

/** A slot as planning sees it. */
export interface SlotInfo {
  slot: number;
  meta: Meta;
  const?: Tensor;
  /** Device of the value when known. */
  device?: string;
}

const NO_FOLD = new Set(['RandomNormal', 'RandomUniform', 'RandomNormalLike', 'RandomUniformLike', 'Multinomial', 'Bernoulli', 'Dropout']);

const schemaIndex = new Map<string, OpSchema>();
function schemaFor(domain: string, op: string): OpSchema | undefined {
  if (schemaIndex.size === 0) for (const s of Object.values(OPS) as OpSchema[]) schemaIndex.set(`${normDomain(s.domain)}:${s.name}`, s);
  return schemaIndex.get(`${domain}:${op}`);
}

/** Whether the op of a node is known (executor op or op table). */
export function isKnownOp(domain: string, op: string): boolean {
  return (domain === '' && op in EXEC_OPS) || schemaFor(domain, op) !== undefined;
}
export function lookupSchema(domain: string, op: string): OpSchema | undefined {
  return schemaFor(domain, op);
}

const views = new Map<OpSchema, boolean>();
/**
 * Whether an op needs no kernel: an executor op, or a view (its shape rule
 * answers `viewOf` for a probe call on a [1,1] float32 input, value inputs [1]).
 */
export function needsNoKernel(domain: string, op: string): boolean {
  if (domain === '' && op in EXEC_OPS) return true;
  const s = schemaFor(domain, op);
  if (!s) return false;
  let v = views.get(s);
  if (v === undefined) {
    try {
      const ins = s.inputs.filter((i) => !i.optional).map((i) => (i.value ? { shape: [1], dtype: 'int64' as DType } : { shape: [1, 1], dtype: 'float32' as DType }));
      const values = s.inputs.map((i) => (i.value ? [1] : undefined));
      v = inferOp(s, ins, values).res.viewOf !== undefined;
    } catch {
      v = false;
    }
    views.set(s, v);
  }
  return v;
}

/** The message of an MxError without its "[op ...]" prefix and hint (they are added again). */
function bareMessage(e: MxError): string {
  let m = e.message;
  if (m.startsWith('[')) m = m.slice(m.indexOf('] ') + 2);
  const h = m.indexOf('\n  hint: ');
  return h >= 0 ? m.slice(0, h) : m;
}

/** Errors that already name their node (a subgraph's node names its enclosing nodes too). */
const labeled = new WeakSet<object>();

/** An error that names the node. */
export function nodeError(label: string, op: string, e: unknown, code?: MxErrorCode): MxError {
  const err = nodeError1(label, op, e, code);
  labeled.add(err);
  return err;
}
function nodeError1(label: string, op: string, e: unknown, code?: MxErrorCode): MxError {
  if (isMxError(e)) {
    if (labeled.has(e) || e.message.includes(label)) return e;
    return new MxError(code ?? e.code, `${label}: ${bareMessage(e)}`, {
      op,
      ...(e.backend && { backend: e.backend }),
      ...(e.device && { device: e.device }),
      ...(e.hint && { hint: e.hint }),
      cause: e,
    });
  }
  return new MxError(code ?? 'INTERNAL', `${label}: ${(e as Error)?.message ?? String(e)}`, { op, cause: e });
}

const numbersCache = new WeakMap<Tensor, number[]>();
/** The elements of a (constant) tensor as numbers. */
/**
 * The values of constant c as one per channel (axis 1) of a tensor of `shape`
 * that c broadcasts into without changing it (a single value repeats), or
 * undefined when c is anything else or of another dtype.
 */
async function perChannel(c: SlotInfo, shape: readonly number[], dtype: string): Promise<number[] | undefined> {
  const cs = c.meta.shape;
  if (!c.const || !cs || c.meta.dtype !== dtype || cs.length > shape.length || shape.length < 2) return undefined;
  const size = cs.reduce((a, b) => a * b, 1);
  const channels = shape[1]!;
  if (size === 1) return new Array<number>(channels).fill((await numbersOf(c.const))[0]!);
  const at = cs.length - (shape.length - 1); // c's dim aligned with axis 1
  if (at < 0 || cs[at] !== channels || size !== channels) return undefined;
  return numbersOf(c.const);
}

export async function numbersOf(t: Tensor): Promise<number[]> {
  let n = numbersCache.get(t);
  if (!n) {
    const a = await t.data();
    n = Array.from({ length: t.size }, (_, i) => readNumber(t.dtype, a, i));
    numbersCache.set(t, n);
  }
  return n;
}

/**
 * Builds plans. One builder per (sub)graph planning; `scope` resolves names of
 * enclosing graphs (captures).
 */
export class Builder {
  readonly steps: Step[] = [];
  private nSlots = 0;
  private readonly names = new Map<string, SlotInfo>();
  readonly owned: Tensor[] = [];
  readonly children: Plan[] = [];
  private readonly constSlots = new Map<number, Tensor>();
  readonly captureSlots: number[] = [];
  readonly captureFrom: number[] = [];
  private readonly debug = process.env.MX_DEBUG_PLACEMENT === '1';
  private readonly initializers: ReadonlyMap<string, Tensor>;
  /** How many node inputs (graph outputs and subgraph references count twice) read each name. */
  private readonly uses = new Map<string, number>();
  /** Fusion: kernel steps of Conv and MatMul nodes, by output slot. */
  private readonly fusable = new Map<number, Fusable>();
  /** Conv steps (Conv+BN ones too) whose output one activation node alone reads. */
  private readonly activatable = new Map<number, KernelStep>();
  private readonly fuse: boolean;

  constructor(
    readonly graph: Graph,
    readonly opts: PlanOptions,
    /** Resolves a name of an enclosing graph (undefined at the top level). */
    private readonly outer?: (name: string) => SlotInfo | undefined,
    /** Appended to node labels in messages ("in the body of node 'loop' (Loop)"). */
    readonly where = '',
  ) {
    this.initializers = opts.initializers(graph);
    this.fuse = opts.fuse !== false && process.env.MX_ONNX_FUSE !== '0';
    const use = (name: string, k = 1) => name && this.uses.set(name, (this.uses.get(name) ?? 0) + k);
    for (const n of graph.nodes) {
      for (const i of n.inputs) use(i);
      for (const v of Object.values(n.attrs)) for (const g of Array.isArray(v) ? v : [v]) if (isGraph(g)) for (const r of g.outerRefs) use(r, 2);
    }
    for (const o of graph.outputs) use(o.name, 2);
  }

  get device(): string {
    return this.opts.devices[0]!;
  }

  newSlot(): number {
    return this.nSlots++;
  }

  define(name: string, info: SlotInfo): void {
    if (name) this.names.set(name, info);
  }

  /** A constant value in a fresh slot. `owned`: the plan disposes it. */
  constant(t: Tensor, owned: boolean): SlotInfo {
    const slot = this.newSlot();
    this.constSlots.set(slot, t);
    if (owned) this.owned.push(t);
    return { slot, meta: metaOf(t), const: t, device: t.device };
  }

  lookup(name: string): SlotInfo | undefined {
    let s = this.names.get(name);
    if (s) return s;
    const init = this.initializers.get(name);
    if (init) {
      s = this.constant(init, false);
    } else {
      const o = this.outer?.(name);
      if (!o) return undefined;
      if (o.const) s = this.constant(o.const, false);
      else {
        s = { slot: this.newSlot(), meta: o.meta, ...(o.device && { device: o.device }) };
        this.captureSlots.push(s.slot);
        this.captureFrom.push(o.slot);
      }
    }
    this.names.set(name, s);
    return s;
  }

  label(n: Node): string {
    return `${nodeLabel(n)}${this.where}`;
  }

  /** Plans a subgraph whose formal inputs have the given metas; captures resolve through this builder. */
  async subplan(g: Graph, formal: readonly Meta[], where: string): Promise<Plan> {
    const b = new Builder(g, this.opts, (name) => this.lookup(name), where);
    const p = await b.build(formal, g.inputs.map(() => undefined));
    this.children.push(p);
    return p;
  }

  /** Plans the graph: formal inputs get the given metas (and constant values, where given). */
  async build(formal: readonly Meta[], consts: readonly (Tensor | undefined)[]): Promise<Plan> {
    try {
      return await this.buildPlan(formal, consts);
    } catch (e) {
      for (const t of this.owned) t.dispose();
      for (const c of this.children) disposePlan(c);
      throw e;
    }
  }

  private async buildPlan(formal: readonly Meta[], consts: readonly (Tensor | undefined)[]): Promise<Plan> {
    const g = this.graph;
    const inputSlots = g.inputs.map((v, i) => {
      const c = consts[i];
      if (c) return this.define(v.name, this.constant(c, false)), -1;
      const slot = this.newSlot();
      this.define(v.name, { slot, meta: formal[i] ?? UNKNOWN, device: this.device });
      return slot;
    });
    for (const n of g.nodes) await this.node(n);
    const outs = g.outputs.map((o) => {
      const s = this.lookup(o.name);
      if (!s) throw new MxError('INVALID_ARGUMENT', `graph '${g.name}': output '${o.name}' is not produced by any node`);
      return s;
    });
    const plan: Plan = {
      steps: this.steps,
      nSlots: this.nSlots,
      inputSlots,
      captureSlots: this.captureSlots,
      captureFrom: this.captureFrom,
      outputSlots: outs.map((s) => s.slot),
      constSlots: [],
      constVals: [],
      owned: [],
      outputMetas: outs.map((s) => s.meta),
      version: registryVersion(),
      children: this.children,
      borrowed: new Set(),
      programs: false,
      arenaBytes: 0,
      busy: false,
    };
    // Keep the constants a step reads or an output returns; folded intermediates go.
    const read = new Set<number>(plan.outputSlots);
    for (const s of this.steps) for (const r of s.reads) read.add(r);
    const used = new Set<Tensor>(constsOf(this.children));
    for (const [slot, t] of this.constSlots) {
      if (!read.has(slot)) continue;
      plan.constSlots.push(slot);
      plan.constVals.push(t);
      markConstant(t._storage);
      used.add(t);
    }
    for (const t of this.owned) {
      if (used.has(t)) plan.owned.push(t);
      else t.dispose();
    }
    plan.borrowed = new Set([...plan.inputSlots, ...plan.captureSlots, ...plan.constSlots]);
    computeLiveness(plan);
    planPrograms(plan);
    return plan;
  }

  // ---------------------------------------------------------------- nodes

  private async node(n: Node): Promise<void> {
    const label = this.label(n);
    const ins = n.inputs.map((name) => {
      if (!name) return undefined;
      const s = this.lookup(name);
      if (!s) throw new MxError('INVALID_ARGUMENT', `${label}: input '${name}' is not defined`, { op: n.opType });
      return s;
    });
    const exec = n.domain === '' ? EXEC_OPS[n.opType] : undefined;
    try {
      if (exec) {
        const handled = await exec(this, n, ins, label);
        if (handled !== false) return;
      }
      const schema = schemaFor(n.domain, n.opType);
      if (!schema)
        throw new MxError('UNSUPPORTED', `${label}: op ${n.domain ? `${n.domain}:` : ''}${n.opType} is not in mx's op table`, {
          op: n.opType,
          hint: 'see `mx inspect <model>` for every op the model uses and which ones mx lacks',
        });
      await this.tableOp(n, schema, ins, label);
    } catch (e) {
      throw nodeError(label, n.opType, e);
    }
  }

  /** Defines the node's outputs: constants, or slots with metas. Returns output slots (-1 for unused). */
  defineOutputs(n: Node, metas: readonly Meta[], device?: string): number[] {
    return n.outputs.map((name, i) => {
      if (!name) return -1;
      const slot = this.newSlot();
      this.define(name, { slot, meta: metas[i] ?? UNKNOWN, ...(device && { device }) });
      return slot;
    });
  }

  defineConstants(n: Node, values: readonly Value[]): void {
    n.outputs.forEach((name, i) => {
      const v = values[i];
      if (!(v instanceof Tensor)) return void disposeValue(v);
      if (name) this.define(name, this.constant(v, true));
      else v.dispose();
    });
  }

  private async tableOp(n: Node, schema: OpSchema, ins: (SlotInfo | undefined)[], label: string): Promise<void> {
    const attrs = schemaAttrs(n, schema, label);
    // Trailing optional outputs that nothing reads are not asked for, so that
    // their kernels skip them and views stay views (Dropout's mask, MaxPool's
    // Indices). A variadic output's count is its meaning (Split): kept.
    let kept = n.outputs.length;
    for (let sp; kept > 0 && (sp = schema.outputs[Math.min(kept - 1, schema.outputs.length - 1)]!).optional && !sp.variadic && !this.uses.has(n.outputs[kept - 1]!); ) kept--;
    if (kept < n.outputs.length) n = { ...n, outputs: n.outputs.slice(0, kept) };
    const nOut = Math.max(n.outputs.length, schema.outputs.filter((o) => !o.optional).length);
    const specs = schema.inputs;
    const specAt = (i: number) => specs[Math.min(i, specs.length - 1)]!;
    while (ins.length && ins[ins.length - 1] === undefined) ins.pop();
    for (const s of ins) if (s && s.meta.kind !== 'tensor' && s.meta.kind !== 'unknown') throw new MxError('INVALID_ARGUMENT', `${label}: input is a ${s.meta.kind}, the op takes tensors`);

    // -- constant folding
    if (!NO_FOLD.has(n.opType) && ins.every((s) => s === undefined || s.const)) {
      const outs = runOp(schema, ins.map((s) => s?.const), attrs, { outputs: nOut }) as Tensor[];
      this.defineConstants(n, outs);
      return;
    }

    // -- static: every kernel input's shape known, every value input constant
    const isStatic = ins.every((s, i) => s === undefined || (specAt(i).value ? !!s.const : s.meta.shape !== undefined && s.meta.dtype !== undefined));
    if (!isStatic) {
      const outSlots = this.defineOutputs(n, []);
      this.steps.push(new DynamicStep(label, schema, ins.map((s) => s?.slot ?? -1), ins.map((s, i) => !!s && !!specAt(i).value), attrs, nOut, outSlots, this.device));
      return;
    }
    const metas: (InferInput | undefined)[] = [];
    const values: (number[] | undefined)[] = [];
    for (let i = 0; i < ins.length; i++) {
      const s = ins[i];
      if (!s) {
        metas.push(undefined);
        values.push(undefined);
        continue;
      }
      metas.push({ shape: s.meta.shape!, dtype: s.meta.dtype! });
      values.push(specAt(i).value ? await numbersOf(s.const!) : undefined);
    }
    if (this.fuse && n.domain === '' && (await this.fused(n, ins, attrs, label))) return;
    const { res, kernelAttrs } = inferOp(schema, metas, values, attrs, nOut);
    const outMetas: Meta[] = res.outputs.map((o) => ({ kind: 'tensor', shape: o.shape, dtype: o.dtype }));

    if (res.viewOf !== undefined) {
      const src = ins[res.viewOf]!;
      const o = res.outputs[0]!;
      const [slot] = this.defineOutputs(n, outMetas, src.device);
      this.steps.push(new ViewStep(label, n.opType, src.slot, slot!, o.shape, o.dtype));
      return;
    }

    // -- kernel key and placement
    const binding: Record<string, DType> = {};
    ins.forEach((s, i) => {
      const sp = specAt(i);
      if (s && !sp.value && schema.types[sp.type]) binding[sp.type] ??= s.meta.dtype!;
    });
    res.outputs.forEach((o, i) => {
      const sp = schema.outputs[Math.min(i, schema.outputs.length - 1)]!;
      if (schema.types[sp.type]) binding[sp.type] ??= o.dtype;
    });
    const key = kernelKey(schema, binding);
    const { dev, backend } = this.place(schema, key, label, () => ({ op: schema.name, domain: schema.domain ?? '', key, inputs: metas, attrs: kernelAttrs }));

    const inSlots = await Promise.all(
      ins.map(async (s, i) => {
        if (!s || specAt(i).value) return -1;
        return (await this.onDevice(s, dev.id, label, i)).slot;
      }),
    );
    const outSlots = this.defineOutputs(n, outMetas, dev.id);
    const step = new KernelStep(label, dev, backend, schema, key, kernelAttrs, inSlots, outSlots, res.outputs.map((o) => o.shape), res.outputs.map((o) => o.dtype), metas);
    this.steps.push(step);
    const foldable = n.opType === 'Conv' || n.opType === 'MatMul' || (n.opType === 'BatchNormalization' && (attrs.training_mode ?? 0) === 0);
    if (this.fuse && n.domain === '' && foldable && outSlots[0]! >= 0 && this.uses.get(n.outputs[0]!) === 1) this.fusable.set(outSlots[0]!, { step, ins });
    if (this.fuse && n.domain === '' && n.opType === 'Conv' && outSlots[0]! >= 0 && this.uses.get(n.outputs[0]!) === 1) this.activatable.set(outSlots[0]!, step);
  }

  // ---------------------------------------------------------------- fusion

  /**
   * Fuses node `n` with the kernel step that makes its input, when that step's
   * output is read by `n` alone (not a graph output, not read by a subgraph):
   * the producer's step is replaced by one fused step at `n`'s place (every
   * input of the producer is computed by then). Patterns:
   * - Conv -> BatchNormalization (inference, constant W, B, statistics): a Conv
   *   with W' = W * s[oc], B' = (B - mean) * s + bias, s = scale / sqrt(var + eps),
   *   computed in float64 and rounded once to the weights' dtype; W' and B' are
   *   constants this plan owns (constant ids, prepacked like any weight).
   * - Conv (or Conv+BatchNormalization) -> Mul or Add of a constant with one
   *   value per output channel (or one value): folded the same way (W' = W * s,
   *   B' = B * s + a); a BatchNormalization that no Conv absorbed -> such a Mul
   *   or Add: folded into its scale and bias. (Models converted from Caffe2
   *   write every BatchNormalization as BN -> Mul -> Add.)
   * - MatMul(A 2-D, B 2-D) -> Add(C of shape [N] or [1,N]): Gemm(A, B, C), when
   *   the MatMul's backend implements Gemm for that dtype.
   * Returns whether `n` was fused.
   */
  private async fused(n: Node, ins: readonly (SlotInfo | undefined)[], attrs: Record<string, unknown>, label: string): Promise<boolean> {
    if (n.outputs.filter(Boolean).length !== 1 || !n.outputs[0]) return false;
    if (n.opType === 'BatchNormalization') {
      const f = ins[0] && this.fusable.get(ins[0].slot);
      if (!f || f.step.op !== 'Conv' || (attrs.training_mode ?? 0) !== 0) return false;
      const m = f.step.shapes[0]![1]!;
      const stats = ins.slice(1, 5).map((s) => s?.const);
      if (stats.length !== 4 || !stats.every((t) => t && t.size === m && (t.dtype === 'float32' || t.dtype === 'float64'))) return false;
      const [scale, bias, mean, vr] = await Promise.all(stats.map((t) => numbersOf(t!)));
      const eps = (attrs.epsilon as number | undefined) ?? 1e-5;
      const mul = scale!.map((v, oc) => v / Math.sqrt(vr![oc]! + eps));
      return this.foldAffine(n, f, label, mul, bias!.map((v, oc) => v - mean![oc]! * mul[oc]!));
    }
    if ((n.opType === 'Mul' || n.opType === 'Add') && ins.length === 2) {
      for (const i of [0, 1]) {
        const f = ins[i] && this.fusable.get(ins[i]!.slot);
        const c = ins[1 - i];
        if (!f || (f.step.op !== 'Conv' && f.step.op !== 'BatchNormalization') || !c?.const) continue;
        const shape = f.step.shapes[0]!;
        const per = await perChannel(c, shape, f.step.dtypes[0]!);
        if (!per) continue;
        const ok = n.opType === 'Mul' ? await this.foldAffine(n, f, label, per, undefined) : await this.foldAffine(n, f, label, undefined, per);
        if (ok) return true;
      }
    }
    if (n.opType === 'Relu' || n.opType === 'LeakyRelu' || n.opType === 'Clip') {
      const s = ins[0] && this.activatable.get(ins[0].slot);
      if (!s) return false;
      let params: number[] = [];
      if (n.opType === 'LeakyRelu') params = [(attrs.alpha as number | undefined) ?? 0.01];
      if (n.opType === 'Clip') {
        const [lo, hi] = [ins[1], ins[2]];
        if ((lo && !lo.const) || (hi && !hi.const)) return false;
        params = [lo ? (await numbersOf(lo.const!))[0]! : -Infinity, hi ? (await numbersOf(hi.const!))[0]! : Infinity];
      }
      const fusedConv = OPS.FusedConv as OpSchema;
      try {
        if (s.dev.pick(fusedConv, s.key, this.claimOf(fusedConv, s), this.opts.backends) !== s.backend) return false;
      } catch {
        return false;
      }
      this.replace(n, s, label, fusedConv, s.key, { ...s.attrs, activation: n.opType, activation_params: params }, [...s.ins], [...s.inMetas]);
      return true;
    }
    if (n.opType === 'Add' || (n.opType === 'Sum' && ins.length === 2)) {
      // Conv -> Add or Sum (a residual of the output's shape): FusedConv(X, W, B, Z, Identity); a Relu after it fuses in too.
      for (const i of [0, 1]) {
        const s = ins[i] && this.activatable.get(ins[i]!.slot);
        const z = ins[1 - i];
        if (!s || s.op !== 'Conv' || !z || z.meta.dtype !== s.dtypes[0] || z.meta.shape?.join() !== s.shapes[0]!.join()) continue;
        const fusedConv = OPS.FusedConv as OpSchema;
        try {
          if (s.dev.pick(fusedConv, s.key, this.claimOf(fusedConv, s), this.opts.backends) !== s.backend) continue;
        } catch {
          continue;
        }
        const zSlot = (await this.onDevice(z, s.dev.id, label, 1 - i)).slot;
        const zMeta = { shape: z.meta.shape!, dtype: z.meta.dtype! };
        this.replace(n, s, label, fusedConv, s.key, { ...s.attrs, activation: 'Identity', activation_params: [] }, [s.ins[0]!, s.ins[1]!, s.ins[2] ?? -1, zSlot], [s.inMetas[0], s.inMetas[1], s.inMetas[2], zMeta]);
        return true;
      }
      for (const i of n.opType === 'Add' ? [0, 1] : []) {
        const f = ins[i] && this.fusable.get(ins[i]!.slot);
        const c = ins[1 - i];
        if (!f || f.step.op !== 'MatMul' || !c) continue;
        const [a, b] = f.step.inMetas;
        const shape = f.step.shapes[0]!;
        const cs = c.meta.shape;
        if (a?.shape.length !== 2 || b?.shape.length !== 2 || !cs || c.meta.dtype !== a.dtype) continue;
        if (!((cs.length === 1 && cs[0] === shape[1]) || (cs.length === 2 && cs[0] === 1 && cs[1] === shape[1]))) continue;
        const gemm = OPS.Gemm as OpSchema;
        const key = kernelKey(gemm, { T: a.dtype });
        try {
          if (f.step.dev.pick(gemm, key, undefined, this.opts.backends) !== f.step.backend) continue;
        } catch {
          continue;
        }
        const cm = { shape: cs, dtype: a.dtype };
        const { kernelAttrs } = inferOp(gemm, [a, b, cm], undefined, {});
        const cSlot = (await this.onDevice(c, f.step.dev.id, label, 1 - i)).slot;
        this.replace(n, f.step, label, gemm, key, kernelAttrs, [f.step.ins[0]!, f.step.ins[1]!, cSlot], [a, b, cm]);
        return true;
      }
    }
    return false;
  }

  /**
   * Folds y = x * mul[c] + add[c] (per channel c of axis 1; either may be
   * absent) into the step f that makes x: a Conv's constant weights and bias
   * (W' = W * mul, B' = B * mul + add) or a BatchNormalization's constant scale
   * and bias (scale' = scale * mul, bias' = bias * mul + add). Computed in
   * float64 and rounded once to the dtype; the new constants are this plan's.
   * The step that replaces f is fusable again (a chain folds link by link).
   */
  private async foldAffine(n: Node, f: Fusable, label: string, mul: readonly number[] | undefined, add: readonly number[] | undefined): Promise<boolean> {
    const s = f.step;
    const conv = s.op === 'Conv';
    const [w, b] = [f.ins[1]?.const, f.ins[2]?.const]; // Conv: W and B (optional); BatchNormalization: scale and bias
    const m = s.shapes[0]![1]!;
    if (!w || (f.ins[2] && !b) || (!conv && !b) || (w.dtype !== 'float32' && w.dtype !== 'float64') || (b && b.dtype !== w.dtype)) return false;
    if (!conv && (w.size !== m || b!.size !== m)) return false;
    const per = w.size / m;
    const [wd, bd] = [await numbersOf(w), b ? await numbersOf(b) : undefined];
    const make = (shape: number[], fill: (i: number) => number) =>
      this.constant(createTensor(s.dev, shape, w.dtype, (bytes) => {
        const size = shape.reduce((x, y) => x * y, 1);
        const out = w.dtype === 'float32' ? new Float32Array(bytes.buffer, bytes.byteOffset, size) : new Float64Array(bytes.buffer, bytes.byteOffset, size);
        for (let i = 0; i < size; i++) out[i] = fill(i);
      }) as Tensor, true);
    const w2 = mul ? make([...w.shape], (j) => wd[j]! * mul[Math.floor(j / per)]!) : undefined;
    const b2 = make([m], (oc) => (bd?.[oc] ?? 0) * (mul?.[oc] ?? 1) + (add?.[oc] ?? 0));
    const meta = (t: Tensor) => ({ shape: [...t.shape], dtype: t.dtype });
    // x and (BatchNormalization) mean and var as the step had them; W or scale unchanged when only adding
    const slots = [s.ins[0]!, w2 ? w2.slot : s.ins[1]!, b2.slot, ...s.ins.slice(3)];
    const metas = [s.inMetas[0], meta(w), meta(b2.const!), ...s.inMetas.slice(3)];
    const step = this.replace(n, s, label, s.schema, s.key, s.attrs, slots, metas);
    if (step.writes[0]! >= 0 && this.uses.get(n.outputs[0]!) === 1) this.fusable.set(step.writes[0]!, { step, ins: [f.ins[0], w2 ?? f.ins[1], b2, ...f.ins.slice(3)] });
    return true;
  }

  /** What Backend.claims sees of step `s` made into a call of `schema` (same inputs and attributes): fusions keep the backend that claims the call. */
  private claimOf(schema: OpSchema, s: KernelStep): () => ClaimQuery {
    return () => ({ op: schema.name, domain: schema.domain ?? '', key: s.key, inputs: s.inMetas, attrs: s.attrs });
  }

  /** Replaces the producer's step by a step of `schema` at the end, writing `n`'s output. */
  private replace(n: Node, s: KernelStep, label: string, schema: OpSchema, key: string, attrs: Readonly<Record<string, AttrValue>>, inSlots: number[], inMetas: (InferInput | undefined)[]): KernelStep {
    this.steps.splice(this.steps.indexOf(s), 1);
    this.fusable.delete(s.writes[0]!);
    this.activatable.delete(s.writes[0]!);
    const meta: Meta = { kind: 'tensor', shape: s.shapes[0]!, dtype: s.dtypes[0]! };
    const outSlots = this.defineOutputs(n, [meta], s.dev.id);
    const fusedLabel = `${s.label} + ${label}`;
    const step = new KernelStep(fusedLabel, s.dev, s.backend, schema, key, attrs, inSlots, outSlots, [meta.shape!], [meta.dtype!], inMetas);
    this.steps.push(step);
    // Conv+BN and Conv+Add can take an activation too
    const open = schema.name === 'Conv' || (schema.name === 'FusedConv' && attrs.activation === 'Identity');
    if (open && outSlots[0]! >= 0 && this.uses.get(n.outputs[0]!) === 1) this.activatable.set(outSlots[0]!, step);
    return step;
  }

  /** The first device (in preference order) with a backend for (op, key). */
  private place(schema: OpSchema, key: string, label: string, query?: () => ClaimQuery): { dev: DeviceState; backend: Backend } {
    const tried: string[] = [];
    for (const id of this.opts.devices) {
      const dev = device(id);
      let backend: Backend;
      try {
        backend = dev.pick(schema, key, query, this.opts.backends);
      } catch (e) {
        if (isMxError(e) && e.code === 'UNSUPPORTED') {
          tried.push(id);
          continue;
        }
        throw e;
      }
      if (tried.length) {
        const msg = `${label}: ${schema.name}(${key}) is not supported on ${tried.join(', ')}; it runs on ${id} (${backend.name})`;
        if (isStrict())
          throw new MxError('UNSUPPORTED', `${msg}, which strict mode forbids`, { op: schema.name, device: tried[0]!, hint: 'unset MX_STRICT / MX_BACKENDS, or use a backend that implements the op' });
        if (this.debug) process.stderr.write(`mx placement: ${msg}\n`);
      }
      return { dev, backend };
    }
    throw new MxError('UNSUPPORTED', `no backend implements ${schema.name}(${key}) on ${tried.join(', ')}`, {
      op: schema.name,
      hint: 'see `npx mx doctor` for the ops each backend implements',
    });
  }

  /** The slot of `s` on device `id`: a copy when it lives elsewhere (constants are copied now). */
  async onDevice(s: SlotInfo, id: string, label: string, input: number): Promise<SlotInfo> {
    if (!s.device || s.device === id) return s;
    if (this.debug) process.stderr.write(`mx placement: ${label}: copies input ${input} from ${s.device} to ${id}\n`);
    if (s.const) {
      const c = this.constant(s.const.to(id), true);
      await c.const!.data(); // settle the copy now, not on the first run
      return c;
    }
    const slot = this.newSlot();
    this.steps.push(new CopyStep(label, s.slot, slot, id));
    return { slot, meta: s.meta, device: id };
  }
}

/** A kernel step whose output one node alone reads, and the slots of its inputs (Builder.fused). */
interface Fusable {
  step: KernelStep;
  ins: readonly (SlotInfo | undefined)[];
}

/** Attributes with no effect on mx's dtypes, dropped when a schema does not declare them (saturate: float8 casts). */
const INERT_ATTRS = { saturate: true };

/** Node attributes in the form the schema declares (dtype ids to names, tensor scalars to numbers). */
function schemaAttrs(n: Node, schema: OpSchema, label: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const specs = schema.attrs ?? {};
  for (const [k, v] of Object.entries(n.attrs)) {
    const sp = specs[k];
    if (!sp && k in INERT_ATTRS) continue;
    if (isGraph(v)) throw new MxError('UNSUPPORTED', `${label}: attribute '${k}' is a graph, which ${schema.name} does not take`);
    if (sp?.type === 'dtype' && typeof v === 'number') out[k] = dtypeOf(v, `${label}, attribute '${k}'`);
    else if (isHostTensor(v) && sp && sp.type !== 'string' && sp.type !== 'strings') {
      const nums = Array.from(v.data as ArrayLike<number | bigint>, Number);
      out[k] = sp.type === 'int' || sp.type === 'float' ? nums[0] : nums;
      if (schema.name === 'ConstantOfShape' && k === 'value') out.dtype = v.dtype;
    } else out[k] = v;
  }
  return out;
}


// ------------------------------------------------------------------ steps

class KernelStep implements Step {
  free: number[] = [];
  readonly reads: number[];
  readonly op: string;
  readonly domain: string;
  readonly bytes: number[];
  readonly schema: OpSchema;
  /** The backend's per-call-site cache (kernel index, encoded attrs), kept across runs. */
  private readonly cache: { [k: string]: unknown } = {};
  constructor(
    readonly label: string,
    readonly dev: DeviceState,
    readonly backend: Backend,
    schema: OpSchema,
    readonly key: string,
    readonly attrs: Readonly<Record<string, AttrValue>>,
    readonly ins: readonly number[],
    readonly writes: readonly number[],
    readonly shapes: readonly (readonly number[])[],
    readonly dtypes: readonly DType[],
    /** Shape and dtype of each input (undefined where absent). */
    readonly inMetas: readonly (InferInput | undefined)[],
  ) {
    this.schema = schema;
    this.op = schema.name;
    this.domain = schema.domain ?? '';
    this.reads = ins.filter((s) => s >= 0);
    this.bytes = shapes.map((s, i) => s.reduce((a, b) => a * b, 1) * dtypeSize(dtypes[i]!));
  }
  run(v: (Value | undefined)[]): void {
    const ins = this.ins;
    const inputs = new Array<Tensor | null>(ins.length);
    for (let i = 0; i < ins.length; i++) inputs[i] = ins[i]! < 0 ? null : (v[ins[i]!] as Tensor);
    const n = this.shapes.length;
    const outputs = new Array<Tensor>(n);
    for (let j = 0; j < n; j++) outputs[j] = new Tensor(this.dev.alloc(this.bytes[j]!), this.shapes[j]!, this.dtypes[j]!);
    submit(this.dev, this.backend, { op: this.op, domain: this.domain, key: this.key, device: this.dev.id, inputs, outputs, attrs: this.attrs, cache: this.cache });
    for (let j = 0; j < n; j++) {
      const s = this.writes[j];
      if (s !== undefined && s >= 0) v[s] = outputs[j];
      else outputs[j]!.dispose();
    }
  }
}

export class ViewStep implements Step {
  free: number[] = [];
  readonly reads: number[];
  readonly writes: number[];
  /** Its output lives in the arena: runs that replay programs skip this step. */
  elided = false;
  constructor(
    readonly label: string,
    readonly op: string,
    readonly src: number,
    readonly out: number,
    readonly shape: readonly number[],
    readonly dtype: DType,
  ) {
    this.reads = [src];
    this.writes = [out];
  }
  run(v: (Value | undefined)[], fast?: boolean): void {
    if (fast && this.elided) return;
    const s = (v[this.src] as Tensor)._live(this.op);
    s.retain();
    if (this.out >= 0) v[this.out] = new Tensor(s, this.shape, this.dtype);
    else s.release();
  }
}

class CopyStep implements Step {
  free: number[] = [];
  readonly reads: number[];
  readonly writes: number[];
  readonly op = 'copy';
  constructor(
    readonly label: string,
    private readonly src: number,
    private readonly out: number,
    private readonly dev: string,
  ) {
    this.reads = [src];
    this.writes = [out];
  }
  run(v: (Value | undefined)[]): void {
    v[this.out] = (v[this.src] as Tensor).to(this.dev);
  }
}

/** A node whose shapes are known only at run time: the engine's runOp does the rest. */
class DynamicStep implements Step {
  free: number[] = [];
  readonly reads: number[];
  readonly op: string;
  constructor(
    readonly label: string,
    private readonly schema: OpSchema,
    private readonly ins: readonly number[],
    private readonly isValue: readonly boolean[],
    private readonly attrs: Record<string, unknown>,
    private readonly nOut: number,
    readonly writes: readonly number[],
    private readonly dev: string,
  ) {
    this.op = schema.name;
    this.reads = ins.filter((s) => s >= 0);
  }
  async run(v: (Value | undefined)[]): Promise<void> {
    const inputs: (TensorBase | undefined)[] = [];
    const temps: Tensor[] = [];
    for (let i = 0; i < this.ins.length; i++) {
      const s = this.ins[i]!;
      let t = s < 0 ? undefined : v[s];
      if (t !== undefined && !(t instanceof Tensor)) {
        if (this.schema.name === 'Identity') return void this.writes.forEach((o) => o >= 0 && (v[o] = alias(t as Value)));
        throw new MxError('INVALID_ARGUMENT', `input ${i} is a ${Array.isArray(t) ? 'sequence' : 'empty optional'}; ${this.schema.name} takes tensors`);
      }
      if (t && this.isValue[i] && t._dev.memory !== 'host') {
        // value inputs are read on the host: settle a host copy first
        const h = t.to('cpu');
        await h.data();
        temps.push(h);
        t = h;
      }
      inputs.push(t);
    }
    let outs: Tensor[];
    try {
      outs = runOp(this.schema, inputs, this.attrs, { outputs: this.nOut }) as Tensor[];
    } finally {
      for (const t of temps) t.dispose();
    }
    const noTensorInputs = this.ins.every((s, i) => s < 0 || this.isValue[i]);
    outs.forEach((t, j) => {
      if (noTensorInputs && t.device !== this.dev) {
        const c = t.to(this.dev);
        t.dispose();
        t = c;
      }
      const o = this.writes[j];
      if (o !== undefined && o >= 0) v[o] = t;
      else t.dispose();
    });
  }
}


// ------------------------------------------------------------------ liveness and running

function computeLiveness(p: Plan): void {
  const keep = new Set<number>([...p.borrowed, ...p.outputSlots]);
  const last = new Map<number, number>();
  p.steps.forEach((s, i) => {
    for (const r of s.reads) last.set(r, i);
  });
  // a value nobody reads is freed right after the step that makes it
  p.steps.forEach((s, i) => {
    for (const o of s.writes) if (o >= 0 && !last.has(o)) last.set(o, i);
  });
  for (const [slot, i] of last) if (!keep.has(slot) && i >= 0) p.steps[i]!.free.push(slot);
}


// ------------------------------------------------------------------ programs

/**
 * Graph replay without per-node work. Consecutive kernel steps whose backend
 * records programs (Backend.program: host memory, the device's native queue)
 * become one ProgramStep: a run submits them to the queue in one call, and the
 * worker runs them back to back. Values that only such kernels read (directly or
 * through views) live in the plan's arena at offsets planned here from their
 * lifetimes (two values share bytes only when their lifetimes do not overlap),
 * so a run allocates, pins and frees nothing for them. The other values (plan
 * outputs, values read by other steps) are real tensors; a program reads and
 * writes them as "externals" located per run.
 *
 * The arena is reused by the next run without waiting: the device's queue is in
 * order, so the next run's kernels start after this run's. Runs that cannot
 * share it (a concurrent run of the same plan, MX_ENGINE=sync) take the
 * per-step path, which every ProgramStep keeps.
 */
class ProgramStep implements Step {
  readonly free: number[];
  readonly reads: number[];
  readonly writes: number[];
  readonly op: string;
  readonly label: string;
  constructor(
    private readonly plan: Plan,
    private readonly inner: readonly (KernelStep | ViewStep)[],
    private readonly dev: DeviceState,
    private readonly backend: Backend,
    private readonly program: unknown,
    /** Slot of each external, by index. */
    private readonly extSlots: readonly number[],
    /** Kernel outputs that are real tensors, made before the program is submitted. */
    private readonly made: readonly { slot: number; bytes: number; shape: readonly number[]; dtype: DType }[],
  ) {
    this.free = inner.flatMap((s) => s.free);
    this.reads = inner.flatMap((s) => s.reads);
    this.writes = inner.flatMap((s) => s.writes);
    const kernels = inner.filter((s) => s instanceof KernelStep);
    this.op = kernels.length === 1 ? kernels[0]!.op : `${kernels.length} kernels`;
    this.label = kernels.length === 1 ? kernels[0]!.label : `${kernels[0]!.label} .. ${kernels[kernels.length - 1]!.label}`;
  }
  run(v: (Value | undefined)[], fast?: boolean): void {
    const inner = this.inner;
    if (!fast) {
      for (let i = 0; i < inner.length; i++) inner[i]!.run(v);
      return;
    }
    const dev = this.dev;
    for (const m of this.made) v[m.slot] = new Tensor(dev.alloc(m.bytes), m.shape, m.dtype);
    for (let i = 0; i < inner.length; i++) {
      const s = inner[i]!;
      if (s instanceof ViewStep) s.run(v, true);
    }
    const ext = new Array<Storage>(this.extSlots.length);
    for (let i = 0; i < ext.length; i++) ext[i] = (v[this.extSlots[i]!] as Tensor)._live(this.op);
    const p = this.plan;
    if (p.arenaBytes > 0 && !p.arena) p.arena = dev.alloc(p.arenaBytes);
    submitProgram(dev, this.backend, this.program, p.arena ?? null, ext, this.op);
  }
}

const ARENA_ALIGN = 64;

/** Turns runs of recordable kernel steps into ProgramSteps and plans the arena (see ProgramStep). */
function planPrograms(p: Plan): void {
  const steps = p.steps;
  let dev: DeviceState | undefined;
  const recordable = (s: Step): s is KernelStep => {
    if (!(s instanceof KernelStep)) return false;
    const b = s.backend;
    if (!b.program || !b.runProgram || b.protocol.minor < 1 || s.dev.memory !== 'host' || !onNativeQueue(s.dev, b)) return false;
    dev ??= s.dev; // one arena, on one device's queue
    return s.dev === dev;
  };
  const ok = steps.map(recordable);
  if (!ok.some(Boolean)) return;

  // -- which values live in the arena: read only by recorded kernels, or by views whose output does too
  const keep = new Set<number>([...p.borrowed, ...p.outputSlots]);
  const readers = new Map<number, number[]>();
  steps.forEach((s, i) => {
    for (const r of s.reads) {
      let l = readers.get(r);
      if (!l) readers.set(r, (l = []));
      l.push(i);
    }
  });
  const arena = new Set<number>();
  const defAt = new Map<number, number>();
  steps.forEach((s, i) => {
    if (!ok[i]) return;
    for (const w of s.writes) if (w >= 0 && !keep.has(w)) arena.add(w), defAt.set(w, i);
  });
  const viewSrc = new Map<number, number>();
  steps.forEach((s, i) => {
    if (s instanceof ViewStep && s.out >= 0 && !keep.has(s.out)) viewSrc.set(s.out, s.src), defAt.set(s.out, i);
  });
  for (let changed = true; changed; ) {
    changed = false;
    for (const [out, src] of viewSrc)
      if (arena.has(src) && !arena.has(out) && defAt.get(out)! > defAt.get(src)!) {
        arena.add(out);
        changed = true;
      }
    for (const a of arena) {
      const src = viewSrc.get(a);
      const fine =
        (src === undefined || arena.has(src)) &&
        (readers.get(a) ?? []).every((i) => {
          const r = steps[i]!;
          return ok[i] || (r instanceof ViewStep && (r.out < 0 || arena.has(r.out)));
        });
      if (!fine) {
        arena.delete(a);
        viewSrc.delete(a);
        changed = true;
      }
    }
  }

  const bytesOf = new Map<number, number>();
  const planeOf = new Map<number, number>(); // H x W (see placeArena)
  steps.forEach((s, i) => {
    if (!ok[i]) return;
    const k = s as KernelStep;
    k.writes.forEach((w, j) => {
      if (w < 0 || !arena.has(w)) return;
      const shape = k.shapes[j]!;
      bytesOf.set(w, k.bytes[j]!);
      planeOf.set(w, shape.length >= 3 ? shape[shape.length - 1]! * shape[shape.length - 2]! : -1);
    });
  });

  // -- Concat elision: a recorded Concat whose inputs are arena values, each a
  // kernel's output (not a view) and in no other Concat, along an axis with only
  // unit dims before it (so each input is one block of the output): the inputs
  // are placed inside the output's bytes, their kernels write there, and the
  // Concat call is left out of the program. An input other steps read too is
  // read there (nothing else writes those bytes; the output lives until its
  // last reader): densenet's block of Concats, each of the previous one and a
  // new layer, becomes one buffer. The per-step path still runs it.
  const partOf = new Map<number, { whole: number; at: number }>(); // input slot -> output slot, byte offset
  const elided = new Set<KernelStep>();
  steps.forEach((s, i) => {
    if (!ok[i] || !(s instanceof KernelStep) || s.op !== 'Concat' || s.domain !== '' || !arena.has(s.writes[0]!)) return;
    const shape = s.shapes[0]!;
    const given = (s.attrs.axis as number | undefined) ?? 0;
    const axis = given < 0 ? given + shape.length : given;
    if (shape.slice(0, axis).some((d) => d !== 1) || new Set(s.ins).size !== s.ins.length) return;
    const parts: [number, number][] = [];
    let at = 0;
    for (const x of s.ins) {
      const d = defAt.get(x);
      if (x < 0 || !arena.has(x) || viewSrc.has(x) || partOf.has(x) || d === undefined || !ok[d] || at % ARENA_ALIGN) return;
      parts.push([x, at]);
      at += bytesOf.get(x)!;
    }
    for (const [x, a] of parts) partOf.set(x, { whole: s.writes[0]!, at: a });
    elided.add(s);
  });

  // -- lifetimes of the arena's buffers (a kernel output, the views of it, the
  // Concat inputs placed in it), then offsets
  const viewBase = (a: number): number => {
    const src = viewSrc.get(a);
    return src !== undefined && arena.has(src) ? viewBase(src) : a;
  };
  const rootOf = (a: number): number => {
    const part = partOf.get(viewBase(a));
    return part ? rootOf(part.whole) : viewBase(a);
  };
  /** Bytes from its root's start to value a's (Concat inputs inside the output). */
  const within = (a: number): number => {
    const part = partOf.get(viewBase(a));
    return part ? part.at + within(part.whole) : 0;
  };
  const life = new Map<number, [number, number]>();
  for (const a of arena) {
    const r = rootOf(a);
    const l = life.get(r) ?? [defAt.get(r)!, defAt.get(r)!];
    for (const i of readers.get(a) ?? []) l[1] = Math.max(l[1], i);
    l[0] = Math.min(l[0], defAt.get(a)!);
    l[1] = Math.max(l[1], defAt.get(a)!);
    life.set(r, l);
  }
  const roots = [...life.keys()];
  const { offsets, total } = placeArena(
    roots.map((r) => ({ life: life.get(r)!, bytes: Math.ceil(bytesOf.get(r)! / ARENA_ALIGN) * ARENA_ALIGN, plane: planeOf.get(r) ?? -1 })),
  );
  const offset = new Map<number, number>(roots.map((r, i) => [r, offsets[i]!]));
  for (const a of arena) offset.set(a, offset.get(rootOf(a))! + within(a));
  steps.forEach((s) => {
    if (s instanceof ViewStep) s.elided = s.out >= 0 ? arena.has(s.out) : arena.has(s.src);
  });

  // -- runs of recorded kernels (and the views between them) become ProgramSteps
  p.arenaBytes = total;
  const out: Step[] = [];
  for (let i = 0; i < steps.length; ) {
    if (!ok[i]) {
      out.push(steps[i++]!);
      continue;
    }
    const backend = (steps[i] as KernelStep).backend;
    let j = i;
    const run: (KernelStep | ViewStep)[] = [];
    while (j < steps.length && ((ok[j] && (steps[j] as KernelStep).backend === backend) || steps[j] instanceof ViewStep)) run.push(steps[j++] as KernelStep | ViewStep);
    // views after the last kernel stay plain steps
    while (run.length && run[run.length - 1] instanceof ViewStep) run.pop(), j--;
    out.push(recordRun(p, run, backend, dev!, arena, offset, elided));
    i = j;
  }
  p.steps = out;
  p.programs = true;
}

function recordRun(
  p: Plan,
  run: readonly (KernelStep | ViewStep)[],
  backend: Backend,
  dev: DeviceState,
  arena: Set<number>,
  offset: Map<number, number>,
  elided: ReadonlySet<KernelStep>,
): ProgramStep {
  const extSlots: number[] = [];
  const extIndex = new Map<number, number>();
  const made: { slot: number; bytes: number; shape: readonly number[]; dtype: DType }[] = [];
  let scratch = p.arenaBytes; // unused outputs: past the planned values, one buffer per call
  const calls: ProgramCall[] = [];
  const consts = new Map(p.constSlots.map((slot, i) => [slot, p.constVals[i]!]));
  const where = (slot: number, shape: readonly number[], dtype: DType): ProgramTensor => {
    if (arena.has(slot)) return { dtype, shape, arena: offset.get(slot)! };
    let e = extIndex.get(slot);
    if (e === undefined) extIndex.set(slot, (e = extSlots.push(slot) - 1));
    const constId = consts.get(slot)?._storage?.constId;
    return constId ? { dtype, shape, ext: e, constId } : { dtype, shape, ext: e };
  };
  for (const s of run) {
    if (!(s instanceof KernelStep) || elided.has(s)) continue;
    const inputs = s.ins.map((slot, i) => {
      if (slot < 0) return null;
      const m = s.inMetas[i]!;
      return where(slot, m.shape, m.dtype);
    });
    let extra = 0;
    const outputs = s.writes.map((w, j) => {
      const shape = s.shapes[j]!;
      const dtype = s.dtypes[j]!;
      if (w < 0) {
        const t: ProgramTensor = { dtype, shape, arena: scratch + extra };
        extra += Math.ceil(s.bytes[j]! / ARENA_ALIGN) * ARENA_ALIGN;
        return t;
      }
      if (!arena.has(w)) made.push({ slot: w, bytes: s.bytes[j]!, shape, dtype });
      return where(w, shape, dtype);
    });
    p.arenaBytes = Math.max(p.arenaBytes, scratch + extra);
    calls.push({ op: s.op, domain: s.domain, key: s.key, inputs, outputs, attrs: s.attrs });
  }
  const program = backend.program!(dev.id, calls);
  return new ProgramStep(p, run, dev, backend, program, extSlots, made);
}

/**
 * Runs a plan. `inputs` and `captures` stay owned by the caller; the returned
 * values are owned by the caller too (new handles where they alias inputs or constants).
 */
export async function runPlan(p: Plan, inputs: readonly Value[], captures: readonly Value[]): Promise<Value[]> {
  const v = new Array<Value | undefined>(p.nSlots);
  for (let i = 0; i < p.constSlots.length; i++) v[p.constSlots[i]!] = p.constVals[i];
  for (let i = 0; i < p.inputSlots.length; i++) if (p.inputSlots[i]! >= 0) v[p.inputSlots[i]!] = inputs[i];
  for (let i = 0; i < p.captureSlots.length; i++) v[p.captureSlots[i]!] = captures[i];
  const steps = p.steps;
  const fast = p.programs && !p.busy && !isSyncEngine();
  if (fast) p.busy = true;
  let k = 0;
  try {
    for (; k < steps.length; k++) {
      const s = steps[k]!;
      const r = s.run(v, fast);
      if (r) await r;
      const f = s.free;
      for (let j = 0; j < f.length; j++) {
        disposeValue(v[f[j]!]);
        v[f[j]!] = undefined;
      }
    }
  } catch (e) {
    const s = steps[k];
    // release what this run made
    for (let i = 0; i < v.length; i++) if (!p.borrowed.has(i)) disposeValue(v[i]);
    throw s ? nodeError(s.label, s.op, e) : e;
  } finally {
    if (fast) p.busy = false;
  }
  const outs = p.outputSlots;
  return outs.map((slot, i) => {
    const val = v[slot];
    if (val === undefined) throw new MxError('INTERNAL', `a graph output (slot ${slot}) was not computed`);
    // a value the run does not own, or one returned twice, goes out as a new handle
    return p.borrowed.has(slot) || outs.indexOf(slot) !== i ? alias(val) : val;
  });
}

/** Constants of plans and their children (a subgraph may use a constant its parent folded). */
function constsOf(plans: readonly Plan[]): Tensor[] {
  return plans.flatMap((p) => [...p.constVals, ...constsOf(p.children)]);
}

export function disposePlan(p: Plan): void {
  for (const t of p.owned) t.dispose();
  p.owned = [];
  p.arena?.release();
  p.arena = undefined;
  for (const c of p.children) disposePlan(c);
}

