// One model's per-run time distribution on mx, alternating run by run with
// onnxruntime-node in one process (as `pnpm bench` does), or mx alone:
//   node bench/alternate.mjs squeezenet [--runs 300] [--mx-only]
// The name is a folder of ../shared/models/onnx-light (or MX_BENCH_MODELS/onnx-light)
// holding model.onnx with one 1x3x224x224 input. Prints p10 / p50 / p90 of each
// side in ms. Medians hide what a wake-up after an idle gap costs; the tail shows
// it (MX_POOL_POLL_US, MX_NUM_THREADS apply to mx; ORT gets the same threads).
import * as mx from '@mx/core';
import '@mx/backend-cpu';
import ort from 'onnxruntime-node';
import { modelCommand } from './lib/model-cli.mjs';

const { name, runs, flag, bytes, threads } = modelCommand('squeezenet', 300);
const mxOnly = flag('--mx-only');

const model = await mx.onnx.load(bytes);
const session = await ort.InferenceSession.create(bytes, {
  intraOpNumThreads: threads ?? 0, interOpNumThreads: 1, executionMode: 'sequential',
  extra: { session: { intra_op: { allow_spinning: '0' } } }, // as pnpm bench: ORT's threads block between runs
});
const x = new Float32Array(3 * 224 * 224).fill(0.5);
const input = session.inputNames[0];
const feedsMx = { [input]: { data: x, dims: [1, 3, 224, 224] } };
const feedsOrt = { [input]: new ort.Tensor('float32', x, [1, 3, 224, 224]) };
const tm = [], to = [];
for (let i = 0; i < runs; i++) {
  let t0 = performance.now();
  const out = await model.run(feedsMx);
  for (const k in out) { await out[k].data(); out[k].dispose(); }
  tm.push(performance.now() - t0);
  if (mxOnly) continue;
  t0 = performance.now();
  await session.run(feedsOrt);
  to.push(performance.now() - t0);
}
const pct = (a) => { const s = [...a].sort((u, v) => u - v); return [0.1, 0.5, 0.9].map((p) => s[Math.floor(p * (s.length - 1))].toFixed(2)).join(' / '); };
console.log(`${name}, ${runs} runs each: mx p10/p50/p90 ${pct(tm)} ms${mxOnly ? '' : `; onnxruntime ${pct(to)} ms`}`);
model.dispose();
await session.release();
