// Transformer building blocks.
//   Attention: per batch b, query head h (kv head h / (q_heads / kv_heads)) and
//     query row i, over the keys j of [past_key; K] (total = past + kv_seq):
//     s_j = scale * q_i . k_j, then cap * tanh(s_j / cap) when softcap > 0,
//     z_j = s_j + mask[.., i, j] (-inf for j past the mask's width; a bool mask
//     adds 0 where true, -inf where false), -inf where is_causal and j > i +
//     offset, or where j >= nonpad_kv_seqlen[b]; Y_i = softmax(z)_j v_j. offset is
//     the past length, or nonpad_kv_seqlen[b] - q_seq when there is no past.
//     Q, K, V are 4-D [batch, heads, seq, size] or 3-D [batch, seq, heads * size];
//     the mask broadcasts (right-aligned) to [batch, q_heads, q_seq, total]. Core
//     resolved the head counts and scale. Optional outputs: present_key/value
//     ([batch, kv_heads, total, size]) and qk_matmul_output, the scores after
//     softcap (modes 0 and 1), after the mask (2) or after the softmax (3). A row
//     with every key masked is NaN, as in ONNX's reference. One block per query
//     row (scores in scratch, the max and the sum folded with block_fold, the sum
//     in double as on the cpu), then the block computes the row of Y: simple, not
//     a fused flash kernel. 16-bit floats compute in float.
//   RotaryEmbedding: for each head's first rotary_embedding_dim features, pairs
//     (x1, x2) = (j, j + dim/2) (or (2j, 2j + 1) when interleaved) become
//     (x1 cos - x2 sin, x1 sin + x2 cos) with cos/sin from the caches' row
//     position_ids[b, s] (or row (b, s) of [batch, seq, dim/2] caches); the other
//     features are copied. X is [batch, heads, seq, head_size] or [batch, seq,
//     heads * head_size]; one thread per element, 16-bit floats in float. A
//     position id outside the caches fails before anything is written (a check on
//     the device that waits for the stream).
//   CausalConvWithState: per (batch, channel), seq = [past_state (zeros when
//     absent), input] of length K - 1 + L; y_t = act(bias + sum_j w_j seq_{t+j}) with
//     act SiLU (x sigmoid(x)) for activation 'silu'/'swish'; present_state is seq's
//     last K - 1 positions. One thread per output element.
//   LinearAttention: per (batch, kv head) a state S [dk, dv] (past_state or zeros)
//     runs over the steps t: S *= exp(g_t) (per key row, or one g per head) when
//     decay is given; then for the delta rules S += k_t (beta_t (v_t - S^T k_t))^T,
//     otherwise S += k_t v_t^T; each query head of the group (h * group + i) reads
//     o_t = scale * S^T q_t. Core resolved the head counts, scale, and the layouts
//     of decay (`decay_per_row`) and beta (`beta_per_head`, else one per step).
//     Every step touches column j of S only through column j, so one thread per
//     (batch, kv head, column) runs the steps in order, its column in scratch.
//   Both compute in float (double for float64), results rounded once, as on the cpu.
#include "common.cuh"

