/**
 * The engine: per-op backend choice, output allocation, per-device in-order
 * queues, queue-ordered frees and tensor lifetime.
 *
 * An op call validates (schema), infers output metadata, allocates outputs and
 * enqueues the kernel on the device's queue, then returns: the data is pending.
 * Every storage that queued work touches is pinned (kept reachable, not freed,
 * not recycled) until the queue reports that work done, so disposing a tensor
 * that queued work still reads is safe, and so is dropping it to the GC.
 */
import { DTYPES, dtypeSize, isDType, readNumber, typedView, type DType } from './dtype.js';

const DTYPE_SIZE = Object.fromEntries(Object.entries(DTYPES).map(([k, v]) => [k, v.size])) as Record<DType, number>;
import { MxError } from './errors.js';
import type { Backend, ClaimQuery, KernelCall, KernelTensor, Queue, StorageRef } from './protocol.js';
import { backendsForDevice, defaultDevice, registryVersion, strictMode } from './registry.js';
import {
  fail as failRule,
  kernelKey,
  type AttrValue,
  type InferContext,
  type InferInput,
  type InferResult,
  type InputSpec,
  type OpSchema,
  type OutputMeta,
} from './ops/schema.js';

// ------------------------------------------------------------------ storage

/** Bytes on one device, shared by a tensor and its views; refcounted. */
export class Storage implements StorageRef {
  data: unknown;
  byteOffset = 0;
  addr?: number;
  constId?: number;
  refs = 1;
  /** Queued work not yet known to be finished. */
  pins = 0;
  released = false;
  constructor(
    readonly dev: DeviceState,
    readonly bytes: number,
    data: unknown,
  ) {
    this.data = data;
  }
  retain(): void {
    this.refs++;
  }
  release(): void {
    if (--this.refs === 0) this.dev.maybeFree(this);
  }
}

// ------------------------------------------------------------------ queues

/**
 * The queue the engine uses for a device: a backend's queue when one of its
 * backends provides one, otherwise an engine-owned JS queue that runs work
 * inline and defers it only behind a gate (a pending cross-device copy).
 */
interface DeviceQueue extends Queue {
  submitted(): number;
  completed(): number;
  /** Run `fn` in queue order (JS backends on this device). */
  runInline(fn: () => void): void;
}

class JsQueue implements DeviceQueue {
  private pending: (() => void)[] = [];
  private gates = 0;
  private ticket = 0;
  private done = 0;
  private error: unknown = undefined;
  private waiters: (() => void)[] = [];
  submitted() {
    return this.ticket;
  }
  completed() {
    return this.done;
  }
  runInline(fn: () => void): void {
    this.ticket++;
    if (this.gates === 0 && this.pending.length === 0) this.exec(fn);
    else this.pending.push(fn);
  }
  private exec(fn: () => void) {
    try {
      fn();
    } catch (e) {
      this.error ??= e;
    }
    this.done++;
  }
  waitFor(p: Promise<unknown>): void {
    this.gates++;
    this.ticket++;
    const open = () => {
      this.gates--;
      this.done++;
      while (this.gates === 0 && this.pending.length) this.exec(this.pending.shift()!);
      if (this.gates === 0) for (const w of this.waiters.splice(0)) w();
    };
    p.then(open, (e) => {
      this.error ??= e;
      open();
    });
  }
  async sync(): Promise<void> {
    if (this.gates > 0) await new Promise<void>((r) => this.waiters.push(r));
    this.throwPending();
  }
  drainSync(): void {
    if (this.gates > 0)
      throw new MxError('INTERNAL', 'cannot block on a device-to-host copy that is still in flight', {
        hint: 'await t.data() (or await mx.sync()) instead of dataSync() right after a cross-device copy',
      });
    this.throwPending();
  }
  private throwPending() {
    const e = this.error;
    if (e !== undefined) {
      this.error = undefined;
      throw e;
    }
  }
}

/** Adapts a backend-provided Queue. */
class BackendQueue implements DeviceQueue {
  constructor(
    readonly q: Queue,
    readonly owner: Backend,
  ) {}
  get handle() {
    return this.q.handle;
  }
  submitted() {
    return this.q.submitted ? this.q.submitted() : 0;
  }
  completed() {
    // Without counters nothing can be retired before a sync: report nothing done.
    return this.q.completed ? this.q.completed() : this.q.submitted ? -1 : 0;
  }
  runInline(fn: () => void): void {
    // A JS backend sharing a device with a native queue: order by draining first.
    this.q.drainSync();
    fn();
  }
  waitFor(p: Promise<unknown>): void {
    if (this.q.waitFor) this.q.waitFor(p);
    else throw new MxError('INTERNAL', `the queue of backend ${this.owner.name} cannot wait for a cross-device copy`);
  }
  sync() {
    return this.q.sync();
  }
  drainSync() {
    this.q.drainSync();
  }
}

// ------------------------------------------------------------------ devices

/** Engine settings; read from MX_ENGINE / MX_DEBUG_PLACEMENT at load, changeable with configure(). */
const config = {
  /** Run every kernel to completion at its call site (errors thrown there). */
  sync: process.env.MX_ENGINE === 'sync',
  /** Print each (op, dtypes) -> backend choice to stderr. */
  debugPlacement: process.env.MX_DEBUG_PLACEMENT === '1',
};

/**
 * Changes engine settings at run time.
 * @example mx.configure({ engine: 'sync' }); // debug: kernels run inline, errors at the call
 */
let lastConstId = 0;
/**
 * Marks a storage as never written again (a model's initializer or folded
 * constant): kernels may keep data derived from it (prepacked weights) by this
 * id (ctx const ids). Ids are never reused, so a new model never hits stale data.
 */
export function markConstant(s: Storage | null | undefined): void {
  if (s && !s.constId) s.constId = ++lastConstId;
}

