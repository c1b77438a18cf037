// The linear-attention blocks of Gated DeltaNet and Mamba models.
//
// CausalConvWithState: per (batch, channel), seq = [past_state (zeros when
// absent), input] of length K - 1 + L; y_t = act(bias + sum_j w_j seq_{t+j}) with
// act SiLU (x sigmoid(x)) for activation 'silu'/'swish'; present_state is seq's
// last K - 1 positions. Rows run in parallel.
//
// LinearAttention: per (batch, kv head) a state S [dk, dv] (past_state or zeros)
// runs over the steps t: S *= exp(g_t) (per key row, or one g per head) when
// decay is given; then for the delta rules S += k_t (beta_t (v_t - S^T k_t))^T,
// otherwise S += k_t v_t^T; each query head of the group (h * group + i) reads
// o_t = scale * S^T q_t. Core resolved the head counts, scale, and the layouts of
// decay (`decay_per_row`) and beta (`beta_per_head`, else one per step).
// Heads run in parallel. 16-bit floats compute in float32, results rounded once.
#include <cmath>
#include <vector>

#include "seq_common.h"

namespace mxcpu {
namespace {

template <class T> int causal_conv_with_state(mx_kernel_ctx* ctx) {
  using C = std::conditional_t<std::is_same_v<T, double>, double, float>;
  const mx_tensor &X = ctx->inputs[0], &W = ctx->inputs[1];
  const auto opt = [&](int i) { return i < ctx->num_inputs && ctx->inputs[i].data ? static_cast<const T*>(ctx->inputs[i].data) : nullptr; };
  const T *bias = opt(2), *past = opt(3);
  const int64_t B = X.shape[0], Ch = X.shape[1], L = X.shape[2], K = W.shape[2], S = K - 1;
  const bool silu = std::strcmp(mx_attr_string(ctx->attrs, "activation", "none"), "none") != 0;
  const T* x = static_cast<const T*>(X.data);
  const T* w = static_cast<const T*>(W.data);
  T* y = static_cast<T*>(ctx->outputs[0].data);
  T* present = ctx->num_outputs > 1 ? static_cast<T*>(ctx->outputs[1].data) : nullptr;
  parallel_for(ctx->pool, B * Ch, 16, [&](int64_t b, int64_t e) {
    std::vector<C> seq(size_t(S + L));
    for (int64_t r = b; r < e; r++) {
      const int64_t c = r % Ch;
      for (int64_t j = 0; j < S; j++) seq[size_t(j)] = past ? C(load(past[r * S + j])) : C(0);
      for (int64_t t = 0; t < L; t++) seq[size_t(S + t)] = C(load(x[r * L + t]));
      for (int64_t t = 0; t < L; t++) {
        C s = bias ? C(load(bias[c])) : C(0);
        for (int64_t j = 0; j < K; j++) s += C(load(w[c * K + j])) * seq[size_t(t + j)];
        y[r * L + t] = store<T>(silu ? s / (C(1) + std::exp(-s)) : s);
      }
      if (present)
        for (int64_t j = 0; j < S; j++) present[r * S + j] = store<T>(seq[size_t(L + j)]);
    }
  });
  return MX_OK;
}

template <class T> int linear_attention(mx_kernel_ctx* ctx) {
  using C = std::conditional_t<std::is_same_v<T, double>, double, float>;
  const mx_tensor &Q = ctx->inputs[0], &V = ctx->inputs[2];
  const auto opt = [&](int i) { return i < ctx->num_inputs && ctx->inputs[i].data ? static_cast<const T*>(ctx->inputs[i].data) : nullptr; };
  const T *q = opt(0), *k = opt(1), *v = opt(2), *past = opt(3), *decay = opt(4), *beta = opt(5);
  const mx_attrs* at = ctx->attrs;
  const int64_t Hq = mx_attr_int(at, "q_num_heads", 1), Hkv = mx_attr_int(at, "kv_num_heads", 1), group = Hq / Hkv;
  const int64_t B = Q.shape[0], Tn = Q.shape[1], dk = Q.shape[2] / Hq, dv = V.shape[2] / Hkv;
  const C scale = C(mx_attr_float(at, "scale", 1));
  const bool per_row = mx_attr_int(at, "decay_per_row", 0) != 0, beta_per_head = mx_attr_int(at, "beta_per_head", 0) != 0;
  const bool delta = beta != nullptr;
  T* out = static_cast<T*>(ctx->outputs[0].data);
  T* present = ctx->num_outputs > 1 ? static_cast<T*>(ctx->outputs[1].data) : nullptr;
  parallel_for(ctx->pool, B * Hkv, 1, [&](int64_t b0, int64_t e0) {
    std::vector<C> S(static_cast<size_t>(dk * dv)), kt(static_cast<size_t>(dk));
    for (int64_t bh = b0; bh < e0; bh++) {
      const int64_t bi = bh / Hkv, h = bh % Hkv;
      for (int64_t i = 0; i < dk * dv; i++) S[size_t(i)] = past ? C(load(past[bh * dk * dv + i])) : C(0);
      for (int64_t t = 0; t < Tn; t++) {
        const int64_t row = bi * Tn + t;
        for (int64_t i = 0; i < dk; i++) kt[size_t(i)] = C(load(k[(row * Hkv + h) * dk + i]));
        if (decay)
          for (int64_t i = 0; i < dk; i++) {
            const C g = std::exp(C(load(decay[per_row ? (row * Hkv + h) * dk + i : row * Hkv + h])));
            for (int64_t j = 0; j < dv; j++) S[size_t(i * dv + j)] *= g;
          }
        const C bt = delta ? C(load(beta[beta_per_head ? row * Hkv + h : row])) : C(1);
        for (int64_t j = 0; j < dv; j++) {
          C u = C(load(v[(row * Hkv + h) * dv + j]));
          if (delta) {
            C r = 0;
            for (int64_t i = 0; i < dk; i++) r += S[size_t(i * dv + j)] * kt[size_t(i)];
            u = bt * (u - r);
          }
          for (int64_t i = 0; i < dk; i++) S[size_t(i * dv + j)] += kt[size_t(i)] * u;
        }
        for (int64_t g = 0; g < group; g++) {
          const int64_t qh = h * group + g;
          const T* qv = q + (row * Hq + qh) * dk;
          for (int64_t j = 0; j < dv; j++) {
            C o = 0;
            for (int64_t i = 0; i < dk; i++) o += C(load(qv[i])) * S[size_t(i * dv + j)];
            out[(row * Hq + qh) * dv + j] = store<T>(scale * o);
          }
        }
      }
      if (present)
        for (int64_t i = 0; i < dk * dv; i++) present[bh * dk * dv + i] = store<T>(S[size_t(i)]);
    }
  });
  return MX_OK;
}

}  // namespace
}  // namespace mxcpu

#define REG_LINEAR(T, key, ...)                                                  \
  MX_KERNEL("CausalConvWithState", key, (mxcpu::causal_conv_with_state<T>)); \
  MX_KERNEL("LinearAttention", key, (mxcpu::linear_attention<T>));
REG_LINEAR(float, "float32")
REG_LINEAR(double, "float64")
REG_LINEAR(mxcpu::f16, "float16")
REG_LINEAR(mxcpu::bf16, "bfloat16")
