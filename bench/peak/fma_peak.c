// The machine's float32 FMA peak and the bandwidth of a plain C add loop.
//
// Peak: each thread runs independent FMA chains that live in registers (enough of
// them to cover the FMA latency on every current x86 core: 12 ymm or 24 zmm
// accumulators, no loads), so the loop is bound only by FMA throughput. A chain step
// is acc = acc * m + k with m, k chosen so values stay finite and normal. The
// AVX2 and AVX-512 variants are chosen at run time with __builtin_cpu_supports; the
// binary itself is built for the baseline ISA. Other architectures get a portable
// 128-bit variant (GCC vector extensions; compilers contract a*b+c into FMA there).
//
// Add: c[i] = a[i] + b[i] over N floats split across T threads; traffic counted as
// 3 * N * 4 bytes (read a, read b, write c; write-allocate traffic not counted),
// buffers touched before timing.
//
// Usage: fma_peak THREADS [ADD_THREADS [ADD_FLOATS]]
// Prints one JSON object: the ISA, GFLOP/s per variant on 1 and THREADS threads
// (best of 50 runs of ~10 ms: short runs, so that on a shared machine some of them
// fall in moments when the cores are free), and the add loop's GB/s (median and
// best of 31 runs).
//        fma_peak --add THREADS FLOATS RUNS
// runs the add loop alone and prints each run's GB/s as a JSON array (for timing
// it in turns with another program's add, in the same minutes).
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

// ---------------------------------------------------------------- FMA kernels
// Each kernel runs `iters` steps of its chains and returns a value that depends on
// every accumulator, so the compiler cannot drop the work. flops_per_iter tells
// the caller how many flops one step is.

typedef float (*fma_kernel)(long iters);

#define CHAIN_STEP(FMA, n) acc##n = FMA(acc##n, m, k);

// Distinct start values that the compiler cannot see (otherwise it proves the chains
// equal and merges them into one).
static volatile float seed = 1.0f;
#define SEED(n) (seed + 0.001f * (float)(n))

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define AVX2_CHAINS 12
#define S8(n) _mm256_set1_ps(SEED(n))
__attribute__((target("avx2,fma"))) static float fma_avx2(long iters) {
  __m256 m = _mm256_set1_ps(0.999999f), k = _mm256_set1_ps(1e-6f);
  __m256 acc0 = S8(0), acc1 = S8(1), acc2 = S8(2), acc3 = S8(3), acc4 = S8(4), acc5 = S8(5);
  __m256 acc6 = S8(6), acc7 = S8(7), acc8 = S8(8), acc9 = S8(9), acc10 = S8(10), acc11 = S8(11);
  for (long i = 0; i < iters; i++) {
    CHAIN_STEP(_mm256_fmadd_ps, 0) CHAIN_STEP(_mm256_fmadd_ps, 1)
    CHAIN_STEP(_mm256_fmadd_ps, 2) CHAIN_STEP(_mm256_fmadd_ps, 3)
    CHAIN_STEP(_mm256_fmadd_ps, 4) CHAIN_STEP(_mm256_fmadd_ps, 5)
    CHAIN_STEP(_mm256_fmadd_ps, 6) CHAIN_STEP(_mm256_fmadd_ps, 7)
    CHAIN_STEP(_mm256_fmadd_ps, 8) CHAIN_STEP(_mm256_fmadd_ps, 9)
    CHAIN_STEP(_mm256_fmadd_ps, 10) CHAIN_STEP(_mm256_fmadd_ps, 11)
  }
  __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)),
                           _mm256_add_ps(_mm256_add_ps(acc4, acc5), _mm256_add_ps(acc6, acc7)));
  s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(acc8, acc9), _mm256_add_ps(acc10, acc11)));
  float out[8];
  _mm256_storeu_ps(out, s);
  return out[0] + out[7];
}

