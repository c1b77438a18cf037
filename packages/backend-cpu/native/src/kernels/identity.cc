// Identity: Y = X, a byte copy for every dtype. Core treats Identity as a view
// and runs no kernel; this one exists to test the bridge end to end. It checks
// what core would guarantee (same dtype and element count) and fails otherwise.
#include "common.h"

namespace {

int identity(mx_kernel_ctx* ctx) {
  const mx_tensor& x = ctx->inputs[0];
  const mx_tensor& y = ctx->outputs[0];
  if (x.dtype != y.dtype || mxcpu::numel(x) != mxcpu::numel(y))
    return mx_fail(ctx, MX_ERR_INVALID, "Identity: input has %lld elements of dtype %d but output has %lld of dtype %d",
                   (long long)mxcpu::numel(x), x.dtype, (long long)mxcpu::numel(y), y.dtype);
  size_t size = 0;
  if (!mxcpu::dispatch(x.dtype, [&](auto t) { size = sizeof(t); }))
    return mx_fail(ctx, MX_ERR_UNSUPPORTED, "Identity: unknown dtype %d", x.dtype);
  const char* src = static_cast<const char*>(x.data);
  char* dst = static_cast<char*>(y.data);
  // Large copies are split over the pool in 1 MiB pieces.
  mxcpu::parallel_for(ctx->pool, (int64_t)(mxcpu::numel(x) * size), 1 << 20,
                      [&](int64_t b, int64_t e) { std::memcpy(dst + b, src + b, (size_t)(e - b)); });
  return MX_OK;
}

}  // namespace

MX_KERNEL("Identity", "float32", identity);
MX_KERNEL("Identity", "float64", identity);
MX_KERNEL("Identity", "float16", identity);
MX_KERNEL("Identity", "bfloat16", identity);
MX_KERNEL("Identity", "int8", identity);
MX_KERNEL("Identity", "uint8", identity);
MX_KERNEL("Identity", "int16", identity);
MX_KERNEL("Identity", "uint16", identity);
MX_KERNEL("Identity", "int32", identity);
MX_KERNEL("Identity", "uint32", identity);
MX_KERNEL("Identity", "int64", identity);
MX_KERNEL("Identity", "uint64", identity);
MX_KERNEL("Identity", "bool", identity);
