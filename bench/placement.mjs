// What the host's placement of the two CPUs costs one model on mx, layer by
// layer: runs go in batches, each batch's kernel times (mx.profile) are kept
// by the CPUs' cache-line round trip measured just before and just after it
// (bench/peak/core_pingpong.c): close when both are under 150 ns, far when
// both are over 250 ns, dropped otherwise (the placement changed during the
// batch). Prints each op and call shape's median time per run at both
// placements and the difference, the largest first:
//   node bench/placement.mjs resnet50 [--runs 5] [--seconds 120]
// --runs: runs per batch; --seconds: how long to collect. The name is a folder
// of ../shared/models/onnx-light (or MX_BENCH_MODELS/onnx-light) holding
// model.onnx with one 1x3x224x224 input; MX_NUM_THREADS sets the threads. The
// host moves the CPUs by itself every few seconds to minutes (see
// docs/benchmarks.md), so a long enough collection sees both placements; one
// that saw a single placement prints that side alone.
import * as mx from '@mx/core';
import '@mx/backend-cpu';
import { modelCommand } from './lib/model-cli.mjs';
import { pingPonger } from './lib/peak.mjs';

const { name, runs, bytes } = modelCommand('resnet50', 5);
const at = process.argv.indexOf('--seconds');
const seconds = at >= 0 ? Number(process.argv[at + 1]) : 120;
const pp = pingPonger();
if (!pp) {
  console.error('placement: bench/peak/core_pingpong.c does not build here (needs a C compiler: CC or cc)');
  process.exit(1);
}

const model = await mx.onnx.load(bytes);
const dims = [1, 3, 224, 224];
const feeds = { [model.inputs[0].name]: { data: new Float32Array(3 * 224 * 224).map((_, i) => Math.sin(i)), dims } };
const run = async () => {
  const o = await model.run(feeds);
  for (const k in o) {
    await o[k].data();
    o[k].dispose();
  }
};
for (let i = 0; i < 5; i++) await run();

const shape = (s) => (s ? s.join('x') : '-');
const layer = (c) => `${c.op} ${c.inputs.slice(0, 2).map(shape).join(' ')} -> ${shape(c.outputs[0])}`;
const kept = { close: new Map(), far: new Map() }; // layer -> ms per run, one value per batch
const batches = { close: 0, far: 0, dropped: 0 };
const calls = new Map(); // layer -> calls per run
const end = Date.now() + seconds * 1000;
while (Date.now() < end) {
  const before = pp.run();
  const p = await mx.profile(async () => {
    for (let i = 0; i < runs; i++) await run();
  });
  const after = pp.run();
  const where = before < 150 && after < 150 ? 'close' : before > 250 && after > 250 ? 'far' : 'dropped';
  batches[where]++;
  if (where === 'dropped') continue;
  const ms = new Map(), n = new Map();
  for (const c of p.calls) {
    const k = layer(c);
    ms.set(k, (ms.get(k) ?? 0) + c.ns / 1e6 / runs);
    n.set(k, (n.get(k) ?? 0) + 1 / runs);
  }
  for (const [k, v] of ms) {
    if (!kept[where].has(k)) kept[where].set(k, []);
    kept[where].get(k).push(v);
    if (!calls.has(k)) calls.set(k, n.get(k));
  }
}
pp.close();
model.dispose();

const median = (v) => (v && v.length ? [...v].sort((a, b) => a - b)[v.length >> 1] : undefined);
const f = (v) => (v === undefined ? '-' : v.toFixed(3));
console.log(`${name}: batches of ${runs} runs over ${seconds} s: ${batches.close} close, ${batches.far} far, ${batches.dropped} dropped`);
const rows = [...new Set([...kept.close.keys(), ...kept.far.keys()])].map((k) => {
  const c = median(kept.close.get(k)), fa = median(kept.far.get(k));
  return { k, c, fa, d: c !== undefined && fa !== undefined ? fa - c : undefined };
});
rows.sort((a, b) => (b.d ?? -Infinity) - (a.d ?? -Infinity) || (b.c ?? b.fa) - (a.c ?? a.fa));
const width = Math.max(...rows.map((r) => r.k.length)) + 2;
console.log(`${'op, inputs -> output'.padEnd(width)}${'calls'.padStart(6)}${'close ms'.padStart(10)}${'far ms'.padStart(10)}${'far-close'.padStart(11)}`);
const total = { c: 0, fa: 0 };
for (const r of rows) {
  total.c += r.c ?? 0;
  total.fa += r.fa ?? 0;
  const n = Math.round(calls.get(r.k) ?? 0);
  console.log(`${r.k.padEnd(width)}${String(n).padStart(6)}${f(r.c).padStart(10)}${f(r.fa).padStart(10)}${f(r.d).padStart(11)}`);
}
console.log(`${'all kernels (sum of the medians)'.padEnd(width)}${''.padStart(6)}${f(batches.close ? total.c : undefined).padStart(10)}${f(batches.far ? total.fa : undefined).padStart(10)}`);
