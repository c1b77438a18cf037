/**
 * The fusions of onnx-fusion.test.ts on the cpu backend (fused Conv weights are
 * prepacked constants, Gemm takes the MatMul's place): fused and unfused runs
 * agree. Needs a built @mx/backend-cpu; skips with the reason otherwise.
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { convBn, matmulAdd, vals } from './fusion-models.js';

const core = fileURLToPath(new URL('..', import.meta.url));
const cpu = resolve(core, '../backend-cpu');
const missing =
  !existsSync(join(cpu, 'dist/index.js')) || !existsSync(join(cpu, 'prebuilds'))
    ? '@mx/backend-cpu is not built'
    : !existsSync(join(core, 'dist/onnx/index.js'))
      ? '@mx/core is not built (tsc -b)'
      : undefined;
if (missing) console.log(`skipping the cpu fusion tests: ${missing}`);

const app = mkdtempSync(join(tmpdir(), 'mx-fusion-cpu-'));
writeFileSync(join(app, 'package.json'), '{"name":"app","private":true}');
process.env.MX_APP_ROOT = app;

type Mx = typeof import('../src/index.js');

describe.skipIf(missing)('fusion when planning (cpu)', () => {
  it('runs fused Conv+BatchNormalization(+residual+activation) and MatMul+Add like the unfused graphs, in fewer steps', async () => {
    // the built core: the backend binds to the same module instance
    const mx = (await import(join(core, 'dist/index.js'))) as Mx;
    mx.use(cpu);
    const cases = [
      { bytes: convBn(), shape: [1, 2, 5, 4], fused: 1, plain: 2 },
      { bytes: convBn({ dtype: 'float64', bias: false }), shape: [1, 2, 5, 4], fused: 1, plain: 2, dtype: 'float64' as const },
      { bytes: matmulAdd([1, 3], true), shape: [4, 5], fused: 1, plain: 2 },
      { bytes: convBn({ act: 'Relu' }), shape: [1, 2, 5, 4], fused: 1, plain: 3 },
      { bytes: convBn({ act: 'Clip', bn: false, dtype: 'float64' }), shape: [1, 2, 5, 4], fused: 1, plain: 2, dtype: 'float64' as const },
      { bytes: convBn({ residual: 'Sum', act: 'Relu' }), shape: [1, 2, 5, 4], fused: 1, plain: 4 },
      { bytes: convBn({ residual: 'Add', bn: false }), shape: [1, 2, 5, 4], fused: 1, plain: 2 },
    ];
    for (const c of cases) {
      const dtype = c.dtype ?? 'float32';
      const n = c.shape.reduce((a, b) => a * b, 1);
      const data = dtype === 'float64' ? Float64Array.from(vals(n, 11)) : Float32Array.from(vals(n, 11));
      const got: number[][] = [];
      for (const fuse of [true, false]) {
        const m = await mx.onnx.load(c.bytes, { device: 'cpu', fuse });
        const plan = await m.plan([{ kind: 'tensor', shape: c.shape, dtype }]);
        // program steps hold the kernel steps they replay
        const kernels = plan.steps.flatMap((s) => (s as unknown as { inner?: { op: string }[] }).inner ?? [s]).filter((s) => s.op !== 'copy');
        expect(kernels.length).toBe(fuse ? c.fused : c.plain);
        const r = await m.run({ x: { data, dims: c.shape } });
        got.push(Array.from(await r.y!.data(), Number));
        r.y!.dispose();
        m.dispose();
      }
      const [a, b] = got as [number[], number[]];
      const scale = Math.max(1, ...b.map(Math.abs));
      const tol = dtype === 'float64' ? 1e-12 : 1e-5;
      a.forEach((v, i) => expect(Math.abs(v - b[i]!)).toBeLessThanOrEqual(tol * scale));
    }
  });
});
