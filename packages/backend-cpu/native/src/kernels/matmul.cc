// MatMul and Gemm.
//   MatMul: Y[b.., i, j] = sum_k A[b.., i, k] * B[b.., k, j] (NumPy matmul): a 1-D A
//   is [1, K] and a 1-D B is [K, 1], their unit dims absent from Y; batch dims
//   broadcast. Y arrives with its final shape, so only the inputs' ranks and dims
//   are read here.
//   Gemm: Y[M, N] = alpha * op(A) * op(B) + beta * C, op transposing when transA /
//   transB is set; C is optional and broadcasts to [M, N] (rank <= 2, core checked).
// Floats run on the GEMM engine (16-bit floats widened to float32); a constant
// float32 B (a model's weights, ctx const ids) is packed for it once and kept.
// Integers wrap on overflow; an integer Gemm truncates alpha * AB + beta * C
// toward zero.
#include <algorithm>
#include <atomic>
#include <type_traits>

#include "gemm.h"

namespace mxcpu {
namespace {

// Work below this many multiply-adds per matrix product is spread over batches
// rather than inside one product.
constexpr int64_t kSmallMacs = int64_t(1) << 21;

// The batch structure of a MatMul: Y is `batch` dense [M, N] matrices; batch t
// reads A and B at the element offsets offsets(t) gives.
struct mm_plan {
  int64_t M, K, N, batch = 1;
  int nb = 0;
  int64_t dims[MX_MAX_DIMS], sa[MX_MAX_DIMS], sb[MX_MAX_DIMS];  // per batch dim of Y: extent, A/B strides (0: broadcast)
  bool fold = true;  // B is shared by every batch and A is dense: one [batch * M, K] x [K, N] product

