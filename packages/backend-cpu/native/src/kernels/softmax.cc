// Softmax and LogSoftmax along one axis (non-negative, from core). With
// m = max over the axis and s = sum over the axis of exp(x - m):
//   Softmax: y = exp(x - m) / s        LogSoftmax: y = x - m - log(s)
// Subtracting the max keeps exp from overflowing; s is accumulated in double.
// The tensor is viewed as [outer, n, inner]; each work item copies one block of
// lanes (outer index o, up to 64 contiguous inner positions) into a per-thread
// buffer [n][w] of the compute type (float for 16-bit floats), so that exp runs
// over one contiguous array: vectorized with AVX2 for float (a Cephes-style
// polynomial, within 2 ulp of expf), std::exp otherwise.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <type_traits>

#include "gemm.h"

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define MX_SOFTMAX_X86 1
#endif

namespace mxcpu {
namespace {

constexpr int64_t kLanes = 64;

// v[i] = exp(v[i]); returns the sum of the results.
template <class C> double exp_sum_generic(C* v, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; i++) s += (double)(v[i] = std::exp(v[i]));
  return s;
}

#ifdef MX_SOFTMAX_X86
// exp(x) = 2^k * exp(r), k = round(x / ln 2), r = x - k ln 2 in [-ln2/2, ln2/2],
// exp(r) by a degree-6 polynomial. Valid for x <= 88.37 (softmax passes x <= 0):
// x below -87.33 gives 0 (exp < 1.2e-38); NaN stays NaN (the clamps pass it on).
__attribute__((target("avx2,fma"))) inline __m256 exp8(__m256 x) {
  const __m256 lo = _mm256_set1_ps(-87.33654f), hi = _mm256_set1_ps(88.37626f);
  const __m256 under = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
  x = _mm256_max_ps(lo, _mm256_min_ps(hi, x));
  const __m256 k = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(k, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(k, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(_mm256_mul_ps(p, r), r, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23);
  return _mm256_andnot_ps(under, _mm256_mul_ps(p, _mm256_castsi256_ps(e)));
}

__attribute__((target("avx2,fma"))) double exp_sum_avx2(float* v, int64_t n) {
  __m256d s0 = _mm256_setzero_pd(), s1 = s0;
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 e = exp8(_mm256_loadu_ps(v + i));
    _mm256_storeu_ps(v + i, e);
    s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
    s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
  }
  double lanes[4];
  _mm256_storeu_pd(lanes, _mm256_add_pd(s0, s1));
  double s = lanes[0] + lanes[1] + lanes[2] + lanes[3];
  if (i < n) {  // tail through a zero-padded vector
    alignas(32) float t[8] = {};
    std::copy(v + i, v + n, t);
    const __m256 e = exp8(_mm256_load_ps(t));
    _mm256_store_ps(t, e);
    for (int64_t k = 0; k < n - i; k++) s += (double)(v[i + k] = t[k]);
  }
  return s;
}
#endif

template <class C> double exp_sum(C* v, int64_t n) {
#ifdef MX_SOFTMAX_X86
  if constexpr (std::is_same_v<C, float>) {
    static const bool avx2 = cpu_has_avx2_fma();
    if (avx2) return exp_sum_avx2(v, n);
  }
#endif
  return exp_sum_generic(v, n);
}

// Max of v[0, n) with eight independent partial maxima (no serial dependency).
template <class C> C row_max(const C* v, int64_t n) {
  C m[8];
  for (int u = 0; u < 8; u++) m[u] = -std::numeric_limits<C>::infinity();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int u = 0; u < 8; u++) m[u] = std::max(m[u], v[i + u]);
  for (; i < n; i++) m[0] = std::max(m[0], v[i]);
  for (int u = 1; u < 8; u++) m[0] = std::max(m[0], m[u]);
  return m[0];
}

template <class T, bool Log> int softmax(mx_kernel_ctx* ctx) {
  const mx_tensor& X = ctx->inputs[0];
  using C = compute_t<T>;
  const int axis = (int)mx_attr_int(ctx->attrs, "axis", X.ndim - 1);
  int64_t outer = 1, n = 1, inner = 1;
  for (int d = 0; d < X.ndim; d++) (d < axis ? outer : d == axis ? n : inner) *= X.shape[d];
  if (outer * n * inner == 0) return MX_OK;
  const T* x = static_cast<const T*>(X.data);
  T* y = static_cast<T*>(ctx->outputs[0].data);
  const int64_t blocks = (inner + kLanes - 1) / kLanes;
  const int64_t cost = n * std::min(inner, kLanes);
  std::atomic<bool> ok{true};
  parallel_for(ctx->pool, outer * blocks, std::max<int64_t>(1, 16384 / cost), [&](int64_t b, int64_t e) {
    C* buf = static_cast<C*>(scratch(SCRATCH_OP, sizeof(C) * cost));
    if (!buf) { ok = false; return; }
    C mx[kLanes];
    double sum[kLanes];
    for (int64_t item = b; item < e; item++) {
      const int64_t o = item / blocks, i0 = item % blocks * kLanes, w = std::min(kLanes, inner - i0);
      const T* xb = x + o * n * inner + i0;
      T* yb = y + o * n * inner + i0;
      // buf[j * w + i] = x - max over j, then exp in place; sum[i] over j.
      if (w == 1) {  // inner == 1: one contiguous row
        for (int64_t j = 0; j < n; j++) buf[j] = load(xb[j]);
        mx[0] = row_max(buf, n);
        for (int64_t j = 0; j < n; j++) buf[j] -= mx[0];
        sum[0] = exp_sum(buf, n);
      } else {
        for (int64_t i = 0; i < w; i++) {
          mx[i] = -std::numeric_limits<C>::infinity();
          sum[i] = 0;
        }
        for (int64_t j = 0; j < n; j++)
          for (int64_t i = 0; i < w; i++) {
            const C v = load(xb[j * inner + i]);
            buf[j * w + i] = v;
            mx[i] = std::max(mx[i], v);
          }
        for (int64_t j = 0; j < n; j++)
          for (int64_t i = 0; i < w; i++) buf[j * w + i] -= mx[i];
        exp_sum(buf, n * w);
        for (int64_t j = 0; j < n; j++)
          for (int64_t i = 0; i < w; i++) sum[i] += (double)buf[j * w + i];
      }
      if constexpr (Log) {
        for (int64_t i = 0; i < w; i++) mx[i] += (C)std::log(sum[i]);
        if (w == 1)
          for (int64_t j = 0; j < n; j++) yb[j] = store<T>(load(xb[j]) - mx[0]);
        else
          for (int64_t j = 0; j < n; j++)
            for (int64_t i = 0; i < w; i++) yb[j * inner + i] = store<T>(load(xb[j * inner + i]) - mx[i]);
      } else {
        C inv[kLanes];
        for (int64_t i = 0; i < w; i++) inv[i] = (C)(1.0 / sum[i]);
        if (w == 1)
          for (int64_t j = 0; j < n; j++) yb[j] = store<T>(buf[j] * inv[0]);
        else
          for (int64_t j = 0; j < n; j++)
            for (int64_t i = 0; i < w; i++) yb[j * inner + i] = store<T>(buf[j * w + i] * inv[i]);
      }
    }
  });
  return ok ? MX_OK : fail_oom(ctx, Log ? "LogSoftmax" : "Softmax");
}

}  // namespace

#define MX_SOFTMAX(T, key)                          \
  MX_KERNEL("Softmax", key, (softmax<T, false>));   \
  MX_KERNEL("LogSoftmax", key, (softmax<T, true>));
MX_SOFTMAX(float, "float32")
MX_SOFTMAX(double, "float64")
MX_SOFTMAX(f16, "float16")
MX_SOFTMAX(bf16, "bfloat16")
#undef MX_SOFTMAX

}  // namespace mxcpu
