/**
 * mx.profile(fn): times every kernel the backends run while fn runs, grouped by
 * op and by call shape. Backends that implement profileStart/profileStop
 * (protocol minor 2; every native backend built with this bridge) take part.
 *
 * Times are measured inside the backend, around each kernel call: on host
 * backends that is the kernel's compute time; on device-memory backends (cuda)
 * the kernel runs asynchronously and the time is only its launch.
 */
import { syncAll } from './engine.js';
import { MxError } from './errors.js';
import type { Backend, KernelTiming } from './protocol.js';
import { activeBackends } from './registry.js';

export interface ProfiledCall extends KernelTiming {
  readonly backend: string;
  /** Multiply-adds times two for MatMul, Gemm, Conv, FusedConv and ConvTranspose; undefined for other ops. */
  readonly flops?: number;
}

export interface ProfileRow {
  readonly op: string;
  readonly backend: string;
  /** For byShape(): the inputs' shapes, e.g. "1x64x56x56, 64x64x3x3, 64". */
  readonly shapes?: string;
  readonly calls: number;
  readonly ms: number;
  /** Fraction of all kernel time. */
  readonly share: number;
  /** Where flops are known: GFLOP/s over these calls. */
  readonly gflops?: number;
}

const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** 2 x multiply-adds of the ops whose cost is dominated by them. */
function flopsOf(c: KernelTiming): number | undefined {
  const [a, w] = c.inputs;
  const y = c.outputs[0];
  if (!a || !y) return undefined;
  switch (c.op) {
    case 'MatMul':
      return 2 * prod(y) * a[a.length - 1]!;
    case 'Gemm':
      return y.length === 2 ? (2 * prod(y) * prod(a)) / y[0]! : undefined; // K = |A| / M whether A is transposed or not
    case 'Conv':
    case 'FusedConv':
      return w ? 2 * prod(y) * prod(w.slice(1)) : undefined;
    case 'ConvTranspose':
      return w ? 2 * prod(a) * prod(w.slice(1)) : undefined;
    default:
      return undefined;
  }
}

const dims = (s: readonly number[] | null) => (s === null ? '-' : s.length ? s.join('x') : 'scalar');

export class Profile {
  /** Wall time of fn, including everything it awaited, in milliseconds. */
  readonly wallMs: number;
  /** Every kernel call, in the order each backend ran them. */
  readonly calls: readonly ProfiledCall[];

  constructor(wallMs: number, calls: readonly ProfiledCall[]) {
    this.wallMs = wallMs;
    this.calls = calls;
  }

  /** Time inside kernels, in milliseconds. */
  get kernelMs(): number {
    return this.calls.reduce((t, c) => t + c.ns, 0) / 1e6;
  }

  /** Kernel time per (op, backend), most expensive first. */
  byOp(): ProfileRow[] {
    return this.group((c) => `${c.op}\0${c.backend}`, false);
  }

  /** Kernel time per (op, backend, input shapes), most expensive first. */
  byShape(): ProfileRow[] {
    return this.group((c) => `${c.op}\0${c.backend}\0${c.inputs.map(dims).join(', ')}`, true);
  }

  /**
   * A text table: the ops, then the `top` most expensive call shapes. `runs`:
   * how many runs of the same work fn made; times and calls are shown per run.
   */
  toString(top = 15, runs = 1): string {
    const total = this.kernelMs / runs;
    const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
    const per = (n: number) => (Number.isInteger(n / runs) ? String(n / runs) : (n / runs).toFixed(1));
    const fmt = (r: ProfileRow) =>
      `${(r.ms / runs).toFixed(3).padStart(10)} ms ${pct(r.share).padStart(6)} ${per(r.calls).padStart(6)}  ${`${r.op} (${r.backend})`.padEnd(28)}${r.gflops !== undefined ? ` ${r.gflops.toFixed(1).padStart(7)} GFLOP/s` : ''}${r.shapes ? `  ${r.shapes}` : ''}`;
    const head = `${'time'.padStart(13)} ${'share'.padStart(6)} ${'calls'.padStart(6)}  op (backend)`;
    return [
      `kernels: ${total.toFixed(3)} ms in ${per(this.calls.length)} calls; wall: ${(this.wallMs / runs).toFixed(3)} ms${runs > 1 ? ` (per run, over ${runs} runs)` : ''}`,
      '',
      head,
      ...this.byOp().map(fmt),
      '',
      `the ${top} most expensive call shapes (inputs):`,
      head,
      ...this.byShape().slice(0, top).map(fmt),
    ].join('\n');
  }

  private group(key: (c: ProfiledCall) => string, withShapes: boolean): ProfileRow[] {
    const total = this.calls.reduce((t, c) => t + c.ns, 0) || 1;
    const rows = new Map<string, { c: ProfiledCall; calls: number; ns: number; flops: number; known: boolean }>();
    for (const c of this.calls) {
      const k = key(c);
      const r = rows.get(k) ?? { c, calls: 0, ns: 0, flops: 0, known: true };
      r.calls++;
      r.ns += c.ns;
      if (c.flops === undefined) r.known = false;
      else r.flops += c.flops;
      rows.set(k, r);
    }
    return [...rows.values()]
      .sort((p, q) => q.ns - p.ns)
      .map((r) => ({
        op: r.c.op,
        backend: r.c.backend,
        ...(withShapes && { shapes: r.c.inputs.map(dims).join(', ') }),
        calls: r.calls,
        ms: r.ns / 1e6,
        share: r.ns / total,
        ...(r.known && r.ns > 0 && { gflops: r.flops / r.ns }),
      }));
  }
}

let running = false;

/**
 * Runs fn (and waits for the work it queued), timing every kernel call of the
 * backends in use. One profile at a time.
 * @example
 *   const p = await mx.profile(() => model.run(feeds));
 *   console.log(p.toString());  // time per op and per call shape, GFLOP/s where known
 */
export async function profile(fn: () => unknown): Promise<Profile> {
  if (running) throw new MxError('INVALID_ARGUMENT', 'mx.profile: another profile is running');
  const backends: Backend[] = activeBackends().filter((b) => typeof b.profileStart === 'function' && typeof b.profileStop === 'function');
  running = true;
  let calls: ProfiledCall[] = [];
  let wallMs = 0;
  try {
    await syncAll(); // earlier work is not counted
    const t0 = performance.now();
    for (const b of backends) b.profileStart!();
    try {
      await fn();
      await syncAll();
    } finally {
      wallMs = performance.now() - t0;
      for (const b of backends) {
        const name = b.name;
        calls = calls.concat(
          b.profileStop!().map((c) => {
            const flops = flopsOf(c);
            return { ...c, backend: name, ...(flops !== undefined && { flops }) };
          }),
        );
      }
    }
  } finally {
    running = false;
  }
  return new Profile(wallMs, calls);
}
