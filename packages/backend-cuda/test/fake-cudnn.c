/* A stand-in for cuDNN's entry library, so that native/src/cudnn.cc's binding,
 * planning and fallbacks run without a GPU (test/cudnn-fake.test.ts). Each call
 * prints one line with the arguments cudnn.cc passed. Settings (environment):
 *   FAKE_VERSION   what cudnnGetVersion returns (default 90600, cuDNN 9.6.0)
 *   FAKE_PERF      the suggestions of cudnnGetConvolutionForwardAlgorithm_v7,
 *                  "algo,status,mathType,memory;..." (default "1,0,3,0")
 *   FAKE_FORWARD   the status cudnnConvolutionForward returns (default 0)
 * Built with -DFAKE_NO_V7 it lacks cudnnGetConvolutionForwardAlgorithm_v7. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  int algo, status;
  float time;
  size_t memory;
  int determinism, mathType, reserved[3];
} perf_t;

static int env_int(const char* name, int def) {
  const char* v = getenv(name);
  return v ? atoi(v) : def;
}
static void ints(const char* label, int n, const int* v) {
  printf(" %s=", label);
  for (int i = 0; i < n; i++) printf("%s%d", i ? "," : "", v[i]);
}
static int next_desc = 1;
static int make(void** d) { *d = (void*)(size_t)(0x100 * next_desc++); return 0; }

size_t cudnnGetVersion(void) { return (size_t)env_int("FAKE_VERSION", 90600); }
const char* cudnnGetErrorString(int s) { return s ? "CUDNN_STATUS_FAKE_FAILURE" : "CUDNN_STATUS_SUCCESS"; }
int cudnnCreate(void** h) { printf("cudnnCreate\n"); *h = (void*)0x10; return 0; }
int cudnnSetStream(void* h, void* s) { (void)h; printf("cudnnSetStream %p\n", s); return 0; }
int cudnnCreateTensorDescriptor(void** d) { return make(d); }
int cudnnCreateFilterDescriptor(void** d) { return make(d); }
int cudnnCreateConvolutionDescriptor(void** d) { return make(d); }
int cudnnDestroyTensorDescriptor(void* d) { printf("destroy tensor %p\n", d); return 0; }
int cudnnDestroyFilterDescriptor(void* d) { printf("destroy filter %p\n", d); return 0; }
int cudnnDestroyConvolutionDescriptor(void* d) { printf("destroy conv %p\n", d); return 0; }
int cudnnSetTensorNdDescriptor(void* d, int dtype, int nb, const int* dims, const int* strides) {
  printf("cudnnSetTensorNdDescriptor %p dtype=%d", d, dtype), ints("dims", nb, dims), ints("strides", nb, strides), printf("\n");
  return 0;
}
int cudnnSetFilterNdDescriptor(void* d, int dtype, int format, int nb, const int* dims) {
  printf("cudnnSetFilterNdDescriptor dtype=%d format=%d", dtype, format), ints("dims", nb, dims), printf("\n");
  return 0;
}
int cudnnSetConvolutionNdDescriptor(void* d, int n, const int* pad, const int* stride, const int* dil, int mode, int compute) {
  (void)d;
  printf("cudnnSetConvolutionNdDescriptor"), ints("pad", n, pad), ints("stride", n, stride), ints("dil", n, dil);
  printf(" mode=%d compute=%d\n", mode, compute);
  return 0;
}
int cudnnSetConvolutionGroupCount(void* d, int g) { (void)d; printf("cudnnSetConvolutionGroupCount %d\n", g); return 0; }
int cudnnSetConvolutionMathType(void* d, int m) { (void)d; printf("cudnnSetConvolutionMathType %d\n", m); return 0; }
#ifndef FAKE_NO_V7
int cudnnGetConvolutionForwardAlgorithm_v7(void* h, void* x, void* w, void* c, void* y, int requested, int* returned, perf_t* perf) {
  (void)h, (void)x, (void)w, (void)c, (void)y;
  const char* spec = getenv("FAKE_PERF") ? getenv("FAKE_PERF") : "1,0,3,0";
  int n = 0;
  while (*spec && n < requested) {
    unsigned long long mem = 0;
    memset(&perf[n], 0, sizeof perf[n]);
    if (sscanf(spec, "%d,%d,%d,%llu", &perf[n].algo, &perf[n].status, &perf[n].mathType, &mem) != 4) break;
    perf[n++].memory = (size_t)mem;
    spec = strchr(spec, ';') ? strchr(spec, ';') + 1 : "";
  }
  *returned = n;
  printf("cudnnGetConvolutionForwardAlgorithm_v7 requested=%d returned=%d\n", requested, n);
  return 0;
}
#endif
int cudnnGetConvolutionForwardWorkspaceSize(void* h, void* x, void* w, void* c, void* y, int algo, size_t* bytes) {
  (void)h, (void)x, (void)w, (void)c, (void)y;
  const char* spec = getenv("FAKE_PERF") ? getenv("FAKE_PERF") : "1,0,3,0";
  *bytes = 0;
  for (const char* p = spec; *p;) {  /* the memory of the suggestion with this algorithm */
    int a, s, m;
    unsigned long long mem;
    if (sscanf(p, "%d,%d,%d,%llu", &a, &s, &m, &mem) == 4 && a == algo) *bytes = (size_t)mem;
    p = strchr(p, ';') ? strchr(p, ';') + 1 : "";
  }
  printf("cudnnGetConvolutionForwardWorkspaceSize algo=%d bytes=%zu\n", algo, *bytes);
  return 0;
}
int cudnnConvolutionForward(void* h, const void* alpha, void* xd, const void* x, void* wd, const void* w, void* cd, int algo, void* ws,
                            size_t wsb, const void* beta, void* yd, void* y) {
  (void)h, (void)xd, (void)wd, (void)cd, (void)yd;
  const int f64 = env_int("FAKE_F64", 0);
  const double a = f64 ? *(const double*)alpha : *(const float*)alpha, b = f64 ? *(const double*)beta : *(const float*)beta;
  printf("cudnnConvolutionForward x=%p w=%p y=%p algo=%d workspace=%p,%zu alpha=%g beta=%g\n", x, w, y, algo, ws, wsb, a, b);
  return env_int("FAKE_FORWARD", 0);
}
