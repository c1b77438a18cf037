// Classic ML ops: TfIdfVectorizer (ai.onnx), Binarizer, ArrayFeatureExtractor and
// TreeEnsemble (ai.onnx.ml), Adagrad, Momentum and Adam (ai.onnx.preview.training),
// with @mx/backend-cpu's semantics. Core's rules checked every shape and table and
// folded what the kernels read (see packages/core's ops/ml.ts):
//   TfIdfVectorizer: the counted n-grams (`gram_sizes`, `gram_items`,
//     `gram_outputs`). Per row, for each skip distance d = 1..max_skip_count + 1
//     and start s, the items x[s], x[s + d], ... of L = 1..max_gram_length are
//     matched while they are a prefix of a counted gram; each L >= min_gram_length
//     (>= 2 when d > 1: unigrams count once) that is a whole gram adds 1 at that
//     gram's output position (the last of repeated grams). Mode TF gives the
//     counts, IDF the weight (or 1) where counted, TFIDF count * weight. One block
//     per row; the (d, s) pairs are spread over its threads and add into Y with
//     atomics (exact: the counts are small integers), then the block applies the mode.
//   Binarizer: y = x > threshold ? 1 : 0 (compared in double).
//   ArrayFeatureExtractor: Z[o, j] = X[o, Y[j]] over X viewed as [outer, features];
//     an index outside [0, features) fails before anything is written (the check
//     reads one flag back, as Gather's).
//   TreeEnsemble: one thread per row walks each tree from its root (a root whose
//     branches are the same leaf is that leaf) to a leaf, whose weight goes to its
//     target: summed, averaged (each weight / trees), or min / max starting from the
//     dtype's largest finite magnitude (onnx's reference). A branch is true for
//     x <= split, <, >=, >, ==, != (modes 0-5) or x in the node's membership list
//     (mode 6), and for NaN where missing values track true. Computes in double,
//     in tree order per row (scratch of rows x targets), then rounds to Y's dtype
//     (16-bit floats through float, as on the cpu).
//   Adagrad / Momentum / Adam: R and T arrive as attrs `r` and `t`; the inputs
//     after them are the lists X..., G..., then the states; the outputs X_new...,
//     then the new states. Elementwise in double with the op docs' update rules;
//     the step's scalars are computed on the host.
#include <cfloat>
#include <cstring>
#include <vector>

#include "elementwise.cuh"

