// Binary arithmetic, bitwise, logical, comparisons, PRelu, Where, Clip and
// variadic Max/Min/Sum/Mean: functors and kernels over elementwise.cuh's templates.
#include "elementwise.cuh"

namespace mxcuda {
namespace {

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

MXC_FLOAT_TYPES(REG_BINARY, "PRelu", op_prelu)
REG_BINARY(int32_t, "int32", "PRelu", op_prelu) REG_BINARY(int64_t, "int64", "PRelu", op_prelu)
REG_BINARY(uint32_t, "uint32", "PRelu", op_prelu) REG_BINARY(uint64_t, "uint64", "PRelu", op_prelu)
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

#define REG_WHERE(T, key, ...) MXC_KERNEL("Where", key, (where<T>));
MXC_ALL_TYPES(REG_WHERE, _)
#define REG_CLIP(T, key, ...) MXC_KERNEL("Clip", key, (clip<T>));
MXC_NUMERIC_TYPES(REG_CLIP, _)
#define REG_VARIADIC(T, key, name, kind) MXC_KERNEL(name, key, (variadic<T, kind>));
MXC_NUMERIC_TYPES(REG_VARIADIC, "Max", 0)
MXC_NUMERIC_TYPES(REG_VARIADIC, "Min", 1)
MXC_FLOAT_TYPES(REG_VARIADIC, "Sum", 2)
MXC_FLOAT_TYPES(REG_VARIADIC, "Mean", 3)

