// Single Conv layers on mx and on onnxruntime-node, alternating call by call
// (model.run with a constant W and bias; the output downloaded on the mx side):
//   node bench/conv-shapes.mjs C,H,W,M,k,stride[,pad[,group]] ...
//   e.g. node bench/conv-shapes.mjs 256,14,14,256,3,1 512,7,7,2048,1,1 3,224,224,64,7,2
// Medians of 40 calls each, 2 threads on both sides (MX_NUM_THREADS for mx); for
// finding which layer shapes of a model lag (`mx run model.onnx --profile` lists them).
import * as mx from '@mx/core';
import '@mx/backend-cpu';
import ort from 'onnxruntime-node';
import { encodeModel } from './lib/onnx-model.mjs';
const rnd = (n, s = 1) => { const o = new Float32Array(n); let x = s; for (let i = 0; i < n; i++) { x = (Math.imul(x, 1664525) + 1013904223) >>> 0; o[i] = x / 2 ** 31 - 1; } return o; };
for (const spec of process.argv.slice(2)) {
  const [C, H, W, M, k, s, pd = (k - 1) >> 1, g = 1] = spec.split(',').map(Number);
  const OH = Math.floor((H + 2 * pd - k) / s) + 1, OW = Math.floor((W + 2 * pd - k) / s) + 1;
  const bytes = encodeModel({ nodes: [{ op: 'Conv', inputs: ['X', 'W', 'B'], outputs: ['Y'], attrs: { kernel_shape: [k, k], strides: [s, s], pads: [pd, pd, pd, pd], group: g } }],
    inputs: [{ name: 'X', dims: [1, C, H, W] }], outputs: [{ name: 'Y', dims: [1, M, OH, OW] }],
    initializers: [{ name: 'W', dims: [M, C / g, k, k], data: rnd(M * C / g * k * k, 2) }, { name: 'B', dims: [M], data: rnd(M, 3) }] });
  const x = rnd(C * H * W);
  const m = await mx.onnx.load(bytes);
  const sess = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 2, interOpNumThreads: 1, executionMode: 'sequential', extra: { session: { intra_op: { allow_spinning: '0' } } } });
  const feedsM = { X: { data: x, dims: [1, C, H, W] } }, feedsO = { X: new ort.Tensor('float32', x, [1, C, H, W]) };
  const tm = [], to = [];
  for (let i = 0; i < 40; i++) {
    let t0 = performance.now(); const o = await m.run(feedsM); await o.Y.data(); o.Y.dispose(); tm.push(performance.now() - t0);
    t0 = performance.now(); await sess.run(feedsO); to.push(performance.now() - t0);
  }
  tm.sort((a, b) => a - b); to.sort((a, b) => a - b);
  const fl = 2 * M * OH * OW * (C / g) * k * k;
  console.log(`${spec.padEnd(22)} mx ${tm[20].toFixed(3)} ms (${(fl / tm[20] / 1e6).toFixed(0)} GF)  ort ${to[20].toFixed(3)} ms (${(fl / to[20] / 1e6).toFixed(0)} GF)  ratio ${(tm[20] / to[20]).toFixed(2)}`);
  m.dispose(); await sess.release();
}
