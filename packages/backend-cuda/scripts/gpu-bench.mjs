// mx on cuda:0: MatMul 4096x4096x4096 in float32/float16/bfloat16 and a model's
// run() at batch 1 and 16; prints JSON (median ms of timed repetitions after
// warm-up, each ended by mx.sync()); for batch 16 the model's batch dim is made
// symbolic first. Run by gpu-check.sh with MX_BACKENDS=cuda,cpu.
//   node gpu-bench.mjs <model.onnx>
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as mx from '@mx/core';

const { onnx } = createRequire(import.meta.url)('onnx-proto');

/** The model with its graph inputs' and outputs' first dim made symbolic, so that other batch sizes load and run. */
function anyBatch(bytes) {
  const m = onnx.ModelProto.decode(bytes);
  const weights = new Set(m.graph.initializer.map((t) => t.name));
  for (const v of [...m.graph.input.filter((i) => !weights.has(i.name)), ...m.graph.output]) {
    const dims = v.type?.tensorType?.shape?.dim;
    if (dims?.length) dims[0] = onnx.TensorShapeProto.Dimension.create({ dimParam: 'batch' });
  }
  // Reshapes to a constant [1, ...] (the flatten before the classifier) keep the batch: [-1, ...].
  const init = new Map(m.graph.initializer.map((t) => [t.name, t]));
  for (const n of m.graph.node.filter((x) => x.opType === 'Reshape')) {
    const t = init.get(n.input[1]);
    if (!t) continue;
    if (t.int64Data?.length && Number(t.int64Data[0]) === 1) t.int64Data[0] = -1;
    else if (t.rawData?.length >= 8) {
      const v = new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.byteLength);
      if (v.getBigInt64(0, true) === 1n) v.setBigInt64(0, -1n, true);
    }
  }
  m.graph.valueInfo = [];
  return onnx.ModelProto.encode(m).finish();
}

const reps = Number(process.env.MX_BENCH_REPS ?? 20);
const median = (a) => a.sort((x, y) => x - y)[a.length >> 1];
async function time(fn) {
  for (let i = 0; i < 3; i++) await fn();
  await mx.sync();
  const ms = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    await mx.sync();
    ms.push(performance.now() - t0);
  }
  return median(ms);
}

const results = { device: 'cuda:0', matmul: {}, model: {} };
const n = 4096;
for (const dtype of ['float32', 'float16', 'bfloat16']) {
  try {
    const a = mx.tensor(new Float32Array(n * n).map((_, i) => ((i * 7919) % 1000) / 1000 - 0.5), { shape: [n, n], dtype, device: 'cuda:0' });
    const ms = await time(async () => mx.matmul(a, a).dispose());
    results.matmul[dtype] = { ms, tflops: (2 * n ** 3) / (ms * 1e-3) / 1e12 };
  } catch (e) {
    results.matmul[dtype] = { error: String(e?.message ?? e) };
  }
}
const model = process.argv[2];
if (model) {
  for (const batch of [1, 16]) {
    try {
      const bytes = readFileSync(model);
      const m = await mx.onnx.load(batch === 1 ? bytes : anyBatch(bytes), { device: 'cuda:0' });
      const [input] = m.inputs;
      const shape = [batch, ...input.shape.slice(1).map((d) => (typeof d === 'number' ? d : 224))];
      const x = mx.tensor(new Float32Array(shape.reduce((p, c) => p * c, 1)).map((_, i) => (i % 255) / 255), { shape, device: 'cuda:0' });
      const ms = await time(async () => {
        const out = await m.run({ [input.name]: x });
        for (const t of Object.values(out)) t.dispose();
      });
      results.model[`batch${batch}`] = { ms };
    } catch (e) {
      results.model[`batch${batch}`] = { error: String(e?.message ?? e) };
    }
  }
}
process.stdout.write(JSON.stringify(results, null, 2) + '\n');
