// Comparisons with NumPy broadcasting: y = (a op b) as bool. Core guarantees the
// inputs broadcast to the output's shape. 16-bit floats compare in float; any
// comparison with NaN is false.
#include "broadcast.h"

namespace mxcpu {
namespace {

MXCPU_BINARY_OP(op_equal, a == b)
MXCPU_BINARY_OP(op_less, a < b)
MXCPU_BINARY_OP(op_less_equal, a <= b)
MXCPU_BINARY_OP(op_greater, a > b)
MXCPU_BINARY_OP(op_greater_equal, a >= b)

}  // namespace
}  // namespace mxcpu

using namespace mxcpu;

#define REG_COMPARE(T, key, name, op) MX_KERNEL(name, key, (binary_kernel<op, T, T, bool>));

MXCPU_ALL_TYPES(REG_COMPARE, "Equal", op_equal)
MXCPU_NUMERIC_TYPES(REG_COMPARE, "Less", op_less)
MXCPU_NUMERIC_TYPES(REG_COMPARE, "LessOrEqual", op_less_equal)
MXCPU_NUMERIC_TYPES(REG_COMPARE, "Greater", op_greater)
MXCPU_NUMERIC_TYPES(REG_COMPARE, "GreaterOrEqual", op_greater_equal)
