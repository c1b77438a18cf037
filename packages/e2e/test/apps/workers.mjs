// Worker threads in an installed app: `node workers.mjs [n] [terminate]` starts n
// workers (default 4); each imports @mx/core on its own (its own registry, its
// own instance of the backend's addon), waits until all are ready, then runs
// chains of ops and checks every result against plain JavaScript while the
// main thread does the same. With `terminate`, two workers queue work without
// end instead: one is terminated with work in its queue, the other is still
// running when the main thread calls process.exit(0). Either way the process
// must exit cleanly (no crash in the addons' cleanup).
// Prints one JSON object: { threads: [{ id, device, backends, iterations, mismatches }], terminated, running }.
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import * as mx from '@mx/core';

const SIZE = 48;
const ITERATIONS = 12;

function values(n, seed) {
  let s = seed;
  return Float32Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1);
}

/** relu(x @ x + b) checked against the same math in JavaScript; returns the number of wrong elements. */
async function step(seed) {
  const xs = values(SIZE * SIZE, seed);
  const bs = values(SIZE, seed + 1);
  const y = mx.relu(mx.add(mx.matmul(mx.tensor(xs, { shape: [SIZE, SIZE] }), mx.tensor(xs, { shape: [SIZE, SIZE] })), mx.tensor(bs, { shape: [SIZE] })));
  const got = await y.data();
  y.dispose();
  let wrong = 0;
  for (let i = 0; i < SIZE; i++)
    for (let j = 0; j < SIZE; j++) {
      let s = 0;
      for (let k = 0; k < SIZE; k++) s += xs[i * SIZE + k] * xs[k * SIZE + j];
      const want = Math.max(s + bs[j], 0);
      if (!(Math.abs(got[i * SIZE + j] - want) <= 1e-4 + 1e-4 * Math.abs(want))) wrong++;
    }
  return wrong;
}

async function work(id, iterations) {
  let mismatches = 0;
  for (let i = 0; i < iterations; i++) mismatches += await step(1000 * id + i);
  const backends = mx.backendRecords().filter((r) => r.status === 'available').map((r) => r.name);
  return { id, device: mx.defaultDevice(), backends, iterations, mismatches };
}

if (!isMainThread) {
  const { id, endless } = workerData;
  parentPort.postMessage({ ready: id });
  parentPort.once('message', async () => {
    if (!endless) return parentPort.postMessage(await work(id, ITERATIONS));
    // queue work without waiting for it, then keep going until terminated
    for (let i = 0; ; i++) {
      mx.relu(mx.matmul(mx.tensor(values(SIZE * SIZE, i), { shape: [SIZE, SIZE] }), mx.tensor(values(SIZE * SIZE, i + 1), { shape: [SIZE, SIZE] })));
      if (i % 50 === 49) {
        parentPort.postMessage({ busy: id });
        await mx.sync();
      }
    }
  });
} else {
  const n = Number(process.argv[2] ?? 4);
  const terminate = process.argv[3] === 'terminate';
  const workers = Array.from({ length: n }, (_, id) => new Worker(new URL(import.meta.url), { workerData: { id: id + 1, endless: terminate && id % 2 === 1 } }));
  const ready = workers.map((w) => new Promise((resolve) => w.once('message', resolve)));
  await Promise.all(ready);
  const results = workers.map(
    (w, i) =>
      new Promise((resolve, reject) => {
        w.on('message', (m) => {
          if (!m.busy) return resolve(m);
          if (i === 1) void w.terminate().then(() => resolve({ terminated: m.busy }));
          else resolve({ running: m.busy });
        });
        w.on('error', reject);
      }),
  );
  for (const w of workers) w.postMessage('go');
  const main = await work(0, ITERATIONS);
  const done = await Promise.all(results);
  const threads = [main, ...done.filter((r) => r.iterations !== undefined)];
  const ids = (k) => done.filter((r) => r[k]).map((r) => r[k]);
  process.stdout.write(JSON.stringify({ threads, terminated: ids('terminated'), running: ids('running') }) + '\n');
  if (terminate) process.exit(0);
}
