import * as mx from '@mx/core';
import '@mx/backend-cpu';
const shapes = process.argv.slice(2).map(s => s.split('x').map(Number));
for (const [M, N, K] of shapes) {
  const a = mx.tensor(new Float32Array(M*K).fill(0.5), { shape: [M, K] });
  const b = mx.tensor(new Float32Array(K*N).fill(0.25), { shape: [K, N] });
  const ts = [];
  for (let i = 0; i < 60; i++) { const t0 = performance.now(); const y = mx.matmul(a, b); await mx.sync(); ts.push(performance.now() - t0); y.dispose(); }
  ts.sort((p, q) => p - q);
  const med = ts[30];
  console.log(`${M}x${N}x${K}: ${med.toFixed(3)} ms  ${(2*M*N*K/med/1e6).toFixed(1)} GFLOP/s`);
}
