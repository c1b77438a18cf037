// Attention and RotaryEmbedding.
//
// Attention: per batch b, query head h (kv head h / (q_heads / kv_heads)) and
// query row i, over the keys j of [past_key; K] (total = past + kv_seq):
//   s_j = scale * q_i . k_j, then cap * tanh(s_j / cap) when softcap > 0,
//   z_j = s_j + mask[.., i, j] (-inf for j past the mask's width; a bool mask
//   adds 0 where true, -inf where false), -inf where
//   is_causal and j > i + offset, or where j >= nonpad_kv_seqlen[b],
//   Y_i = softmax(z)_j v_j.
// offset is the past length, or nonpad_kv_seqlen[b] - q_seq when there is no past.
// Q, K, V are 4-D [batch, heads, seq, size] or 3-D [batch, seq, heads * size];
// the mask broadcasts (right-aligned) to [batch, q_heads, q_seq, total]. Core
// resolved the head counts and scale. Optional outputs: present_key/value
// ([batch, kv_heads, total, size]) and qk_matmul_output, the scores after
// softcap (modes 0 and 1), after the mask (2) or after the softmax (3). A row
// with every key masked is NaN, as in ONNX's reference.
// Each (batch, head) pair is two GEMMs: scores = Q K^T and Y = P V, split where
// the past ends; pairs run in parallel. 16-bit floats run in float32.
//
// RotaryEmbedding: for each head's first rotary_embedding_dim features, pairs
// (x1, x2) = (j, j + dim/2) (or (2j, 2j + 1) when interleaved) become
// (x1 cos - x2 sin, x1 sin + x2 cos) with cos/sin from the caches' row
// position_ids[b, s] (or row (b, s) of [batch, seq, dim/2] caches).
#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>

#include "seq_common.h"

