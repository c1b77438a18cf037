// Cast and CastLike: y = (T2)x for every pair of the 13 dtypes (key "T1,T2"),
// same shape, with convert()'s semantics (common.cuh): to bool is x != 0, from bool
// 0/1; float to integer truncates toward zero and saturates (NaN gives 0); integer
// to integer wraps; 16-bit floats round to nearest even.
#include "common.cuh"

namespace mxcuda {
namespace {

// ---- Cast
template <class From, class To> __global__ void k_cast(const From* __restrict__ x, To* __restrict__ y, int64_t n) {
  MXC_GRID_LOOP(i, n) y[i] = convert<To>(x[i]);
}
template <class From, class To> int cast(mx_kernel_ctx* ctx) {
  const int64_t n = numel(ctx->outputs[0]);
  if (n) k_cast<From, To><<<blocks_for(n), kThreads, 0, stream_of(ctx)>>>((const From*)ctx->inputs[0].data, (To*)ctx->outputs[0].data, n);
  return MX_OK;
}

}  // namespace
}  // namespace mxcuda

using namespace mxcuda;

#define REG_CAST(T1, key1, T2, key2) MXC_KERNEL("Cast", key1 "," key2, (cast<T1, T2>)); MXC_KERNEL("CastLike", key1 "," key2, (cast<T1, T2>));
MXC_ALL_TYPES(REG_CAST, float, "float32")
MXC_ALL_TYPES(REG_CAST, double, "float64")
MXC_ALL_TYPES(REG_CAST, f16, "float16")
MXC_ALL_TYPES(REG_CAST, bf16, "bfloat16")
MXC_ALL_TYPES(REG_CAST, int8_t, "int8")
MXC_ALL_TYPES(REG_CAST, int16_t, "int16")
MXC_ALL_TYPES(REG_CAST, int32_t, "int32")
MXC_ALL_TYPES(REG_CAST, int64_t, "int64")
MXC_ALL_TYPES(REG_CAST, uint8_t, "uint8")
MXC_ALL_TYPES(REG_CAST, uint16_t, "uint16")
MXC_ALL_TYPES(REG_CAST, uint32_t, "uint32")
MXC_ALL_TYPES(REG_CAST, uint64_t, "uint64")
MXC_ALL_TYPES(REG_CAST, bool, "bool")
