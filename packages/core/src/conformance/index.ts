/**
 * The conformance kit: every backend runs the same cases, declared once per op
 * (conformance/cases), against the reference kernels. Each (op, kernel key) the
 * op table allows is either run on every case or reported `unsupported`; nothing
 * is skipped silently. Each case also checks that the op leaks no tensor.
 *
 * @example
 * import { runConformance, formatReport } from '@mx/core/conformance';
 * const report = await runConformance(myBackend);
 * console.log(formatReport(report));
 */
import { DTYPES, isDType, readNumber, typedView, writeNumber, type DType } from '../dtype.js';
import { MxError, isMxError } from '../errors.js';
import { intNarrowRange, isIntNarrow } from '../narrow.js';
import { inferOp, memory, runOp, withBackend, type TensorBase } from '../engine.js';
import { OPS } from '../ops/index.js';
import type { OpSchema } from '../ops/schema.js';
import type { Backend } from '../protocol.js';
import { REFERENCE } from '../reference/index.js';
import type { RefTensor } from '../reference/types.js';
import { allKeys } from '../backends/reference.js';
import { devices } from '../registry.js';
import { tensor, type Tensor } from '../tensor.js';
import { CASES } from './cases/index.js';
import type { CaseInput, ConformanceCase } from './types.js';

export type { ConformanceCase, CaseInput } from './types.js';
export { CASES } from './cases/index.js';

export type Status = 'pass' | 'fail' | 'error' | 'unsupported';

export interface CaseResult {
  op: string;
  key: string;
  case: string;
  status: Status;
  message?: string;
}

export interface ConformanceReport {
  backend: string;
  device: string;
  results: CaseResult[];
  counts: Record<Status, number>;
  /** (op, key) pairs the op table allows and the backend does not declare. */
  unsupported: { op: string; key: string }[];
  failures: CaseResult[];
}

const TOL: Partial<Record<DType, { rtol: number; atol: number }>> = {
  float32: { rtol: 1e-5, atol: 1e-5 },
  float64: { rtol: 1e-10, atol: 1e-10 },
  float16: { rtol: 1e-3, atol: 1e-3 },
  bfloat16: { rtol: 1e-2, atol: 1e-2 },
};

/** Deterministic generator (mulberry32) seeded from a string. */
function rng(seed: string): () => number {
  let h = 1779033703 ^ seed.length;
  for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 3432918353);
  let a = (h << 13) | (h >>> 19);
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const UNSIGNED: readonly DType[] = ['uint8', 'uint16', 'uint32', 'uint64', 'float8e8m0'];

function generate(inp: CaseInput, dtype: DType, rand: () => number): number[] {
  const n = inp.shape.reduce((a, b) => a * b, 1);
  if (inp.values) {
    if (inp.values.length !== n) throw new MxError('INTERNAL', `case input has ${inp.values.length} values for shape [${inp.shape.join(',')}]`);
    return [...inp.values];
  }
  if (dtype === 'bool') return Array.from({ length: n }, () => (rand() < 0.5 ? 0 : 1));
  const [lo, hi] = inp.range ?? (isIntNarrow(dtype) ? intNarrowRange(dtype) : UNSIGNED.includes(dtype) ? [0, 6] : [-3, 3]);
  const isInt = inp.integer || !(dtype === 'float32' || dtype === 'float64' || dtype === 'float16' || dtype === 'bfloat16');
  return Array.from({ length: n }, () => (isInt ? Math.floor(lo + rand() * (hi - lo + 1)) : lo + rand() * (hi - lo)));
}

/** The values as stored in `dtype` (what the kernel sees), as numbers. */
function quantize(values: readonly number[], dtype: DType): number[] {
  const a = typedView(dtype, new ArrayBuffer(values.length * DTYPES[dtype].size), 0, values.length);
  values.forEach((v, i) => writeNumber(dtype, a, i, v));
  return Array.from({ length: values.length }, (_, i) => readNumber(dtype, a, i));
}

/** Value inputs live on the host: 'cpu' when some backend serves it, else the device itself (it must then be host memory). */
function hostDevice(deviceId: string): string {
  try {
    return devices().some((d) => d.id === 'cpu') ? 'cpu' : deviceId;
  } catch {
    return deviceId;
  }
}

