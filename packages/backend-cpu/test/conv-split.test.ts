// Convolutions whose transposed product splits by K among the threads (small
// output planes, K = input channels x taps at least 4x the output channels, a
// constant W): each thread multiplies its range of K into partial sums, which
// are added as Y is stored. Three threads, so that the ranges are uneven; the
// residual and the activation ride on the sum. Results against float64 loops.
import { expect, it } from 'vitest';
import './three-threads.js';
import * as mx from '@mx/core';
import cpu from '../dist/index.js';
import { onnxModel } from './onnx-tiny.js';

const vals = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + seed) * 0.5);

/** y = Relu(Conv(x, W, B) + z) (z optional), in float64: [M, OH, OW]. */
function reference(x: Float32Array, C: number, H: number, w: Float32Array, b: Float32Array, M: number, k: number, s: number, p: number, z?: Float32Array) {
  const OH = Math.floor((H + 2 * p - k) / s) + 1;
  const y = new Float64Array(M * OH * OH);
  for (let m = 0; m < M; m++)
    for (let oy = 0; oy < OH; oy++)
      for (let ox = 0; ox < OH; ox++) {
        let acc = b[m]!;
        for (let c = 0; c < C; c++)
          for (let ky = 0; ky < k; ky++)
            for (let kx = 0; kx < k; kx++) {
              const iy = oy * s - p + ky, ix = ox * s - p + kx;
              if (iy >= 0 && iy < H && ix >= 0 && ix < H) acc += w[((m * C + c) * k + ky) * k + kx]! * x[(c * H + iy) * H + ix]!;
            }
        const i = (m * OH + oy) * OH + ox;
        if (z) acc += z[i]!;
        y[i] = Math.max(0, acc);
      }
  return { y, OH };
}

it('splits K among three threads: 1x1 (X^T packed directly), 1x1 stride 2 (gathered), 3x3 stride 2 (phased image), with residual and Relu', async () => {
  expect(cpu.describe()).toContain('threads: 3');
  const cases = [
    { C: 1024, H: 7, M: 128, k: 1, s: 1, p: 0, residual: true },
    { C: 1024, H: 14, M: 128, k: 1, s: 2, p: 0, residual: false },
    { C: 256, H: 14, M: 64, k: 3, s: 2, p: 1, residual: true },
  ];
  for (const { C, H, M, k, s, p, residual } of cases) {
    const x = vals(C * H * H, 1), w = vals(M * C * k * k, 2).map((v) => v / Math.sqrt(C * k * k)), b = vals(M, 3);
    const OH = Math.floor((H + 2 * p - k) / s) + 1;
    const z = residual ? vals(M * OH * OH, 4) : undefined;
    const conv = { op: 'Conv', inputs: ['x', 'W', 'B'], output: residual ? 'c' : 'r', attrs: { kernel_shape: [k, k], strides: [s, s], pads: [p, p, p, p] } };
    const bytes = onnxModel({
      nodes: [conv, ...(residual ? [{ op: 'Add', inputs: ['c', 'z'], output: 'r' }] : []), { op: 'Relu', inputs: ['r'], output: 'y' }],
      inputs: [['x', [1, C, H, H]], ...(residual ? [['z', [1, M, OH, OH]] as [string, number[]]] : [])],
      outputs: [['y', [1, M, OH, OH]]],
      initializers: [['W', [M, C, k, k], w], ['B', [M], b]],
    });
    const model = await mx.onnx.load(bytes);
    const want = reference(x, C, H, w, b, M, k, s, p, z).y;
    for (let run = 0; run < 2; run++) { // the second run reads W^T from the constant cache
      const { y } = await model.run({ x: { data: x, dims: [1, C, H, H] }, ...(z && { z: { data: z, dims: [1, M, OH, OH] } }) });
      const got = await y!.data();
      let worst = 0;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
      expect(worst, `C ${C} H ${H} M ${M} k ${k} s ${s}`).toBeLessThan(1e-4);
      y!.dispose();
    }
    model.dispose();
  }
});
