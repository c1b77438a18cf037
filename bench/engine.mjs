// Engine overhead figures (docs/benchmarks.md): small-op dispatch cost, graph
// replay cost per node, event-loop freedom during a large op, and startup
// (import + backend selection).
// Usage: node bench/engine.mjs [--json]
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { encodeModel } from './lib/onnx-model.mjs';

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function startup(runs = 9) {
  // A fresh process per run; time measured inside it from before the import to a selected cpu backend.
  const script = `const t0 = performance.now(); const mx = await import('@mx/core'); mx.use('cpu'); mx.tensor([1]); process.stdout.write(String(performance.now() - t0));`;
  const times = [];
  for (let i = 0; i < runs; i++)
    times.push(Number(execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: fileURLToPath(new URL('.', import.meta.url)) }).toString()));
  return { medianMs: median(times), minMs: Math.min(...times) };
}

async function dispatch(mx, n = 100_000, rounds = 5) {
  const a = mx.tensor([1], { device: 'cpu' });
  const b = mx.tensor([2], { device: 'cpu' });
  const perCall = { keep: [], dispose: [] };
  for (let r = 0; r < rounds; r++) {
    // results dropped (the GC and the engine's queue-ordered frees reclaim them)
    let t0 = performance.now();
    for (let i = 0; i < n; i++) mx.add(a, b);
    perCall.keep.push(((performance.now() - t0) * 1000) / n);
    await mx.sync();
    // results disposed right away (what tidy() does)
    t0 = performance.now();
    for (let i = 0; i < n; i++) mx.add(a, b).dispose();
    perCall.dispose.push(((performance.now() - t0) * 1000) / n);
    await mx.sync();
  }
  return { calls: n, usPerCallDropped: median(perCall.keep), usPerCallDisposed: median(perCall.dispose) };
}

/**
 * model.run of a chain of `nodes` one-element Relu/Neg nodes, awaited with its
 * output read: what the executor and the queue cost per node when a plan is
 * replayed (the kernels themselves are a few nanoseconds each).
 */
async function replay(mx, nodes = 1000, runs = 200, rounds = 5) {
  const names = Array.from({ length: nodes + 1 }, (_, i) => (i === 0 ? 'x' : i === nodes ? 'y' : `t${i}`));
  const bytes = encodeModel({
    nodes: Array.from({ length: nodes }, (_, i) => ({ op: i % 2 ? 'Neg' : 'Relu', inputs: [names[i]], outputs: [names[i + 1]] })),
    inputs: [{ name: 'x', dims: [1] }],
    outputs: [{ name: 'y', dims: [1] }],
  });
  const model = await mx.onnx.load(bytes);
  const feeds = { x: { data: Float32Array.of(1), dims: [1] } };
  const once = async () => {
    const { y } = await model.run(feeds);
    await y.data();
    y.dispose();
  };
  for (let i = 0; i < 20; i++) await once();
  const perNode = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    for (let i = 0; i < runs; i++) await once();
    perNode.push(((performance.now() - t0) * 1000) / runs / nodes);
  }
  model.dispose();
  return { nodes, usPerNode: median(perNode) };
}

async function eventLoop(mx, size = 1024) {
  const x = mx.ones([size, size], { device: 'cpu' });
  const y = mx.ones([size, size], { device: 'cpu' });
  await mx.matmul(x, y).data(); // warm
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  const t0 = performance.now();
  const z = mx.matmul(x, y);
  const callMs = performance.now() - t0;
  for (let i = 0; i < 5; i++) await mx.matmul(z, y).data();
  const ms = performance.now() - t0;
  clearInterval(timer);
  return { op: `5x MatMul ${size}^3 awaited`, callMs, totalMs: ms, timerTicks: ticks, expectedTicksAtMost: Math.floor(ms) };
}

const mx = await import('@mx/core');
mx.use('cpu');
const out = { date: new Date().toISOString(), node: process.version, startup: startup(), dispatch: await dispatch(mx), replay: await replay(mx), eventLoop: await eventLoop(mx) };
if (process.argv.includes('--json')) console.log(JSON.stringify(out, null, 2));
else {
  console.log(`startup (import @mx/core + select cpu + first tensor): median ${out.startup.medianMs.toFixed(1)} ms`);
  console.log(`dispatch Add 1-element: ${out.dispatch.usPerCallDropped.toFixed(3)} us/call (results dropped), ${out.dispatch.usPerCallDisposed.toFixed(3)} us/call (disposed)`);
  console.log(`graph replay (model.run of ${out.replay.nodes} one-element nodes): ${out.replay.usPerNode.toFixed(3)} us/node`);
  console.log(`event loop during ${out.eventLoop.op}: ${out.eventLoop.timerTicks} ticks of a 1 ms timer in ${out.eventLoop.totalMs.toFixed(1)} ms; the op call itself took ${out.eventLoop.callMs.toFixed(3)} ms`);
}
