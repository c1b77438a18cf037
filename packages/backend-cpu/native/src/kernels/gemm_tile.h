// One row of an output tile stored with gemm_post's epilogue, in registers: the
// GEMM micro-kernel's stores and those of kernels with their own register
// tiles (the direct stem conv).
#pragma once
#include <cstdint>

#include "gemm.h"

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>
#define MX_TILE_X86 1
#endif

namespace mxcpu {

// What a tile's store does besides the product (acc): c = act(alpha * acc +
// beta * c + bias[r] + z[r * ldz + j]) over the tile's first m rows and n
// columns (edge tiles: the GEMM's packed panels are zero-padded, the stores are
// not). beta == 0 does not read c. In a GEMM, bias comes with the first K step,
// z and act with the last.
template <class T> struct tile_args {
  T alpha, beta;
  const T* bias;  // the tile's first row's bias, or null
  const T* z;     // the residual at the tile's corner, or null
  int64_t ldz;
  int act;
  T p0, p1;
  int m, n;
};

#ifdef MX_TILE_X86
#define MX_TILE_AVX2 __attribute__((target("avx2,fma")))
#define MX_TILE_INLINE inline __attribute__((always_inline))
// AVX2 vectors of T (8 floats or 4 doubles): what the register tiles need.
template <class T> struct avx;
template <> struct avx<float> {
  using V = __m256;
  static constexpr int W = 8;
  static MX_TILE_AVX2 MX_TILE_INLINE V zero() { return _mm256_setzero_ps(); }
  static MX_TILE_AVX2 MX_TILE_INLINE V set1(float v) { return _mm256_set1_ps(v); }
  static MX_TILE_AVX2 MX_TILE_INLINE V bcast(const float* p) { return _mm256_broadcast_ss(p); }
  static MX_TILE_AVX2 MX_TILE_INLINE V load(const float* p) { return _mm256_load_ps(p); }
  static MX_TILE_AVX2 MX_TILE_INLINE V loadu(const float* p) { return _mm256_loadu_ps(p); }
  static MX_TILE_AVX2 MX_TILE_INLINE V fmadd(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static MX_TILE_AVX2 MX_TILE_INLINE V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static MX_TILE_AVX2 MX_TILE_INLINE V add(V a, V b) { return _mm256_add_ps(a, b); }
  static MX_TILE_AVX2 MX_TILE_INLINE V max(V a, V b) { return _mm256_max_ps(a, b); }  // b where either is NaN
  static MX_TILE_AVX2 MX_TILE_INLINE V min(V a, V b) { return _mm256_min_ps(a, b); }
  static MX_TILE_AVX2 MX_TILE_INLINE V neg_select(V x, V y) {  // x < 0 ? y : x
    return _mm256_blendv_ps(x, y, _mm256_cmp_ps(x, zero(), _CMP_LT_OQ));
  }
  static MX_TILE_AVX2 MX_TILE_INLINE __m256i mask(int n) {  // lanes < n
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static MX_TILE_AVX2 MX_TILE_INLINE V loadn(const float* p, bool full, __m256i m) {
    return full ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, m);
  }
  static MX_TILE_AVX2 MX_TILE_INLINE void storen(float* p, V v, bool full, __m256i m) {
    if (full) _mm256_storeu_ps(p, v);
    else _mm256_maskstore_ps(p, m, v);
  }
};
template <> struct avx<double> {
  using V = __m256d;
  static constexpr int W = 4;
  static MX_TILE_AVX2 MX_TILE_INLINE V zero() { return _mm256_setzero_pd(); }
  static MX_TILE_AVX2 MX_TILE_INLINE V set1(double v) { return _mm256_set1_pd(v); }
  static MX_TILE_AVX2 MX_TILE_INLINE V bcast(const double* p) { return _mm256_broadcast_sd(p); }
  static MX_TILE_AVX2 MX_TILE_INLINE V load(const double* p) { return _mm256_load_pd(p); }
  static MX_TILE_AVX2 MX_TILE_INLINE V loadu(const double* p) { return _mm256_loadu_pd(p); }
  static MX_TILE_AVX2 MX_TILE_INLINE V fmadd(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  static MX_TILE_AVX2 MX_TILE_INLINE V mul(V a, V b) { return _mm256_mul_pd(a, b); }
  static MX_TILE_AVX2 MX_TILE_INLINE V add(V a, V b) { return _mm256_add_pd(a, b); }
  static MX_TILE_AVX2 MX_TILE_INLINE V max(V a, V b) { return _mm256_max_pd(a, b); }
  static MX_TILE_AVX2 MX_TILE_INLINE V min(V a, V b) { return _mm256_min_pd(a, b); }
  static MX_TILE_AVX2 MX_TILE_INLINE V neg_select(V x, V y) {
    return _mm256_blendv_pd(x, y, _mm256_cmp_pd(x, zero(), _CMP_LT_OQ));
  }
  static MX_TILE_AVX2 MX_TILE_INLINE __m256i mask(int n) {
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3));
  }
  static MX_TILE_AVX2 MX_TILE_INLINE V loadn(const double* p, bool full, __m256i m) {
    return full ? _mm256_loadu_pd(p) : _mm256_maskload_pd(p, m);
  }
  static MX_TILE_AVX2 MX_TILE_INLINE void storen(double* p, V v, bool full, __m256i m) {
    if (full) _mm256_storeu_pd(p, v);
    else _mm256_maskstore_pd(p, m, v);
  }
};

// activate() on a vector: max(0, x) and min(hi, max(lo, x)) return x where x
// is NaN (as the scalar form does).
template <class T>
MX_TILE_AVX2 MX_TILE_INLINE typename avx<T>::V activate_vec(int act, T p0, T p1, typename avx<T>::V x) {
  using S = avx<T>;
  if (act == ACT_RELU) return S::max(S::zero(), x);
  if (act == ACT_LEAKY_RELU) return S::neg_select(x, S::mul(S::set1(p0), x));
  if (act == ACT_CLIP) return S::min(S::set1(p1), S::max(S::set1(p0), x));
  return x;
}

// Row r of a tile: x0, x1 (the accumulators) through tile_args into c's row.
template <class T>
MX_TILE_AVX2 MX_TILE_INLINE void store_row(int r, typename avx<T>::V x0, typename avx<T>::V x1, T* c, int64_t ldc,
                                        const tile_args<T>& t, bool full, __m256i m0, __m256i m1) {
  using S = avx<T>;
  if (r >= t.m) return;
  T* cr = c + r * ldc;
  const typename S::V va = S::set1(t.alpha);
  x0 = S::mul(va, x0);
  x1 = S::mul(va, x1);
  if (t.beta != T(0)) {
    const typename S::V vb = S::set1(t.beta);
    x0 = S::fmadd(vb, S::loadn(cr, full, m0), x0);
    x1 = S::fmadd(vb, S::loadn(cr + S::W, full, m1), x1);
  }
  if (t.bias) {
    const typename S::V vb = S::bcast(t.bias + r);
    x0 = S::add(x0, vb);
    x1 = S::add(x1, vb);
  }
  if (t.z) {
    const T* zr = t.z + r * t.ldz;
    x0 = S::add(x0, S::loadn(zr, full, m0));
    x1 = S::add(x1, S::loadn(zr + S::W, full, m1));
  }
  x0 = activate_vec<T>(t.act, t.p0, t.p1, x0);
  x1 = activate_vec<T>(t.act, t.p0, t.p1, x1);
  S::storen(cr, x0, full, m0);
  S::storen(cr + S::W, x1, full, m1);
}

// A whole 6 x 2W tile (12 accumulators, kept by the callers in named variables:
// an array of them GCC keeps on the stack): its rows through store_row.
template <class T, class V = typename avx<T>::V>
MX_TILE_AVX2 MX_TILE_INLINE void store_tile(T* c, int64_t ldc, const tile_args<T>& t, V c00, V c01, V c10, V c11,
                                            V c20, V c21, V c30, V c31, V c40, V c41, V c50, V c51) {
  using S = avx<T>;
  const bool full = t.n == 2 * S::W;
  const __m256i m0 = S::mask(t.n), m1 = S::mask(t.n - S::W);
  store_row<T>(0, c00, c01, c, ldc, t, full, m0, m1);
  store_row<T>(1, c10, c11, c, ldc, t, full, m0, m1);
  store_row<T>(2, c20, c21, c, ldc, t, full, m0, m1);
  store_row<T>(3, c30, c31, c, ldc, t, full, m0, m1);
  store_row<T>(4, c40, c41, c, ldc, t, full, m0, m1);
  store_row<T>(5, c50, c51, c, ldc, t, full, m0, m1);
}
#endif

}  // namespace mxcpu
