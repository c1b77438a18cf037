// Conv through cuDNN's legacy API (cuDNN 8 and 9), opened at run time by libs.cc.
// No cudnn.h: the prototypes and enum values below are declared here, each checked
// against NVIDIA's headers (cuDNN 9.6: cudnn_graph.h, cudnn_ops.h, cudnn_cnn.h;
// the values are unchanged since cuDNN 8's cudnn_ops_infer.h / cudnn_cnn_infer.h).
//
// Per call: the shape key (device, dtype, X/W/Y dims, strides, dilations, pads,
// group) finds a plan made once per worker thread: descriptors, the algorithm
// from cudnnGetConvolutionForwardAlgorithm_v7 (heuristics, no benchmarking, so
// planning never runs or waits for the GPU) and its workspace size; replays only
// bind the stream and call cudnnConvolutionForward with a workspace from the
// device's stream-ordered pool. A shape cuDNN cannot express, or any failure
// status while planning or running, makes the plan "declined": that shape runs
// the backend's own kernel from then on (in this thread), and
// MX_CUDA_CUDNN=verbose prints the reason once. A failure that left the device
// faulted becomes the usual sticky error instead.
//
// Numerics: float32 uses FMA math (exact float32, no TF32) unless
// MX_CUDA_ALLOW_TF32=1; float16 and bfloat16 allow tensor cores and accumulate in
// float (compute type FLOAT); float64 computes in double.
#include <dlfcn.h>
#include <link.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include "cudnn_layout.h"
#include "libcall.h"
#include "runtime.h"

