/**
 * Classic machine-learning ops: TfIdfVectorizer (ai.onnx), ai.onnx.ml
 * (Binarizer, ArrayFeatureExtractor, TreeEnsemble) and the optimizers of
 * ai.onnx.preview.training (Adagrad, Momentum, Adam).
 *
 * TfIdfVectorizer's rule resolves its pool into the n-grams of the counted sizes
 * (`gram_sizes`, their items concatenated in `gram_items`, each one's output
 * position in `gram_outputs`; a repeated n-gram keeps its last position, as in
 * onnx's reference) and `output_size`. It takes integer tokens only (the
 * pool_strings form needs string tensors).
 *
 * TreeEnsemble's rule checks the node and leaf tables and folds the set-membership
 * lists into per-node ranges (`member_start`, `member_count` into
 * `membership_values` without its NaN separators), in the order onnx's reference
 * visits the nodes (each tree depth first, true branch before false). It supports
 * post_transform NONE only, as onnx's reference does. ArrayFeatureExtractor and
 * the string form of LabelEncoder need string tensors, which mx does not have;
 * ArrayFeatureExtractor is declared for its numeric types.
 *
 * The optimizers take R (learning rate) and T (update count) as host values,
 * folded into the attributes `r` and `t`, then the groups of tensors they update
 * as one variadic list: X..., G... and the state lists (Adagrad H..., Momentum
 * V..., Adam V..., H...), one tensor per optimized tensor in each list. Their
 * outputs are the new X... followed by the new state lists.
 */
import type { DType } from '../dtype.js';
import { defineOp, type InferContext, type InferResult } from './schema.js';
import { fmt, inp } from './tensor.js';

const ML = 'ai.onnx.ml';
const TRAINING = 'ai.onnx.preview.training';
const F32_64: readonly DType[] = ['float32', 'float64'];

/** TreeEnsemble's node modes (nodes_modes values). */
const MEMBER = 6;
const AGGREGATES = [0, 1, 2, 3]; // AVERAGE, SUM, MIN, MAX

const ints = (ctx: InferContext, name: string): number[] => (ctx.attrs[name] as number[] | undefined) ?? [];

