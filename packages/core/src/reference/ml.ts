/**
 * Reference kernels of the ai.onnx.ml and ai.onnx.preview.training ops
 * (../ops/ml.ts). TreeEnsemble reads the membership ranges its rule folded; the
 * optimizers read R and T as the attributes `r` and `t`.
 */
import type { RefKernel, RefTensor } from './types.js';
import { sizeOf } from './util.js';

type Attrs = Readonly<Record<string, unknown>>;
const FLOAT_MAX: Partial<Record<string, number>> = { float32: 3.4028234663852886e38, float16: 65504 };
const num = (a: Attrs, k: string) => a[k] as number;
const list = (a: Attrs, k: string) => (a[k] as number[] | undefined) ?? [];

/** Whether x takes node i's true branch (NaN goes there only where missing values track true). */
function branchTrue(a: Attrs, i: number, x: number): boolean {
  if (Number.isNaN(x) && list(a, 'nodes_missing_value_tracks_true')[i]) return true;
  const s = list(a, 'nodes_splits')[i]!;
  switch (list(a, 'nodes_modes')[i]) {
    case 0: return x <= s;
    case 1: return x < s;
    case 2: return x >= s;
    case 3: return x > s;
    case 4: return x === s;
    case 5: return x !== s;
    default: {
      const from = list(a, 'member_start')[i]!;
      return list(a, 'membership_values').slice(from, from + list(a, 'member_count')[i]!).includes(x);
    }
  }
}

const treeEnsemble: RefKernel = ([x], a, [o]) => {
  const [rows, cols] = x!.shape as [number, number];
  const nt = o!.shape[1]!;
  const agg = num(a, 'aggregate_function');
  const roots = list(a, 'tree_roots');
  // MIN and MAX start from the dtype's largest finite magnitude, as onnx's reference does
  const big = FLOAT_MAX[x!.dtype] ?? Number.MAX_VALUE;
  const init = agg === 2 ? big : agg === 3 ? -big : 0;
  const out = new Float64Array(rows * nt).fill(init);
  const [trueIds, falseIds, trueLeaf, falseLeaf, feat] = ['nodes_truenodeids', 'nodes_falsenodeids', 'nodes_trueleafs', 'nodes_falseleafs', 'nodes_featureids'].map((k) => list(a, k));
  for (let r = 0; r < rows; r++) {
    roots.forEach((root, t) => {
      let leaf = trueIds![root]!;
      if (!list(a, 'root_is_leaf')[t]) {
        for (let node = root; ; ) {
          const yes = branchTrue(a, node, x!.data[r * cols + feat![node]!]!);
          const next = yes ? trueIds![node]! : falseIds![node]!;
          if (yes ? trueLeaf![node] : falseLeaf![node]) {
            leaf = next;
            break;
          }
          node = next;
        }
      }
      const w = list(a, 'leaf_weights')[leaf]!;
      const k = r * nt + list(a, 'leaf_targetids')[leaf]!;
      out[k] = agg === 2 ? Math.min(out[k]!, w) : agg === 3 ? Math.max(out[k]!, w) : out[k]! + (agg === 0 ? w / roots.length : w);
    });
  }
  return [out];
};

/**
 * Runs `step` elementwise over each optimized tensor: it gets one value from each
 * list (X, G, states...) and returns the new X and states, which go to the
 * outputs X_new..., then each state list.
 */
function optimizer(lists: number, step: (a: Attrs, v: number[]) => number[]): RefKernel {
  return (inputs, attrs) => {
    const ts = inputs.slice(2) as RefTensor[];
    const n = ts.length / lists;
    const outs: Float64Array[] = Array.from({ length: (lists - 1) * n }, (_, i) => new Float64Array(sizeOf(ts[i % n]!.shape)));
    for (let j = 0; j < n; j++)
      for (let e = 0; e < outs[j]!.length; e++) {
        const res = step(attrs, Array.from({ length: lists }, (_, l) => ts[l * n + j]!.data[e]!));
        res.forEach((v, k) => (outs[k * n + j]![e] = v));
      }
    return outs;
  };
}

/**
 * TfIdfVectorizer: per row and skip distance d = 1..max_skip_count + 1, from each
 * start s the items x[s], x[s + d], ... extend a gram while it is a prefix of a
 * pool n-gram; each one of a counted size (>= min_gram_length) adds 1 at its
 * output position. Unigrams count at d = 1 only.
 */
