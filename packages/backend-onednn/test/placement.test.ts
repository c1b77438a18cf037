/**
 * onednn and cpu installed together: the engine places each op on the
 * highest-priority backend that declares it (Conv, LeakyRelu on onednn; Add,
 * Mul on cpu), both submit to one queue (onednn's, which cpu attaches to), and a chain
 * that alternates between them computes the right values without waiting in JS.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import type * as MX from '@mx/core';
import type { NativeBackend } from '@mx/core/bridge';

const app = mkdtempSync(join(tmpdir(), 'mx-onednn-place-'));
writeFileSync(join(app, 'package.json'), '{"name":"app","private":true}');
process.env.MX_APP_ROOT = app;

let mx: typeof MX;
let cpu: NativeBackend;
let onednn: NativeBackend;
const runs: string[] = [];
const queues: string[] = [];
const attached: unknown[] = [];
let claims: NativeBackend['claims'];

beforeAll(async () => {
  mx = await import('@mx/core');
  cpu = (await import('@mx/backend-cpu')).backend as NativeBackend;
  onednn = (await import('../src/index.js')).backend as NativeBackend;
  // These tests place every declared op on onednn; the last one checks its claims.
  claims = onednn.claims;
  delete onednn.claims;
  // Record what the engine asks of each backend (before the device is first used).
  for (const b of [cpu, onednn]) {
    const run = b.run.bind(b);
    const queue = b.queue.bind(b);
    b.run = (call) => (runs.push(`${call.op}:${b.name}`), run(call));
    b.queue = (device) => (queues.push(b.name), queue(device));
  }
  const attach = cpu.attachQueue.bind(cpu);
  cpu.attachQueue = (device, handle) => (attached.push(handle), attach(device, handle));
});

/** Conv of X [1,C,H,W] with W [M,C,3,3], pads 1, as plain loops. */
function conv3x3(x: Float32Array, w: Float32Array, c: number, h: number, wd: number, m: number): Float32Array {
  const y = new Float32Array(m * h * wd);
  for (let o = 0; o < m; o++)
    for (let i = 0; i < h; i++)
      for (let j = 0; j < wd; j++) {
        let s = 0;
        for (let k = 0; k < c; k++)
          for (let a = 0; a < 3; a++)
            for (let b = 0; b < 3; b++) {
              const p = i + a - 1;
              const q = j + b - 1;
              if (p >= 0 && p < h && q >= 0 && q < wd) s += x[(k * h + p) * wd + q]! * w[((o * c + k) * 3 + a) * 3 + b]!;
            }
        y[(o * h + i) * wd + j] = s;
      }
  return y;
}

it('runs Conv on onednn and Add on cpu, on one queue, with correct results', async () => {
  const [c, h, w, m] = [8, 12, 10, 8];
  const xs = Float32Array.from({ length: c * h * w }, (_, i) => Math.sin(i) * 2);
  const ws = Float32Array.from({ length: m * c * 9 }, (_, i) => Math.cos(i * 0.7) * 0.3);
  const x = mx.tensor(xs, { shape: [1, c, h, w] });
  const k = mx.tensor(ws, { shape: [m, c, 3, 3] });
  // conv -> add -> leakyRelu -> mul -> conv ... alternating backends, awaited once at the end
  let y = x;
  let want = xs;
  for (let round = 0; round < 4; round++) {
    const next = mx.tidy(() => mx.mul(mx.leakyRelu(mx.add(mx.conv(y, k, { pads: [1, 1, 1, 1] }), 0.5), { alpha: 0.1 }), 0.25));
    if (y !== x) y.dispose();
    y = next;
    want = conv3x3(want, ws, c, h, w, m).map((v) => (v + 0.5 < 0 ? 0.1 * (v + 0.5) : v + 0.5) * 0.25);
  }
  const got = await y.data();
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i]!, 4);

  expect(new Set(runs)).toEqual(new Set(['Conv:onednn', 'Add:cpu', 'LeakyRelu:onednn', 'Mul:cpu']));
  // one queue for the device: onednn (the higher priority) provides it, cpu attaches to it
  expect(queues).toEqual(['onednn']);
  expect(attached).toEqual([onednn.queue('cpu').handle]);
});

it('reports failures of either backend on the shared queue and keeps running', async () => {
  const data = mx.tensor([[1, 2], [3, 4]]);
  const bad = mx.gather(data, mx.tensor([0, 9], { dtype: 'int64' }), { axis: 0 }); // cpu kernel fails at run time
  const err = await bad.data().then(
    () => null,
    (e: unknown) => e as MX.MxError,
  );
  expect(err).toBeInstanceOf(mx.MxError);
  expect(err!.backend).toBe('cpu');
  const s = mx.softmax(mx.tensor([[0, Math.log(3)]]));
  expect(Array.from(await s.data() as Float32Array, (v) => +v.toFixed(5))).toEqual([0.25, 0.75]);
  expect(runs).toContain('Softmax:onednn');
});

it('hands the calls it does not claim to cpu: float32 convolutions but single-output-channel ones, pools, small tensors', async () => {
  onednn.claims = claims;
  runs.length = 0;
  const r = (shape: number[]) => mx.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i)), { shape });
  const calls: [string, () => MX.Tensor][] = [
    ['Conv:cpu', () => mx.conv(r([1, 8, 12, 10]), r([8, 8, 3, 3]), { pads: [1, 1, 1, 1] })], // 69K multiply-adds
    ['Conv:cpu', () => mx.conv(r([1, 64, 56, 56]), r([64, 64, 3, 3]), { pads: [1, 1, 1, 1] })], // cpu's Winograd
    ['Conv:cpu', () => mx.conv(r([1, 256, 56, 56]), r([64, 256, 1, 1]))], // 51M multiply-adds: float32 convs stay on cpu
    ['Conv:onednn', () => mx.conv(r([1, 96, 160, 160]), r([1, 96, 3, 3]), { pads: [1, 1, 1, 1] })], // one output channel, 22M
    ['FusedConv:onednn', () => mx.fusedConv(r([1, 96, 160, 160]), r([1, 96, 3, 3]), undefined, r([1, 1, 160, 160]), { pads: [1, 1, 1, 1] })],
    ['FusedConv:cpu', () => mx.fusedConv(r([1, 256, 56, 56]), r([64, 256, 1, 1]), undefined, r([1, 64, 56, 56]))],
    ['MaxPool:cpu', () => mx.maxPool(r([1, 64, 112, 112]), { kernel_shape: [3, 3], strides: [2, 2] })],
    ['Sigmoid:cpu', () => mx.sigmoid(r([1, 16, 40, 40]))],
    ['Sigmoid:onednn', () => mx.sigmoid(r([1, 64, 80, 80]))],
  ];
  for (const [want, f] of calls) {
    runs.length = 0;
    await f().data();
    expect(runs.filter((x) => !x.startsWith('Identity')), want).toEqual([want]);
  }
});
