/**
 * Ops the executor implements itself rather than kernels: Constant, Shape and
 * Size (folded when the shape is known), Identity of non-tensors, control flow
 * (If, Loop, Scan, SequenceMap run subgraph plans), and sequences and optionals
 * (JS lists of tensors; NONE for an empty optional). Tensor work inside them
 * (stacking, slicing) goes through the op table.
 */
import { MxError } from '../errors.js';
import { runOp } from '../engine.js';
import { OPS } from '../ops/index.js';
import type { OpSchema } from '../ops/schema.js';
import { Tensor, full, tensor } from '../tensor.js';
import { NONE, alias, disposeValue, metaOfType, numbersOf, runPlan, type Builder, type Meta, type Plan, type SlotInfo, type Step, type Value } from './executor.js';
import type { Graph, Node, ValueType } from './graph.js';
import { dtypeOf, isHostTensor, type HostTensor } from './proto.js';
import { hostToTensor } from './values.js';

/** Plans a node; returns false to leave it to the op table. */
export type ExecOp = (b: Builder, n: Node, ins: (SlotInfo | undefined)[], label: string) => Promise<void | false>;

const op = (name: string): OpSchema => {
  const s = (OPS as Record<string, OpSchema>)[name];
  if (!s) throw new MxError('UNSUPPORTED', `the executor needs op ${name}, which is not in the op table`, { op: name });
  return s;
};
const run1 = (name: string, inputs: unknown[], attrs?: Record<string, unknown>): Tensor => runOp(op(name), inputs, attrs)[0] as Tensor;

/** A step running a JS function over its input values; it returns the output values. */
class FnStep implements Step {
  free: number[] = [];
  constructor(
    readonly label: string,
    readonly op: string,
    readonly reads: readonly number[],
    readonly writes: readonly number[],
    private readonly fn: (v: (Value | undefined)[]) => Value[] | Promise<Value[]>,
  ) {}
  async run(v: (Value | undefined)[]): Promise<void> {
    const outs = await this.fn(v);
    outs.forEach((o, i) => {
      const s = this.writes[i];
      if (s !== undefined && s >= 0) v[s] = o;
      else disposeValue(o);
    });
  }
}

function fnStep(b: Builder, n: Node, label: string, reads: number[], outMetas: Meta[], fn: FnStep['fn'], device?: string): void {
  const writes = b.defineOutputs(n, outMetas, device);
  b.steps.push(new FnStep(label, n.opType, reads, writes, fn));
}

const slotsOf = (ins: (SlotInfo | undefined)[]) => ins.filter((s): s is SlotInfo => !!s).map((s) => s.slot);
const tensorAt = (v: (Value | undefined)[], s: SlotInfo | undefined, what: string): Tensor => {
  const t = s ? v[s.slot] : undefined;
  if (!(t instanceof Tensor)) throw new MxError('INVALID_ARGUMENT', `${what} must be a tensor`);
  return t;
};
const seqAt = (v: (Value | undefined)[], s: SlotInfo | undefined, what: string): Value[] => {
  const t = s ? v[s.slot] : undefined;
  if (!Array.isArray(t)) throw new MxError('INVALID_ARGUMENT', `${what} must be a sequence`);
  return t;
};
async function scalar(t: Tensor): Promise<number> {
  const a = await t.data();
  return Number(a[0]);
}
const int64Scalar = (x: number, device: string) => tensor(BigInt(x), { dtype: 'int64', device });
const boolScalar = (x: boolean, device: string) => tensor(x, { dtype: 'bool', device });

/** Stacks tensors of one shape along a new axis. */
function stack(ts: readonly Tensor[], axis: number): Tensor {
  const us = ts.map((t) => run1('Unsqueeze', [t, [axis]]));
  try {
    return runOp(op('Concat'), us, { axis })[0] as Tensor;
  } finally {
    for (const u of us) u.dispose();
  }
}

/** The position argument of sequence ops (negative counts from the end); `dflt` when absent. */
async function position(v: (Value | undefined)[], s: SlotInfo | undefined, dflt: number, len: number): Promise<number> {
  if (!s) return dflt;
  const p = await scalar(tensorAt(v, s, 'position'));
  return p < 0 ? p + len : p;
}

