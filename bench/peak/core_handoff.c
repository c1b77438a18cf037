// What data costs to move between CPU 0 and CPU 1 (two threads pinned there),
// in GB/s per thread, for buffers of the size given in MB (default 1):
//   shared-ro: both threads sum the same buffer, read-only (a model's weights);
//   private:   each sums its own;
//   handoff:   each writes its buffer, then sums the one the other just wrote
//              (activations that one layer's thread wrote and the next reads).
// On the shared virtual machines this project is measured on, handoff drops
// 3-5x when the host places the two CPUs far apart (core_pingpong.c reads
// hundreds of nanoseconds) while the other two hardly move; see
// docs/benchmarks.md.
//   cc -O2 -pthread bench/peak/core_handoff.c -o handoff && ./handoff 0.5 && ./handoff 4
// (x86-64 with AVX2: the sums are AVX2 loops.)
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <immintrin.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static size_t N;  // floats per buffer
static float *shared_buf, *priv[2], *hand[2];
static atomic_int bar_count, bar_gen;
static void barrier(void) {
  int g = atomic_load(&bar_gen);
  if (atomic_fetch_add(&bar_count, 1) == 1) { atomic_store(&bar_count, 0); atomic_fetch_add(&bar_gen, 1); }
  else while (atomic_load(&bar_gen) == g) _mm_pause();
}
__attribute__((target("avx2"))) static float sum(const float* p, size_t n) {
  __m256 a = _mm256_setzero_ps(), b = a, c = a, d = a;
  for (size_t i = 0; i < n; i += 32) { a = _mm256_add_ps(a, _mm256_load_ps(p + i)); b = _mm256_add_ps(b, _mm256_load_ps(p + i + 8)); c = _mm256_add_ps(c, _mm256_load_ps(p + i + 16)); d = _mm256_add_ps(d, _mm256_load_ps(p + i + 24)); }
  a = _mm256_add_ps(_mm256_add_ps(a, b), _mm256_add_ps(c, d));
  float o[8]; _mm256_storeu_ps(o, a); return o[0] + o[3];
}
static double res[2][3];
static volatile float sink;
static void* run(void* arg) {
  int t = (int)(long)arg;
  cpu_set_t s; CPU_ZERO(&s); CPU_SET(t, &s); pthread_setaffinity_np(pthread_self(), sizeof s, &s);
  const int R = 100;
  // shared read-only
  barrier(); double t0 = now();
  for (int r = 0; r < R; r++) sink += sum(shared_buf, N);
  res[t][0] = R * N * 4 / (now() - t0) / 1e9;
  // private
  barrier(); t0 = now();
  for (int r = 0; r < R; r++) sink += sum(priv[t], N);
  res[t][1] = R * N * 4 / (now() - t0) / 1e9;
  // handoff: write own buffer, barrier, read the other's
  double tr = 0;
  for (int r = 0; r < R; r++) {
    barrier();
    for (size_t i = 0; i < N; i += 16) hand[t][i] = (float)r;  // one store per line
    barrier();
    double a = now(); sink += sum(hand[1 - t], N); tr += now() - a;
  }
  res[t][2] = R * N * 4 / tr / 1e9;
  return 0;
}
int main(int argc, char** argv) {
  N = (size_t)(atof(argc > 1 ? argv[1] : "1") * (1 << 20) / 4);
  shared_buf = aligned_alloc(64, N * 4); for (size_t i = 0; i < N; i++) shared_buf[i] = 1;
  for (int t = 0; t < 2; t++) { priv[t] = aligned_alloc(64, N * 4); hand[t] = aligned_alloc(64, N * 4); memset(priv[t], 0, N * 4); memset(hand[t], 0, N * 4); }
  pthread_t th[2];
  for (int t = 0; t < 2; t++) pthread_create(&th[t], 0, run, (void*)(long)t);
  for (int t = 0; t < 2; t++) pthread_join(th[t], 0);
  printf("%.1f MB: shared-ro %.1f/%.1f GB/s, private %.1f/%.1f, handoff %.1f/%.1f\n", N * 4 / 1048576.0, res[0][0], res[1][0], res[0][1], res[1][1], res[0][2], res[1][2]);
}
