/**
 * Conformance cases of the classic ML ops: TfIdfVectorizer over onnx's example
 * pool; a small
 * hand-built tree ensemble covering every node mode, missing values and each
 * aggregate; the optimizers with one and two optimized tensors, T = 0 and T > 0.
 */
import type { AttrValue } from '../../ops/schema.js';
import type { CaseInput, ConformanceCase } from '../types.js';

const vals = (shape: number[], values: number[]): CaseInput => ({ shape, values });
const scalar = (v: number, dtype: 'float32' | 'int64'): CaseInput => ({ shape: [], values: [v], dtype });

/**
 * Two trees over 2 features and 2 targets. Tree 0: node 0 (x0 <= 0.5, NaN goes
 * true) -> node 1 (x1 in {1, 3}) or leaf 2; node 1 -> leaf 0 or leaf 1. Tree 1 is
 * node 2 with mode `mode` on x1 against 1 -> leaf 3 or leaf 4.
 */
const trees = (mode: number, aggregate = 1): Record<string, AttrValue> => ({
  aggregate_function: aggregate,
  n_targets: 2,
  tree_roots: [0, 2],
  nodes_modes: [0, 6, mode],
  nodes_featureids: [0, 1, 1],
  nodes_splits: [0.5, 0, 1],
  nodes_truenodeids: [1, 0, 3],
  nodes_falsenodeids: [2, 1, 4],
  nodes_trueleafs: [0, 1, 1],
  nodes_falseleafs: [1, 1, 1],
  nodes_missing_value_tracks_true: [1, 0, 0],
  membership_values: [1, 3, NaN],
  leaf_targetids: [0, 1, 1, 0, 1],
  leaf_weights: [1.5, -2, 4, 0.25, 8],
});
const ROWS = vals([6, 2], [0, 1, 0, 2, 1, 3, NaN, 3, 0.5, 1, -1, NaN]);

/** onnx's TfIdfVectorizer example pool: unigrams 2 3 5 4, bigrams (5,6) (7,8) (6,7), output positions 0..6. */
const tfidf = (min: number, max: number, skip: number, mode: string, extra: Record<string, AttrValue> = {}): Record<string, AttrValue> => ({
  min_gram_length: min,
  max_gram_length: max,
  max_skip_count: skip,
  mode,
  ngram_counts: [0, 4],
  ngram_indexes: [0, 1, 2, 3, 4, 5, 6],
  pool_int64s: [2, 3, 5, 4, 5, 6, 7, 8, 6, 7],
  ...extra,
});
const TOKENS = vals([2, 6], [1, 1, 3, 3, 3, 7, 8, 6, 7, 5, 6, 8]);

