/* A stand-in for cuBLASLt, so that native/src/cublaslt.cc's binding, planning
 * and fallbacks run without a GPU (test/cublaslt-fake.test.ts). Each call prints
 * one line with the arguments cublaslt.cc passed (descriptor handles are small
 * numbers: layouts 0x100, 0x200, ... in creation order). Settings (environment):
 *   FAKE_HEUR       the heuristic's suggestions, "state,workspace;..." (default
 *                   "0,0"); suggestion i carries algo.data[0] = 100 + i
 *   FAKE_HEUR_STATUS  what cublasLtMatmulAlgoGetHeuristic returns (default 0)
 *   FAKE_SET_FAIL   a matmul-descriptor attribute id whose setting returns 7
 *   FAKE_MATMUL     what cublasLtMatmul returns (default 0)
 * Built with -DFAKE_NO_HEURISTIC it lacks cublasLtMatmulAlgoGetHeuristic. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  uint64_t data[8];
} algo_t;
typedef struct {
  algo_t algo;
  size_t workspaceSize;
  int state;
  float wavesCount;
  int reserved[4];
} result_t;

static int env_int(const char* name, int def) {
  const char* v = getenv(name);
  return v ? atoi(v) : def;
}
static int next_layout = 1;

const char* cublasLtGetStatusString(int s) { return s ? "CUBLAS_STATUS_FAKE_FAILURE" : "CUBLAS_STATUS_SUCCESS"; }
int cublasLtCreate(void** h) { printf("cublasLtCreate\n"); *h = (void*)0x10; return 0; }
int cublasLtMatmulDescCreate(void** d, int compute, int scale) {
  printf("cublasLtMatmulDescCreate compute=%d scale=%d\n", compute, scale);
  *d = (void*)0x20;
  return 0;
}
int cublasLtMatmulDescDestroy(void* d) { printf("destroy desc %p\n", d); return 0; }
int cublasLtMatmulDescSetAttribute(void* d, int attr, const void* buf, size_t bytes) {
  (void)d;
  printf("cublasLtMatmulDescSetAttribute attr=%d size=%zu value=", attr, bytes);
  if (attr == 8 && bytes == sizeof(void*)) printf("%p\n", *(void* const*)buf);
  else if (bytes == 4) printf("%d\n", *(const int*)buf);
  else printf("?\n");
  return attr == env_int("FAKE_SET_FAIL", -1) ? 7 : 0;
}
int cublasLtMatrixLayoutCreate(void** l, int type, uint64_t rows, uint64_t cols, int64_t ld) {
  *l = (void*)(size_t)(0x100 * next_layout++);
  printf("cublasLtMatrixLayoutCreate %p type=%d rows=%llu cols=%llu ld=%lld\n", *l, type, (unsigned long long)rows,
         (unsigned long long)cols, (long long)ld);
  return 0;
}
int cublasLtMatrixLayoutDestroy(void* l) { printf("destroy layout %p\n", l); return 0; }
int cublasLtMatmulPreferenceCreate(void** p) { *p = (void*)0x30; return 0; }
int cublasLtMatmulPreferenceDestroy(void* p) { (void)p; return 0; }
int cublasLtMatmulPreferenceSetAttribute(void* p, int attr, const void* buf, size_t bytes) {
  (void)p;
  if (bytes == 8) printf("cublasLtMatmulPreferenceSetAttribute attr=%d size=8 value=%llu\n", attr, (unsigned long long)*(const uint64_t*)buf);
  else printf("cublasLtMatmulPreferenceSetAttribute attr=%d size=%zu value=%u\n", attr, bytes, *(const unsigned*)buf);
  return 0;
}
#ifndef FAKE_NO_HEURISTIC
int cublasLtMatmulAlgoGetHeuristic(void* h, void* desc, void* a, void* b, void* c, void* d, void* pref, int requested, result_t* r,
                                   int* returned) {
  (void)h, (void)desc, (void)pref;
  const char* spec = getenv("FAKE_HEUR") ? getenv("FAKE_HEUR") : "0,0";
  int n = 0;
  while (*spec && n < requested) {
    unsigned long long ws = 0;
    memset(&r[n], 0, sizeof r[n]);
    if (sscanf(spec, "%d,%llu", &r[n].state, &ws) != 2) break;
    r[n].workspaceSize = (size_t)ws;
    r[n].algo.data[0] = 100 + n;
    n++;
    spec = strchr(spec, ';') ? strchr(spec, ';') + 1 : "";
  }
  *returned = n;
  printf("cublasLtMatmulAlgoGetHeuristic a=%p b=%p c=%p d=%p requested=%d returned=%d\n", a, b, c, d, requested, n);
  return env_int("FAKE_HEUR_STATUS", 0);
}
#endif
int cublasLtMatmul(void* h, void* desc, const void* alpha, const void* A, void* ad, const void* B, void* bd, const void* beta,
                   const void* C, void* cd, void* D, void* dd, const algo_t* algo, void* ws, size_t wsb, void* stream) {
  (void)h, (void)desc;
  printf("cublasLtMatmul alpha=%g A=%p/%p B=%p/%p beta=%g C=%p/%p D=%p/%p algo=%llu workspace=%p,%zu stream=%p\n", *(const float*)alpha, A, ad,
         B, bd, *(const float*)beta, C, cd, D, dd, (unsigned long long)algo->data[0], ws, wsb, stream);
  return env_int("FAKE_MATMUL", 0);
}
