// Elementwise ops, all from the templates below: unary math and activations
// y = f(x); binary arithmetic, bitwise, logical and comparisons with NumPy
// broadcasting; Pow; Where; Clip; variadic Max/Min/Sum/Mean (Cast, with its 169 dtype pairs, is
// cast.cu, so that the two files compile in parallel). Semantics are
// @mx/backend-cpu's: 16-bit floats compute in float; integers wrap; integer Div
// and Mod by zero give 0 and INT_MIN / -1 wraps; Mod with fmod=0 takes the
// divisor's sign; shifts by the bit width or more give 0; comparisons with NaN are
// false; Relu-like selections pass NaN through; Max/Min propagate NaN.
// Core guarantees: the output has the broadcast shape, inputs broadcast to it,
// dtypes match the schema's constraints.
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

MXC_BINARY_OP(op_add, wrap(a, C(b), 0))
MXC_BINARY_OP(op_sub, wrap(a, C(b), 1))
MXC_BINARY_OP(op_mul, wrap(a, C(b), 2))
MXC_BINARY_OP(op_bitand, C(a & b))
MXC_BINARY_OP(op_bitor, C(a | b))
MXC_BINARY_OP(op_bitxor, C(a ^ b))
MXC_BINARY_OP(op_and, a && b)
MXC_BINARY_OP(op_or, a || b)
MXC_BINARY_OP(op_xor, a != b)
MXC_BINARY_OP(op_equal, a == b)
MXC_BINARY_OP(op_less, a < b)
MXC_BINARY_OP(op_less_equal, a <= b)
MXC_BINARY_OP(op_greater, a > b)
MXC_BINARY_OP(op_greater_equal, a >= b)
MXC_BINARY_OP(op_prelu, a < 0 ? wrap(a, C(b), 2) : a)

struct op_div : stateless {
  using stateless::stateless;
  template <class C, class D> __device__ C operator()(C a, D b) const {
    if constexpr (is_int_v<C>) {
      if (b == 0) return 0;
      if (std::is_signed<C>::value && b == C(-1)) return wrap(C(0), a, 1);
      return C(a / b);
    } else {
      return a / b;
    }
  }
};

struct op_mod {
  bool c_fmod;
  explicit op_mod(const mx_attrs* at) : c_fmod(mx_attr_int(at, "fmod", 0) != 0) {}
  template <class C, class D> __device__ C operator()(C a, D b) const {
    C r;
    if constexpr (is_int_v<C>) {
      if (b == 0 || (std::is_signed<C>::value && b == C(-1))) return 0;
      r = C(a % b);
    } else {
      r = fmod(a, C(b));
    }
    if (!c_fmod && r != 0 && ((r < 0) != (b < 0))) r = C(r + b);
    return r;
  }
};

struct op_bitshift {
  bool left;
  explicit op_bitshift(const mx_attrs* at) : left(std::strcmp(mx_attr_string(at, "direction", "LEFT"), "LEFT") == 0) {}
  template <class C, class D> __device__ C operator()(C a, D b) const {
    if (b >= D(sizeof(C) * 8)) return 0;
    return left ? C(a << b) : C(a >> b);
  }
};

// Pow: floats compute pow in the base's compute type (double for float64); an
// integer base raises by repeated squaring with the exponent truncated (negative
// exponents give 0 except for bases 1 and -1).
struct op_pow : stateless {
  using stateless::stateless;
  template <class C, class D> __device__ C operator()(C a, D b) const {
    if constexpr (!is_int_v<C>) {
      return pow(a, C(b));
    } else {
      int64_t e = convert<int64_t>(b);
      if (e < 0) return a == 1 ? C(1) : a == C(-1) ? ((e & 1) ? C(-1) : C(1)) : C(0);
      using U = std::make_unsigned_t<C>;
      U r = 1, x = (U)a;
      while (e) {
        if (e & 1) r = U(r * x);
        x = U(x * x);
        e >>= 1;
      }
      return (C)r;
    }
  }
};

