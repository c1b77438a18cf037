// float32 exp, expm1, tanh and sigmoid written without branches or libm calls,
// so that the loops of simd() auto-vectorize. Accuracy: within 3 ulp of the
// exact result (checked against double-precision libm) over the whole float
// range; NaN propagates, overflow gives inf, underflow 0 (subnormal results
// included). The *_of templates pick them for float and libm for double.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace mxcpu {

inline float bits_to_f32(uint32_t b) { float f; std::memcpy(&f, &b, 4); return f; }

// e^x = 2^k * e^r with k = round(x / ln 2) and |r| <= ln(2)/2; e^r by its Taylor
// polynomial to degree 7 (truncation < 1e-8 relative); 2^k as two exact powers of
// two, so that results down in the subnormal range scale correctly.
inline float exp_f32(float x) {
  float xc = x > -104.0f ? x : -104.0f;  // also maps NaN to a number: no UB in the int conversion
  xc = xc < 89.0f ? xc : 89.0f;
  const float shifter = 12582912.0f;                                 // 1.5 * 2^23: adding it rounds to an integer
  const float kf = (xc * 1.44269504088896341f + shifter) - shifter;
  const float r = (xc - kf * 0.693359375f) - kf * -2.12194440e-4f;  // ln 2 split: the first product is exact
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t k = (int32_t)kf, k1 = k / 2, k2 = k - k1;  // each half within [-75, 64]
  const float y = p * bits_to_f32((uint32_t)(k1 + 127) << 23) * bits_to_f32((uint32_t)(k2 + 127) << 23);
  return x != x ? x : y;
}

// e^x - 1: its Taylor polynomial (to x^9) for |x| < 0.5, where e^x - 1 would
// cancel; exp_f32(x) - 1 elsewhere.
inline float expm1_f32(float x) {
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
inline float tanh_f32(float x) {
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
inline float sigmoid_f32(float x) {
  const float e = exp_f32(x < 0 ? x : -x), r = 1.0f / (1.0f + e);
  return x < 0 ? e * r : r;
}

template <class C> inline C exp_of(C x) {
  if constexpr (std::is_same_v<C, float>) return exp_f32(x);
  else return std::exp(x);
}
template <class C> inline C expm1_of(C x) {
  if constexpr (std::is_same_v<C, float>) return expm1_f32(x);
  else return std::expm1(x);
}
template <class C> inline C tanh_of(C x) {
  if constexpr (std::is_same_v<C, float>) return tanh_f32(x);
  else return std::tanh(x);
}
template <class C> inline C sigmoid_of(C x) {
  if constexpr (std::is_same_v<C, float>) return sigmoid_f32(x);
  else return C(1) / (C(1) + std::exp(-x));
}

}  // namespace mxcpu
