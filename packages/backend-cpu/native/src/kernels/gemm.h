// The cpu backend's GEMM engine (used by MatMul, Gemm and Conv) and the scratch
// memory of the compute-heavy kernels.
//
// gemm() follows Goto/BLIS: B is packed in KC x NC blocks of NR-wide column
// panels, A in MC x KC blocks of MR-high row panels, and a register-blocked
// micro-kernel (AVX2/FMA when the CPU has it, portable C++ otherwise) computes
// MR x NR tiles of C. Transposed operands are handled by the packing routines
// through strides. Threads take MC-row x column blocks of C, each from its own
// contiguous share of them first; a thread packs B's column blocks it computes
// into its own buffer, A per task; M == 1 or N == 1 take a GEMV path.
#pragma once
#include <cstddef>
#include <cstdint>

#include "common.h"

namespace mxcpu {

// Per-thread, growing, 64-byte aligned buffers reused across calls. A slot's
// buffer stays valid on this thread until the next scratch() call for that slot.
// Returns nullptr when memory is exhausted. gemm() uses the GEMM slots on every
// thread it runs on; SCRATCH_OP is free for a kernel's own tables and rows,
// SCRATCH_INPUT for a rearranged copy of its input that outlives them.
enum scratch_slot { SCRATCH_GEMM_A, SCRATCH_GEMM_B, SCRATCH_GEMM_ROWS, SCRATCH_WIDEN, SCRATCH_OP, SCRATCH_INPUT, SCRATCH_SLOTS };
void* scratch(int slot, size_t bytes);

// A matrix operand: element (r, c) is data[r * rs + c * cs]. A row-major [R, C]
// matrix is {p, C, 1}; its transpose is {p, 1, C}.
template <class T> struct mat_view {
  const T* data;
  int64_t rs, cs;
};

// What gemm adds to the product as it stores each tile of C, in registers (no
// second pass over C): c = act(alpha * A * B + beta * C + bias[i] + z[i * ldz + j]).
// FusedConv's epilogue; a plain Conv passes its bias alone.
enum gemm_act { ACT_NONE, ACT_RELU, ACT_LEAKY_RELU, ACT_CLIP };
template <class T> struct gemm_post {
  const T* bias = nullptr;  // one value per row of C, or null
  const T* z = nullptr;     // a residual shaped like C (leading dimension ldz), or null
  int64_t ldz = 0;
  int act = ACT_NONE;
  T p0 = T(0), p1 = T(0);  // LeakyRelu: alpha; Clip: min, max
};

// act(v) as gemm applies it: Relu, LeakyRelu and Clip keep NaN (as their ops do).
template <class T> inline __attribute__((always_inline)) T activate(int act, T p0, T p1, T v) {
  switch (act) {
    case ACT_RELU: return v < T(0) ? T(0) : v;
    case ACT_LEAKY_RELU: return v < T(0) ? p0 * v : v;
    case ACT_CLIP: return v < p0 ? p0 : v > p1 ? p1 : v;
    default: return v;
  }
}

// y[j] = act(y[j] + z[j]) for j < n (z may be null; the bias is not added): the
// same numerics as gemm's stores, for kernels that make C another way. Forced
// inline, so that AVX2 callers vectorize it with AVX2.
template <class T>
inline __attribute__((always_inline)) void apply_act(const gemm_post<T>& p, T* y, const T* z, int64_t n) {
  const auto each = [&](auto f) {
    if (z)
      for (int64_t j = 0; j < n; j++) y[j] = f(y[j] + z[j]);
    else
      for (int64_t j = 0; j < n; j++) y[j] = f(y[j]);
  };
  const T p0 = p.p0, p1 = p.p1;
  switch (p.act) {  // one loop per activation (a constant act folds activate's switch)
    case ACT_RELU: return each([=](T v) { return activate(ACT_RELU, p0, p1, v); });
    case ACT_LEAKY_RELU: return each([=](T v) { return activate(ACT_LEAKY_RELU, p0, p1, v); });
    case ACT_CLIP: return each([=](T v) { return activate(ACT_CLIP, p0, p1, v); });
    default:
      if (z) each([](T v) { return v; });
  }
}

// C[M,N] = alpha * A[M,K] * B[K,N] + beta * C, then `post` (null: nothing more),
// where C is row-major with leading dimension ldc. beta == 0 overwrites C without
// reading it (NaN in C does not propagate); K == 0 gives beta * C. Runs on
// pool's threads (pool may be null: the calling thread only) with one
// parallel_for; must not be called from inside a parallel_for on the same pool
// unless pool is null. Returns false when scratch memory ran out.
// a_packed / b_packed: null, or A / B as gemm_pack_a / gemm_pack_b left them
// (then that operand is not read, except by the GEMV paths: keep it alive).
// mr: a_packed's rows per panel (gemm_pack_a's mr).
// by_rows: threads own shares of C's rows (each reads its part of A and all of
// B, packing B itself) instead of shares of its columns (all of A, its part of
// B): for products whose A (a conv's weights) is the larger operand, or whose
// output the next layer reads by rows (channels). Same results either way.
bool gemm(const mx_pool* pool, int64_t M, int64_t N, int64_t K, float alpha, mat_view<float> A,
          mat_view<float> B, float beta, float* C, int64_t ldc, const gemm_post<float>* post = nullptr,
          const float* a_packed = nullptr, const float* b_packed = nullptr, int mr = 6, bool by_rows = false);
bool gemm(const mx_pool* pool, int64_t M, int64_t N, int64_t K, double alpha, mat_view<double> A,
          mat_view<double> B, double beta, double* C, int64_t ldc, const gemm_post<double>* post = nullptr);

// C[:, n0:n1) = A * B on the calling thread, A packed by gemm_pack_a (mr rows a
// panel) and B by gemm_pack_b for all N columns; n0 a multiple of 16 (whole
// panels of B). For callers that split a product's columns among their own
// threads. Returns false when scratch memory ran out.
bool gemm_packed_columns(int64_t M, int64_t N, int64_t K, int64_t n0, int64_t n1, const float* a_packed,
                         const float* b_packed, float* C, int64_t ldc, int mr);
// A float32 A packed once for every product with these M and K (a constant
// operand, e.g. a model's weights): gemm_packed_a_size(M, K) floats at dst.
// Products with M == 1 or N == 1 (GEMV) read A itself, so keep A alive too.
// mr: rows per panel, 6, or 7 where gemm_rows7() (the 7-row micro-kernel
// runs: 7 x 7 positions of a 7x7 plane fill whole panels, where 6 pads to 54).
int64_t gemm_packed_a_size(int64_t M, int64_t K, int mr = 6);
void gemm_pack_a(const mx_pool* pool, int64_t M, int64_t K, mat_view<float> A, float* dst, int mr = 6);
bool gemm_rows7();
// The K step of that layout: KC-row steps one after another (the last may be
// shorter), each all row panels; step pc's panel q (rows q * mr..) holds
// A(q * mr + r, pc + k) at dst[ceil(M / mr) * mr * pc + q * mr * kc + k * mr + r].
int64_t gemm_packed_a_kc(int64_t K);
// The same layout for A(i, k) = src's row k at column i (an im2col's
// transpose, never stored whole); false when scratch memory ran out.
template <class T> struct b_rows;
bool gemm_pack_a_rows(const mx_pool* pool, int64_t M, int64_t K, const b_rows<float>& src, float* dst, int mr = 6);
// The same for a constant float32 B [K, N] (a model's MatMul weights).
int64_t gemm_packed_b_size(int64_t K, int64_t N);
void gemm_pack_b(const mx_pool* pool, int64_t K, int64_t N, mat_view<float> B, float* dst);

// A B operand computed on demand instead of read from a matrix (Conv's implicit
// im2col): rows(self, p0, np, j0, nc, out) writes B[p0 + i, j0 + j] to
// out[i * nc + j] for i < np, j < nc. gemm asks for a few rows at a time into a
// small per-thread buffer and packs them; calls run on gemm's threads,
// concurrently for disjoint blocks.
template <class T> struct b_rows {
  void (*rows)(const void* self, int64_t p0, int64_t np, int64_t j0, int64_t nc, T* out);
  const void* self;
};
bool gemm(const mx_pool* pool, int64_t M, int64_t N, int64_t K, float alpha, mat_view<float> A,
          const b_rows<float>& B, float beta, float* C, int64_t ldc, const gemm_post<float>* post = nullptr,
          const float* a_packed = nullptr);
bool gemm(const mx_pool* pool, int64_t M, int64_t N, int64_t K, double alpha, mat_view<double> A,
          const b_rows<double>& B, double beta, double* C, int64_t ldc, const gemm_post<double>* post = nullptr);

// Data derived from a constant input (ctx const ids: a model's initializer),
// kept on the calling thread (a queue's worker) by (constant id, address, what,
// d0, d1: two dims of the layout, so views of one constant in other shapes differ):
// the buffer of `floats` floats (64-byte aligned) for that key, and *fresh =
// true when it was just made, for the caller to fill. The least recently used
// entries make room when the total would pass the limit (MX_CPU_CONST_CACHE_MB,
// default 2048: resnet50's weights, 100 MB, make about 360 MB of packed and
// Winograd-transformed copies). The pointer stays valid until the next
// const_cache call on this thread. Null when out of memory or larger than the
// limit (compute without it).
float* const_cache(uint64_t id, const void* addr, int what, int64_t d0, int64_t d1, size_t floats, bool* fresh);
enum const_cache_what { CONST_PACKED_A = 1, CONST_PACKED_B = 2, CONST_PACKED_BT = 3, CONST_CONV_WT = 4, CONST_WINOGRAD = 5, CONST_WINOGRAD2 = 6 };

// Runs a float32 kernel on float16/bfloat16 tensors: every 16-bit float input is
// widened into a float32 scratch copy, outputs of those dtypes get float32 scratch
// buffers that are narrowed back (round to nearest even) after the kernel ran.
// Other tensors pass through. The kernel may use any scratch slot but SCRATCH_WIDEN.
// At most 8 inputs and 8 outputs.
int run_widened(mx_kernel_ctx* ctx, mx_kernel_fn f32_kernel);

inline int fail_oom(mx_kernel_ctx* ctx, const char* op) {
  return mx_fail(ctx, MX_ERR_OOM, "%s: out of host memory for scratch buffers", op);
}

}  // namespace mxcpu
