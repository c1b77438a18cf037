// Classic ML ops: TfIdfVectorizer, ai.onnx.ml and ai.onnx.preview.training. Core's
// rules checked every shape and table, and folded what the kernels read:
// TfIdfVectorizer: the counted n-grams (`gram_sizes`, `gram_items`,
// `gram_outputs`); per row and skip distance d = 1..max_skip_count + 1, from each
// start the items x[s], x[s + d], ... extend a gram while it is a prefix of one of
// them, and each counted gram (>= min_gram_length items) adds 1 at its output
// position; unigrams count at d = 1 only. Then mode TF (counts), IDF (weight or 1
// where counted), TFIDF (count * weight or count).
// Binarizer: y = x > threshold ? 1 : 0.
// ArrayFeatureExtractor: Z[o, j] = X[o, Y[j]] over X viewed as [outer, features];
// an index out of range fails.
// TreeEnsemble: per row, each tree is walked from its root (a root whose both
// branches are the same leaf is that leaf) until a leaf; its weight goes to its
// target, aggregated by sum, average (sum / trees), min or max (these start from
// the dtype's largest finite magnitude, as onnx's reference). A node's branch is
// true for x <op> split (modes 0-5: <=, <, >=, >, ==, !=) or x in its membership
// range (mode 6), and for NaN where missing values track true. Computes in double.
// Adagrad / Momentum / Adam: R and T arrive as attrs `r` and `t`; the inputs after
// them are the lists X..., G..., states...; see the op docs for the update rules.
// Computes in double.
#include <cmath>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "seq_common.h"

