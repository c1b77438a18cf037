// A ResNet stage built in the script, its conv layers timed in place (each
// layer's input written by the layer before, as in the model), for A/B work on
// the cpu kernels where a layer alone in a loop would not show how its
// neighbours hand it data:
//   node bench/stage.mjs C,H,m [blocks] [--transition]
// blocks (default 6) bottleneck blocks at C x H x H: 1x1 C -> m, 3x3 m -> m,
// 1x1 m -> C plus the block's input, each with Relu (mx fuses them into
// FusedConv). --transition puts a stage's first block in front (1x1, 3x3
// stride 2, and a 1x1 stride-2 shortcut: C x H x H -> 2C x H/2 x H/2, then the
// blocks at 2C). Prints each layer shape's median kernel time over 60 runs
// (mx.profile); MX_NUM_THREADS sets the threads. resnet50's stages:
// 256,56,64 / 512,28,128 / 1024,14,256 / 2048,7,512 (with --transition:
// 256,56,128 / 512,28,256 / 1024,14,512).
import * as mx from '@mx/core';
import '@mx/backend-cpu';
import { encodeModel } from './lib/onnx-model.mjs';
const [C, H, m] = (process.argv[2] ?? '1024,14,256').split(',').map(Number);
const B = +(process.argv[3] ?? 6);
const rnd = (n, s) => { const o = new Float32Array(n); let x = s; for (let i = 0; i < n; i++) { x = (Math.imul(x, 1664525) + 1013904223) >>> 0; o[i] = (x / 2 ** 31 - 1) * 0.05; } return o; };
const nodes = [], inits = [];
let cur = 'X';
const trans = process.argv.includes('--transition');
const conv = (inp, out, ci, co, k, name, z, s = 1, act = true) => {
  inits.push({ name: name + 'W', dims: [co, ci, k, k], data: rnd(co * ci * k * k, 7 + nodes.length) }, { name: name + 'B', dims: [co], data: rnd(co, 3) });
  nodes.push({ op: 'Conv', inputs: [inp, name + 'W', name + 'B'], outputs: [!act ? out : z ? out + 'c' : out + 'r'], attrs: { kernel_shape: [k, k], strides: [s, s], pads: k === 3 ? [1, 1, 1, 1] : [0, 0, 0, 0] } });
  if (!act) return;
  if (z) nodes.push({ op: 'Add', inputs: [out + 'c', z], outputs: [out + 'r'] });
  nodes.push({ op: 'Relu', inputs: [out + 'r'], outputs: [out] });
};
let OC = C, OH = H;
if (trans) {  // C x H -> 2C x H/2 (resnet's first block of a stage: m = C / 2)
  OC = 2 * C; OH = H / 2;
  conv(cur, 'ta', C, m, 1, 'ta');
  conv('ta', 'tb', m, m, 3, 'tb', undefined, 2);
  conv(cur, 'ts', C, OC, 1, 'ts', undefined, 2, false);
  conv('tb', 'tc', m, OC, 1, 'tc', 'ts');
  cur = 'tc';
}
for (let b = 0; b < B; b++) {
  conv(cur, `b${b}a`, OC, m, 1, `b${b}a`);
  conv(`b${b}a`, `b${b}b`, m, m, 3, `b${b}b`);
  conv(`b${b}b`, `b${b}c`, m, OC, 1, `b${b}c`, cur);
  cur = `b${b}c`;
}
nodes.push({ op: 'Identity', inputs: [cur], outputs: ['Y'] });
const md = await mx.onnx.load(encodeModel({ nodes, inputs: [{ name: 'X', dims: [1, C, H, H] }], outputs: [{ name: 'Y', dims: [1, OC, OH, OH] }], initializers: inits }));
const x = mx.tensor(rnd(C * H * H, 1), { shape: [1, C, H, H] });
const run = async () => { const o = await md.run({ X: x }); o.Y.dispose(); };
for (let i = 0; i < 10; i++) await run();
const R = 60;
const p = await mx.profile(async () => { for (let i = 0; i < R; i++) await run(); });
const per = new Map();
p.calls.forEach((c, i) => { const k = `${c.inputs[0].join('x')} ${c.inputs[1].join('x')}`; (per.get(k) ?? per.set(k, []).get(k)).push(c.ns / 1e3); });
for (const [k, v] of per) { v.sort((a, b) => a - b); console.log(`${k.padEnd(20)} median ${v[v.length >> 1].toFixed(0)} us`); }
