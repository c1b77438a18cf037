// The N-API bridge end to end through the cpu backend's binary: loading, the
// protocol, queue order, failures, worker threads. Run after `pnpm build`
// (node scripts/build.mjs && tsc -b) in this package.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { ALL_DTYPES, DTYPES, backendRecords, isMxError, type DType, type KernelCall, type KernelTensor } from '@mx/core';
import { nativeBackend, type NativeBackend } from '@mx/core/bridge';
import cpu, { backend as named, loadBackend } from '../dist/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const entry = pathToFileURL(join(root, 'dist', 'index.js')).href;
const require = createRequire(import.meta.url);
const native = cpu as NativeBackend;
const q = native.queue('cpu');

/** A tensor over `bytes` (a view into a larger buffer, so byteOffset is exercised). */
function tensor(dtype: DType, shape: number[], bytes?: Uint8Array): KernelTensor & { bytes: Uint8Array } {
  const n = shape.reduce((a, b) => a * b, 1) * DTYPES[dtype].size;
  const buf = new ArrayBuffer(n + 16);
  const view = new Uint8Array(buf, 8, n);
  if (bytes) view.set(bytes);
  return { storage: { data: buf, byteOffset: 8 }, dtype, shape, bytes: view };
}
function randomBytes(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (Math.random() * 256) | 0;
  return b;
}
function identity(x: KernelTensor, y: KernelTensor, attrs: KernelCall['attrs'] = {}): KernelCall {
  return { op: 'Identity', domain: '', key: x.dtype, device: 'cpu', inputs: [x], outputs: [y], attrs };
}

