/**
 * Plan replay as programs (executor.ts, planPrograms) on the cpu backend: runs of
 * kernels recorded once and submitted as one queue task, intermediates in the
 * plan's arena. Needs a built @mx/backend-cpu; skips with the reason otherwise.
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { graph, modelBytes, tensorProto } from './onnx-build.js';

const core = fileURLToPath(new URL('..', import.meta.url));
const cpu = resolve(core, '../backend-cpu');
const missing =
  !existsSync(join(cpu, 'dist/index.js')) || !existsSync(join(cpu, 'prebuilds'))
    ? '@mx/backend-cpu is not built'
    : !existsSync(join(core, 'dist/onnx/index.js'))
      ? '@mx/core is not built (tsc -b)'
      : undefined;
if (missing) console.log(`skipping the program tests: ${missing}`);

const app = mkdtempSync(join(tmpdir(), 'mx-programs-'));
writeFileSync(join(app, 'package.json'), '{"name":"app","private":true}');
process.env.MX_APP_ROOT = app;

type Mx = typeof import('../src/index.js');
async function cpuMx(): Promise<Mx> {
  // the built core: the backend binds to the same module instance
  const mx = (await import(join(core, 'dist/index.js'))) as Mx;
  mx.use(cpu);
  return mx;
}

// n = -(relu(x)^T reshaped to [6]); y = n + c; w = exp(n) * n. z = relu(x) is an
// output that kernels also read; n stays alive while e = exp(n) is computed, so
// the two must not share arena bytes.
const model = modelBytes(
  graph({
    nodes: [
      { op: 'Relu', inputs: ['x'], outputs: ['z'] },
      { op: 'Transpose', inputs: ['z'], outputs: ['t'], attrs: { perm: [1, 0] } },
      { op: 'Reshape', inputs: ['t', 'shape'], outputs: ['r'] },
      { op: 'Neg', inputs: ['r'], outputs: ['n'] },
      { op: 'Add', inputs: ['n', 'c'], outputs: ['y'] },
      { op: 'Exp', inputs: ['n'], outputs: ['e'] },
      { op: 'Mul', inputs: ['e', 'n'], outputs: ['w'] },
    ],
    inputs: [['x', 'float32', [2, 3]]],
    outputs: [
      ['y', 'float32', [6]],
      ['z', 'float32', [2, 3]],
      ['w', 'float32', [6]],
    ],
    initializers: [tensorProto('shape', 'int64', [1], [6]), tensorProto('c', 'float32', [6], [1, 2, 3, 4, 5, 6])],
  }),
);

/** What the model computes, in plain JS. */
function expected(x: Float32Array): { y: number[]; z: number[]; w: number[] } {
  const z = Array.from(x, (v) => Math.max(v, 0));
  const t = [0, 3, 1, 4, 2, 5].map((k) => z[k]!);
  const y = t.map((v, i) => -v + (i + 1));
  const w = t.map((v) => Math.exp(-v) * -v);
  return { y, z, w };
}
const input = (r: number) => Float32Array.from({ length: 6 }, (_, i) => (i % 2 ? 1 : -1) * (i + r) * 0.25);

async function check(outs: Record<string, import('../src/index.js').Tensor>, x: Float32Array): Promise<void> {
  const want = expected(x);
  for (const k of ['y', 'z', 'w'] as const) {
    const got = Array.from(await outs[k]!.data());
    got.forEach((v, i) => expect(v).toBeCloseTo(want[k][i]!, 5));
    outs[k]!.dispose();
  }
}