namespace mxcuda {
namespace {

// Packs host arrays into one scratch allocation, 8-byte aligned each.
struct Pack {
  std::vector<char> bytes;
  size_t end() const { return (bytes.size() + 7) / 8 * 8; }
  template <class T> size_t add(const T* p, size_t n) {
    const size_t at = end();
    bytes.resize(at + n * sizeof(T));
    if (n) std::memcpy(bytes.data() + at, p, n * sizeof(T));
    return at;
  }
  // Uploads into *dev (scratch, freed by the caller with scratch_free).
  int upload_to(mx_kernel_ctx* ctx, const char* op, char** dev) {
    if (int st = scratch_alloc(ctx, op, bytes.size(), (void**)dev)) return st;
    return upload(ctx, op, *dev, bytes.data(), bytes.size());
  }
};

// ---- TfIdfVectorizer
struct Grams {
  int64_t count, size;  // grams, output positions
  const int64_t *len, *start, *out, *items;
  const double* weights;  // null: 1
  int64_t min_n, max_n, max_d;
  int mode;  // 0 TF, 1 IDF, 2 TFIDF
};
template <class T> __global__ void k_tfidf(const T* __restrict__ x, int64_t rows, int64_t cols, Grams g, float* __restrict__ y) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * cols;
    float* yr = y + r * g.size;
    for (int64_t o = threadIdx.x; o < g.size; o += blockDim.x) yr[o] = 0;
    __syncthreads();
    for (int64_t t = threadIdx.x; t < g.max_d * cols; t += blockDim.x) {
      const int64_t d = t / cols + 1, s = t % cols;
      const int64_t min_n = d > 1 && g.min_n < 2 ? 2 : g.min_n;
      for (int64_t L = 1; L <= g.max_n && s + (L - 1) * d < cols; L++) {
        bool prefix = false;
        int64_t out = -1;
        for (int64_t k = 0; k < g.count; k++) {
          if (g.len[k] < L) continue;
          const int64_t* it = g.items + g.start[k];
          int64_t j = 0;
          while (j < L && it[j] == (int64_t)xr[s + j * d]) j++;
          if (j < L) continue;
          prefix = true;
          if (g.len[k] == L) out = g.out[k];
        }
        if (!prefix) break;
        if (L >= min_n && out >= 0) atomicAdd(&yr[out], 1.0f);
      }
    }
    __syncthreads();
    for (int64_t o = threadIdx.x; o < g.size; o += blockDim.x) {
      const double c = yr[o], w = g.weights ? g.weights[o] : 1.0;
      yr[o] = (float)(g.mode == 0 ? c : g.mode == 1 ? (c > 0 ? w : 0.0) : c * w);
    }
    __syncthreads();
  }
}
template <class T> int tfidf_vectorizer(mx_kernel_ctx* ctx) {
  const mx_attrs* a = ctx->attrs;
  const int64_t *len, *items, *outs;
  const int32_t count = mx_attr_ints(a, "gram_sizes", &len);
  const int32_t n_items = mx_attr_ints(a, "gram_items", &items);
  if (mx_attr_ints(a, "gram_outputs", &outs) != count)
    return mx_fail(ctx, MX_ERR_INVALID, "TfIdfVectorizer: %d gram sizes but a different number of gram outputs", count);
  const double* w;
  const int32_t n_w = attr_numbers(a, "weights", &w);
  Grams g{};
  g.count = count;
  g.size = mx_attr_int(a, "output_size", 1);
  g.min_n = mx_attr_int(a, "min_gram_length", 1);
  g.max_n = mx_attr_int(a, "max_gram_length", 1);
  g.max_d = g.max_n < 2 ? 1 : mx_attr_int(a, "max_skip_count", 0) + 1;  // unigrams only: the skips change nothing
  const char* mode = mx_attr_string(a, "mode", "TF");
  g.mode = std::strcmp(mode, "TF") == 0 ? 0 : std::strcmp(mode, "IDF") == 0 ? 1 : 2;
  std::vector<int64_t> start(count);
  int64_t at = 0;
  for (int32_t k = 0; k < count; k++) {
    if (len[k] < 1 || outs[k] < 0 || outs[k] >= g.size)
      return mx_fail(ctx, MX_ERR_INVALID, "TfIdfVectorizer: gram %d has size %lld, output %lld of %lld", k, (long long)len[k], (long long)outs[k],
                     (long long)g.size);
    start[k] = at;
    at += len[k];
  }
  if (at != n_items) return mx_fail(ctx, MX_ERR_INVALID, "TfIdfVectorizer: gram sizes add up to %lld, gram_items has %d", (long long)at, n_items);
  if (n_w && n_w != g.size) return mx_fail(ctx, MX_ERR_INVALID, "TfIdfVectorizer: %d weights for %lld outputs", n_w, (long long)g.size);
  const mx_tensor &x = ctx->inputs[0], &y = ctx->outputs[0];
  const int64_t rows = g.size > 0 ? numel(y) / g.size : 0, cols = x.ndim ? x.shape[x.ndim - 1] : 1;
  if (rows == 0) return MX_OK;
  Pack p;
  const size_t o_len = p.add(len, count), o_start = p.add(start.data(), count), o_out = p.add(outs, count), o_items = p.add(items, n_items);
  const size_t o_w = p.add(w, n_w);
  char* dev;
  int st = p.upload_to(ctx, "TfIdfVectorizer", &dev);
  if (st == MX_OK) {
    g.len = (const int64_t*)(dev + o_len), g.start = (const int64_t*)(dev + o_start), g.out = (const int64_t*)(dev + o_out);
    g.items = (const int64_t*)(dev + o_items), g.weights = n_w ? (const double*)(dev + o_w) : nullptr;
    const unsigned blocks = (unsigned)(rows < 65535 ? rows : 65535);
    k_tfidf<T><<<blocks, threads_for(g.max_d * cols), 0, stream_of(ctx)>>>((const T*)x.data, rows, cols, g, (float*)y.data);
  }
  const int freed = scratch_free(ctx, "TfIdfVectorizer", dev);
  return st != MX_OK ? st : freed;
}

