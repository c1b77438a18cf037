// The narrow element types (float8 e4m3fn/e4m3fnuz/e5m2/e5m2fnuz/e8m0,
// float4e2m1, int4/uint4/int2/uint2), one byte per element as mx_backend.h says.
// Decoding is a 256-entry table (every narrow value is exact in float);
// encoding follows ONNX Cast-25 (whose reference is ml_dtypes), like core's
// narrow.ts:
//  - float8/float4: round to nearest even; saturate clamps beyond the largest
//    finite value (infinities too), otherwise overflow is inf (e5m2) or NaN
//    (fn, fnuz) with the sign kept where the format has one. float4e2m1 has no
//    inf or NaN and always saturates. NaN gives the canonical NaN (0x7F fn, 0x7E
//    e5m2, 0x80 fnuz, 0x8 (-0) float4e2m1). fnuz has no -0: it becomes +0.
//  - e8m0: 2^(bits - 127), from the float32 exponent field (sign ignored);
//    round_mode up/down/nearest as ONNX; saturate keeps 2^127 from rounding to
//    NaN (0xFF); inf/NaN give 0xFF.
//  - integers wrap to their width (two's complement); floats are first truncated
//    toward zero to int64 (saturating, NaN 0) as Cast to int64 does.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "common.h"

namespace mxcpu::narrow {

inline bool is_narrow(int32_t dtype) { return dtype >= MX_FLOAT8E4M3FN && dtype <= MX_INT2; }
inline bool is_int(int32_t dtype) { return dtype == MX_INT4 || dtype == MX_UINT4 || dtype == MX_INT2 || dtype == MX_UINT2; }
inline bool is_signed_int(int32_t dtype) { return dtype == MX_INT4 || dtype == MX_INT2; }
inline int int_bits(int32_t dtype) { return dtype == MX_INT4 || dtype == MX_UINT4 ? 4 : 2; }
// The [lo, hi] range of a narrow integer type.
inline void int_range(int32_t dtype, double* lo, double* hi) {
  const int b = int_bits(dtype);
  *lo = is_signed_int(dtype) ? -std::ldexp(1.0, b - 1) : 0;
  *hi = is_signed_int(dtype) ? std::ldexp(1.0, b - 1) - 1 : std::ldexp(1.0, b) - 1;
}

enum class special { ieee, fn, fnuz, none };
struct float_format {
  int ebits, mbits, bias;
  double max;        // largest finite magnitude
  unsigned max_code; // its bits
  special sp;
};
// nullptr for e8m0 and the integers.
inline const float_format* float_format_of(int32_t dtype) {
  static const float_format e4m3fn{4, 3, 7, 448, 0x7e, special::fn}, e4m3fnuz{4, 3, 8, 240, 0x7f, special::fnuz},
      e5m2{5, 2, 15, 57344, 0x7b, special::ieee}, e5m2fnuz{5, 2, 16, 57344, 0x7f, special::fnuz}, e2m1{2, 1, 1, 6, 0x7, special::none};
  switch (dtype) {
    case MX_FLOAT8E4M3FN: return &e4m3fn;
    case MX_FLOAT8E4M3FNUZ: return &e4m3fnuz;
    case MX_FLOAT8E5M2: return &e5m2;
    case MX_FLOAT8E5M2FNUZ: return &e5m2fnuz;
    case MX_FLOAT4E2M1: return &e2m1;
    default: return nullptr;
  }
}

inline float decode_float(const float_format& f, unsigned bits) {
  const int width = 1 + f.ebits + f.mbits;
  const float sign = (bits >> (width - 1)) & 1 ? -1.0f : 1.0f;
  const unsigned field = (bits >> f.mbits) & ((1u << f.ebits) - 1), mant = bits & ((1u << f.mbits) - 1);
  if (f.sp == special::fnuz && bits == 0x80) return NAN;
  if (f.sp == special::fn && (bits & 0x7f) == 0x7f) return NAN;
  if (f.sp == special::ieee && field == (1u << f.ebits) - 1) return mant ? NAN : sign * INFINITY;
  if (field == 0) return sign * std::ldexp((float)mant, 1 - f.bias - f.mbits);
  return sign * std::ldexp(1.0f + std::ldexp((float)mant, -f.mbits), (int)field - f.bias);
}

// Stored byte -> value, for every narrow dtype (int4/int2 bytes are sign-extended).
inline const float* decode_table(int32_t dtype) {
  struct tables {
    float t[MX_INT2 - MX_FLOAT8E4M3FN + 1][256];
    tables() {
      for (int32_t d = MX_FLOAT8E4M3FN; d <= MX_INT2; d++)
        for (unsigned b = 0; b < 256; b++) {
          float& v = t[d - MX_FLOAT8E4M3FN][b];
          if (const float_format* f = float_format_of(d)) v = decode_float(*f, d == MX_FLOAT4E2M1 ? b & 0xf : b);
          else if (d == MX_FLOAT8E8M0) v = b == 0xff ? NAN : std::ldexp(1.0f, (int)b - 127);
          else v = is_signed_int(d) ? (float)(int8_t)b : (float)b;
        }
    }
  };
  static const tables all;  // built once, thread-safe
  return all.t[dtype - MX_FLOAT8E4M3FN];
}

// x (float or double, so that each source rounds once) to the format's bits.
// Exact integer arithmetic on the binary representation, no libm: the
// magnitude scaled by 2^(mbits - e) (e: x's exponent, at least the format's
// smallest normal one) is below 2^(mbits + 1), and adding 2^digits(F) rounds
// it to an integer, half to even.
template <class F> inline uint8_t encode_float(const float_format& f, F x, bool saturate) {
  using U = std::conditional_t<sizeof(F) == 4, uint32_t, uint64_t>;
  constexpr int kMant = std::numeric_limits<F>::digits - 1, kBias = std::numeric_limits<F>::max_exponent - 1;
  const auto pow2 = [](int e) { const U u = (U)(e + kBias) << kMant; F v; std::memcpy(&v, &u, sizeof v); return v; };  // normal e
  const unsigned sign_bit = 1u << (f.ebits + f.mbits);
  if (x != x) return f.sp == special::fnuz ? 0x80 : f.sp == special::none ? sign_bit : f.sp == special::fn ? 0x7f : 0x7e;
  const unsigned sign = std::signbit(x) ? sign_bit : 0;
  const auto overflow = [&]() -> uint8_t {
    if (f.sp == special::fnuz) return 0x80;
    if (f.sp == special::fn) return (uint8_t)(sign | 0x7f);
    return (uint8_t)(sign | (((1u << f.ebits) - 1) << f.mbits));  // ieee: inf
  };
  F a = std::fabs(x);
  if (saturate || f.sp == special::none) a = std::min(a, (F)f.max);
  if (a > std::numeric_limits<F>::max()) return overflow();  // inf
  U ab;
  std::memcpy(&ab, &a, sizeof ab);
  const int emin = 1 - f.bias;
  int e = std::max(emin, (int)(ab >> kMant) - kBias);  // a subnormal F is far below emin
  unsigned r = (unsigned)((a * pow2(f.mbits - e) + pow2(kMant)) - pow2(kMant));
  if (r == 0) return (uint8_t)(f.sp == special::fnuz ? 0 : sign);
  if (r == 2u << f.mbits) r >>= 1, e++;  // rounded up to the next power of two
  const unsigned code = r < (1u << f.mbits) ? r : ((unsigned)(e + f.bias) << f.mbits) | (r - (1u << f.mbits));  // r < 2^mbits: subnormal
  return code > f.max_code ? overflow() : (uint8_t)(sign | code);
}

enum class e8m0_rounding { up, down, nearest };
inline uint8_t encode_e8m0(float x, bool saturate, e8m0_rounding mode) {
  uint32_t b;
  std::memcpy(&b, &x, 4);
  uint32_t e = (b >> 23) & 0xff;
  if (e == 0xff) return 0xff;
  bool up = false;
  if (mode == e8m0_rounding::up) up = (b & 0x7fffff) != 0;
  else if (mode == e8m0_rounding::nearest) up = (b & 0x400000) && ((b & 0x3fffff) || e > 0);
  if (up && !(saturate && e == 0xfe)) e++;
  return (uint8_t)e;
}

// Converts values of any standard element type to one narrow dtype, as Cast does.
struct encoder {
  int32_t dtype;
  const float_format* fmt;
  bool saturate;
  e8m0_rounding rounding;
  // attrs: Cast's saturate (default 1) and round_mode (default "up"); null for the defaults.
  encoder(int32_t d, const mx_attrs* attrs) : dtype(d), fmt(float_format_of(d)) {
    saturate = mx_attr_int(attrs, "saturate", 1) != 0;
    const char* r = mx_attr_string(attrs, "round_mode", "up");
    rounding = std::strcmp(r, "down") == 0 ? e8m0_rounding::down : std::strcmp(r, "nearest") == 0 ? e8m0_rounding::nearest : e8m0_rounding::up;
  }
  uint8_t wrap(int64_t v) const {
    const int b = int_bits(dtype);
    const uint8_t low = (uint8_t)((uint64_t)v & ((1u << b) - 1));
    return is_signed_int(dtype) ? (uint8_t)(int8_t)((int8_t)(low << (8 - b)) >> (8 - b)) : low;
  }
  template <class F> uint8_t from_float(F x) const {
    if (fmt) return encode_float(*fmt, x, saturate);
    if (dtype == MX_FLOAT8E8M0) return encode_e8m0((float)x, saturate, rounding);
    // truncate toward zero into int64, saturating (NaN gives 0), then wrap
    if (x != x) return 0;
    if (x >= (F)9223372036854775808.0) return wrap(INT64_MAX);
    if (x < (F)-9223372036854775808.0) return wrap(INT64_MIN);
    return wrap((int64_t)x);
  }
  template <class T> uint8_t operator()(T v) const {
    if constexpr (std::is_integral_v<T>) {
      if (is_int(dtype)) return wrap((int64_t)v);  // uint64 beyond int64 keeps its low bits
      return from_float((double)v);
    } else {
      return from_float(load(v));  // float or double
    }
  }
};

}  // namespace mxcpu::narrow
