// Per-layer time of one model on mx against onnxruntime-node's own node
// profile, convolutions matched by input and filter shape (both fuse their
// activations and residual adds into the conv):
//   node bench/layers.mjs resnet50 [--runs 20] [--all]
// --all compares time per op type instead (every op, not only convs). The
// name is a folder of ../shared/models/onnx-light (or MX_BENCH_MODELS/onnx-light)
// holding model.onnx with one 1x3x224x224 input. Both sides run with the same
// threads (MX_NUM_THREADS, else the CPUs), mx first, then onnxruntime with
// profiling on; times are ms per run, the layers sorted by how much slower mx
// is. Read it with the CPUs' round trip printed before and after: a far
// placement during one side's runs moves its figures (see docs/benchmarks.md).
import * as mx from '@mx/core';
import '@mx/backend-cpu';
import ort from 'onnxruntime-node';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { modelCommand } from './lib/model-cli.mjs';
import { measurePingPong } from './lib/peak.mjs';

const { runs, flag, bytes, threads } = modelCommand('resnet50', 20);
const all = flag('--all');
const dims = [1, 3, 224, 224];
const x = new Float32Array(3 * 224 * 224).map((_, i) => Math.sin(i));
const key = (op, shapes) => (all ? op : `${shapes[0].join('x')} w${shapes[1].join('x')}`);
const isConv = (op) => /Conv/.test(op);
const rt = () => `${measurePingPong() ?? '?'} ns`;
console.log(`round trip before: ${rt()}`);

const mxMs = new Map();
const model = await mx.onnx.load(bytes);
const feeds = { [model.inputs[0].name]: { data: x, dims } };
const run = async () => {
  const o = await model.run(feeds);
  for (const k in o) o[k].dispose();
};
for (let i = 0; i < 5; i++) await run();
const p = await mx.profile(async () => {
  for (let i = 0; i < runs; i++) await run();
});
for (const c of p.calls) {
  if (!all && !isConv(c.op)) continue;
  const k = key(`mx ${c.op}`, c.inputs);
  mxMs.set(k, (mxMs.get(k) ?? 0) + c.ns / 1e6 / runs);
}
model.dispose();

const dir = mkdtempSync(join(tmpdir(), 'mx-layers-'));
const ortMs = new Map();
const session = await ort.InferenceSession.create(bytes, {
  intraOpNumThreads: threads ?? 0, interOpNumThreads: 1, executionMode: 'sequential',
  enableProfiling: true, profileFilePrefix: join(dir, 'ort'),
  extra: { session: { intra_op: { allow_spinning: '0' } } }, // as pnpm bench
});
const ortFeeds = { [session.inputNames[0]]: new ort.Tensor('float32', x, dims) };
const warm = 5;
for (let i = 0; i < warm + runs; i++) await session.run(ortFeeds);
session.endProfiling();
await session.release();
const events = JSON.parse(readFileSync(join(dir, readdirSync(dir)[0]), 'utf8'));
rmSync(dir, { recursive: true, force: true });
const seen = new Map(); // the warm-up runs' events are left out, node by node
for (const e of events) {
  if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time') || (!all && !isConv(e.args.op_name))) continue;
  const n = (seen.get(e.name) ?? 0) + 1;
  seen.set(e.name, n);
  if (n <= warm) continue;
  const shapes = e.args.input_type_shape.map((o) => Object.values(o)[0]);
  const k = key(`ort ${e.args.op_name}`, shapes);
  ortMs.set(k, (ortMs.get(k) ?? 0) + e.dur / 1000 / runs);
}
console.log(`round trip after: ${rt()}`);

const f = (v) => (v === undefined ? '-' : v.toFixed(3));
if (all) {
  for (const [label, m] of [['mx', mxMs], ['onnxruntime', ortMs]]) {
    let total = 0;
    console.log(`${label}:`);
    for (const [k, v] of [...m].sort((a, b) => b[1] - a[1])) (total += v), console.log(`  ${k.padEnd(36)} ${f(v)} ms`);
    console.log(`  ${'total'.padEnd(36)} ${f(total)} ms`);
  }
} else {
  const keys = [...new Set([...mxMs.keys(), ...ortMs.keys()])];
  const rows = keys.map((k) => [k, mxMs.get(k), ortMs.get(k)]).sort((a, b) => (b[1] ?? 0) - (b[2] ?? 0) - ((a[1] ?? 0) - (a[2] ?? 0)));
  console.log(`${'conv (input, filters)'.padEnd(36)} ${'mx ms'.padStart(8)} ${'ort ms'.padStart(8)}`);
  for (const [k, a, b] of rows) console.log(`${k.padEnd(36)} ${f(a).padStart(8)} ${f(b).padStart(8)}`);
  const sum = (m) => [...m.values()].reduce((s, v) => s + v, 0);
  console.log(`${'all convs'.padEnd(36)} ${f(sum(mxMs)).padStart(8)} ${f(sum(ortMs)).padStart(8)}`);
  console.log('(a filter shape only one side has: onnxruntime pads its blocked layout, e.g. 1000 filters to 1008)');
}
