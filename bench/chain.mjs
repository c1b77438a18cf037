// Per-op kernel time of a chain of ten identical ops over one plane (MaxPool 3x3
// stride 1 pad 1, then Sigmoid), split among the threads the same way every
// time, with the CPU 0 <-> CPU 1 round trip before and after: for telling what a
// far placement of the two CPUs costs when little data crosses between them.
//   node bench/chain.mjs [rounds] [C,H,W]      (default 3 rounds, 128,55,55)
// MX_NUM_THREADS sets mx's threads.
import * as mx from '@mx/core';
import '@mx/backend-cpu';
import { encodeModel } from './lib/onnx-model.mjs';
import { measurePingPong } from './lib/peak.mjs';

const rounds = Number(process.argv[2] ?? 3);
const [C, H, W] = (process.argv[3] ?? '128,55,55').split(',').map(Number);
const L = 10;
const chain = (op, attrs) => {
  const nodes = [];
  for (let i = 0; i < L; i++) nodes.push({ op, inputs: [i ? `t${i}` : 'X'], outputs: [i === L - 1 ? 'Y' : `t${i + 1}`], attrs });
  return encodeModel({ nodes, inputs: [{ name: 'X', dims: [1, C, H, W] }], outputs: [{ name: 'Y', dims: [1, C, H, W] }], initializers: [] });
};
const models = [
  ['MaxPool 3x3', await mx.onnx.load(chain('MaxPool', { kernel_shape: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1] }))],
  ['Sigmoid', await mx.onnx.load(chain('Sigmoid', {}))],
];
const feeds = { X: { data: new Float32Array(C * H * W).map((_, i) => Math.cos(i)), dims: [1, C, H, W] } };
const rt = () => (measurePingPong() ?? '?') + ' ns';
for (let r = 0; r < rounds; r++) {
  const out = [`round trip ${rt()}`];
  for (const [name, m] of models) {
    for (let i = 0; i < 5; i++) (await m.run(feeds)).Y.dispose();
    const p = await mx.profile(async () => {
      for (let i = 0; i < 50; i++) (await m.run(feeds)).Y.dispose();
    });
    const [row] = p.byOp();
    out.push(`${name} ${((1000 * row.ms) / row.calls).toFixed(1)} us/op`);
  }
  out.push(`round trip ${rt()}`);
  console.log(`${C}x${H}x${W}: ${out.join(' | ')}`);
}
for (const [, m] of models) m.dispose();