export function configure(opts: { engine?: 'sync' | 'async'; debugPlacement?: boolean }): void {
  if (opts.engine !== undefined) config.sync = opts.engine === 'sync';
  if (opts.debugPlacement !== undefined) config.debugPlacement = opts.debugPlacement;
}

const SMALL = 4096; // bytes: buffers up to this size are carved from slabs
const SLAB = 256 * 1024;
const LINE = 64; // chunk alignment: a cache line, and a multiple of every element size

/**
 * Host memory. Small buffers are 64-byte aligned chunks of shared 256 KiB slabs
 * (one ArrayBuffer allocation per thousands of small tensors, recycled by size
 * class); large ones are whole ArrayBuffers, kept for reuse by exact length up to
 * a bound. Recycled memory is dirty: kernels overwrite their outputs, and
 * tensor creation fills what it allocates.
 */
class HostPool {
  private free = new Map<number, ArrayBuffer[]>();
  private cached = 0;
  /** Per size class (bytes / LINE): free chunks as parallel (slab, offset) stacks. */
  private chunkBufs: ArrayBuffer[][] = [];
  private chunkOffs: number[][] = [];
  private slab: ArrayBuffer | null = null;
  private slabUsed = SLAB;
  private slabAddr: number | undefined;
  private readonly slabAddrs = new WeakMap<ArrayBuffer, number>();
  constructor(
    private readonly addressOf?: (b: ArrayBuffer) => number,
    private readonly limit = 256 * 1024 * 1024,
  ) {}
  /** Fills `s` with memory of `bytes` bytes. */
  take(s: Storage, bytes: number): void {
    if (bytes <= SMALL && bytes > 0) {
      const cls = (bytes + LINE - 1) >> 6;
      const bufs = this.chunkBufs[cls];
      if (bufs && bufs.length) {
        s.data = bufs.pop()!;
        s.byteOffset = this.chunkOffs[cls]!.pop()!;
        s.addr = this.slabAddrs.get(s.data as ArrayBuffer);
        return;
      }
      const size = cls << 6;
      if (this.slabUsed + size > SLAB) {
        this.slab = new ArrayBuffer(SLAB);
        this.slabUsed = 0;
        this.slabAddr = this.addressOf?.(this.slab);
        if (this.slabAddr !== undefined) this.slabAddrs.set(this.slab, this.slabAddr);
      }
      s.data = this.slab;
      s.byteOffset = this.slabUsed;
      s.addr = this.slabAddr;
      this.slabUsed += size;
      return;
    }
    const list = this.free.get(bytes);
    const b = list?.pop();
    if (b) this.cached -= bytes;
    s.data = b ?? new ArrayBuffer(bytes);
  }
  give(s: Storage) {
    const b = s.data as ArrayBuffer;
    if (s.bytes <= SMALL && s.bytes > 0) {
      const cls = (s.bytes + LINE - 1) >> 6;
      (this.chunkBufs[cls] ??= []).push(b);
      (this.chunkOffs[cls] ??= []).push(s.byteOffset);
      return;
    }
    if (b.byteLength === 0 || this.cached + b.byteLength > this.limit) return;
    let list = this.free.get(b.byteLength);
    if (!list) this.free.set(b.byteLength, (list = []));
    list.push(b);
    this.cached += b.byteLength;
  }
  get cachedBytes() {
    return this.cached;
  }
}

export class DeviceState {
  readonly backends: readonly Backend[];
  readonly memory: string;
  /** Backend owning the memory space (device memory only). */
  readonly memOwner?: Backend;
  readonly queue: DeviceQueue;
  private readonly choice = new Map<OpSchema, Map<string, Backend | null>>();
  /** Pinned storages and the ticket after which they are free to go (FIFO: tickets grow). */
  private pinned: Storage[] = [];
  private pinTickets: number[] = [];
  private pinHead = 0;
  readonly hostPool?: HostPool;
  liveTensors = 0;
  liveBytes = 0;

  constructor(
    readonly id: string,
    readonly version: number,
  ) {
    const backends = backendsForDevice(id);
    if (backends.length === 0)
      throw new MxError('UNSUPPORTED', `no available backend serves device '${id}'`, {
        device: id,
        hint: 'run `npx mx doctor` to see which backends were found and why they are unavailable',
      });
    this.backends = backends;
    const info = backends[0]!.devices().find((d) => d.id === id)!;
    this.memory = info.memory;
    if (this.memory === 'host') {
      const addr = backends.find((b) => b.addressOf);
      this.hostPool = new HostPool(addr ? (ab) => addr.addressOf!(ab) : undefined);
    }
    else this.memOwner = backends.find((b) => b.alloc && b.devices().some((d) => d.id === id && d.memory === info.memory));
    const provider = backends.find((b) => typeof b.queue === 'function');
    if (provider) {
      this.queue = new BackendQueue(provider.queue!(id), provider);
      const handle = this.queue.handle;
      for (const b of backends) if (b !== provider && b.attachQueue && handle !== undefined) b.attachQueue(id, handle);
    } else this.queue = new JsQueue();
  }

  /**
   * The backend that runs (op, key) here: the highest priority one that declares
   * it and, when it has Backend.claims, claims this call (`query`). `among` (a
   * model's LoadOptions.backends, mx.withBackends): only these backends,
   * preferred in this order.
   */
  pick(schema: OpSchema, key: string, query?: () => ClaimQuery, among?: readonly string[]): Backend {
    if (among && !forced) return this.pickAmong(schema, key, among, query);
    const b = this.pickByKey(schema, key);
    if (!b.claims || !query || forced) return b;
    const q = query();
    if (b.claims(q)) return b;
    const ck = `${schema.domain ?? ''}:${schema.name}:${key}`;
    for (const cand of this.backends.slice(this.backends.indexOf(b) + 1)) {
      if (!kernelSet(cand).has(ck) || (cand.claims && !cand.claims(q))) continue;
      if (config.debugPlacement) process.stderr.write(`mx placement: ${schema.name}(${key}) on ${this.id} -> ${cand.name} (${b.name} does not claim this call)\n`);
      return cand;
    }
    return b;
  }