describe('cpu backend through the bridge', () => {
  it('loads, initializes and describes itself', () => {
    expect(named).toBe(cpu);
    expect(cpu.name).toBe('cpu');
    expect(cpu.init()).toBeNull();
    expect(cpu.devices()).toEqual([expect.objectContaining({ id: 'cpu', memory: 'host' })]);
    expect(cpu.devices()[0]!.totalBytes).toBeGreaterThan(0);
    expect(native.describe()).toMatch(/threads: \d+/);
    // importing the package registered it with core
    expect(backendRecords().some((r) => r.backend === cpu)).toBe(true);
  });

  it('lists Identity for all 13 dtypes', () => {
    const keys = cpu.kernels().filter((k) => k.op === 'Identity').map((k) => k.key);
    expect(keys.sort()).toEqual([...ALL_DTYPES].sort());
    expect(ALL_DTYPES).toHaveLength(13);
  });

  it('copies every dtype, any rank (scalars included), after a sync', async () => {
    const cases = ALL_DTYPES.flatMap((d) => [[d, []], [d, [7]], [d, [2, 3, 4]]] as [DType, number[]][]);
    const pairs = cases.map(([d, shape]) => {
      const x = tensor(d, shape, randomBytes(shape.reduce((a, b) => a * b, 1) * DTYPES[d].size));
      const y = tensor(d, shape);
      cpu.run(identity(x, y));
      return [x, y] as const;
    });
    await q.sync();
    for (const [x, y] of pairs) expect(Buffer.from(y.bytes).equals(Buffer.from(x.bytes))).toBe(true);
  });

  it('copies a large tensor through the thread pool', async () => {
    const n = 24 << 20; // 24 MiB: spread over the pool in 1 MiB chunks
    const x = tensor('uint8', [n], randomBytes(n));
    const y = tensor('uint8', [n]);
    cpu.run(identity(x, y));
    await q.sync();
    expect(Buffer.from(y.bytes).equals(Buffer.from(x.bytes))).toBe(true);
  });

  it('runs queued calls in submission order and counts them', async () => {
    // a chain: each copy reads what the previous one wrote
    const chain = Array.from({ length: 300 }, () => tensor('int32', [5]));
    chain[0]!.bytes.set(new Uint8Array(new Int32Array([3, 1, 4, 1, 5]).buffer));
    const before = q.submitted();
    for (let i = 1; i < chain.length; i++) cpu.run(identity(chain[i - 1]!, chain[i]!));
    // many writers of one output: the last one wins
    const dst = tensor('float64', [1]);
    for (let i = 0; i < 500; i++) cpu.run(identity(tensor('float64', [1], new Uint8Array(new Float64Array([i]).buffer)), dst));
    expect(q.submitted() - before).toBe(299 + 500);
    await q.sync();
    expect(q.completed()).toBe(q.submitted());
    expect([...new Int32Array(chain.at(-1)!.bytes.slice().buffer)]).toEqual([3, 1, 4, 1, 5]);
    expect(new Float64Array(dst.bytes.slice().buffer)[0]).toBe(499);
  });

  it('runs a small kernel at once on an idle queue, and behind queued work otherwise', async () => {
    await q.sync();
    const x = tensor('float32', [8], randomBytes(32));
    const y = tensor('float32', [8]);
    let pending = 0; // calls not yet done when run() returned
    for (let i = 0; i < 2000; i++) {
      cpu.run(identity(x, y));
      if (q.completed() !== q.submitted()) pending++;
    }
    expect(pending).toBe(0);
    expect(Buffer.from(y.bytes).equals(Buffer.from(x.bytes))).toBe(true);
    // a small kernel that reads what a large queued one writes waits for it
    const big = tensor('float32', [1 << 20], randomBytes(4 << 20));
    const out = tensor('float32', [1 << 20]);
    cpu.run(identity(big, out));
    const head: KernelTensor = { storage: out.storage, dtype: 'float32', shape: [8] };
    const y2 = tensor('float32', [8]);
    cpu.run(identity(head, y2));
    await q.sync();
    expect(Buffer.from(y2.bytes).equals(Buffer.from(big.bytes.subarray(0, 32)))).toBe(true);
  });

  it('drainSync blocks until the queue is idle', () => {
    const x = tensor('float32', [1000], new Uint8Array(new Float32Array(1000).map((_, i) => i * 0.5).buffer));
    const ys = Array.from({ length: 50 }, () => tensor('float32', [10, 100]));
    for (const y of ys) cpu.run(identity(x, y));
    q.drainSync();
    expect(q.completed()).toBe(q.submitted());
    for (const y of ys) expect(Buffer.from(y.bytes).equals(Buffer.from(x.bytes))).toBe(true);
  });

  it('reports a kernel failure to the next sync with the full message, and keeps going', async () => {
    const ok1 = q.sync(); // covers nothing that fails
    const x = tensor('float32', [4], randomBytes(16));
    cpu.run(identity(x, tensor('float32', [3])));
    const bad = q.sync();
    const y = tensor('float32', [2, 2]);
    cpu.run(identity(x, y)); // the queue keeps running after a failure
    await expect(ok1).resolves.toBeUndefined();
    const err = await bad.then(() => null, (e: unknown) => e);
    expect(isMxError(err)).toBe(true);
    expect(err).toMatchObject({ code: 'INVALID_ARGUMENT', op: 'Identity', backend: 'cpu', device: 'cpu' });
    expect((err as Error).message).toContain('Identity: input has 4 elements of dtype 1 but output has 3 of dtype 1');
    await expect(q.sync()).resolves.toBeUndefined(); // reported once
    expect(Buffer.from(y.bytes).equals(Buffer.from(x.bytes))).toBe(true);

    cpu.run(identity(tensor('int8', [2]), tensor('int8', [5])));
    let thrown: unknown;
    try {
      q.drainSync();
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toMatchObject({ code: 'INVALID_ARGUMENT', op: 'Identity' });
    expect(() => q.drainSync()).not.toThrow();
  });

  it('rejects a kernel it does not have synchronously', () => {
    const x = tensor('float32', [1]);
    expect(() => cpu.run({ ...identity(x, x), op: 'NoSuchOp' })).toThrow(expect.objectContaining({ code: 'UNSUPPORTED' }));
  });

  it('encodes attributes once per call, the way kernels read them', () => {
    const x = tensor('float32', [1]);
    const call = identity(x, tensor('float32', [1]), {
      alpha: 1,
      beta: 0.25,
      axes: [0, -1],
      scales: [1, 2.5],
      mode: 'reflect',
      to: 'float16',
      names: ['a', 'bc'],
    });
    cpu.run(call);
    const handle = call.cache!['cpu.attrs'];
    cpu.run(call);
    expect(call.cache!['cpu.attrs']).toBe(handle); // not encoded again
    const addon = require('node-gyp-build')(root) as { describeAttrs(h: unknown): Record<string, [string, unknown]> };
    expect(addon.describeAttrs(handle)).toEqual({
      alpha: ['int', 1],
      beta: ['float', 0.25],
      axes: ['ints', [0, -1]],
      scales: ['floats', [1, 2.5]],
      mode: ['string', 'reflect'],
      to: ['int', DTYPES.float16.id],
      names: ['strings', ['a', 'bc']],
    });
    q.drainSync();
  });

  it('lets a second backend submit onto this queue (attachQueue)', async () => {
    const other = nativeBackend(require('node-gyp-build')(root), { name: 'cpu', version: '0', priority: 1 });
    expect(other.init()).toBeNull();
    other.attachQueue!('cpu', q.handle);
    const before = q.submitted();
    const x = tensor('uint16', [3], randomBytes(6));
    const y = tensor('uint16', [3]);
    other.run(identity(x, y));
    expect(q.submitted()).toBe(before + 1);
    await q.sync();
    expect(Buffer.from(y.bytes).equals(Buffer.from(x.bytes))).toBe(true);
  });

  it('holds later work behind waitFor until the promise settles', async () => {
    const src = tensor('float32', [2]);
    const dst = tensor('float32', [2]);
    let open!: () => void;
    q.waitFor(new Promise<void>((r) => (open = r)).then(() => src.bytes.set(new Uint8Array(new Float32Array([6, 7]).buffer))));
    cpu.run(identity(src, dst));
    expect(() => q.drainSync()).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
    await new Promise((r) => setTimeout(r, 50));
    expect(q.completed()).toBeLessThan(q.submitted());
    open();
    await q.sync();
    expect([...new Float32Array(dst.bytes.slice().buffer)]).toEqual([6, 7]);

    q.waitFor(Promise.reject(new Error('copy went wrong')));
    await expect(q.sync()).rejects.toThrow('copy went wrong');
  });

  describe('loader', () => {
    const dirs: string[] = [];
    afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

    it('turns a corrupt binary into an unavailable backend that explains itself', () => {
      const dir = mkdtempSync(join(tmpdir(), 'mx-cpu-'));
      dirs.push(dir);
      const bin = join(dir, 'prebuilds', `${process.platform}-${process.arch}`);
      mkdirSync(bin, { recursive: true });
      writeFileSync(join(bin, '@mx+backend-cpu.node'), 'not an ELF file');
      const b = loadBackend(dir);
      const reason = b.init()!;
      expect(reason).toContain(`${process.platform}-${process.arch}`);
      expect(reason).toContain(join(bin, '@mx+backend-cpu.node'));
      expect(reason).toMatch(/invalid ELF header|file too short/);
      expect(reason).toContain('pnpm --filter @mx/backend-cpu build');
      expect(b.devices()).toEqual([]);
      expect(() => b.run(identity(tensor('float32', [1]), tensor('float32', [1])))).toThrow(
        expect.objectContaining({ code: 'BACKEND_UNAVAILABLE' }),
      );
    });

    it('names the directory tried when there is no binary at all', () => {
      const dir = mkdtempSync(join(tmpdir(), 'mx-cpu-'));
      dirs.push(dir);
      const reason = loadBackend(dir).init()!;
      expect(reason).toContain(dir);
      expect(reason).toContain('No native build was found');
      expect(reason).toContain('reinstall @mx/backend-cpu');
    });

    it('sizes the pool from MX_NUM_THREADS', () => {
      const code = `import(${JSON.stringify(entry)}).then((m) => console.log(m.default.describe()))`;
      const r = spawnSync(process.execPath, ['-e', code], { env: { ...process.env, MX_NUM_THREADS: '3' }, encoding: 'utf8' });
      expect(r.status).toBe(0);
      expect(r.stdout).toContain('threads: 3');
    });
  });

  it('splits kernels over more threads than CPUs (uneven home ranges, stolen chunks) without losing or repeating a chunk', () => {
    // 5 threads: [0, n) in 5 home ranges of whole chunks, a short last chunk; a
    // thread the OS has not run yet has its range taken by the others. Add over
    // an odd length, and a GEMM whose tasks split unevenly over the homes.
    const code = `
      const mx = await import('@mx/core');
      await import(${JSON.stringify(entry)});
      const n = (3 << 20) + 37;
      const a = new Float32Array(n).map((_, i) => i % 1009), b = new Float32Array(n).map((_, i) => (i % 13) * 1000);
      const s = await mx.add(mx.tensor(a, { shape: [n] }), mx.tensor(b, { shape: [n] })).data();
      let bad = 0;
      for (let i = 0; i < n; i++) if (s[i] !== a[i] + b[i]) bad++;
      const M = 200, K = 100, N = 517; // large enough to run threaded
      const x = new Float32Array(M * K).map((_, i) => (i % 7) - 3), y = new Float32Array(K * N).map((_, i) => (i % 5) - 2);
      const z = await mx.matmul(mx.tensor(x, { shape: [M, K] }), mx.tensor(y, { shape: [K, N] })).data();
      for (let i = 0; i < M; i++)
        for (let j = 0; j < N; j++) {
          let e = 0;
          for (let k = 0; k < K; k++) e += x[i * K + k] * y[k * N + j];
          if (z[i * N + j] !== e) bad++;
        }
      console.log('wrong ' + bad);`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], {
      cwd: root, // where @mx/core resolves
      env: { ...process.env, MX_NUM_THREADS: '5' },
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('wrong 0');
  });

  it('works in 4 worker threads at once and lets them exit', async () => {
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      import(workerData.entry).then(async ({ default: cpu }) => {
        if (cpu.init() !== null) throw new Error(cpu.init());
        const q = cpu.queue('cpu');
        const n = 2000, x = new Int32Array(n).map((_, i) => i * workerData.id);
        const y = new Int32Array(n);
        const t = (a) => ({ storage: { data: a.buffer, byteOffset: 0 }, dtype: 'int32', shape: [a.length] });
        for (let i = 0; i < 200; i++) cpu.run({ op: 'Identity', domain: '', key: 'int32', device: 'cpu', inputs: [t(x)], outputs: [t(y)], attrs: {} });
        await q.sync();
        parentPort.postMessage({ ok: y.every((v, i) => v === i * workerData.id), done: q.completed() });
      });`;
    const results = await Promise.all(
      [1, 2, 3, 4].map(
        (id) =>
          new Promise<{ ok: boolean; done: number; exit: number }>((resolve, reject) => {
            const w = new Worker(code, { eval: true, workerData: { entry, id } });
            let msg: { ok: boolean; done: number } | undefined;
            w.on('message', (m) => (msg = m));
            w.on('error', reject);
            w.on('exit', (exit) => (msg ? resolve({ ...msg, exit }) : reject(new Error(`worker ${id} exited (${exit}) without a result`))));
          }),
      ),
    );
    for (const r of results) expect(r).toEqual({ ok: true, done: 200, exit: 0 });
  });

  it('dispatches a 1-element Identity cheaply (measured, not asserted)', async () => {
    const x = tensor('float32', [1], randomBytes(4));
    const y = tensor('float32', [1]);
    const call = identity(x, y);
    const n = 100_000;
    // CPU time of the JS thread alone (Linux), in ns: wall time also counts the
    // worker and other processes taking turns on the cores.
    const stat = `/proc/self/task/${process.pid}/stat`;
    const cpuNs = () => {
      const f = readFileSync(stat, 'utf8').split(') ')[1]!.split(' ');
      return (Number(f[11]) + Number(f[12])) * 1e7; // utime + stime, 100 ticks/s
    };
    const linux = existsSync(stat);
    for (let i = 0; i < 1000; i++) cpu.run(call); // warm up
    await q.sync();
    const rounds = 5;
    let best = Infinity;
    let drained = Infinity;
    const c0 = linux ? cpuNs() : 0;
    for (let r = 0; r < rounds; r++) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) cpu.run(call);
      const t1 = process.hrtime.bigint();
      await q.sync();
      const t2 = process.hrtime.bigint();
      best = Math.min(best, Number(t1 - t0) / n);
      drained = Math.min(drained, Number(t2 - t0) / n);
    }
    const c1 = linux ? cpuNs() : 0;
    console.log(
      `run() of a 1-element Identity, best of ${rounds} x ${n} calls: ${best.toFixed(0)} ns wall per call, ` +
        `${drained.toFixed(0)} ns until the queue drained` +
        (linux ? `; JS-thread CPU over all calls (syncs included): ${((c1 - c0) / (rounds * n)).toFixed(0)} ns per call` : ''),
    );
    expect(q.completed()).toBe(q.submitted());
  });
});

// A second native backend, built here against the same bridge: it owns a fake
// device memory space (host malloc behind the table's alloc/copy slots) and also
// serves 'cpu', where it attaches to the cpu backend's queue. It checks the
// device-memory slots and cross-binary queue sharing without a GPU.
const FAKE_CC = `
#include <atomic>
#include <cstdlib>
#include <cstring>
#include "mx_backend.h"
#ifndef FAKE_ABI
#define FAKE_ABI MX_ABI_MAJOR
#endif
static std::atomic<uint64_t> used{0};
static int stream_token;
static int32_t num_devices() { return 2; }
static void device(int32_t i, mx_device_desc* d) {
  d->id = i == 0 ? "fake:0" : "cpu";
  d->memory = i == 0 ? "fake:0" : "host";
}
static int alloc(int32_t, uint64_t bytes, void** out, char* msg, uint32_t cap) {
  if (bytes > (1ull << 40)) { snprintf(msg, cap, "cannot allocate %llu bytes on fake:0", (unsigned long long)bytes); return MX_ERR_OOM; }
  *out = std::malloc(bytes ? bytes : 1);
  used += bytes;
  return MX_OK;
}
static void release(int32_t, void* p) { std::free(p); }
static int copy(int32_t, void* stream, void* dst, const void* src, uint64_t n, char* msg, uint32_t cap) {
  if (stream != &stream_token) { snprintf(msg, cap, "copy without the queue's stream"); return MX_ERR_INTERNAL; }
  std::memcpy(dst, src, n);
  return MX_OK;
}
static int stream_create(int32_t, void** out, char*, uint32_t) { *out = &stream_token; return MX_OK; }
static int stream_sync(int32_t, void* stream, char* msg, uint32_t cap) { return stream == &stream_token ? MX_OK : MX_ERR_DEVICE; }
static void memory_info(int32_t, uint64_t* u, uint64_t* f, uint64_t* t) { *u = used; *f = 1000; *t = used + 1000; }
// y = x + 1 (float32); on fake:0 it also checks that the stream arrives
static int add_one(mx_kernel_ctx* ctx) {
  if (ctx->device == 0 && ctx->stream != &stream_token) return mx_fail(ctx, MX_ERR_INTERNAL, "no stream");
  const mx_tensor& x = ctx->inputs[0];
  if (x.ndim == 1 && x.shape[0] == 13) return mx_fail(ctx, MX_ERR_UNSUPPORTED, "AddOne: 13 elements are unlucky");
  const float* a = (const float*)x.data;
  float* y = (float*)ctx->outputs[0].data;
  for (int64_t i = 0, n = mx_numel(&x); i < n; i++) y[i] = a[i] + 1;
  return MX_OK;
}
MX_KERNEL_DOMAIN("AddOne", "test", "float32", add_one);
static int32_t num_kernels() { return (int32_t)mx::kernel_registry().size(); }
static const mx_kernel_def* kernel(int32_t i) { return &mx::kernel_registry()[i]; }
static const mx_backend_v1 table = {
  sizeof(mx_backend_v1), FAKE_ABI, MX_ABI_MINOR, "fake", nullptr, num_devices, device, num_kernels, kernel,
  alloc, release, copy, copy, stream_create, stream_sync, memory_info, nullptr };
extern "C" MX_EXPORT const mx_backend_v1* mx_backend_get(void) { return &table; }
`;

describe('a second native backend built on the bridge', () => {
  let fake: NativeBackend;
  let dir = '';
  afterAll(() => dir && rmSync(dir, { recursive: true, force: true }));

  it('builds and loads', () => {
    dir = mkdtempSync(join(tmpdir(), 'mx-fake-'));
    writeFileSync(join(dir, 'fake.cc'), FAKE_CC);
    const targets = [
      { target_name: 'fake', sources: ['fake.cc'] },
      { target_name: 'fake_abi2', sources: ['fake.cc'], defines: ['FAKE_ABI=2'] },
    ];
    writeFileSync(join(dir, 'binding.gyp'), JSON.stringify({ targets }));
    const gypi = join(require.resolve('@mx/core/package.json'), '..', 'bridge', 'bridge.gypi');
    const nodeGyp = require.resolve('node-gyp/bin/node-gyp.js');
    const env = { ...process.env, npm_config_nodedir: process.env.npm_config_nodedir ?? join(process.execPath, '..', '..') };
    // -j 1: both targets compile the bridge to the same object path (it lies outside the project)
    const r = spawnSync(process.execPath, [nodeGyp, 'rebuild', '-j', '1', '--', '-I', gypi], { cwd: dir, env, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    fake = nativeBackend(require(join(dir, 'build', 'Release', 'fake.node')), { name: 'fake', version: '0', priority: 1 });
    expect(fake.init()).toBeNull();
    expect(fake.devices().map((d) => [d.id, d.memory])).toEqual([['fake:0', 'fake:0'], ['cpu', 'host']]);
    expect(fake.kernels()).toEqual([{ op: 'AddOne', domain: 'test', key: 'float32' }]);
    // a table of another ABI major does not load, and the error names both versions
    expect(() => require(join(dir, 'build', 'Release', 'fake_abi2.node'))).toThrow(
      /backend 'fake' implements mx backend ABI 2\.\d+ but its bridge speaks ABI 1\.\d+/,
    );
    expect(() => nativeBackend({}, { name: 'fake', version: '0', priority: 1 })).toThrow(expect.objectContaining({ code: 'BACKEND_LOAD' }));
  }, 120_000);

  const dev = (data: unknown, shape: number[], byteOffset = 0): KernelTensor => ({ storage: { data, byteOffset }, dtype: 'float32', shape });
  const addOne = (device: string, x: KernelTensor, y: KernelTensor): KernelCall => ({
    op: 'AddOne', domain: 'test', key: 'float32', device, inputs: [x], outputs: [y], attrs: {},
  });

  it('allocates, writes, runs kernels on and reads device memory in queue order', async () => {
    const fq = fake.queue('fake:0');
    const a = fake.alloc!('fake:0', 24);
    const b = fake.alloc!('fake:0', 24);
    fake.write!('fake:0', dev(a, [6]).storage, new Uint8Array(new Float32Array([1, 2, 3, 4, 5, 6]).buffer));
    // b[1..4] = a[2..5] + 1 (byte offsets into both allocations)
    fake.run(addOne('fake:0', dev(a, [4], 8), dev(b, [4], 4)));
    // a write whose bytes arrive later holds back what follows it
    let give!: (b: Uint8Array) => void;
    fake.write!('fake:0', dev(a, [2]).storage, new Promise<Uint8Array>((r) => (give = r)));
    fake.run(addOne('fake:0', dev(a, [1]), dev(b, [1])));
    const read = fake.read!('fake:0', dev(b, [6]).storage, 24);
    await new Promise((r) => setTimeout(r, 30));
    expect(fq.completed()).toBeLessThan(fq.submitted());
    give(new Uint8Array(new Float32Array([10, 20]).buffer));
    expect([...new Float32Array((await read).buffer)].slice(0, 5)).toEqual([11, 4, 5, 6, 7]);
    expect(fake.memoryInfo!('fake:0')).toMatchObject({ usedBytes: 48, totalBytes: 1048 }); // allocations ran in queue order
    fake.free!('fake:0', a);
    fake.free!('fake:0', b);
    await fq.sync();
  });

  it('reports device failures with their codes', async () => {
    const fq = fake.queue('fake:0');
    fake.alloc!('fake:0', 2 ** 50);
    await expect(fq.sync()).rejects.toMatchObject({ code: 'OUT_OF_MEMORY', op: 'alloc', backend: 'fake', device: 'fake:0' });
    const x = fake.alloc!('fake:0', 52);
    fake.run(addOne('fake:0', dev(x, [13]), dev(x, [13])));
    await expect(fq.sync()).rejects.toMatchObject({ code: 'UNSUPPORTED', op: 'AddOne', message: expect.stringContaining('13 elements are unlucky') });
    fake.free!('fake:0', x);
    await fq.sync();
  });

  it("submits onto the cpu backend's queue, in order with the cpu's own kernels", async () => {
    fake.attachQueue('cpu', q.handle);
    const a = tensor('float32', [3], new Uint8Array(new Float32Array([1, 2, 3]).buffer));
    const b = tensor('float32', [3]);
    const c = tensor('float32', [3]);
    const before = q.submitted();
    cpu.run(identity(a, b));
    fake.run(addOne('cpu', b, b));
    cpu.run(identity(b, c));
    expect(q.submitted()).toBe(before + 3);
    await q.sync();
    expect([...new Float32Array(c.bytes.slice().buffer)]).toEqual([2, 3, 4]);
    // a failure of the attached backend's kernel surfaces on the owner's queue
    const d = tensor('float32', [13]);
    fake.run(addOne('cpu', d, d));
    await expect(q.sync()).rejects.toMatchObject({ code: 'UNSUPPORTED', op: 'AddOne', backend: 'fake', device: 'cpu' });
  });
});
