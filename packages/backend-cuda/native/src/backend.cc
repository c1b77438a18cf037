// The cuda backend's table: devices, the caching allocator, copies through pinned
// staging, one stream per queue, faults, and the text `mx doctor` prints.
//
// The CUDA runtime is linked statically (cudart_static), and it opens the driver
// (libcuda.so.1) on the first call: where there is no driver or GPU the .node
// still loads and init() reports the runtime's own error as the reason.
//
// Allocator: CUDA's stream-ordered pool (cudaMallocAsync on the queue's stream)
// with its release threshold raised so freed blocks stay cached for reuse. Core
// frees in queue order on the same stream, so a block is reused only by work
// ordered after its last use. On out-of-memory the pool is trimmed once and the
// allocation retried; then the error says asked, free and total bytes.
#include <cuda_runtime.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "mx_backend.h"
#include "runtime.h"

namespace mxcuda {
namespace {

struct Device {
  std::string id, name;
  cudaDeviceProp prop{};
  std::atomic<bool> poisoned{false};
  std::mutex m;  // guards fault, sizes, used
  std::string fault;
  std::unordered_map<void*, uint64_t> sizes;
  uint64_t used = 0;
};

std::vector<Device*> devices;  // filled once by init, never freed (workers may use them at exit)
std::string init_error;
std::string describe_text;
thread_local Stream* current = nullptr;  // the worker thread's stream (set by stream_create)

bool sticky(cudaError_t e) {
  switch (e) {
    case cudaErrorIllegalAddress: case cudaErrorLaunchFailure: case cudaErrorHardwareStackError:
    case cudaErrorIllegalInstruction: case cudaErrorMisalignedAddress: case cudaErrorInvalidAddressSpace:
    case cudaErrorInvalidPc: case cudaErrorAssert: case cudaErrorECCUncorrectable: case cudaErrorLaunchTimeout:
    case cudaErrorContextIsDestroyed: case cudaErrorDevicesUnavailable: case cudaErrorUnknown:
      return true;
    default:
      return false;
  }
}

std::string fmt_bytes(uint64_t b) {
  char s[64];
  snprintf(s, sizeof s, "%llu bytes (%.2f GiB)", (unsigned long long)b, b / 1073741824.0);
  return s;
}

int cuda_init(char* reason, uint32_t cap) {
  static std::once_flag once;
  std::call_once(once, [] {
    int rt = 0, drv = 0, n = 0;
    cudaRuntimeGetVersion(&rt);
    cudaDriverGetVersion(&drv);
    cudaError_t e = cudaGetDeviceCount(&n);
    char head[160];
    snprintf(head, sizeof head, "CUDA runtime %d.%d (static), driver %s", rt / 1000, (rt % 1000) / 10,
             drv ? (std::to_string(drv / 1000) + "." + std::to_string((drv % 1000) / 10)).c_str() : "none");
    if (e != cudaSuccess) {
      init_error = std::string("no usable NVIDIA GPU: cudaGetDeviceCount failed with ") + cudaGetErrorName(e) + " (" +
                   std::to_string((int)e) + "): " + cudaGetErrorString(e) + "; " + head +
                   "; fix: install an NVIDIA driver for CUDA 13 (libcuda.so.1) on a machine with a GPU of compute "
                   "capability 7.5 or newer, or leave cuda out of MX_BACKENDS";
      cudaGetLastError();
      return;
    }
    if (n == 0) {
      init_error = std::string("the NVIDIA driver reports no GPU; ") + head;
      return;
    }
    std::string text = head + std::string("; GPUs:");
    for (int i = 0; i < n; i++) {
      Device* d = new Device();
      cudaGetDeviceProperties(&d->prop, i);
      d->id = "cuda:" + std::to_string(i);
      d->name = d->prop.name;
      char line[256];
      snprintf(line, sizeof line, " %s %s (sm_%d%d, %s, %d SMs)%s", d->id.c_str(), d->name.c_str(), d->prop.major,
               d->prop.minor, fmt_bytes(d->prop.totalGlobalMem).c_str(), d->prop.multiProcessorCount,
               d->prop.major * 10 + d->prop.minor < 75 ? " [below sm_75: unsupported]" : "");
      text += line;
      devices.push_back(d);
      // Keep freed blocks cached in the device's default pool (the allocator's cache).
      cudaMemPool_t pool;
      if (cudaDeviceGetDefaultMemPool(&pool, i) == cudaSuccess) {
        uint64_t keep = UINT64_MAX;
        cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep);
      }
    }
    for (Device* d : devices)
      if (d->prop.major * 10 + d->prop.minor < 75) {
        init_error = d->id + " (" + d->name + ") has compute capability " + std::to_string(d->prop.major) + "." +
                     std::to_string(d->prop.minor) + "; this build targets 7.5 and newer (CUDA 13)";
        return;
      }
    load_libraries();
    text += std::string("; ") + libraries_text();
    describe_text = text;
  });
  if (init_error.empty()) return 0;
  snprintf(reason, cap, "%s", init_error.c_str());
  return 1;
}

int32_t num_devices() { return (int32_t)devices.size(); }

void device_desc(int32_t i, mx_device_desc* out) {
  out->id = devices[i]->id.c_str();
  out->memory = devices[i]->id.c_str();
  out->name = devices[i]->name.c_str();
  out->total_bytes = devices[i]->prop.totalGlobalMem;
}

int32_t num_kernels() { return (int32_t)mx::kernel_registry().size(); }
const mx_kernel_def* kernel(int32_t i) { return &mx::kernel_registry()[i]; }

cudaStream_t stream_for(int32_t device) { return current && current->device == device ? current->s : cudaStreamLegacy; }

int oom(int32_t device, uint64_t bytes, char* msg, uint32_t cap) {
  size_t free_b = 0, total = 0;
  cudaMemGetInfo(&free_b, &total);
  uint64_t used;
  {
    std::lock_guard<std::mutex> lk(devices[device]->m);
    used = devices[device]->used;
  }
  snprintf(msg, cap, "out of memory on %s: asked %s, free %s of %s (%s held by live mx tensors)",
           devices[device]->id.c_str(), fmt_bytes(bytes).c_str(), fmt_bytes(free_b).c_str(), fmt_bytes(total).c_str(),
           fmt_bytes(used).c_str());
  return MX_ERR_OOM;
}

int dev_alloc(int32_t device, uint64_t bytes, void** out, char* msg, uint32_t cap) {
  if (int st = device_poisoned(device, msg, cap)) return st;
  *out = nullptr;
  if (bytes == 0) bytes = 1;  // a real pointer for empty tensors
  cudaStream_t s = stream_for(device);
  cudaError_t e = cudaMallocAsync(out, bytes, s);
  if (e == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    // Give the cache back and try once more.
    cudaMemPool_t pool;
    if (cudaStreamSynchronize(s) == cudaSuccess && cudaDeviceGetDefaultMemPool(&pool, device) == cudaSuccess)
      cudaMemPoolTrimTo(pool, 0);
    e = cudaMallocAsync(out, bytes, s);
    if (e == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      *out = nullptr;
      return oom(device, bytes, msg, cap);
    }
  }
  if (e != cudaSuccess) return cuda_status(device, e, "cudaMallocAsync", msg, cap);
  std::lock_guard<std::mutex> lk(devices[device]->m);
  devices[device]->sizes[*out] = bytes;
  devices[device]->used += bytes;
  return MX_OK;
}

void dev_free(int32_t device, void* ptr) {
  Device* d = devices[device];
  {
    std::lock_guard<std::mutex> lk(d->m);
    auto it = d->sizes.find(ptr);
    if (it != d->sizes.end()) {
      d->used -= it->second;
      d->sizes.erase(it);
    }
  }
  if (!d->poisoned.load()) cudaFreeAsync(ptr, stream_for(device));  // a poisoned context frees nothing
}

// Pinned staging: copy_in's source may be released when it returns, so bytes go
// through pinned buffers (double-buffered, each reused after its event) and the
// host never waits for the whole upload.
int staging_of(Stream* st, int i, char* msg, uint32_t cap) {
  if (st->staging[i]) return MX_OK;
  cudaError_t e = cudaHostAlloc(&st->staging[i], kStagingBytes, cudaHostAllocDefault);
  if (e == cudaSuccess) e = cudaEventCreateWithFlags(&st->done[i], cudaEventDisableTiming);
  return e == cudaSuccess ? MX_OK : cuda_status(st->device, e, "pinned staging buffer", msg, cap);
}

int copy_in(int32_t device, void* stream, void* dst, const void* src, uint64_t bytes, char* msg, uint32_t cap) {
  if (int st = device_poisoned(device, msg, cap)) return st;
  Stream* st = static_cast<Stream*>(stream);
  if (!st) {  // not on our queue: a plain synchronous copy
    cudaError_t e = cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice);
    return e == cudaSuccess ? MX_OK : cuda_status(device, e, "cudaMemcpy (upload)", msg, cap);
  }
  for (uint64_t off = 0, k = 0; off < bytes; off += kStagingBytes, k++) {
    const int i = (int)(k & 1);
    if (int r = staging_of(st, i, msg, cap)) return r;
    const size_t n = (size_t)std::min<uint64_t>(kStagingBytes, bytes - off);
    cudaError_t e = cudaEventSynchronize(st->done[i]);
    if (e != cudaSuccess) return cuda_status(device, e, "upload (waiting for staging)", msg, cap);
    std::memcpy(st->staging[i], static_cast<const char*>(src) + off, n);
    e = cudaMemcpyAsync(static_cast<char*>(dst) + off, st->staging[i], n, cudaMemcpyHostToDevice, st->s);
    if (e == cudaSuccess) e = cudaEventRecord(st->done[i], st->s);
    if (e != cudaSuccess) return cuda_status(device, e, "cudaMemcpyAsync (upload)", msg, cap);
  }
  return MX_OK;
}

