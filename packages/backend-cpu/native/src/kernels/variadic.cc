// Variadic Max, Min, Sum, Mean with NumPy broadcasting of all inputs: folded
// pairwise into the output (y = op(x0, x1), then y = op(y, xk)); Mean divides the
// sum by the input count at the end. Max/Min propagate NaN (NumPy maximum/minimum).
// 16-bit floats round to their type after each pairwise step.
#include "broadcast.h"

namespace mxcpu {
namespace {

MXCPU_BINARY_OP(op_max, (a != a || a > b) ? a : b)
MXCPU_BINARY_OP(op_min, (a != a || a < b) ? a : b)
MXCPU_BINARY_OP(op_sum, wadd(a, b))

template <class Op, class T, bool kMean = false> int variadic_kernel(mx_kernel_ctx* ctx) {
  const Op op(ctx->attrs);
  const mx_tensor& y = ctx->outputs[0];
  T* o = out_data<T>(ctx, 0);
  if (ctx->num_inputs == 1) {  // the output has the input's shape
    const T* x = in_data<T>(ctx, 0);
    parallel_for(ctx->pool, numel(y), kGrain, [&](int64_t b, int64_t e) { std::memcpy(o + b, x + b, (e - b) * sizeof(T)); });
  } else {
    binary_apply<T, T, T>(ctx->pool, op, ctx->inputs[0], ctx->inputs[1], y);
    for (int k = 2; k < ctx->num_inputs; k++) binary_apply<T, T, T>(ctx->pool, op, y, ctx->inputs[k], y);
  }
  if constexpr (kMean) {
    using C = compute_t<T>;
    const C n = (C)ctx->num_inputs;
    unary_apply<T, T>(ctx->pool, [n](C v) { return v / n; }, o, o, numel(y));
  }
  return MX_OK;
}

}  // namespace
}  // namespace mxcpu

using namespace mxcpu;

#define REG_VARIADIC(T, key, name, op, mean) MX_KERNEL(name, key, (variadic_kernel<op, T, mean>));

MXCPU_NUMERIC_TYPES(REG_VARIADIC, "Max", op_max, false)
MXCPU_NUMERIC_TYPES(REG_VARIADIC, "Min", op_min, false)
MXCPU_FLOAT_TYPES(REG_VARIADIC, "Sum", op_sum, false)
MXCPU_FLOAT_TYPES(REG_VARIADIC, "Mean", op_sum, true)
