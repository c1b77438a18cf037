// Round-trip latency of one cache line between CPU 0 and CPU 1 (two threads
// pinned there flip a shared flag): how far apart the machine's two cores are.
// On the shared virtual machines this project is measured on, it moves between
// tens and hundreds of nanoseconds as the host places the virtual CPUs, and
// multi-threaded mx runs slow down with it (docs/benchmarks.md).
//   cc -O2 -pthread bench/peak/core_pingpong.c -o /tmp/pingpong && /tmp/pingpong
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

enum { kTrips = 200000 };
static _Atomic int flag = 0;

static int pin(int cpu) {
  cpu_set_t s;
  CPU_ZERO(&s);
  CPU_SET(cpu, &s);
  return pthread_setaffinity_np(pthread_self(), sizeof s, &s);
}

static void* answer(void* arg) {
  (void)arg;
  if (pin(1)) return (void*)1;
  for (int i = 0; i < kTrips; i++) {
    while (atomic_load_explicit(&flag, memory_order_acquire) != 1) {
    }
    atomic_store_explicit(&flag, 0, memory_order_release);
  }
  return 0;
}

int main(void) {
  pthread_t t;
  if (pin(0) || pthread_create(&t, 0, answer, 0)) {
    fprintf(stderr, "needs CPUs 0 and 1\n");
    return 1;
  }
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (int i = 0; i < kTrips; i++) {
    atomic_store_explicit(&flag, 1, memory_order_release);
    while (atomic_load_explicit(&flag, memory_order_acquire) != 0) {
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &b);
  void* failed = 0;
  pthread_join(t, &failed);
  if (failed) {
    fprintf(stderr, "could not pin a thread to CPU 1\n");
    return 1;
  }
  printf("round trip %.0f ns\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / kTrips);
  return 0;
}