// ---- Where: y = cond ? x : y, by element size.
template <class E>
__global__ void k_where(Walk<4> w, const bool* __restrict__ c, const E* __restrict__ x, const E* __restrict__ y, E* __restrict__ out) {
  MXC_GRID_LOOP(i, w.n) {
    int64_t off[4];
    w.offsets(i, off);
    out[off[0]] = c[off[1]] ? x[off[2]] : y[off[3]];
  }
}
template <class T> int where(mx_kernel_ctx* ctx) {
  using E = typename bits<sizeof(T)>::type;
  const mx_tensor& out = ctx->outputs[0];
  const mx_tensor* ins[3] = {&ctx->inputs[0], &ctx->inputs[1], &ctx->inputs[2]};
  Walk<4> w = broadcast_walk<4>(out, ins);
  if (w.n) k_where<E><<<blocks_for(w.n), kThreads, 0, stream_of(ctx)>>>(w, (const bool*)ins[0]->data, (const E*)ins[1]->data, (const E*)ins[2]->data, (E*)out.data);
  return MX_OK;
}

// ---- Clip: y = min(max(x, lo), hi); absent bounds do not clamp; NaN passes.
template <class T>
__global__ void k_clip(Walk<4> w, const T* __restrict__ x, const T* lo, const T* hi, T* __restrict__ y) {
  MXC_GRID_LOOP(i, w.n) {
    int64_t off[4];
    w.offsets(i, off);
    ct<T> v = up(x[off[1]]);
    if (lo && v < up(lo[off[2]])) v = up(lo[off[2]]);
    if (hi && v > up(hi[off[3]])) v = up(hi[off[3]]);
    y[off[0]] = convert<T>(v);
  }
}
template <class T> int clip(mx_kernel_ctx* ctx) {
  const mx_tensor& out = ctx->outputs[0];
  const mx_tensor none{};  // rank 0: broadcasts with stride 0
  const mx_tensor* ins[3] = {&ctx->inputs[0], ctx->num_inputs > 1 && ctx->inputs[1].data ? &ctx->inputs[1] : &none,
                             ctx->num_inputs > 2 && ctx->inputs[2].data ? &ctx->inputs[2] : &none};
  Walk<4> w = broadcast_walk<4>(out, ins);
  if (w.n) k_clip<T><<<blocks_for(w.n), kThreads, 0, stream_of(ctx)>>>(w, (const T*)ins[0]->data, (const T*)ins[1]->data, (const T*)ins[2]->data, (T*)out.data);
  return MX_OK;
}

// ---- variadic Max/Min/Sum/Mean over up to kVariadic inputs in one pass.
constexpr int kVariadic = 8;
struct Ptrs {
  const void* p[kVariadic];
};
template <class T, int Kind>  // 0 max, 1 min, 2 sum, 3 mean
__global__ void k_variadic(Walk<kVariadic + 1> w, Ptrs in, int k, T* __restrict__ y) {
  MXC_GRID_LOOP(i, w.n) {
    int64_t off[kVariadic + 1];
    w.offsets(i, off);
    using A = std::conditional_t<is_float_v<T>, ct<T>, T>;
    A acc = up(static_cast<const T*>(in.p[0])[off[1]]);
    for (int j = 1; j < k; j++) {
      const A v = up(static_cast<const T*>(in.p[j])[off[j + 1]]);
      if (Kind == 0) acc = (v > acc || v != v) && acc == acc ? v : acc;
      else if (Kind == 1) acc = (v < acc || v != v) && acc == acc ? v : acc;
      else acc = acc + v;
    }
    if (Kind == 3) acc = acc / A(k);
    y[off[0]] = convert<T>(acc);
  }
}
template <class T, int Kind> int variadic(mx_kernel_ctx* ctx) {
  const int k = ctx->num_inputs;
  if (k < 1 || k > kVariadic)
    return mx_fail(ctx, MX_ERR_UNSUPPORTED, "%d inputs: the cuda backend's variadic kernels take 1 to %d", k, kVariadic);
  const mx_tensor& out = ctx->outputs[0];
  const mx_tensor none{};
  const mx_tensor* ins[kVariadic];
  Ptrs p{};
  for (int j = 0; j < kVariadic; j++) {
    ins[j] = j < k ? &ctx->inputs[j] : &none;
    p.p[j] = ins[j]->data;
  }
  Walk<kVariadic + 1> w = broadcast_walk<kVariadic + 1>(out, ins);
  if (w.n) k_variadic<T, Kind><<<blocks_for(w.n), kThreads, 0, stream_of(ctx)>>>(w, p, k, (T*)out.data);
  return MX_OK;
}

}  // namespace
}  // namespace mxcuda