// ---- Binarizer (elementwise.cuh's unary template)
struct op_binarize {
  double threshold;
  explicit op_binarize(const mx_attrs* at) : threshold(mx_attr_float(at, "threshold", 0)) {}
  template <class C> __device__ __forceinline__ C operator()(C x) const { return (double)x > threshold ? C(1) : C(0); }
};

// ---- ArrayFeatureExtractor
struct FeatureOutside {
  int64_t n;
  __device__ __forceinline__ bool operator()(int64_t, int64_t k) const { return k < 0 || k >= n; }
};
template <class E>
__global__ void k_features(const E* __restrict__ x, const int64_t* __restrict__ idx, E* __restrict__ z, int64_t n, int64_t k, int64_t total) {
  MXC_GRID_LOOP(i, total) {
    const int64_t o = i / k;
    z[i] = x[o * n + idx[i - o * k]];
  }
}
int array_feature_extractor(mx_kernel_ctx* ctx) {
  const mx_tensor &x = ctx->inputs[0], &ind = ctx->inputs[1], &z = ctx->outputs[0];
  if (x.ndim < 1) return mx_fail(ctx, MX_ERR_INVALID, "ArrayFeatureExtractor: X must have rank >= 1");
  const int64_t n = x.shape[x.ndim - 1], k = numel(ind), total = numel(z);
  const int64_t* idx = (const int64_t*)ind.data;
  int64_t bad, v = 0;
  if (int st = first_bad(ctx, "ArrayFeatureExtractor index check", idx, k, FeatureOutside{n}, &bad, &v)) return st;
  if (bad >= 0)
    return mx_fail(ctx, MX_ERR_INVALID, "ArrayFeatureExtractor: index %lld (at position %lld of Y) is out of range for %lld features", (long long)v,
                   (long long)bad, (long long)n);
  if (!total) return MX_OK;
  return by_size(elem_size(x.dtype), [&](auto e) {
    using E = decltype(e);
    k_features<E><<<blocks_for(total), kThreads, 0, stream_of(ctx)>>>((const E*)x.data, idx, (E*)z.data, n, k, total);
    return MX_OK;
  });
}