function treeEnsemble(ctx: InferContext): InferResult {
  const x = inp(ctx, 0);
  if (x.shape.length !== 2) ctx.fail(`X must be 2-D [N, features], got ${fmt(x.shape)}`);
  const modes = ints(ctx, 'nodes_modes');
  const n = modes.length;
  const per = ['nodes_featureids', 'nodes_splits', 'nodes_truenodeids', 'nodes_falsenodeids', 'nodes_trueleafs', 'nodes_falseleafs'];
  for (const a of per) if (ints(ctx, a).length !== n) ctx.fail(`${a} must have one entry per node (${n}), got ${ints(ctx, a).length}`);
  const tracks = ints(ctx, 'nodes_missing_value_tracks_true');
  if (tracks.length && tracks.length !== n) ctx.fail(`nodes_missing_value_tracks_true must have one entry per node (${n})`);
  const weights = ints(ctx, 'leaf_weights');
  const targets = ints(ctx, 'leaf_targetids');
  const nTargets = ctx.attrs.n_targets as number | undefined;
  if (nTargets === undefined || nTargets < 1) ctx.fail('n_targets must be positive');
  if (weights.length !== targets.length) ctx.fail(`leaf_weights (${weights.length}) and leaf_targetids (${targets.length}) must have the same length`);
  if (targets.some((t) => !(t >= 0 && t < nTargets))) ctx.fail(`leaf_targetids must be in [0, ${nTargets})`);
  if (!AGGREGATES.includes(ctx.attrs.aggregate_function as number)) ctx.fail(`aggregate_function ${ctx.attrs.aggregate_function} is not one of 0 (AVERAGE), 1 (SUM), 2 (MIN), 3 (MAX)`);
  if (ctx.attrs.post_transform !== 0) ctx.fail(`post_transform ${ctx.attrs.post_transform} is not supported (only 0, NONE)`);
  const features = ints(ctx, 'nodes_featureids');
  if (features.some((f) => !(f >= 0 && f < x.shape[1]!))) ctx.fail(`nodes_featureids must be in [0, ${x.shape[1]}) (X's features)`);

  // set-membership lists, in the reference's visiting order
  const members = ints(ctx, 'membership_values');
  const groups: number[][] = [];
  for (let i = 0, g: number[] = []; i < members.length; i++) {
    if (Number.isNaN(members[i])) (groups.push(g), (g = []));
    else g.push(members[i]!);
  }
  const start = new Array<number>(n).fill(0);
  const count = new Array<number>(n).fill(0);
  const values: number[] = [];
  const [trueIds, falseIds, trueLeaf, falseLeaf] = ['nodes_truenodeids', 'nodes_falsenodeids', 'nodes_trueleafs', 'nodes_falseleafs'].map((a) => ints(ctx, a));
  const seen = new Set<number>();
  const visit = (node: number, leaf: boolean): void => {
    const limit = leaf ? weights.length : n;
    if (!(node >= 0 && node < limit)) ctx.fail(`${leaf ? 'leaf' : 'node'} index ${node} is out of range [0, ${limit})`);
    if (leaf) return;
    if (seen.has(node)) ctx.fail(`node ${node} is reached twice: the trees must not share nodes or form cycles`);
    seen.add(node);
    if (modes[node] === MEMBER) {
      const g = groups.shift() ?? ctx.fail('membership_values has fewer NaN-separated lists than there are BRANCH_MEMBER nodes');
      [start[node], count[node]] = [values.length, g.length];
      values.push(...g);
    } else if (!(modes[node]! >= 0 && modes[node]! < MEMBER)) ctx.fail(`nodes_modes ${modes[node]} is not a mode (0 to 6)`);
    visit(trueIds![node]!, !!trueLeaf![node]);
    visit(falseIds![node]!, !!falseLeaf![node]);
  };
  const roots = ints(ctx, 'tree_roots');
  const rootLeaf = roots.map((r) => (r >= 0 && r < n && !!trueLeaf![r] && !!falseLeaf![r] && trueIds![r] === falseIds![r] ? 1 : 0));
  roots.forEach((r, i) => (rootLeaf[i] ? visit(trueIds![r]!, true) : visit(r, false)));
  return {
    outputs: [{ shape: [x.shape[0]!, nTargets], dtype: x.dtype }],
    attrs: { member_start: start, member_count: count, membership_values: values, root_is_leaf: rootLeaf },
  };
}

/**
 * An optimizer's rule: the variadic list holds `lists` groups of equal length
 * (X, G, then the states); outputs are X and the states (lists - 1 groups).
 */
const optimizer =
  (lists: number, names: string) =>
  (ctx: InferContext): InferResult => {
    const [r, t] = [ctx.value(0), ctx.value(1)];
    if (r?.length !== 1 || t?.length !== 1) ctx.fail('R and T must be single values');
    const tensors = ctx.inputs.slice(2);
    const n = tensors.length / lists;
    if (!Number.isInteger(n) || n < 1) ctx.fail(`the inputs after R and T must be ${lists} lists of equal length (${names}), got ${tensors.length} tensors`);
    if (ctx.numOutputs !== (lists - 1) * n) ctx.fail(`takes ${(lists - 1) * n} outputs for ${n} optimized tensors, got ${ctx.numOutputs}`);
    const x = tensors.slice(0, n);
    tensors.forEach((tn, i) => {
      const want = x[i % n]!;
      if (fmt(tn!.shape) !== fmt(want.shape) || tn!.dtype !== want.dtype) ctx.fail(`tensor ${i + 2} ${tn!.dtype}${fmt(tn!.shape)} must match X ${want.dtype}${fmt(want.shape)}`);
    });
    const outputs = Array.from({ length: (lists - 1) * n }, (_, i) => ({ shape: x[i % n]!.shape.slice(), dtype: x[i % n]!.dtype }));
    return { outputs, attrs: { r: r[0]!, t: t[0]! } };
  };

const OPTIMIZER_IO = {
  inputs: [
    { name: 'R', type: 'T1', value: true },
    { name: 'T', type: 'int64', value: true },
    { name: 'inputs', type: 'T3', variadic: true },
  ],
  outputs: [{ name: 'outputs', type: 'T3', variadic: true }],
  types: { T1: F32_64, T3: F32_64 },
  method: false,
} as const;

