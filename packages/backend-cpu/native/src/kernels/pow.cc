// Pow with NumPy broadcasting: y = a ^ b, base T (int32, int64, float types),
// exponent T1 (any numeric type). Integer base with integer exponent: exact power
// by squaring, wrapping on overflow; a negative exponent gives 1 / a^|b| truncated
// (0 unless a is 1 or -1). Otherwise pow() in float, or in double when either
// operand is float64; an integer base with a float exponent truncates the result.
#include "broadcast.h"

#include <cmath>

namespace mxcpu {
namespace {

struct op_pow {
  static constexpr bool kVec = false;
  explicit op_pow(const mx_attrs*) {}
  template <class C, class E> MXCPU_INLINE auto operator()(C a, E b) const {
    if constexpr (is_int_v<C> && is_int_v<E>) {
      if (b < 0) return a == 1 ? C(1) : a == C(-1) ? C((b & 1) ? -1 : 1) : C(0);
      C r = 1;
      for (uint64_t e = (uint64_t)b; e; e >>= 1, a = wmul(a, a))
        if (e & 1) r = wmul(r, a);
      return r;
    } else if constexpr (is_int_v<C>) {
      return std::pow((double)a, (double)b);
    } else {
      using W = std::conditional_t<std::is_same_v<C, double> || std::is_same_v<E, double>, double, float>;
      const W x = (W)a, y = (W)b;
      if (y == W(2)) return x * x;  // the common square: exact either way, and cheap
      return std::pow(x, y);
    }
  }
};

}  // namespace
}  // namespace mxcpu

using namespace mxcpu;

#define REG_POW(T1, key1, T, key) MX_KERNEL("Pow", key "," key1, (binary_kernel<op_pow, T, T1, T>));

MXCPU_NUMERIC_TYPES(REG_POW, int32_t, "int32")
MXCPU_NUMERIC_TYPES(REG_POW, int64_t, "int64")
MXCPU_NUMERIC_TYPES(REG_POW, float, "float32")
MXCPU_NUMERIC_TYPES(REG_POW, double, "float64")
MXCPU_NUMERIC_TYPES(REG_POW, f16, "float16")
MXCPU_NUMERIC_TYPES(REG_POW, bf16, "bfloat16")
