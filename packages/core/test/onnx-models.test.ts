/**
 * The real models in ../shared/models on the cpu backend: each data set's
 * outputs within rtol 1e-3 / atol 1e-5 of the expected ones. A model whose ops
 * the backend lacks is skipped with the op named. Needs ../shared/models beside
 * the repo and a built @mx/backend-cpu; skips with the reason otherwise.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const core = fileURLToPath(new URL('..', import.meta.url));
const root = resolve(core, '../../../shared/models');
const cpu = resolve(core, '../backend-cpu');
const missing = !existsSync(root)
  ? `the models are not at ${root}`
  : !existsSync(join(cpu, 'dist/index.js')) || !existsSync(join(cpu, 'prebuilds'))
    ? '@mx/backend-cpu is not built'
    : !existsSync(join(core, 'dist/onnx/index.js'))
      ? '@mx/core is not built (tsc -b)'
      : undefined;
if (missing) console.log(`skipping the model tests: ${missing}`);

const app = mkdtempSync(join(tmpdir(), 'mx-models-'));
writeFileSync(join(app, 'package.json'), '{"name":"app","private":true}');
process.env.MX_APP_ROOT = app;

const models = missing
  ? []
  : ['silero_vad_v5', 'ppocrv4_det', 'ppocr_mobile_v2_cls', ...readdirSync(join(root, 'onnx-light')).sort().map((d) => `onnx-light/${d}`)];

describe.skipIf(missing)('models on cpu', () => {
  it.for(models)('%s matches its expected outputs', async (name, ctx) => {
    // the built core: the backend binds to the same module instance
    const mx = (await import(join(core, 'dist/index.js'))) as typeof import('../src/index.js');
    mx.use(cpu);
    const dir = join(root, name);
    let model: Awaited<ReturnType<typeof mx.onnx.load>>;
    try {
      model = await mx.onnx.load(join(dir, 'model.onnx'));
    } catch (e) {
      if (mx.isMxError(e) && e.code === 'UNSUPPORTED') {
        console.log(`${name}: skipped: ${(e as Error).message.split('\n')[0]}`);
        return ctx.skip();
      }
      throw e;
    }
    try {
      for (const set of readdirSync(dir).filter((d) => d.startsWith('test_data_set_'))) {
        const feeds: Record<string, { data: Float32Array; dims: readonly number[] }> = {};
        model.inputs.forEach((inp, k) => {
          const h = mx.onnx.readTensor(mx.onnx.decodeTensor(readFileSync(join(dir, set, `input_${k}.pb`))));
          feeds[inp.name] = { data: h.data as Float32Array, dims: h.dims };
        });
        let outs: Record<string, import('../src/index.js').Tensor>;
        try {
          outs = await model.run(feeds);
        } catch (e) {
          if (mx.isMxError(e) && e.code === 'UNSUPPORTED') {
            console.log(`${name}: skipped: ${(e as Error).message.split('\n')[0]}`);
            return ctx.skip();
          }
          throw e;
        }
        for (const [k, o] of model.outputs.entries()) {
          const want = mx.onnx.readTensor(mx.onnx.decodeTensor(readFileSync(join(dir, set, `output_${k}.pb`))));
          const got = outs[o.name]!;
          expect(got.shape, `${set} ${o.name}`).toEqual(want.dims);
          const g = await got.data();
          let bad = 0;
          let first = -1;
          for (let i = 0; i < want.data.length; i++) {
            const a = Number(g[i]);
            const b = Number(want.data[i]);
            if (!(Math.abs(a - b) <= 1e-5 + 1e-3 * Math.abs(b))) {
              bad++;
              if (first < 0) first = i;
            }
          }
          expect(bad, `${set} ${o.name}: ${bad} elements differ, first at ${first}: ${g[first]} vs ${want.data[first]}`).toBe(0);
          got.dispose();
        }
      }
    } finally {
      model.dispose();
    }
  }, 120_000);
});
