/**
 * A fake accelerator for engine tests: its own memory space (handles, not
 * ArrayBuffers), an asynchronous in-order queue (work runs on later macrotasks),
 * and the reference kernels. It records violations of the contract: a free of
 * memory that queued work still uses, or use of freed memory.
 */
import { DTYPES, PROTOCOL_MAJOR, PROTOCOL_MINOR, type Backend, type KernelCall, type KernelTensor, type Queue, type StorageRef } from '../src/index.js';
import { referenceKernels, runReferenceKernel } from '../src/backends/reference.js';

interface Handle {
  id: number;
  bytes: Uint8Array;
  freed: boolean;
}

export interface FakeDevice extends Backend {
  readonly log: string[];
  readonly violations: string[];
  executed: number;
  liveHandles(): number;
  failNext?: string;
}

export function fakeDevice(id = 'fake:0', opts: { delayMs?: number; only?: string[] } = {}): FakeDevice {
  const tasks: { fn: () => void; uses: Handle[] }[] = [];
  let submitted = 0;
  let completed = 0;
  let error: unknown;
  let nextId = 1;
  let running = false;
  const handles = new Set<Handle>();
  const waiters: { ticket: number; resolve: () => void }[] = [];
  const self: FakeDevice = {
    name: 'fakegpu',
    version: '0.0.0',
    protocol: { major: PROTOCOL_MAJOR, minor: PROTOCOL_MINOR },
    priority: 500,
    log: [],
    violations: [],
    executed: 0,
    liveHandles: () => handles.size,
    init: () => null,
    devices: () => [{ id, memory: id, name: 'fake accelerator' }],
    kernels: () => referenceKernels().filter((k) => !opts.only || opts.only.includes(k.op)),
    queue: (): Queue => ({
      sync: () =>
        new Promise<void>((resolve, reject) => {
          const t = submitted;
          const done = () => {
            const e = error;
            error = undefined;
            e === undefined ? resolve() : reject(e);
          };
          if (completed >= t) setImmediate(done);
          else waiters.push({ ticket: t, resolve: done });
        }),
      drainSync: () => {
        while (tasks.length) step();
        const e = error;
        error = undefined;
        if (e !== undefined) throw e;
      },
      submitted: () => submitted,
      completed: () => completed,
    }),
    alloc: (_dev, bytes) => {
      const h: Handle = { id: nextId++, bytes: new Uint8Array(bytes), freed: false };
      handles.add(h);
      return h;
    },
    free: (_dev, handle) => {
      const h = handle as Handle;
      if (tasks.some((t) => t.uses.includes(h))) self.violations.push(`free of buffer ${h.id} while queued work uses it`);
      if (h.freed) self.violations.push(`double free of buffer ${h.id}`);
      h.freed = true;
      handles.delete(h);
    },
    write: (_dev, dst: StorageRef, src) => {
      const h = dst.data as Handle;
      if (src instanceof Promise) {
        // gate: the copy lands when the bytes arrive; later tasks wait for it
        let bytes: Uint8Array | undefined;
        src.then((b) => (bytes = b), (e) => (error ??= e));
        enqueue(() => {
          if (!bytes) throw new Error('gate not open');
          h.bytes.set(bytes);
        }, [h], () => bytes !== undefined || error !== undefined);
      } else {
        const copy = src.slice();
        enqueue(() => h.bytes.set(copy), [h]);
      }
    },
    read: (_dev, src: StorageRef, bytes: number) =>
      new Promise<Uint8Array>((resolve, reject) => {
        const h = src.data as Handle;
        enqueue(() => {
          if (h.freed) reject(new Error(`read of freed buffer ${h.id}`));
          else resolve(h.bytes.slice(0, bytes));
        }, [h]);
      }),
    run: (call: KernelCall) => {
      const uses = [...call.inputs, ...call.outputs].filter((t): t is KernelTensor => t !== null).map((t) => t.storage.data as Handle);
      const fail = self.failNext;
      self.failNext = undefined;
      enqueue(() => {
        for (const h of uses) if (h.freed) self.violations.push(`${call.op} used freed buffer ${h.id}`);
        if (fail) throw Object.assign(new Error(fail), { code: 'KERNEL', op: call.op });
        runReferenceKernel(call, (t) => {
          const h = t.storage.data as Handle;
          return h.bytes.subarray(0, t.shape.reduce((a, x) => a * x, 1) * DTYPES[t.dtype].size);
        });
        self.executed++;
        self.log.push(call.op);
      }, uses);
    },
    memoryInfo: () => ({ usedBytes: [...handles].reduce((a, h) => a + h.bytes.byteLength, 0) }),
  };
  const gates = new Map<() => void, () => boolean>();
  function enqueue(fn: () => void, uses: Handle[], ready?: () => boolean) {
    submitted++;
    tasks.push({ fn, uses });
    if (ready) gates.set(fn, ready);
    schedule();
  }
  function step() {
    const t = tasks.shift()!;
    gates.delete(t.fn);
    try {
      t.fn();
    } catch (e) {
      error ??= e;
    }
    completed++;
    for (let i = waiters.length - 1; i >= 0; i--) if (waiters[i]!.ticket <= completed) waiters.splice(i, 1)[0]!.resolve();
  }
  function schedule() {
    if (running) return;
    running = true;
    setTimeout(function tick() {
      const head = tasks[0];
      if (head) {
        const ready = gates.get(head.fn);
        if (!ready || ready()) step();
      }
      if (tasks.length) setTimeout(tick, opts.delayMs ?? 0);
      else running = false;
    }, opts.delayMs ?? 0);
  }
  return self;
}
