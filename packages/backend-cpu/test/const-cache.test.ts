// Data the kernels derive from constants (packed weights, kept per constant id)
// under a 1 MB limit: three models whose packed weights take 0.5 MB each run in
// turn, so every call evicts another model's entry; results stay right.
import { expect, it } from 'vitest';
import * as mx from '@mx/core';
import '../dist/index.js';
import { onnxModel } from './onnx-tiny.js';

it('evicts the least recently used constant-derived data past MX_CPU_CONST_CACHE_MB and recomputes it', async () => {
  process.env.MX_CPU_CONST_CACHE_MB = '1'; // read at the first use of the cache, in this test file's own process
  const [C, M, H] = [256, 512, 20];
  const x = Float32Array.from({ length: C * H * H }, (_, i) => Math.sin(i * 0.37));
  const models = [];
  for (let k = 0; k < 3; k++) {
    const w = Float32Array.from({ length: M * C }, (_, i) => Math.cos(i * 0.11 + k) / 16);
    const b = Float32Array.from({ length: M }, (_, i) => i * 0.01 - k);
    const bytes = onnxModel({
      nodes: [{ op: 'Conv', inputs: ['x', 'W', 'B'], output: 'y' }],
      inputs: [['x', [1, C, H, H]]],
      outputs: [['y', [1, M, H, H]]],
      initializers: [['W', [M, C, 1, 1], w], ['B', [M], b]],
    });
    // y[m, p] = B[m] + sum_c W[m, c] x[c, p], in float64
    const want = new Float64Array(M * H * H);
    for (let m = 0; m < M; m++)
      for (let p = 0; p < H * H; p++) {
        let s = b[m]!;
        for (let c = 0; c < C; c++) s += w[m * C + c]! * x[c * H * H + p]!;
        want[m * H * H + p] = s;
      }
    models.push({ model: await mx.onnx.load(bytes), want });
  }
  for (let round = 0; round < 4; round++)
    for (const { model, want } of models) {
      const { y } = await model.run({ x: { data: x, dims: [1, C, H, H] } });
      const got = await y!.data();
      let worst = 0;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
      expect(worst).toBeLessThan(1e-4);
      y!.dispose();
    }
  for (const { model } of models) model.dispose();
});