#define AVX512_CHAINS 24
#define S16(n) _mm512_set1_ps(SEED(n))
__attribute__((target("avx512f"))) static float fma_avx512(long iters) {
  __m512 m = _mm512_set1_ps(0.999999f), k = _mm512_set1_ps(1e-6f);
  __m512 acc0 = S16(0), acc1 = S16(1), acc2 = S16(2), acc3 = S16(3), acc4 = S16(4), acc5 = S16(5);
  __m512 acc6 = S16(6), acc7 = S16(7), acc8 = S16(8), acc9 = S16(9), acc10 = S16(10), acc11 = S16(11);
  __m512 acc12 = S16(12), acc13 = S16(13), acc14 = S16(14), acc15 = S16(15), acc16 = S16(16), acc17 = S16(17);
  __m512 acc18 = S16(18), acc19 = S16(19), acc20 = S16(20), acc21 = S16(21), acc22 = S16(22), acc23 = S16(23);
  for (long i = 0; i < iters; i++) {
    CHAIN_STEP(_mm512_fmadd_ps, 0) CHAIN_STEP(_mm512_fmadd_ps, 1)
    CHAIN_STEP(_mm512_fmadd_ps, 2) CHAIN_STEP(_mm512_fmadd_ps, 3)
    CHAIN_STEP(_mm512_fmadd_ps, 4) CHAIN_STEP(_mm512_fmadd_ps, 5)
    CHAIN_STEP(_mm512_fmadd_ps, 6) CHAIN_STEP(_mm512_fmadd_ps, 7)
    CHAIN_STEP(_mm512_fmadd_ps, 8) CHAIN_STEP(_mm512_fmadd_ps, 9)
    CHAIN_STEP(_mm512_fmadd_ps, 10) CHAIN_STEP(_mm512_fmadd_ps, 11)
    CHAIN_STEP(_mm512_fmadd_ps, 12) CHAIN_STEP(_mm512_fmadd_ps, 13)
    CHAIN_STEP(_mm512_fmadd_ps, 14) CHAIN_STEP(_mm512_fmadd_ps, 15)
    CHAIN_STEP(_mm512_fmadd_ps, 16) CHAIN_STEP(_mm512_fmadd_ps, 17)
    CHAIN_STEP(_mm512_fmadd_ps, 18) CHAIN_STEP(_mm512_fmadd_ps, 19)
    CHAIN_STEP(_mm512_fmadd_ps, 20) CHAIN_STEP(_mm512_fmadd_ps, 21)
    CHAIN_STEP(_mm512_fmadd_ps, 22) CHAIN_STEP(_mm512_fmadd_ps, 23)
  }
  __m512 s = _mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3));
  s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(acc4, acc5), _mm512_add_ps(acc6, acc7)));
  s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(acc8, acc9), _mm512_add_ps(acc10, acc11)));
  s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(acc12, acc13), _mm512_add_ps(acc14, acc15)));
  s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(acc16, acc17), _mm512_add_ps(acc18, acc19)));
  s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(acc20, acc21), _mm512_add_ps(acc22, acc23)));
  return _mm512_reduce_add_ps(s);
}
#endif

typedef float v4f __attribute__((vector_size(16)));
#define GENERIC_CHAINS 12
#define S4(n) ((v4f){SEED(n), SEED(n), SEED(n), SEED(n)})
#define GENERIC_FMA(a, m, k) ((a) * (m) + (k))
static float fma_generic(long iters) {
  v4f m = {0.999999f, 0.999999f, 0.999999f, 0.999999f}, k = {1e-6f, 1e-6f, 1e-6f, 1e-6f};
  v4f acc0 = S4(0), acc1 = S4(1), acc2 = S4(2), acc3 = S4(3), acc4 = S4(4), acc5 = S4(5);
  v4f acc6 = S4(6), acc7 = S4(7), acc8 = S4(8), acc9 = S4(9), acc10 = S4(10), acc11 = S4(11);
  for (long i = 0; i < iters; i++) {
    CHAIN_STEP(GENERIC_FMA, 0) CHAIN_STEP(GENERIC_FMA, 1) CHAIN_STEP(GENERIC_FMA, 2)
    CHAIN_STEP(GENERIC_FMA, 3) CHAIN_STEP(GENERIC_FMA, 4) CHAIN_STEP(GENERIC_FMA, 5)
    CHAIN_STEP(GENERIC_FMA, 6) CHAIN_STEP(GENERIC_FMA, 7) CHAIN_STEP(GENERIC_FMA, 8)
    CHAIN_STEP(GENERIC_FMA, 9) CHAIN_STEP(GENERIC_FMA, 10) CHAIN_STEP(GENERIC_FMA, 11)
  }
  v4f s = acc0 + acc1 + acc2 + acc3 + acc4 + acc5 + acc6 + acc7 + acc8 + acc9 + acc10 + acc11;
  return s[0] + s[3];
}