// ---- TreeEnsemble
struct TreeNode {
  int64_t feature, yes, no;    // feature index; the true and false successors
  int64_t mstart, mcount;      // mode 6: the membership values
  double split;
  int32_t mode, yes_leaf, no_leaf, nan_true;
};
struct TreeLeaf {
  int64_t target;
  double weight;
};
struct Forest {
  const TreeNode* nodes;
  const TreeLeaf* leaves;
  const int64_t* roots;  // pairs: node, root is a leaf
  const double* members;
  int64_t trees, targets;
  int aggregate;  // 0 AVERAGE, 1 SUM, 2 MIN, 3 MAX
  double init;
};
__device__ __forceinline__ bool branch_true(const TreeNode& nd, const double* members, double v) {
  if (v != v && nd.nan_true) return true;
  switch (nd.mode) {
    case 0: return v <= nd.split;
    case 1: return v < nd.split;
    case 2: return v >= nd.split;
    case 3: return v > nd.split;
    case 4: return v == nd.split;
    case 5: return v != nd.split;
    default:
      for (int64_t m = nd.mstart; m < nd.mstart + nd.mcount; m++)
        if (members[m] == v) return true;
      return false;
  }
}
template <class T>
__global__ void k_tree_ensemble(const T* __restrict__ x, int64_t rows, int64_t cols, Forest f, double* __restrict__ acc, T* __restrict__ y) {
  MXC_GRID_LOOP(r, rows) {
    double* a = acc + r * f.targets;
    for (int64_t k = 0; k < f.targets; k++) a[k] = f.init;
    for (int64_t t = 0; t < f.trees; t++) {
      int64_t node = f.roots[2 * t], leaf = f.nodes[node].yes;
      if (!f.roots[2 * t + 1])
        for (;;) {
          const TreeNode& nd = f.nodes[node];
          const bool yes = branch_true(nd, f.members, (double)up(x[r * cols + nd.feature]));
          const int64_t next = yes ? nd.yes : nd.no;
          if (yes ? nd.yes_leaf : nd.no_leaf) {
            leaf = next;
            break;
          }
          node = next;
        }
      double& d = a[f.leaves[leaf].target];
      const double w = f.leaves[leaf].weight;
      d = f.aggregate == 2 ? fmin(d, w) : f.aggregate == 3 ? fmax(d, w) : d + (f.aggregate == 0 ? w / (double)f.trees : w);
    }
    for (int64_t k = 0; k < f.targets; k++) y[r * f.targets + k] = convert<T>((ct<T>)a[k]);
  }
}
template <class T> int tree_ensemble(mx_kernel_ctx* ctx) {
  const mx_attrs* a = ctx->attrs;
  const int64_t *modes, *feat, *yes, *no, *yes_leaf, *no_leaf, *targets, *roots, *root_leaf, *mstart, *mcount, *tracks;
  const int32_t n = mx_attr_ints(a, "nodes_modes", &modes);
  const int32_t n_tracks = mx_attr_ints(a, "nodes_missing_value_tracks_true", &tracks);
  const int32_t n_roots = mx_attr_ints(a, "tree_roots", &roots);
  const int32_t n_targets_of = mx_attr_ints(a, "leaf_targetids", &targets);
  const double *splits, *weights, *members;
  const int32_t n_leaves = attr_numbers(a, "leaf_weights", &weights);
  const int32_t n_members = attr_numbers(a, "membership_values", &members);
  if (mx_attr_ints(a, "nodes_featureids", &feat) != n || mx_attr_ints(a, "nodes_truenodeids", &yes) != n ||
      mx_attr_ints(a, "nodes_falsenodeids", &no) != n || mx_attr_ints(a, "nodes_trueleafs", &yes_leaf) != n ||
      mx_attr_ints(a, "nodes_falseleafs", &no_leaf) != n || attr_numbers(a, "nodes_splits", &splits) != n ||
      mx_attr_ints(a, "member_start", &mstart) != n || mx_attr_ints(a, "member_count", &mcount) != n ||
      mx_attr_ints(a, "root_is_leaf", &root_leaf) != n_roots || n_targets_of != n_leaves)
    return mx_fail(ctx, MX_ERR_INVALID, "TreeEnsemble: the node, leaf and root tables (%d nodes, %d leaves, %d trees) differ in length", n,
                   n_leaves, n_roots);
  const mx_tensor &xt = ctx->inputs[0], &yt = ctx->outputs[0];
  if (xt.ndim != 2 || yt.ndim != 2 || yt.shape[0] != xt.shape[0])
    return mx_fail(ctx, MX_ERR_INVALID, "TreeEnsemble: X must be [N, features] and Y [N, targets] (ranks %d, %d)", xt.ndim, yt.ndim);
  const int64_t rows = xt.shape[0];
  Forest f{};
  f.trees = n_roots;
  f.targets = yt.shape[1];
  f.aggregate = (int)mx_attr_int(a, "aggregate_function", 1);
  const double big = std::is_same<T, double>::value ? DBL_MAX : std::is_same<T, float>::value ? (double)FLT_MAX : 65504.0;
  f.init = f.aggregate == 2 ? big : f.aggregate == 3 ? -big : 0;
  // core's rule bounds every node, leaf, root and feature id; the walk relies on it
  std::vector<TreeNode> nodes(n);
  for (int32_t i = 0; i < n; i++)
    nodes[i] = TreeNode{feat[i], yes[i], no[i], mstart[i], mcount[i], splits[i], (int32_t)modes[i], (int32_t)(yes_leaf[i] != 0),
                        (int32_t)(no_leaf[i] != 0), (int32_t)(i < n_tracks && tracks[i] != 0)};
  std::vector<TreeLeaf> leaves(n_leaves);
  for (int32_t i = 0; i < n_leaves; i++) leaves[i] = TreeLeaf{targets[i], weights[i]};
  std::vector<int64_t> rt(2 * (size_t)n_roots);
  for (int32_t i = 0; i < n_roots; i++) rt[2 * i] = roots[i], rt[2 * i + 1] = root_leaf[i];
  if (!rows || !f.targets) return MX_OK;
  Pack p;
  const size_t o_nodes = p.add(nodes.data(), nodes.size()), o_leaves = p.add(leaves.data(), leaves.size()), o_roots = p.add(rt.data(), rt.size());
  const size_t o_members = p.add(members, n_members), o_acc = p.end();  // then the accumulators (not uploaded)
  char* dev;
  int st = scratch_alloc(ctx, "TreeEnsemble", o_acc + (size_t)(rows * f.targets) * sizeof(double), (void**)&dev);
  if (st == MX_OK) st = upload(ctx, "TreeEnsemble", dev, p.bytes.data(), o_acc);
  if (st == MX_OK) {
    f.nodes = (const TreeNode*)(dev + o_nodes), f.leaves = (const TreeLeaf*)(dev + o_leaves), f.roots = (const int64_t*)(dev + o_roots);
    f.members = (const double*)(dev + o_members);
    k_tree_ensemble<T><<<blocks_for(rows), kThreads, 0, stream_of(ctx)>>>((const T*)xt.data, rows, xt.shape[1], f, (double*)(dev + o_acc),
                                                                         (T*)yt.data);
  }
  const int freed = scratch_free(ctx, "TreeEnsemble", dev);
  return st != MX_OK ? st : freed;
}