// Downloads wait for the stream (the bridge syncs right after anyway) and go
// through the pinned buffer in chunks.
int copy_out(int32_t device, void* stream, void* dst, const void* src, uint64_t bytes, char* msg, uint32_t cap) {
  if (int st = device_poisoned(device, msg, cap)) return st;
  Stream* st = static_cast<Stream*>(stream);
  if (!st) {
    cudaError_t e = cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost);
    return e == cudaSuccess ? MX_OK : cuda_status(device, e, "cudaMemcpy (download)", msg, cap);
  }
  if (int r = staging_of(st, 0, msg, cap)) return r;
  for (uint64_t off = 0; off < bytes; off += kStagingBytes) {
    const size_t n = (size_t)std::min<uint64_t>(kStagingBytes, bytes - off);
    cudaError_t e = cudaMemcpyAsync(st->staging[0], static_cast<const char*>(src) + off, n, cudaMemcpyDeviceToHost, st->s);
    if (e == cudaSuccess) e = cudaStreamSynchronize(st->s);
    if (e != cudaSuccess) return cuda_status(device, e, "download", msg, cap);
    std::memcpy(static_cast<char*>(dst) + off, st->staging[0], n);
  }
  return MX_OK;
}

// Runs on the queue's worker thread when the queue starts: binds the thread to
// the device and makes the queue's stream.
int stream_create(int32_t device, void** out, char* msg, uint32_t cap) {
  cudaError_t e = cudaSetDevice(device);
  Stream* st = new Stream{device, nullptr, {nullptr, nullptr}, {nullptr, nullptr}, nullptr, nullptr};
  if (e == cudaSuccess) e = cudaStreamCreate(&st->s);
  if (e == cudaSuccess) e = cudaMalloc(&st->flag, 8);
  if (e == cudaSuccess) e = cudaHostAlloc(&st->host_flag, 8, cudaHostAllocDefault);
  if (e != cudaSuccess) {
    delete st;
    return cuda_status(device, e, "stream creation", msg, cap);
  }
  current = st;
  *out = st;
  return MX_OK;
}

