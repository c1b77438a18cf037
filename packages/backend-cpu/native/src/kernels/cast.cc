// Cast and CastLike: y = (T2)x for every pair of the 13 dtypes (key "T1,T2"),
// same shape. Semantics are convert() in elementwise.h: to bool is x != 0, from
// bool 0/1; float to integer truncates toward zero and saturates out of range
// (ONNX leaves that undefined; NaN gives 0); integer to integer wraps; 16-bit
// floats convert through float32 and round to nearest even (from float64 and
// integers beyond 2^24 that is two roundings, which differ from one only in
// rare ties); NaN stays NaN among floats.
#include "elementwise.h"

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
