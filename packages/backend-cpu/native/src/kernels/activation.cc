// Activations: y = f(x) elementwise (Swish: x * sigmoid(alpha x); Shrink: x -+ bias
// outside [-lambd, lambd], 0 inside; PRelu: y = x < 0 ? slope * x : x, with slope
// broadcast to x's shape). Float attributes arrive with core's defaults applied;
// the defaults below only document ONNX's. 16-bit floats compute in float; the
// exp/log family, tanh, sigmoid and erfc of float come from simd.h (vectorized). NaN passes through Relu-like selections (x < 0 is false for NaN).
#include "broadcast.h"

#include <cmath>

namespace mxcpu {
namespace {

template <class C> inline MXCPU_INLINE C clamp01(C v) { return v < 0 ? C(0) : v > 1 ? C(1) : v; }  // NaN passes
template <class C> inline MXCPU_INLINE C softplus(C x) {  // log(1 + e^x) without overflow
  return (x > 0 ? x : C(0)) + log1p_of(exp_of(x > 0 ? -x : x));
}

// A unary functor with float attributes n0 and n1 (read as compute type C in expr).
#define MXCPU_ACTIVATION(name, vec, n0, d0, n1, d1, expr)                                     \
  struct name {                                                                               \
    static constexpr bool kVec = vec;                                                         \
    double p0, p1;                                                                            \
    explicit name(const mx_attrs* at) : p0(mx_attr_float(at, #n0, d0)), p1(mx_attr_float(at, #n1, d1)) {} \
    template <class C> MXCPU_INLINE C operator()(C x) const {                                 \
      const C n0 = C(p0), n1 = C(p1);                                                         \
      (void)n0, (void)n1;                                                                     \
      return expr;                                                                            \
    }                                                                                         \
  };

MXCPU_UNARY_OP(op_relu, true, x < 0 ? C(0) : x)
MXCPU_UNARY_OP(op_sigmoid, true, sigmoid_of(x))
MXCPU_UNARY_OP(op_tanh, true, tanh_of(x))
MXCPU_UNARY_OP(op_softplus, true, softplus(x))
MXCPU_UNARY_OP(op_softsign, true, x / (C(1) + std::fabs(x)))
MXCPU_UNARY_OP(op_hardswish, true, x * clamp01(x / C(6) + C(0.5)))
MXCPU_UNARY_OP(op_mish, true, x * tanh_of(softplus(x)))
MXCPU_ACTIVATION(op_leaky_relu, true, alpha, 0.01, unused, 0, x < 0 ? alpha * x : x)
MXCPU_ACTIVATION(op_thresholded_relu, true, alpha, 1.0, unused, 0, x > alpha ? x : C(0))
MXCPU_ACTIVATION(op_elu, true, alpha, 1.0, unused, 0, x < 0 ? alpha * expm1_of(x) : x)
MXCPU_ACTIVATION(op_celu, true, alpha, 1.0, unused, 0, x < 0 ? alpha * expm1_of(x / alpha) : x)
MXCPU_ACTIVATION(op_selu, true, alpha, 1.67326319217681884765625, gamma, 1.05070102214813232421875,
                 x > 0 ? gamma * x : gamma * alpha * expm1_of(x))
MXCPU_ACTIVATION(op_hard_sigmoid, true, alpha, 0.2, beta, 0.5, clamp01(alpha * x + beta))
MXCPU_ACTIVATION(op_swish, true, alpha, 1.0, unused, 0, x * sigmoid_of(alpha * x))
MXCPU_ACTIVATION(op_shrink, true, lambd, 0.5, bias, 0.0, x < -lambd ? x + bias : x > lambd ? x - bias : C(0))

// Gelu: 0.5 x (1 + erf(x / sqrt 2)), computed as 0.5 x erfc(-x / sqrt 2), which
// does not cancel for negative x; with approximate='tanh'
// 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))). One functor per form keeps
// the loops free of the branch, so both vectorize.
MXCPU_UNARY_OP(op_gelu_erf, true, C(0.5) * x * erfc_of(x * C(-0.7071067811865476)))
MXCPU_UNARY_OP(op_gelu_tanh, true, C(0.5) * x * (C(1) + tanh_of(C(0.7978845608028654) * (x + C(0.044715) * x * x * x))))
template <class T> int gelu_kernel(mx_kernel_ctx* ctx) {
  const bool tanh_form = std::strcmp(mx_attr_string(ctx->attrs, "approximate", "none"), "tanh") == 0;
  return tanh_form ? unary_kernel<op_gelu_tanh, T>(ctx) : unary_kernel<op_gelu_erf, T>(ctx);
}

MXCPU_BINARY_OP(op_prelu, a < 0 ? wmul(a, b) : a)

}  // namespace
}  // namespace mxcpu

using namespace mxcpu;

#define REG_UNARY(T, key, name, op) MX_KERNEL(name, key, (unary_kernel<op, T>));
#define REG_GELU(T, key, ...) MX_KERNEL("Gelu", key, (gelu_kernel<T>));
#define REG_PRELU(T, key, ...) MX_KERNEL("PRelu", key, (binary_kernel<op_prelu, T>));

MXCPU_SIGNED_TYPES(REG_UNARY, "Relu", op_relu)
MXCPU_FLOAT_TYPES(REG_UNARY, "LeakyRelu", op_leaky_relu)
MXCPU_FLOAT_TYPES(REG_UNARY, "ThresholdedRelu", op_thresholded_relu)
MXCPU_FLOAT_TYPES(REG_UNARY, "Elu", op_elu)
MXCPU_FLOAT_TYPES(REG_UNARY, "Celu", op_celu)
MXCPU_FLOAT_TYPES(REG_UNARY, "Selu", op_selu)
MXCPU_FLOAT_TYPES(REG_UNARY, "HardSigmoid", op_hard_sigmoid)
MXCPU_FLOAT_TYPES(REG_UNARY, "HardSwish", op_hardswish)
MXCPU_FLOAT_TYPES(REG_UNARY, "Swish", op_swish)
MXCPU_FLOAT_TYPES(REG_UNARY, "Shrink", op_shrink)
MXCPU_FLOAT_TYPES(REG_UNARY, "Sigmoid", op_sigmoid)
MXCPU_FLOAT_TYPES(REG_UNARY, "Tanh", op_tanh)
MXCPU_FLOAT_TYPES(REG_UNARY, "Softplus", op_softplus)
MXCPU_FLOAT_TYPES(REG_UNARY, "Softsign", op_softsign)
MXCPU_FLOAT_TYPES(REG_GELU, _)
MXCPU_FLOAT_TYPES(REG_UNARY, "Mish", op_mish)
MXCPU_FLOAT_TYPES(REG_PRELU, _)
REG_PRELU(int32_t, "int32")
REG_PRELU(int64_t, "int64")
REG_PRELU(uint32_t, "uint32")
REG_PRELU(uint64_t, "uint64")
