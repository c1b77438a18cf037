// The cuda backend built where nvcc was absent: a loadable .node whose init()
// says so, so that the package installs and the other backends keep working.
#include "mx_backend.h"

namespace {
const char* kWhy =
    "this copy of @mx/backend-cuda was built without CUDA (nvcc was not found at build time); "
    "fix: install a prebuilt package, or rebuild with CUDA 13 (set CUDA_HOME or put nvcc on PATH) and run "
    "`pnpm --filter @mx/backend-cuda build`";
int init(char* reason, uint32_t cap) {
  snprintf(reason, cap, "%s", kWhy);
  return 1;
}
int32_t none() { return 0; }
void no_device(int32_t, mx_device_desc*) {}
const mx_kernel_def* no_kernel(int32_t) { return nullptr; }
const char* describe() { return kWhy; }
const mx_backend_v1 table = {sizeof(mx_backend_v1), MX_ABI_MAJOR, MX_ABI_MINOR, "cuda", init, none, no_device, none,
                             no_kernel, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, describe};
}  // namespace

extern "C" MX_EXPORT const mx_backend_v1* mx_backend_get(void) { return &table; }
