// float32 exp, expm1, log, log1p, tanh, sigmoid, erf and erfc written without
// branches or libm calls, so that the loops of simd() auto-vectorize. Accuracy against
// double-precision libm over the whole float range: within 3 ulp (erfc within
// 6); NaN propagates, overflow gives inf, underflow 0 (subnormal results
// included). The *_of templates pick these for float and libm for double.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

// Forces a helper or lambda into its caller: code written once is then compiled
// inside each ISA's entry point (elementwise.h's simd()), and loops that call
// these math functions can vectorize.
#define MXCPU_INLINE __attribute__((always_inline))

namespace mxcpu {

inline MXCPU_INLINE float bits_to_f32(uint32_t b) { float f; std::memcpy(&f, &b, 4); return f; }

// e^(x + lo) for x + lo in [-104, 89]: 2^k * e^r with k = round((x + lo) / ln 2)
// and |r| <= ln(2)/2; e^r by its Taylor polynomial to degree 7 (truncation
// < 1e-8 relative); 2^k as two exact powers of two, so that results down in the
// subnormal range scale correctly. lo carries bits of the argument that a single
// float cannot.
inline MXCPU_INLINE float exp_parts(float x, float lo) {
  const float shifter = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  const float kf = ((x + lo) * 1.44269504088896341f + shifter) - shifter;
  const float r = (x - kf * 0.693359375f) - kf * -2.12194440e-4f + lo;  // ln 2 split: the first product is exact
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t k = (int32_t)kf, k1 = k / 2, k2 = k - k1;  // each half within [-75, 64]
  return p * bits_to_f32((uint32_t)(k1 + 127) << 23) * bits_to_f32((uint32_t)(k2 + 127) << 23);
}

inline MXCPU_INLINE float exp_f32(float x) {
  float xc = x > -104.0f ? x : -104.0f;  // also maps NaN to a number: no UB in the int conversion
  xc = xc < 89.0f ? xc : 89.0f;
  const float y = exp_parts(xc, 0.0f);
  return x != x ? x : y;
}

// e^x - 1: its Taylor polynomial (to x^9) for |x| < 0.5, where e^x - 1 would
// cancel; exp_f32(x) - 1 elsewhere.
inline MXCPU_INLINE float expm1_f32(float x) {
  float p = 1.0f / 362880.0f;
  p = p * x + 1.0f / 40320.0f;
  p = p * x + 1.0f / 5040.0f;
  p = p * x + 1.0f / 720.0f;
  p = p * x + 1.0f / 120.0f;
  p = p * x + 1.0f / 24.0f;
  p = p * x + 1.0f / 6.0f;
  p = p * x + 0.5f;
  const float small = x * (1.0f + x * p), big = exp_f32(x) - 1.0f;  // x * (...) keeps -0
  return (x < 0 ? -x : x) < 0.5f ? small : big;  // NaN takes `big`, which is NaN
}

// tanh(x): an odd Taylor polynomial (to x^15) for |x| < 0.5, where the exp form
// would cancel; 1 - 2 / (e^(2|x|) + 1) with x's sign elsewhere.
inline MXCPU_INLINE float tanh_f32(float x) {
  const float a = x < 0 ? -x : x;
  const float big = 1.0f - 2.0f / (exp_f32(2.0f * a) + 1.0f);
  const float z = x * x;
  float p = -929569.0f / 638512875.0f;
  p = p * z + 21844.0f / 6081075.0f;
  p = p * z + -1382.0f / 155925.0f;
  p = p * z + 62.0f / 2835.0f;
  p = p * z + -17.0f / 315.0f;
  p = p * z + 2.0f / 15.0f;
  p = p * z + -1.0f / 3.0f;
  const float small = x * (1.0f + z * p);  // keeps -0
  return a < 0.5f ? small : x < 0 ? -big : x > 0 ? big : x;  // NaN and -0 pass through
}

// 1 / (1 + e^-x), as e^x / (1 + e^x) for x < 0 so that tiny results keep their
// precision instead of flushing once e^-x overflows.
inline MXCPU_INLINE float sigmoid_f32(float x) {
  const float e = exp_f32(x < 0 ? x : -x), r = 1.0f / (1.0f + e);
  return x < 0 ? e * r : r;
}

// erf(x) for |x| < 1 by its Taylor series to x^21 (truncation below 2e-9).
inline MXCPU_INLINE float erf_taylor(float x) {
  const float z = x * x;
  float p = 1.4807192815879218e-08f;
  p = p * z + -1.6365844691234924e-07f;
  p = p * z + 1.6462114365889246e-06f;
  p = p * z + -1.492565035840625e-05f;
  p = p * z + 0.00012055332981789664f;
  p = p * z + -0.0008548327023450852f;
  p = p * z + 0.005223977625442188f;
  p = p * z + -0.026866170645131252f;
  p = p * z + 0.11283791670955126f;
  p = p * z + -0.37612638903183754f;
  p = p * z + 1.1283791670955126f;
  return x * p;
}

// erfc(z) for z >= 0 (NaN gives a number): t e^(-z^2 + P(t)), t = 1 / (1 + z/2),
// the Chebyshev fit of Numerical Recipes (relative error below 1.2e-7). p - z^2
// is carried as hi + lo so that its rounding does not dominate for large z.
inline MXCPU_INLINE float erfc_tail(float z) {
  z = z < 10.0f ? z : 10.0f;  // erfc(10) < 2^-149
  const float t = 1.0f / (1.0f + 0.5f * z);
  float p = 0.17087277f;
  p = p * t + -0.82215223f;
  p = p * t + 1.48851587f;
  p = p * t + -1.13520398f;
  p = p * t + 0.27886807f;
  p = p * t + -0.18628806f;
  p = p * t + 0.09678418f;
  p = p * t + 0.37409196f;
  p = p * t + 1.00002368f;
  p = p * t + -1.26551223f;
  // z with 12 significant bits squares exactly; the rounding error of
  // hi = p - zh^2 is recovered exactly (two-sum).
  uint32_t zb;
  std::memcpy(&zb, &z, 4);
  const float zh = bits_to_f32(zb & 0xfffff000u), sq = -(zh * zh);
  const float hi = sq + p, b = hi - sq, err = (sq - (hi - b)) + (p - b);
  return t * exp_parts(hi, err + (zh - z) * (zh + z));
}

// erf: the Taylor series for |x| < 1, where 1 - erfc would cancel, else
// 1 - erfc(|x|) with x's sign. erfc: 1 - erf(x) for |x| < 1/2 (more accurate
// there than the fit), else the fit, reflected as 2 - erfc(-x) for x < 0.
inline MXCPU_INLINE float erf_f32(float x) {
  const float a = x < 0 ? -x : x, big = 1.0f - erfc_tail(a), small = erf_taylor(x);
  return x != x ? x : a < 1.0f ? small : x < 0 ? -big : big;
}
inline MXCPU_INLINE float erfc_f32(float x) {
  const float a = x < 0 ? -x : x, r = erfc_tail(a), small = 1.0f - erf_taylor(x);
  return x != x ? x : a < 0.5f ? small : x < 0 ? 2.0f - r : r;
}

// log(x) = e ln 2 + log(m), x = m 2^e with m in [sqrt(1/2), sqrt(2)); log(m) =
// 2 atanh(s), s = (m - 1) / (m + 1), |s| < 0.172, by its odd series to s^11
// (truncation below 1e-9), arranged as in fdlibm. Subnormal x are scaled up first; 0 gives -inf, x < 0
// NaN, inf inf.
inline MXCPU_INLINE float log_f32(float x) {
  const bool sub = x < 1.17549435e-38f;  // also true for 0 and negatives, handled below
  const float xs = sub ? x * 8388608.0f : x;
  uint32_t b;
  std::memcpy(&b, &xs, 4);
  int32_t e = (int32_t)((b >> 23) & 0xff) - 127 - (sub ? 23 : 0);
  float m = bits_to_f32((b & 0x7fffffu) | 0x3f800000u);
  const bool big = m > 1.41421356f;
  m = big ? 0.5f * m : m;
  e += big ? 1 : 0;
  // 2 atanh(s) = f - (f^2/2 - s (f^2/2 + R)) with f = m - 1 exact: the big terms
  // are exact or nearly, the rounding goes into small corrections.
  const float f = m - 1.0f, sr = f / (2.0f + f), z = sr * sr, hfsq = 0.5f * f * f;
  float r = 2.0f / 11.0f;
  r = r * z + 2.0f / 9.0f;
  r = r * z + 2.0f / 7.0f;
  r = r * z + 2.0f / 5.0f;
  r = r * z + 2.0f / 3.0f;
  const float logm = f - (hfsq - sr * (hfsq + r * z));
  const float ef = (float)e, y = ef * 0.693359375f + (logm + ef * -2.12194440e-4f);
  const float inf = bits_to_f32(0x7f800000u);
  return x > 0 ? (x < inf ? y : x) : x == 0 ? -inf : bits_to_f32(0x7fc00000u);  // NaN for x < 0 and NaN
}

// log(1 + x) = log(u) * x / (u - 1), u = 1 + x rounded: the quotient corrects
// the rounding of u (Kahan's trick), so tiny x keep full precision.
inline MXCPU_INLINE float log1p_f32(float x) {
  const float u = 1.0f + x, d = u - 1.0f, y = log_f32(u) * (x / d);
  return d == 0 ? x : x == bits_to_f32(0x7f800000u) ? x : y;
}

template <class C> inline MXCPU_INLINE C exp_of(C x) {
  if constexpr (std::is_same_v<C, float>) return exp_f32(x);
  else return std::exp(x);
}
template <class C> inline MXCPU_INLINE C expm1_of(C x) {
  if constexpr (std::is_same_v<C, float>) return expm1_f32(x);
  else return std::expm1(x);
}
template <class C> inline MXCPU_INLINE C tanh_of(C x) {
  if constexpr (std::is_same_v<C, float>) return tanh_f32(x);
  else return std::tanh(x);
}
template <class C> inline MXCPU_INLINE C log_of(C x) {
  if constexpr (std::is_same_v<C, float>) return log_f32(x);
  else return std::log(x);
}
template <class C> inline MXCPU_INLINE C log1p_of(C x) {
  if constexpr (std::is_same_v<C, float>) return log1p_f32(x);
  else return std::log1p(x);
}
template <class C> inline MXCPU_INLINE C erf_of(C x) {
  if constexpr (std::is_same_v<C, float>) return erf_f32(x);
  else return std::erf(x);
}
template <class C> inline MXCPU_INLINE C erfc_of(C x) {
  if constexpr (std::is_same_v<C, float>) return erfc_f32(x);
  else return std::erfc(x);
}
template <class C> inline MXCPU_INLINE C sigmoid_of(C x) {
  if constexpr (std::is_same_v<C, float>) return sigmoid_f32(x);
  else return C(1) / (C(1) + std::exp(-x));
}

}  // namespace mxcpu