function tfIdf(ctx: InferContext): InferResult {
  const x = inp(ctx, 0);
  if (x.shape.length > 2) ctx.fail(`X must be [C] or [B, C], got ${fmt(x.shape)}`);
  const [minN, maxN, skips] = [ctx.attrs.min_gram_length as number, ctx.attrs.max_gram_length as number, ctx.attrs.max_skip_count as number];
  if (!(minN >= 1 && maxN >= minN && skips >= 0)) ctx.fail(`need 1 <= min_gram_length (${minN}) <= max_gram_length (${maxN}) and max_skip_count (${skips}) >= 0`);
  if (!['TF', 'IDF', 'TFIDF'].includes(ctx.attrs.mode as string)) ctx.fail(`mode must be 'TF', 'IDF' or 'TFIDF', got ${JSON.stringify(ctx.attrs.mode)}`);
  if (ctx.attrs.pool_strings !== undefined) ctx.fail('pool_strings needs string tensors; mx counts integer tokens (pool_int64s)');
  const pool = ints(ctx, 'pool_int64s');
  const counts = ints(ctx, 'ngram_counts');
  const indexes = ints(ctx, 'ngram_indexes');
  if (!indexes.length || indexes.some((i) => !(i >= 0))) ctx.fail('ngram_indexes must be non-empty and non-negative');
  const outputSize = Math.max(...indexes) + 1;
  const weights = ctx.attrs.weights as number[] | undefined;
  if (weights && weights.length !== outputSize) ctx.fail(`weights must have output_size (${outputSize}) entries, got ${weights.length}`);
  const [sizes, items, outputs] = [[] as number[], [] as number[], [] as number[]];
  let id = 0;
  counts.forEach((start, k) => {
    const n = k + 1;
    const end = k + 1 < counts.length ? counts[k + 1]! : pool.length;
    if (!(start >= 0 && end <= pool.length && end >= start && (end - start) % n === 0)) ctx.fail(`ngram_counts ${fmt(counts)} do not split pool_int64s (${pool.length} items) into ${n}-grams`);
    for (let at = start; at < end; at += n, id++) {
      if (id >= indexes.length) ctx.fail(`ngram_indexes has ${indexes.length} entries, the pool more n-grams`);
      if (n < minN || n > maxN) continue;
      sizes.push(n);
      items.push(...pool.slice(at, at + n));
      outputs.push(indexes[id]!);
    }
  });
  const shape = x.shape.length === 2 ? [x.shape[0]!, outputSize] : [outputSize];
  return { outputs: [{ shape, dtype: 'float32' }], attrs: { gram_sizes: sizes, gram_items: items, gram_outputs: outputs, output_size: outputSize } };
}