  private pickAmong(schema: OpSchema, key: string, names: readonly string[], query?: () => ClaimQuery): Backend {
    const ck = `${schema.domain ?? ''}:${schema.name}:${key}`;
    const cands: Backend[] = [];
    for (const n of names) {
      const b = this.backends.find((x) => x.name === n);
      if (b && kernelSet(b).has(ck)) cands.push(b);
    }
    if (!cands.length)
      throw new MxError('UNSUPPORTED', `none of the backends ${names.join(', ')} implements ${schema.name} for (${key}) on ${this.id}`, { op: schema.name, device: this.id });
    const q = query && cands.some((b) => b.claims) ? query() : undefined;
    const b = cands.find((c) => !q || !c.claims || c.claims(q)) ?? cands[0]!;
    if (config.debugPlacement && b !== cands[0]) process.stderr.write(`mx placement: ${schema.name}(${key}) on ${this.id} -> ${b.name} (${cands[0]!.name} does not claim this call)\n`);
    return b;
  }

  private pickByKey(schema: OpSchema, key: string): Backend {
    const bySchema = this.choice.get(schema);
    const hit = bySchema?.get(key);
    if (hit && !forced) return hit;
    const ck = `${schema.domain ?? ''}:${schema.name}:${key}`;
    if (forced && this.backends.includes(forced)) {
      if (kernelSet(forced).has(ck)) return forced;
      throw new MxError('UNSUPPORTED', `backend ${forced.name} does not implement ${schema.name} for (${key})`, { op: schema.name, backend: forced.name, device: this.id });
    }
    let b = bySchema?.get(key);
    if (b === undefined) {
      b = null;
      for (const cand of this.backends) {
        if (kernelSet(cand).has(ck)) {
          b = cand;
          break;
        }
      }
      if (bySchema) bySchema.set(key, b);
      else this.choice.set(schema, new Map([[key, b]]));
      if (b && config.debugPlacement) {
        const skipped = this.backends.slice(0, this.backends.indexOf(b)).map((x) => x.name);
        process.stderr.write(
          `mx placement: ${schema.name}(${key}) on ${this.id} -> ${b.name}${skipped.length ? ` (not in ${skipped.join(', ')})` : ''}\n`,
        );
      }
    }
    if (!b)
      throw new MxError('UNSUPPORTED', `no backend on device '${this.id}' implements ${schema.name} for (${key})`, {
        op: schema.name,
        device: this.id,
        hint: `backends serving ${this.id}: ${this.backends.map((x) => x.name).join(', ')}; cast the inputs to a supported dtype or install a backend that has it (see \`npx mx doctor\`)`,
      });
    return b;
  }

  alloc(bytes: number): Storage {
    if (this.hostPool) {
      const s = new Storage(this, bytes, undefined);
      this.hostPool.take(s, bytes);
      return s;
    }
    const owner = this.memOwner;
    if (!owner) throw new MxError('INTERNAL', `no backend allocates memory '${this.memory}'`, { device: this.id });
    return new Storage(this, bytes, owner.alloc!(this.id, bytes));
  }

  /** Keeps `s` alive until the work just submitted on this device's queue is done. */
  pin(s: Storage, ticket: number): void {
    s.pins++;
    this.pinned.push(s);
    this.pinTickets.push(ticket);
  }

  /** Unpins what the queue has finished. Cheap when nothing changed. */
  retire(done = this.queue.completed()): void {
    let h = this.pinHead;
    const n = this.pinned.length;
    while (h < n && this.pinTickets[h]! <= done) {
      const s = this.pinned[h]!;
      this.pinned[h] = undefined as unknown as Storage;
      h++;
      if (--s.pins === 0 && s.refs === 0) this.free(s);
    }
    if (h === n) {
      this.pinned.length = 0;
      this.pinTickets.length = 0;
      this.pinHead = 0;
    } else if (h > 4096 && h * 2 > n) {
      this.pinned = this.pinned.slice(h);
      this.pinTickets = this.pinTickets.slice(h);
      this.pinHead = 0;
    } else this.pinHead = h;
  }

  /** After a full sync everything submitted before it is done. */
  retireUpTo(ticket: number): void {
    this.retire(Math.max(ticket, this.queue.completed()));
  }

  maybeFree(s: Storage): void {
    if (s.pins === 0) this.free(s);
  }

  private free(s: Storage): void {
    if (s.released) return;
    s.released = true;
    if (this.hostPool) this.hostPool.give(s);
    else this.memOwner?.free?.(this.id, s.data);
    s.data = undefined;
  }

  get pendingPins(): number {
    return this.pinned.length - this.pinHead;
  }
}

let scopedBackends: readonly string[] | undefined;
/**
 * Runs `fn` with the ops it calls (synchronously: not after an await inside it)
 * placed on these backends only, preferred in this order, as a model's
 * LoadOptions.backends does for its nodes. Returns what fn returns.
 * @example
 *   const y = mx.withBackends(['onednn', 'cpu'], () => mx.conv(x, w, { pads: [1, 1, 1, 1] }));
 */
export function withBackends<T>(backends: readonly string[], fn: () => T): T {
  const prev = scopedBackends;
  scopedBackends = backends.length ? [...backends] : undefined;
  try {
    return fn();
  } finally {
    scopedBackends = prev;
  }
}

let forced: Backend | null = null;
/** Runs `fn` with every op on `backend`'s devices placed on it (the conformance kit tests one backend at a time). */
export function withBackend<T>(backend: Backend, fn: () => T): T {
  const prev = forced;
  forced = backend;
  try {
    return fn();
  } finally {
    forced = prev;
  }
}

const kernelSets = new WeakMap<Backend, Set<string>>();
function kernelSet(b: Backend): Set<string> {
  let s = kernelSets.get(b);
  if (!s) {
    s = new Set(b.kernels().map((k) => `${k.domain ?? ''}:${k.op}:${k.key}`));
    kernelSets.set(b, s);
  }
  return s;
}