/** Type-constraint names that take part in kernel keys, in key order. */
function keyTypes(schema: OpSchema): string[] {
  const used = new Set<string>();
  for (const i of schema.inputs) if (!i.value) used.add(i.type);
  for (const o of schema.outputs) used.add(o.type);
  return Object.keys(schema.types).filter((t) => used.has(t));
}

function compare(got: ArrayLike<number>, want: ArrayLike<number>, dtype: DType, c: ConformanceCase): string | undefined {
  if (got.length !== want.length) return `length ${got.length}, expected ${want.length}`;
  const tol = TOL[dtype];
  const rtol = c.rtol ?? tol?.rtol ?? 0;
  const atol = c.atol ?? tol?.atol ?? 0;
  for (let i = 0; i < got.length; i++) {
    const g = got[i]!;
    const w = want[i]!;
    if (Number.isNaN(w) && Number.isNaN(g)) continue;
    if (g === w) continue;
    if (!tol || !(Math.abs(g - w) <= atol + rtol * Math.abs(w)))
      return `element ${i}: got ${g}, expected ${w}${tol ? ` (rtol ${rtol}, atol ${atol})` : ''}`;
  }
  return undefined;
}

/** The binding (type-constraint name -> dtype) a kernel key stands for. */
function bindingOf(schema: OpSchema, key: string): Record<string, DType> {
  const parts = key.split(',');
  const binding: Record<string, DType> = {};
  keyTypes(schema).forEach((t, i) => (binding[t] = parts[i] as DType));
  return binding;
}

async function runCase(schema: OpSchema, c: ConformanceCase, key: string, backend: Backend, deviceId: string): Promise<CaseResult> {
  const op = schema.name;
  const binding = bindingOf(schema, key);
  const specs = schema.inputs;
  const rand = rng(`${op}|${c.name}|${key}`);
  const made: TensorBase[] = [];
  const base: CaseResult = { op, key, case: c.name, status: 'pass' };
  const live0 = memory().devices[deviceId]?.tensors ?? 0;
  try {
    const args: unknown[] = [];
    const refInputs: (RefTensor | null)[] = [];
    const metas: ({ shape: number[]; dtype: DType } | undefined)[] = [];
    const values: (number[] | undefined)[] = [];
    c.inputs.forEach((inp, i) => {
      const sp = specs[Math.min(i, specs.length - 1)]!;
      if (!inp) {
        args.push(null);
        refInputs.push(null);
        metas.push(undefined);
        values.push(undefined);
        return;
      }
      const dtype: DType = inp.dtype ?? (isDType(sp.type) ? sp.type : (binding[sp.type] ?? schema.types[sp.type]?.[0] ?? 'float32'));
      const data = quantize(generate(inp, dtype, rand), dtype);
      // value inputs are read on the host by the shape rule
      const t = tensor(dtype === 'int64' || dtype === 'uint64' ? (data.map((x) => BigInt(x)) as never) : data, {
        dtype,
        shape: [...inp.shape],
        device: sp.value ? hostDevice(deviceId) : deviceId,
      });
      made.push(t);
      args.push(t);
      if (sp.value) {
        refInputs.push(null);
        metas.push({ shape: [...inp.shape], dtype });
        values.push(data);
        return;
      }
      refInputs.push({ shape: [...inp.shape], dtype, data });
      metas.push({ shape: [...inp.shape], dtype });
      values.push(undefined);
    });
    const attrs = typeof c.attrs === 'function' ? c.attrs(binding) : c.attrs;
    if (c.throws) {
      try {
        withBackend(backend, () => runOp(schema, args, attrs ? { ...attrs } : undefined, c.outputs ? { outputs: c.outputs } : undefined)).forEach((t) => t.dispose());
      } catch (e) {
        if (isMxError(e) && e.code === 'INVALID_ARGUMENT') return base;
        return { ...base, status: 'fail', message: `expected INVALID_ARGUMENT, got ${String(e)}` };
      }
      return { ...base, status: 'fail', message: 'expected the call to be rejected' };
    }
    const outs = withBackend(backend, () => runOp(schema, args, attrs ? { ...attrs } : undefined, c.outputs ? { outputs: c.outputs } : undefined)) as Tensor[];
    made.push(...outs);
    // expected values from the reference kernel
    const { res, kernelAttrs } = inferOp(schema, metas, values, attrs ? { ...attrs } : undefined, c.outputs);
    const want = res.viewOf !== undefined ? [refInputs[res.viewOf]!.data] : REFERENCE[op]!(refInputs, kernelAttrs, res.outputs);
    for (let k = 0; k < outs.length; k++) {
      const t = outs[k]!;
      const m = res.outputs[k]!;
      if (t.dtype !== m.dtype || t.shape.join(',') !== m.shape.join(','))
        return { ...base, status: 'fail', message: `output ${k}: ${t.dtype}[${t.shape}] expected ${m.dtype}[${m.shape}]` };
      const raw = await t.data();
      const got = Array.from({ length: t.size }, (_, i) => readNumber(t.dtype, raw, i));
      const diff = compare(got, quantize(Array.from(want[k]!), m.dtype), m.dtype, c);
      if (diff) return { ...base, status: 'fail', message: `output ${k}: ${diff}` };
    }
    return base;
  } catch (e) {
    return { ...base, status: 'error', message: e instanceof Error ? e.message : String(e) };
  } finally {
    for (const t of made) t.dispose();
    const leaked = (memory().devices[deviceId]?.tensors ?? 0) - live0;
    if (leaked !== 0 && base.status === 'pass') {
      base.status = 'fail';
      base.message = `leaked ${leaked} tensor(s)`;
    }
  }
}