// ---- the optimizers: one launch per optimized tensor j over its L lists
template <int L> struct Lists {
  const void* in[L];   // X, G, states
  void* out[L - 1];    // X_new, new states
};
template <class T, int L, class Step> __global__ void k_optimizer(Lists<L> p, Step step, int64_t n) {
  MXC_GRID_LOOP(e, n) {
    double v[L];
    for (int l = 0; l < L; l++) v[l] = static_cast<const T*>(p.in[l])[e];
    step(v);  // v[0]: X_new, v[2...]: the new states
    static_cast<T*>(p.out[0])[e] = (T)v[0];
    for (int l = 1; l < L - 1; l++) static_cast<T*>(p.out[l])[e] = (T)v[l + 1];
  }
}
template <class T, int L, class Step> int optimizer(mx_kernel_ctx* ctx, const char* op, Step step) {
  const int32_t n = (ctx->num_inputs - 2) / L;
  if (n < 1 || ctx->num_inputs != 2 + L * n || ctx->num_outputs != (L - 1) * n)
    return mx_fail(ctx, MX_ERR_INVALID, "%s: %d inputs and %d outputs are not R, T and %d lists of equal length", op, ctx->num_inputs, ctx->num_outputs, L);
  for (int32_t j = 0; j < n; j++) {
    Lists<L> p;
    for (int l = 0; l < L; l++) p.in[l] = ctx->inputs[2 + l * n + j].data;
    for (int l = 0; l < L - 1; l++) p.out[l] = ctx->outputs[l * n + j].data;
    const int64_t size = numel(ctx->outputs[j]);
    if (size) k_optimizer<T, L, Step><<<blocks_for(size), kThreads, 0, stream_of(ctx)>>>(p, step, size);
  }
  return MX_OK;
}

struct AdagradStep {  // v: X, G, H
  double r, eps, norm;
  __device__ __forceinline__ void operator()(double* v) const {
    const double g = norm * v[0] + v[1];
    v[2] += g * g;
    v[0] -= r * g / (sqrt(v[2]) + eps);
  }
};
template <class T> int adagrad(mx_kernel_ctx* ctx) {
  const mx_attrs* a = ctx->attrs;
  const double r = mx_attr_float(a, "r", 0) / (1 + mx_attr_float(a, "t", 0) * mx_attr_float(a, "decay_factor", 0));
  return optimizer<T, 3>(ctx, "Adagrad", AdagradStep{r, mx_attr_float(a, "epsilon", 0), mx_attr_float(a, "norm_coefficient", 0)});
}

