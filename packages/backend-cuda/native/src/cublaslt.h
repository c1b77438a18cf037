// cuBLASLt for Gemm with a bias vector (cublaslt.cc), kept out of runtime.h so
// that only gemm.cu depends on it.
#pragma once

#include <cstdint>

#include "mx_backend.h"

namespace mxcuda {

// Y[M, N] = alpha op(A) op(B) + bias, row-major, bias[N] added to every row, in
// one cublasLtMatmul with the bias epilogue. dtype (float32, float16 or bfloat16)
// is that of A, B, bias and Y alike. Returns false when cuBLASLt declines the
// call (not loaded, MX_CUDA_CUBLASLT=0, another dtype, a failure status while
// planning or running: remembered per shape; no workspace: this call only): the
// caller then computes Y its own way. Returns true with *status MX_OK when the
// product is enqueued on the queue's stream, or with an error (a device fault)
// and the message written.
bool cublaslt_gemm_bias(mx_kernel_ctx* ctx, int dtype, bool ta, bool tb, int64_t M, int64_t N, int64_t K, double alpha,
                        const void* a, const void* b, const void* bias, void* y, int* status);
// Called once by load_libraries with cuBLASLt's dlopen handle: resolves the
// symbols; returns the use part of mx doctor's cuBLASLt line.
const char* cublaslt_bind(void* lib);

}  // namespace mxcuda
