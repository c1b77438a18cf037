// The onednn backend's table, as the kernel library exports it (the .node's
// loader forwards to it once this library has loaded): one device ("cpu", host
// memory), the kernels registered with MXD_KERNEL, and what `mx doctor` shows.
// Also the shared state of common.h: engine, per-thread stream, cache, scratch.
#include <unistd.h>

#include <cstdlib>
#include <exception>
#include <fstream>
#include <new>
#include <string>
#include <thread>

#include "common.h"

extern "C" {
// From the OpenMP runtime oneDNN is built with (libgomp); per calling thread.
void omp_set_num_threads(int n);
}

namespace mxdnnl {

dnnl::engine& cpu_engine() {
  // Never destroyed: a queue's worker may still run a kernel while the process exits.
  static dnnl::engine* e = new dnnl::engine(dnnl::engine::kind::cpu, 0);
  return *e;
}

dnnl::stream& thread_stream() {
  thread_local dnnl::stream s(cpu_engine());
  return s;
}

std::unordered_map<std::string, std::unique_ptr<Entry>>& thread_cache() {
  thread_local std::unordered_map<std::string, std::unique_ptr<Entry>> c;
  return c;
}

char* scratch(size_t bytes) {
  struct Buf {
    char* p = nullptr;
    size_t n = 0;
    ~Buf() { std::free(p); }
  };
  thread_local Buf b;
  if (bytes > b.n) {
    std::free(b.p);
    b.n = 0;
    b.p = static_cast<char*>(std::aligned_alloc(64, align64(bytes)));
    if (!b.p) throw std::bad_alloc();
    b.n = align64(bytes);
  }
  return b.p;
}

void use_threads(const mx_kernel_ctx* ctx, double work) {
  // The count is per calling thread (the queue's worker). Kernels run one at a
  // time on a queue, so oneDNN's team and the bridge's pool never compute at once.
  thread_local int threads = 0;
  const int pool = ctx->pool && ctx->pool->size ? (int)ctx->pool->size : 1;
  const int want = work < 16384 ? 1 : pool;
  if (want != threads) {
    omp_set_num_threads(want);
    threads = want;
  }
}

int guard(mx_kernel_ctx* ctx, const char* op, int (*body)(mx_kernel_ctx*)) {
  try {
    return body(ctx);
  } catch (const dnnl::error& e) {
    const int status = e.status == dnnl_unimplemented    ? MX_ERR_UNSUPPORTED
                       : e.status == dnnl_out_of_memory ? MX_ERR_OOM
                                                        : MX_ERR_INTERNAL;
    return mx_fail(ctx, status, "%s: oneDNN: %s (status %d)", op, e.what(), (int)e.status);
  } catch (const std::bad_alloc&) {
    return mx_fail(ctx, MX_ERR_OOM, "%s: out of host memory for oneDNN's buffers", op);
  } catch (const std::exception& e) {
    return mx_fail(ctx, MX_ERR_INTERNAL, "%s: %s", op, e.what());
  }
}

namespace {

const char* isa_name(dnnl::cpu_isa isa) {
  switch (isa) {
    case dnnl::cpu_isa::sse41: return "SSE4.1";
    case dnnl::cpu_isa::avx: return "AVX";
    case dnnl::cpu_isa::avx2: return "AVX2";
    case dnnl::cpu_isa::avx2_vnni: return "AVX2 with VNNI";
    case dnnl::cpu_isa::avx512_core: return "AVX-512";
    case dnnl::cpu_isa::avx512_core_vnni: return "AVX-512 with VNNI";
    case dnnl::cpu_isa::avx512_core_bf16: return "AVX-512 with BF16";
    case dnnl::cpu_isa::avx512_core_amx: return "AVX-512 with AMX";
    default: return "baseline";
  }
}

// bfloat16 kernels are declared where oneDNN runs them natively (AVX-512 BF16 or AMX).
bool native_bf16() {
  auto isa = dnnl::get_effective_cpu_isa();
  return isa == dnnl::cpu_isa::avx512_core_bf16 || isa == dnnl::cpu_isa::avx512_core_amx;
}

std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("model name", 0) == 0 || line.rfind("Model", 0) == 0) {
      size_t colon = line.find(':');
      if (colon != std::string::npos && colon + 2 <= line.size()) return line.substr(colon + 2);
    }
  }
  return "CPU";
}

// Probed once (init and describe may come in either order): the engine, the
// kernels this CPU gets, and the description; or why oneDNN cannot run.
struct State {
  std::string error, text;
  std::vector<mx_kernel_def> kernels;
  State() {
    try {
      const dnnl_version_t* v = dnnl_version();
      auto isa = dnnl::get_effective_cpu_isa();
      cpu_engine();
      bool bf16 = native_bf16();
      for (const mx_kernel_def& k : mx::kernel_registry())
        if (bf16 || !std::strstr(k.key, "bfloat16")) kernels.push_back(k);
      unsigned hw = std::thread::hardware_concurrency();
      const char* env = std::getenv("MX_NUM_THREADS");
      text = "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch) +
             (v->hash && std::strcmp(v->hash, "N/A") ? std::string(" (") + v->hash + ")" : std::string()) +
             " (OpenMP); ISA: " + isa_name(isa) + "; bfloat16: " + (bf16 ? "yes" : "no (needs AVX-512 BF16)") +
             "; threads: " + (env && std::atoi(env) > 0 ? std::string(env) : std::to_string(hw ? hw : 1)) +
             " (MX_NUM_THREADS overrides)";
    } catch (const std::exception& e) {
      error = std::string("oneDNN could not create a CPU engine: ") + e.what();
    }
  }
};
const State& state() {
  static const State* s = new State();  // never destroyed, like the engine
  return *s;
}

int init(char* reason, uint32_t cap) {
  if (state().error.empty()) return 0;
  snprintf(reason, cap, "%s", state().error.c_str());
  return 1;
}

int32_t num_devices() { return 1; }

void device(int32_t, mx_device_desc* out) {
  static const std::string model = cpu_model();
  out->id = "cpu";
  out->memory = "host";
  out->name = model.c_str();
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  out->total_bytes = pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : 0;
}

int32_t num_kernels() { return (int32_t)state().kernels.size(); }
const mx_kernel_def* kernel(int32_t i) { return &state().kernels[(size_t)i]; }
const char* describe() { return state().error.empty() ? state().text.c_str() : state().error.c_str(); }

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
}  // namespace mxdnnl

// The kernel library's one export: the .node's loader (src/loader.cc) finds it with dlsym.
extern "C" MX_EXPORT const mx_backend_v1* mx_onednn_backend(void) { return &mxdnnl::table; }