let devicesVersion = -1;
const deviceStates = new Map<string, DeviceState>();

export function device(id?: string): DeviceState {
  const v = registryVersion();
  if (v !== devicesVersion) {
    // The set of backends changed: pending work stays valid, new work sees the new set.
    deviceStates.clear();
    devicesVersion = v;
  }
  const key = id ?? defaultDevice();
  let d = deviceStates.get(key);
  if (!d) deviceStates.set(key, (d = new DeviceState(key, v)));
  return d;
}

/** All device states created so far (for memory() and sync()). */
export function activeDevices(): DeviceState[] {
  return [...deviceStates.values()];
}

// ------------------------------------------------------------------ tensors (engine view)

/**
 * What the engine knows of a tensor. The public Tensor class (tensor.ts) extends
 * this with the user API; the engine creates tensors through `tensorFactory`.
 */
export class TensorBase {
  /** @internal */ _storage: Storage | null;
  readonly shape: readonly number[];
  readonly dtype: DType;
  /** @internal */ readonly _dev: DeviceState;
  readonly size: number;

  /** @internal */ private readonly _holder: Holder;

  constructor(storage: Storage, shape: readonly number[], dtype: DType) {
    this._storage = storage;
    this.shape = shape;
    this.dtype = dtype;
    const dev = (this._dev = storage.dev);
    let n = 1;
    for (let i = 0; i < shape.length; i++) n *= shape[i]!;
    this.size = n;
    const bytes = n * DTYPE_SIZE[dtype];
    dev.liveTensors++;
    dev.liveBytes += bytes;
    this._holder = { s: storage, dev, bytes, live: true };
    lifetime.track(this, this._holder);
  }

  get device(): string {
    return this._dev.id;
  }
  /** @internal The storage as kernels see it (stays valid for queued work after dispose()). */
  get storage(): Storage {
    return this._holder.s;
  }
  get rank(): number {
    return this.shape.length;
  }
  get isDisposed(): boolean {
    return this._storage === null;
  }

