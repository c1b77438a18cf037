/**
 * The kernel table, read from the built binary without a GPU (test/list-kernels.c
 * opens it with lazy binding): every (op, key) it declares is one the op table
 * allows, none twice, and the families the package promises are there. On a GPU
 * the conformance kit then runs every one of them.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { OPS } from '@mx/core';
import { root } from './helpers.js';

const require = createRequire(import.meta.url);
const include = join(dirname(require.resolve('@mx/core/package.json')), 'include');
const dir = mkdtempSync(join(tmpdir(), 'mx-cuda-kernels-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function kernels(): [string, string, string][] {
  const exe = join(dir, 'list-kernels');
  const cc = spawnSync('cc', ['-O1', `-I${include}`, join(root, 'test', 'list-kernels.c'), '-o', exe, '-ldl'], { encoding: 'utf8' });
  expect(cc.status, cc.stderr).toBe(0);
  const node = join(root, 'prebuilds', `${process.platform}-${process.arch}`, '@mx+backend-cuda.node');
  const r = spawnSync(exe, [node], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

it('declares only (op, key) pairs the op table allows, each once', async () => {
  const { allKeysOf } = await keysHelper();
  const list = kernels();
  const stub = list.length === 0;
  if (stub) return console.log('skipped: this build is the no-CUDA stub (no kernels)');
  const bad: string[] = [];
  const seen = new Set<string>();
  for (const [op, domain, key] of list) {
    const id = `${domain}:${op}(${key})`;
    if (!allKeysOf(op, domain).includes(key)) bad.push(id);
    if (seen.has(id)) bad.push(`twice: ${id}`);
    seen.add(id);
  }
  expect(bad).toEqual([]);
  const ops = new Set(list.map(([op]) => op));
  for (const op of [
    'Add', 'Where', 'Cast', 'ReduceSum', 'Softmax', 'LayerNormalization', 'MatMul', 'Gemm', 'Conv', 'MaxPool', 'Transpose', 'Gather', 'Pad',
    'Shape', 'Size', 'ConstantOfShape', 'Range', 'EyeLike', 'OneHot', 'GatherElements', 'GatherND', 'ScatterElements', 'ScatterND',
    'TopK', 'CumProd', 'Hardmax', 'LRN', 'LpNormalization', 'MeanVarianceNormalization', 'Resize', 'Attention', 'QuantizeLinear',
    'DequantizeLinear',
  ])
    expect(ops.has(op), op).toBe(true);
  // the ops whose every key the op table allows is declared (all dtypes, both index types, every OneHot/EyeLike pair,
  // every BatchNormalization binding)
  for (const op of [
    'GatherElements', 'GatherND', 'ScatterElements', 'ScatterND', 'OneHot', 'EyeLike', 'TopK', 'Range', 'Resize', 'CumProd',
    'BatchNormalization', 'Compress', 'ReverseSequence', 'TensorScatter', 'NonZero', 'Unique', 'NonMaxSuppression', 'CenterCropPad',
    'GridSample', 'AffineGrid', 'RoiAlign', 'MaxRoiPool', 'MaxUnpool', 'LpPool', 'GlobalLpPool', 'Col2Im', 'Det', 'DFT', 'STFT',
    'MelWeightMatrix', 'HannWindow', 'NegativeLogLikelihoodLoss', 'SoftmaxCrossEntropyLoss', 'RotaryEmbedding', 'Swish', 'Shrink', 'Erf',
    'PRelu', 'Einsum', 'DeformConv', 'LinearAttention', 'CausalConvWithState', 'RNN', 'GRU', 'LSTM', 'DynamicQuantizeLinear',
    'MatMulInteger', 'QLinearMatMul', 'ConvInteger', 'QLinearConv', 'Cast', 'CastLike', 'QuantizeLinear', 'DequantizeLinear',
    'TfIdfVectorizer',
  ])
    expect(list.filter(([o]) => o === op).map(([, , key]) => key).sort(), op).toEqual([...allKeysOf(op, '')].sort());
  // ops of other domains, every key: mx's FusedConv (Conv + residual + activation), ai.onnx.ml, the training optimizers
  for (const [domain, op] of [
    ['mx', 'FusedConv'], ['ai.onnx.ml', 'Binarizer'], ['ai.onnx.ml', 'ArrayFeatureExtractor'], ['ai.onnx.ml', 'TreeEnsemble'],
    ['ai.onnx.preview.training', 'Adagrad'], ['ai.onnx.preview.training', 'Momentum'], ['ai.onnx.preview.training', 'Adam'],
  ] as const)
    expect(list.filter(([o, d]) => o === op && d === domain).map(([, , key]) => key).sort(), op).toEqual([...allKeysOf(op, domain)].sort());
  // BitCast: every pair of dtypes of one element width (core refuses the others)
  expect(list.filter(([o]) => o === 'BitCast').length).toBe(3 * 3 + 4 * 4 + 3 * 3 + 3 * 3);
  expect(list.filter(([op]) => op === 'MatMul').map(([, , key]) => key)).toEqual(
    expect.arrayContaining(['float32', 'float16', 'bfloat16', 'float64']),
  );
  console.log(`${list.length} kernels for ${ops.size} ops`);
});

/** Every kernel key core allows for an op, from core's own list (what its conformance kit and mx doctor use). */
async function keysHelper() {
  const coreDir = dirname(require.resolve('@mx/core/package.json'));
  const { allKeys } = (await import(pathToFileURL(join(coreDir, 'dist', 'backends', 'reference.js')).href)) as { allKeys(s: unknown): string[] };
  const schemas = Object.values(OPS) as unknown as { name: string; domain?: string }[];
  return {
    allKeysOf: (op: string, domain: string) => {
      const s = schemas.find((x) => x.name === op && (x.domain ?? '') === domain);
      return s ? allKeys(s) : [];
    },
  };
}
