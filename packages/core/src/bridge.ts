/**
 * The TS half of the native bridge: turns the exports of a backend's .node (the
 * bridge in ../bridge/mx_bridge.cc compiled with the backend's C table) into a
 * `Backend`. Backend packages call this from their entry module:
 *
 *   import { nativeBackend, unavailableBackend } from '@mx/core/bridge';
 *   const backend = nativeBackend(require('./x.node'), { name: 'x', version: '1.0.0', priority: 100 });
 *
 * The kernel path marshals no JS arrays: run() writes the call into the addon's
 * command buffer (layout documented in mx_bridge.cc) and calls submit() with the
 * attributes encoded once per KernelCall (kept in call.cache).
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { DTYPES, isDType, type DType } from './dtype.js';
import { MxError, type MxErrorCode } from './errors.js';
import { PROTOCOL_MAJOR, PROTOCOL_MINOR, type Backend, type DeviceInfo, type KernelCall, type KernelInfo, type KernelTensor, type KernelTiming, type ProgramCall, type ProgramTensor, type Queue, type StorageRef } from './protocol.js';
import type { AttrValue } from './ops/schema.js';

/** What the backend package knows about itself (from its package.json). */
export interface NativeBackendInfo {
  readonly name: string;
  readonly version: string;
  readonly priority: number;
}

/** A native device queue: counters readable without a native call, and gates for cross-device copies. */
export interface NativeQueue extends Queue {
  readonly handle: unknown;
  submitted(): number;
  completed(): number;
  waitFor(p: Promise<unknown>): void;
}

export interface NativeBackend extends Backend {
  queue(device: string): NativeQueue;
  attachQueue(device: string, handle: unknown): void;
  addressOf(buffer: ArrayBuffer): number;
  /** Free text for `mx doctor`: ISA, library versions, threads... */
  describe(): string | undefined;
}

/** The raw exports of the bridge (mx_bridge.cc). */
interface Addon {
  readonly command: Float64Array;
  info(): { name: string; abiMajor: number; abiMinor: number; describe?: string; threads: number; deviceMemory: boolean; commandLength: number };
  init(): string | null;
  devices(): DeviceInfo[];
  kernels(): [op: string, domain: string, key: string][];
  addressOf(buffer: ArrayBuffer): number;
  createQueue(device: number): [handle: unknown, submitted: Float64Array, completed: Float64Array];
  attachQueue(device: number, handle: unknown): void;
  submit(attrs?: unknown): void;
  /** Absent from bridges built before programs existed. */
  createProgram?(device: number, records: Float64Array, attrs: unknown[], externals: number): unknown;
  runProgram?(program: unknown): void;
  encodeAttrs(attrs: object): unknown;
  sync(queue: unknown): Promise<void>;
  drainSync(queue: unknown): void;
  waitGate(device: number): unknown;
  fill(gate: unknown, src?: Uint8Array | string): void;
  alloc(device: number, bytes: number): unknown;
  deviceAddress(mem: unknown): number;
  free(mem: unknown): void;
  write(mem: unknown, byteOffset: number, src: Uint8Array): void;
  writeLater(mem: unknown, byteOffset: number): unknown;
  read(mem: unknown, byteOffset: number, bytes: number, dstAddress: number): void;
  memoryInfo(device: number): { usedBytes: number; freeBytes: number; totalBytes: number } | undefined;
  /** Absent from bridges built before profiling existed. */
  profileStart?(): void;
  profileStop?(): [op: string, ns: number, inputs: number, shapes: (number[] | null)[]][];
}

const REQUIRED = ['info', 'init', 'devices', 'kernels', 'addressOf', 'createQueue', 'attachQueue', 'submit', 'encodeAttrs', 'sync', 'drainSync', 'waitGate', 'fill'];

const DTYPE_ID: Readonly<Record<string, number>> = Object.fromEntries(Object.entries(DTYPES).map(([d, v]) => [d, v.id]));