  /** Releases the tensor's memory (queue-ordered: pending work that reads it is unaffected). Idempotent. */
  dispose(): void {
    const s = this._storage;
    if (!s) return;
    this._storage = null;
    lifetime.untrack(this);
    const h = this._holder;
    if (!h.live) return;
    h.live = false;
    this._dev.liveTensors--;
    this._dev.liveBytes -= h.bytes;
    s.release();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  /** @internal */ _live(op?: string): Storage {
    const s = this._storage;
    if (!s)
      throw new MxError('DISPOSED', `a ${this.dtype}[${this.shape.join(',')}] tensor was used after dispose()`, {
        ...(op ? { op } : {}),
        device: this._dev.id,
        hint: 'keep the tensor alive until its last use, or clone it before disposing',
      });
    return s;
  }
}

export const sizeOfShape = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

type Factory = (storage: Storage, shape: readonly number[], dtype: DType) => TensorBase;
let tensorFactory: Factory = (s, shape, dtype) => new TensorBase(s, shape, dtype);
export function setTensorFactory(f: Factory) {
  tensorFactory = f;
}

// ------------------------------------------------------------------ lifetime: tidy scopes + GC safety net

/** What the GC safety net needs of a tensor; `live` goes false on dispose(). */
interface Holder {
  s: Storage;
  dev: DeviceState;
  bytes: number;
  live: boolean;
}

class Lifetime {
  scopes: Set<TensorBase>[] = [];
  // No unregister tokens (they cost a weak cell per tensor): dispose() marks the holder dead instead.
  private readonly registry = new FinalizationRegistry<Holder>((h) => {
    // A tensor was dropped without dispose(): release its storage (queue-ordered).
    if (h.live) {
      h.live = false;
      h.dev.liveTensors--;
      h.dev.liveBytes -= h.bytes;
      h.s.release();
    }
  });
  track(t: TensorBase, h: Holder) {
    // Small host tensors need no net: their bytes are a slab chunk the GC reclaims with the
    // slab (a dropped chunk is just not recycled). Registering them would keep every dropped
    // small tensor's storage alive until its finalizer ran, which costs more than the op.
    if (h.bytes > SMALL || h.dev.memory !== 'host') this.registry.register(t, h);
    if (this.scopes.length) this.scopes[this.scopes.length - 1]!.add(t);
  }
  untrack(t: TensorBase) {
    if (this.scopes.length) this.scopes[this.scopes.length - 1]!.delete(t);
  }
}
const lifetime = new Lifetime();

/**
 * Runs `fn` and disposes every tensor created inside it, except those it returns
 * (a tensor, an array or an object of tensors) and those passed to `keep()`.
 * @example
 * const y = mx.tidy(() => mx.add(a, b).relu()); // the Add result is freed, y survives
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<TensorBase>();
  lifetime.scopes.push(scope);
  let out: T;
  try {
    out = fn();
  } finally {
    lifetime.scopes.pop();
  }
  if (out instanceof Promise) throw new MxError('INVALID_ARGUMENT', 'tidy() takes a synchronous function; await inside it is not supported');
  const kept = new Set<TensorBase>();
  collect(out, kept);
  const parent = lifetime.scopes[lifetime.scopes.length - 1];
  for (const t of scope) {
    if (kept.has(t)) parent?.add(t);
    else t.dispose();
  }
  return out;
}

function collect(x: unknown, into: Set<TensorBase>, depth = 0): void {
  if (depth > 8 || x === null || typeof x !== 'object') return;
  if (x instanceof TensorBase) into.add(x);
  else if (Array.isArray(x)) for (const v of x) collect(v, into, depth + 1);
  else if (Object.getPrototypeOf(x) === Object.prototype) for (const v of Object.values(x)) collect(v, into, depth + 1);
}

/** Excludes a tensor from the enclosing tidy() scope. */
export function keep<T extends TensorBase>(t: T): T {
  for (const s of lifetime.scopes) s.delete(t);
  return t;
}

// ------------------------------------------------------------------ creating tensors

/** A new tensor on `dev` whose bytes are written by `fill` on the host (before any queued use). */
export function createTensor(dev: DeviceState, shape: readonly number[], dtype: DType, fill: (bytes: Uint8Array) => void): TensorBase {
  const bytes = sizeOfShape(shape) * dtypeSize(dtype);
  if (dev.memory === 'host') {
    const s = dev.alloc(bytes);
    fill(new Uint8Array(s.data as ArrayBuffer, s.byteOffset, bytes));
    return tensorFactory(s, shape, dtype);
  }
  const staging = new Uint8Array(bytes);
  fill(staging);
  const s = dev.alloc(bytes);
  dev.memOwner!.write!(dev.id, s, staging);
  dev.pin(s, dev.queue.submitted());
  return tensorFactory(s, shape, dtype);
}

/** The tensor's bytes on the host, after the work that produces them. */
export async function readBytes(t: TensorBase): Promise<Uint8Array> {
  const s = t._live();
  const dev = t._dev;
  const nbytes = t.size * dtypeSize(t.dtype);
  // sync() also reports a failure of the work that produced the tensor.
  if (dev.memory === 'host') {
    const ticket = dev.queue.submitted();
    await dev.queue.sync();
    dev.retireUpTo(ticket);
    const live = t._live();
    return new Uint8Array((live.data as ArrayBuffer).slice(live.byteOffset, live.byteOffset + nbytes));
  }
  s.pins++; // keep the storage while the read is in flight
  try {
    const read = dev.memOwner!.read!(dev.id, s, nbytes);
    const ticket = dev.queue.submitted();
    await Promise.all([read, dev.queue.sync()]);
    dev.retireUpTo(ticket);
    return await read;
  } finally {
    if (--s.pins === 0 && s.refs === 0) dev.maybeFree(s);
  }
}

/** Blocking read (host memory, or a device queue that can drain synchronously). */
export function readBytesSync(t: TensorBase): Uint8Array {
  const s = t._live();
  const dev = t._dev;
  if (dev.memory !== 'host')
    throw new MxError('INVALID_ARGUMENT', `dataSync() is available for host tensors only; this one is on ${dev.id}`, {
      device: dev.id,
      hint: 'use await t.data(), or t.to("cpu") first',
    });
  const ticket = dev.queue.submitted();
  dev.queue.drainSync();
  dev.retireUpTo(ticket);
  return new Uint8Array((s.data as ArrayBuffer).slice(s.byteOffset, s.byteOffset + t.size * dtypeSize(t.dtype)));
}

/** Copies a tensor to another device; ordered on both queues. */
export function copyTo(t: TensorBase, target: string): TensorBase {
  const src = t._live('to');
  const from = t._dev;
  const to = device(target);
  if (from === to) {
    src.retain();
    return tensorFactory(src, t.shape, t.dtype);
  }
  const nbytes = t.size * dtypeSize(t.dtype);
  const dst = to.alloc(nbytes);
  src.pins++;
  const release = () => {
    if (--src.pins === 0 && src.refs === 0) from.maybeFree(src);
  };
  let bytes: Promise<Uint8Array>;
  if (from.memory === 'host') {
    const ready = src.pins > 1 ? from.queue.sync() : Promise.resolve();
    bytes = ready.then(() => new Uint8Array((src.data as ArrayBuffer).slice(src.byteOffset, src.byteOffset + nbytes)));
  } else bytes = from.memOwner!.read!(from.id, src, nbytes);
  bytes = bytes.finally(release);
  if (to.memory === 'host') {
    to.queue.waitFor!(bytes.then((b) => new Uint8Array(dst.data as ArrayBuffer, dst.byteOffset, nbytes).set(b)));
  } else to.memOwner!.write!(to.id, dst, bytes);
  to.pin(dst, to.queue.submitted());
  return tensorFactory(dst, t.shape, t.dtype);
}

/** Waits for all queued work on every device; rejects with the first kernel failure. */
export async function syncAll(): Promise<void> {
  for (const d of activeDevices()) {
    const ticket = d.queue.submitted();
    await d.queue.sync();
    d.retireUpTo(ticket);
  }
}

// ------------------------------------------------------------------ running ops

export interface OpOptions {
  /** How many outputs to compute (optional outputs included). */
  outputs?: number;
}

/** An op argument that is not a tensor: numbers, nested arrays, typed arrays. */
export type Scalarish = number | boolean | bigint | readonly unknown[] | ArrayBufferView;

/**
 * Converts a non-tensor argument into a tensor on `dev`. Set by tensor.ts
 * (which knows how to build tensors from JS values).
 */
let fromValue: (v: unknown, dtype: DType, dev: DeviceState) => TensorBase = () => {
  throw new MxError('INTERNAL', 'tensor conversion is not initialized');
};
export function setValueConverter(f: typeof fromValue) {
  fromValue = f;
}

/** Numbers of a `value` input given as a tensor (read on the host) or as JS values. */
function valueNumbers(op: string, v: unknown): number[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (v instanceof TensorBase) {
    const a = typedView(v.dtype, readBytesSync(v).buffer, 0, v.size);
    return Array.from({ length: v.size }, (_, i) => readNumber(v.dtype, a, i));
  }
  if (typeof v === 'number' || typeof v === 'bigint') return [Number(v)];
  if (Array.isArray(v)) return (v as unknown[]).flat(Infinity as 1).map(Number);
  if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<number | bigint>, Number);
  throw new MxError('INVALID_ARGUMENT', `${op}: expected numbers for a shape-like input, got ${typeof v}`, { op });
}


function describeArg(v: unknown): InferInput | undefined {
  if (v instanceof TensorBase) return { shape: v.shape, dtype: v.dtype };
  const m = v as InferInput | undefined;
  return m && Array.isArray(m.shape) && typeof m.dtype === 'string' ? m : undefined;
}