const tfIdf: RefKernel = ([x], a, [o]) => {
  const [sizes, items, outs] = [list(a, 'gram_sizes'), list(a, 'gram_items'), list(a, 'gram_outputs')];
  const size = num(a, 'output_size');
  const full = new Map<string, number>();
  const prefixes = new Set<string>();
  for (let g = 0, at = 0; g < sizes.length; at += sizes[g]!, g++) {
    const gram = items.slice(at, at + sizes[g]!);
    full.set(gram.join(','), outs[g]!);
    for (let k = 1; k <= gram.length; k++) prefixes.add(gram.slice(0, k).join(','));
  }
  const cols = x!.shape.length ? x!.shape[x!.shape.length - 1]! : 1;
  const rows = sizeOf(o!.shape) / size;
  const counts = new Float64Array(rows * size);
  for (let r = 0; r < rows; r++) {
    let minN = num(a, 'min_gram_length');
    for (let d = 1; d <= num(a, 'max_skip_count') + 1; d++) {
      for (let s = 0; s + d * (minN - 1) < cols; s++) {
        const gram: number[] = [];
        for (let i = s; gram.length < num(a, 'max_gram_length') && i < cols; i += d) {
          gram.push(x!.data[r * cols + i]!);
          const key = gram.join(',');
          if (!prefixes.has(key)) break;
          if (gram.length >= minN && full.has(key)) counts[r * size + full.get(key)!]! += 1;
        }
      }
      if (minN === 1) minN = 2; // unigrams do not depend on the skip distance
      if (minN > num(a, 'max_gram_length')) break;
    }
  }
  const w = a.weights as number[] | undefined;
  return [counts.map((c, i) => (a.mode === 'TF' ? c : a.mode === 'IDF' ? (c > 0 ? (w ? w[i % size]! : 1) : 0) : c * (w ? w[i % size]! : 1)))];
};

export const mlRef: Record<string, RefKernel> = {
  TfIdfVectorizer: tfIdf,
  Binarizer: ([x], a) => [Array.from(x!.data, (v) => (v > num(a, 'threshold') ? 1 : 0))],
  ArrayFeatureExtractor: ([x, y], _a, [o]) => {
    const n = x!.shape[x!.shape.length - 1]!;
    const k = y!.data.length;
    return [
      Array.from({ length: sizeOf(o!.shape) }, (_, i) => {
        const j = y!.data[i % k]!;
        if (!(j >= 0 && j < n)) throw new RangeError(`ArrayFeatureExtractor: index ${j} is out of range for ${n} features`);
        return x!.data[Math.floor(i / k) * n + j]!;
      }),
    ];
  },
  TreeEnsemble: treeEnsemble,
  Adagrad: optimizer(3, (a, [x, g, h]) => {
    const r = num(a, 'r') / (1 + num(a, 't') * num(a, 'decay_factor'));
    const gr = num(a, 'norm_coefficient') * x! + g!;
    const hn = h! + gr * gr;
    return [x! - (r * gr) / (Math.sqrt(hn) + num(a, 'epsilon')), hn];
  }),
  Momentum: optimizer(3, (a, [x, g, v]) => {
    const gr = num(a, 'norm_coefficient') * x! + g!;
    const vn = num(a, 'alpha') * v! + (num(a, 't') > 0 ? num(a, 'beta') : 1) * gr;
    return [x! - num(a, 'r') * (a.mode === 'nesterov' ? gr + num(a, 'alpha') * vn : vn), vn];
  }),
  Adam: optimizer(4, (a, [x, g, v, h]) => {
    const [alpha, beta, t] = [num(a, 'alpha'), num(a, 'beta'), num(a, 't')];
    const gr = num(a, 'norm_coefficient') * x! + g!;
    const vn = alpha * v! + (1 - alpha) * gr;
    const hn = beta * h! + (1 - beta) * gr * gr;
    const r = t > 0 ? (num(a, 'r') * Math.sqrt(1 - beta ** t)) / (1 - alpha ** t) : num(a, 'r');
    return [(1 - num(a, 'norm_coefficient_post')) * (x! - (r * vn) / (Math.sqrt(hn) + num(a, 'epsilon'))), vn, hn];
  }),
};
