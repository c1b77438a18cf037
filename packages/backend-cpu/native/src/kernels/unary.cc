// Unary elementwise math: y = f(x), same shape. 16-bit floats compute in float,
// float32 in float (simd.h's vectorized exp/log/erf, else libm; within a few
// ulp), float64 in double. Integer Abs and Neg wrap (|INT_MIN| = INT_MIN); Round
// is half to even (the current rounding mode, which nothing here changes from
// round-to-nearest); integer Erf computes in double and truncates.
#include "elementwise.h"

#include <cmath>
#include <limits>

namespace mxcpu {
namespace {

template <class C> using real_t = std::conditional_t<is_int_v<C>, double, C>;

template <class C> inline MXCPU_INLINE C abs_of(C x) {
  if constexpr (std::is_unsigned_v<C>) return x;
  else if constexpr (is_int_v<C>) return x < 0 ? wneg(x) : x;
  else return std::fabs(x);
}
template <class C> inline MXCPU_INLINE C sign_of(C x) {
  if constexpr (is_int_v<C>) return C((x > 0) - (x < 0));
  else return x > 0 ? C(1) : x < 0 ? C(-1) : x;  // 0 and NaN pass through
}

MXCPU_UNARY_OP(op_abs, true, abs_of(x))
MXCPU_UNARY_OP(op_neg, true, wneg(x))
MXCPU_UNARY_OP(op_sign, true, sign_of(x))
MXCPU_UNARY_OP(op_reciprocal, true, C(1) / x)
MXCPU_UNARY_OP(op_floor, true, std::floor(x))
MXCPU_UNARY_OP(op_ceil, true, std::ceil(x))
MXCPU_UNARY_OP(op_round, true, std::nearbyint(x))
MXCPU_UNARY_OP(op_sqrt, false, std::sqrt(x))  // a call: it may set errno
MXCPU_UNARY_OP(op_exp, true, exp_of(x))
MXCPU_UNARY_OP(op_log, true, log_of(x))
MXCPU_UNARY_OP(op_sin, false, std::sin(x))
MXCPU_UNARY_OP(op_cos, false, std::cos(x))
MXCPU_UNARY_OP(op_tan, false, std::tan(x))
MXCPU_UNARY_OP(op_asin, false, std::asin(x))
MXCPU_UNARY_OP(op_acos, false, std::acos(x))
MXCPU_UNARY_OP(op_atan, false, std::atan(x))
MXCPU_UNARY_OP(op_sinh, false, std::sinh(x))
MXCPU_UNARY_OP(op_cosh, false, std::cosh(x))
MXCPU_UNARY_OP(op_asinh, false, std::asinh(x))
MXCPU_UNARY_OP(op_acosh, false, std::acosh(x))
MXCPU_UNARY_OP(op_atanh, false, std::atanh(x))
MXCPU_UNARY_OP(op_erf, true, erf_of((real_t<C>)x))
MXCPU_UNARY_OP(op_isnan, true, x != x)
MXCPU_UNARY_OP(op_not, true, !x)
MXCPU_UNARY_OP(op_bitnot, true, C(~x))

struct op_isinf : stateless {
  bool neg, pos;
  explicit op_isinf(const mx_attrs* at)
      : stateless(at), neg(mx_attr_int(at, "detect_negative", 1) != 0), pos(mx_attr_int(at, "detect_positive", 1) != 0) {}
  template <class C> MXCPU_INLINE bool operator()(C x) const {
    const C inf = std::numeric_limits<C>::infinity();
    return (pos && x == inf) || (neg && x == -inf);
  }
};

}  // namespace
}  // namespace mxcpu

using namespace mxcpu;

#define REG_UNARY(T, key, name, op) MX_KERNEL(name, key, (unary_kernel<op, T>));
#define REG_PREDICATE(T, key, name, op) MX_KERNEL(name, key, (unary_kernel<op, T, bool>));

MXCPU_NUMERIC_TYPES(REG_UNARY, "Abs", op_abs)
MXCPU_SIGNED_TYPES(REG_UNARY, "Neg", op_neg)
MXCPU_NUMERIC_TYPES(REG_UNARY, "Sign", op_sign)
MXCPU_FLOAT_TYPES(REG_UNARY, "Reciprocal", op_reciprocal)
MXCPU_FLOAT_TYPES(REG_UNARY, "Floor", op_floor)
MXCPU_FLOAT_TYPES(REG_UNARY, "Ceil", op_ceil)
MXCPU_FLOAT_TYPES(REG_UNARY, "Round", op_round)
MXCPU_FLOAT_TYPES(REG_UNARY, "Sqrt", op_sqrt)
MXCPU_FLOAT_TYPES(REG_UNARY, "Exp", op_exp)
MXCPU_FLOAT_TYPES(REG_UNARY, "Log", op_log)
MXCPU_FLOAT_TYPES(REG_UNARY, "Sin", op_sin)
MXCPU_FLOAT_TYPES(REG_UNARY, "Cos", op_cos)
MXCPU_FLOAT_TYPES(REG_UNARY, "Tan", op_tan)
MXCPU_FLOAT_TYPES(REG_UNARY, "Asin", op_asin)
MXCPU_FLOAT_TYPES(REG_UNARY, "Acos", op_acos)
MXCPU_FLOAT_TYPES(REG_UNARY, "Atan", op_atan)
MXCPU_FLOAT_TYPES(REG_UNARY, "Sinh", op_sinh)
MXCPU_FLOAT_TYPES(REG_UNARY, "Cosh", op_cosh)
MXCPU_FLOAT_TYPES(REG_UNARY, "Asinh", op_asinh)
MXCPU_FLOAT_TYPES(REG_UNARY, "Acosh", op_acosh)
MXCPU_FLOAT_TYPES(REG_UNARY, "Atanh", op_atanh)
MXCPU_NUMERIC_TYPES(REG_UNARY, "Erf", op_erf)
MXCPU_FLOAT_TYPES(REG_PREDICATE, "IsNaN", op_isnan)
MXCPU_FLOAT_TYPES(REG_PREDICATE, "IsInf", op_isinf)
MX_KERNEL("Not", "", (unary_kernel<op_not, bool>));
MXCPU_INT_TYPES(REG_UNARY, "BitwiseNot", op_bitnot)