const ml: ConformanceCase[] = [
  { op: 'TfIdfVectorizer', name: 'bigrams, no skip', inputs: [TOKENS], attrs: tfidf(2, 2, 0, 'TF') },
  { op: 'TfIdfVectorizer', name: 'unigrams and bigrams, skips up to 5', inputs: [TOKENS], attrs: tfidf(1, 2, 5, 'TF') },
  { op: 'TfIdfVectorizer', name: '1-D, IDF with weights', inputs: [vals([8], [2, 3, 5, 6, 7, 8, 5, 6])], attrs: tfidf(1, 2, 1, 'IDF', { weights: [1, 2, 3, 4, 5, 6, 7] }) },
  { op: 'TfIdfVectorizer', name: 'TFIDF without weights', inputs: [TOKENS], attrs: tfidf(1, 1, 0, 'TFIDF') },
  { op: 'TfIdfVectorizer', name: 'ngram_counts that do not split the pool', inputs: [TOKENS], attrs: tfidf(1, 2, 0, 'TF', { ngram_counts: [0, 3] }), throws: true },
  { op: 'TfIdfVectorizer', name: "mode 'BM25' is rejected", inputs: [TOKENS], attrs: tfidf(1, 2, 0, 'BM25'), throws: true },
  { op: 'Binarizer', name: 'threshold 0', inputs: [{ shape: [3, 4] }] },
  { op: 'Binarizer', name: 'threshold 1, values at it', inputs: [vals([6], [-1, 0, 1, 1.5, 2, 1])], attrs: { threshold: 1 }, dtypes: ['float32', 'float64'] },
  { op: 'Binarizer', name: 'integers, threshold 2', inputs: [vals([5], [-1, 1, 2, 3, 4])], attrs: { threshold: 2 } },
  { op: 'Binarizer', name: 'scalar', inputs: [{ shape: [] }] },
  { op: 'ArrayFeatureExtractor', name: '2-D', inputs: [{ shape: [3, 4] }, { shape: [3], values: [3, 0, 3], dtype: 'int64' }] },
  { op: 'ArrayFeatureExtractor', name: '1-D gives [1, k]', inputs: [{ shape: [5] }, { shape: [2], values: [4, 1], dtype: 'int64' }] },
  { op: 'ArrayFeatureExtractor', name: '3-D', inputs: [{ shape: [2, 2, 3] }, { shape: [1], values: [2], dtype: 'int64' }] },
  ...[0, 1, 2, 3, 4, 5].map((mode): ConformanceCase => ({ op: 'TreeEnsemble', name: `sum, second tree mode ${mode}`, inputs: [ROWS], attrs: trees(mode), dtypes: ['float32', 'float64'] })),
  ...[0, 2, 3].map((agg): ConformanceCase => ({ op: 'TreeEnsemble', name: `aggregate ${agg}`, inputs: [ROWS], attrs: trees(1, agg), dtypes: ['float32', 'float64'] })),
  { op: 'TreeEnsemble', name: 'float16', inputs: [ROWS], attrs: trees(3), dtypes: ['float16'] },
  { op: 'TreeEnsemble', name: 'a leaf index out of range', inputs: [ROWS], attrs: { ...trees(0), nodes_truenodeids: [1, 0, 9] }, throws: true },
  { op: 'TreeEnsemble', name: 'post_transform SOFTMAX is rejected', inputs: [ROWS], attrs: { ...trees(0), post_transform: 1 }, throws: true },
];

const r = scalar(0.1, 'float32');
const x = (n: number, k: number, shape = [2, 3]): CaseInput[] => Array.from({ length: n * k }, (_, i) => ({ shape: i % n === 0 ? shape : [4], range: [0.1, 2] }));
const training: ConformanceCase[] = [
  ...[0, 3].flatMap((t): ConformanceCase[] => [
    { op: 'Adagrad', name: `T=${t}`, inputs: [r, scalar(t, 'int64'), ...x(1, 3)], attrs: { decay_factor: 0.1, epsilon: 1e-5, norm_coefficient: 0.01 }, outputs: 2 },
    { op: 'Adagrad', name: `two tensors, T=${t}`, inputs: [r, scalar(t, 'int64'), ...x(2, 3)], attrs: { decay_factor: 0.1 }, outputs: 4 },
    { op: 'Momentum', name: `standard, T=${t}`, inputs: [r, scalar(t, 'int64'), ...x(1, 3)], attrs: { alpha: 0.9, beta: 0.5, mode: 'standard', norm_coefficient: 0.01 }, outputs: 2 },
    { op: 'Momentum', name: `nesterov, two tensors, T=${t}`, inputs: [r, scalar(t, 'int64'), ...x(2, 3)], attrs: { alpha: 0.9, beta: 0.5, mode: 'nesterov', norm_coefficient: 0.01 }, outputs: 4 },
    { op: 'Adam', name: `T=${t}`, inputs: [r, scalar(t, 'int64'), ...x(1, 4)], attrs: { epsilon: 1e-7, norm_coefficient: 0.01, norm_coefficient_post: 0.02 }, outputs: 3 },
    { op: 'Adam', name: `two tensors, T=${t}`, inputs: [r, scalar(t, 'int64'), ...x(2, 4)], attrs: { alpha: 0.8, beta: 0.9 }, outputs: 6 },
  ]),
  { op: 'Adam', name: 'lists of unequal length', inputs: [r, scalar(0, 'int64'), ...x(1, 3)], outputs: 3, throws: true },
  { op: 'Momentum', name: "mode 'heavy' is rejected", inputs: [r, scalar(0, 'int64'), ...x(1, 3)], attrs: { alpha: 0.9, beta: 0.5, mode: 'heavy', norm_coefficient: 0 }, outputs: 2, throws: true },
];

export const mlCases: ConformanceCase[] = [...ml, ...training];