using namespace mxcuda;

#define REG_UNARY(T, key, name, op) MXC_KERNEL(name, key, (unary<op, T>));
#define REG_PREDICATE(T, key, name, op) MXC_KERNEL(name, key, (unary<op, T, bool>));
#define REG_BINARY(T, key, name, op) MXC_KERNEL(name, key, (binary<op, T>));
#define REG_COMPARE(T, key, name, op) MXC_KERNEL(name, key, (binary<op, T, bool>));

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
MXC_FLOAT_TYPES(REG_UNARY, "Sigmoid", op_sigmoid)
MXC_FLOAT_TYPES(REG_UNARY, "Tanh", op_tanh)
MXC_FLOAT_TYPES(REG_UNARY, "Softplus", op_softplus)
MXC_FLOAT_TYPES(REG_UNARY, "Softsign", op_softsign)
MXC_FLOAT_TYPES(REG_UNARY, "Mish", op_mish)
#define REG_GELU(T, key, ...) MXC_KERNEL("Gelu", key, (gelu<T>));
MXC_FLOAT_TYPES(REG_GELU, _)
MXC_FLOAT_TYPES(REG_BINARY, "PRelu", op_prelu)

MXC_NUMERIC_TYPES(REG_BINARY, "Add", op_add)
MXC_NUMERIC_TYPES(REG_BINARY, "Sub", op_sub)
MXC_NUMERIC_TYPES(REG_BINARY, "Mul", op_mul)
MXC_NUMERIC_TYPES(REG_BINARY, "Div", op_div)
MXC_NUMERIC_TYPES(REG_BINARY, "Mod", op_mod)
MXC_UINT_TYPES(REG_BINARY, "BitShift", op_bitshift)
MXC_INT_TYPES(REG_BINARY, "BitwiseAnd", op_bitand)
MXC_INT_TYPES(REG_BINARY, "BitwiseOr", op_bitor)
MXC_INT_TYPES(REG_BINARY, "BitwiseXor", op_bitxor)
MXC_KERNEL("And", "", (binary<op_and, bool>));
MXC_KERNEL("Or", "", (binary<op_or, bool>));
MXC_KERNEL("Xor", "", (binary<op_xor, bool>));
MXC_ALL_TYPES(REG_COMPARE, "Equal", op_equal)
MXC_NUMERIC_TYPES(REG_COMPARE, "Less", op_less)
MXC_NUMERIC_TYPES(REG_COMPARE, "LessOrEqual", op_less_equal)
MXC_NUMERIC_TYPES(REG_COMPARE, "Greater", op_greater)
MXC_NUMERIC_TYPES(REG_COMPARE, "GreaterOrEqual", op_greater_equal)

#define REG_POW(T1, key1, T, key) MXC_KERNEL("Pow", key "," key1, (binary<op_pow, T, T, T1>));
MXC_NUMERIC_TYPES(REG_POW, int32_t, "int32")
MXC_NUMERIC_TYPES(REG_POW, int64_t, "int64")
MXC_NUMERIC_TYPES(REG_POW, float, "float32")
MXC_NUMERIC_TYPES(REG_POW, double, "float64")
MXC_NUMERIC_TYPES(REG_POW, f16, "float16")
MXC_NUMERIC_TYPES(REG_POW, bf16, "bfloat16")

#define REG_WHERE(T, key, ...) MXC_KERNEL("Where", key, (where<T>));
MXC_ALL_TYPES(REG_WHERE, _)
#define REG_CLIP(T, key, ...) MXC_KERNEL("Clip", key, (clip<T>));
MXC_NUMERIC_TYPES(REG_CLIP, _)
#define REG_VARIADIC(T, key, name, kind) MXC_KERNEL(name, key, (variadic<T, kind>));
MXC_NUMERIC_TYPES(REG_VARIADIC, "Max", 0)
MXC_NUMERIC_TYPES(REG_VARIADIC, "Min", 1)
MXC_FLOAT_TYPES(REG_VARIADIC, "Sum", 2)
MXC_FLOAT_TYPES(REG_VARIADIC, "Mean", 3)