namespace mxcpu::ml {
namespace {

using seq::attr_floats;

template <class T> int tfidf_vectorizer(mx_kernel_ctx* ctx) {
  const mx_attrs* a = ctx->attrs;
  const int64_t *sizes, *items, *outs;
  const int32_t n_grams = mx_attr_ints(a, "gram_sizes", &sizes);
  mx_attr_ints(a, "gram_items", &items);
  mx_attr_ints(a, "gram_outputs", &outs);
  const double* w;
  const int32_t n_w = attr_floats(a, "weights", &w);
  const int64_t size = mx_attr_int(a, "output_size", 1), max_n = mx_attr_int(a, "max_gram_length", 1);
  const int64_t max_d = mx_attr_int(a, "max_skip_count", 0) + 1;
  const std::string mode = mx_attr_string(a, "mode", "TF");
  std::map<std::vector<int64_t>, int64_t> full;  // n-gram -> output position (the last one wins)
  std::set<std::vector<int64_t>> prefixes;
  for (int32_t g = 0, at = 0; g < n_grams; at += int32_t(sizes[g]), g++) {
    std::vector<int64_t> gram(items + at, items + at + sizes[g]);
    full[gram] = outs[g];
    for (size_t k = 1; k <= gram.size(); k++) prefixes.insert(std::vector<int64_t>(gram.begin(), gram.begin() + int64_t(k)));
  }
  const mx_tensor &X = ctx->inputs[0], &Y = ctx->outputs[0];
  const int64_t cols = X.ndim ? X.shape[X.ndim - 1] : 1, rows = mx_numel(&Y) / size;
  const T* x = static_cast<const T*>(X.data);
  float* y = static_cast<float*>(Y.data);
  std::vector<double> counts(static_cast<size_t>(rows * size), 0.0);
  std::vector<int64_t> gram;
  for (int64_t r = 0; r < rows; r++) {
    int64_t min_n = mx_attr_int(a, "min_gram_length", 1);
    for (int64_t d = 1; d <= max_d; d++) {
      for (int64_t s = 0; s + d * (min_n - 1) < cols; s++) {
        gram.clear();
        for (int64_t i = s; int64_t(gram.size()) < max_n && i < cols; i += d) {
          gram.push_back(int64_t(x[r * cols + i]));
          if (!prefixes.count(gram)) break;
          const auto hit = full.find(gram);
          if (int64_t(gram.size()) >= min_n && hit != full.end()) counts[size_t(r * size + hit->second)] += 1;
        }
      }
      if (min_n == 1) min_n = 2;  // unigrams do not depend on the skip distance
      if (min_n > max_n) break;
    }
  }
  for (int64_t i = 0; i < rows * size; i++) {
    const double c = counts[size_t(i)], wt = n_w ? w[i % size] : 1.0;
    y[i] = float(mode == "TF" ? c : mode == "IDF" ? (c > 0 ? wt : 0.0) : c * wt);
  }
  return MX_OK;
}

template <class T> int binarizer(mx_kernel_ctx* ctx) {
  const T* x = static_cast<const T*>(ctx->inputs[0].data);
  T* y = static_cast<T*>(ctx->outputs[0].data);
  const double th = mx_attr_float(ctx->attrs, "threshold", 0);
  for (int64_t i = 0, n = mx_numel(&ctx->outputs[0]); i < n; i++) y[i] = double(x[i]) > th ? T(1) : T(0);
  return MX_OK;
}

int array_feature_extractor(mx_kernel_ctx* ctx) {
  const mx_tensor &x = ctx->inputs[0], &ind = ctx->inputs[1], &z = ctx->outputs[0];
  const int64_t n = x.shape[x.ndim - 1], k = mx_numel(&ind);
  const int64_t size = x.dtype == MX_FLOAT64 || x.dtype == MX_INT64 ? 8 : 4;  // the four dtypes core allows
  const int64_t* idx = static_cast<const int64_t*>(ind.data);
  for (int64_t j = 0; j < k; j++)
    if (idx[j] < 0 || idx[j] >= n)
      return mx_fail(ctx, MX_ERR_INVALID, "ArrayFeatureExtractor: index %lld is out of range for %lld features", (long long)idx[j], (long long)n);
  const char* src = static_cast<const char*>(x.data);
  char* dst = static_cast<char*>(z.data);
  for (int64_t o = 0, rows = k ? mx_numel(&z) / k : 0; o < rows; o++)
    for (int64_t j = 0; j < k; j++) std::memcpy(dst + (o * k + j) * size, src + (o * n + idx[j]) * size, size_t(size));
  return MX_OK;
}

template <class T> int tree_ensemble(mx_kernel_ctx* ctx) {
  const mx_attrs* a = ctx->attrs;
  const int64_t *modes, *feat, *tid, *fid, *tleaf, *fleaf, *targets, *roots, *mstart, *mcount, *tracks;
  mx_attr_ints(a, "nodes_modes", &modes);
  mx_attr_ints(a, "nodes_featureids", &feat);
  mx_attr_ints(a, "nodes_truenodeids", &tid);
  mx_attr_ints(a, "nodes_falsenodeids", &fid);
  mx_attr_ints(a, "nodes_trueleafs", &tleaf);
  mx_attr_ints(a, "nodes_falseleafs", &fleaf);
  mx_attr_ints(a, "leaf_targetids", &targets);
  mx_attr_ints(a, "member_start", &mstart);
  mx_attr_ints(a, "member_count", &mcount);
  const int32_t n_tracks = mx_attr_ints(a, "nodes_missing_value_tracks_true", &tracks);
  const int32_t n_roots = mx_attr_ints(a, "tree_roots", &roots);
  const int64_t* root_leaf;
  mx_attr_ints(a, "root_is_leaf", &root_leaf);
  const double *splits, *weights, *members;
  attr_floats(a, "nodes_splits", &splits);
  attr_floats(a, "leaf_weights", &weights);
  attr_floats(a, "membership_values", &members);
  const int64_t agg = mx_attr_int(a, "aggregate_function", 1);
  const mx_tensor &xt = ctx->inputs[0], &yt = ctx->outputs[0];
  const int64_t rows = xt.shape[0], cols = xt.shape[1], nt = yt.shape[1];
  const T* x = static_cast<const T*>(xt.data);
  T* y = static_cast<T*>(yt.data);
  const double big = std::is_same_v<T, double> ? 1.7976931348623157e308 : std::is_same_v<T, float> ? 3.4028234663852886e38 : 65504.0;
  const double init = agg == 2 ? big : agg == 3 ? -big : 0;
  auto branch_true = [&](int64_t i, double v) {
    if (std::isnan(v) && i < n_tracks && tracks[i]) return true;
    const double s = splits[i];
    switch (modes[i]) {
      case 0: return v <= s;
      case 1: return v < s;
      case 2: return v >= s;
      case 3: return v > s;
      case 4: return v == s;
      case 5: return v != s;
      default:
        for (int64_t m = mstart[i]; m < mstart[i] + mcount[i]; m++)
          if (members[m] == v) return true;
        return false;
    }
  };
  parallel_for(ctx->pool, rows, 64, [&](int64_t b, int64_t e) {
    std::vector<double> acc(static_cast<size_t>(nt));
    for (int64_t r = b; r < e; r++) {
      std::fill(acc.begin(), acc.end(), init);
      for (int32_t t = 0; t < n_roots; t++) {
        int64_t node = roots[t], leaf = tid[node];
        if (!root_leaf[t])
          for (;;) {
            const bool yes = branch_true(node, double(load(x[r * cols + feat[node]])));
            const int64_t next = yes ? tid[node] : fid[node];
            if (yes ? tleaf[node] : fleaf[node]) { leaf = next; break; }
            node = next;
          }
        double& d = acc[size_t(targets[leaf])];
        const double w = weights[leaf];
        d = agg == 2 ? std::min(d, w) : agg == 3 ? std::max(d, w) : d + (agg == 0 ? w / n_roots : w);
      }
      for (int64_t k = 0; k < nt; k++) y[r * nt + k] = store<T>(acc[size_t(k)]);
    }
  });
  return MX_OK;
}

// Runs step(v) elementwise over each optimized tensor: v holds one value of each
// list (X, G, states...) on entry and the new X and states on return (v[0] and
// v[2...]); they go to the outputs X_new..., then each state list.
template <int kLists, class T, class F> int optimizer(mx_kernel_ctx* ctx, F step) {
  const int32_t n = (ctx->num_inputs - 2) / kLists;
  for (int32_t j = 0; j < n; j++) {
    const T* in[kLists];
    for (int l = 0; l < kLists; l++) in[l] = static_cast<const T*>(ctx->inputs[2 + l * n + j].data);
    T* out[kLists - 1];
    for (int l = 0; l < kLists - 1; l++) out[l] = static_cast<T*>(ctx->outputs[l * n + j].data);
    for (int64_t e = 0, size = mx_numel(&ctx->outputs[j]); e < size; e++) {
      double v[kLists];
      for (int l = 0; l < kLists; l++) v[l] = double(in[l][e]);
      step(v);
      out[0][e] = T(v[0]);
      for (int l = 1; l < kLists - 1; l++) out[l][e] = T(v[l + 1]);
    }
  }
  return MX_OK;
}

template <class T> int adagrad(mx_kernel_ctx* ctx) {
  const mx_attrs* a = ctx->attrs;
  const double r = mx_attr_float(a, "r", 0) / (1 + mx_attr_float(a, "t", 0) * mx_attr_float(a, "decay_factor", 0));
  const double eps = mx_attr_float(a, "epsilon", 0), norm = mx_attr_float(a, "norm_coefficient", 0);
  return optimizer<3, T>(ctx, [&](double* v) {  // X, G, H
    const double g = norm * v[0] + v[1];
    v[2] += g * g;
    v[0] -= r * g / (std::sqrt(v[2]) + eps);
  });
}

template <class T> int momentum(mx_kernel_ctx* ctx) {
  const mx_attrs* a = ctx->attrs;
  const double r = mx_attr_float(a, "r", 0), alpha = mx_attr_float(a, "alpha", 0), norm = mx_attr_float(a, "norm_coefficient", 0);
  const double beta = mx_attr_float(a, "t", 0) > 0 ? mx_attr_float(a, "beta", 0) : 1.0;
  const bool nesterov = std::strcmp(mx_attr_string(a, "mode", "standard"), "nesterov") == 0;
  return optimizer<3, T>(ctx, [&](double* v) {  // X, G, V
    const double g = norm * v[0] + v[1];
    v[2] = alpha * v[2] + beta * g;
    v[0] -= r * (nesterov ? g + alpha * v[2] : v[2]);
  });
}

template <class T> int adam(mx_kernel_ctx* ctx) {
  const mx_attrs* a = ctx->attrs;
  const double alpha = mx_attr_float(a, "alpha", 0.9), beta = mx_attr_float(a, "beta", 0.999), t = mx_attr_float(a, "t", 0);
  const double eps = mx_attr_float(a, "epsilon", 0), norm = mx_attr_float(a, "norm_coefficient", 0);
  const double post = mx_attr_float(a, "norm_coefficient_post", 0);
  const double r = t > 0 ? mx_attr_float(a, "r", 0) * std::sqrt(1 - std::pow(beta, t)) / (1 - std::pow(alpha, t)) : mx_attr_float(a, "r", 0);
  return optimizer<4, T>(ctx, [&](double* v) {  // X, G, V, H
    const double g = norm * v[0] + v[1];
    v[2] = alpha * v[2] + (1 - alpha) * g;
    v[3] = beta * v[3] + (1 - beta) * g * g;
    v[0] = (1 - post) * (v[0] - r * v[2] / (std::sqrt(v[3]) + eps));
  });
}

}  // namespace
}  // namespace mxcpu::ml

