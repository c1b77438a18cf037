// One call into a dlopen'd CUDA library (cuDNN, cuBLASLt) with its workspace,
// as the paths that use them share it: the workspace stream-ordered on the
// queue's stream, freed after the call, and a failed call checked for a device
// fault (sticky errors show in any later call).
#pragma once
#include <cuda_runtime.h>

#include <string>

#include "runtime.h"

namespace mxcuda {

enum class LibRun {
  Ok,           // the call returned success
  NoWorkspace,  // the workspace ran out of memory: nothing ran; the caller's own path takes this call
  Failed,       // the call returned *lib_status != 0 and the device is fine
  Fault,        // a CUDA error (workspace, or a device the failed call faulted): *status holds it
};

// call(void* workspace) returns the library's status (0: success). lib names
// the library in messages ("cuDNN"), what the call ("cuDNN convolution").
template <class F>
LibRun run_with_workspace(mx_kernel_ctx* ctx, cudaStream_t s, size_t bytes, const char* lib, const char* what, int* status,
                          int* lib_status, F call) {
  void* ws = nullptr;
  if (bytes) {
    const cudaError_t e = cudaMallocAsync(&ws, bytes, s);
    if (e == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      return LibRun::NoWorkspace;
    }
    if (e != cudaSuccess) return (*status = cuda_fail(ctx, e, (std::string(lib) + " workspace (cudaMallocAsync)").c_str())), LibRun::Fault;
  }
  *lib_status = call(ws);
  if (ws) {
    const cudaError_t e = cudaFreeAsync(ws, s);
    if (e != cudaSuccess) return (*status = cuda_fail(ctx, e, (std::string(lib) + " workspace (cudaFreeAsync)").c_str())), LibRun::Fault;
  }
  if (*lib_status == 0) return LibRun::Ok;
  const cudaError_t e = cudaStreamQuery(s);
  if (e != cudaSuccess && e != cudaErrorNotReady) return (*status = cuda_fail(ctx, e, what)), LibRun::Fault;
  if (e == cudaErrorNotReady) cudaGetLastError();  // busy is not an error for the launch check after this kernel
  return LibRun::Failed;
}

}  // namespace mxcuda