/**
 * Runs every case of every op the op table has against `backend` on `device`
 * (default: its first device). The backend must be registered (mx.use or
 * registerBackend) so the engine can place work on it.
 */
export async function runConformance(
  backend: Backend,
  opts: { device?: string; ops?: readonly string[]; onProgress?: (done: number, total: number) => void } = {},
): Promise<ConformanceReport> {
  const deviceId = opts.device ?? backend.devices()[0]!.id;
  const declared = new Set(backend.kernels().map((k) => `${k.op}:${k.key}`));
  const results: CaseResult[] = [];
  const unsupported: { op: string; key: string }[] = [];
  const entries = Object.entries(OPS as Record<string, OpSchema>).filter(([n]) => !opts.ops || opts.ops.includes(n));
  let done = 0;
  for (const [name, schema] of entries) {
    const cases = CASES.filter((c) => c.op === name);
    const viewOnly = cases.length > 0 && !REFERENCE[name];
    for (const key of allKeys(schema)) {
      const first = key.split(',')[0] as DType;
      const binding = bindingOf(schema, key);
      const applies = (c: ConformanceCase) => (!c.dtypes || c.dtypes.includes(first)) && (!c.bindings || c.bindings(binding));
      if (cases.some((c) => c.bindings) && !cases.some(applies)) continue;
      if (!viewOnly && !declared.has(`${name}:${key}`)) {
        unsupported.push({ op: name, key });
        results.push({ op: name, key, case: '*', status: 'unsupported' });
        continue;
      }
      for (const c of cases) {
        if (!applies(c)) continue;
        results.push(await runCase(schema, c, key, backend, deviceId));
      }
    }
    opts.onProgress?.(++done, entries.length);
  }
  const counts: Record<Status, number> = { pass: 0, fail: 0, error: 0, unsupported: 0 };
  for (const r of results) counts[r.status]++;
  return { backend: backend.name, device: deviceId, results, counts, unsupported, failures: results.filter((r) => r.status === 'fail' || r.status === 'error') };
}

/** A short text summary: counts, failures, and unsupported (op, dtypes) grouped by op. */
export function formatReport(r: ConformanceReport, maxFailures = 50): string {
  const lines = [`conformance of backend ${r.backend} on ${r.device}: ${r.counts.pass} passed, ${r.counts.fail} failed, ${r.counts.error} errors, ${r.counts.unsupported} (op, dtype) pairs unsupported`];
  for (const f of r.failures.slice(0, maxFailures)) lines.push(`  ${f.status.toUpperCase()} ${f.op}(${f.key}) [${f.case}]: ${f.message}`);
  if (r.failures.length > maxFailures) lines.push(`  ... and ${r.failures.length - maxFailures} more`);
  const byOp = new Map<string, string[]>();
  for (const u of r.unsupported) byOp.set(u.op, [...(byOp.get(u.op) ?? []), u.key]);
  if (byOp.size) {
    lines.push('  unsupported:');
    for (const [op, keys] of byOp) lines.push(`    ${op}: ${keys.join(' ')}`);
  }
  return lines.join('\n');
}
