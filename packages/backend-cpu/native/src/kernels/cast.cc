// Cast and CastLike: y = (T2)x for every pair of dtypes (key "T1,T2"), same
// shape. Among the 13 standard dtypes semantics are convert() in elementwise.h:
// to bool is x != 0, from bool 0/1; float to integer truncates toward zero and
// saturates out of range (ONNX leaves that undefined; NaN gives 0); integer to
// integer wraps; 16-bit floats convert through float32 and round to nearest even
// (from float64 and integers beyond 2^24 that is two roundings, which differ
// from one only in rare ties); NaN stays NaN among floats.
// A narrow float (narrow.h) is read through its decoding table (exact in float,
// then converted as from float32), a narrow integer as the int8/uint8 it is
// stored as; narrow targets are written by narrow::encoder with the saturate
// and round_mode attributes.
#include "elementwise.h"
#include "narrow.h"
#include "seq_common.h"

namespace mxcpu {
namespace {

template <class I, class O> int cast_kernel(mx_kernel_ctx* ctx) {
  const I* x = in_data<I>(ctx, 0);
  O* y = out_data<O>(ctx, 0);
  const int64_t n = numel(ctx->outputs[0]);
  if constexpr (std::is_same_v<I, O>) {
    parallel_for(ctx->pool, n, kGrain, [&](int64_t b, int64_t e) { std::memcpy(y + b, x + b, (e - b) * sizeof(O)); });
  } else {
    unary_apply<I, O>(ctx->pool, [](auto v) { return v; }, x, y, n);
  }
  return MX_OK;
}

// y[i] = f(i) for i in [0, n), on the pool.
template <class O, class F> void fill(const mx_pool* pool, O* y, int64_t n, const F& f) {
  parallel_for(pool, n, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; i++) y[i] = f(i);
  });
}

// Every pair with a narrow type: T1 or T2 is narrow (run-time dtypes).
int cast_narrow(mx_kernel_ctx* ctx) {
  const mx_tensor &X = ctx->inputs[0], &Y = ctx->outputs[0];
  const int64_t n = numel(Y);
  if (X.dtype == Y.dtype) {
    std::memcpy(Y.data, X.data, (size_t)n);
    return MX_OK;
  }
  uint8_t* y8 = static_cast<uint8_t*>(Y.data);
  const narrow::encoder enc(Y.dtype, ctx->attrs);  // used when Y is narrow
  // Writes y from read(i), the value of x[i] as a standard type.
  const auto write = [&](const auto& read) {
    if (narrow::is_narrow(Y.dtype)) {
      fill(ctx->pool, y8, n, [&](int64_t i) { return enc(read(i)); });
      return true;
    }
    return dispatch(Y.dtype, [&](auto z) {
      using O = decltype(z);
      fill(ctx->pool, static_cast<O*>(Y.data), n, [&](int64_t i) { return convert<O>(read(i)); });
    });
  };
  bool ok = true;
  if (narrow::is_signed_int(X.dtype)) {
    const int8_t* x = static_cast<const int8_t*>(X.data);
    ok = write([x](int64_t i) { return x[i]; });
  } else if (narrow::is_int(X.dtype)) {
    const uint8_t* x = static_cast<const uint8_t*>(X.data);
    ok = write([x](int64_t i) { return x[i]; });
  } else if (narrow::is_narrow(X.dtype)) {
    const float* table = narrow::decode_table(X.dtype);
    const uint8_t* x = static_cast<const uint8_t*>(X.data);
    ok = write([x, table](int64_t i) { return table[x[i]]; });
  } else {  // a standard type to a narrow one
    ok = dispatch(X.dtype, [&](auto z) {
      using I = decltype(z);
      const I* x = static_cast<const I*>(X.data);
      fill(ctx->pool, y8, n, [&](int64_t i) { return enc(x[i]); });
    });
  }
  return ok ? MX_OK : mx_fail(ctx, MX_ERR_UNSUPPORTED, "Cast: dtypes %d -> %d", X.dtype, Y.dtype);
}

}  // namespace
}  // namespace mxcpu

using namespace mxcpu;

// CastLike(input, target_type) is Cast to target_type's dtype: the same kernels.
#define REG_CAST(T2, key2, T1, key1)                              \
  MX_KERNEL("Cast", key1 "," key2, (cast_kernel<T1, T2>)); \
  MX_KERNEL("CastLike", key1 "," key2, (cast_kernel<T1, T2>));

MXCPU_ALL_TYPES(REG_CAST, float, "float32")
MXCPU_ALL_TYPES(REG_CAST, double, "float64")
MXCPU_ALL_TYPES(REG_CAST, f16, "float16")
MXCPU_ALL_TYPES(REG_CAST, bf16, "bfloat16")
MXCPU_ALL_TYPES(REG_CAST, int8_t, "int8")
MXCPU_ALL_TYPES(REG_CAST, int16_t, "int16")
MXCPU_ALL_TYPES(REG_CAST, int32_t, "int32")
MXCPU_ALL_TYPES(REG_CAST, int64_t, "int64")
MXCPU_ALL_TYPES(REG_CAST, uint8_t, "uint8")
MXCPU_ALL_TYPES(REG_CAST, uint16_t, "uint16")
MXCPU_ALL_TYPES(REG_CAST, uint32_t, "uint32")
MXCPU_ALL_TYPES(REG_CAST, uint64_t, "uint64")
MXCPU_ALL_TYPES(REG_CAST, bool, "bool")

#define MXCPU_NARROW_NAMES "float8e4m3fn", "float8e4m3fnuz", "float8e5m2", "float8e5m2fnuz", "float8e8m0", "float4e2m1", "int4", "uint4", "int2", "uint2"
#define MXCPU_STANDARD_NAMES MXCPU_SEQ_FLOATS, "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "bool"
MXCPU_SEQ_KERNELS("Cast", cast_narrow, {MXCPU_NARROW_NAMES}, {MXCPU_STANDARD_NAMES, MXCPU_NARROW_NAMES});
MXCPU_SEQ_KERNELS("Cast", cast_narrow, {MXCPU_STANDARD_NAMES}, {MXCPU_NARROW_NAMES});
MXCPU_SEQ_KERNELS("CastLike", cast_narrow, {MXCPU_NARROW_NAMES}, {MXCPU_STANDARD_NAMES, MXCPU_NARROW_NAMES});
MXCPU_SEQ_KERNELS("CastLike", cast_narrow, {MXCPU_STANDARD_NAMES}, {MXCPU_NARROW_NAMES});
