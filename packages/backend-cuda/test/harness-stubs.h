// What the stand-in library harnesses (cudnn-harness.cc, cublaslt-harness.cc)
// share: the backend functions the library paths call, as minimal stand-ins,
// and the few CUDA runtime functions they use, as stubs that print what they
// were asked (FAKE_OOM: the workspace allocation fails; FAKE_FAULT: the stream
// reports an illegal address). Included by exactly one file per harness.
#pragma once
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "runtime.h"

namespace mxcuda {
bool allow_tf32() { return std::getenv("MX_CUDA_ALLOW_TF32") && !std::strcmp(std::getenv("MX_CUDA_ALLOW_TF32"), "1"); }
int cuda_status(int device, cudaError_t e, const char* what, char* msg, uint32_t cap) {
  snprintf(msg, cap, "%s on cuda:%d failed with CUDA error %d", what, device, (int)e);
  return MX_ERR_DEVICE;
}
}  // namespace mxcuda

extern "C" {
cudaError_t cudaMallocAsync(void** p, size_t bytes, cudaStream_t) {
  printf("cudaMallocAsync %zu\n", bytes);
  *p = std::getenv("FAKE_OOM") ? nullptr : (void*)0xa000;
  return std::getenv("FAKE_OOM") ? cudaErrorMemoryAllocation : cudaSuccess;
}
cudaError_t cudaFreeAsync(void* p, cudaStream_t) { return printf("cudaFreeAsync %p\n", p), cudaSuccess; }
cudaError_t cudaStreamQuery(cudaStream_t) { return std::getenv("FAKE_FAULT") ? cudaErrorIllegalAddress : cudaSuccess; }
cudaError_t cudaGetLastError(void) { return cudaSuccess; }
}
