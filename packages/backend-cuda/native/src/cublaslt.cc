// Gemm with a bias vector through cuBLASLt (CUDA 11.x to 13), opened at run time
// by libs.cc. No cublasLt.h: the prototypes, enum values, attribute ids and the
// heuristic result's layout below are declared here, each checked against
// NVIDIA's cublasLt.h (CUDA 11.x; unchanged in the CUDA 12 and 13 headers, which
// only add values) and the cuBLAS documentation of cublasLtMatmulDescAttributes_t.
//
// What it computes: Y[M, N] = alpha op(A) op(B) + bias[N] (row-major; mx's Gemm
// with C of shape [N] or [1, N] and beta 1). In cuBLASLt's column-major terms
// that is D = Y^T [N x M] = alpha op(B)^T op(A)^T + bias, the bias a vector of
// D's N rows broadcast along its M columns: exactly CUBLASLT_EPILOGUE_BIAS. The
// bias has Y's dtype, which is cuBLASLt's default bias type (the bias-data-type
// attribute is left unset: "same type as the output matrix D").
//
// Numerics, as the cuBLAS path (libs.cc): compute type CUBLAS_COMPUTE_32F with
// scale type float for all three dtypes (float16/bfloat16 accumulate in float on
// tensor cores; float32 stays exact float32), CUBLAS_COMPUTE_32F_FAST_TF32 for
// float32 when MX_CUDA_ALLOW_TF32=1. The bias is added in the epilogue, before Y
// is stored (so Y is not written, read back and written again as on the cuBLAS
// path with its broadcast C).
//
// Per call: the key (device, dtype, transposes, M, N, K, the alignment of each
// pointer) finds a plan made once per worker thread: the matmul descriptor, the
// layouts and the algorithm from cublasLtMatmulAlgoGetHeuristic (no benchmarking,
// so planning never runs or waits for the GPU) with at most kMaxWorkspace of
// workspace; replays set the bias pointer and call cublasLtMatmul on the queue's
// stream, with the workspace from the device's stream-ordered pool. Any failure
// status while planning or running makes the plan "declined": that shape takes
// the caller's path (cuBLAS with the broadcast bias, or the own kernel) from then
// on (in this thread), and MX_CUDA_CUBLASLT=verbose prints why once. A failure
// that left the device faulted becomes the usual sticky error instead.
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include "cublaslt.h"
#include "libcall.h"
#include "runtime.h"