  mm_plan(const mx_tensor& A, const mx_tensor& B) {
    const bool a1 = A.ndim == 1, b1 = B.ndim == 1;
    M = a1 ? 1 : A.shape[A.ndim - 2];
    K = A.shape[A.ndim - 1];
    N = b1 ? 1 : B.shape[B.ndim - 1];
    const int na = a1 ? 0 : A.ndim - 2, nbb = b1 ? 0 : B.ndim - 2;
    nb = std::max(na, nbb);
    int64_t ma = M * K, mb = K * N;
    for (int d = nb - 1; d >= 0; d--) {
      const int ja = d - (nb - na), jb = d - (nb - nbb);
      const int64_t da = ja >= 0 ? A.shape[ja] : 1, db = jb >= 0 ? B.shape[jb] : 1;
      dims[d] = std::max(da, db);
      sa[d] = da == 1 ? 0 : ma;
      sb[d] = db == 1 ? 0 : mb;
      if (db != 1 || da != dims[d]) fold = false;
      ma *= da;
      mb *= db;
      batch *= dims[d];
    }
  }
  void offsets(int64_t t, int64_t* ao, int64_t* bo) const {
    *ao = *bo = 0;
    for (int d = nb - 1; d >= 0; d--) {
      const int64_t i = t % dims[d];
      t /= dims[d];
      *ao += i * sa[d];
      *bo += i * sb[d];
    }
  }
};

// Calls run(pool, t) for every batch t: batches in parallel (pool null inside)
// when each product is small, else one after another with a threaded product.
template <class F> bool each_batch(const mx_pool* pool, const mm_plan& p, F&& run) {
  const int64_t macs = std::max<int64_t>(1, p.M * p.N * p.K);
  if (p.batch == 1 || macs >= kSmallMacs) {
    for (int64_t t = 0; t < p.batch; t++)
      if (!run(pool, t)) return false;
    return true;
  }
  std::atomic<bool> ok{true};
  parallel_for(pool, p.batch, std::max<int64_t>(1, kSmallMacs / 8 / macs), [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; t++)
      if (!run(nullptr, t)) ok = false;
  });
  return ok;
}

// A constant float32 B (input 1: a model's weights) packed once and kept
// (const_cache), or null: not a constant, a GEMV shape, or memory short.
const float* constant_b(const mx_kernel_ctx* ctx, const float* b, bool transposed, int64_t M, int64_t N, int64_t K,
                        mat_view<float> view) {
  const uint64_t id = mx_const_id(ctx, 1);
  if (!id || M <= 1 || N <= 1 || K <= 0) return nullptr;
  bool fresh;
  float* c = const_cache(id, b, transposed ? CONST_PACKED_BT : CONST_PACKED_B, K, N, (size_t)gemm_packed_b_size(K, N), &fresh);
  if (c && fresh) gemm_pack_b(ctx->pool, K, N, view, c);
  return c;
}

template <class T> int matmul_float(mx_kernel_ctx* ctx) {
  const mx_tensor &A = ctx->inputs[0], &B = ctx->inputs[1];
  const T* a = static_cast<const T*>(A.data);
  const T* b = static_cast<const T*>(B.data);
  T* y = static_cast<T*>(ctx->outputs[0].data);
  const mm_plan p(A, B);
  bool ok;
  if (p.fold) {
    // A constant B (a model's weights) is packed once and kept (const_cache).
    if constexpr (std::is_same_v<T, float>)
      ok = gemm(ctx->pool, p.batch * p.M, p.N, p.K, T(1), {a, p.K, 1}, {b, p.N, 1}, T(0), y, p.N, nullptr, nullptr,
                constant_b(ctx, b, false, p.batch * p.M, p.N, p.K, {b, p.N, 1}));
    else
      ok = gemm(ctx->pool, p.batch * p.M, p.N, p.K, T(1), {a, p.K, 1}, {b, p.N, 1}, T(0), y, p.N);
  } else {
    ok = each_batch(ctx->pool, p, [&](const mx_pool* pool, int64_t t) {
      int64_t ao, bo;
      p.offsets(t, &ao, &bo);
      return gemm(pool, p.M, p.N, p.K, T(1), {a + ao, p.K, 1}, {b + bo, p.N, 1}, T(0), y + t * p.M * p.N, p.N);
    });
  }
  return ok ? MX_OK : fail_oom(ctx, "MatMul");
}

// Integer products wrap: computed in the unsigned type of the same width.
template <class T> using uwrap_t = std::make_unsigned_t<T>;

// y[i, :] = sum_k A(i, k) * B(k, :) for rows [i0, i1) of an M x N product, with
// A(i, k) = a[i * ars + k * acs] and B(k, j) = b[k * brs + j * bcs].
template <class T>
void int_product(int64_t i0, int64_t i1, int64_t N, int64_t K, const T* a, int64_t ars, int64_t acs, const T* b,
                 int64_t brs, int64_t bcs, uwrap_t<T>* y) {
  using U = uwrap_t<T>;
  for (int64_t i = i0; i < i1; i++) {
    U* yr = y + i * N;
    std::fill(yr, yr + N, U(0));
    for (int64_t k = 0; k < K; k++) {
      const U av = (U)a[i * ars + k * acs];
      const T* br = b + k * brs;
      if (bcs == 1)
        for (int64_t j = 0; j < N; j++) yr[j] += av * (U)br[j];
      else
        for (int64_t j = 0; j < N; j++) yr[j] += av * (U)br[j * bcs];
    }
  }
}

int64_t row_grain(int64_t N, int64_t K) { return std::max<int64_t>(1, kSmallMacs / 64 / std::max<int64_t>(1, N * K)); }

template <class T> int matmul_int(mx_kernel_ctx* ctx) {
  const mx_tensor &A = ctx->inputs[0], &B = ctx->inputs[1];
  const T* a = static_cast<const T*>(A.data);
  const T* b = static_cast<const T*>(B.data);
  auto* y = static_cast<uwrap_t<T>*>(ctx->outputs[0].data);
  const mm_plan p(A, B);
  // Rows of all batches together: row r is row r % M of batch r / M.
  parallel_for(ctx->pool, p.batch * p.M, row_grain(p.N, p.K), [&](int64_t r0, int64_t r1) {
    while (r0 < r1) {
      const int64_t t = r0 / p.M, i0 = r0 % p.M, i1 = std::min(p.M, i0 + (r1 - r0));
      int64_t ao, bo;
      p.offsets(t, &ao, &bo);
      int_product(i0, i1, p.N, p.K, a + ao, p.K, 1, b + bo, p.N, 1, y + t * p.M * p.N);
      r0 += i1 - i0;
    }
  });
  return MX_OK;
}

// ---------------------------------------------------------------- Gemm

struct gemm_args {
  int64_t M, N, K;
  double alpha, beta;
  bool ta, tb;
  const mx_tensor* C;    // null when absent
  int64_t crs, ccs;      // C's strides over [M, N] (0 where broadcast)
};

gemm_args gemm_setup(const mx_kernel_ctx* ctx) {
  gemm_args g;
  const mx_tensor &A = ctx->inputs[0], &Y = ctx->outputs[0];
  g.M = Y.shape[0];
  g.N = Y.shape[1];
  g.ta = mx_attr_int(ctx->attrs, "transA", 0) != 0;
  g.tb = mx_attr_int(ctx->attrs, "transB", 0) != 0;
  g.K = g.ta ? A.shape[0] : A.shape[1];
  g.alpha = mx_attr_float(ctx->attrs, "alpha", 1.0);
  g.beta = mx_attr_float(ctx->attrs, "beta", 1.0);
  g.C = ctx->num_inputs > 2 && ctx->inputs[2].data ? &ctx->inputs[2] : nullptr;
  g.crs = g.ccs = 0;
  if (g.C) {  // right-aligned against [M, N]
    const mx_tensor& C = *g.C;
    const int64_t cm = C.ndim == 2 ? C.shape[0] : 1, cn = C.ndim >= 1 ? C.shape[C.ndim - 1] : 1;
    g.crs = cm == 1 ? 0 : cn;
    g.ccs = cn == 1 ? 0 : 1;
  }
  return g;
}

template <class T> int gemm_float(mx_kernel_ctx* ctx) {
  const gemm_args g = gemm_setup(ctx);
  const T* a = static_cast<const T*>(ctx->inputs[0].data);
  const T* b = static_cast<const T*>(ctx->inputs[1].data);
  T* y = static_cast<T*>(ctx->outputs[0].data);
  T keep = T(0);
  if (g.C && g.beta != 0) {  // Y = beta * C first, then the product accumulates into it
    const T* c = static_cast<const T*>(g.C->data);
    const T beta = (T)g.beta;
    parallel_for(ctx->pool, g.M, std::max<int64_t>(1, 32768 / std::max<int64_t>(1, g.N)), [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; i++)
        for (int64_t j = 0; j < g.N; j++) y[i * g.N + j] = beta * c[i * g.crs + j * g.ccs];
    });
    keep = T(1);
  }
  const mat_view<T> av = g.ta ? mat_view<T>{a, 1, g.M} : mat_view<T>{a, g.K, 1};
  const mat_view<T> bv = g.tb ? mat_view<T>{b, 1, g.K} : mat_view<T>{b, g.N, 1};
  bool ok;
  if constexpr (std::is_same_v<T, float>)
    ok = gemm(ctx->pool, g.M, g.N, g.K, (T)g.alpha, av, bv, keep, y, g.N, nullptr, nullptr,
              constant_b(ctx, b, g.tb, g.M, g.N, g.K, bv));
  else
    ok = gemm(ctx->pool, g.M, g.N, g.K, (T)g.alpha, av, bv, keep, y, g.N);
  return ok ? MX_OK : fail_oom(ctx, "Gemm");
}

