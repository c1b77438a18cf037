/**
 * The backend in several worker_threads at once: each worker's engine has its
 * own queue thread, and with it its own oneDNN stream, primitive cache and
 * scratch, so concurrent kernels of the same shapes give the same results as
 * one thread alone.
 */
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const entry = pathToFileURL(join(root, 'dist', 'index.js')).href;

// Conv + Softmax + MatMul on the backend directly; posts a checksum per round.
const script = `
  const { parentPort, workerData } = require('node:worker_threads');
  (async () => {
    const { loadBackend } = await import(workerData.entry);
    const b = loadBackend();
    if (b.init() !== null) throw new Error(b.init());
    const t = (shape, seed) => {
      const n = shape.reduce((a, c) => a * c, 1);
      const f = new Float32Array(n);
      for (let i = 0; i < n; i++) f[i] = Math.sin(i * 0.37 + seed);
      return { storage: { data: f.buffer, byteOffset: 0 }, dtype: 'float32', shape };
    };
    const sums = [];
    const alive = (globalThis.alive = []); // the buffers of queued calls, until they ran
    for (let round = 0; round < 20; round++) {
      const y = t([2, 32, 16, 16], 0), s = t([64, 100], 0), m = t([64, 64], 0);
      const calls = [
        { op: 'Conv', inputs: [t([2, 16, 16, 16], 1), t([32, 16, 3, 3], 2), t([32], 3)], outputs: [y],
          attrs: { kernel_shape: [3, 3], strides: [1, 1], dilations: [1, 1], pads: [1, 1, 1, 1], group: 1 } },
        { op: 'Softmax', inputs: [t([64, 100], 4)], outputs: [s], attrs: { axis: 1 } },
        { op: 'MatMul', inputs: [t([64, 128], 5), t([128, 64], 6)], outputs: [m], attrs: {} },
      ];
      alive.push(calls);
      for (const c of calls) b.run({ ...c, domain: '', key: 'float32', device: 'cpu' });
      await b.queue('cpu').sync();
      sums.push([y, s, m].map((o) => new Float32Array(o.storage.data).reduce((a, v, i) => a + v * ((i % 7) + 1), 0)));
    }
    parentPort.postMessage(sums);
  })().catch((e) => { throw e; });
`;

function run(): Promise<number[][]> {
  return new Promise((resolve, reject) => {
    const w = new Worker(script, { eval: true, workerData: { entry } });
    w.once('message', resolve);
    w.once('error', reject);
  });
}

it('gives the same results in concurrent worker threads', async () => {
  const [alone] = await Promise.all([run()]);
  const together = await Promise.all([run(), run(), run()]);
  // every round of every worker matches the single-worker result bit for bit
  for (const sums of together) for (const round of sums) expect(round).toEqual(alone![0]);
  for (const round of alone!) expect(round).toEqual(alone![0]);
}, 120_000);
