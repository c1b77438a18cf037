/**
 * The backend protocol: the only thing @mx/core talks to. A backend package's
 * entry module exports a `Backend` as its default export (and may call
 * `register()` itself so that `import '@mx/backend-x'` is enough).
 *
 * Versioning: `protocol.major` must equal PROTOCOL_MAJOR; members are only ever
 * added (optional) within a major, and core checks `protocol.minor` before it
 * uses a member introduced after minor 0.
 *
 * Threads and order: all methods are called on the JS thread that owns the
 * engine. Work on one device runs in call order ("the device's queue").
 */
import type { DType } from './dtype.js';
import type { AttrValue } from './ops/schema.js';

export const PROTOCOL_MAJOR = 1;
export const PROTOCOL_MINOR = 2;

export interface DeviceInfo {
  /** Device id, e.g. 'cpu', 'cuda:0'. Several backends may serve one id. */
  readonly id: string;
  /** Memory space: 'host' (ArrayBuffers, shared by every host backend) or a backend-owned space id. */
  readonly memory: string;
  readonly name?: string;
  readonly totalBytes?: number;
  readonly freeBytes?: number;
}

export interface KernelInfo {
  readonly op: string;
  /** ONNX domain ('' for ai.onnx). */
  readonly domain?: string;
  /** Type-constraint binding, see kernelKey() in ops/schema.ts: e.g. "float32" or "float32,int64". */
  readonly key: string;
}

/**
 * Where a tensor's bytes live. For 'host' memory `data` is an ArrayBuffer;
 * otherwise it is the opaque handle returned by the owning backend's `alloc`.
 * `addr`: for host memory, the buffer's address when a native backend has reported it.
 */
export interface StorageRef {
  readonly data: unknown;
  readonly byteOffset: number;
  addr?: number;
  /** Set on a model's initializers: the bytes never change while the storage lives; ids are never reused. */
  constId?: number;
}

export interface KernelTensor {
  readonly storage: StorageRef;
  readonly dtype: DType;
  readonly shape: readonly number[];
}

export interface KernelCall {
  readonly op: string;
  readonly domain: string;
  readonly key: string;
  readonly device: string;
  /** Inputs in declaration order (variadic expanded); null for absent optional or `value` inputs. */
  readonly inputs: readonly (KernelTensor | null)[];
  /** Preallocated outputs; kernels fill them and never allocate or reshape. */
  readonly outputs: readonly KernelTensor[];
  readonly attrs: Readonly<Record<string, AttrValue>>;
  /** The backend may cache work per call site (e.g. encoded attributes) in here. */
  cache?: { [k: string]: unknown };
}

/**
 * A tensor of a recorded call (Backend.program): its bytes are at `arena`
 * bytes into the arena of each replay, or are the replay's external `ext`.
 */
/** constId: the tensor's constant id (an external input whose storage has one, see StorageRef.constId). */
export type ProgramTensor = { readonly dtype: DType; readonly shape: readonly number[]; readonly constId?: number } & ({ readonly arena: number } | { readonly ext: number });

/** One timed kernel call (Backend.profileStop). */
export interface KernelTiming {
  readonly op: string;
  /** Nanoseconds inside the kernel; on a device-memory backend, the time it took to enqueue it. */
  readonly ns: number;
  /** The inputs' shapes (null: an absent optional input), then the outputs'. */
  readonly inputs: readonly (readonly number[] | null)[];
  readonly outputs: readonly (readonly number[])[];
}

/** What Backend.claims sees of a call. */
export interface ClaimQuery {
  readonly op: string;
  readonly domain: string;
  readonly key: string;
  readonly inputs: readonly ({ readonly shape: readonly number[]; readonly dtype: DType } | null | undefined)[];
  readonly attrs: Readonly<Record<string, AttrValue>>;
}

/** One kernel call of a program: as KernelCall, with tensors located per replay. */
export interface ProgramCall {
  readonly op: string;
  readonly domain: string;
  readonly key: string;
  readonly inputs: readonly (ProgramTensor | null)[];
  readonly outputs: readonly ProgramTensor[];
  readonly attrs: Readonly<Record<string, AttrValue>>;
}