/**
 * Runs one op eagerly. `inputs` follow the schema's declaration order with the
 * variadic input expanded; non-tensor values are converted (value inputs are
 * read as numbers; other inputs become tensors of their constraint's dtype).
 */
/** Per-schema facts the hot path needs, computed once. */
interface Plan {
  /** Constraint names that form the kernel key, in key order. */
  keyTypes: string[];
  keyIndex: Record<string, number>;
  allowed: Record<string, ReadonlySet<DType>>;
  nRequiredOut: number;
  /** Defaults of every attribute that has one (frozen; shared by calls without attributes). */
  defaults: Readonly<Record<string, AttrValue>>;
  requiredAttr?: string;
}
const plans = new WeakMap<OpSchema, Plan>();
function planOf(schema: OpSchema): Plan {
  let p = plans.get(schema);
  if (p) return p;
  const used = new Set<string>();
  for (const i of schema.inputs) if (!i.value) used.add(i.type);
  for (const o of schema.outputs) used.add(o.type);
  const keyTypes = Object.keys(schema.types).filter((t) => used.has(t));
  const defaults: Record<string, AttrValue> = {};
  let requiredAttr: string | undefined;
  for (const [k, sp] of Object.entries(schema.attrs ?? {})) {
    if (sp.default !== undefined) defaults[k] = sp.default;
    else if (sp.required) requiredAttr ??= k;
  }
  p = {
    keyTypes,
    keyIndex: Object.fromEntries(keyTypes.map((t, i) => [t, i])),
    allowed: Object.fromEntries(Object.entries(schema.types).map(([t, l]) => [t, new Set(l)])),
    nRequiredOut: schema.outputs.filter((o) => !o.optional).length,
    defaults: Object.freeze(defaults),
    ...(requiredAttr ? { requiredAttr } : {}),
  };
  plans.set(schema, p);
  return p;
}

class Ctx implements InferContext {
  constructor(
    readonly op: string,
    readonly inputs: readonly (InferInput | undefined)[],
    readonly attrs: Readonly<Record<string, AttrValue | undefined>>,
    readonly numOutputs: number,
    private readonly values: readonly (number[] | undefined)[] | undefined,
  ) {}
  value(i: number): number[] | undefined {
    return this.values?.[i];
  }
  fail(message: string): never {
    failRule(this, message);
  }
}

/**
 * Runs one op eagerly. `inputs` follow the schema's declaration order with the
 * variadic input expanded; non-tensor values are converted (value inputs are
 * read as numbers; other inputs become tensors of their constraint's dtype).
 */
export function runOp(schema: OpSchema, rawInputs: readonly unknown[], rawAttrs?: Record<string, unknown>, opts?: OpOptions): TensorBase[] {
  const op = schema.name;
  const specs = schema.inputs;
  const plan = planOf(schema);
  const nIn = rawInputs.length;
  const lastSpec = specs.length - 1;
  if (nIn > specs.length && !specs[lastSpec]?.variadic)
    throw new MxError('INVALID_ARGUMENT', `${op}: takes at most ${specs.length} inputs, got ${nIn}`, { op });
  const specAt = (i: number) => specs[i < lastSpec ? i : lastSpec]!;
  for (let s = 0; s < specs.length; s++) {
    const sp = specs[s]!;
    if (sp.optional) continue;
    const v = rawInputs[s];
    if (v === undefined || v === null)
      throw new MxError('INVALID_ARGUMENT', `${op}: missing required input '${sp.name}' (input ${s})`, {
        op,
        hint: `${op} takes (${specs.map((x) => (x.optional ? `${x.name}?` : x.variadic ? `...${x.name}` : x.name)).join(', ')})`,
      });
  }

  // -- device and type constraints from the tensor inputs
  let dev: DeviceState | undefined;
  const bound: (DType | undefined)[] = new Array(plan.keyTypes.length);
  let hasValues = false;
  let allTensors = true;
  for (let i = 0; i < nIn; i++) {
    const v = rawInputs[i];
    const sp = specAt(i);
    if (sp.value) hasValues = true;
    if (!(v instanceof TensorBase)) {
      if (v !== undefined && v !== null && !sp.value) allTensors = false;
      continue;
    }
    v._live(op);
    bindInput(schema, plan, bound, sp, v.dtype, rawInputs);
    if (sp.value) continue; // read on the host; may live anywhere readable
    if (!dev) dev = v._dev;
    else if (v._dev !== dev)
      throw new MxError('DEVICE_MISMATCH', `${op}: input ${i} is on ${v._dev.id} but input 0 is on ${dev.id}`, {
        op,
        hint: `move one of them first, e.g. x.to('${dev.id}')`,
      });
  }
  dev ??= device();
  if (dev.version !== registryVersion()) dev = device(dev.id);

  // -- JS values: value inputs become numbers, others tensors of their constraint's dtype
  let inputs = rawInputs as readonly (TensorBase | null | undefined)[];
  let values: (number[] | undefined)[] | undefined;
  let metas: (InferInput | undefined)[] | undefined;
  let converted: TensorBase[] | undefined;
  if (hasValues || !allTensors) {
    const conv: (TensorBase | null)[] = new Array(nIn);
    values = new Array(nIn);
    metas = new Array(nIn);
    for (let i = 0; i < nIn; i++) {
      const v = rawInputs[i];
      const sp = specAt(i);
      if (sp.value) {
        const nums = valueNumbers(op, v);
        values[i] = nums;
        conv[i] = null;
        if (nums) {
          // the shape rule sees a value input's real dtype and shape (JS numbers: int64 if integral, else float32)
          const dt = v instanceof TensorBase ? v.dtype : nums.every(Number.isInteger) ? 'int64' : 'float32';
          metas[i] = { shape: v instanceof TensorBase ? v.shape : Array.isArray(v) || ArrayBuffer.isView(v) ? [nums.length] : [], dtype: dt };
        }
        continue;
      }
      if (v === undefined || v === null || v instanceof TensorBase) {
        conv[i] = (v as TensorBase | null | undefined) ?? null;
        metas[i] = conv[i] ?? undefined;
        continue;
      }
      const k = plan.keyIndex[sp.type];
      const dt = (k !== undefined ? bound[k] : undefined) ?? (isDType(sp.type) ? sp.type : schema.types[sp.type]?.includes('float32') ? 'float32' : schema.types[sp.type]?.[0]);
      if (!dt) failTyped(schema, rawInputs, `cannot convert input '${sp.name}' to a tensor`);
      const t = fromValue(v, dt, dev);
      (converted ??= []).push(t);
      conv[i] = t;
      metas[i] = t;
      bindInput(schema, plan, bound, sp, dt, rawInputs);
    }
    inputs = conv;
  }

  try {
    return runResolved(schema, plan, dev, inputs, metas, values, bound, rawAttrs, opts);
  } finally {
    if (converted) for (const t of converted) t.dispose();
  }
}

