// Unary math and activations, y = f(x): functors for elementwise.cuh's unary template.
#include "elementwise.cuh"

namespace mxcuda {
namespace {

MXC_UNARY_OP(op_abs, abs_of(x))
MXC_UNARY_OP(op_neg, wrap(C(0), x, 1))
MXC_UNARY_OP(op_sign, sign_of(x))
MXC_UNARY_OP(op_reciprocal, C(1) / x)
MXC_UNARY_OP(op_floor, floor(x))
MXC_UNARY_OP(op_ceil, ceil(x))
MXC_UNARY_OP(op_round, rint(x))
MXC_UNARY_OP(op_sqrt, sqrt(x))
MXC_UNARY_OP(op_exp, exp(x))
MXC_UNARY_OP(op_log, log(x))
MXC_UNARY_OP(op_sin, sin(x))
MXC_UNARY_OP(op_cos, cos(x))
MXC_UNARY_OP(op_tan, tan(x))
MXC_UNARY_OP(op_asin, asin(x))
MXC_UNARY_OP(op_acos, acos(x))
MXC_UNARY_OP(op_atan, atan(x))
MXC_UNARY_OP(op_sinh, sinh(x))
MXC_UNARY_OP(op_cosh, cosh(x))
MXC_UNARY_OP(op_asinh, asinh(x))
MXC_UNARY_OP(op_acosh, acosh(x))
MXC_UNARY_OP(op_atanh, atanh(x))
MXC_UNARY_OP(op_erf, erf(x))
MXC_UNARY_OP(op_erf_int, erf((double)x))  // integers: in double, truncated back (as on the cpu)
MXC_UNARY_OP(op_isnan, x != x)
MXC_UNARY_OP(op_not, !x)
MXC_UNARY_OP(op_bitnot, C(~x))
MXC_UNARY_OP(op_relu, x < 0 ? C(0) : x)
MXC_UNARY_OP(op_sigmoid, sigmoid(x))
MXC_UNARY_OP(op_tanh, tanh(x))
MXC_UNARY_OP(op_softplus, softplus(x))
MXC_UNARY_OP(op_softsign, x / (C(1) + fabs(x)))
MXC_UNARY_OP(op_hardswish, x * clamp01(x / C(6) + C(0.5)))
MXC_UNARY_OP(op_mish, x * tanh(softplus(x)))
MXC_UNARY_OP(op_gelu_erf, C(0.5) * x * erfc(x * C(-0.7071067811865476)))
MXC_UNARY_OP(op_gelu_tanh, C(0.5) * x * (C(1) + tanh(C(0.7978845608028654) * (x + C(0.044715) * x * x * x))))
MXC_ACTIVATION(op_leaky_relu, alpha, 0.01, unused, 0, x < 0 ? alpha * x : x)
MXC_ACTIVATION(op_thresholded_relu, alpha, 1.0, unused, 0, x > alpha ? x : C(0))
MXC_ACTIVATION(op_elu, alpha, 1.0, unused, 0, x < 0 ? alpha * expm1(x) : x)
MXC_ACTIVATION(op_celu, alpha, 1.0, unused, 0, x < 0 ? alpha * expm1(x / alpha) : x)
MXC_ACTIVATION(op_selu, alpha, 1.67326319217681884765625, gamma, 1.05070102214813232421875, x > 0 ? gamma * x : gamma * alpha * expm1(x))
MXC_ACTIVATION(op_hard_sigmoid, alpha, 0.2, beta, 0.5, clamp01(alpha * x + beta))
MXC_ACTIVATION(op_swish, alpha, 1.0, unused, 0, x * sigmoid(alpha * x))
MXC_ACTIVATION(op_shrink, lambd, 0.5, bias, 0.0, x < -lambd ? x + bias : x > lambd ? x - bias : C(0))

struct op_isinf {
  bool neg, pos;
  explicit op_isinf(const mx_attrs* at)
      : neg(mx_attr_int(at, "detect_negative", 1) != 0), pos(mx_attr_int(at, "detect_positive", 1) != 0) {}
  template <class C> __device__ bool operator()(C x) const { return (pos && isinf(x) && x > 0) || (neg && isinf(x) && x < 0); }
};

template <class T> int gelu(mx_kernel_ctx* ctx) {
  const bool tanh_form = std::strcmp(mx_attr_string(ctx->attrs, "approximate", "none"), "tanh") == 0;
  return tanh_form ? unary<op_gelu_tanh, T>(ctx) : unary<op_gelu_erf, T>(ctx);
}

}  // namespace
}  // namespace mxcuda