struct MomentumStep {  // v: X, G, V
  double r, alpha, beta, norm;
  bool nesterov;
  __device__ __forceinline__ void operator()(double* v) const {
    const double g = norm * v[0] + v[1];
    v[2] = alpha * v[2] + beta * g;
    v[0] -= r * (nesterov ? g + alpha * v[2] : v[2]);
  }
};
template <class T> int momentum(mx_kernel_ctx* ctx) {
  const mx_attrs* a = ctx->attrs;
  const double beta = mx_attr_float(a, "t", 0) > 0 ? mx_attr_float(a, "beta", 0) : 1.0;  // the first step takes G whole
  return optimizer<T, 3>(ctx, "Momentum",
                         MomentumStep{mx_attr_float(a, "r", 0), mx_attr_float(a, "alpha", 0), beta, mx_attr_float(a, "norm_coefficient", 0),
                                      std::strcmp(mx_attr_string(a, "mode", "standard"), "nesterov") == 0});
}

struct AdamStep {  // v: X, G, V, H
  double r, alpha, beta, eps, norm, post;
  __device__ __forceinline__ void operator()(double* v) const {
    const double g = norm * v[0] + v[1];
    v[2] = alpha * v[2] + (1 - alpha) * g;
    v[3] = beta * v[3] + (1 - beta) * g * g;
    v[0] = (1 - post) * (v[0] - r * v[2] / (sqrt(v[3]) + eps));
  }
};
template <class T> int adam(mx_kernel_ctx* ctx) {
  const mx_attrs* a = ctx->attrs;
  const double alpha = mx_attr_float(a, "alpha", 0.9), beta = mx_attr_float(a, "beta", 0.999), t = mx_attr_float(a, "t", 0);
  const double r0 = mx_attr_float(a, "r", 0);
  const double r = t > 0 ? r0 * std::sqrt(1 - std::pow(beta, t)) / (1 - std::pow(alpha, t)) : r0;  // bias correction
  return optimizer<T, 4>(ctx, "Adam",
                         AdamStep{r, alpha, beta, mx_attr_float(a, "epsilon", 0), mx_attr_float(a, "norm_coefficient", 0),
                                  mx_attr_float(a, "norm_coefficient_post", 0)});
}

}  // namespace
}  // namespace mxcuda

using namespace mxcuda;

MXC_KERNEL("TfIdfVectorizer", "int32", tfidf_vectorizer<int32_t>);
MXC_KERNEL("TfIdfVectorizer", "int64", tfidf_vectorizer<int64_t>);
#define REG_ML(op, key, fn) MXC_KERNEL_DOMAIN(op, "ai.onnx.ml", key, fn);
#define REG_ML_TYPED(T, key)                                                                                  \
  REG_ML("Binarizer", key, (unary<op_binarize, T>)) REG_ML("ArrayFeatureExtractor", key, array_feature_extractor)
REG_ML_TYPED(float, "float32") REG_ML_TYPED(double, "float64") REG_ML_TYPED(int32_t, "int32") REG_ML_TYPED(int64_t, "int64")
REG_ML("TreeEnsemble", "float32", tree_ensemble<float>) REG_ML("TreeEnsemble", "float64", tree_ensemble<double>)
REG_ML("TreeEnsemble", "float16", tree_ensemble<f16>)
#define REG_TRAINING(T, key, op, fn) MXC_KERNEL_DOMAIN(op, "ai.onnx.preview.training", key, (fn<T>));
#define REG_OPTIMIZERS(T, key, ...) REG_TRAINING(T, key, "Adagrad", adagrad) REG_TRAINING(T, key, "Momentum", momentum) REG_TRAINING(T, key, "Adam", adam)
REG_OPTIMIZERS(float, "float32") REG_OPTIMIZERS(double, "float64")
