// Elementwise ops, all from the templates in this header: unary math and
// activations y = f(x); binary arithmetic, bitwise, logical and comparisons with
// NumPy broadcasting; Pow; Where; Clip; variadic Max/Min/Sum/Mean. The functors
// and registrations are in unary.cu, binary.cu, pow.cu (Cast's dtype pairs are in
// cast.cu, Binarizer in ml.cu): files that nvcc compiles in parallel.
// Semantics are @mx/backend-cpu's: 16-bit floats compute in float; integers wrap;
// integer Div and Mod by zero give 0 and INT_MIN / -1 wraps; Mod with fmod=0 takes
// the divisor's sign; shifts by the bit width or more give 0; comparisons with NaN
// are false; Relu-like selections pass NaN through; Max/Min propagate NaN.
// Core guarantees: the output has the broadcast shape, inputs broadcast to it,
// dtypes match the schema's constraints.
#pragma once

#include <cstring>

#include "common.cuh"

namespace mxcuda {
namespace {

// ---- the templates
template <class Op, class T, class R> __global__ void k_unary(Op op, const T* __restrict__ x, R* __restrict__ y, int64_t n) {
  MXC_GRID_LOOP(i, n) y[i] = convert<R>(op(up(x[i])));
}
template <class Op, class T, class R = T> int unary(mx_kernel_ctx* ctx) {
  const int64_t n = numel(ctx->outputs[0]);
  if (n) k_unary<<<blocks_for(n), kThreads, 0, stream_of(ctx)>>>(Op(ctx->attrs), (const T*)ctx->inputs[0].data, (R*)ctx->outputs[0].data, n);
  return MX_OK;
}

// Binary: A and B are the inputs' types (Pow's exponent may differ), R the output's.
// The op computes in A's compute type; B is converted to it.
template <class Op, class A, class B, class R>
__global__ void k_binary(Op op, Walk<3> w, const A* __restrict__ a, const B* __restrict__ b, R* __restrict__ y) {
  MXC_GRID_LOOP(i, w.n) {
    int64_t off[3];
    w.offsets(i, off);
    y[off[0]] = convert<R>(op(up(a[off[1]]), up(b[off[2]])));
  }
}
template <class Op, class A, class R = A, class B = A> int binary(mx_kernel_ctx* ctx) {
  const mx_tensor& out = ctx->outputs[0];
  const mx_tensor* ins[2] = {&ctx->inputs[0], &ctx->inputs[1]};
  Walk<3> w = broadcast_walk<3>(out, ins);
  if (w.n) k_binary<<<blocks_for(w.n), kThreads, 0, stream_of(ctx)>>>(Op(ctx->attrs), w, (const A*)ins[0]->data, (const B*)ins[1]->data, (R*)out.data);
  return MX_OK;
}

struct stateless {
  explicit stateless(const mx_attrs*) {}
};
#define MXC_UNARY_OP(name, expr)                                          \
  struct name : stateless {                                               \
    using stateless::stateless;                                           \
    template <class C> __device__ __forceinline__ auto operator()(C x) const { return expr; } \
  };
#define MXC_BINARY_OP(name, expr)                                         \
  struct name : stateless {                                               \
    using stateless::stateless;                                           \
    template <class C, class D> __device__ __forceinline__ auto operator()(C a, D b) const { return expr; } \
  };
// Unary functor with float attributes n0, n1, named in expr (defaults are ONNX's; core applies them).
#define MXC_ACTIVATION(name, n0, d0, n1, d1, expr)                                                      \
  struct name {                                                                                        \
    double p0, p1;                                                                                     \
    explicit name(const mx_attrs* at) : p0(mx_attr_float(at, #n0, d0)), p1(mx_attr_float(at, #n1, d1)) {} \
    template <class C> __device__ __forceinline__ C operator()(C x) const {                            \
      const C n0 = C(p0), n1 = C(p1);                                                                  \
      (void)n0, (void)n1;                                                                              \
      return expr;                                                                                     \
    }                                                                                                  \
  };

// Wrapping integer arithmetic (signed overflow is undefined in C++).
template <class C> __device__ __forceinline__ C wrap(C a, C b, int op) {
  if constexpr (is_int_v<C>) {
    using U = std::make_unsigned_t<C>;
    const U x = (U)a, y = (U)b;
    return (C)(op == 0 ? U(x + y) : op == 1 ? U(x - y) : U(x * y));
  } else {
    return op == 0 ? a + b : op == 1 ? a - b : a * b;
  }
}
template <class C> __device__ __forceinline__ C abs_of(C x) {
  if constexpr (std::is_unsigned<C>::value) return x;
  else if constexpr (is_int_v<C>) return x < 0 ? wrap(C(0), x, 1) : x;
  else return fabs(x);
}
template <class C> __device__ __forceinline__ C sign_of(C x) {
  if constexpr (is_int_v<C>) return C((x > 0) - (x < 0));
  else return x > 0 ? C(1) : x < 0 ? C(-1) : x;
}
template <class C> __device__ __forceinline__ C clamp01(C v) { return v < 0 ? C(0) : v > 1 ? C(1) : v; }
template <class C> __device__ __forceinline__ C softplus(C x) { return (x > 0 ? x : C(0)) + log1p(exp(x > 0 ? -x : x)); }
template <class C> __device__ __forceinline__ C sigmoid(C x) {
  return x >= 0 ? C(1) / (C(1) + exp(-x)) : exp(x) / (C(1) + exp(x));
}

}  // namespace
}  // namespace mxcuda

#define REG_UNARY(T, key, name, op) MXC_KERNEL(name, key, (unary<op, T>));
#define REG_PREDICATE(T, key, name, op) MXC_KERNEL(name, key, (unary<op, T, bool>));
#define REG_BINARY(T, key, name, op) MXC_KERNEL(name, key, (binary<op, T>));
#define REG_COMPARE(T, key, name, op) MXC_KERNEL(name, key, (binary<op, T, bool>));