namespace mxcuda {
namespace {

struct RotaryGeom {
  int64_t S, H, D, half;
  bool inter, four;
};
struct RowOutside {
  int64_t rows;
  __device__ __forceinline__ bool operator()(int64_t, int64_t v) const { return v < 0 || v >= rows; }
};
template <class T>
__global__ void k_rotary(RotaryGeom g, const T* __restrict__ x, const T* __restrict__ cs, const T* __restrict__ sn, const int64_t* __restrict__ ids,
                         T* __restrict__ y, int64_t total) {
  using C = ct<T>;
  MXC_GRID_LOOP(e, total) {
    const int64_t d = e % g.D, r = e / g.D;
    if (d >= 2 * g.half) {
      y[e] = x[e];
      continue;
    }
    const int64_t s = g.four ? r % g.S : r / g.H % g.S, b = r / (g.S * g.H);
    const int64_t row = ids ? ids[b * g.S + s] : b * g.S + s;
    const bool first = g.inter ? d % 2 == 0 : d < g.half;
    const int64_t j = g.inter ? d / 2 : first ? d : d - g.half;
    const int64_t i1 = e - d + (g.inter ? 2 * j : j), i2 = e - d + (g.inter ? 2 * j + 1 : j + g.half);
    const C c = up(cs[row * g.half + j]), si = up(sn[row * g.half + j]), x1 = up(x[i1]), x2 = up(x[i2]);
    y[e] = convert<T>(first ? x1 * c - x2 * si : x1 * si + x2 * c);
  }
}
template <class T> int rotary_embedding(mx_kernel_ctx* ctx) {
  const mx_tensor &x = ctx->inputs[0], &cs = ctx->inputs[1], &y = ctx->outputs[0];
  const int64_t* ids = ctx->num_inputs > 3 && ctx->inputs[3].data ? (const int64_t*)ctx->inputs[3].data : nullptr;
  RotaryGeom g{};
  g.D = mx_attr_int(ctx->attrs, "head_size", 1);
  g.half = mx_attr_int(ctx->attrs, "rotary_embedding_dim", g.D) / 2;
  g.inter = mx_attr_int(ctx->attrs, "interleaved", 0) != 0;
  g.four = x.ndim == 4;
  if ((x.ndim != 3 && x.ndim != 4) || g.D < 1 || 2 * g.half > g.D || (!g.four && x.shape[2] % g.D))
    return mx_fail(ctx, MX_ERR_INVALID, "RotaryEmbedding: X of rank %d with head_size %lld and rotary_embedding_dim %lld", x.ndim, (long long)g.D,
                   (long long)(2 * g.half));
  g.S = x.shape[g.four ? 2 : 1];
  g.H = g.four ? x.shape[1] : x.shape[2] / g.D;
  if (ids) {
    int64_t bad, v = 0;
    if (int st = first_bad(ctx, "RotaryEmbedding position check", ids, x.shape[0] * g.S, RowOutside{cs.shape[0]}, &bad, &v)) return st;
    if (bad >= 0)
      return mx_fail(ctx, MX_ERR_INVALID, "RotaryEmbedding: position_ids value %lld is out of range [0, %lld)", (long long)v, (long long)cs.shape[0]);
  }
  const int64_t total = numel(x);
  if (total)
    k_rotary<T><<<blocks_for(total), kThreads, 0, stream_of(ctx)>>>(g, (const T*)x.data, (const T*)cs.data, (const T*)ctx->inputs[2].data, ids,
                                                                   (T*)y.data, total);
  return MX_OK;
}

// ---- Attention
struct AttnGeom {
  int64_t B, Hq, Hkv, Sq, Skv, D, Dv, P, Tk, group, width, mode;
  int64_t mstride[3];  // mask strides per [batch, q_heads, q_seq] (0 where broadcast)
  double scale, cap;
  bool four, causal;
  // Element offset of row i of head h: 4-D [b, h, i, :] or 3-D [b, i, h * size + :].
  __device__ __forceinline__ int64_t row0(int64_t b, int64_t h, int64_t heads, int64_t seq, int64_t size) const {
    return four ? (b * heads + h) * seq * size : (b * seq * heads + h) * size;
  }
  __device__ __forceinline__ int64_t rstride(int64_t heads, int64_t size) const { return four ? size : heads * size; }
};
template <class T>
__global__ void k_attention(AttnGeom g, const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v, const T* __restrict__ pk,
                            const T* __restrict__ pv, const void* __restrict__ mask, bool bool_mask, const int64_t* __restrict__ nonpad,
                            ct<T>* __restrict__ scores, T* __restrict__ y, T* __restrict__ qk, int64_t rows) {
  using A = ct<T>;
  __shared__ A scratch[1024 / MX_WARP];
  __shared__ double dscratch[1024 / MX_WARP];
  const A neg_inf = A(-INFINITY), scale = A(g.scale), cap = A(g.cap);
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const int64_t i = row % g.Sq, h = row / g.Sq % g.Hq, b = row / (g.Sq * g.Hq), hk = h / g.group;
    const T* qi = q + g.row0(b, h, g.Hq, g.Sq, g.D) + i * g.rstride(g.Hq, g.D);
    A* z = scores + row * g.Tk;
    T* out = qk ? qk + row * g.Tk : nullptr;
    const int64_t moff = b * g.mstride[0] + h * g.mstride[1] + i * g.mstride[2];
    const int64_t valid = nonpad ? nonpad[b] : g.Tk, offset = pk || !nonpad ? g.P : valid - g.Sq;
    A mx = neg_inf;
    for (int64_t j = threadIdx.x; j < g.Tk; j += blockDim.x) {
      const T* kj = j < g.P ? pk + ((b * g.Hkv + hk) * g.P + j) * g.D : k + g.row0(b, hk, g.Hkv, g.Skv, g.D) + (j - g.P) * g.rstride(g.Hkv, g.D);
      A dot = 0;
      for (int64_t d = 0; d < g.D; d++) dot += A(up(qi[d])) * A(up(kj[d]));
      A sj = scale * dot;
      if (cap > A(0)) sj = cap * tanh(sj / cap);
      if (out && g.mode < 2) out[j] = convert<T>(sj);
      if (mask && !bool_mask) sj += j < g.width ? A(up(static_cast<const T*>(mask)[moff + j])) : neg_inf;
      if (mask && bool_mask && (j >= g.width || !static_cast<const bool*>(mask)[moff + j])) sj = neg_inf;
      if ((g.causal && j > i + offset) || j >= valid) sj = neg_inf;
      if (out && g.mode == 2) out[j] = convert<T>(sj);
      z[j] = sj;
      mx = fmax(mx, sj);
    }
    mx = block_fold(mx, [](A a, A c) { return fmax(a, c); }, scratch);
    double sum = 0;
    for (int64_t j = threadIdx.x; j < g.Tk; j += blockDim.x) sum += (double)(z[j] = exp(z[j] - mx));
    sum = block_fold(sum, [](double a, double c) { return a + c; }, dscratch);
    const A inv = A(1 / sum);
    for (int64_t j = threadIdx.x; j < g.Tk; j += blockDim.x) {
      z[j] *= inv;
      if (out && g.mode == 3) out[j] = convert<T>(z[j]);
    }
    __syncthreads();  // the row's probabilities, written by every thread, are read by every thread
    T* yi = y + g.row0(b, h, g.Hq, g.Sq, g.Dv) + i * g.rstride(g.Hq, g.Dv);
    for (int64_t d = threadIdx.x; d < g.Dv; d += blockDim.x) {
      A acc = 0;
      for (int64_t j = 0; j < g.Tk; j++) {
        const T* vj = j < g.P ? pv + ((b * g.Hkv + hk) * g.P + j) * g.Dv : v + g.row0(b, hk, g.Hkv, g.Skv, g.Dv) + (j - g.P) * g.rstride(g.Hkv, g.Dv);
        acc += z[j] * A(up(vj[d]));
      }
      yi[d] = convert<T>(acc);
    }
    __syncthreads();  // z is rewritten only by the next row of this block, but keep the rows apart
  }
}
// present_key / present_value [B, Hkv, Tk, size]: [past; current] per (batch, kv head).
template <class E>
__global__ void k_present(AttnGeom g, const E* __restrict__ past, const E* __restrict__ cur, E* __restrict__ dst, int64_t size, int64_t total) {
  MXC_GRID_LOOP(e, total) {
    const int64_t d = e % size, j = e / size % g.Tk, bh = e / (size * g.Tk), b = bh / g.Hkv, hk = bh - b * g.Hkv;
    dst[e] = j < g.P ? past[(bh * g.P + j) * size + d] : cur[g.row0(b, hk, g.Hkv, g.Skv, size) + (j - g.P) * g.rstride(g.Hkv, size) + d];
  }
}
template <class T> int attention(mx_kernel_ctx* ctx) {
  const mx_tensor &Q = ctx->inputs[0], &K = ctx->inputs[1], &V = ctx->inputs[2];
  const auto opt = [&](int i) { return i < ctx->num_inputs && ctx->inputs[i].data ? &ctx->inputs[i] : nullptr; };
  const mx_tensor *M = opt(3), *PK = opt(4), *PV = opt(5), *NP = opt(6);
  AttnGeom g{};
  g.Hq = mx_attr_int(ctx->attrs, "q_num_heads", 1);
  g.Hkv = mx_attr_int(ctx->attrs, "kv_num_heads", 1);
  g.four = Q.ndim == 4;
  if ((Q.ndim != 3 && Q.ndim != 4) || K.ndim != Q.ndim || V.ndim != Q.ndim || g.Hq < 1 || g.Hkv < 1 || g.Hq % g.Hkv || (PK && !PV) ||
      (PV && !PK) || (M && M->ndim < 1))
    return mx_fail(ctx, MX_ERR_INVALID, "Attention: Q, K, V of ranks %d, %d, %d with %lld query and %lld kv heads", Q.ndim, K.ndim, V.ndim,
                   (long long)g.Hq, (long long)g.Hkv);
  g.scale = mx_attr_float(ctx->attrs, "scale", 1);
  g.cap = mx_attr_float(ctx->attrs, "softcap", 0);
  g.causal = mx_attr_int(ctx->attrs, "is_causal", 0) != 0;
  g.mode = mx_attr_int(ctx->attrs, "qk_matmul_output_mode", 0);
  g.B = Q.shape[0];
  g.Sq = Q.shape[g.four ? 2 : 1];
  g.Skv = K.shape[g.four ? 2 : 1];
  g.D = g.four ? Q.shape[3] : Q.shape[2] / g.Hq;
  g.Dv = g.four ? V.shape[3] : V.shape[2] / g.Hkv;
  g.P = PK ? PK->shape[2] : 0;
  g.Tk = g.P + g.Skv;
  g.group = g.Hq / g.Hkv;
  g.width = g.Tk;
  if (M) {
    const int r = M->ndim;
    g.width = M->shape[r - 1];
    int64_t acc = g.width;
    for (int a = r - 2; a >= 0; a--) {
      if (M->shape[a] != 1 && 3 - (r - 1) + a >= 0) g.mstride[3 - (r - 1) + a] = acc;
      acc *= M->shape[a];
    }
  }
  const cudaStream_t s = stream_of(ctx);
  const int64_t rows = g.B * g.Hq * g.Sq;
  T* qk = ctx->num_outputs > 3 && ctx->outputs[3].data ? (T*)ctx->outputs[3].data : nullptr;
  if (rows) {
    ct<T>* scores;
    if (int st = scratch_alloc(ctx, "Attention", (size_t)(rows * g.Tk) * sizeof(ct<T>), (void**)&scores)) return st;
    k_attention<T><<<(unsigned)std::min<int64_t>(rows, 1 << 20), threads_for(std::max(g.Tk, g.Dv)), 0, s>>>(
        g, (const T*)Q.data, (const T*)K.data, (const T*)V.data, PK ? (const T*)PK->data : nullptr, PV ? (const T*)PV->data : nullptr,
        M ? M->data : nullptr, M && M->dtype == MX_BOOL, NP ? (const int64_t*)NP->data : nullptr, scores, (T*)ctx->outputs[0].data, qk, rows);
    if (int st = scratch_free(ctx, "Attention", scores)) return st;
  }
  using E = typename bits<sizeof(T)>::type;
  for (int o = 1; o <= 2 && o < ctx->num_outputs; o++) {
    if (!ctx->outputs[o].data) continue;
    const int64_t size = o == 1 ? g.D : g.Dv, total = g.B * g.Hkv * g.Tk * size;
    const mx_tensor *past = o == 1 ? PK : PV, &cur = o == 1 ? K : V;
    if (total)
      k_present<E><<<blocks_for(total), kThreads, 0, s>>>(g, past ? (const E*)past->data : nullptr, (const E*)cur.data, (E*)ctx->outputs[o].data,
                                                          size, total);
  }
  return MX_OK;
}

// ---- CausalConvWithState on [B, Ch, L] with weights [Ch, 1, K]
struct CausalGeom {
  int64_t Ch, L, K, S;
  bool silu;
};
template <class T>
__global__ void k_causal_conv(CausalGeom g, const T* __restrict__ x, const T* __restrict__ w, const T* __restrict__ bias, const T* __restrict__ past,
                              T* __restrict__ y, int64_t total) {
  using C = std::conditional_t<std::is_same<T, double>::value, double, float>;
  MXC_GRID_LOOP(e, total) {
    const int64_t r = e / g.L, t = e - r * g.L, c = r % g.Ch;
    C s = bias ? C(up(bias[c])) : C(0);
    for (int64_t j = 0; j < g.K; j++) {
      const int64_t p = t + j;  // position in seq
      const C v = p < g.S ? (past ? C(up(past[r * g.S + p])) : C(0)) : C(up(x[r * g.L + p - g.S]));
      s += C(up(w[c * g.K + j])) * v;
    }
    y[e] = convert<T>(g.silu ? s / (C(1) + exp(-s)) : s);
  }
}
template <class T> __global__ void k_causal_state(CausalGeom g, const T* __restrict__ x, const T* __restrict__ past, T* __restrict__ present, int64_t total) {
  MXC_GRID_LOOP(e, total) {
    const int64_t r = e / g.S, p = g.L + (e - r * g.S);  // seq position of present_state[r, e % S]
    present[e] = p < g.S ? (past ? past[r * g.S + p] : convert<T>(0.0f)) : x[r * g.L + p - g.S];
  }
}
template <class T> int causal_conv_with_state(mx_kernel_ctx* ctx) {
  const mx_tensor &x = ctx->inputs[0], &w = ctx->inputs[1];
  const auto opt = [&](int i) { return i < ctx->num_inputs && ctx->inputs[i].data ? (const T*)ctx->inputs[i].data : nullptr; };
  if (x.ndim != 3 || w.ndim < 1)
    return mx_fail(ctx, MX_ERR_INVALID, "CausalConvWithState: input must be [batch, channels, length] (rank %d)", x.ndim);
  CausalGeom g{};
  g.Ch = x.shape[1];
  g.L = x.shape[2];
  g.K = w.shape[w.ndim - 1];
  g.S = g.K - 1;
  g.silu = std::strcmp(mx_attr_string(ctx->attrs, "activation", "none"), "none") != 0;
  const cudaStream_t s = stream_of(ctx);
  const int64_t total = numel(x), states = x.shape[0] * g.Ch * g.S;
  if (total) k_causal_conv<T><<<blocks_for(total), kThreads, 0, s>>>(g, (const T*)x.data, (const T*)w.data, opt(2), opt(3), (T*)ctx->outputs[0].data, total);
  if (ctx->num_outputs > 1 && ctx->outputs[1].data && states > 0)
    k_causal_state<T><<<blocks_for(states), kThreads, 0, s>>>(g, (const T*)x.data, opt(3), (T*)ctx->outputs[1].data, states);
  return MX_OK;
}

// ---- LinearAttention on [B, T, heads * size]
struct LinearGeom {
  int64_t Hq, Hkv, group, Tn, dk, dv;
  double scale;
  bool per_row, beta_per_head;
};
template <class T>
__global__ void k_linear_attention(LinearGeom g, const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v, const T* __restrict__ past,
                                   const T* __restrict__ decay, const T* __restrict__ beta, std::conditional_t<std::is_same<T, double>::value, double, float>* state,
                                   T* __restrict__ out, T* __restrict__ present, int64_t total) {
  using C = std::conditional_t<std::is_same<T, double>::value, double, float>;
  const C scale = C(g.scale);
  MXC_GRID_LOOP(e, total) {
    const int64_t j = e % g.dv, bh = e / g.dv, bi = bh / g.Hkv, h = bh - bi * g.Hkv;
    C* S = state + bh * g.dk * g.dv + j;  // S[i] is row i of this column: S[i * dv]
    for (int64_t i = 0; i < g.dk; i++) S[i * g.dv] = past ? C(up(past[bh * g.dk * g.dv + i * g.dv + j])) : C(0);
    for (int64_t t = 0; t < g.Tn; t++) {
      const int64_t row = bi * g.Tn + t;
      const T* kt = k + (row * g.Hkv + h) * g.dk;
      if (decay)
        for (int64_t i = 0; i < g.dk; i++) S[i * g.dv] *= exp(C(up(decay[g.per_row ? (row * g.Hkv + h) * g.dk + i : row * g.Hkv + h])));
      C u = C(up(v[(row * g.Hkv + h) * g.dv + j]));
      if (beta) {
        C r = 0;
        for (int64_t i = 0; i < g.dk; i++) r += S[i * g.dv] * C(up(kt[i]));
        u = C(up(beta[g.beta_per_head ? row * g.Hkv + h : row])) * (u - r);
      }
      for (int64_t i = 0; i < g.dk; i++) S[i * g.dv] += C(up(kt[i])) * u;
      for (int64_t gi = 0; gi < g.group; gi++) {
        const int64_t qh = h * g.group + gi;
        const T* qv = q + (row * g.Hq + qh) * g.dk;
        C o = 0;
        for (int64_t i = 0; i < g.dk; i++) o += C(up(qv[i])) * S[i * g.dv];
        out[(row * g.Hq + qh) * g.dv + j] = convert<T>(scale * o);
      }
    }
    if (present)
      for (int64_t i = 0; i < g.dk; i++) present[bh * g.dk * g.dv + i * g.dv + j] = convert<T>(S[i * g.dv]);
  }
}
template <class T> int linear_attention(mx_kernel_ctx* ctx) {
  using C = std::conditional_t<std::is_same<T, double>::value, double, float>;
  const mx_tensor &Q = ctx->inputs[0], &V = ctx->inputs[2];
  const auto opt = [&](int i) { return i < ctx->num_inputs && ctx->inputs[i].data ? (const T*)ctx->inputs[i].data : nullptr; };
  LinearGeom g{};
  g.Hq = mx_attr_int(ctx->attrs, "q_num_heads", 1);
  g.Hkv = mx_attr_int(ctx->attrs, "kv_num_heads", 1);
  if (Q.ndim != 3 || V.ndim != 3 || g.Hq < 1 || g.Hkv < 1 || g.Hq % g.Hkv)
    return mx_fail(ctx, MX_ERR_INVALID, "LinearAttention: Q and V of ranks %d and %d (3 expected) with %lld query and %lld kv heads", Q.ndim, V.ndim,
                   (long long)g.Hq, (long long)g.Hkv);
  g.group = g.Hq / g.Hkv;
  g.Tn = Q.shape[1];
  g.dk = Q.shape[2] / g.Hq;
  g.dv = V.shape[2] / g.Hkv;
  g.scale = mx_attr_float(ctx->attrs, "scale", 1);
  g.per_row = mx_attr_int(ctx->attrs, "decay_per_row", 0) != 0;
  g.beta_per_head = mx_attr_int(ctx->attrs, "beta_per_head", 0) != 0;
  const int64_t total = Q.shape[0] * g.Hkv * g.dv;
  if (!total) return MX_OK;
  C* state;
  if (int st = scratch_alloc(ctx, "LinearAttention", (size_t)(total * g.dk) * sizeof(C), (void**)&state)) return st;
  T* present = ctx->num_outputs > 1 && ctx->outputs[1].data ? (T*)ctx->outputs[1].data : nullptr;
  k_linear_attention<T><<<blocks_for(total), kThreads, 0, stream_of(ctx)>>>(g, opt(0), opt(1), opt(2), opt(3), opt(4), opt(5), state,
                                                                           (T*)ctx->outputs[0].data, present, total);
  return scratch_free(ctx, "LinearAttention", state);
}

}  // namespace
}  // namespace mxcuda

using namespace mxcuda;

// RotaryEmbedding's T: float32 and the 16-bit floats (as the op table allows).
MXC_KERNEL("RotaryEmbedding", "float32", (rotary_embedding<float>));
MXC_KERNEL("RotaryEmbedding", "float16", (rotary_embedding<f16>));
MXC_KERNEL("RotaryEmbedding", "bfloat16", (rotary_embedding<bf16>));
// Attention's keys: "T1" (no mask), "T1,T1" (additive mask) and "T1,bool", as on the cpu.
#define REG_ATTENTION(T, key, ...)                          \
  MXC_KERNEL("Attention", key, (attention<T>));             \
  MXC_KERNEL("Attention", key "," key, (attention<T>));     \
  MXC_KERNEL("Attention", key ",bool", (attention<T>));
MXC_FLOAT_TYPES(REG_ATTENTION, _)
#define REG_LINEAR(T, key, ...)                                               \
  MXC_KERNEL("CausalConvWithState", key, (causal_conv_with_state<T>));       \
  MXC_KERNEL("LinearAttention", key, (linear_attention<T>));
MXC_FLOAT_TYPES(REG_LINEAR, _)
