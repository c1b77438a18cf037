// Binary arithmetic, bitwise and logical ops with NumPy broadcasting: y = op(a, b).
// Core guarantees the inputs broadcast to the output's shape and the dtypes match
// the schema. Numerics: 16-bit floats compute in float; integers wrap on overflow;
// integer Div truncates toward zero; integer Div and Mod by zero give 0 and
// INT_MIN / -1 wraps (no SIGFPE); Mod with fmod=0 takes the divisor's sign
// (Python), fmod=1 the dividend's (C fmod); shifts by the bit width or more give 0.
#include "broadcast.h"

#include <cmath>

namespace mxcpu {
namespace {

MXCPU_BINARY_OP(op_add, wadd(a, b))
MXCPU_BINARY_OP(op_sub, wsub(a, b))
MXCPU_BINARY_OP(op_mul, wmul(a, b))
MXCPU_BINARY_OP(op_bitand, C(a & b))
MXCPU_BINARY_OP(op_bitor, C(a | b))
MXCPU_BINARY_OP(op_bitxor, C(a ^ b))
MXCPU_BINARY_OP(op_and, a && b)
MXCPU_BINARY_OP(op_or, a || b)
MXCPU_BINARY_OP(op_xor, a != b)

struct op_div : stateless {
  using stateless::stateless;
  template <class C> MXCPU_INLINE C operator()(C a, C b) const {
    if constexpr (is_int_v<C>) {
      if (b == 0) return 0;
      if (std::is_signed_v<C> && b == C(-1)) return wneg(a);  // INT_MIN / -1 traps in hardware
      return C(a / b);
    } else {
      return a / b;
    }
  }
};

struct op_mod {
  static constexpr bool kVec = false;
  bool c_fmod;
  explicit op_mod(const mx_attrs* at) : c_fmod(mx_attr_int(at, "fmod", 0) != 0) {}
  template <class C> MXCPU_INLINE C operator()(C a, C b) const {
    C r;
    if constexpr (is_int_v<C>) {
      if (b == 0 || (std::is_signed_v<C> && b == C(-1))) return 0;
      r = C(a % b);
    } else {
      r = std::fmod(a, b);
    }
    if (!c_fmod && r != 0 && ((r < 0) != (b < 0))) r = C(r + b);
    return r;
  }
};

struct op_bitshift {
  static constexpr bool kVec = true;
  bool left;
  explicit op_bitshift(const mx_attrs* at) : left(std::strcmp(mx_attr_string(at, "direction", "LEFT"), "LEFT") == 0) {}
  template <class C> MXCPU_INLINE C operator()(C a, C b) const {
    if (b >= C(sizeof(C) * 8)) return 0;  // a full-width shift is UB in C++; ONNX shifts every bit out
    return left ? C(a << b) : C(a >> b);
  }
};

}  // namespace
}  // namespace mxcpu

using namespace mxcpu;

#define REG_BINARY(T, key, name, op) MX_KERNEL(name, key, (binary_kernel<op, T>));

MXCPU_NUMERIC_TYPES(REG_BINARY, "Add", op_add)
MXCPU_NUMERIC_TYPES(REG_BINARY, "Sub", op_sub)
MXCPU_NUMERIC_TYPES(REG_BINARY, "Mul", op_mul)
MXCPU_NUMERIC_TYPES(REG_BINARY, "Div", op_div)
MXCPU_NUMERIC_TYPES(REG_BINARY, "Mod", op_mod)
MXCPU_UINT_TYPES(REG_BINARY, "BitShift", op_bitshift)
MXCPU_INT_TYPES(REG_BINARY, "BitwiseAnd", op_bitand)
MXCPU_INT_TYPES(REG_BINARY, "BitwiseOr", op_bitor)
MXCPU_INT_TYPES(REG_BINARY, "BitwiseXor", op_bitxor)
MX_KERNEL("And", "", (binary_kernel<op_and, bool>));
MX_KERNEL("Or", "", (binary_kernel<op_or, bool>));
MX_KERNEL("Xor", "", (binary_kernel<op_xor, bool>));
