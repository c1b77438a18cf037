/* Runs native/src/cublaslt.cc against test/fake-cublaslt.c without a GPU: binds
 * the library given, then makes one Gemm call per SPEC and prints what
 * cublaslt_gemm_bias answered. The CUDA runtime and backend functions it needs are
 * harness-stubs.h's (FAKE_OOM, FAKE_FAULT). Operands: A 0x1000, B 0x2000, bias 0x3000 (or BIAS), Y 0x4000.
 *   cublaslt-harness LIB SPEC...   SPEC = DTYPE,TRANSA,TRANSB,M,N,K,ALPHA[,BIAS] */
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "cublaslt.h"
#include "harness-stubs.h"
#include "runtime.h"


int main(int argc, char** argv) {
  if (argc < 2) return 2;
  void* lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!lib) return fprintf(stderr, "%s\n", dlerror()), 2;
  printf("bind: %s\n", mxcuda::cublaslt_bind(lib));
  fflush(stdout);
  mxcuda::Stream stream = {};
  stream.s = (cudaStream_t)0x5eed;
  char msg[512] = "";
  mx_kernel_ctx ctx = {};
  ctx.size = sizeof ctx, ctx.stream = &stream, ctx.msg = msg, ctx.msg_cap = sizeof msg;
  for (int i = 2; i < argc; i++) {
    int dtype = 0, ta = 0, tb = 0;
    long long m = 0, n = 0, k = 0;
    double alpha = 1;
    unsigned long long bias = 0x3000;
    if (sscanf(argv[i], "%d,%d,%d,%lld,%lld,%lld,%lf,%llx", &dtype, &ta, &tb, &m, &n, &k, &alpha, &bias) < 7) return 2;
    int status = -1;
    const bool took = mxcuda::cublaslt_gemm_bias(&ctx, dtype, ta != 0, tb != 0, m, n, k, alpha, (const void*)0x1000, (const void*)0x2000,
                                                 (const void*)(size_t)bias, (void*)0x4000, &status);
    printf("call %d: %s status=%d%s%s\n", i - 2, took ? "cublaslt" : "declined", status, *msg ? " " : "", msg);
    fflush(stdout);
  }
  return 0;
}