template <class T> int gemm_int(mx_kernel_ctx* ctx) {
  const gemm_args g = gemm_setup(ctx);
  const T* a = static_cast<const T*>(ctx->inputs[0].data);
  const T* b = static_cast<const T*>(ctx->inputs[1].data);
  const T* c = g.C ? static_cast<const T*>(g.C->data) : nullptr;
  auto* y = static_cast<uwrap_t<T>*>(ctx->outputs[0].data);
  const bool plain = g.alpha == 1.0 && (!c || g.beta == 1.0);
  parallel_for(ctx->pool, g.M, row_grain(g.N, g.K), [&](int64_t i0, int64_t i1) {
    int_product(i0, i1, g.N, g.K, a, g.ta ? 1 : g.K, g.ta ? g.M : 1, b, g.tb ? 1 : g.N, g.tb ? g.K : 1, y);
    for (int64_t i = i0; i < i1; i++)
      for (int64_t j = 0; j < g.N; j++) {
        uwrap_t<T>& d = y[i * g.N + j];
        const T cv = c ? c[i * g.crs + j * g.ccs] : T(0);
        d = plain ? d + (uwrap_t<T>)cv : (uwrap_t<T>)(T)(g.alpha * (double)(T)d + g.beta * (double)cv);
      }
  });
  return MX_OK;
}

int matmul_half(mx_kernel_ctx* ctx) { return run_widened(ctx, matmul_float<float>); }
int gemm_half(mx_kernel_ctx* ctx) { return run_widened(ctx, gemm_float<float>); }

}  // namespace

MX_KERNEL("MatMul", "float32", matmul_float<float>);
MX_KERNEL("MatMul", "float64", matmul_float<double>);
MX_KERNEL("MatMul", "float16", matmul_half);
MX_KERNEL("MatMul", "bfloat16", matmul_half);
MX_KERNEL("MatMul", "int32", matmul_int<int32_t>);
MX_KERNEL("MatMul", "int64", matmul_int<int64_t>);
MX_KERNEL("MatMul", "uint32", matmul_int<uint32_t>);
MX_KERNEL("MatMul", "uint64", matmul_int<uint64_t>);

MX_KERNEL("Gemm", "float32", gemm_float<float>);
MX_KERNEL("Gemm", "float64", gemm_float<double>);
MX_KERNEL("Gemm", "float16", gemm_half);
MX_KERNEL("Gemm", "bfloat16", gemm_half);
MX_KERNEL("Gemm", "int32", gemm_int<int32_t>);
MX_KERNEL("Gemm", "int64", gemm_int<int64_t>);
MX_KERNEL("Gemm", "uint32", gemm_int<uint32_t>);
MX_KERNEL("Gemm", "uint64", gemm_int<uint64_t>);

}  // namespace mxcpu