export const mlOps = {
  TfIdfVectorizer: defineOp({
    name: 'TfIdfVectorizer',
    doc: "Counts, per row of integer tokens, the pool's n-grams (of min..max_gram_length items, at most max_skip_count tokens skipped between items) into their output positions; mode 'TF' gives the counts, 'IDF' weight (or 1) where counted, 'TFIDF' count * weight.",
    inputs: [{ name: 'X', type: 'T' }],
    outputs: [{ name: 'Y', type: 'float32' }],
    attrs: {
      max_gram_length: { type: 'int', required: true },
      max_skip_count: { type: 'int', required: true },
      min_gram_length: { type: 'int', required: true },
      mode: { type: 'string', required: true },
      ngram_counts: { type: 'ints', required: true },
      ngram_indexes: { type: 'ints', required: true },
      pool_int64s: { type: 'ints' },
      pool_strings: { type: 'strings' },
      weights: { type: 'floats' },
    },
    types: { T: ['int32', 'int64'] },
    infer: tfIdf,
  }),

  Binarizer: defineOp({
    name: 'Binarizer',
    domain: ML,
    doc: '1 where x > threshold, 0 elsewhere, in the dtype of X.',
    inputs: [{ name: 'X', type: 'T' }],
    outputs: [{ name: 'Y', type: 'T' }],
    attrs: { threshold: { type: 'float', default: 0 } },
    types: { T: ['float32', 'float64', 'int64', 'int32'] },
    infer: (ctx) => ({ outputs: [{ shape: inp(ctx, 0).shape.slice(), dtype: inp(ctx, 0).dtype }] }),
  }),
  ArrayFeatureExtractor: defineOp({
    name: 'ArrayFeatureExtractor',
    domain: ML,
    doc: 'The features (last-axis positions) of X listed in Y; a 1-D X gives a [1, len(Y)] result.',
    inputs: [{ name: 'X', type: 'T' }, { name: 'Y', type: 'int64' }],
    outputs: [{ name: 'Z', type: 'T' }],
    types: { T: ['float32', 'float64', 'int64', 'int32'] },
    infer(ctx) {
      const [x, y] = [inp(ctx, 0), inp(ctx, 1)];
      if (x.shape.length === 0) ctx.fail('X must have rank >= 1');
      const k = y.shape.reduce((a, b) => a * b, 1);
      const shape = x.shape.length === 1 ? [1, k] : [...x.shape.slice(0, -1), k];
      return { outputs: [{ shape, dtype: x.dtype }] };
    },
  }),
  TreeEnsemble: defineOp({
    name: 'TreeEnsemble',
    domain: ML,
    doc: 'Sum (or average, min, max) per target of the leaf weights that each tree of the ensemble reaches for each row of X.',
    inputs: [{ name: 'X', type: 'T' }],
    outputs: [{ name: 'Y', type: 'T' }],
    attrs: {
      aggregate_function: { type: 'int', default: 1 },
      leaf_targetids: { type: 'ints', required: true },
      leaf_weights: { type: 'floats', required: true },
      membership_values: { type: 'floats' },
      n_targets: { type: 'int' },
      nodes_falseleafs: { type: 'ints', required: true },
      nodes_falsenodeids: { type: 'ints', required: true },
      nodes_featureids: { type: 'ints', required: true },
      nodes_hitrates: { type: 'floats' },
      nodes_missing_value_tracks_true: { type: 'ints' },
      nodes_modes: { type: 'ints', required: true },
      nodes_splits: { type: 'floats', required: true },
      nodes_trueleafs: { type: 'ints', required: true },
      nodes_truenodeids: { type: 'ints', required: true },
      post_transform: { type: 'int', default: 0 },
      tree_roots: { type: 'ints', required: true },
    },
    types: { T: ['float32', 'float64', 'float16'] },
    infer: treeEnsemble,
  }),

  Adagrad: defineOp({
    name: 'Adagrad',
    domain: TRAINING,
    doc: 'One Adagrad step: r = R / (1 + T * decay_factor); G\' = norm_coefficient * X + G; H_new = H + G\'^2; X_new = X - r * G\' / (sqrt(H_new) + epsilon).',
    ...OPTIMIZER_IO,
    attrs: { decay_factor: { type: 'float', default: 0 }, epsilon: { type: 'float', default: 0 }, norm_coefficient: { type: 'float', default: 0 } },
    infer: optimizer(3, 'X, G, H'),
  }),
  Momentum: defineOp({
    name: 'Momentum',
    domain: TRAINING,
    doc: "One momentum step: G' = norm_coefficient * X + G; V_new = alpha * V + beta' * G' (beta' = 1 when T = 0); X_new = X - R * V_new ('standard') or X - R * (G' + alpha * V_new) ('nesterov').",
    ...OPTIMIZER_IO,
    attrs: { alpha: { type: 'float', required: true }, beta: { type: 'float', required: true }, mode: { type: 'string', required: true }, norm_coefficient: { type: 'float', required: true } },
    infer(ctx) {
      if (ctx.attrs.mode !== 'standard' && ctx.attrs.mode !== 'nesterov') ctx.fail(`mode must be 'standard' or 'nesterov', got ${JSON.stringify(ctx.attrs.mode)}`);
      return optimizer(3, 'X, G, V')(ctx);
    },
  }),
  Adam: defineOp({
    name: 'Adam',
    domain: TRAINING,
    doc: "One Adam step: G' = norm_coefficient * X + G; V_new = alpha * V + (1 - alpha) * G'; H_new = beta * H + (1 - beta) * G'^2; X_new = (1 - norm_coefficient_post) * (X - r * V_new / (sqrt(H_new) + epsilon)), r = R * sqrt(1 - beta^T) / (1 - alpha^T) for T > 0, R otherwise.",
    ...OPTIMIZER_IO,
    attrs: {
      alpha: { type: 'float', default: 0.9 },
      beta: { type: 'float', default: 0.999 },
      epsilon: { type: 'float', default: 0 },
      norm_coefficient: { type: 'float', default: 0 },
      norm_coefficient_post: { type: 'float', default: 0 },
    },
    infer: optimizer(4, 'X, G, V, H'),
  }),
};
