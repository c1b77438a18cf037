// BitCast: Y's bytes are X's bytes (the host is little endian, as ONNX requires);
// core checked that `to` has X's element width, so X and Y have the same size.
#include "movement.h"
#include "seq_common.h"

namespace mxcpu {
namespace {

int bit_cast(mx_kernel_ctx* ctx) {
  const mx_tensor &x = ctx->inputs[0], &y = ctx->outputs[0];
  const int64_t bytes = mx_numel(&x) * movement::elem_size(x.dtype);
  if (bytes != mx_numel(&y) * movement::elem_size(y.dtype))
    return mx_fail(ctx, MX_ERR_INVALID, "BitCast: dtype %d to %d changes the byte size", x.dtype, y.dtype);
  const char* src = static_cast<const char*>(x.data);
  char* dst = static_cast<char*>(y.data);
  parallel_for(ctx->pool, bytes, 1 << 20, [&](int64_t b, int64_t e) { std::memcpy(dst + b, src + b, size_t(e - b)); });
  return MX_OK;
}

}  // namespace
}  // namespace mxcpu

// One registration per element width: every (T1, T2) pair of that width.
#define MXCPU_BITCAST_WIDTH(...) MXCPU_SEQ_KERNELS("BitCast", mxcpu::bit_cast, {__VA_ARGS__}, {__VA_ARGS__})
MXCPU_BITCAST_WIDTH("int8", "uint8", "bool");
MXCPU_BITCAST_WIDTH("int16", "uint16", "float16", "bfloat16");
MXCPU_BITCAST_WIDTH("int32", "uint32", "float32");
MXCPU_BITCAST_WIDTH("int64", "uint64", "float64");
