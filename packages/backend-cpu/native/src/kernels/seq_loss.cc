// NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss over input [N, C, d...]
// and target [N, d...] (D = the product of the d dims):
//   loss[n, d] = -logp[n, t, d] * w[t] for t = target[n, d] (w = 1 without
//   weights); 0 where t is ignore_index. reduction 'none' returns loss, 'sum' its
//   sum, 'mean' the sum over the sum of w[t] of the entries not ignored (NaN
//   when every entry is ignored, as in ONNX's reference).
// NLL reads logp = input; SCE computes logp = LogSoftmax(scores, axis 1) with the
// LogSoftmax kernel, into its log_prob output when asked for. Sums run in double.
// A target outside [0, C) other than ignore_index fails. 16-bit floats run in float32.
#include <cstring>
#include <memory>
#include <new>
#include <type_traits>

#include "seq_common.h"

namespace mxcpu {
namespace {

template <class T> int nll_from(mx_kernel_ctx* ctx, const T* logp, const char* op) {
  const mx_tensor &X = ctx->inputs[0], &Tg = ctx->inputs[1];
  const T* w = ctx->num_inputs > 2 ? static_cast<const T*>(ctx->inputs[2].data) : nullptr;
  const int64_t N = X.shape[0], C = X.shape[1], D = N * C == 0 ? 0 : numel(X) / (N * C);
  const bool has_ii = mx_attr_find(ctx->attrs, "ignore_index") != nullptr;
  const int64_t ii = mx_attr_int(ctx->attrs, "ignore_index", 0);
  const char* reduction = mx_attr_string(ctx->attrs, "reduction", "mean");
  T* out = static_cast<T*>(ctx->outputs[0].data);
  int status = MX_OK;
  seq::dispatch_among<int32_t, int64_t>(Tg.dtype, [&](auto ti) {
    using I = decltype(ti);
    const I* t = static_cast<const I*>(Tg.data);
    for (int64_t k = 0; k < N * D; k++)
      if (!(has_ii && t[k] == ii) && (t[k] < 0 || t[k] >= C)) {
        status = mx_fail(ctx, MX_ERR_INVALID, "%s: target %lld is out of range [0, %lld)", op, (long long)t[k], (long long)C);
        return;
      }
    // Entry k's loss; its weight into *weight (0 when ignored).
    const auto term = [&](int64_t k, double* weight) {
      const int64_t c = (int64_t)t[k];
      *weight = has_ii && c == ii ? 0.0 : w ? (double)w[c] : 1.0;
      return *weight == 0.0 ? 0.0 : -(double)logp[(k / D * C + c) * D + k % D] * *weight;
    };
    if (std::strcmp(reduction, "none") == 0) {
      parallel_for(ctx->pool, N * D, 1 << 14, [&](int64_t b, int64_t e) {
        double wk;
        for (int64_t k = b; k < e; k++) out[k] = T(term(k, &wk));
      });
      return;
    }
    double sum = 0, wsum = 0, wk;
    for (int64_t k = 0; k < N * D; k++) {
      sum += term(k, &wk);
      wsum += wk;
    }
    out[0] = T(std::strcmp(reduction, "mean") == 0 ? sum / wsum : sum);
  });
  return status;
}

template <class T> int nll(mx_kernel_ctx* ctx) { return nll_from(ctx, static_cast<const T*>(ctx->inputs[0].data), "NegativeLogLikelihoodLoss"); }

template <class T> int sce(mx_kernel_ctx* ctx) {
  const mx_tensor& X = ctx->inputs[0];
  std::unique_ptr<T[]> tmp;
  T* logp = ctx->num_outputs > 1 ? static_cast<T*>(ctx->outputs[1].data) : nullptr;
  if (!logp) {
    tmp.reset(new (std::nothrow) T[std::max<int64_t>(1, numel(X))]);
    if (!tmp) return fail_oom(ctx, "SoftmaxCrossEntropyLoss");
    logp = tmp.get();
  }
  mx_attr axis{};
  axis.name = "axis";
  axis.type = MX_ATTR_INT;
  axis.i = 1;
  const mx_attrs attrs{1, &axis};
  const mx_tensor lp = seq::like(X, logp, X.dtype);
  if (int st = seq::run_kernel(ctx, "LogSoftmax", std::is_same_v<T, float> ? "float32" : "float64", &X, 1, &lp, 1, &attrs)) return st;
  return nll_from(ctx, static_cast<const T*>(logp), "SoftmaxCrossEntropyLoss");
}

int nll_half(mx_kernel_ctx* ctx) { return run_widened(ctx, nll<float>); }
int sce_half(mx_kernel_ctx* ctx) { return run_widened(ctx, sce<float>); }

}  // namespace

#define MXCPU_REG_LOSS(op, fn32, fn64, fn16)                                 \
  MXCPU_SEQ_KERNELS(op, fn32, {"float32"}, {"int32", "int64"});             \
  MXCPU_SEQ_KERNELS(op, fn64, {"float64"}, {"int32", "int64"});             \
  MXCPU_SEQ_KERNELS(op, fn16, {"float16", "bfloat16"}, {"int32", "int64"});
MXCPU_REG_LOSS("NegativeLogLikelihoodLoss", nll<float>, nll<double>, nll_half)
MXCPU_REG_LOSS("SoftmaxCrossEntropyLoss", sce<float>, sce<double>, sce_half)

}  // namespace mxcpu
