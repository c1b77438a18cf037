// Machinery shared by the elementwise, cast and reduction kernels: dtype lists
// for registration, run-time SIMD dispatch, integer wrap-around arithmetic and the
// parallel unary map.
#pragma once
// GCC does not if-convert `c ? f(x) : x` when f(x) may raise an FP exception, so
// with its default -ftrapping-math most selects (Relu-likes, clamps, NaN checks)
// stop loops from vectorizing. Nothing here reads FP exception flags. Kernel
// files include this header before any other so that the whole file agrees.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif
#include <limits>
#include <type_traits>

#include "common.h"
#include "simd.h"

// ---- dtype lists for registration: X(cpp_type, "key", extra...) per dtype.
// Nesting the same list is impossible with the preprocessor, so two-constraint
// ops (Cast, Pow) write one line per outer dtype.
#define MXCPU_FLOAT_TYPES(X, ...) \
  X(float, "float32", __VA_ARGS__) X(double, "float64", __VA_ARGS__) \
  X(::mxcpu::f16, "float16", __VA_ARGS__) X(::mxcpu::bf16, "bfloat16", __VA_ARGS__)
#define MXCPU_SINT_TYPES(X, ...) \
  X(int8_t, "int8", __VA_ARGS__) X(int16_t, "int16", __VA_ARGS__) \
  X(int32_t, "int32", __VA_ARGS__) X(int64_t, "int64", __VA_ARGS__)
#define MXCPU_UINT_TYPES(X, ...) \
  X(uint8_t, "uint8", __VA_ARGS__) X(uint16_t, "uint16", __VA_ARGS__) \
  X(uint32_t, "uint32", __VA_ARGS__) X(uint64_t, "uint64", __VA_ARGS__)
#define MXCPU_INT_TYPES(X, ...) MXCPU_SINT_TYPES(X, __VA_ARGS__) MXCPU_UINT_TYPES(X, __VA_ARGS__)
#define MXCPU_SIGNED_TYPES(X, ...) MXCPU_FLOAT_TYPES(X, __VA_ARGS__) MXCPU_SINT_TYPES(X, __VA_ARGS__)
#define MXCPU_NUMERIC_TYPES(X, ...) MXCPU_FLOAT_TYPES(X, __VA_ARGS__) MXCPU_INT_TYPES(X, __VA_ARGS__)
#define MXCPU_ALL_TYPES(X, ...) MXCPU_NUMERIC_TYPES(X, __VA_ARGS__) X(bool, "bool", __VA_ARGS__)
// ONNX's T of most reductions and CumSum.
#define MXCPU_REDUCE_TYPES(X, ...) \
  MXCPU_FLOAT_TYPES(X, __VA_ARGS__) X(int32_t, "int32", __VA_ARGS__) X(int64_t, "int64", __VA_ARGS__) \
  X(uint32_t, "uint32", __VA_ARGS__) X(uint64_t, "uint64", __VA_ARGS__)

