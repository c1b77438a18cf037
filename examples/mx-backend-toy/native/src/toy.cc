// mx-backend-toy: a complete native mx backend in one file, written only against
// @mx/core's public C header (include/mx_backend.h).
//
// It serves the host device "cpu" (memory "host": tensors are core's ArrayBuffers,
// so it needs no alloc/free/copy slots) with three float32 kernels:
//   Add(A, B) = A + B, Mul(A, B) = A * B   (NumPy broadcasting)
//   Relu(X)   = max(X, 0)                  (NaN stays NaN)
// What core guarantees on entry: dtypes are the kernel's key (float32), the
// output is allocated with the broadcast shape, every tensor is dense row-major,
// rank 0 is a scalar and a dimension may be 0. Kernels run on the device queue's
// worker thread, one at a time, and may fan out through ctx->pool.
#include <stdint.h>

#include "mx_backend.h"

namespace {

// Element strides of `in` aligned right against the output's dims; 0 where `in`
// is broadcast (its dim is 1 or missing).
void broadcast_strides(const mx_tensor& in, const mx_tensor& out, int64_t* strides) {
  int64_t step = 1;
  for (int32_t d = out.ndim - 1, k = in.ndim - 1; d >= 0; d--, k--) {
    const int64_t dim = k >= 0 ? in.shape[k] : 1;
    strides[d] = dim == 1 ? 0 : step;
    step *= dim;
  }
}

// Y[i] = f(A[ia], B[ib]) over the output, walking an odometer of output indices.
template <class F>
int binary(mx_kernel_ctx* ctx, F f) {
  const mx_tensor& a = ctx->inputs[0];
  const mx_tensor& b = ctx->inputs[1];
  const mx_tensor& y = ctx->outputs[0];
  int64_t sa[MX_MAX_DIMS], sb[MX_MAX_DIMS], idx[MX_MAX_DIMS] = {0};
  broadcast_strides(a, y, sa);
  broadcast_strides(b, y, sb);
  const float* pa = static_cast<const float*>(a.data);
  const float* pb = static_cast<const float*>(b.data);
  float* py = static_cast<float*>(y.data);
  const int64_t n = mx_numel(&y);
  int64_t ia = 0, ib = 0;
  for (int64_t i = 0; i < n; i++) {
    py[i] = f(pa[ia], pb[ib]);
    for (int32_t d = y.ndim - 1; d >= 0; d--) {
      ia += sa[d];
      ib += sb[d];
      if (++idx[d] < y.shape[d]) break;
      ia -= sa[d] * y.shape[d];
      ib -= sb[d] * y.shape[d];
      idx[d] = 0;
    }
  }
  return MX_OK;
}

int add_f32(mx_kernel_ctx* ctx) {
  return binary(ctx, [](float x, float z) { return x + z; });
}
int mul_f32(mx_kernel_ctx* ctx) {
  return binary(ctx, [](float x, float z) { return x * z; });
}

// Relu splits the elements over the bridge's thread pool: parallel_for calls
// relu_range on chunks of at least 64 Ki elements, the calling thread included.
struct Unary {
  const float* x;
  float* y;
};
void relu_range(void* p, int64_t begin, int64_t end) {
  const Unary* u = static_cast<const Unary*>(p);
  for (int64_t i = begin; i < end; i++) u->y[i] = u->x[i] < 0.0f ? 0.0f : u->x[i];
}
int relu_f32(mx_kernel_ctx* ctx) {
  Unary u = {static_cast<const float*>(ctx->inputs[0].data), static_cast<float*>(ctx->outputs[0].data)};
  ctx->pool->parallel_for(ctx->pool->self, mx_numel(&ctx->outputs[0]), 1 << 16, relu_range, &u);
  return MX_OK;
}

// The keys are core's kernelKey(): the dtype bound to each type constraint, here T.
MX_KERNEL("Add", "float32", add_f32);
MX_KERNEL("Mul", "float32", mul_f32);
MX_KERNEL("Relu", "float32", relu_f32);

int32_t num_devices() { return 1; }
void device(int32_t, mx_device_desc* out) {
  out->id = "cpu";
  out->memory = "host";
  out->name = "toy kernels on the host CPU";
}
int32_t num_kernels() { return static_cast<int32_t>(mx::kernel_registry().size()); }
const mx_kernel_def* kernel(int32_t i) { return &mx::kernel_registry()[static_cast<size_t>(i)]; }
const char* describe() { return "an example backend: float32 Add, Mul, Relu"; }

const mx_backend_v1 table = {
    /* .size          = */ sizeof(mx_backend_v1),
    /* .abi_major     = */ MX_ABI_MAJOR,
    /* .abi_minor     = */ MX_ABI_MINOR,
    /* .name          = */ "toy",
    /* .init          = */ nullptr,  // nothing to probe: any CPU runs these loops
    /* .num_devices   = */ num_devices,
    /* .device        = */ device,
    /* .num_kernels   = */ num_kernels,
    /* .kernel        = */ kernel,
    /* .alloc         = */ nullptr,  // host memory belongs to core
    /* .free          = */ nullptr,
    /* .copy_in       = */ nullptr,
    /* .copy_out      = */ nullptr,
    /* .stream_create = */ nullptr,
    /* .stream_sync   = */ nullptr,
    /* .memory_info   = */ nullptr,
    /* .describe      = */ describe,
};

}  // namespace

extern "C" MX_EXPORT const mx_backend_v1* mx_backend_get(void) { return &table; }
