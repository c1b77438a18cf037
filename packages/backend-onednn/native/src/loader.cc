// The onednn backend's .node holds the bridge and this loader only: the kernels
// live in libmx_onednn.so beside it, which links the bundled libdnnl.so.2 (and
// its libgomp/libOpenCL) through an $ORIGIN rpath. Opening that library lazily,
// at init (or at the first describe, which mx doctor asks for first), keeps the
// .node loadable where oneDNN is not: the backend is then "unavailable" with the
// dynamic loader's message as the reason.
//
// MX_ONEDNN_LIB=/path/to/libmx_onednn.so opens another kernel library (tests
// point it at a missing file).
//
// OpenMP waits: libgomp reads OMP_WAIT_POLICY once, when it loads. Its default
// spins at every barrier; on a busy or shared machine a spinning thread keeps a
// core from the thread it waits for (a 3x3 conv measured 20x slower than with
// passive waits here), and its spinning team competes with the cpu backend's
// pool when kernels alternate between the two backends. So the library loads
// with OMP_WAIT_POLICY=PASSIVE unless the user set OMP_WAIT_POLICY or
// GOMP_SPINCOUNT; the variable is removed again once libgomp has read it.
#include <dlfcn.h>

#include <cstdlib>
#include <mutex>
#include <string>

#include "mx_backend.h"

namespace {

const mx_backend_v1* lib = nullptr;  // the kernel library's table, once loaded
std::string why;                     // why it did not load

std::string library_path() {
  if (const char* p = std::getenv("MX_ONEDNN_LIB"); p && *p) return p;
  Dl_info info{};
  if (!dladdr(reinterpret_cast<void*>(&mx_backend_get), &info) || !info.dli_fname) return "libmx_onednn.so";
  std::string self = info.dli_fname;
  size_t slash = self.rfind('/');
  return (slash == std::string::npos ? std::string() : self.substr(0, slash + 1)) + "libmx_onednn.so";
}

bool load() {
  static std::once_flag once;
  std::call_once(once, [] {
    const std::string path = library_path();
    const std::string fix =
        "; fix: reinstall @mx/backend-onednn (its prebuilds/ bundles oneDNN next to the .node), "
        "or build it from source with `pnpm --filter @mx/backend-onednn build` (needs Debian's libdnnl-dev)";
    const bool passive = !std::getenv("OMP_WAIT_POLICY") && !std::getenv("GOMP_SPINCOUNT");
    if (passive) setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
    void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (passive) unsetenv("OMP_WAIT_POLICY");
    if (!h) {
      const char* e = dlerror();
      why = "cannot load the oneDNN kernel library " + path + ": " + (e ? e : "unknown error") + fix;
      return;
    }
    auto get = reinterpret_cast<mx_backend_get_fn>(dlsym(h, "mx_onednn_backend"));
    const mx_backend_v1* t = get ? get() : nullptr;
    if (!t || t->abi_major != MX_ABI_MAJOR || t->size < sizeof(mx_backend_v1)) {
      why = path + " is not this package's oneDNN kernel library (no matching mx_onednn_backend table)" + fix;
      return;
    }
    lib = t;
  });
  return lib != nullptr;
}

int init(char* reason, uint32_t cap) {
  if (!load()) {
    snprintf(reason, cap, "%s", why.c_str());
    return 1;
  }
  return lib->init ? lib->init(reason, cap) : 0;
}

// The slots below are called only after init() succeeded.
int32_t num_devices() { return lib->num_devices(); }
void device(int32_t i, mx_device_desc* out) { lib->device(i, out); }
int32_t num_kernels() { return lib->num_kernels(); }
const mx_kernel_def* kernel(int32_t i) { return lib->kernel(i); }
const char* describe() { return load() ? (lib->describe ? lib->describe() : nullptr) : why.c_str(); }

const mx_backend_v1 table = {
    /* .size         = */ sizeof(mx_backend_v1),
    /* .abi_major    = */ MX_ABI_MAJOR,
    /* .abi_minor    = */ MX_ABI_MINOR,
    /* .name         = */ "onednn",
    /* .init         = */ init,
    /* .num_devices  = */ num_devices,
    /* .device       = */ device,
    /* .num_kernels  = */ num_kernels,
    /* .kernel       = */ kernel,
    /* .alloc        = */ nullptr,  // host memory: tensors are core's ArrayBuffers
    /* .free         = */ nullptr,
    /* .copy_in      = */ nullptr,
    /* .copy_out     = */ nullptr,
    /* .stream_create= */ nullptr,
    /* .stream_sync  = */ nullptr,
    /* .memory_info  = */ nullptr,
    /* .describe     = */ describe,
};

}  // namespace

extern "C" MX_EXPORT const mx_backend_v1* mx_backend_get(void) { return &table; }