function constantValue(n: Node, label: string): HostTensor {
  const a = n.attrs;
  if (isHostTensor(a.value)) return a.value;
  if (typeof a.value_float === 'number') return { dtype: 'float32', dims: [], data: Float32Array.of(a.value_float) };
  if (Array.isArray(a.value_floats)) return { dtype: 'float32', dims: [a.value_floats.length], data: Float32Array.from(a.value_floats as number[]) };
  if (typeof a.value_int === 'number') return { dtype: 'int64', dims: [], data: BigInt64Array.of(BigInt(a.value_int)) };
  if (Array.isArray(a.value_ints)) return { dtype: 'int64', dims: [a.value_ints.length], data: BigInt64Array.from(a.value_ints as number[], (x) => BigInt(x)) };
  if (a.value_string !== undefined || a.value_strings !== undefined) throw new MxError('UNSUPPORTED', `${label}: string tensors are not representable in mx`);
  throw new MxError('INVALID_ARGUMENT', `${label}: Constant needs one of value, value_float(s), value_int(s)`);
}

/** Shape's dims start..end (ONNX clamping). */
function shapeSlice(shape: readonly number[], n: Node): number[] {
  const r = shape.length;
  const norm = (x: number) => Math.min(Math.max(x < 0 ? x + r : x, 0), r);
  const start = norm((n.attrs.start as number | undefined) ?? 0);
  const end = norm((n.attrs.end as number | undefined) ?? r);
  return shape.slice(start, Math.max(start, end));
}

async function constOut(b: Builder, n: Node, h: HostTensor): Promise<void> {
  b.define(n.outputs[0]!, b.constant(hostToTensor(h, b.device), true));
}

/** Output metas of a subgraph plan, or of two that must agree (If). */
function mergeMetas(a: readonly Meta[], c?: readonly Meta[]): Meta[] {
  if (!c) return a.slice();
  return a.map((m, i) => {
    const o = c[i];
    if (!o || o.kind !== m.kind) return { kind: 'unknown' };
    const same = m.shape && o.shape && m.shape.length === o.shape.length && m.shape.every((d, k) => d === o.shape![k]);
    return same && m.dtype === o.dtype ? m : { kind: m.kind, ...(m.dtype === o.dtype && m.dtype && { dtype: m.dtype }) };
  });
}

/** Label suffix of a subgraph's nodes: the chain of enclosing nodes. */
const where = (attr: string, label: string) => ` in the ${attr} of ${label}`;

// ------------------------------------------------------------------ the table

