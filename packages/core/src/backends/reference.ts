/**
 * The reference backend: the op table's TypeScript reference kernels behind the
 * backend protocol, on host memory. Slow and exact; it serves tests, the
 * conformance kit's expectations, and shows that a backend needs no native code.
 * It is never selected unless registered explicitly (priority 1).
 */
import { DTYPES, readNumber, typedView, writeNumber, type DType } from '../dtype.js';
import { OPS } from '../ops/index.js';
import { kernelKey, type OpSchema } from '../ops/schema.js';
import type { Backend, KernelCall, KernelInfo, KernelTensor } from '../protocol.js';
import { PROTOCOL_MAJOR, PROTOCOL_MINOR } from '../protocol.js';
import { REFERENCE } from '../reference/index.js';
import type { RefTensor } from '../reference/types.js';

/**
 * Every kernel key an op's type constraints allow (constraints of `value` inputs
 * excluded). A constraint that only optional inputs use is also left unbound
 * (the input absent), as the engine does: Attention without a mask is "float32".
 */
export function allKeys(schema: OpSchema): string[] {
  const kernelTypes = new Set<string>();
  const required = new Set<string>();
  for (const i of schema.inputs) if (!i.value) (kernelTypes.add(i.type), !i.optional && required.add(i.type));
  for (const o of schema.outputs) (kernelTypes.add(o.type), required.add(o.type));
  const names = Object.keys(schema.types).filter((t) => kernelTypes.has(t));
  let combos: Record<string, DType>[] = [{}];
  for (const t of names) {
    const options: (DType | undefined)[] = required.has(t) ? [...schema.types[t]!] : [undefined, ...schema.types[t]!];
    combos = combos.flatMap((c) => options.map((d) => (d ? { ...c, [t]: d } : c)));
  }
  return combos.map((b) => kernelKey(schema, b));
}

/** Runs a reference kernel given byte access to the tensors. */
export function runReferenceKernel(call: KernelCall, bytesOf: (t: KernelTensor) => Uint8Array): void {
  const ref = REFERENCE[call.op]!;
  const toRef = (t: KernelTensor | null): RefTensor | null => {
    if (!t) return null;
    const b = bytesOf(t);
    const n = t.shape.reduce((a, x) => a * x, 1);
    const view = typedView(t.dtype, b.buffer, b.byteOffset, n);
    const data = new Float64Array(n);
    for (let i = 0; i < n; i++) data[i] = readNumber(t.dtype, view, i);
    return { shape: t.shape, dtype: t.dtype, data };
  };
  const outs = ref(call.inputs.map(toRef), call.attrs, call.outputs.map((o) => ({ shape: [...o.shape], dtype: o.dtype })));
  call.outputs.forEach((o, k) => {
    const b = bytesOf(o);
    const n = o.shape.reduce((a, x) => a * x, 1);
    const view = typedView(o.dtype, b.buffer, b.byteOffset, n);
    const src = outs[k]!;
    for (let i = 0; i < n; i++) writeNumber(o.dtype, view, i, src[i]!);
  });
}

export function referenceKernels(): KernelInfo[] {
  const out: KernelInfo[] = [];
  for (const [name, s] of Object.entries(OPS as Record<string, OpSchema>)) {
    if (!REFERENCE[name]) continue;
    for (const key of allKeys(s)) out.push({ op: name, domain: s.domain ?? '', key });
  }
  return out;
}

/** A pure-TS backend on the host device running the reference kernels. */
export function referenceBackend(opts: { name?: string; priority?: number; device?: string } = {}): Backend {
  let kernels: KernelInfo[] | undefined;
  const hostBytes = (t: KernelTensor) => {
    const ab = t.storage.data as ArrayBuffer;
    const n = t.shape.reduce((a, x) => a * x, 1) * DTYPES[t.dtype].size;
    return new Uint8Array(ab, t.storage.byteOffset, n);
  };
  return {
    name: opts.name ?? 'reference',
    version: '0.1.0',
    protocol: { major: PROTOCOL_MAJOR, minor: PROTOCOL_MINOR },
    priority: opts.priority ?? 1,
    init: () => null,
    devices: () => [{ id: opts.device ?? 'cpu', memory: 'host', name: 'JavaScript reference kernels' }],
    kernels: () => (kernels ??= referenceKernels()),
    run: (call) => runReferenceKernel(call, hostBytes),
  };
}