/** Checks an input's dtype against its constraint and binds the constraint. */
function bindInput(schema: OpSchema, plan: Plan, bound: (DType | undefined)[], sp: InputSpec, dt: DType, rawInputs: readonly unknown[]): void {
  const allowed = plan.allowed[sp.type];
  if (!allowed) {
    if (isDType(sp.type) && sp.type !== dt) failTyped(schema, rawInputs, `input '${sp.name}' must be ${sp.type}, got ${dt}`);
    return;
  }
  if (!allowed.has(dt)) failTyped(schema, rawInputs, `input '${sp.name}' has dtype ${dt}; ${sp.type} must be one of ${[...allowed].join(', ')}`);
  if (sp.value) return; // value inputs do not bind kernel types
  const k = plan.keyIndex[sp.type];
  if (k === undefined) return;
  const prev = bound[k];
  if (prev === undefined) bound[k] = dt;
  else if (prev !== dt) failTyped(schema, rawInputs, `input '${sp.name}' has dtype ${dt} but ${sp.type} is already ${prev}`);
}

function failTyped(schema: OpSchema, inputs: readonly unknown[], msg: string): never {
  failRule({ op: schema.name, inputs: inputs.map(describeArg) }, msg);
}

/** Applies defaults and checks attribute names and types. */
export function resolveAttrs(schema: OpSchema, raw: Record<string, unknown> | undefined, inputs: readonly unknown[]): Readonly<Record<string, AttrValue | undefined>> {
  const plan = planOf(schema);
  if (!raw) {
    if (plan.requiredAttr) failTyped(schema, inputs, `missing required attribute '${plan.requiredAttr}'`);
    return plan.defaults;
  }
  const specs = schema.attrs ?? {};
  const out: Record<string, AttrValue | undefined> = {};
  for (const k of Object.keys(raw)) {
    if (raw[k] === undefined) continue;
    const sp = specs[k];
    if (!sp)
      failTyped(schema, inputs, `unknown attribute '${k}'${Object.keys(specs).length ? `; ${schema.name} has: ${Object.keys(specs).join(', ')}` : ''}`);
    const v = raw[k];
    const ok =
      sp.type === 'int' ? typeof v === 'number' && Number.isInteger(v)
      : sp.type === 'float' ? typeof v === 'number'
      : sp.type === 'string' ? typeof v === 'string'
      : sp.type === 'dtype' ? isDType(v)
      : sp.type === 'ints' ? Array.isArray(v) && v.every((x) => Number.isInteger(x))
      : sp.type === 'floats' ? Array.isArray(v) && v.every((x) => typeof x === 'number')
      : Array.isArray(v) && v.every((x) => typeof x === 'string');
    if (!ok) failTyped(schema, inputs, `attribute '${k}' must be ${sp.type === 'dtype' ? 'a dtype name' : `of type ${sp.type}`}, got ${JSON.stringify(v)}`);
    out[k] = (Array.isArray(v) ? v.slice() : v) as AttrValue;
  }
  for (const k of Object.keys(specs)) {
    if (out[k] !== undefined) continue;
    const sp = specs[k]!;
    if (sp.default !== undefined) out[k] = sp.default;
    else if (sp.required) failTyped(schema, inputs, `missing required attribute '${k}'`);
  }
  return out;
}

/**
 * Validates attributes and runs the shape rule. `inputs` describe the present
 * inputs (tensors, or value inputs' dtype and shape; undefined where absent);
 * `values` hold the numbers of value inputs. Returns the rule's result and the
 * attributes a kernel receives (defaults applied, the rule's folded attributes merged).
 */
export function inferOp(
  schema: OpSchema,
  inputs: readonly (InferInput | null | undefined)[],
  values: readonly (number[] | undefined)[] | undefined,
  rawAttrs?: Record<string, unknown>,
  outputs?: number,
): { res: InferResult; kernelAttrs: Readonly<Record<string, AttrValue>> } {
  const plan = planOf(schema);
  const attrs = resolveAttrs(schema, rawAttrs, inputs);
  const numOutputs = outputs !== undefined && outputs > plan.nRequiredOut ? outputs : plan.nRequiredOut;
  const ctx = new Ctx(schema.name, inputs as readonly (InferInput | undefined)[], attrs, numOutputs, values);
  const res = schema.infer(ctx);
  let kernelAttrs: Readonly<Record<string, AttrValue>>;
  if (attrs === plan.defaults && !res.attrs) kernelAttrs = plan.defaults;
  else {
    const k: Record<string, AttrValue> = {};
    for (const n in attrs) if (attrs[n] !== undefined) k[n] = attrs[n]!;
    if (res.attrs) Object.assign(k, res.attrs);
    kernelAttrs = k;
  }
  return { res, kernelAttrs };
}

