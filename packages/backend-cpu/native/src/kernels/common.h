// Shared helpers for the cpu backend's kernels: dtype traits, 16-bit float
// conversion, type dispatch and the pool's parallel_for. Kernel files include
// this and register themselves with MX_KERNEL at the bottom.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "mx_backend.h"

namespace mxcpu {

// ---- 16-bit floats stored as raw words; arithmetic is done in float.
struct f16 { uint16_t bits; };
struct bf16 { uint16_t bits; };

inline float f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
  if (exp == 0) {
    if (mant == 0) bits = sign;
    else {  // subnormal: normalize
      exp = 127 - 15 + 1;
      while (!(mant & 0x400)) { mant <<= 1; exp--; }
      bits = sign | (exp << 23) | ((mant & 0x3ff) << 13);
    }
  } else if (exp == 0x1f) bits = sign | 0x7f800000 | (mant << 13);
  else bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  float f; std::memcpy(&f, &bits, 4); return f;
}
// Round to nearest even; NaN stays NaN, overflow gives inf.
inline uint16_t f32_to_f16(float f) {
  uint32_t b; std::memcpy(&b, &f, 4);
  uint32_t sign = (b >> 16) & 0x8000, exp = (b >> 23) & 0xff, mant = b & 0x7fffff;
  if (exp == 0xff) return (uint16_t)(sign | 0x7c00 | (mant ? 0x200 : 0));
  int e = (int)exp - 127 + 15;
  if (e >= 0x1f) return (uint16_t)(sign | 0x7c00);
  if (e <= 0) {
    if (e < -10) return (uint16_t)sign;
    mant |= 0x800000;
    int shift = 14 - e;
    uint32_t h = mant >> shift, rem = mant & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1))) h++;
    return (uint16_t)(sign | h);
  }
  uint32_t h = ((uint32_t)e << 10) | (mant >> 13), rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) h++;
  return (uint16_t)(sign | h);
}
inline float bf16_to_f32(uint16_t h) { uint32_t b = (uint32_t)h << 16; float f; std::memcpy(&f, &b, 4); return f; }
inline uint16_t f32_to_bf16(float f) {
  uint32_t b; std::memcpy(&b, &f, 4);
  if ((b & 0x7fffffff) > 0x7f800000) return (uint16_t)((b >> 16) | 0x40);
  return (uint16_t)((b + 0x7fff + ((b >> 16) & 1)) >> 16);
}

// Load/store any element type as its compute type (float for 16-bit floats).
template <class T> struct compute { using type = T; };
template <> struct compute<f16> { using type = float; };
template <> struct compute<bf16> { using type = float; };
template <class T> using compute_t = typename compute<T>::type;

template <class T> inline compute_t<T> load(const T& x) { return x; }
template <> inline float load<f16>(const f16& x) { return f16_to_f32(x.bits); }
template <> inline float load<bf16>(const bf16& x) { return bf16_to_f32(x.bits); }
template <class T, class V> inline T store(V v) { return (T)v; }
template <> inline f16 store<f16, float>(float v) { return f16{f32_to_f16(v)}; }
template <> inline bf16 store<bf16, float>(float v) { return bf16{f32_to_bf16(v)}; }
template <> inline f16 store<f16, double>(double v) { return f16{f32_to_f16((float)v)}; }
template <> inline bf16 store<bf16, double>(double v) { return bf16{f32_to_bf16((float)v)}; }

// Calls f(T{}) with the C++ type of an mx_dtype; returns false for an unknown dtype.
template <class F> inline bool dispatch(int32_t dtype, F&& f) {
  switch (dtype) {
    case MX_FLOAT32: f(float{}); return true;
    case MX_FLOAT64: f(double{}); return true;
    case MX_FLOAT16: f(f16{}); return true;
    case MX_BFLOAT16: f(bf16{}); return true;
    case MX_INT8: f(int8_t{}); return true;
    case MX_UINT8: f(uint8_t{}); return true;
    case MX_INT16: f(int16_t{}); return true;
    case MX_UINT16: f(uint16_t{}); return true;
    case MX_INT32: f(int32_t{}); return true;
    case MX_UINT32: f(uint32_t{}); return true;
    case MX_INT64: f(int64_t{}); return true;
    case MX_UINT64: f(uint64_t{}); return true;
    case MX_BOOL: f(bool{}); return true;
    default: return false;
  }
}

inline int64_t numel(const mx_tensor& t) { return mx_numel(&t); }

// parallel_for over [0, n) with a C++ lambda; runs inline when the pool is absent or n is small.
template <class F> inline void parallel_for(const mx_pool* pool, int64_t n, int64_t grain, F&& f) {
  if (!pool || n <= grain || pool->num_threads(pool->self) <= 1) { if (n > 0) f((int64_t)0, n); return; }
  using Fn = std::remove_reference_t<F>;
  auto tramp = [](void* c, int64_t b, int64_t e) { (*static_cast<Fn*>(c))(b, e); };
  pool->parallel_for(pool->self, n, grain, tramp, const_cast<void*>(static_cast<const void*>(&f)));
}

// x86-64 feature checks for run-time dispatch (one binary for every x86-64).
bool cpu_has_avx2_fma();
bool cpu_has_avx512f();
bool cpu_has_avx512vl();  // with AVX2 and FMA: 32 ymm registers

}  // namespace mxcpu
