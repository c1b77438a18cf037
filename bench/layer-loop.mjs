// One Conv layer on mx alone, its kernel time per call from mx.profile (no
// upload or download in the figure), for A/B work on the cpu kernels:
//   node bench/layer-loop.mjs C,H,W,M,k,stride [calls] [--residual] [--copies N]
// --residual adds Add(Y, R) and Relu after the Conv (mx fuses them into
// FusedConv, as in a ResNet block); --copies N loads N models with different
// weights and runs them in turn, so the weights come from memory as in a whole
// model (one copy: they stay in cache). MX_NUM_THREADS sets the threads.
import * as mx from '@mx/core';
import '@mx/backend-cpu';
import { encodeModel } from './lib/onnx-model.mjs';

const args = process.argv.slice(2);
const [C, H, W, M, k, s] = args[0].split(',').map(Number);
const calls = Number(args[1] && !args[1].startsWith('--') ? args[1] : 300);
const residual = args.includes('--residual');
const copiesAt = args.indexOf('--copies');
const copies = copiesAt >= 0 ? Number(args[copiesAt + 1]) : 1;
const pad = (k - 1) >> 1;
const OH = Math.floor((H + 2 * pad - k) / s) + 1, OW = Math.floor((W + 2 * pad - k) / s) + 1;
const nodes = [{ op: 'Conv', inputs: ['X', 'W', 'B'], outputs: [residual ? 'C' : 'Y'], attrs: { kernel_shape: [k, k], strides: [s, s], pads: [pad, pad, pad, pad] } }];
const inputs = [{ name: 'X', dims: [1, C, H, W] }];
if (residual) {
  nodes.push({ op: 'Add', inputs: ['C', 'R'], outputs: ['S'] }, { op: 'Relu', inputs: ['S'], outputs: ['Y'] });
  inputs.push({ name: 'R', dims: [1, M, OH, OW] });
}
const models = [];
for (let c = 0; c < copies; c++) {
  const w = new Float32Array(M * C * k * k).map((_, i) => Math.sin(i + c) * 0.05);
  models.push(await mx.onnx.load(encodeModel({ nodes, inputs, outputs: [{ name: 'Y', dims: [1, M, OH, OW] }],
    initializers: [{ name: 'W', dims: [M, C, k, k], data: w }, { name: 'B', dims: [M], data: new Float32Array(M).fill(0.1) }] })));
}
const feeds = { X: { data: new Float32Array(C * H * W).map((_, i) => Math.cos(i)), dims: [1, C, H, W] } };
if (residual) feeds.R = { data: new Float32Array(M * OH * OW).fill(0.5), dims: [1, M, OH, OW] };
for (const m of models) (await m.run(feeds)).Y.dispose(); // packs each copy's weights once
const profile = await mx.profile(async () => {
  for (let i = 0; i < calls; i++) (await models[i % copies].run(feeds)).Y.dispose();
});
for (const r of profile.byOp())
  console.log(`${args[0]}${residual ? ' +residual' : ''}${copies > 1 ? ` x${copies} copies` : ''}: ${r.op} ${(r.ms / r.calls).toFixed(3)} ms/call${r.gflops ? `, ${r.gflops.toFixed(1)} GFLOP/s` : ''}`);
for (const m of models) m.dispose();
