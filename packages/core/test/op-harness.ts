/**
 * Test harness for op schemas and reference kernels without an engine: applies
 * attribute defaults, checks type constraints, runs the shape rule, runs the
 * reference kernel and stores results in the output dtype (rounding 16-bit floats,
 * wrapping integers) as the engine does. Also expands conformance cases over every
 * binding a schema allows, to check that the cases are valid calls.
 */
import { expect } from 'vitest';
import { DTYPES, isFloat, readNumber, writeNumber, type DType, type TypedArray } from '../src/dtype.js';
import { MxError } from '../src/errors.js';
import { intNarrowRange, isIntNarrow } from '../src/narrow.js';
import type { ConformanceCase, CaseInput } from '../src/conformance/types.js';
import { fail, sizeOf, type AttrValue, type InferContext, type InferResult, type OpSchema } from '../src/ops/schema.js';
import type { RefKernel } from '../src/reference/types.js';

export interface T {
  shape: number[];
  dtype: DType;
  data: number[];
}
export const t = (dtype: DType, shape: number[], data: number[]): T => ({ dtype, shape, data: store(dtype, data) });

/** Values as the dtype holds them. */
export function store(dtype: DType, data: ArrayLike<number>): number[] {
  const a = new DTYPES[dtype].array(data.length) as TypedArray;
  for (let i = 0; i < data.length; i++) writeNumber(dtype, a, i, data[i]!);
  return Array.from({ length: data.length }, (_, i) => readNumber(dtype, a, i));
}

/** Runs the schema's shape rule on `inputs` (null: absent) after the engine's checks. */
export function infer(schema: OpSchema, inputs: readonly (T | null)[], attrs: Record<string, AttrValue> = {}, numOutputs?: number): InferResult {
  const expanded = expandVariadic(schema, inputs);
  const ctxBase = { op: schema.name, inputs: inputs.map((x) => x ?? undefined) };
  const binding: Record<string, DType> = {};
  expanded.forEach(([spec, x]) => {
    if (!x) {
      if (!spec.optional) fail(ctxBase, `input ${spec.name} is required`);
      return;
    }
    const allowed = schema.types[spec.type];
    if (!allowed) {
      if (x.dtype !== spec.type) fail(ctxBase, `input ${spec.name} must be ${spec.type}, got ${x.dtype}`);
    } else if (!allowed.includes(x.dtype)) fail(ctxBase, `input ${spec.name} (${spec.type}) cannot be ${x.dtype}`);
    else if (binding[spec.type] && binding[spec.type] !== x.dtype) fail(ctxBase, `${spec.type} is bound to both ${binding[spec.type]} and ${x.dtype}`);
    else binding[spec.type] = x.dtype;
  });
  const full = withDefaults(schema, attrs);
  for (const [k, a] of Object.entries(schema.attrs ?? {})) if (full[k] === undefined && a.required) fail(ctxBase, `attribute ${k} is required`);
  for (const k of Object.keys(attrs)) if (!schema.attrs?.[k]) fail(ctxBase, `unknown attribute ${k}`);
  const ctx: InferContext = {
    op: schema.name,
    inputs: ctxBase.inputs,
    attrs: full,
    numOutputs: numOutputs ?? schema.outputs.filter((o) => !o.optional).length,
    value: (i) => (inputs[i] ? [...inputs[i]!.data] : undefined),
    fail: (m) => fail(ctxBase, m),
  };
  const r = schema.infer(ctx);
  r.outputs.forEach((o, i) => {
    const spec = schema.outputs[Math.min(i, schema.outputs.length - 1)]!;
    const allowed = schema.types[spec.type];
    if (allowed ? !allowed.includes(o.dtype) || (binding[spec.type] ?? o.dtype) !== o.dtype : o.dtype !== spec.type)
      fail(ctxBase, `output ${spec.name} (${spec.type}) cannot be ${o.dtype}`);
  });
  return r;
}

function withDefaults(schema: OpSchema, attrs: Record<string, AttrValue>): Record<string, AttrValue> {
  const full: Record<string, AttrValue> = {};
  for (const [k, a] of Object.entries(schema.attrs ?? {})) {
    const v = attrs[k] ?? a.default;
    if (v !== undefined) full[k] = v;
  }
  return full;
}

function expandVariadic(schema: OpSchema, inputs: readonly (T | null)[]) {
  return inputs.map((x, i) => [schema.inputs[Math.min(i, schema.inputs.length - 1)]!, x] as const);
}

/** infer + reference kernel; outputs stored in their dtypes. */
export function run(schema: OpSchema, ref: RefKernel, inputs: readonly (T | null)[], attrs: Record<string, AttrValue> = {}, numOutputs?: number): T[] {
  const r = infer(schema, inputs, attrs, numOutputs);
  const kernelInputs = expandVariadic(schema, inputs).map(([spec, x]) => (spec.value ? null : x));
  const outs = ref(kernelInputs, { ...withDefaults(schema, attrs), ...r.attrs }, r.outputs);
  return r.outputs.map((o, i) => {
    if (outs[i]!.length !== sizeOf(o.shape)) throw new Error(`${schema.name}: output ${i} has ${outs[i]!.length} values for shape [${o.shape}]`);
    return { shape: o.shape, dtype: o.dtype, data: store(o.dtype, outs[i]!) };
  });
}

// ---------------------------------------------------------------- conformance cases