using namespace mxcuda;



MXC_NUMERIC_TYPES(REG_UNARY, "Abs", op_abs)
MXC_SIGNED_TYPES(REG_UNARY, "Neg", op_neg)
MXC_NUMERIC_TYPES(REG_UNARY, "Sign", op_sign)
MXC_FLOAT_TYPES(REG_UNARY, "Reciprocal", op_reciprocal)
MXC_FLOAT_TYPES(REG_UNARY, "Floor", op_floor)
MXC_FLOAT_TYPES(REG_UNARY, "Ceil", op_ceil)
MXC_FLOAT_TYPES(REG_UNARY, "Round", op_round)
MXC_FLOAT_TYPES(REG_UNARY, "Sqrt", op_sqrt)
MXC_FLOAT_TYPES(REG_UNARY, "Exp", op_exp)
MXC_FLOAT_TYPES(REG_UNARY, "Log", op_log)
MXC_FLOAT_TYPES(REG_UNARY, "Sin", op_sin)
MXC_FLOAT_TYPES(REG_UNARY, "Cos", op_cos)
MXC_FLOAT_TYPES(REG_UNARY, "Tan", op_tan)
MXC_FLOAT_TYPES(REG_UNARY, "Asin", op_asin)
MXC_FLOAT_TYPES(REG_UNARY, "Acos", op_acos)
MXC_FLOAT_TYPES(REG_UNARY, "Atan", op_atan)
MXC_FLOAT_TYPES(REG_UNARY, "Sinh", op_sinh)
MXC_FLOAT_TYPES(REG_UNARY, "Cosh", op_cosh)
MXC_FLOAT_TYPES(REG_UNARY, "Asinh", op_asinh)
MXC_FLOAT_TYPES(REG_UNARY, "Acosh", op_acosh)
MXC_FLOAT_TYPES(REG_UNARY, "Atanh", op_atanh)
MXC_FLOAT_TYPES(REG_UNARY, "Erf", op_erf)
MXC_INT_TYPES(REG_UNARY, "Erf", op_erf_int)
MXC_FLOAT_TYPES(REG_PREDICATE, "IsNaN", op_isnan)
MXC_FLOAT_TYPES(REG_PREDICATE, "IsInf", op_isinf)
MXC_KERNEL("Not", "", (unary<op_not, bool>));
MXC_INT_TYPES(REG_UNARY, "BitwiseNot", op_bitnot)
MXC_SIGNED_TYPES(REG_UNARY, "Relu", op_relu)
MXC_FLOAT_TYPES(REG_UNARY, "LeakyRelu", op_leaky_relu)
MXC_FLOAT_TYPES(REG_UNARY, "ThresholdedRelu", op_thresholded_relu)
MXC_FLOAT_TYPES(REG_UNARY, "Elu", op_elu)
MXC_FLOAT_TYPES(REG_UNARY, "Celu", op_celu)
MXC_FLOAT_TYPES(REG_UNARY, "Selu", op_selu)
MXC_FLOAT_TYPES(REG_UNARY, "HardSigmoid", op_hard_sigmoid)
MXC_FLOAT_TYPES(REG_UNARY, "HardSwish", op_hardswish)
MXC_FLOAT_TYPES(REG_UNARY, "Swish", op_swish)
MXC_FLOAT_TYPES(REG_UNARY, "Shrink", op_shrink)
MXC_FLOAT_TYPES(REG_UNARY, "Sigmoid", op_sigmoid)
MXC_FLOAT_TYPES(REG_UNARY, "Tanh", op_tanh)
MXC_FLOAT_TYPES(REG_UNARY, "Softplus", op_softplus)
MXC_FLOAT_TYPES(REG_UNARY, "Softsign", op_softsign)
MXC_FLOAT_TYPES(REG_UNARY, "Mish", op_mish)
#define REG_GELU(T, key, ...) MXC_KERNEL("Gelu", key, (gelu<T>));
MXC_FLOAT_TYPES(REG_GELU, _)

