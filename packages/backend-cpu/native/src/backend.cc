// The cpu backend's table: one device ("cpu", host memory), the kernels that
// kernels/*.cc register with MX_KERNEL, and the CPU features kernels dispatch on.
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "common.h"
#include "pool.h"

namespace mxcpu {

#if defined(__x86_64__) || defined(__i386__)
// The widest instruction set kernels may use: MX_CPU_ISA=avx2 stops at AVX2 +
// FMA, MX_CPU_ISA=generic at the portable C++ paths (for comparing paths and
// for testing the narrower ones on a wider CPU); unset or anything else: all
// the CPU has. Read once, at the first check.
int isa_cap() {
  static const int cap = [] {
    const char* v = std::getenv("MX_CPU_ISA");
    const std::string s = v ? v : "";
    return s == "generic" ? 0 : s == "avx2" ? 1 : 2;
  }();
  return cap;
}
// __builtin_cpu_supports also checks that the OS saves the wider registers (XCR0).
bool cpu_has_avx2_fma() {
  static const bool yes = isa_cap() >= 1 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
}
bool cpu_has_avx512f() {
  static const bool yes = isa_cap() >= 2 && __builtin_cpu_supports("avx512f");
  return yes;
}
bool cpu_has_avx512vl() {
  static const bool yes = cpu_has_avx2_fma() && cpu_has_avx512f() && __builtin_cpu_supports("avx512vl");
  return yes;
}
#else
bool cpu_has_avx2_fma() { return false; }
bool cpu_has_avx512f() { return false; }
bool cpu_has_avx512vl() { return false; }
#endif

namespace {

const std::string& cpu_model() {
  static const std::string model = [] {
    std::ifstream f("/proc/cpuinfo");
    std::string line;
    while (std::getline(f, line)) {
      if (line.rfind("model name", 0) == 0 || line.rfind("Model", 0) == 0) {
        size_t colon = line.find(':');
        if (colon != std::string::npos && colon + 2 <= line.size()) return line.substr(colon + 2);
      }
    }
    return std::string("CPU");
  }();
  return model;
}

const std::string& description() {
  static const std::string text = [] {
    std::string isa;
#if defined(__x86_64__) || defined(__i386__)
    // what the kernels use (MX_CPU_ISA may cap it below what the CPU has)
    if (__builtin_cpu_supports("sse4.2")) isa += " SSE4.2";
    if (cpu_has_avx2_fma()) isa += " AVX2 FMA";
    if (cpu_has_avx512f()) isa += " AVX-512F";
    if (const char* cap = std::getenv("MX_CPU_ISA"); cap && *cap) isa += std::string(" (MX_CPU_ISA=") + cap + ")";
#elif defined(__aarch64__)
    isa = " NEON";
#endif
    return "ISA:" + (isa.empty() ? std::string(" baseline") : isa) + "; threads: " +
           std::to_string(mxb::default_threads()) + " (MX_NUM_THREADS overrides)";
  }();
  return text;
}

int32_t num_devices() { return 1; }

void device(int32_t, mx_device_desc* out) {
  out->id = "cpu";
  out->memory = "host";
  out->name = cpu_model().c_str();
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  out->total_bytes = pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : 0;
}

int32_t num_kernels() { return (int32_t)mx::kernel_registry().size(); }
const mx_kernel_def* kernel(int32_t i) { return &mx::kernel_registry()[(size_t)i]; }
const char* describe() { return description().c_str(); }

const mx_backend_v1 table = {
    /* .size         = */ sizeof(mx_backend_v1),
    /* .abi_major    = */ MX_ABI_MAJOR,
    /* .abi_minor    = */ MX_ABI_MINOR,
    /* .name         = */ "cpu",
    /* .init         = */ nullptr,  // any CPU of the architecture runs the baseline kernels
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
}  // namespace mxcpu

extern "C" MX_EXPORT const mx_backend_v1* mx_backend_get(void) { return &mxcpu::table; }