// ---------------------------------------------------------------- threads

// Runs fn(arg_i) on `n` threads started together; returns the wall seconds from the
// common start to the last thread's end.
typedef struct {
  pthread_barrier_t* start;
  void (*fn)(void*);
  void* arg;
  double t0, t1;
} worker_t;

static void* worker_main(void* p) {
  worker_t* w = p;
  pthread_barrier_wait(w->start);
  w->t0 = now();
  w->fn(w->arg);
  w->t1 = now();
  return NULL;
}

static double run_threads(int n, void (*fn)(void*), void* args, size_t arg_size) {
  pthread_barrier_t start;
  pthread_barrier_init(&start, NULL, (unsigned)n);
  worker_t* ws = calloc((size_t)n, sizeof(worker_t));
  pthread_t* ts = calloc((size_t)n, sizeof(pthread_t));
  for (int i = 0; i < n; i++) {
    ws[i] = (worker_t){&start, fn, (char*)args + (size_t)i * arg_size, 0, 0};
    if (i > 0) pthread_create(&ts[i], NULL, worker_main, &ws[i]);
  }
  worker_main(&ws[0]);
  double t0 = ws[0].t0, t1 = ws[0].t1;
  for (int i = 1; i < n; i++) {
    pthread_join(ts[i], NULL);
    if (ws[i].t0 < t0) t0 = ws[i].t0;
    if (ws[i].t1 > t1) t1 = ws[i].t1;
  }
  pthread_barrier_destroy(&start);
  free(ws);
  free(ts);
  return t1 - t0;
}

// ---------------------------------------------------------------- peak

typedef struct {
  fma_kernel kernel;
  long iters;
  volatile float sink;
} fma_arg_t;

static void fma_job(void* p) {
  fma_arg_t* a = p;
  a->sink = a->kernel(a->iters);
}

// Best GFLOP/s of `runs` runs on `threads` threads, each run about `seconds` long.
// (Noise only ever slows a run down, so the best run is the estimate of the peak.)
static double fma_gflops(fma_kernel kernel, double flops_per_iter, int threads, int runs, double seconds) {
  fma_arg_t* args = calloc((size_t)threads, sizeof(fma_arg_t));
  long iters = 1 << 16;
  for (;;) {  // calibrate on one thread
    double t0 = now();
    args[0].sink = kernel(iters);
    if (now() - t0 > 0.02) break;
    iters *= 2;
  }
  double t0 = now();
  args[0].sink = kernel(iters);
  iters = (long)((double)iters * seconds / (now() - t0)) + 1;
  double best = 0;
  for (int r = 0; r < runs; r++) {
    for (int i = 0; i < threads; i++) args[i] = (fma_arg_t){kernel, iters, 0};
    double s = run_threads(threads, fma_job, args, sizeof(fma_arg_t));
    double g = flops_per_iter * (double)iters * threads / s * 1e-9;
    if (g > best) best = g;
  }
  free(args);
  return best;
}

// ---------------------------------------------------------------- add bandwidth

typedef struct {
  const float *a, *b;
  float* c;
  size_t n;
} add_arg_t;

static void add_job(void* p) {
  add_arg_t* x = p;
  const float *restrict a = x->a, *restrict b = x->b;
  float* restrict c = x->c;
  for (size_t i = 0; i < x->n; i++) c[i] = a[i] + b[i];
}

