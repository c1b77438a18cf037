// onednn against cpu on the same kernels, in one process: Conv 3x3
// (1x64x56x56, 64 filters, pads 1), the shapes behind onednn's claims (which
// calls it leaves to cpu; the last column) and MatMul 1024 / 2048. Each backend runs on
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

function conv(name, xs, ws, pad = 0, stride = 1, group = 1) {
  const o = (d) => Math.floor((d + 2 * pad - ws[2]) / stride) + 1;
  const out = [xs[0], ws[0], o(xs[2]), o(xs[3])];
  return {
    name,
    flop: 2 * size(out) * ws[1] * ws[2] * ws[3],
    runs: 30,
    call: () => ({
      op: 'Conv',
      inputs: [tensor(xs), tensor(ws), null],
      outputs: [tensor(out, false)],
      attrs: { kernel_shape: ws.slice(2), strides: [stride, stride], dilations: [1, 1], pads: [pad, pad, pad, pad], group, auto_pad: 'NOTSET' },
    }),
  };
}
function unary(name, op, xs, ys) {
  return { name, runs: 30, call: () => ({ op, inputs: [tensor(xs)], outputs: [tensor(ys, false)], attrs: {} }) };
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
  // the shapes behind onednn's claims (src/index.ts): which backend is faster where
  conv('Conv 1x1 1x96x28x28 -> 24', [1, 96, 28, 28], [24, 96, 1, 1]),
  conv('Conv 3x3 1x24x56x56 -> 24, pads 1', [1, 24, 56, 56], [24, 24, 3, 3], 1),
  conv('Conv 1x1 1x256x56x56 -> 64', [1, 256, 56, 56], [64, 256, 1, 1]),
  conv('Conv 3x3 1x96x160x160 -> 1, pads 1', [1, 96, 160, 160], [1, 96, 3, 3], 1),
  conv('Conv 7x7/2 1x3x224x224 -> 64, pads 3', [1, 3, 224, 224], [64, 3, 7, 7], 3, 2),
  conv('Conv 3x3/2 1x128x56x56 -> 128, pads 1', [1, 128, 56, 56], [128, 128, 3, 3], 1, 2),
  conv('Conv 3x3 depthwise 1x32x112x112, pads 1', [1, 32, 112, 112], [32, 1, 3, 3], 1, 1, 32),
  unary('Sigmoid 1x16x40x40', 'Sigmoid', [1, 16, 40, 40], [1, 16, 40, 40]),
  unary('Sigmoid 1x64x80x80', 'Sigmoid', [1, 64, 80, 80], [1, 64, 80, 80]),
  unary('GlobalAveragePool 1x64x80x80', 'GlobalAveragePool', [1, 64, 80, 80], [1, 64, 1, 1]),
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
    row[name] = { ms: +ms.toFixed(3), gflops: w.flop ? +(w.flop / ms / 1e6).toFixed(1) : undefined };
  }
  row.speedup = +(row.cpu.ms / row.onednn.ms).toFixed(2);
  // whether the engine would place this call on onednn (Backend.claims)
  row.claimed = onednn.claims ? onednn.claims({ op: call.op, domain: '', key: 'float32', inputs: call.inputs, attrs: call.attrs }) : true;
  results.push(row);
}

if (process.argv.includes('--json')) console.log(JSON.stringify(results, null, 2));
else {
  console.log(`threads: ${process.env.MX_NUM_THREADS ?? 'all hardware threads'}; ${onednn.describe()}`);
  for (const r of results)
    console.log(
      `${r.workload.padEnd(36)} onednn ${String(r.onednn.ms).padStart(7)} ms   cpu ${String(r.cpu.ms).padStart(7)} ms   cpu/onednn x${String(r.speedup).padEnd(5)}` +
        `${r.onednn.gflops ? `  (${r.onednn.gflops} / ${r.cpu.gflops} GFLOP/s)` : ''}   ${r.claimed ? 'onednn claims it' : 'left to cpu'}`,
    );
}