int stream_sync(int32_t device, void* stream, char* msg, uint32_t cap) {
  if (int st = device_poisoned(device, msg, cap)) return st;
  cudaError_t e = cudaStreamSynchronize(stream ? static_cast<Stream*>(stream)->s : cudaStreamLegacy);
  return e == cudaSuccess ? MX_OK : cuda_status(device, e, "a queued kernel or copy", msg, cap);
}

void memory_info(int32_t device, uint64_t* used, uint64_t* free_bytes, uint64_t* total) {
  {
    std::lock_guard<std::mutex> lk(devices[device]->m);
    *used = devices[device]->used;
  }
  size_t f = 0, t = 0;
  int prev = 0;
  cudaGetDevice(&prev);
  if (cudaSetDevice(device) == cudaSuccess && cudaMemGetInfo(&f, &t) == cudaSuccess) {
    *free_bytes = f;
    *total = t;
  } else {
    cudaGetLastError();
    *free_bytes = 0;
    *total = devices[device]->prop.totalGlobalMem;
  }
  cudaSetDevice(prev);
}

const char* describe() {
  char reason[1024];
  if (cuda_init(reason, sizeof reason)) return init_error.c_str();
  return describe_text.c_str();
}

const mx_backend_v1 table = {
    /* .size = */ sizeof(mx_backend_v1),
    /* .abi_major = */ MX_ABI_MAJOR,
    /* .abi_minor = */ MX_ABI_MINOR,
    /* .name = */ "cuda",
    /* .init = */ cuda_init,
    /* .num_devices = */ num_devices,
    /* .device = */ device_desc,
    /* .num_kernels = */ num_kernels,
    /* .kernel = */ kernel,
    /* .alloc = */ dev_alloc,
    /* .free = */ dev_free,
    /* .copy_in = */ copy_in,
    /* .copy_out = */ copy_out,
    /* .stream_create = */ stream_create,
    /* .stream_sync = */ stream_sync,
    /* .memory_info = */ memory_info,
    /* .describe = */ describe,
};

}  // namespace