// GB/s of `runs` runs into gbs[], sorted, or printed in run order as a JSON array.
static void add_bandwidth(int threads, size_t n, int runs, double* median, double* best, int print) {
  float* a = aligned_alloc(64, n * sizeof(float));
  float* b = aligned_alloc(64, n * sizeof(float));
  float* c = aligned_alloc(64, n * sizeof(float));
  for (size_t i = 0; i < n; i++) a[i] = (float)(i & 1023), b[i] = 1.0f, c[i] = 0.0f;
  add_arg_t* args = calloc((size_t)threads, sizeof(add_arg_t));
  size_t chunk = (n + (size_t)threads - 1) / (size_t)threads;
  for (int i = 0; i < threads; i++) {
    size_t lo = (size_t)i * chunk < n ? (size_t)i * chunk : n;
    size_t hi = lo + chunk < n ? lo + chunk : n;
    args[i] = (add_arg_t){a + lo, b + lo, c + lo, hi - lo};
  }
  double* gbs = calloc((size_t)runs, sizeof(double));
  for (int r = 0; r < runs; r++) gbs[r] = 3.0 * (double)n * sizeof(float) / run_threads(threads, add_job, args, sizeof(add_arg_t)) * 1e-9;
  if (print)
    for (int r = 0; r < runs; r++) printf("%s%.3f%s", r ? ", " : "[", gbs[r], r == runs - 1 ? "]\n" : "");
  qsort(gbs, (size_t)runs, sizeof(double), cmp_double);
  *median = gbs[runs / 2];
  *best = gbs[runs - 1];
  if (c[n - 1] != a[n - 1] + 1.0f) fprintf(stderr, "add check failed\n");
  free(gbs);
  free(args);
  free(a);
  free(b);
  free(c);
}

// ---------------------------------------------------------------- main

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "--add") == 0) {
    int t = argc > 2 ? atoi(argv[2]) : 1, runs = argc > 4 ? atoi(argv[4]) : 0;
    size_t n = argc > 3 ? (size_t)atol(argv[3]) : 0;
    if (t < 1 || n < 1 || runs < 1) {
      fprintf(stderr, "usage: fma_peak --add THREADS FLOATS RUNS\n");
      return 2;
    }
    double med, best;
    add_bandwidth(t, n, runs, &med, &best, 1);
    return 0;
  }
  int threads = argc > 1 ? atoi(argv[1]) : 1;
  int add_threads = argc > 2 ? atoi(argv[2]) : threads;
  size_t add_n = argc > 3 ? (size_t)atol(argv[3]) : (size_t)1 << 24;
  if (threads < 1 || add_threads < 1 || add_n < 1) {
    fprintf(stderr, "usage: fma_peak THREADS [ADD_THREADS [ADD_FLOATS]]\n");
    return 2;
  }
  struct {
    const char* name;
    fma_kernel kernel;
    double flops_per_iter;
  } variants[3];
  int nv = 0;
  const char* isa;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  int has_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  int has_avx512 = __builtin_cpu_supports("avx512f");
  isa = has_avx512 ? "x86-64 AVX2 FMA AVX-512F" : has_avx2 ? "x86-64 AVX2 FMA" : "x86-64 (no AVX2/FMA)";
  if (has_avx2) variants[nv++] = (typeof(variants[0])){"avx2", fma_avx2, AVX2_CHAINS * 8 * 2};
  if (has_avx512) variants[nv++] = (typeof(variants[0])){"avx512", fma_avx512, AVX512_CHAINS * 16 * 2};
#else
  isa = "generic";
#endif
  if (nv == 0) variants[nv++] = (typeof(variants[0])){"generic128", fma_generic, GENERIC_CHAINS * 4 * 2};

  printf("{\n  \"isa\": \"%s\",\n  \"threads\": %d,\n  \"fma\": [", isa, threads);
  double peak1 = 0, peakN = 0;
  for (int v = 0; v < nv; v++) {
    double g1 = fma_gflops(variants[v].kernel, variants[v].flops_per_iter, 1, 50, 0.01);
    double gN = threads > 1 ? fma_gflops(variants[v].kernel, variants[v].flops_per_iter, threads, 50, 0.01) : g1;
    if (g1 > peak1) peak1 = g1;
    if (gN > peakN) peakN = gN;
    printf("%s\n    { \"variant\": \"%s\", \"gflops1\": %.1f, \"gflopsN\": %.1f }", v ? "," : "", variants[v].name, g1, gN);
    fflush(stdout);
  }
  double med, best;
  add_bandwidth(add_threads, add_n, 31, &med, &best, 0);
  printf("\n  ],\n  \"peak1\": %.1f,\n  \"peakN\": %.1f,\n", peak1, peakN);
  printf("  \"add\": { \"threads\": %d, \"floats\": %zu, \"medianGBs\": %.2f, \"bestGBs\": %.2f }\n}\n", add_threads, add_n, med, best);
  return 0;
}