/** Every binding (constraint -> dtype) of the constraints that kernel-visible inputs and outputs use; those of optional inputs only may also stay unbound. */
export function bindings(schema: OpSchema): Record<string, DType>[] {
  const used = new Set([...schema.inputs.filter((i) => !i.value), ...schema.outputs].map((s) => s.type));
  const required = new Set([...schema.inputs.filter((i) => !i.value && !i.optional), ...schema.outputs].map((s) => s.type));
  let all: Record<string, DType>[] = [{}];
  for (const [name, dts] of Object.entries(schema.types)) {
    if (!used.has(name)) continue;
    all = all.flatMap((b) => [...(required.has(name) ? [] : [b]), ...dts.map((d) => ({ ...b, [name]: d }))]);
  }
  return all;
}

/** Deterministic values for a case input. */
function generate(ci: CaseInput, dtype: DType, seed: number): number[] {
  if (ci.values) return [...ci.values];
  const unsigned = dtype === 'bool' || dtype.startsWith('uint');
  const [lo, hi] = ci.range ?? (dtype === 'bool' ? [0, 1] : isIntNarrow(dtype) ? intNarrowRange(dtype) : unsigned ? [0, 6] : [-3, 3]);
  const integer = ci.integer || !isFloat(dtype);
  let s = seed >>> 0 || 1;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0), s / 2 ** 32);
  return Array.from({ length: sizeOf(ci.shape) }, () => (integer ? Math.floor(lo + rnd() * (hi - lo + 1)) : lo + rnd() * (hi - lo)));
}

export interface Instance {
  binding: Record<string, DType>;
  inputs: (T | null)[];
  attrs: Record<string, AttrValue>;
  /** Problems with the generated inputs themselves. */
  unrepresentable: string[];
}

/** The calls a conformance case makes: one per allowed binding (filtered by `dtypes` and `bindings`). */
export function instances(schema: OpSchema, c: ConformanceCase): Instance[] {
  const first = Object.keys(schema.types)[0];
  return bindings(schema)
    .filter((b) => !c.dtypes || (first !== undefined && c.dtypes.includes(b[first]!)))
    .filter((b) => !c.bindings || c.bindings(b))
    .map((binding) => {
      const unrepresentable: string[] = [];
      const inputs = c.inputs.map((ci, i) => {
        if (!ci) return null;
        const spec = schema.inputs[Math.min(i, schema.inputs.length - 1)]!;
        const dtype = ci.dtype ?? binding[spec.type] ?? (spec.type as DType);
        const values = generate(ci, dtype, i * 7919 + 17);
        const x = t(dtype, [...ci.shape], values);
        if (values.length !== sizeOf(ci.shape)) unrepresentable.push(`input ${i} has ${values.length} values for shape [${ci.shape}]`);
        // Integer inputs must hold their values exactly (a negative value in an unsigned input wraps).
        if (!isFloat(dtype) && x.data.some((v, k) => v !== values[k])) unrepresentable.push(`input ${i} values do not fit ${dtype}`);
        return x;
      });
      const attrs = typeof c.attrs === 'function' ? c.attrs(binding) : { ...(c.attrs ?? {}) };
      return { binding, inputs, attrs, unrepresentable };
    });
}

/** Checks every case: throwing cases throw INVALID_ARGUMENT, the others run. Returns problems found. */
export function checkCases(ops: Readonly<Record<string, OpSchema>>, refs: Readonly<Record<string, RefKernel>>, cases: readonly ConformanceCase[]): string[] {
  const problems: string[] = [];
  for (const c of cases) {
    const schema = ops[c.op];
    if (!schema) {
      problems.push(`${c.op}/${c.name}: unknown op`);
      continue;
    }
    const inst = instances(schema, c);
    if (inst.length === 0) problems.push(`${c.op}/${c.name}: no binding to run`);
    for (const { binding, inputs, attrs, unrepresentable } of inst) {
      const where = `${c.op}/${c.name} [${Object.values(binding).join(',')}]`;
      for (const p of unrepresentable) problems.push(`${where}: ${p}`);
      try {
        const outs = run(schema, refs[c.op]!, inputs, attrs, c.outputs);
        if (c.throws) problems.push(`${where}: did not throw`);
        const nanIn = inputs.some((x) => x?.data.some(Number.isNaN));
        if (!nanIn && outs.some((o) => o.data.some(Number.isNaN))) problems.push(`${where}: NaN result (input out of domain?)`);
      } catch (e) {
        if (!(c.throws && e instanceof MxError && e.code === 'INVALID_ARGUMENT')) problems.push(`${where}: ${String(e)}`);
      }
    }
  }
  return problems;
}

/**
 * rejects(op, inputs, attrs?, numOutputs?) for the ops of `ops`: the message of
 * the INVALID_ARGUMENT MxError naming `op` that its shape rule throws; fails the
 * test when the call is accepted.
 */
export function rejecter(ops: Readonly<Record<string, OpSchema>>) {
  return (op: string, inputs: readonly (T | null)[], attrs: Record<string, AttrValue> = {}, numOutputs?: number): string => {
    try {
      infer(ops[op]!, inputs, attrs, numOutputs);
    } catch (e) {
      expect(e).toBeInstanceOf(MxError);
      expect((e as MxError).code).toBe('INVALID_ARGUMENT');
      expect((e as MxError).op).toBe(op);
      return (e as Error).message;
    }
    throw new Error(`${op} accepted the call`);
  };
}

/** Element by element: |got - want| <= tol * max(1, |want|). */
export function expectClose(got: readonly number[], want: readonly number[], tol = 1e-6): void {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => expect(Math.abs(g - want[i]!), `element ${i}: ${g} vs ${want[i]}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(want[i]!))));
}