namespace mxcpu {
namespace {

template <class T> int attention(mx_kernel_ctx* ctx) {
  const mx_tensor &Q = ctx->inputs[0], &K = ctx->inputs[1], &V = ctx->inputs[2];
  const auto opt = [&](int i) { return i < ctx->num_inputs && ctx->inputs[i].data ? &ctx->inputs[i] : nullptr; };
  const mx_tensor *M = opt(3), *PK = opt(4), *PV = opt(5), *NP = opt(6);
  const mx_attrs* at = ctx->attrs;
  const int64_t Hq = mx_attr_int(at, "q_num_heads", 1), Hkv = mx_attr_int(at, "kv_num_heads", 1);
  const T scale = T(mx_attr_float(at, "scale", 1)), cap = T(mx_attr_float(at, "softcap", 0));
  const bool causal = mx_attr_int(at, "is_causal", 0) != 0;
  const int64_t mode = mx_attr_int(at, "qk_matmul_output_mode", 0);
  const bool four = Q.ndim == 4;
  const int64_t B = Q.shape[0], Sq = Q.shape[four ? 2 : 1], Skv = K.shape[four ? 2 : 1];
  const int64_t D = four ? Q.shape[3] : Q.shape[2] / Hq, Dv = four ? V.shape[3] : V.shape[2] / Hkv;
  const int64_t P = PK ? PK->shape[2] : 0, Tk = P + Skv, group = Hq / Hkv;
  const T *q = static_cast<const T*>(Q.data), *k = static_cast<const T*>(K.data), *v = static_cast<const T*>(V.data);
  const T *pk = PK ? static_cast<const T*>(PK->data) : nullptr, *pv = PV ? static_cast<const T*>(PV->data) : nullptr;
  // an additive mask of T, or a bool mask (true takes part: +0, false: -inf)
  const T* mask = M && M->dtype != MX_BOOL ? static_cast<const T*>(M->data) : nullptr;
  const bool* bmask = M && M->dtype == MX_BOOL ? static_cast<const bool*>(M->data) : nullptr;
  const int64_t* nonpad = NP ? static_cast<const int64_t*>(NP->data) : nullptr;
  T* y = static_cast<T*>(ctx->outputs[0].data);
  T* qk = ctx->num_outputs > 3 ? static_cast<T*>(ctx->outputs[3].data) : nullptr;

  // Mask strides per [batch, q_heads, q_seq] index (0 where broadcast); the last dim is the keys.
  int64_t mstride[3] = {0, 0, 0}, width = Tk;
  if (M) {
    const int r = M->ndim;
    width = M->shape[r - 1];
    int64_t acc = width;
    for (int a = r - 2; a >= 0; a--) {
      if (M->shape[a] != 1) mstride[3 - (r - 1) + a] = acc;
      acc *= M->shape[a];
    }
  }
  // Element offsets of row i of head h: 4-D [b, h, i, :] or 3-D [b, i, h * size + :].
  const auto row0 = [&](int64_t b, int64_t h, int64_t heads, int64_t seq, int64_t size) { return four ? (b * heads + h) * seq * size : (b * seq * heads + h) * size; };
  const auto rstride = [&](int64_t heads, int64_t size) { return four ? size : heads * size; };
  const T neg_inf = -std::numeric_limits<T>::infinity();

  const auto unit = [&](int64_t u, const mx_pool* pool) -> bool {
    const int64_t b = u / Hq, h = u % Hq, hk = h / group;
    T* s = static_cast<T*>(scratch(SCRATCH_OP, sizeof(T) * std::max<int64_t>(1, Sq * Tk)));
    if (!s) return false;
    const mat_view<T> qv{q + row0(b, h, Hq, Sq, D), rstride(Hq, D), 1};
    const int64_t pko = (b * Hkv + hk) * P;
    if (P > 0 && !gemm(pool, Sq, P, D, scale, qv, {pk + pko * D, 1, D}, T(0), s, Tk)) return false;
    if (Skv > 0 && !gemm(pool, Sq, Skv, D, scale, qv, {k + row0(b, hk, Hkv, Skv, D), 1, rstride(Hkv, D)}, T(0), s + P, Tk)) return false;
    const int64_t valid = nonpad ? nonpad[b] : Tk, offset = PK || !nonpad ? P : valid - Sq;
    for (int64_t i = 0; i < Sq; i++) {
      T* z = s + i * Tk;
      T* out = qk ? qk + ((b * Hq + h) * Sq + i) * Tk : nullptr;
      const int64_t moff = b * mstride[0] + h * mstride[1] + i * mstride[2];
      const T* mrow = mask ? mask + moff : nullptr;
      const bool* brow = bmask ? bmask + moff : nullptr;
      T max = neg_inf;
      for (int64_t j = 0; j < Tk; j++) {
        T sj = z[j];
        if (cap > T(0)) sj = cap * std::tanh(sj / cap);
        if (out && mode < 2) out[j] = sj;
        if (mrow) sj += j < width ? mrow[j] : neg_inf;
        if (brow && (j >= width || !brow[j])) sj = neg_inf;
        if ((causal && j > i + offset) || j >= valid) sj = neg_inf;
        if (out && mode == 2) out[j] = sj;
        z[j] = sj;
        max = std::max(max, sj);
      }
      double sum = 0;
      for (int64_t j = 0; j < Tk; j++) sum += (double)(z[j] = std::exp(z[j] - max));
      const T inv = T(1 / sum);
      for (int64_t j = 0; j < Tk; j++) {
        z[j] *= inv;
        if (out && mode == 3) out[j] = z[j];
      }
    }
    T* yo = y + row0(b, h, Hq, Sq, Dv);
    const int64_t ldy = rstride(Hq, Dv);
    if (P > 0 && !gemm(pool, Sq, Dv, P, T(1), {s, Tk, 1}, {pv + pko * Dv, Dv, 1}, T(0), yo, ldy)) return false;
    return gemm(pool, Sq, Dv, Skv, T(1), {s + P, Tk, 1}, {v + row0(b, hk, Hkv, Skv, Dv), rstride(Hkv, Dv), 1}, P > 0 ? T(1) : T(0), yo, ldy);
  };
  bool ok = true;
  if (B * Hq == 1)
    ok = unit(0, ctx->pool);
  else {
    std::atomic<bool> all{true};
    parallel_for(ctx->pool, B * Hq, 1, [&](int64_t u0, int64_t u1) {
      for (int64_t u = u0; u < u1; u++)
        if (!unit(u, nullptr)) all = false;
    });
    ok = all;
  }
  if (!ok) return fail_oom(ctx, "Attention");

  // present_key / present_value: [past; current] per (batch, kv head) in 4-D layout.
  for (int o = 1; o <= 2 && o < ctx->num_outputs; o++) {
    const int64_t size = o == 1 ? D : Dv;
    const T *past = o == 1 ? pk : pv, *cur = o == 1 ? k : v;
    T* dst = static_cast<T*>(ctx->outputs[o].data);
    for (int64_t b = 0; b < B; b++)
      for (int64_t hk = 0; hk < Hkv; hk++) {
        T* d = dst + (b * Hkv + hk) * Tk * size;
        if (P > 0) std::copy(past + (b * Hkv + hk) * P * size, past + (b * Hkv + hk + 1) * P * size, d);
        for (int64_t j = 0; j < Skv; j++) {
          const T* src = cur + row0(b, hk, Hkv, Skv, size) + j * rstride(Hkv, size);
          std::copy(src, src + size, d + (P + j) * size);
        }
      }
  }
  return MX_OK;
}

int attention_half(mx_kernel_ctx* ctx) { return run_widened(ctx, attention<float>); }

int rotary_embedding(mx_kernel_ctx* ctx) {
  const mx_tensor &X = ctx->inputs[0], &Cos = ctx->inputs[1];
  const float *x = static_cast<const float*>(X.data), *cs = static_cast<const float*>(Cos.data), *sn = static_cast<const float*>(ctx->inputs[2].data);
  const int64_t* ids = ctx->num_inputs > 3 ? static_cast<const int64_t*>(ctx->inputs[3].data) : nullptr;
  float* y = static_cast<float*>(ctx->outputs[0].data);
  const int64_t D = mx_attr_int(ctx->attrs, "head_size", 1), half = mx_attr_int(ctx->attrs, "rotary_embedding_dim", D) / 2;
  const bool inter = mx_attr_int(ctx->attrs, "interleaved", 0) != 0, four = X.ndim == 4;
  const int64_t B = X.shape[0], S = X.shape[four ? 2 : 1], H = four ? X.shape[1] : X.shape[2] / D;
  for (int64_t i = 0; ids && i < B * S; i++)
    if (ids[i] < 0 || ids[i] >= Cos.shape[0])
      return mx_fail(ctx, MX_ERR_INVALID, "RotaryEmbedding: position_ids value %lld is out of range [0, %lld)", (long long)ids[i], (long long)Cos.shape[0]);
  std::copy(x, x + numel(X), y);
  parallel_for(ctx->pool, B * S * H, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, D)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      // r walks (b, s, h); the head's features start at `base`.
      const int64_t h = r % H, s = r / H % S, b = r / (H * S);
      const int64_t base = four ? ((b * H + h) * S + s) * D : ((b * S + s) * H + h) * D;
      const int64_t row = ids ? ids[b * S + s] : b * S + s;
      for (int64_t j = 0; j < half; j++) {
        const float c = cs[row * half + j], si = sn[row * half + j];
        const int64_t i1 = base + (inter ? 2 * j : j), i2 = base + (inter ? 2 * j + 1 : j + half);
        const float x1 = x[i1], x2 = x[i2];
        y[i1] = x1 * c - x2 * si;
        y[i2] = x1 * si + x2 * c;
      }
    }
  });
  return MX_OK;
}

int rotary_half(mx_kernel_ctx* ctx) { return run_widened(ctx, rotary_embedding); }

}  // namespace

// Keys "T1" (no mask), "T1,T1" (additive mask) and "T1,bool".
#define REG_ATTENTION(key, fn)                   \
  MX_KERNEL("Attention", key, fn);               \
  MX_KERNEL("Attention", key "," key, fn);       \
  MX_KERNEL("Attention", key ",bool", fn);
REG_ATTENTION("float32", attention<float>)
REG_ATTENTION("float64", attention<double>)
REG_ATTENTION("float16", attention_half)
REG_ATTENTION("bfloat16", attention_half)
MX_KERNEL("RotaryEmbedding", "float32", rotary_embedding);
MX_KERNEL("RotaryEmbedding", "float16", rotary_half);
MX_KERNEL("RotaryEmbedding", "bfloat16", rotary_half);

}  // namespace mxcpu
