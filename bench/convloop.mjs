import * as mx from '@mx/core';
import '@mx/backend-cpu';
import { encodeModel } from './lib/onnx-model.mjs';
const [C, H, W, M, k, s] = process.argv[2].split(',').map(Number); const pd = (k - 1) >> 1;
const OH = Math.floor((H + 2 * pd - k) / s) + 1, OW = Math.floor((W + 2 * pd - k) / s) + 1;
const bytes = encodeModel({ nodes: [{ op: 'Conv', inputs: ['X', 'W', 'B'], outputs: ['Y'], attrs: { kernel_shape: [k, k], strides: [s, s], pads: [pd, pd, pd, pd] } }],
  inputs: [{ name: 'X', dims: [1, C, H, W] }], outputs: [{ name: 'Y', dims: [1, M, OH, OW] }],
  initializers: [{ name: 'W', dims: [M, C, k, k], data: new Float32Array(M * C * k * k).fill(0.01) }, { name: 'B', dims: [M], data: new Float32Array(M) }] });
const m = await mx.onnx.load(bytes);
const feeds = { X: { data: new Float32Array(C * H * W).fill(1), dims: [1, C, H, W] } };
const p = await mx.profile(async () => { for (let i = 0; i < +process.argv[3]; i++) { const o = await m.run(feeds); o.Y.dispose(); } });
const r = p.byOp()[0]; console.log(r.op, (r.ms / r.calls).toFixed(3), 'ms/call', r.gflops.toFixed(1), 'GF');
