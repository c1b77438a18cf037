import { describe, expect, it } from 'vitest';
import { mlCases } from '../src/conformance/cases/ml.js';
import { mlOps } from '../src/ops/ml.js';
import type { AttrValue, OpSchema } from '../src/ops/schema.js';
import { mlRef } from '../src/reference/ml.js';
import { checkCases, run, t, type T } from './op-harness.js';

const OPS = mlOps as unknown as Record<string, OpSchema>;
const f32 = (shape: number[], data: number[]) => t('float32', shape, data);
const scalars = (r: number, step: number): T[] => [t('float32', [], [r]), t('int64', [], [step])];
const exec = (op: string, inputs: T[], attrs: Record<string, AttrValue>, n: number) => run(OPS[op]!, mlRef[op]!, inputs, attrs, n).map((o) => o.data);
const close = (got: number[][], want: number[][]) => got.forEach((g, i) => g.forEach((v, j) => expect(v).toBeCloseTo(want[i]![j]!, 5)));

describe('ml op table', () => {
  it('every op has its domain, a doc, a reference kernel, and valid and rejected cases', () => {
    for (const [name, s] of Object.entries(OPS)) {
      expect(s.name).toBe(name);
      expect([undefined, 'ai.onnx.ml', 'ai.onnx.preview.training']).toContain(s.domain);
      expect(s.doc, name).toBeTruthy();
      expect(mlRef[name], name).toBeTypeOf('function');
      expect(mlCases.some((c) => c.op === name && !c.throws), name).toBe(true);
    }
    for (const op of ['TreeEnsemble', 'Adam', 'Momentum']) expect(mlCases.some((c) => c.op === op && c.throws), op).toBe(true);
  });

  it('conformance cases are valid calls for every binding (throwing cases are rejected)', () => {
    expect(checkCases(OPS, mlRef, mlCases)).toEqual([]);
  });
});

describe('TfIdfVectorizer (onnx operator examples)', () => {
  const x = t('int32', [2, 6], [1, 1, 3, 3, 3, 7, 8, 6, 7, 5, 6, 8]);
  const attrs = { mode: 'TF', ngram_counts: [0, 4], ngram_indexes: [0, 1, 2, 3, 4, 5, 6], pool_int64s: [2, 3, 5, 4, 5, 6, 7, 8, 6, 7] };
  it('counts bigrams without skips, and uni- and bigrams with skips', () => {
    expect(exec('TfIdfVectorizer', [x], { ...attrs, min_gram_length: 2, max_gram_length: 2, max_skip_count: 0 }, 1)).toEqual([[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1]]);
    expect(exec('TfIdfVectorizer', [x], { ...attrs, min_gram_length: 1, max_gram_length: 2, max_skip_count: 5 }, 1)).toEqual([[0, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1, 1]]);
  });
});

describe('ai.onnx.ml', () => {
  it('Binarizer and ArrayFeatureExtractor', () => {
    expect(exec('Binarizer', [f32([4], [-1, 1, 1.5, 3])], { threshold: 1 }, 1)).toEqual([[0, 0, 1, 1]]);
    const x = f32([3, 4], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(exec('ArrayFeatureExtractor', [x, t('int64', [2], [0, 3])], {}, 1)).toEqual([[0, 3, 4, 7, 8, 11]]);
  });

  it('TreeEnsemble walks each tree to a leaf and sums the leaf weights per target', () => {
    // onnx's single-tree example: node 0 (x0 <= 3.14) -> node 1 (x0 <= 1.2: leaf 0 or 1) or node 2 (x0 <= 4.2: leaf 2 or 3)
    const attrs = {
      aggregate_function: 1, n_targets: 2, tree_roots: [0], post_transform: 0,
      nodes_modes: [0, 0, 0], nodes_featureids: [0, 0, 0], nodes_splits: [3.14, 1.2, 4.2],
      nodes_truenodeids: [1, 0, 1], nodes_trueleafs: [0, 1, 1], nodes_falsenodeids: [2, 2, 3], nodes_falseleafs: [0, 1, 1],
      leaf_targetids: [0, 1, 0, 1], leaf_weights: [5.23, 12.12, -12.23, 7.21],
    };
    const x = t('float64', [3, 2], [1.2, 3.4, -0.12, 1.66, 4.14, 1.77]);
    close(exec('TreeEnsemble', [x], attrs, 1), [[5.23, 0, 5.23, 0, 0, 12.12]]);
    // MAX: a target no tree reaches keeps the lowest finite value
    close(exec('TreeEnsemble', [x], { ...attrs, aggregate_function: 3 }, 1), [[5.23, -Number.MAX_VALUE, 5.23, -Number.MAX_VALUE, -Number.MAX_VALUE, 12.12]]);
    expect(() => exec('TreeEnsemble', [x], { ...attrs, tree_roots: [0, 0] }, 1)).toThrow(/reached twice/);
  });
});

describe('ai.onnx.preview.training (onnx operator examples)', () => {
  it('Adagrad', () => {
    const out = exec('Adagrad', [...scalars(0.1, 0), f32([1], [1]), f32([1], [-1]), f32([1], [2])], { decay_factor: 0.1, epsilon: 1e-5, norm_coefficient: 0.001 }, 2);
    close(out, [[1.0576962], [2.998001]]);
  });
  it('Momentum, standard and nesterov', () => {
    const io = [f32([2], [1.2, 2.8]), f32([2], [-0.94, -2.5]), f32([2], [1.7, 3.6])];
    close(exec('Momentum', [...scalars(0.1, 0), ...io], { alpha: 0.95, beta: 0.1, mode: 'standard', norm_coefficient: 0.001 }, 2), [[1.13238, 2.70772], [0.6762, 0.9228]]);
    close(exec('Momentum', [...scalars(0.1, 0), ...io], { alpha: 0.95, beta: 1, mode: 'nesterov', norm_coefficient: 0.01 }, 2), [[1.227535, 2.95714], [0.687, 0.948]]);
  });
  it('Adam with two tensors', () => {
    const ins = [f32([1], [1]), f32([2], [1, 2]), f32([1], [-1]), f32([2], [-1, -3]), f32([1], [2]), f32([2], [4, 1]), f32([1], [0.5]), f32([2], [1, 10])];
    const out = exec('Adam', [...scalars(0.1, 0), ...ins], { alpha: 0.95, beta: 0.85, epsilon: 0.01, norm_coefficient: 0.001 }, 6);
    close(out, [[0.7591363], [0.6286528, 1.9745853], [1.85005], [3.75005, 0.8001], [0.5747002], [0.9997002, 9.8482008]]);
  });
});