export const EXEC_OPS: Record<string, ExecOp> = {
  async Constant(b, n, _ins, label) {
    await constOut(b, n, constantValue(n, label));
  },

  async Shape(b, n, ins, label) {
    const x = ins[0];
    if (x?.meta.shape) {
      const d = shapeSlice(x.meta.shape, n);
      return constOut(b, n, { dtype: 'int64', dims: [d.length], data: BigInt64Array.from(d, (k) => BigInt(k)) });
    }
    fnStep(b, n, label, slotsOf(ins), [{ kind: 'tensor', dtype: 'int64' }], (v) => {
      const t = tensorAt(v, x, 'Shape input');
      return [tensor(BigInt64Array.from(shapeSlice(t.shape, n), (k) => BigInt(k)), { dtype: 'int64', device: t.device })];
    });
  },

  async Size(b, n, ins, label) {
    const x = ins[0];
    if (x?.meta.shape) return constOut(b, n, { dtype: 'int64', dims: [], data: BigInt64Array.of(BigInt(x.meta.shape.reduce((a, c) => a * c, 1))) });
    fnStep(b, n, label, slotsOf(ins), [{ kind: 'tensor', dtype: 'int64', shape: [] }], (v) => {
      const t = tensorAt(v, x, 'Size input');
      return [int64Scalar(t.size, t.device)];
    });
  },

  async Identity(b, n, ins, label) {
    const x = ins[0];
    if (x?.const) return void b.define(n.outputs[0]!, x);
    if (x && (x.meta.kind === 'sequence' || x.meta.kind === 'optional')) {
      return fnStep(b, n, label, [x.slot], [x.meta], (v) => [alias(v[x.slot]!)]);
    }
    return false;
  },

  async If(b, n, ins, label) {
    const cond = ins[0]!;
    const thenG = n.attrs.then_branch as Graph;
    const elseG = n.attrs.else_branch as Graph;
    if (cond.const) {
      const pick = (await numbersOf(cond.const))[0] !== 0;
      const p = await b.subplan(pick ? thenG : elseG, [], where(pick ? 'then_branch' : 'else_branch', label));
      return fnStep(b, n, label, p.captureFrom, p.outputMetas, (v) => runPlan(p, [], p.captureFrom.map((s) => v[s]!)));
    }
    // Both branches are planned for the current shapes. A branch whose shapes do not
    // fit (it serves other inputs; it will not be taken with these) is planned when
    // it is first taken, and its outputs are then unknown here.
    const branch = async (g: Graph, attr: string) => {
      try {
        const p = await b.subplan(g, [], where(attr, label));
        return { metas: p.outputMetas, get: () => Promise.resolve(p) };
      } catch (e) {
        if (!(e instanceof MxError) || e.code !== 'INVALID_ARGUMENT') throw e;
        let later: Promise<Plan> | undefined;
        return { metas: g.outputs.map((o) => metaOfType(o.type)), get: () => (later ??= b.subplan(g, [], where(attr, label))) };
      }
    };
    const t = await branch(thenG, 'then_branch');
    const e = await branch(elseG, 'else_branch');
    const outer = [...new Set([...thenG.outerRefs, ...elseG.outerRefs])].map((name) => b.lookup(name)!.slot);
    fnStep(b, n, label, [cond.slot, ...outer], mergeMetas(t.metas, e.metas), async (v) => {
      const p = await ((await scalar(tensorAt(v, cond, 'If condition'))) !== 0 ? t.get() : e.get());
      return runPlan(p, [], p.captureFrom.map((s) => v[s]!));
    });
  },

  async Loop(b, n, ins, label) {
    const body = n.attrs.body as Graph;
    const [mIn, cIn, ...init] = ins;
    const nCarried = init.length;
    const formal: Meta[] = [
      { kind: 'tensor', dtype: 'int64', shape: [] },
      { kind: 'tensor', dtype: 'bool', shape: [] },
      ...init.map((s, i) => (s ? { kind: s.meta.kind, ...(s.meta.dtype && { dtype: s.meta.dtype }) } : metaOfType(body.inputs[i + 2]?.type))),
    ];
    const p = await b.subplan(body, formal, where('body', label));
    const nScan = body.outputs.length - 1 - nCarried;
    const scanTypes = body.outputs.slice(1 + nCarried).map((o) => o.type);
    const outMetas: Meta[] = [...formal.slice(2), ...scanTypes.map(() => ({ kind: 'tensor' as const }))];
    const dev = b.device;
    fnStep(b, n, label, [...slotsOf(ins), ...p.captureFrom], outMetas, async (v) => {
      const max = mIn ? await scalar(tensorAt(v, mIn, 'Loop M')) : Infinity;
      let go = cIn ? (await scalar(tensorAt(v, cIn, 'Loop cond'))) !== 0 : true;
      let carried: Value[] = init.map((s) => alias(v[s!.slot]!));
      const scans: Tensor[][] = Array.from({ length: nScan }, () => []);
      const caps = p.captureFrom.map((s) => v[s]!);
      try {
        for (let i = 0; i < max && go; i++) {
          const iter = int64Scalar(i, dev);
          const c = boolScalar(go, dev);
          let outs: Value[];
          try {
            outs = await runPlan(p, [iter, c, ...carried], caps);
          } finally {
            iter.dispose();
            c.dispose();
            for (const x of carried) disposeValue(x);
            carried = [];
          }
          go = (await scalar(outs[0] as Tensor)) !== 0;
          disposeValue(outs[0]);
          carried = outs.slice(1, 1 + nCarried);
          outs.slice(1 + nCarried).forEach((t, k) => scans[k]!.push(t as Tensor));
        }
        const stacked = scans.map((ts, k) => (ts.length ? stack(ts, 0) : emptyScan(scanTypes[k], dev)));
        return [...carried, ...stacked];
      } catch (e) {
        for (const x of carried) disposeValue(x);
        throw e;
      } finally {
        for (const ts of scans) for (const t of ts) t.dispose();
      }
    });
  },

  /**
   * Scan-9 and later scan each input along its axis. Scan-8 has a batch axis 0
   * on every state and scan input (scanned along axis 1, `directions` per input)
   * and an optional first input sequence_lens: each batch entry is scanned on its
   * own and the results are stacked; sequence_lens must then be the full length.
   */
  async Scan(b, n, ins, label) {
    const v8 = n.version < 9;
    const seqLens = v8 ? ins[0] : undefined;
    if (v8) ins = ins.slice(1);
    const body = n.attrs.body as Graph;
    const m = n.attrs.num_scan_inputs as number;
    const nState = ins.length - m;
    const nScanOut = body.outputs.length - nState;
    const inAxes = v8 ? new Array(m).fill(0) : ((n.attrs.scan_input_axes as number[] | undefined) ?? new Array(m).fill(0));
    const inDirs = ((v8 ? n.attrs.directions : n.attrs.scan_input_directions) as number[] | undefined) ?? new Array(m).fill(0);
    const outAxes = v8 ? new Array(nScanOut).fill(0) : ((n.attrs.scan_output_axes as number[] | undefined) ?? new Array(nScanOut).fill(0));
    const outDirs = v8 ? new Array(nScanOut).fill(0) : ((n.attrs.scan_output_directions as number[] | undefined) ?? new Array(nScanOut).fill(0));
    const formal: Meta[] = ins.map((s) => (s ? { kind: s.meta.kind, ...(s.meta.dtype && { dtype: s.meta.dtype }) } : { kind: 'unknown' }));
    const p = await b.subplan(body, formal, where('body', label));
    const outMetas: Meta[] = [...formal.slice(0, nState), ...new Array(nScanOut).fill({ kind: 'tensor' })];
    const dev = b.device;

    /** One scan over xs from `initial` (borrowed); returns the final states and the stacked scan outputs, owned. */
    const scan = async (initial: Value[], xs: Tensor[], caps: Value[]): Promise<Value[]> => {
      const axes = xs.map((x, j) => (inAxes[j]! < 0 ? inAxes[j]! + x.rank : inAxes[j]!));
      const len = xs[0]!.shape[axes[0]!]!;
      if (xs.some((x, j) => x.shape[axes[j]!] !== len)) throw new MxError('INVALID_ARGUMENT', 'Scan inputs differ in sequence length');
      let state = initial;
      let ownState = false;
      const scans: Tensor[][] = Array.from({ length: nScanOut }, () => []);
      try {
        for (let t = 0; t < len; t++) {
          const slices = xs.map((x, j) => {
            const idx = int64Scalar(inDirs[j] ? len - 1 - t : t, dev);
            try {
              return run1('Gather', [x, idx], { axis: axes[j] });
            } finally {
              idx.dispose();
            }
          });
          let outs: Value[];
          try {
            outs = await runPlan(p, [...state, ...slices], caps);
          } finally {
            for (const s of slices) s.dispose();
            if (ownState) for (const s of state) disposeValue(s);
          }
          state = outs.slice(0, nState);
          ownState = true;
          outs.slice(nState).forEach((o, k) => scans[k]!.push(o as Tensor));
        }
        const finalState = ownState ? state : state.map(alias);
        ownState = false;
        const stacked = scans.map((ts, k) => {
          if (!ts.length) return emptyScan(body.outputs[nState + k]?.type, dev);
          const list = outDirs[k] ? ts.slice().reverse() : ts;
          const r = ts[0]!.rank + 1;
          const ax = outAxes[k]! < 0 ? outAxes[k]! + r : outAxes[k]!;
          return stack(list, ax);
        });
        return [...finalState, ...stacked];
      } finally {
        if (ownState) for (const s of state) disposeValue(s);
        for (const ts of scans) for (const t of ts) t.dispose();
      }
    };

    fnStep(b, n, label, [...slotsOf(v8 ? [seqLens, ...ins] : ins), ...p.captureFrom], outMetas, async (v) => {
      const xs = ins.slice(nState).map((s, j) => tensorAt(v, s, `Scan input ${j}`));
      const initial = ins.slice(0, nState).map((s) => v[s!.slot]!);
      const caps = p.captureFrom.map((s) => v[s]!);
      if (!v8) return scan(initial, xs, caps);
      const batch = xs[0]!.shape[0]!;
      if (seqLens) {
        const lens = await numbersOf(tensorAt(v, seqLens, 'Scan sequence_lens'));
        const full = xs[0]!.shape[1]!;
        if (lens.some((l) => l !== full)) throw new MxError('UNSUPPORTED', `${label}: Scan-8 with sequence_lens shorter than the sequence (${full}) is not supported`, { op: 'Scan' });
      }
      const perBatch: Value[][] = [];
      try {
        for (let i = 0; i < batch; i++) {
          const idx = int64Scalar(i, dev);
          const pick = (x: Tensor) => run1('Gather', [x, idx], { axis: 0 });
          const [st, xb] = [initial.map((s) => pick(s as Tensor)), xs.map(pick)];
          idx.dispose();
          try {
            perBatch.push(await scan(st, xb, caps));
          } finally {
            for (const t of [...st, ...xb]) t.dispose();
          }
        }
        return perBatch[0]!.map((_, k) => stack(perBatch.map((r) => r[k] as Tensor), 0));
      } finally {
        for (const r of perBatch) for (const t of r) disposeValue(t);
      }
    });
  },

  async SequenceMap(b, n, ins, label) {
    const body = n.attrs.body as Graph;
    const formal: Meta[] = ins.map((s) => (s?.meta.kind === 'sequence' ? { kind: 'unknown' } : (s?.meta ?? { kind: 'unknown' })));
    const p = await b.subplan(body, formal, where('body', label));
    fnStep(b, n, label, [...slotsOf(ins), ...p.captureFrom], n.outputs.map(() => ({ kind: 'sequence' })), async (v) => {
      const args = ins.map((s) => v[s!.slot]!);
      const len = (args[0] as Value[]).length;
      const outs: Value[][] = n.outputs.map(() => []);
      const caps = p.captureFrom.map((s) => v[s]!);
      try {
        for (let i = 0; i < len; i++) {
          const r = await runPlan(p, args.map((a) => (Array.isArray(a) ? a[i]! : a)), caps);
          r.forEach((x, k) => outs[k]!.push(x));
        }
      } catch (e) {
        for (const o of outs) disposeValue(o);
        throw e;
      }
      return outs;
    });
  },

  // ---- sequences
  async SequenceEmpty(b, n, _ins, label) {
    if (typeof n.attrs.dtype === 'number') dtypeOf(n.attrs.dtype, label);
    fnStep(b, n, label, [], [{ kind: 'sequence' }], () => [[]]);
  },
  async SequenceConstruct(b, n, ins, label) {
    fnStep(b, n, label, slotsOf(ins), [{ kind: 'sequence' }], (v) => [ins.map((s) => alias(v[s!.slot]!))]);
  },
  async SequenceLength(b, n, ins, label) {
    fnStep(b, n, label, slotsOf(ins), [{ kind: 'tensor', dtype: 'int64', shape: [] }], (v) => [int64Scalar(seqAt(v, ins[0], 'SequenceLength input').length, b.device)]);
  },
  async SequenceAt(b, n, ins, label) {
    fnStep(b, n, label, slotsOf(ins), [{ kind: 'unknown' }], async (v) => {
      const seq = seqAt(v, ins[0], 'SequenceAt input');
      const p = await position(v, ins[1], 0, seq.length);
      if (!(p >= 0 && p < seq.length)) throw new MxError('INVALID_ARGUMENT', `position ${p} is out of range for a sequence of ${seq.length}`);
      return [alias(seq[p]!)];
    });
  },
  async SequenceInsert(b, n, ins, label) {
    fnStep(b, n, label, slotsOf(ins), [{ kind: 'sequence' }], async (v) => {
      const seq = seqAt(v, ins[0], 'SequenceInsert input');
      const p = await position(v, ins[2], seq.length, seq.length);
      if (!(p >= 0 && p <= seq.length)) throw new MxError('INVALID_ARGUMENT', `position ${p} is out of range for inserting into a sequence of ${seq.length}`);
      const out = seq.map(alias);
      out.splice(p, 0, alias(tensorAt(v, ins[1], 'SequenceInsert tensor')));
      return [out];
    });
  },
  async SequenceErase(b, n, ins, label) {
    fnStep(b, n, label, slotsOf(ins), [{ kind: 'sequence' }], async (v) => {
      const seq = seqAt(v, ins[0], 'SequenceErase input');
      const p = await position(v, ins[1], seq.length - 1, seq.length);
      if (!(p >= 0 && p < seq.length)) throw new MxError('INVALID_ARGUMENT', `position ${p} is out of range for a sequence of ${seq.length}`);
      return [seq.filter((_, i) => i !== p).map(alias)];
    });
  },
  async SplitToSequence(b, n, ins, label) {
    fnStep(b, n, label, slotsOf(ins), [{ kind: 'sequence' }], async (v) => {
      const x = tensorAt(v, ins[0], 'SplitToSequence input');
      const axis = ((n.attrs.axis as number | undefined) ?? 0) < 0 ? (n.attrs.axis as number) + x.rank : ((n.attrs.axis as number | undefined) ?? 0);
      const len = x.shape[axis]!;
      let sizes: number[];
      const splitT = ins[1] ? tensorAt(v, ins[1], 'split') : undefined;
      if (!splitT) sizes = new Array(len).fill(1);
      else if (splitT.rank === 0) {
        const k = await scalar(splitT);
        sizes = [];
        for (let r = len; r > 0; r -= k) sizes.push(Math.min(k, r));
      } else sizes = Array.from(await splitT.data(), Number);
      if (sizes.length === 0) return [[]];
      const parts = runOp(op('Split'), [x, sizes], { axis }, { outputs: sizes.length }) as Tensor[];
      if (splitT || n.attrs.keepdims !== 0) return [parts];
      const squeezed = parts.map((t) => run1('Squeeze', [t, [axis]]));
      for (const t of parts) t.dispose();
      return [squeezed];
    });
  },
  async ConcatFromSequence(b, n, ins, label) {
    fnStep(b, n, label, slotsOf(ins), [{ kind: 'tensor' }], (v) => {
      const seq = seqAt(v, ins[0], 'ConcatFromSequence input') as Tensor[];
      if (!seq.length) throw new MxError('INVALID_ARGUMENT', 'ConcatFromSequence of an empty sequence');
      let axis = (n.attrs.axis as number | undefined) ?? 0;
      if (n.attrs.new_axis === 1) {
        if (axis < 0) axis += seq[0]!.rank + 1;
        return [stack(seq, axis)];
      }
      if (axis < 0) axis += seq[0]!.rank;
      return [runOp(op('Concat'), seq, { axis })[0] as Tensor];
    });
  },

  // ---- optionals
  async Optional(b, n, ins, label) {
    const x = ins[0];
    fnStep(b, n, label, slotsOf(ins), [{ kind: 'optional' }], (v) => [x ? alias(v[x.slot]!) : NONE]);
  },
  async OptionalHasElement(b, n, ins, label) {
    const x = ins[0];
    fnStep(b, n, label, slotsOf(ins), [{ kind: 'tensor', dtype: 'bool', shape: [] }], (v) => [boolScalar(!!x && v[x.slot] !== NONE && v[x.slot] !== undefined, b.device)]);
  },
  async OptionalGetElement(b, n, ins, label) {
    const x = ins[0]!;
    const meta: Meta = x.meta.kind === 'optional' ? { kind: 'unknown' } : x.meta;
    fnStep(b, n, label, [x.slot], [meta], (v) => {
      const val = v[x.slot];
      if (val === NONE || val === undefined) throw new MxError('INVALID_ARGUMENT', 'OptionalGetElement of an empty optional');
      return [alias(val)];
    });
  },
};

/** A zero-length scan output: [0, ...declared dims] when the body declares them. */
function emptyScan(t: ValueType | undefined, dev: string): Tensor {
  const dims = t?.kind === 'tensor' && t.shape?.every((d) => typeof d === 'number') ? (t.shape as number[]) : [];
  return full([0, ...dims], 0, { dtype: t?.kind === 'tensor' ? t.dtype : 'float32', device: dev });
}