function runResolved(
  schema: OpSchema,
  plan: Plan,
  dev: DeviceState,
  inputs: readonly (TensorBase | null | undefined)[],
  metas: (InferInput | undefined)[] | undefined,
  values: (number[] | undefined)[] | undefined,
  bound: (DType | undefined)[],
  rawAttrs: Record<string, unknown> | undefined,
  opts: OpOptions | undefined,
): TensorBase[] {
  const op = schema.name;
  const { res, kernelAttrs } = inferOp(schema, metas ?? inputs, values, rawAttrs, opts?.outputs);
  const outMeta = res.outputs;

  if (res.viewOf !== undefined) {
    const src = inputs[res.viewOf]!;
    const s = src._live(op);
    const o = outMeta[0]!;
    if (o.dtype !== src.dtype || sizeOfShape(o.shape) !== src.size)
      throw new MxError('INTERNAL', `${op}: a view must keep dtype and size`, { op });
    s.retain();
    return [tensorFactory(s, o.shape, o.dtype)];
  }

  // output constraints complete the binding
  const outSpecs = schema.outputs;
  for (let i = 0; i < outMeta.length; i++) {
    const k = plan.keyIndex[outSpecs[i < outSpecs.length ? i : outSpecs.length - 1]!.type];
    if (k !== undefined && bound[k] === undefined) bound[k] = outMeta[i]!.dtype;
  }
  // constraints bound only by an absent optional input are not part of the key (as in kernelKey)
  const key = bound.length === 1 ? bound[0]! : bound.filter((d) => d !== undefined).join(',');
  const backend = dev.pick(schema, key, () => ({ op, domain: schema.domain ?? '', key, inputs: metas ?? inputs, attrs: kernelAttrs }), scopedBackends);

  const outs: TensorBase[] = new Array(outMeta.length);
  for (let i = 0; i < outMeta.length; i++) {
    const m = outMeta[i]!;
    outs[i] = tensorFactory(dev.alloc(sizeOfShape(m.shape) * DTYPE_SIZE[m.dtype]), m.shape, m.dtype);
  }
  // Tensors are KernelTensors (storage, dtype, shape); absent inputs are null.
  const kIn = inputs.length === 0 || inputs.every((t) => t !== undefined) ? (inputs as readonly (TensorBase | null)[]) : inputs.map((t) => t ?? null);
  const call: KernelCall = { op, domain: schema.domain ?? '', key, device: dev.id, inputs: kIn, outputs: outs, attrs: kernelAttrs };
  submit(dev, backend, call);
  return outs;
}

/** Whether `backend`'s work goes onto `dev`'s native queue (it owns or attached it); JS backends run inline. */
export function onNativeQueue(dev: DeviceState, backend: Backend): boolean {
  const q = dev.queue;
  return q instanceof BackendQueue && (q.owner === backend || !!backend.attachQueue);
}

/** Whether kernels run to completion at their call site (MX_ENGINE=sync). */
export function isSyncEngine(): boolean {
  return config.sync;
}

/**
 * Enqueues a recorded program (Backend.program) and pins the arena and the
 * externals until the queue passes it.
 */
export function submitProgram(dev: DeviceState, backend: Backend, program: unknown, arena: Storage | null, externals: readonly Storage[], op: string): void {
  const q = dev.queue;
  try {
    backend.runProgram!(program, arena, externals);
  } catch (e) {
    throw wrapKernelError(e, { op, device: dev.id }, backend);
  }
  const ticket = q.submitted();
  if (ticket > q.completed()) {
    if (arena) dev.pin(arena, ticket);
    for (let i = 0; i < externals.length; i++) dev.pin(externals[i]!, ticket);
  }
  if (dev.pendingPins > 0) dev.retire();
}

/** Enqueues a kernel call and pins what it touches. */
export function submit(dev: DeviceState, backend: Backend, call: KernelCall): void {
  const q = dev.queue;
  // Work goes onto the native queue when the backend owns or attached it; JS backends run in order, inline.
  const inline = !onNativeQueue(dev, backend);
  try {
    if (inline) q.runInline(() => backend.run(call));
    else backend.run(call);
  } catch (e) {
    throw wrapKernelError(e, call, backend);
  }
  const ticket = q.submitted();
  if (ticket > q.completed()) {
    for (const t of call.inputs) if (t) dev.pin(t.storage as Storage, ticket);
    for (const t of call.outputs) dev.pin(t.storage as Storage, ticket);
  }
  if (dev.pendingPins > 0) dev.retire();
  if (config.sync) {
    try {
      q.drainSync();
    } catch (e) {
      throw wrapKernelError(e, call, backend);
    }
    dev.retireUpTo(ticket);
  }
}

export function wrapKernelError(e: unknown, call: { op: string; device: string }, backend: Backend): MxError {
  if (e instanceof MxError) return e;
  const err = e as { message?: string; code?: string; op?: string };
  const code = (['INVALID_ARGUMENT', 'UNSUPPORTED', 'OUT_OF_MEMORY', 'DEVICE_FAULT'] as const).find((c) => c === err.code) ?? 'KERNEL';
  return new MxError(code, String(err.message ?? e), { op: err.op ?? call.op, backend: backend.name, device: call.device, cause: e });
}

export function isStrict(): boolean {
  return strictMode();
}

/**
 * Tensors and bytes per device that are not yet disposed, what the host pool
 * keeps for reuse, and buffers waiting for queued work before they are freed.
 * Tensors dropped without dispose() leave the count when the GC collects them,
 * except small host tensors (<= 4 KiB), which the GC reclaims uncounted:
 * use dispose(), tidy() or `using` for exact figures.
 */
export function memory(): { devices: Record<string, { tensors: number; bytes: number; pooledBytes?: number; pendingFrees: number }> } {
  const devices: Record<string, { tensors: number; bytes: number; pooledBytes?: number; pendingFrees: number }> = {};
  for (const d of activeDevices()) {
    devices[d.id] = {
      tensors: d.liveTensors,
      bytes: d.liveBytes,
      ...(d.hostPool ? { pooledBytes: d.hostPool.cachedBytes } : {}),
      pendingFrees: d.pendingPins,
    };
  }
  return { devices };
}