/**
 * A device queue as seen by core. Provided by one backend per device (the highest
 * priority one that has `queue`); backends without their own queue on that device
 * get `attachQueue(handle)` if they are native, or run inline after `drainSync()`.
 */
export interface Queue {
  /** Resolves when all work enqueued so far has finished; rejects with the first kernel failure since the last sync. */
  sync(): Promise<void>;
  /** Blocks the JS thread until idle; throws like sync(). */
  drainSync(): void;
  /** Native handle (an mx_queue C struct behind an external) other native backends can enqueue onto. */
  readonly handle?: unknown;
  /** Ticket of the last submitted item (monotonic). With completed(), lets core retire buffers without a sync. */
  submitted?(): number;
  /** Items finished so far: work whose ticket <= completed() is done. */
  completed?(): number;
  /** Enqueue a gate: later work waits until `p` settles (cross-device copies). */
  waitFor?(p: Promise<unknown>): void;
}

export interface Backend {
  readonly name: string;
  readonly version: string;
  readonly protocol: { readonly major: number; readonly minor: number };
  /** Higher wins when several backends serve a device. cpu: 100. */
  readonly priority: number;

  /**
   * Called once, when the backend is selected. Returns null when it can run here,
   * else the reason it cannot ("no CUDA driver: libcuda.so.1: cannot open ...").
   * Must not throw for environmental problems.
   */
  init(): string | null;
  devices(): readonly DeviceInfo[];
  kernels(): readonly KernelInfo[];

  /** Optional: the backend provides the device's queue (native worker thread, stream). */
  queue?(device: string): Queue;
  /** Optional: enqueue onto another backend's native queue for this device. */
  attachQueue?(device: string, handle: unknown): void;
  /** Optional: host buffer address for native kernels (host memory only). */
  addressOf?(buffer: ArrayBuffer): number;

  /** Enqueue a kernel. Validation already happened in core. May throw synchronously only for bugs. */
  run(call: KernelCall): void;

  /**
   * Optional (minor 1): whether this backend should run a call of a kernel it
   * declares, given the inputs' shapes and the attributes. false hands the call
   * to the next backend on the device that declares the kernel (when none does,
   * this one runs it anyway): for kernels whose speed against another backend's
   * depends on the shape. Asked once per plan step, and per eager call of the
   * ops the backend answers for; must be cheap and pure.
   */
  claims?(q: ClaimQuery): boolean;

  /**
   * Optional (minor 1, host memory): records kernel calls once for replay as one
   * queue task (graph plans). Returns undefined when the backend cannot record
   * for this device. The result is opaque and lives as long as core keeps it.
   */
  program?(device: string, calls: readonly ProgramCall[]): unknown;
  /**
   * Optional (minor 1): enqueues a recorded program. `arena` backs the calls'
   * arena tensors (null when none has one); `externals[i]` backs `{ ext: i }`.
   * Core keeps both alive until the queue passes this work.
   */
  runProgram?(program: unknown, arena: StorageRef | null, externals: readonly StorageRef[]): void;

  /** Optional (minor 2): time every kernel call from now on (earlier records are dropped). */
  profileStart?(): void;
  /** Optional (minor 2): stop timing; the calls since profileStart, in the order they ran. */
  profileStop?(): KernelTiming[];

  // ---- memory spaces the backend owns (not needed for 'host'):
  alloc?(device: string, bytes: number): unknown;
  /** Called only when queued work no longer uses the memory. */
  free?(device: string, handle: unknown): void;
  /** Enqueue a write; `src` may be a promise (cross-device copy: the queue waits for it). */
  write?(device: string, dst: StorageRef, src: Uint8Array | Promise<Uint8Array>): void;
  /** Enqueue a read of `bytes` bytes; resolves after prior work on the queue. */
  read?(device: string, src: StorageRef, bytes: number): Promise<Uint8Array>;
  /** Memory statistics of a device memory space. */
  memoryInfo?(device: string): { usedBytes: number; freeBytes?: number; totalBytes?: number };
}

/** What a backend package's package.json declares under "mx" (read by discovery, no code run). */
export interface BackendManifest {
  readonly backend: string;
  readonly entry: string;
  readonly protocol: number;
  readonly priority?: number;
}