namespace mxcpu {

// Elements per parallel chunk for memory-bound loops.
constexpr int64_t kGrain = 32768;
// Neighbouring outputs processed together by kernels that walk an axis which is
// not innermost (reductions, ArgMax, CumSum): whole rows stream through, and the
// per-output state (at most 16 bytes each) stays in L1/L2.
constexpr int kBlock = 2048;

inline bool use_avx2() {
  static const bool v = cpu_has_avx2_fma();
  return v;
}

#if defined(__x86_64__)
template <class F> __attribute__((target("avx2,fma"))) void simd_avx2(const F& f, int64_t b, int64_t e) { f(b, e); }
#endif
template <class F> void simd_base(const F& f, int64_t b, int64_t e) { f(b, e); }

// Runs f(b, e) compiled for AVX2+FMA when the CPU has them, for the baseline ISA
// (SSE2 on x86-64) otherwise. f must be an MXCPU_INLINE lambda, and every helper
// it calls that holds a hot loop must be MXCPU_INLINE too: the compiler then
// auto-vectorizes the loops once per ISA. kVec = false compiles only the
// baseline, for loops that cannot vectorize (library calls, integer division).
template <bool kVec = true, class F> inline void simd(const F& f, int64_t b, int64_t e) {
#if defined(__x86_64__)
  if constexpr (kVec)
    if (use_avx2()) return simd_avx2(f, b, e);
#endif
  simd_base(f, b, e);
}

// simd() over [0, n) split across the pool in chunks of at least `grain`.
template <bool kVec = true, class F> inline void parallel_simd(const mx_pool* pool, int64_t n, int64_t grain, const F& f) {
  parallel_for(pool, n, grain, [&](int64_t b, int64_t e) { simd<kVec>(f, b, e); });
}

template <class T> constexpr bool is_half_v = std::is_same_v<T, f16> || std::is_same_v<T, bf16>;
template <class T> constexpr bool is_float_v = std::is_floating_point_v<T> || is_half_v<T>;
template <class T> constexpr bool is_int_v = std::is_integral_v<T> && !std::is_same_v<T, bool>;

// ---- integer arithmetic that wraps on overflow (two's complement) without UB:
// computed in an unsigned type at least as wide as int.
template <class T> using wrap_t = std::conditional_t<(sizeof(T) < sizeof(unsigned)), unsigned, std::make_unsigned_t<T>>;
template <class T> inline MXCPU_INLINE T wadd(T a, T b) {
  if constexpr (is_int_v<T>) return (T)((wrap_t<T>)a + (wrap_t<T>)b);
  else return a + b;
}
template <class T> inline MXCPU_INLINE T wsub(T a, T b) {
  if constexpr (is_int_v<T>) return (T)((wrap_t<T>)a - (wrap_t<T>)b);
  else return a - b;
}
template <class T> inline MXCPU_INLINE T wmul(T a, T b) {
  if constexpr (is_int_v<T>) return (T)((wrap_t<T>)a * (wrap_t<T>)b);
  else return a * b;
}
template <class T> inline MXCPU_INLINE T wneg(T a) {
  if constexpr (is_int_v<T>) return wsub(T(0), a);
  else return -a;  // keeps the sign of zero
}

// Converts a compute value to element type O the way Cast does: to bool is v != 0;
// float to integer truncates toward zero and saturates out of range (ONNX leaves
// that undefined), NaN gives 0; 16-bit floats round to nearest even.
template <class O, class C> inline MXCPU_INLINE O convert(C v) {
  if constexpr (std::is_same_v<O, bool>) {
    return v != C(0);
  } else if constexpr (is_int_v<O> && std::is_floating_point_v<C>) {
    const double d = v, hi = (double)std::numeric_limits<O>::max() + 1.0;  // 2^digits, exact
    if (d != d) return O(0);
    if (d >= hi) return std::numeric_limits<O>::max();
    if (d <= (std::is_signed_v<O> ? -hi - 1.0 : -1.0)) return std::numeric_limits<O>::min();
    return (O)d;
  } else if constexpr (is_half_v<O>) {
    if constexpr (std::is_same_v<C, double>) return store<O>(v);
    else return store<O>((float)v);
  } else {
    return (O)v;
  }
}

// y[i] = convert<TO>(op(load(x[i]))) over n contiguous elements, in parallel.
template <class TI, class TO, bool kVec = true, class Op>
inline void unary_apply(const mx_pool* pool, const Op& op, const TI* x, TO* y, int64_t n) {
  parallel_simd<kVec>(pool, n, kGrain, [&](int64_t b, int64_t e) MXCPU_INLINE {
    for (int64_t i = b; i < e; i++) y[i] = convert<TO>(op(load(x[i])));
  });
}

// Elementwise functors are constructed from the kernel's attributes and say
// whether their loops can vectorize (kVec). Stateless ones take the attributes
// anyway, so every kernel template constructs its functor the same way.
struct stateless {
  static constexpr bool kVec = true;
  explicit stateless(const mx_attrs*) {}
};

template <class T> inline const T* in_data(const mx_kernel_ctx* ctx, int i) { return static_cast<const T*>(ctx->inputs[i].data); }
template <class T> inline T* out_data(const mx_kernel_ctx* ctx, int i) { return static_cast<T*>(ctx->outputs[i].data); }

// y = op(x) elementwise; the output has the input's shape.
template <class Op, class T, class O = T> int unary_kernel(mx_kernel_ctx* ctx) {
  unary_apply<T, O, Op::kVec>(ctx->pool, Op(ctx->attrs), in_data<T>(ctx, 0), out_data<O>(ctx, 0), numel(ctx->outputs[0]));
  return MX_OK;
}

// A stateless unary functor `name` computing `expr` from x (compute type C);
// kVec says whether the loop can vectorize (false for libm calls).
#define MXCPU_UNARY_OP(name, vec, expr)                          \
  struct name : ::mxcpu::stateless {                             \
    static constexpr bool kVec = vec;                            \
    using stateless::stateless;                                  \
    template <class C> MXCPU_INLINE auto operator()(C x) const { return expr; } \
  };

// A tensor seen as [outer, n, inner] around one axis (ArgMax, CumSum).
struct axis_split {
  int64_t outer = 1, n = 1, inner = 1;
  axis_split(const mx_tensor& t, int64_t axis) {
    for (int d = 0; d < t.ndim; d++) (d < axis ? outer : d == axis ? n : inner) *= t.shape[d];
  }
};

}  // namespace mxcpu