const HINTS: Partial<Record<MxErrorCode, string>> = {
  INVALID_ARGUMENT: "core's checks should have rejected this call; please report it with the op, shapes and dtypes",
  UNSUPPORTED: 'this backend does not implement that combination; another backend on the device may (mx doctor lists kernels)',
  OUT_OF_MEMORY: 'dispose tensors you no longer need (dispose(), mx.tidy()) or use smaller batches',
  DEVICE_FAULT: 'the device is unusable until the process restarts; other devices keep working',
  KERNEL: 'MX_ENGINE=sync runs kernels inline so that the failing call throws where it is made',
};

/** Turns a failure reported by the bridge (Error with code, op, backend, device) into an MxError. */
function toMxError(e: unknown): unknown {
  if (!(e instanceof Error) || e.name === 'MxError') return e;
  const x = e as Error & { code?: string; op?: string; backend?: string; device?: string };
  const code = (['INVALID_ARGUMENT', 'UNSUPPORTED', 'OUT_OF_MEMORY', 'DEVICE_FAULT', 'KERNEL'] as const).find((c) => c === x.code);
  if (!code) return e;
  return new MxError(code, x.message, {
    ...(x.op && { op: x.op }),
    ...(x.backend && { backend: x.backend }),
    ...(x.device && { device: x.device }),
    hint: HINTS[code]!,
    cause: e,
  });
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The attrs object for encodeAttrs: dtype names become their ONNX ids (what kernels read as ints). */
function attrsForNative(attrs: Readonly<Record<string, AttrValue>>): object | undefined {
  let out: Record<string, AttrValue> | undefined;
  for (const k in attrs) {
    const v = attrs[k]!;
    // Without the schema at hand a string is a dtype attr exactly when it names a
    // dtype; no ONNX string attribute takes such a value.
    (out ??= {})[k] = typeof v === 'string' && isDType(v) ? DTYPES[v as DType].id : v;
  }
  return out;
}

/**
 * Wraps the exports of a native backend's .node as a Backend. Throws BACKEND_LOAD
 * when `addon` is not a bridge module (a loader turns that into unavailableBackend).
 * @example
 *   const require = createRequire(import.meta.url);
 *   const backend = nativeBackend(require('node-gyp-build')(packageRoot), { name: 'cpu', version: '0.1.0', priority: 100 });
 *   backend.init(); // null when it can run here
 */
export function nativeBackend(addon: unknown, info: NativeBackendInfo): NativeBackend {
  const A = addon as Addon;
  const missing = REQUIRED.filter((f) => typeof (A as unknown as Record<string, unknown>)?.[f] !== 'function');
  if (missing.length || !(A.command instanceof Float64Array))
    throw new MxError('BACKEND_LOAD', `the native module of backend ${info.name} is not an mx bridge (it lacks ${missing.join(', ') || 'command'})`, {
      backend: info.name,
      hint: 'build the backend with @mx/core/bridge/bridge.gypi (see bridge/README.md in @mx/core)',
    });

  const cmd = A.command;
  const LEN = cmd.length;
  // call.cache keys, per backend name so that a call tried on two backends keeps both.
  const K_KERNEL = `${info.name}.kernel`;
  const K_ATTRS = `${info.name}.attrs`;
  const K_DEVICE = `${info.name}.device`;

  let reason: string | null | undefined;
  let devices: DeviceInfo[] = [];
  let kernels: KernelInfo[] = [];
  const deviceIndex = new Map<string, number>();
  const kernelIndex = new Map<string, number>();
  let host: boolean[] = [];
  let routed: boolean[] = [];
  const queues: NativeQueue[] = [];
  let gatesOpen = 0;
  let nativeInfo: ReturnType<Addon['info']> | undefined;
  let constIds = false; // the native bridge reads constant ids (ABI 1.1 and later)

  const fail = (code: MxErrorCode, msg: string, device?: string, op?: string) =>
    new MxError(code, msg, { backend: info.name, ...(device !== undefined && { device }), ...(op !== undefined && { op }) });

  function ready(): void {
    const why = backend.init();
    if (why !== null) throw fail('BACKEND_UNAVAILABLE', `backend ${info.name} cannot run here: ${why}`);
  }

  function indexOf(device: string): number {
    ready();
    const d = deviceIndex.get(device);
    if (d === undefined) throw fail('INVALID_ARGUMENT', `backend ${info.name} does not serve device '${device}' (it serves ${devices.map((x) => x.id).join(', ')})`, device);
    return d;
  }

  function kernelOf(call: Pick<KernelCall, 'domain' | 'op' | 'key' | 'device'>): number {
    const k = kernelIndex.get(`${call.domain}/${call.op}/${call.key}`);
    if (k === undefined) throw fail('UNSUPPORTED', `backend ${info.name} has no kernel ${call.op}(${call.key})`, call.device, call.op);
    return k;
  }

  // A record's rank plus CONST_FLAG says that the tensor's constant id follows it
  // (mx_bridge.cc's kConstFlag; kernels see it as ctx->const_ids).
  const CONST_FLAG = 1024;
  // Writes one tensor record at p; returns the next position.
  function put(p: number, t: KernelTensor | null, onHost: boolean, input: boolean): number {
    if (t === null) {
      cmd[p] = 0;
      cmd[p + 1] = 0;
      cmd[p + 2] = 0;
      return p + 3;
    }
    const s = t.storage;
    const shape = t.shape;
    const n = shape.length;
    if (p + n + 5 > LEN) throw fail('INTERNAL', `a ${info.name} kernel call has more tensor data than the command buffer holds`);
    let addr = s.addr;
    if (addr === undefined) addr = s.addr = onHost ? A.addressOf(s.data as ArrayBuffer) : A.deviceAddress(s.data);
    const id = DTYPE_ID[t.dtype]!;
    cmd[p] = onHost ? addr + s.byteOffset : addr;
    cmd[p + 1] = onHost ? id : -id;
    const cid = input && constIds ? s.constId : undefined;
    cmd[p + 2] = cid ? n + CONST_FLAG : n;
    p += 3;
    for (let j = 0; j < n; j++) cmd[p + j] = shape[j]!;
    p += n;
    if (!onHost) cmd[p++] = s.byteOffset;
    if (cid) cmd[p++] = cid;
    return p;
  }

  function ownQueue(d: number): NativeQueue {
    const existing = queues[d];
    if (existing) return existing;
    const [handle, submitted, completed] = A.createQueue(d);
    routed[d] = true;
    const q: NativeQueue = {
      handle,
      sync: () => A.sync(handle).catch((e: unknown) => Promise.reject(toMxError(e))),
      drainSync() {
        if (gatesOpen > 0)
          throw fail('INTERNAL', 'cannot block on a queue that waits for a cross-device copy still in flight', devices[d]!.id);
        try {
          A.drainSync(handle);
        } catch (e) {
          throw toMxError(e);
        }
      },
      submitted: () => submitted[0]!,
      completed: () => completed[0]!,
      waitFor(p: Promise<unknown>) {
        const gate = A.waitGate(d);
        gatesOpen++;
        p.then(
          () => A.fill(gate),
          (e: unknown) => A.fill(gate, `a cross-device copy this queue waited for failed: ${message(e)}`),
        ).finally(() => gatesOpen--);
      },
    };
    queues[d] = q;
    return q;
  }

  const backend: NativeBackend = {
    name: info.name,
    version: info.version,
    protocol: { major: PROTOCOL_MAJOR, minor: PROTOCOL_MINOR },
    priority: info.priority,

    init(): string | null {
      if (reason !== undefined) return reason;
      try {
        nativeInfo = A.info();
        constIds = nativeInfo.abiMajor === 1 && nativeInfo.abiMinor >= 1;
        reason = A.init();
        if (reason === null) {
          devices = A.devices();
          kernels = A.kernels().map(([op, domain, key], i) => {
            kernelIndex.set(`${domain}/${op}/${key}`, i);
            return { op, domain, key };
          });
          devices.forEach((d, i) => deviceIndex.set(d.id, i));
          host = devices.map((d) => d.memory === 'host');
          routed = devices.map(() => false);
        }
      } catch (e) {
        reason = `the native module failed to initialize: ${message(e)}`;
      }
      return reason;
    },
    devices: () => (backend.init() === null ? devices : []),
    kernels: () => (backend.init() === null ? kernels : []),
    describe: () => (backend.init(), nativeInfo?.describe),

    queue: (device: string) => ownQueue(indexOf(device)),
    attachQueue(device: string, handle: unknown): void {
      const d = indexOf(device);
      A.attachQueue(d, handle);
      routed[d] = true;
    },
    addressOf: (buffer: ArrayBuffer) => A.addressOf(buffer),

    run(call: KernelCall): void {
      const cache = (call.cache ??= {});
      let k = cache[K_KERNEL] as number | undefined;
      let d = cache[K_DEVICE] as number;
      if (k === undefined) {
        d = indexOf(call.device);
        k = kernelOf(call);
        const attrs = attrsForNative(call.attrs);
        cache[K_ATTRS] = attrs && A.encodeAttrs(attrs);
        cache[K_DEVICE] = d;
        cache[K_KERNEL] = k;
      }
      if (!routed[d]) ownQueue(d);
      const onHost = host[d]!;
      const ins = call.inputs;
      const outs = call.outputs;
      cmd[0] = k;
      cmd[1] = d;
      cmd[2] = ins.length;
      cmd[3] = outs.length;
      let p = 4;
      for (let i = 0; i < ins.length; i++) p = put(p, ins[i]!, onHost, true);
      for (let i = 0; i < outs.length; i++) p = put(p, outs[i]!, onHost, false);
      A.submit(cache[K_ATTRS]);
    },
  };

  const { profileStart, profileStop } = A;
  if (typeof profileStart === 'function' && typeof profileStop === 'function')
    Object.assign(backend, {
      profileStart: () => profileStart.call(A),
      profileStop: (): KernelTiming[] =>
        profileStop.call(A).map(([op, ns, nin, shapes]) => ({ op, ns, inputs: shapes.slice(0, nin), outputs: shapes.slice(nin) as number[][] })),
    });

  if (typeof A.createProgram === 'function' && typeof A.runProgram === 'function') {
    const createProgram = A.createProgram.bind(A);
    const runProgram = A.runProgram.bind(A);
    // Records in createProgram's layout (mx_bridge.cc, "programs").
    const record = (out: number[], t: ProgramTensor | null, input: boolean) => {
      if (t === null) return void out.push(0, 0, 0, 0);
      const at = 'arena' in t ? t.arena : t.ext;
      const cid = input && constIds ? t.constId : undefined;
      out.push('arena' in t ? 1 : 2, at, DTYPE_ID[t.dtype]!, cid ? t.shape.length + CONST_FLAG : t.shape.length, ...t.shape);
      if (cid) out.push(cid);
    };
    const addr = (s: StorageRef): number => {
      const r = s as StorageRef & { addr?: number };
      return (r.addr ??= A.addressOf(s.data as ArrayBuffer)) + s.byteOffset;
    };
    Object.assign(backend, {
      program(device: string, calls: readonly ProgramCall[]): unknown {
        const d = indexOf(device);
        if (!host[d]) return undefined;
        if (!routed[d]) ownQueue(d);
        const records: number[] = [calls.length];
        const attrs: unknown[] = [];
        let externals = 0;
        for (const call of calls) {
          const k = kernelOf({ domain: call.domain, op: call.op, key: call.key, device });
          records.push(k, call.inputs.length, call.outputs.length);
          for (const [i, t] of [...call.inputs, ...call.outputs].entries()) {
            record(records, t, i < call.inputs.length);
            if (t && 'ext' in t) externals = Math.max(externals, t.ext + 1);
          }
          const a = attrsForNative(call.attrs);
          attrs.push(a && A.encodeAttrs(a));
        }
        if (externals + 1 > LEN) return undefined;
        return { handle: createProgram(d, Float64Array.from(records), attrs, externals), externals };
      },
      runProgram(program: unknown, arena: StorageRef | null, externals: readonly StorageRef[]): void {
        const p = program as { handle: unknown; externals: number };
        if (externals.length !== p.externals) throw fail('INTERNAL', `a program with ${p.externals} externals was run with ${externals.length}`);
        cmd[0] = arena ? addr(arena) : 0;
        for (let i = 0; i < externals.length; i++) cmd[1 + i] = addr(externals[i]!);
        runProgram(p.handle);
      },
    });
  }

  if (!A.info().deviceMemory) return backend;

  // ---- device memory (backends whose table has alloc/free/copy_in/copy_out)
  const withQueue = (device: string) => {
    const d = indexOf(device);
    if (!routed[d]) ownQueue(d);
    return d;
  };
  return Object.assign(backend, {
    alloc: (device: string, bytes: number) => A.alloc(withQueue(device), bytes),
    free: (_device: string, handle: unknown) => A.free(handle),
    write(device: string, dst: StorageRef, src: Uint8Array | Promise<Uint8Array>): void {
      withQueue(device);
      if (!(src instanceof Promise)) return A.write(dst.data, dst.byteOffset, src);
      const gate = A.writeLater(dst.data, dst.byteOffset);
      gatesOpen++;
      src.then(
        (bytes) => A.fill(gate, bytes),
        (e: unknown) => A.fill(gate, `the source of a write to ${device} failed: ${message(e)}`),
      ).finally(() => gatesOpen--);
    },
    async read(device: string, src: StorageRef, bytes: number): Promise<Uint8Array> {
      const q = queues[withQueue(device)];
      if (!q) throw fail('INTERNAL', `backend ${info.name} reads ${device} memory only on its own queue`, device);
      const dst = new ArrayBuffer(bytes); // alive in this closure until the copy is done
      A.read(src.data, src.byteOffset, bytes, A.addressOf(dst));
      await q.sync();
      return new Uint8Array(dst);
    },
    memoryInfo(device: string) {
      const m = A.memoryInfo(indexOf(device));
      return m ?? { usedBytes: 0 };
    },
  });
}

/**
 * A Backend that cannot run here (its binary is missing or does not load):
 * init() returns `reason`, it serves no devices, and run() throws.
 * @example
 *   export default unavailableBackend({ name: 'cuda', version: '0.1.0', priority: 500 }, 'no prebuild for linux-arm64');
 */
export function unavailableBackend(info: NativeBackendInfo, reason: string): Backend {
  return {
    name: info.name,
    version: info.version,
    protocol: { major: PROTOCOL_MAJOR, minor: PROTOCOL_MINOR },
    priority: info.priority,
    init: () => reason,
    devices: () => [],
    kernels: () => [],
    run(call: KernelCall): void {
      throw new MxError('BACKEND_UNAVAILABLE', `backend ${info.name} cannot run here: ${reason}`, { backend: info.name, op: call.op, device: call.device });
    },
  };
}

/**
 * Loads a backend package's native binary for this platform with node-gyp-build
 * (prebuilds/<platform>-<arch>/, or build/Release) and wraps it with the bridge.
 * `entryUrl` is the package entry's `import.meta.url`; the package root is its
 * parent folder unless `root` is given. The name, version and priority come from
 * the package's package.json (`mx` field). When no binary loads, the result is an
 * unavailable backend whose reason names the platform, what was tried, the
 * loader's message and the fix.
 * @example
 * export const backend = loadNativeBackend(import.meta.url);
 */
export function loadNativeBackend(entryUrl: string, root?: string): Backend {
  const require = createRequire(entryUrl);
  const dir = root ?? fileURLToPath(new URL('..', entryUrl));
  const pkg = require(`${fileURLToPath(new URL('..', entryUrl))}/package.json`) as { name: string; version: string; mx: { backend: string; priority?: number } };
  const info = { name: pkg.mx.backend, version: pkg.version, priority: pkg.mx.priority ?? 100 };
  let tried = `${dir} (prebuilds/${process.platform}-${process.arch}/)`;
  try {
    const nodeGypBuild = require('node-gyp-build') as { resolve(dir: string): string };
    tried = nodeGypBuild.resolve(dir);
    return nativeBackend(require(tried), info);
  } catch (e) {
    const why = (e instanceof Error ? e.message : String(e)).trim();
    return unavailableBackend(
      info,
      `cannot load the ${info.name} backend's native binary for ${process.platform}-${process.arch} from ${tried}: ${why}; ` +
        `fix: reinstall ${pkg.name} (its prebuilds/ holds the binaries), or build it from source with \`pnpm --filter ${pkg.name} build\``,
    );
  }
}