namespace mxcuda {
namespace {

typedef struct LtContext* LtHandle;  // cublasLtHandle_t
typedef struct LtDesc* MatmulDesc;   // cublasLtMatmulDesc_t
typedef struct LtLayout* Layout;     // cublasLtMatrixLayout_t
typedef struct LtPref* Preference;   // cublasLtMatmulPreference_t
// cublasStatus_t: CUBLAS_STATUS_SUCCESS is 0; only 0 is tested here.
constexpr int kSuccess = 0;
// cudaDataType_t (library_types.h)
enum { R_32F = 0, R_16F = 2, R_16BF = 14 };
// cublasComputeType_t
enum { COMPUTE_32F = 68, COMPUTE_32F_FAST_TF32 = 77 };
// cublasOperation_t
enum { OP_N = 0, OP_T = 1 };
// cublasLtMatmulDescAttributes_t (value types: TRANSA/TRANSB int32_t, EPILOGUE
// uint32_t, BIAS_POINTER const void*)
enum { DESC_TRANSA = 3, DESC_TRANSB = 4, DESC_EPILOGUE = 7, DESC_BIAS_POINTER = 8 };
// cublasLtEpilogue_t: bias of D's row count, broadcast to all columns
enum { EPILOGUE_BIAS = 4 };
// cublasLtMatmulPreferenceAttributes_t (MAX_WORKSPACE_BYTES uint64_t, the
// alignments uint32_t with a default of 256 bytes)
enum { PREF_MAX_WORKSPACE_BYTES = 1, PREF_MIN_ALIGNMENT_A = 5, PREF_MIN_ALIGNMENT_B = 6, PREF_MIN_ALIGNMENT_C = 7,
       PREF_MIN_ALIGNMENT_D = 8 };
// cublasLtMatmulAlgo_t and cublasLtMatmulHeuristicResult_t
struct Algo {
  uint64_t data[8];
};
struct HeuristicResult {
  Algo algo;
  size_t workspaceSize;
  int state;  // cublasStatus_t
  float wavesCount;
  int reserved[4];
};
static_assert(sizeof(HeuristicResult) == 96, "cublasLtMatmulHeuristicResult_t is 96 bytes on LP64");
constexpr int kRequested = 4;  // suggestions asked for; the first usable one is taken

struct Api {
  const char* (*status_string)(int);  // optional (cublasLtGetStatusString)
  int (*create)(LtHandle*);
  int (*desc_create)(MatmulDesc*, int compute, int scale);
  int (*desc_destroy)(MatmulDesc);
  int (*desc_set)(MatmulDesc, int attr, const void* buf, size_t bytes);
  int (*layout_create)(Layout*, int type, uint64_t rows, uint64_t cols, int64_t ld);
  int (*layout_destroy)(Layout);
  int (*pref_create)(Preference*);
  int (*pref_destroy)(Preference);
  int (*pref_set)(Preference, int attr, const void* buf, size_t bytes);
  int (*heuristic)(LtHandle, MatmulDesc, Layout a, Layout b, Layout c, Layout d, Preference, int requested,
                   HeuristicResult* results, int* returned);
  int (*matmul)(LtHandle, MatmulDesc, const void* alpha, const void* a, Layout, const void* b, Layout, const void* beta,
                const void* c, Layout, void* d, Layout, const Algo*, void* workspace, size_t workspace_bytes, cudaStream_t);
};
Api api;
bool bound = false;  // set once by cublaslt_bind (under load_libraries' once) before any kernel runs
bool verbose = false;
std::string bind_text;

// The most workspace a plan may ask for (the heuristic's preference).
constexpr uint64_t kMaxWorkspace = uint64_t(32) << 20;

template <class F> void sym(void* lib, const char* name, F* out, std::string* missing) {
  *out = reinterpret_cast<F>(dlsym(lib, name));
  if (!*out && missing) *missing += std::string(missing->empty() ? "" : ", ") + name;
}

std::string status_text(int st) {
  const char* s = api.status_string ? api.status_string(st) : nullptr;
  return std::string(s ? s : "status") + " (" + std::to_string(st) + ")";
}

// ---- handles: one per (device, thread), created on first use with the worker
// thread bound to its device. cublasLtMatmul takes the stream per call.
struct HandleSlot {
  int device;
  LtHandle h;  // null: cublasLtCreate failed on this device (cuBLASLt declines there)
};
thread_local std::vector<HandleSlot> handles;

LtHandle handle_for(int device) {
  for (const HandleSlot& s : handles)
    if (s.device == device) return s.h;
  LtHandle h = nullptr;
  const int st = api.create(&h);
  if (st != kSuccess) {
    h = nullptr;
    if (verbose) fprintf(stderr, "mx cuda: cublasLtCreate failed on cuda:%d (%s); Gemm uses cuBLAS or the own kernels there\n", device,
                         status_text(st).c_str());
  }
  handles.push_back({device, h});
  return h;
}

// ---- plans, one per key and thread (never freed: a process holds few shapes).
struct Plan {
  bool use = false;  // false: declined, the caller's path runs it
  MatmulDesc desc = nullptr;
  Layout a = nullptr, b = nullptr, d = nullptr;
  Algo algo{};
  size_t workspace = 0;
  const void* bias = nullptr;  // the bias pointer the descriptor holds
};
thread_local std::unordered_map<std::string, Plan> plans;

// The largest power of two (up to 256) dividing the address: the alignment the
// heuristic may assume (its default of 256 would admit algorithms that need more
// than a view into a larger buffer has).
uint32_t alignment(const void* p) {
  const uintptr_t v = reinterpret_cast<uintptr_t>(p);
  uint32_t a = 256;
  while (a > 1 && (v & (a - 1))) a >>= 1;
  return a;
}

int data_type(int dtype) {
  switch (dtype) {
    case MX_FLOAT32: return R_32F;
    case MX_FLOAT16: return R_16F;
    case MX_BFLOAT16: return R_16BF;
    default: return -1;
  }
}

struct Problem {
  int dtype;
  bool ta, tb;
  int64_t M, N, K;
  const void *a, *b, *bias;
  void* y;
};

// Makes the plan; returns nullptr, or why cuBLASLt declined (p->use stays false).
// Column-major view: D = Y^T (N x M, ld N) = op(B)^T op(A)^T, so cuBLASLt's "A" is
// mx's B (stored N x K col-major with ld N untransposed, K x N with ld K when tb)
// and its "B" is mx's A (K x M with ld K, or M x K with ld M when ta).
const char* make_plan(LtHandle h, const Problem& q, Plan* p, std::string* why) {
  const int dt = data_type(q.dtype);
  const int compute = q.dtype == MX_FLOAT32 && allow_tf32() ? COMPUTE_32F_FAST_TF32 : COMPUTE_32F;
  int st;
  auto failed = [&](const char* what) {
    *why = std::string(what) + " returned " + status_text(st);
    return why->c_str();
  };
  const int32_t opa = q.tb ? OP_T : OP_N, opb = q.ta ? OP_T : OP_N;
  const uint32_t epilogue = EPILOGUE_BIAS;
  if ((st = api.desc_create(&p->desc, compute, R_32F)) != kSuccess) return failed("cublasLtMatmulDescCreate");
  if ((st = api.desc_set(p->desc, DESC_TRANSA, &opa, sizeof opa)) != kSuccess) return failed("cublasLtMatmulDescSetAttribute (TRANSA)");
  if ((st = api.desc_set(p->desc, DESC_TRANSB, &opb, sizeof opb)) != kSuccess) return failed("cublasLtMatmulDescSetAttribute (TRANSB)");
  if ((st = api.desc_set(p->desc, DESC_EPILOGUE, &epilogue, sizeof epilogue)) != kSuccess)
    return failed("cublasLtMatmulDescSetAttribute (EPILOGUE)");
  // The heuristic reads the bias pointer's value for its alignment.
  if ((st = api.desc_set(p->desc, DESC_BIAS_POINTER, &q.bias, sizeof q.bias)) != kSuccess)
    return failed("cublasLtMatmulDescSetAttribute (BIAS_POINTER)");
  p->bias = q.bias;
  const uint64_t N = (uint64_t)q.N, M = (uint64_t)q.M, K = (uint64_t)q.K;
  if ((st = q.tb ? api.layout_create(&p->a, dt, K, N, (int64_t)K) : api.layout_create(&p->a, dt, N, K, (int64_t)N)) != kSuccess)
    return failed("cublasLtMatrixLayoutCreate (B)");
  if ((st = q.ta ? api.layout_create(&p->b, dt, M, K, (int64_t)M) : api.layout_create(&p->b, dt, K, M, (int64_t)K)) != kSuccess)
    return failed("cublasLtMatrixLayoutCreate (A)");
  if ((st = api.layout_create(&p->d, dt, N, M, (int64_t)N)) != kSuccess) return failed("cublasLtMatrixLayoutCreate (Y)");
  Preference pref = nullptr;
  if ((st = api.pref_create(&pref)) != kSuccess) return failed("cublasLtMatmulPreferenceCreate");
  const uint64_t max_ws = kMaxWorkspace;
  const uint32_t al_a = alignment(q.b), al_b = alignment(q.a), al_d = alignment(q.y);
  int returned = 0;
  HeuristicResult results[kRequested];
  std::memset(results, 0, sizeof results);
  const char* what = nullptr;
  if ((st = api.pref_set(pref, PREF_MAX_WORKSPACE_BYTES, &max_ws, sizeof max_ws)) != kSuccess) what = "cublasLtMatmulPreferenceSetAttribute (MAX_WORKSPACE_BYTES)";
  else if ((st = api.pref_set(pref, PREF_MIN_ALIGNMENT_A, &al_a, sizeof al_a)) != kSuccess ||
           (st = api.pref_set(pref, PREF_MIN_ALIGNMENT_B, &al_b, sizeof al_b)) != kSuccess ||
           (st = api.pref_set(pref, PREF_MIN_ALIGNMENT_C, &al_d, sizeof al_d)) != kSuccess ||
           (st = api.pref_set(pref, PREF_MIN_ALIGNMENT_D, &al_d, sizeof al_d)) != kSuccess)
    what = "cublasLtMatmulPreferenceSetAttribute (MIN_ALIGNMENT)";
  // C is D (beta 0, so C is never read): one layout serves both.
  else if ((st = api.heuristic(h, p->desc, p->a, p->b, p->d, p->d, pref, kRequested, results, &returned)) != kSuccess)
    what = "cublasLtMatmulAlgoGetHeuristic";
  api.pref_destroy(pref);
  if (what) return failed(what);
  // Suggestions come fastest first.
  for (int i = 0; i < returned && i < kRequested; i++) {
    if (results[i].state != kSuccess || results[i].workspaceSize > kMaxWorkspace) continue;
    p->algo = results[i].algo;
    p->workspace = results[i].workspaceSize;
    p->use = true;
    if (verbose)
      fprintf(stderr, "mx cuda: cuBLASLt Gemm %s M=%lld N=%lld K=%lld transA=%d transB=%d with a bias: the heuristic's suggestion %d, workspace %zu bytes\n",
              q.dtype == MX_FLOAT32 ? "float32" : q.dtype == MX_FLOAT16 ? "float16" : "bfloat16", (long long)q.M, (long long)q.N,
              (long long)q.K, (int)q.ta, (int)q.tb, i, p->workspace);
    return nullptr;
  }
  *why = "no suggested algorithm fits (" + std::to_string(returned) + " suggested)";
  return why->c_str();
}

void release(Plan* p) {
  if (p->a) api.layout_destroy(p->a);
  if (p->b) api.layout_destroy(p->b);
  if (p->d) api.layout_destroy(p->d);
  if (p->desc) api.desc_destroy(p->desc);
  *p = Plan();
}

void decline(Plan* p, const Problem& q, const char* why) {
  release(p);
  if (verbose)
    fprintf(stderr, "mx cuda: cuBLASLt declined Gemm M=%lld N=%lld K=%lld with a bias: %s; cuBLAS or the own kernel runs it\n",
            (long long)q.M, (long long)q.N, (long long)q.K, why);
}

}  // namespace

const char* cublaslt_bind(void* lib) {
  bind_text.clear();
  const char* env = std::getenv("MX_CUDA_CUBLASLT");
  if (env && std::strcmp(env, "0") == 0) return (bind_text = "found, not used (MX_CUDA_CUBLASLT=0)").c_str();
  verbose = env && std::strcmp(env, "verbose") == 0;
  std::string missing;
  sym(lib, "cublasLtGetStatusString", &api.status_string, nullptr);
  sym(lib, "cublasLtCreate", &api.create, &missing);
  sym(lib, "cublasLtMatmulDescCreate", &api.desc_create, &missing);
  sym(lib, "cublasLtMatmulDescDestroy", &api.desc_destroy, &missing);
  sym(lib, "cublasLtMatmulDescSetAttribute", &api.desc_set, &missing);
  sym(lib, "cublasLtMatrixLayoutCreate", &api.layout_create, &missing);
  sym(lib, "cublasLtMatrixLayoutDestroy", &api.layout_destroy, &missing);
  sym(lib, "cublasLtMatmulPreferenceCreate", &api.pref_create, &missing);
  sym(lib, "cublasLtMatmulPreferenceDestroy", &api.pref_destroy, &missing);
  sym(lib, "cublasLtMatmulPreferenceSetAttribute", &api.pref_set, &missing);
  sym(lib, "cublasLtMatmulAlgoGetHeuristic", &api.heuristic, &missing);
  sym(lib, "cublasLtMatmul", &api.matmul, &missing);
  if (!missing.empty()) return (bind_text = "found, not used (lacks " + missing + ")").c_str();
  bound = true;
  return (bind_text = "in use for Gemm with a bias vector (float32, float16, bfloat16)").c_str();
}

bool cublaslt_gemm_bias(mx_kernel_ctx* ctx, int dtype, bool ta, bool tb, int64_t M, int64_t N, int64_t K, double alpha,
                        const void* a, const void* b, const void* bias, void* y, int* status) {
  *status = MX_OK;
  if (!bound || data_type(dtype) < 0 || M <= 0 || N <= 0 || K <= 0 || M >= INT32_MAX || N >= INT32_MAX || K >= INT32_MAX) return false;
  LtHandle h = handle_for(ctx->device);
  if (!h) return false;
  const Problem q{dtype, ta, tb, M, N, K, a, b, bias, y};

  // The key: every value the plan depends on, as raw bytes (allow_tf32 is fixed per process).
  std::string key;
  auto put = [&key](int64_t v) { key.append(reinterpret_cast<const char*>(&v), sizeof v); };
  put(ctx->device), put(dtype), put(ta), put(tb), put(M), put(N), put(K);
  put(alignment(a)), put(alignment(b)), put(alignment(bias)), put(alignment(y));
  auto it = plans.find(key);
  if (it == plans.end()) {
    it = plans.emplace(std::move(key), Plan()).first;
    std::string text;
    if (const char* why = make_plan(h, q, &it->second, &text)) decline(&it->second, q, why);
  }
  Plan& p = it->second;
  if (!p.use) return false;

  int st;
  if (p.bias != bias) {  // same alignment as planned (it is in the key), another address
    if ((st = api.desc_set(p.desc, DESC_BIAS_POINTER, &bias, sizeof bias)) != kSuccess) {
      decline(&p, q, ("cublasLtMatmulDescSetAttribute (BIAS_POINTER) returned " + status_text(st)).c_str());
      return false;
    }
    p.bias = bias;
  }
  const cudaStream_t s = stream_of(ctx);
  // alpha and beta are host floats (scale type float). beta 0: C (= Y) is not read.
  const float a32 = (float)alpha, b32 = 0.0f;
  switch (run_with_workspace(ctx, s, p.workspace, "cuBLASLt", "cuBLASLt matmul", status, &st, [&](void* ws) {
    return api.matmul(h, p.desc, &a32, b, p.a, a, p.b, &b32, y, p.d, y, p.d, &p.algo, ws, p.workspace, s);
  })) {
    case LibRun::Ok: case LibRun::Fault: return true;
    case LibRun::NoWorkspace: return false;  // this call only: the other paths need no workspace
    case LibRun::Failed: break;              // this shape takes the caller's path from now on
  }
  decline(&p, q, ("cublasLtMatmul returned " + status_text(st)).c_str());
  return false;
}

}  // namespace mxcuda