#define MXCPU_ML(op, key, fn) MX_KERNEL_DOMAIN(op, "ai.onnx.ml", key, fn)
#define MXCPU_TRAINING(op, fn)                                                     \
  MX_KERNEL_DOMAIN(op, "ai.onnx.preview.training", "float32", (fn<float>)); \
  MX_KERNEL_DOMAIN(op, "ai.onnx.preview.training", "float64", (fn<double>));
MX_KERNEL("TfIdfVectorizer", "int32", mxcpu::ml::tfidf_vectorizer<int32_t>);
MX_KERNEL("TfIdfVectorizer", "int64", mxcpu::ml::tfidf_vectorizer<int64_t>);
MXCPU_ML("Binarizer", "float32", mxcpu::ml::binarizer<float>);
MXCPU_ML("Binarizer", "float64", mxcpu::ml::binarizer<double>);
MXCPU_ML("Binarizer", "int32", mxcpu::ml::binarizer<int32_t>);
MXCPU_ML("Binarizer", "int64", mxcpu::ml::binarizer<int64_t>);
MXCPU_ML("ArrayFeatureExtractor", "float32", mxcpu::ml::array_feature_extractor);
MXCPU_ML("ArrayFeatureExtractor", "float64", mxcpu::ml::array_feature_extractor);
MXCPU_ML("ArrayFeatureExtractor", "int32", mxcpu::ml::array_feature_extractor);
MXCPU_ML("ArrayFeatureExtractor", "int64", mxcpu::ml::array_feature_extractor);
MXCPU_ML("TreeEnsemble", "float32", mxcpu::ml::tree_ensemble<float>);
MXCPU_ML("TreeEnsemble", "float64", mxcpu::ml::tree_ensemble<double>);
MXCPU_ML("TreeEnsemble", "float16", mxcpu::ml::tree_ensemble<mxcpu::f16>);
MXCPU_TRAINING("Adagrad", mxcpu::ml::adagrad)
MXCPU_TRAINING("Momentum", mxcpu::ml::momentum)
MXCPU_TRAINING("Adam", mxcpu::ml::adam)
