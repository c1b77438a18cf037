// onednn against cpu on the same kernels, in one process: Conv 3x3
// (1x64x56x56, 64 filters, pads 1) and MatMul 1024 / 2048. Each backend runs on
// its own queue; runs interleave (noise hits both columns alike) and the figure
// is the median of the timed runs after warm-up, queue round trip included.
// Usage: node bench/conv.mjs [--json]   (MX_NUM_THREADS sets both backends' threads)
import { performance } from 'node:perf_hooks';
import { backend as cpu } from '@mx/backend-cpu';
import { backend as onednn } from '../dist/index.js';

for (const b of [cpu, onednn]) {
  const why = b.init();
  if (why !== null) throw new Error(`backend ${b.name} cannot run here: ${why}`);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const size = (s) => s.reduce((a, b) => a * b, 1);
function tensor(shape, fill = true) {
  const buf = new ArrayBuffer(size(shape) * 4);
  if (fill) {
    const f = new Float32Array(buf);
    for (let i = 0; i < f.length; i++) f[i] = ((i * 7919) % 1000) / 500 - 1;
  }
  return { storage: { data: buf, byteOffset: 0 }, dtype: 'float32', shape };
}

const workloads = [
  {
    name: 'Conv 3x3 1x64x56x56 -> 64, pads 1',
    flop: 2 * 64 * 64 * 9 * 56 * 56,
    runs: 30,
    call: () => ({
      op: 'Conv',
      inputs: [tensor([1, 64, 56, 56]), tensor([64, 64, 3, 3]), null],
      outputs: [tensor([1, 64, 56, 56], false)],
      attrs: { kernel_shape: [3, 3], strides: [1, 1], dilations: [1, 1], pads: [1, 1, 1, 1], group: 1, auto_pad: 'NOTSET' },
    }),
  },
  ...[1024, 2048].map((n) => ({
    name: `MatMul ${n}x${n}x${n}`,
    flop: 2 * n ** 3,
    runs: n === 1024 ? 20 : 8,
    call: () => ({ op: 'MatMul', inputs: [tensor([n, n]), tensor([n, n])], outputs: [tensor([n, n], false)], attrs: {} }),
  })),
];

const results = [];
const alive = []; // raw calls: nothing else keeps their buffers alive while queued
for (const w of workloads) {
  const call = { ...w.call(), domain: '', key: 'float32', device: 'cpu' };
  alive.push(call);
  const times = { onednn: [], cpu: [] };
  for (let r = 0; r < w.runs + 3; r++)
    for (const b of [onednn, cpu]) {
      const q = b.queue('cpu');
      const t0 = performance.now();
      b.run(call);
      await q.sync();
      if (r >= 3) times[b.name].push(performance.now() - t0);
    }
  const row = { workload: w.name };
  for (const name of ['onednn', 'cpu']) {
    const ms = median(times[name]);
    row[name] = { ms: +ms.toFixed(3), gflops: +(w.flop / ms / 1e6).toFixed(1) };
  }
  row.speedup = +(row.cpu.ms / row.onednn.ms).toFixed(2);
  results.push(row);
}

if (process.argv.includes('--json')) console.log(JSON.stringify(results, null, 2));
else {
  console.log(`threads: ${process.env.MX_NUM_THREADS ?? 'all hardware threads'}; ${onednn.describe()}`);
  for (const r of results)
    console.log(
      `${r.workload.padEnd(36)} onednn ${String(r.onednn.gflops).padStart(6)} GFLOP/s (${r.onednn.ms} ms)   cpu ${String(r.cpu.gflops).padStart(6)} GFLOP/s (${r.cpu.ms} ms)   onednn/cpu x${r.speedup}`,
    );
}