namespace mxcuda {
namespace {

typedef struct CudnnContext* Handle;           // cudnnHandle_t
typedef struct CudnnTensor* TensorDesc;        // cudnnTensorDescriptor_t
typedef struct CudnnFilter* FilterDesc;        // cudnnFilterDescriptor_t
typedef struct CudnnConvolution* ConvDesc;     // cudnnConvolutionDescriptor_t
// cudnnStatus_t: 0 is CUDNN_STATUS_SUCCESS in both majors (the other codes differ:
// cuDNN 9 renumbered them, e.g. NOT_SUPPORTED 9 -> 3000); only 0 is tested here.
constexpr int kSuccess = 0;
// cudnnDataType_t
enum { DATA_FLOAT = 0, DATA_DOUBLE = 1, DATA_HALF = 2, DATA_BFLOAT16 = 9 };
// cudnnTensorFormat_t
enum { TENSOR_NCHW = 0 };
// cudnnConvolutionMode_t: ONNX Conv is a cross-correlation (taps not flipped).
enum { CROSS_CORRELATION = 1 };
// cudnnMathType_t (CUDNN_FMA_MATH since cuDNN 8.0)
enum { DEFAULT_MATH = 0, TENSOR_OP_MATH = 1, TENSOR_OP_MATH_ALLOW_CONVERSION = 2, FMA_MATH = 3 };
// cudnnConvolutionFwdAlgoPerf_t (cudnnConvolutionFwdAlgoPerfStruct); the enums are C enums (int).
struct FwdPerf {
  int algo;         // cudnnConvolutionFwdAlgo_t, 0 .. 7
  int status;       // cudnnStatus_t
  float time;
  size_t memory;    // workspace bytes
  int determinism;  // cudnnDeterminism_t
  int mathType;     // cudnnMathType_t
  int reserved[3];
};
static_assert(sizeof(FwdPerf) == 48, "cudnnConvolutionFwdAlgoPerf_t is 48 bytes on LP64");
constexpr int kAlgos = 8;  // CUDNN_CONVOLUTION_FWD_ALGO_COUNT

struct Api {
  size_t (*get_version)(void);
  const char* (*error_string)(int);
  int (*create)(Handle*);
  int (*set_stream)(Handle, cudaStream_t);
  int (*create_tensor)(TensorDesc*);
  int (*destroy_tensor)(TensorDesc);
  int (*set_tensor_nd)(TensorDesc, int dtype, int nb, const int* dims, const int* strides);
  int (*create_filter)(FilterDesc*);
  int (*destroy_filter)(FilterDesc);
  int (*set_filter_nd)(FilterDesc, int dtype, int format, int nb, const int* dims);
  int (*create_conv)(ConvDesc*);
  int (*destroy_conv)(ConvDesc);
  int (*set_conv_nd)(ConvDesc, int n, const int* pad, const int* stride, const int* dil, int mode, int compute);
  int (*set_group_count)(ConvDesc, int);
  int (*set_math_type)(ConvDesc, int);
  int (*get_algorithm_v7)(Handle, TensorDesc, FilterDesc, ConvDesc, TensorDesc, int requested, int* returned, FwdPerf*);
  int (*get_workspace_size)(Handle, TensorDesc, FilterDesc, ConvDesc, TensorDesc, int algo, size_t*);
  int (*forward)(Handle, const void* alpha, TensorDesc, const void* x, FilterDesc, const void* w, ConvDesc, int algo,
                 void* workspace, size_t workspace_bytes, const void* beta, TensorDesc, void* y);
};
Api api;
bool bound = false;  // set once by cudnn_bind (under load_libraries' once) before any kernel runs
bool verbose = false;
std::string bind_text;

// The most workspace a plan may ask for; an algorithm needing more is passed over
// for the next one cuDNN suggests.
constexpr size_t kMaxWorkspace = size_t(1) << 30;

template <class F> bool sym(void* lib, const char* name, F* out, std::string* missing) {
  *out = reinterpret_cast<F>(dlsym(lib, name));
  if (!*out) *missing += std::string(missing->empty() ? "" : ", ") + name;
  return *out != nullptr;
}

// cuDNN's entry library (a shim) loads its sub-libraries by soname when first
// needed, and cuDNN 8 aborts the process when one is missing. Loading them here
// first, from the shim's own directory or else the loader's path, means the shim
// finds them already loaded (the loader matches sonames of loaded objects) or we
// learn now, without aborting, that cuDNN is incomplete.
bool load_sublibraries(void* lib, int major, std::string* why) {
  std::string dir;
  struct link_map* lm = nullptr;
  if (dlinfo(lib, RTLD_DI_LINKMAP, &lm) == 0 && lm && lm->l_name) {
    dir = lm->l_name;
    const size_t slash = dir.rfind('/');
    dir = slash == std::string::npos ? "" : dir.substr(0, slash + 1);
  }
  // Dependencies first (cnn needs ops, which needs graph in cuDNN 9).
  static const char* const v8_required[] = {"libcudnn_ops_infer.so.8", "libcudnn_cnn_infer.so.8"};
  static const char* const v9_required[] = {"libcudnn_graph.so.9", "libcudnn_ops.so.9", "libcudnn_cnn.so.9"};
  static const char* const v9_optional[] = {"libcudnn_engines_precompiled.so.9", "libcudnn_engines_runtime_compiled.so.9",
                                            "libcudnn_heuristic.so.9"};
  auto load = [&](const char* so, bool required) {
    void* h = dir.empty() ? nullptr : dlopen((dir + so).c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!h) h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    if (!h && required) {
      const char* e = dlerror();
      *why = std::string("cannot load its sub-library ") + so + (e ? std::string(": ") + e : std::string());
    }
    return h != nullptr;  // kept open for the process's life
  };
  if (major == 8) {
    for (const char* so : v8_required)
      if (!load(so, true)) return false;
  } else {
    for (const char* so : v9_required)
      if (!load(so, true)) return false;
    for (const char* so : v9_optional) load(so, false);
  }
  return true;
}

const char* status_text(int st) {
  const char* s = api.error_string ? api.error_string(st) : nullptr;
  return s ? s : "unknown status";
}

// ---- handles: one per (device, thread), like cuBLAS's; created on first use with
// the worker thread bound to its device; bound to the queue's stream when it changes.
struct HandleSlot {
  int device;
  Handle h;  // null: cudnnCreate failed on this device (cuDNN declines here)
  cudaStream_t stream;
};
thread_local std::vector<HandleSlot> handles;

HandleSlot* handle_for(int device) {
  for (HandleSlot& s : handles)
    if (s.device == device) return &s;
  Handle h = nullptr;
  const int st = api.create(&h);
  if (st != kSuccess) {
    h = nullptr;
    if (verbose) fprintf(stderr, "mx cuda: cudnnCreate failed on cuda:%d (%s); Conv uses the own kernels there\n", device, status_text(st));
  }
  handles.push_back({device, h, nullptr});
  return &handles.back();
}

// ---- plans, one per shape key and thread (never freed: a process holds few shapes).
struct Plan {
  bool use = false;  // false: declined, run the own kernel
  TensorDesc x = nullptr, y = nullptr;
  FilterDesc w = nullptr;
  ConvDesc conv = nullptr;
  int algo = 0;
  size_t workspace = 0;
};
thread_local std::unordered_map<std::string, Plan> plans;

std::string shape_text(const int* d, int n) {
  std::string s = "[";
  for (int i = 0; i < n; i++) s += (i ? "," : "") + std::to_string(d[i]);
  return s + "]";
}

int data_type(int dtype) {
  switch (dtype) {
    case MX_FLOAT32: return DATA_FLOAT;
    case MX_FLOAT64: return DATA_DOUBLE;
    case MX_FLOAT16: return DATA_HALF;
    case MX_BFLOAT16: return DATA_BFLOAT16;
    default: return -1;
  }
}

// Makes the plan for layout L; returns nullptr, or why cuDNN declined (p->use stays false).
const char* make_plan(Handle h, int dtype, const CudnnConvLayout& L, Plan* p, std::string* why) {
  const int dt = data_type(dtype);
  // Accumulation and scaling type: float for the 16-bit types (and float32), double for float64.
  const int compute = dtype == MX_FLOAT64 ? DATA_DOUBLE : DATA_FLOAT;
  const bool strict32 = dtype == MX_FLOAT32 && !allow_tf32();
  // DEFAULT_MATH lets cuDNN use TF32 tensor cores for float32 on Ampere and newer,
  // so exact float32 asks for FMA_MATH; 16-bit types ask for tensor cores.
  const int math = dtype == MX_FLOAT16 || dtype == MX_BFLOAT16 ? TENSOR_OP_MATH : strict32 ? FMA_MATH : DEFAULT_MATH;
  int st;
  auto failed = [&](const char* what) {
    *why = std::string(what) + " returned " + status_text(st) + " (" + std::to_string(st) + ")";
    return why->c_str();
  };
  if ((st = api.create_tensor(&p->x)) != kSuccess || (st = api.create_tensor(&p->y)) != kSuccess) return failed("cudnnCreateTensorDescriptor");
  if ((st = api.create_filter(&p->w)) != kSuccess) return failed("cudnnCreateFilterDescriptor");
  if ((st = api.create_conv(&p->conv)) != kSuccess) return failed("cudnnCreateConvolutionDescriptor");
  if ((st = api.set_tensor_nd(p->x, dt, L.nb, L.x, L.xs)) != kSuccess) return failed("cudnnSetTensorNdDescriptor (X)");
  if ((st = api.set_tensor_nd(p->y, dt, L.nb, L.y, L.ys)) != kSuccess) return failed("cudnnSetTensorNdDescriptor (Y)");
  if ((st = api.set_filter_nd(p->w, dt, TENSOR_NCHW, L.nb, L.w)) != kSuccess) return failed("cudnnSetFilterNdDescriptor");
  if ((st = api.set_conv_nd(p->conv, L.nconv, L.pad, L.stride, L.dil, CROSS_CORRELATION, compute)) != kSuccess)
    return failed("cudnnSetConvolutionNdDescriptor");
  if ((st = api.set_group_count(p->conv, L.group)) != kSuccess) return failed("cudnnSetConvolutionGroupCount");
  if ((st = api.set_math_type(p->conv, math)) != kSuccess) return failed("cudnnSetConvolutionMathType");
  FwdPerf perf[kAlgos];
  std::memset(perf, 0, sizeof perf);
  int n = 0;
  if ((st = api.get_algorithm_v7(h, p->x, p->w, p->conv, p->y, kAlgos, &n, perf)) != kSuccess)
    return failed("cudnnGetConvolutionForwardAlgorithm_v7");
  // The suggestions come fastest first; take the first that ran its checks, keeps
  // float32's precision and fits the workspace bound.
  for (int i = 0; i < n && i < kAlgos; i++) {
    const FwdPerf& f = perf[i];
    if (f.status != kSuccess || f.memory > kMaxWorkspace) continue;
    if (dtype == MX_FLOAT32 && (f.mathType == TENSOR_OP_MATH_ALLOW_CONVERSION || (strict32 && f.mathType != FMA_MATH))) continue;
    if (f.mathType != math && (st = api.set_math_type(p->conv, f.mathType)) != kSuccess) continue;
    size_t bytes = 0;
    if ((st = api.get_workspace_size(h, p->x, p->w, p->conv, p->y, f.algo, &bytes)) != kSuccess || bytes > kMaxWorkspace) {
      api.set_math_type(p->conv, math);
      continue;
    }
    p->algo = f.algo;
    p->workspace = bytes;
    p->use = true;
    if (verbose)
      fprintf(stderr, "mx cuda: cuDNN Conv x%s w%s: algorithm %d, math type %d, workspace %zu bytes\n", shape_text(L.x, L.nb).c_str(),
              shape_text(L.w, L.nb).c_str(), p->algo, f.mathType, bytes);
    return nullptr;
  }
  *why = "no suggested algorithm fits (" + std::to_string(n) + " suggested" + (strict32 ? ", float32 without TF32" : "") + ")";
  return why->c_str();
}

void release(Plan* p) {
  if (p->x) api.destroy_tensor(p->x);
  if (p->y) api.destroy_tensor(p->y);
  if (p->w) api.destroy_filter(p->w);
  if (p->conv) api.destroy_conv(p->conv);
  *p = Plan();
}

void decline(Plan* p, const mx_tensor& X, const mx_tensor& W, const char* why) {
  release(p);
  if (!verbose) return;
  std::string xs, ws;
  for (int i = 0; i < X.ndim; i++) xs += (i ? "," : "") + std::to_string((long long)X.shape[i]);
  for (int i = 0; i < W.ndim; i++) ws += (i ? "," : "") + std::to_string((long long)W.shape[i]);
  fprintf(stderr, "mx cuda: cuDNN declined Conv x[%s] w[%s]: %s; the own kernel runs it\n", xs.c_str(), ws.c_str(), why);
}

}  // namespace

const char* cudnn_bind(void* lib) {
  bind_text.clear();
  const char* env = std::getenv("MX_CUDA_CUDNN");
  if (env && std::strcmp(env, "0") == 0) return (bind_text = "found, not used (MX_CUDA_CUDNN=0)").c_str();
  verbose = env && std::strcmp(env, "verbose") == 0;
  std::string missing;
  sym(lib, "cudnnGetVersion", &api.get_version, &missing);
  sym(lib, "cudnnGetErrorString", &api.error_string, &missing);
  sym(lib, "cudnnCreate", &api.create, &missing);
  sym(lib, "cudnnSetStream", &api.set_stream, &missing);
  sym(lib, "cudnnCreateTensorDescriptor", &api.create_tensor, &missing);
  sym(lib, "cudnnDestroyTensorDescriptor", &api.destroy_tensor, &missing);
  sym(lib, "cudnnSetTensorNdDescriptor", &api.set_tensor_nd, &missing);
  sym(lib, "cudnnCreateFilterDescriptor", &api.create_filter, &missing);
  sym(lib, "cudnnDestroyFilterDescriptor", &api.destroy_filter, &missing);
  sym(lib, "cudnnSetFilterNdDescriptor", &api.set_filter_nd, &missing);
  sym(lib, "cudnnCreateConvolutionDescriptor", &api.create_conv, &missing);
  sym(lib, "cudnnDestroyConvolutionDescriptor", &api.destroy_conv, &missing);
  sym(lib, "cudnnSetConvolutionNdDescriptor", &api.set_conv_nd, &missing);
  sym(lib, "cudnnSetConvolutionGroupCount", &api.set_group_count, &missing);
  sym(lib, "cudnnSetConvolutionMathType", &api.set_math_type, &missing);
  sym(lib, "cudnnGetConvolutionForwardAlgorithm_v7", &api.get_algorithm_v7, &missing);
  sym(lib, "cudnnGetConvolutionForwardWorkspaceSize", &api.get_workspace_size, &missing);
  sym(lib, "cudnnConvolutionForward", &api.forward, &missing);
  if (!missing.empty()) return (bind_text = "found, not used (lacks " + missing + ")").c_str();
  // cudnnGetVersion: major*1000 + minor*100 + patch up to cuDNN 8, major*10000 + ... from 9.
  const size_t v = api.get_version();
  const int major = (int)(v >= 90000 ? v / 10000 : v / 1000);
  if (major != 8 && major != 9)
    return (bind_text = "found, not used (cuDNN " + std::to_string(major) + " is not one this build knows; 8 and 9 are)").c_str();
  std::string why;
  if (!load_sublibraries(lib, major, &why)) return (bind_text = "found, not used (" + why + ")").c_str();
  bound = true;
  return (bind_text = "in use for Conv and FusedConv (float32, float64, float16, bfloat16)").c_str();
}

bool cudnn_conv(mx_kernel_ctx* ctx, bool accumulate, int* status) {
  *status = MX_OK;
  if (!bound || ctx->num_inputs < 2 || ctx->num_outputs < 1) return false;
  const mx_tensor &X = ctx->inputs[0], &W = ctx->inputs[1], &Y = ctx->outputs[0];
  if (data_type(X.dtype) < 0 || W.dtype != X.dtype || Y.dtype != X.dtype || W.ndim != X.ndim || Y.ndim != X.ndim) return false;
  const int64_t *strides = nullptr, *dil = nullptr, *pads = nullptr;
  const int32_t ns = mx_attr_ints(ctx->attrs, "strides", &strides);
  const int32_t nd = mx_attr_ints(ctx->attrs, "dilations", &dil);
  const int32_t np = mx_attr_ints(ctx->attrs, "pads", &pads);
  const int64_t group = mx_attr_int(ctx->attrs, "group", 1);
  HandleSlot* hs = handle_for(ctx->device);
  if (!hs->h) return false;

  // The key: every value the plan depends on, as raw bytes.
  std::string key;
  auto put = [&key](int64_t v) { key.append(reinterpret_cast<const char*>(&v), sizeof v); };
  put(ctx->device), put(X.dtype), put(X.ndim), put(group), put(ns), put(nd), put(np);
  for (int i = 0; i < X.ndim; i++) put(X.shape[i]), put(W.shape[i]), put(Y.shape[i]);
  for (int i = 0; i < ns; i++) put(strides[i]);
  for (int i = 0; i < nd; i++) put(dil[i]);
  for (int i = 0; i < np; i++) put(pads[i]);
  auto it = plans.find(key);
  if (it == plans.end()) {
    it = plans.emplace(std::move(key), Plan()).first;
    CudnnConvLayout L;
    std::string text;
    const char* why = cudnn_conv_layout(X.ndim, X.shape, W.shape, Y.shape, ns, strides, nd, dil, np, pads, group, &L);
    if (!why) why = make_plan(hs->h, X.dtype, L, &it->second, &text);
    if (why) decline(&it->second, X, W, why);
  }
  Plan& p = it->second;
  if (!p.use) return false;

  const cudaStream_t s = stream_of(ctx);
  if (hs->stream != s) {
    if (api.set_stream(hs->h, s) != kSuccess) return false;
    hs->stream = s;
  }
  // alpha and beta are host scalars of the compute type: double for float64, float otherwise.
  const double a64 = 1.0, b64 = accumulate ? 1.0 : 0.0;
  const float a32 = 1.0f, b32 = accumulate ? 1.0f : 0.0f;
  const bool f64 = X.dtype == MX_FLOAT64;
  int st = kSuccess;
  switch (run_with_workspace(ctx, s, p.workspace, "cuDNN", "cuDNN convolution", status, &st, [&](void* ws) {
    return api.forward(hs->h, f64 ? (const void*)&a64 : (const void*)&a32, p.x, X.data, p.w, W.data, p.conv, p.algo, ws,
                       p.workspace, f64 ? (const void*)&b64 : (const void*)&b32, p.y, Y.data);
  })) {
    case LibRun::Ok: case LibRun::Fault: return true;
    case LibRun::NoWorkspace: return false;  // this call only: the own kernel needs no workspace
    case LibRun::Failed: break;              // this shape goes to the own kernel from now on
  }
  const std::string why = std::string("cudnnConvolutionForward returned ") + status_text(st) + " (" + std::to_string(st) + ")";
  decline(&p, X, W, why.c_str());
  return false;
}

}  // namespace mxcuda