describe.skipIf(missing)('plan replay as programs (cpu)', () => {
  let mx: Mx;
  afterEach(() => mx?.configure({ engine: 'async' }));

  it('records the kernels once and computes each run afresh, reusing the arena', async () => {
    mx = await cpuMx();
    const m = await mx.onnx.load(model);
    const plan = await m.plan([{ kind: 'tensor', shape: [2, 3], dtype: 'float32' }]);
    expect(plan.programs).toBe(true);
    // the intermediates t, n, e live in the arena: bytes for at most all three of them
    expect(plan.arenaBytes).toBeGreaterThan(0);
    const before = mx.memory().devices.cpu!.tensors;
    for (let r = 0; r < 4; r++) {
      const x = input(r);
      await check(await m.run({ x: { data: x, dims: [2, 3] } }), x);
    }
    await mx.sync();
    // every run's tensors went back: nothing leaks per run
    expect(mx.memory().devices.cpu!.tensors).toBe(before);
    const arena = plan.arena;
    expect(arena).toBeDefined();
    const x = input(9);
    await check(await m.run({ x: { data: x, dims: [2, 3] } }), x);
    expect(plan.arena).toBe(arena); // one arena for every run
    m.dispose();
    await mx.sync(); // plans go when their promise settles
    expect(plan.arena).toBeUndefined();
  });

  it('keeps concurrent runs of one plan apart (the second takes the per-step path)', async () => {
    mx = await cpuMx();
    const m = await mx.onnx.load(model);
    const xs = [input(1), input(2), input(3)];
    const runs = xs.map((x) => m.run({ x: { data: x, dims: [2, 3] } }));
    const outs = await Promise.all(runs);
    for (let i = 0; i < xs.length; i++) await check(outs[i]!, xs[i]!);
    m.dispose();
  });

  it("leaves a Concat out of the program when its inputs' kernels can write into its output (nested too; an input read elsewhere too), not when an input is a plan output", async () => {
    mx = await cpuMx();
    const w = (name: string, dims: number[], seed: number) =>
      tensorProto(name, 'float32', dims, Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * 0.7 + seed) * 0.5));
    // squeeze 1x1 -> expand 1x1 and 3x3 -> Concat -> (with a third branch) Concat -> Relu; c (the inner Concat) is
    // read by a Sigmoid too; `shared` variant: e1 is an output too. Each part is 4 x 36 floats, so every input
    // starts 64-byte aligned inside the output (a condition).
    const fire = (shared: boolean) =>
      modelBytes(
        graph({
          nodes: [
            { op: 'Conv', inputs: ['x', 'ws'], outputs: ['s'] },
            { op: 'Relu', inputs: ['s'], outputs: ['r'] },
            { op: 'Conv', inputs: ['r', 'w1'], outputs: ['e1'] },
            { op: 'Conv', inputs: ['r', 'w3'], outputs: ['e3'], attrs: { pads: [1, 1, 1, 1] } },
            { op: 'Concat', inputs: ['e1', 'e3'], outputs: ['c'], attrs: { axis: 1 } },
            { op: 'Neg', inputs: ['r'], outputs: ['n'] },
            { op: 'Concat', inputs: ['c', 'n'], outputs: ['c2'], attrs: { axis: -3 } },
            { op: 'Relu', inputs: ['c2'], outputs: ['y0'] },
            { op: 'Sigmoid', inputs: ['c'], outputs: ['g'] },
            { op: 'Mul', inputs: ['n', 'r'], outputs: ['h'] },
            { op: 'ReduceSum', inputs: ['g'], outputs: ['gs'], attrs: { keepdims: 0 } },
            { op: 'ReduceSum', inputs: ['h'], outputs: ['hs'], attrs: { keepdims: 0 } },
            { op: 'Add', inputs: ['gs', 'hs'], outputs: ['s2'] },
            { op: 'Add', inputs: ['y0', 's2'], outputs: ['y'] },
          ],
          inputs: [['x', 'float32', [1, 4, 6, 6]]],
          outputs: [['y', 'float32', [1, 11, 6, 6]], ...(shared ? ([['e1', 'float32', [1, 4, 6, 6]]] as [string, 'float32', number[]][]) : [])],
          initializers: [w('ws', [3, 4, 1, 1], 1), w('w1', [4, 3, 1, 1], 2), w('w3', [4, 3, 3, 3], 3)],
        }),
      );
    const x = Float32Array.from({ length: 144 }, (_, i) => Math.cos(i * 0.3));
    for (const shared of [false, true]) {
      const m = await mx.onnx.load(fire(shared), { fuse: false });
      const results: number[][] = [];
      const concats: number[] = [];
      for (const engine of ['async', 'sync'] as const) {
        mx.configure({ engine });
        const p = await mx.profile(async () => {
          const outs = await m.run({ x: { data: x, dims: [1, 4, 6, 6] } });
          results.push(Array.from(await outs.y!.data()));
          for (const t of Object.values(outs)) t.dispose();
        });
        concats.push(p.calls.filter((c) => c.op === 'Concat').length);
      }
      // the program runs no Concat (e1 read elsewhere: the inner one stays); the per-step path runs both
      expect(concats).toEqual([shared ? 1 : 0, 2]);
      expect(results[0]).toEqual(results[1]);
      expect(results[0]!.some((v) => v > 0)).toBe(true);
      m.dispose();
    }
  });

  it('runs per step in sync mode with the same results', async () => {
    mx = await cpuMx();
    const m = await mx.onnx.load(model);
    mx.configure({ engine: 'sync' });
    const x = input(5);
    await check(await m.run({ x: { data: x, dims: [2, 3] } }), x);
    mx.configure({ engine: 'async' });
    await check(await m.run({ x: { data: x, dims: [2, 3] } }), x);
    m.dispose();
  });
});
