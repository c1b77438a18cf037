// narrow.cuh: the narrow element types (float8 e4m3fn/e4m3fnuz/e5m2/e5m2fnuz/e8m0,
// float4e2m1, int4/uint4/int2/uint2) for Cast/CastLike (cast.cu) and
// QuantizeLinear/DequantizeLinear (quant.cu). Inside mx every element takes one
// byte (mx_backend.h): float8 its bit pattern, float4e2m1 the low nibble, int4/int2
// a sign-extended int8, uint4/uint2 a uint8; only the ONNX loader sees the packed
// layout. Conversions are @mx/backend-cpu's (narrow.h), after ONNX Cast-25:
//  - float8/float4 round to nearest even. With `saturate` (and always for
//    float4e2m1) magnitudes beyond the largest finite value, infinities too, clamp
//    to it; otherwise they give inf (e5m2) or NaN (fn: S.1111.111 with the sign,
//    fnuz: 0x80). NaN gives the canonical NaN: 0x7F fn, 0x7E e5m2, 0x80 fnuz, 0x8
//    (-0) float4e2m1. fnuz has no -0: a result that rounds to zero is +0.
//  - e8m0 (2^(bits - 127), 0xFF NaN) is taken from the float32 exponent field, the
//    sign ignored; round_mode up/down/nearest as ONNX; saturate keeps 2^127 from
//    rounding up to NaN; inf and NaN give 0xFF.
//  - the integers wrap to their width (two's complement); a float is first
//    truncated toward zero to int64 (saturating, NaN 0) as Cast to int64 does.
// Decoding is exact in float. Integer sources go through double to a narrow float
// (one rounding), 16-bit floats through float.
#pragma once

#include <cstring>
#include <limits>

#include "common.cuh"

namespace mxcuda {

// The narrow dtypes as X(storage type, key, args...), like common.cuh's lists.
#define MXC_NARROW_TYPES(X, ...)                                                                                 \
  X(uint8_t, "float8e4m3fn", __VA_ARGS__) X(uint8_t, "float8e4m3fnuz", __VA_ARGS__)                              \
  X(uint8_t, "float8e5m2", __VA_ARGS__) X(uint8_t, "float8e5m2fnuz", __VA_ARGS__)                                \
  X(uint8_t, "float8e8m0", __VA_ARGS__) X(uint8_t, "float4e2m1", __VA_ARGS__) X(uint8_t, "int4", __VA_ARGS__)    \
  X(uint8_t, "uint4", __VA_ARGS__) X(uint8_t, "int2", __VA_ARGS__) X(uint8_t, "uint2", __VA_ARGS__)

inline bool is_narrow(int dtype) { return dtype >= MX_FLOAT8E4M3FN && dtype <= MX_INT2; }
inline bool is_narrow_int(int dtype) { return dtype == MX_INT4 || dtype == MX_UINT4 || dtype == MX_INT2 || dtype == MX_UINT2; }

// One narrow dtype with what converting to and from it needs; built on the host
// (narrow_of) and passed to kernels by value.
struct Narrow {
  enum Kind : int { kFloat, kE8m0, kInt };
  enum Special : int { kIeee, kFn, kFnuz, kNone };  // where inf/NaN live (kFloat)
  int kind;
  int ebits, mbits, bias;  // kFloat: the fields; kInt: mbits = the width
  unsigned max_code;       // kFloat: bits of the largest finite magnitude
  double max;              // kFloat: that magnitude
  int special;
  bool is_signed;          // kInt
  bool saturate;           // Cast's / QuantizeLinear's saturate
  int rounding;            // e8m0: 0 up, 1 down, 2 nearest (Cast's round_mode)

  // ---- decoding: the value of a stored byte (kInt: the integer it holds)
  __device__ __forceinline__ int64_t int_value(uint8_t b) const { return is_signed ? (int64_t)(int8_t)b : (int64_t)b; }
  __device__ __forceinline__ float decode(uint8_t b) const {
    if (kind == kInt) return (float)int_value(b);
    if (kind == kE8m0) return b == 0xff ? NAN : ldexpf(1.0f, (int)b - 127);
    if (ebits + mbits < 7) b &= 0xf;  // float4e2m1: the low nibble
    const unsigned field = (b >> mbits) & ((1u << ebits) - 1), mant = b & ((1u << mbits) - 1);
    const bool neg = (b >> (ebits + mbits)) & 1;
    if ((special == kFnuz && b == 0x80) || (special == kFn && (b & 0x7f) == 0x7f)) return NAN;
    if (special == kIeee && field == (1u << ebits) - 1) return mant ? NAN : neg ? -INFINITY : INFINITY;
    // subnormal: mant * 2^(1 - bias - mbits); normal: (2^mbits + mant) * 2^(field - bias - mbits)
    const float mag = field == 0 ? ldexpf((float)mant, 1 - bias - mbits) : ldexpf((float)((1u << mbits) | mant), (int)field - bias - mbits);
    return neg ? -mag : mag;
  }

