// runtime.h: what kernels share with the backend's device code (backend.cc):
// the per-queue stream, device faults, and cuBLAS and cuDNN when they were loaded.
//
// Contract: kernels run on their device queue's worker thread, which stream_create
// bound to the device (cudaSetDevice), and enqueue work on stream_of(ctx) only;
// nothing waits for the GPU except copy_out, stream_sync and the few kernels that
// must read a device value on the host (Gather's index check).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "mx_backend.h"

namespace mxcuda {

// The queue's stream and its pinned staging for up/downloads (one per queue, so
// per device and Node environment). ctx->stream points at one of these.
struct Stream {
  int device;
  cudaStream_t s;
  void* staging[2];      // pinned host buffers of kStagingBytes, allocated on first use
  cudaEvent_t done[2];   // recorded after the copy that last read staging[i]
  void* flag;            // 8 bytes of device memory for checks read back by the host
  void* host_flag;       // 8 pinned bytes they are read into
};
constexpr size_t kStagingBytes = 8u << 20;

inline cudaStream_t stream_of(const mx_kernel_ctx* ctx) { return static_cast<Stream*>(ctx->stream)->s; }

// Turns a CUDA error into a status and message. Sticky errors (illegal address,
// launch failure...) poison the device: every later call on it fails at once with
// MX_ERR_DEVICE naming the first fault; other devices keep working.
int cuda_status(int device, cudaError_t e, const char* what, char* msg, uint32_t cap);
inline int cuda_fail(mx_kernel_ctx* ctx, cudaError_t e, const char* what) {
  return cuda_status(ctx->device, e, what, ctx->msg, ctx->msg_cap);
}
// Non-zero (with the message written) when the device was poisoned earlier.
int device_poisoned(int device, char* msg, uint32_t cap);
// Compute capability major * 10 + minor of a device.
int device_cc(int device);

// cuBLAS, when it was loaded (libs.cc). gemm_ex computes, in cuBLAS's column-major
// terms, C = alpha op(A) op(B) + beta C for `batch` matrices apart by the strides.
// dtype is an mx_dtype of A, B and C (float32/float64/float16/bfloat16).
// Returns false when cuBLAS is absent or refuses; msg is then set when it failed.
bool cublas_available();
int cublas_gemm(mx_kernel_ctx* ctx, int dtype, bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha,
                const void* a, int64_t lda, int64_t sa, const void* b, int64_t ldb, int64_t sb, double beta, void* c,
                int64_t ldc, int64_t sc, int64_t batch);
const char* libraries_text();
void load_libraries();
bool allow_tf32();

// cuDNN, when it was loaded and its symbols resolved (cudnn.cc). cudnn_conv runs
// a Conv's convolution (inputs 0 and 1 into output 0, with ctx's strides,
// dilations, pads and group; no bias) as Y = conv(X, W), or Y = conv(X, W) + Y
// when accumulate. Returns false when cuDNN declines the call (not loaded,
// MX_CUDA_CUDNN=0, a shape it cannot express, a failure status: remembered per
// shape): the caller then runs its own kernel over Y. Returns true with *status
// MX_OK when the convolution is enqueued on the queue's stream, or with an error
// (a device fault) and the message written.
bool cudnn_conv(mx_kernel_ctx* ctx, bool accumulate, int* status);
// Called once by load_libraries with cuDNN's dlopen handle: resolves the symbols
// and loads the sub-libraries; returns the use part of mx doctor's cuDNN line.
const char* cudnn_bind(void* lib);

}  // namespace mxcuda

// Registers a CUDA kernel: the wrapper refuses work on a poisoned device and turns
// a failed launch (cudaGetLastError) into a status, so kernels only launch.
namespace mxcuda {
template <mx_kernel_fn F> int guarded(mx_kernel_ctx* ctx) {
  if (int st = device_poisoned(ctx->device, ctx->msg, ctx->msg_cap)) return st;
  if (!ctx->stream) return mx_fail(ctx, MX_ERR_INTERNAL, "a cuda kernel was submitted on a queue without a cuda stream");
  int st = F(ctx);
  if (st != MX_OK) return st;
  cudaError_t e = cudaGetLastError();
  return e == cudaSuccess ? MX_OK : cuda_fail(ctx, e, "kernel launch");
}
}  // namespace mxcuda
#define MXC_KERNEL(op, key, fn) MX_KERNEL(op, key, (::mxcuda::guarded<fn>))
#define MXC_KERNEL_DOMAIN(op, domain, key, fn) MX_KERNEL_DOMAIN(op, domain, key, (::mxcuda::guarded<fn>))
