// Vendor libraries opened at run time: cuBLAS (used for MatMul/Gemm in float32,
// float64, float16 and bfloat16), cuBLASLt (Gemm with a bias vector, bound in
// cublaslt.cc; MX_CUDA_CUBLASLT=0 leaves it unused) and cuDNN (Conv and
// FusedConv, bound in cudnn.cc; MX_CUDA_CUDNN=0 leaves it unused).
// No headers are needed: the few prototypes and enum values below are cuBLAS's
// stable C API. Search order per library: each directory of MX_CUDA_LIBS
// (colon-separated), then the dynamic loader's own search (LD_LIBRARY_PATH,
// ld.so.cache, system paths), trying sonames from the newest major down; cuBLAS
// and cuBLASLt are opened before cuDNN, which may need them.
// MX_CUDA_LIBS=none loads nothing (own kernels only).
#include <dlfcn.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "cublaslt.h"
#include "runtime.h"

namespace mxcuda {
namespace {

typedef void* cublasHandle_t;
enum { CUBLAS_OP_N = 0, CUBLAS_OP_T = 1 };
enum { CUDA_R_32F = 0, CUDA_R_64F = 1, CUDA_R_16F = 2, CUDA_R_16BF = 14 };
enum { CUBLAS_COMPUTE_32F = 68, CUBLAS_COMPUTE_64F = 70, CUBLAS_COMPUTE_32F_FAST_TF32 = 77 };
enum { CUBLAS_GEMM_DEFAULT = -1 };
typedef int (*cublasCreate_t)(cublasHandle_t*);
typedef int (*cublasSetStream_t)(cublasHandle_t, cudaStream_t);
typedef int (*cublasGetProperty_t)(int, int*);  // libraryPropertyType: 0 major, 1 minor, 2 patch
// cublasGemmStridedBatchedEx(handle, transa, transb, m, n, k, alpha, A, Atype, lda, strideA,
//                            B, Btype, ldb, strideB, beta, C, Ctype, ldc, strideC, batchCount, computeType, algo)
typedef int (*cublasGemmStridedBatchedEx_t)(cublasHandle_t, int, int, int, int, int, const void*, const void*, int, int,
                                            long long, const void*, int, int, long long, const void*, void*, int, int,
                                            long long, int, int, int);
typedef size_t (*cudnnGetVersion_t)(void);
typedef size_t (*cublasLtGetVersion_t)(void);

struct Lib {
  Lib(const char* l, std::vector<const char*> s) : label(l), sonames(std::move(s)) {}
  const char* label;
  std::vector<const char*> sonames;
  void* h = nullptr;
  std::string path, error;
};
Lib cublas{"cuBLAS", {"libcublas.so.13", "libcublas.so.12", "libcublas.so"}};
Lib cublaslt{"cuBLASLt", {"libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so"}};
Lib cudnn{"cuDNN", {"libcudnn.so.9", "libcudnn.so.8", "libcudnn.so"}};

cublasCreate_t p_create;
cublasSetStream_t p_set_stream;
cublasGemmStridedBatchedEx_t p_gemm;
cublasGetProperty_t p_property;
std::string text;
bool disabled = false;

void open(Lib& lib) {
  std::vector<std::string> tries;
  if (const char* dirs = std::getenv("MX_CUDA_LIBS"); dirs && *dirs) {
    std::string all = dirs;
    for (size_t a = 0; a <= all.size();) {
      size_t b = all.find(':', a);
      if (b == std::string::npos) b = all.size();
      if (b > a)
        for (const char* so : lib.sonames) tries.push_back(all.substr(a, b - a) + "/" + so);
      a = b + 1;
    }
  }
  for (const char* so : lib.sonames) tries.push_back(so);
  for (const std::string& p : tries) {
    if ((lib.h = dlopen(p.c_str(), RTLD_NOW | RTLD_LOCAL))) {
      lib.path = p;
      return;
    }
    const char* e = dlerror();
    if (lib.error.empty() && e) lib.error = e;
  }
}

// One handle per (device, thread): cuBLAS handles are not to be shared between threads.
struct Handle {
  int device;
  cublasHandle_t h;
};
thread_local std::vector<Handle> handles;

cublasHandle_t handle_for(int device) {
  for (const Handle& h : handles)
    if (h.device == device) return h.h;
  cublasHandle_t h = nullptr;
  if (p_create(&h) != 0) return nullptr;
  handles.push_back({device, h});
  return h;
}

}  // namespace

bool allow_tf32() {
  static const bool on = [] {
    const char* v = std::getenv("MX_CUDA_ALLOW_TF32");
    return v && std::strcmp(v, "1") == 0;
  }();
  return on;
}

void load_libraries() {
  static std::once_flag once;
  std::call_once(once, [] {
    const char* env = std::getenv("MX_CUDA_LIBS");
    disabled = env && std::strcmp(env, "none") == 0;
    if (!disabled) {
      open(cublas);
      open(cublaslt);
      open(cudnn);
    }
    if (cublas.h) {
      p_create = (cublasCreate_t)dlsym(cublas.h, "cublasCreate_v2");
      p_set_stream = (cublasSetStream_t)dlsym(cublas.h, "cublasSetStream_v2");
      p_gemm = (cublasGemmStridedBatchedEx_t)dlsym(cublas.h, "cublasGemmStridedBatchedEx");
      p_property = (cublasGetProperty_t)dlsym(cublas.h, "cublasGetProperty");
      if (!p_create || !p_set_stream || !p_gemm) {
        cublas.error = cublas.path + " lacks cublasCreate_v2/cublasSetStream_v2/cublasGemmStridedBatchedEx";
        cublas.h = nullptr;
      }
    }
    auto line = [](const Lib& l, const std::string& version, const char* use) {
      if (disabled) return std::string(l.label) + ": not loaded (MX_CUDA_LIBS=none)";
      if (!l.h) return std::string(l.label) + ": not found (" + l.error + ")";
      return std::string(l.label) + (version.empty() ? "" : " " + version) + " from " + l.path + ": " + use;
    };
    // cudnnGetVersion: major*1000 + minor*100 + patch up to cuDNN 8, major*10000 + minor*100 + patch from 9.
    std::string cudnn_v;
    if (cudnn.h)
      if (auto fn = (cudnnGetVersion_t)dlsym(cudnn.h, "cudnnGetVersion")) {
        const size_t v = fn(), major_unit = v >= 90000 ? 10000 : 1000;
        cudnn_v = std::to_string(v / major_unit) + "." + std::to_string(v % major_unit / 100) + "." + std::to_string(v % 100);
      }
    const std::string cudnn_use = cudnn.h ? cudnn_bind(cudnn.h) : "";
    std::string lt_v;
    if (cublaslt.h)
      if (auto v = (cublasLtGetVersion_t)dlsym(cublaslt.h, "cublasLtGetVersion")) lt_v = std::to_string(v());
    const std::string lt_use = cublaslt.h ? cublaslt_bind(cublaslt.h) : "";
    std::string cublas_v;
    int v[3] = {0, 0, 0};
    if (cublas.h && p_property && !p_property(0, &v[0]) && !p_property(1, &v[1]) && !p_property(2, &v[2]))
      cublas_v = std::to_string(v[0]) + "." + std::to_string(v[1]) + "." + std::to_string(v[2]);
    text = line(cublas, cublas_v, "in use for MatMul/Gemm (float32, float64, float16, bfloat16)") + "; " +
           line(cublaslt, lt_v, lt_use.c_str()) + "; " + line(cudnn, cudnn_v, cudnn_use.c_str()) +
           "; TF32 " + (allow_tf32() ? "on (MX_CUDA_ALLOW_TF32=1)" : "off");
  });
}

const char* libraries_text() { return text.c_str(); }
bool cublas_available() { return cublas.h != nullptr; }

int cublas_gemm(mx_kernel_ctx* ctx, int dtype, bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha,
                const void* a, int64_t lda, int64_t sa, const void* b, int64_t ldb, int64_t sb, double beta, void* c,
                int64_t ldc, int64_t sc, int64_t batch) {
  cublasHandle_t h = handle_for(ctx->device);
  if (!h) return mx_fail(ctx, MX_ERR_INTERNAL, "cublasCreate failed on cuda:%d", ctx->device);
  p_set_stream(h, stream_of(ctx));
  int type, compute;
  float af = (float)alpha, bf = (float)beta;
  const void *pa = &af, *pb = &bf;
  switch (dtype) {
    case MX_FLOAT32: type = CUDA_R_32F; compute = allow_tf32() ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F; break;
    case MX_FLOAT16: type = CUDA_R_16F; compute = CUBLAS_COMPUTE_32F; break;
    case MX_BFLOAT16: type = CUDA_R_16BF; compute = CUBLAS_COMPUTE_32F; break;
    case MX_FLOAT64: type = CUDA_R_64F; compute = CUBLAS_COMPUTE_64F; pa = &alpha; pb = &beta; break;
    default: return mx_fail(ctx, MX_ERR_UNSUPPORTED, "cuBLAS: dtype %d", dtype);
  }
  int st = p_gemm(h, ta ? CUBLAS_OP_T : CUBLAS_OP_N, tb ? CUBLAS_OP_T : CUBLAS_OP_N, (int)m, (int)n, (int)k, pa, a, type,
                  (int)lda, sa, b, type, (int)ldb, sb, pb, c, type, (int)ldc, sc, (int)batch, compute, CUBLAS_GEMM_DEFAULT);
  return st == 0 ? MX_OK : mx_fail(ctx, MX_ERR_INTERNAL, "cublasGemmStridedBatchedEx failed with status %d", st);
}

}  // namespace mxcuda