int cuda_status(int device, cudaError_t e, const char* what, char* msg, uint32_t cap) {
  const std::string id = device >= 0 && device < (int)devices.size() ? devices[device]->id : "cuda:" + std::to_string(device);
  char text[1024];
  snprintf(text, sizeof text, "%s on %s failed: %s (%d): %s", what, id.c_str(), cudaGetErrorName(e), (int)e,
           cudaGetErrorString(e));
  if (sticky(e) && device >= 0 && device < (int)devices.size()) {
    Device* d = devices[device];
    std::lock_guard<std::mutex> lk(d->m);
    if (!d->poisoned.exchange(true)) d->fault = text;
    snprintf(msg, cap, "%s; %s is poisoned: later work on it fails, other devices keep working", text, id.c_str());
    return MX_ERR_DEVICE;
  }
  if (e == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    return oom(device, 0, msg, cap);
  }
  cudaGetLastError();  // clear a non-sticky error so it is not reported again
  snprintf(msg, cap, "%s", text);
  return e == cudaErrorInvalidValue || e == cudaErrorInvalidConfiguration ? MX_ERR_INVALID : MX_ERR_INTERNAL;
}

int device_poisoned(int device, char* msg, uint32_t cap) {
  if (device < 0 || device >= (int)devices.size() || !devices[device]->poisoned.load(std::memory_order_relaxed)) return 0;
  Device* d = devices[device];
  std::lock_guard<std::mutex> lk(d->m);
  snprintf(msg, cap, "%s is poisoned by an earlier device fault (%s); restart the process to use it again",
           d->id.c_str(), d->fault.c_str());
  return MX_ERR_DEVICE;
}

int device_cc(int device) { return devices[device]->prop.major * 10 + devices[device]->prop.minor; }

}  // namespace mxcuda

extern "C" MX_EXPORT const mx_backend_v1* mx_backend_get(void) { return &mxcuda::table; }