  // ---- encoding: the stored byte for v of any standard type, as Cast converts it
  template <class T> __device__ __forceinline__ uint8_t operator()(T v) const {
    if constexpr (std::is_integral<T>::value) {  // bool too
      if (kind == kInt) return wrap((int64_t)v);  // uint64 beyond int64 keeps its low bits
      return from_float((double)v);
    } else {
      return from_float(up(v));  // float, double; 16-bit floats as float
    }
  }
  template <class F> __device__ __forceinline__ uint8_t from_float(F x) const {
    if (kind == kFloat) return encode_float(x);
    if (kind == kE8m0) return encode_e8m0((float)x);
    return wrap(convert<int64_t>(x));
  }
  __device__ __forceinline__ uint8_t wrap(int64_t v) const {
    const unsigned low = (unsigned)((uint64_t)v & ((1u << mbits) - 1));
    if (!is_signed || !(low >> (mbits - 1))) return (uint8_t)low;
    return (uint8_t)(low | (0xffu << mbits));  // sign-extended into the byte
  }
  __device__ __forceinline__ uint8_t overflow(unsigned sign) const {
    if (special == kFnuz) return 0x80;
    if (special == kFn) return (uint8_t)(sign | 0x7f);
    return (uint8_t)(sign | (((1u << ebits) - 1) << mbits));  // ieee: inf
  }
  // Integer rounding on x's binary representation: |x| = m * 2^(E - digits) with m
  // its significand (the implicit bit included for normal x); the result counts
  // quanta of 2^(e - mbits), e = max(E, the format's smallest normal exponent), so
  // it is m shifted right by s, rounded half to even on the bits shifted out.
  template <class F> __device__ uint8_t encode_float(F x) const {
    using U = typename bits<sizeof(F)>::type;
    constexpr int kDigits = std::numeric_limits<F>::digits - 1, kExpMax = 2 * std::numeric_limits<F>::max_exponent - 1;
    constexpr int kBias = std::numeric_limits<F>::max_exponent - 1;
    const unsigned sign_bit = 1u << (ebits + mbits);
    if (x != x) return special == kFnuz ? 0x80 : special == kNone ? sign_bit : special == kFn ? 0x7f : 0x7e;
    U u;
    memcpy(&u, &x, sizeof u);
    const unsigned sign = (u >> (8 * sizeof(F) - 1)) ? sign_bit : 0;
    F a = fabs(x);
    if (saturate || special == kNone) a = fmin(a, (F)max);
    memcpy(&u, &a, sizeof u);
    const int field = (int)(u >> kDigits);
    if (field == kExpMax) return overflow(sign);  // infinity
    U m = u & ((U(1) << kDigits) - 1);
    if (field) m |= U(1) << kDigits;
    const int E = (field ? field : 1) - kBias, emin = 1 - bias;
    int e = E > emin ? E : emin;  // a subnormal F is far below emin
    const int s = kDigits - mbits + (e - E);
    U r = 0;
    if (s <= kDigits + 1) {  // else m < 2^(s - 1): below half a quantum
      const U rest = m & ((U(1) << s) - 1), half = U(1) << (s - 1);
      r = m >> s;
      if (rest > half || (rest == half && (r & 1))) r++;
    }
    if (r == 0) return (uint8_t)(special == kFnuz ? 0 : sign);
    if (r == U(2) << mbits) r >>= 1, e++;  // rounded up to the next power of two
    // r < 2^mbits only below emin: a subnormal code
    const unsigned code = r < (U(1) << mbits) ? (unsigned)r : ((unsigned)(e + bias) << mbits) | (unsigned)(r - (U(1) << mbits));
    return code > max_code ? overflow(sign) : (uint8_t)(sign | code);
  }
  __device__ __forceinline__ uint8_t encode_e8m0(float x) const {
    uint32_t b;
    memcpy(&b, &x, 4);
    unsigned e = (b >> 23) & 0xff;
    if (e == 0xff) return 0xff;
    const bool up = rounding == 0 ? (b & 0x7fffff) != 0 : rounding == 2 ? (b & 0x400000) && ((b & 0x3fffff) || e > 0) : false;
    if (up && !(saturate && e == 0xfe)) e++;
    return (uint8_t)e;
  }
};

// The Narrow of a narrow dtype; `at` gives saturate (default 1) and round_mode
// (default "up"), null for the defaults.
inline Narrow narrow_of(int dtype, const mx_attrs* at) {
  Narrow n{};
  n.saturate = mx_attr_int(at, "saturate", 1) != 0;
  const char* r = mx_attr_string(at, "round_mode", "up");
  n.rounding = std::strcmp(r, "down") == 0 ? 1 : std::strcmp(r, "nearest") == 0 ? 2 : 0;
  const auto fmt = [&](int e, int m, int bias, double max, unsigned code, int sp) {
    n.kind = Narrow::kFloat;
    n.ebits = e, n.mbits = m, n.bias = bias, n.max = max, n.max_code = code, n.special = sp;
  };
  switch (dtype) {
    case MX_FLOAT8E4M3FN: fmt(4, 3, 7, 448, 0x7e, Narrow::kFn); break;
    case MX_FLOAT8E4M3FNUZ: fmt(4, 3, 8, 240, 0x7f, Narrow::kFnuz); break;
    case MX_FLOAT8E5M2: fmt(5, 2, 15, 57344, 0x7b, Narrow::kIeee); break;
    case MX_FLOAT8E5M2FNUZ: fmt(5, 2, 16, 57344, 0x7f, Narrow::kFnuz); break;
    case MX_FLOAT4E2M1: fmt(2, 1, 1, 6, 0x7, Narrow::kNone); break;
    case MX_FLOAT8E8M0: n.kind = Narrow::kE8m0; break;
    default:
      n.kind = Narrow::kInt;
      n.mbits = dtype == MX_INT4 || dtype == MX_UINT4 ? 4 : 2;
      n.is_signed = dtype == MX_INT4 || dtype == MX_INT2;
  }
  return n;
}

// The [lo, hi] range of a narrow integer dtype.
inline void narrow_int_range(int dtype, double* lo, double* hi) {
  const Narrow n = narrow_of(dtype, nullptr);
  *lo = n.is_signed ? -std::ldexp(1.0, n.mbits - 1) : 0;
  *hi = n.is_signed ? std::ldexp(1.0, n.mbits - 1) - 1 : std::ldexp(1.0, n.mbits) - 1;
}

}  // namespace mxcuda
