// GEMM engine: C = alpha * A * B + beta * C for float and double (see gemm.h).
//
// Blocking (BLIS order): jc over NC columns, pc over KC of the inner dimension
// (pack B: KC x NC in NR-wide panels, lives in L2/L3), ic over MC rows (pack A:
// MC x KC in MR-high panels, lives in L2), then jr/ir over MR x NR register tiles
// whose micro-kernel streams one A panel and one B panel (KC x NR, in L1).
// Packed panels are zero-padded, so edge tiles run the same micro-kernel into a
// stack tile and only the valid part is merged into C. Threads take rectangles
// of C, each from its own share first (gemm_tasks); M == 1 or N == 1 go to a
// GEMV path.
#include "gemm.h"
#include "gemm_tile.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <list>
#include <map>
#include <tuple>
#include <memory>
#include <new>
#include <type_traits>

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>
#define MX_GEMM_X86 1
#define MX_AVX2 __attribute__((target("avx2,fma")))
#endif
#define MX_ALWAYS_INLINE inline __attribute__((always_inline))

namespace mxcpu {

// ---------------------------------------------------------------- scratch

namespace {
struct scratch_buf {
  void* p = nullptr;
  size_t cap = 0;
  ~scratch_buf() { std::free(p); }
};
thread_local scratch_buf t_scratch[SCRATCH_SLOTS];
}  // namespace

void* scratch(int slot, size_t bytes) {
  scratch_buf& s = t_scratch[slot];
  bytes = (std::max<size_t>(bytes, 1) + 4095) & ~size_t(4095);
  if (bytes > s.cap) {
    std::free(s.p);
    s.p = std::aligned_alloc(64, bytes);
    s.cap = s.p ? bytes : 0;
  }
  return s.p;
}

namespace {

// ---------------------------------------------------------------- configuration

// Tile and block sizes. A packed KC x NR panel of B fills half of L1 (16 KiB) and
// an MC x KC block of A a fraction of L2. Tuned on Zen 3/4 (32 KiB L1, 512 KiB+ L2).
template <class T> struct cfg;
template <> struct cfg<float> {
  static constexpr int MR = 6, NR = 16;
  static constexpr int64_t KC = 256, MC = 144, NC = 2048;
};
template <> struct cfg<double> {
  static constexpr int MR = 6, NR = 8;
  static constexpr int64_t KC = 256, MC = 72, NC = 1024;
};

// ---------------------------------------------------------------- micro-kernels

// b: the B panel's first row; its rows are ldb apart (NR in a packed panel,
// B's row stride when B is read in place).
template <class T>
using ukr_fn = void (*)(int64_t kc, const T* a, const T* b, int64_t ldb, T* c, int64_t ldc, const tile_args<T>& t);

template <class T, int MR>
void ukr_generic(int64_t kc, const T* a, const T* b, int64_t ldb, T* c, int64_t ldc, const tile_args<T>& t) {
  constexpr int NR = cfg<T>::NR;
  T acc[MR][NR] = {};
  for (int64_t p = 0; p < kc; p++, a += MR, b += ldb)
    for (int r = 0; r < MR; r++)
      for (int j = 0; j < NR; j++) acc[r][j] += a[r] * b[j];
  for (int r = 0; r < t.m; r++)
    for (int j = 0; j < t.n; j++) {
      T& d = c[r * ldc + j];
      T v = t.beta == T(0) ? t.alpha * acc[r][j] : t.alpha * acc[r][j] + t.beta * d;
      if (t.bias) v += t.bias[r];
      if (t.z) v += t.z[r * t.ldz + j];
      d = activate(t.act, t.p0, t.p1, v);
    }
}

#ifdef MX_GEMM_X86
// MR x 2W (6 x 16 floats, 6 x 8 doubles): 12 accumulators, 2 B vectors, 1
// broadcast A value (15 of 16 ymm). kInPlace: B read where it lies (rows ldb
// apart, unaligned); else a packed, aligned panel (ldb is NR, a constant here).
// MR = 7 (14 accumulators, 17 registers) needs AVX-512VL's 32 ymm registers:
// compiled for it (ukr_avx512vl below); 49 = 7 x 7 output positions of a 7x7
// plane then fill whole panels (MR = 6 pads them to 54). kHalf: the tile's
// first W columns only (a last panel of at most W columns: N = 196, a 14x14
// plane, ends with 4), half the multiply-adds of a whole panel.
template <class T, bool kInPlace, int MR, bool kHalf = false>
MX_AVX2 MX_ALWAYS_INLINE void ukr_body(int64_t kc, const T* a, const T* b, int64_t ldb, T* c, int64_t ldc,
                               const tile_args<T>& t) {
  using S = avx<T>;
  typename S::V c00 = S::zero(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  typename S::V c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00;
  // C's rows, and the residual's where the epilogue adds one: each row a
  // stream of its own (planes apart in a conv) that the prefetchers do not
  // follow; a short K step (a 64-channel 1x1) otherwise waits on the
  // residual's lines at the store (ResNet's 64 -> 256 at 56x56: 3% faster)
  for (int r = 0; r < MR; r++) {
    _mm_prefetch((const char*)(c + r * ldc), _MM_HINT_T0);
    _mm_prefetch((const char*)(c + r * ldc + 2 * S::W - 1), _MM_HINT_T0);
    if (t.z) {
      _mm_prefetch((const char*)(t.z + r * t.ldz), _MM_HINT_T0);
      _mm_prefetch((const char*)(t.z + r * t.ldz + 2 * S::W - 1), _MM_HINT_T0);
    }
  }
#define MX_ROW(r)                        \
  ar = S::bcast(a + r);                  \
  c##r##0 = S::fmadd(ar, b0, c##r##0);   \
  if constexpr (!kHalf) c##r##1 = S::fmadd(ar, b1, c##r##1);
#pragma GCC unroll 4
  for (int64_t p = 0; p < kc; p++) {
    // B in place (rows far apart: a 1x1 conv's input planes): the next panel's
    // part of this row, whose many interleaved streams the prefetchers miss
    if constexpr (kInPlace) {
      _mm_prefetch((const char*)(b + 2 * S::W), _MM_HINT_T0);
      _mm_prefetch((const char*)(b + 4 * S::W - 1), _MM_HINT_T0);
    }
    const typename S::V b0 = kInPlace ? S::loadu(b) : S::load(b);
    typename S::V b1 = c01;
    if constexpr (!kHalf) b1 = kInPlace ? S::loadu(b + S::W) : S::load(b + S::W);
    typename S::V ar;
    MX_ROW(0) MX_ROW(1) MX_ROW(2) MX_ROW(3) MX_ROW(4) MX_ROW(5)
    if constexpr (MR == 7) {
      MX_ROW(6)
    }
    a += MR;
    b += kInPlace ? ldb : 2 * S::W;
  }
#undef MX_ROW
  store_tile<T>(c, ldc, t, c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51);
  if constexpr (MR == 7) {
    const bool full = t.n == 2 * S::W;
    store_row<T>(6, c60, c61, c, ldc, t, full, S::mask(t.n), S::mask(t.n - S::W));
  }
}
template <class T, bool kInPlace, bool kHalf>
MX_AVX2 void ukr_avx2(int64_t kc, const T* a, const T* b, int64_t ldb, T* c, int64_t ldc, const tile_args<T>& t) {
  ukr_body<T, kInPlace, 6, kHalf>(kc, a, b, ldb, c, ldc, t);
}
template <class T, bool kInPlace, bool kHalf>
__attribute__((target("avx2,fma,avx512f,avx512vl"))) void ukr_avx512vl(int64_t kc, const T* a, const T* b, int64_t ldb,
                                                                       T* c, int64_t ldc, const tile_args<T>& t) {
  ukr_body<T, kInPlace, 7, kHalf>(kc, a, b, ldb, c, ldc, t);
}
#endif

// The micro-kernel for whole panels and the one for a last panel of at most
// NR / 2 columns (the same where there is no such variant).
template <class T> struct ukr_pair {
  ukr_fn<T> full, half;
};

// in_place: B read where it lies (see ukr_body). MR = 7 only where
// gemm_rows7() says so.
template <class T, int MR> ukr_pair<T> pick_ukr(bool in_place) {
  static_assert(cfg<T>::NR * sizeof(T) == 64, "the AVX2 micro-kernel is MR x 2 ymm");
#ifdef MX_GEMM_X86
  if constexpr (MR == 7) {
    if (cpu_has_avx512vl())
      return in_place ? ukr_pair<T>{ukr_avx512vl<T, true, false>, ukr_avx512vl<T, true, true>}
                      : ukr_pair<T>{ukr_avx512vl<T, false, false>, ukr_avx512vl<T, false, true>};
  } else {
    if (cpu_has_avx2_fma())
      return in_place ? ukr_pair<T>{ukr_avx2<T, true, false>, ukr_avx2<T, true, true>}
                      : ukr_pair<T>{ukr_avx2<T, false, false>, ukr_avx2<T, false, true>};
  }
#endif
  return {ukr_generic<T, MR>, ukr_generic<T, MR>};
}

// ---------------------------------------------------------------- packing

#ifdef MX_GEMM_X86
// Six full rows of a row-major float A: each 6 x 8 block is transposed in
// registers (as 8 x 8 with two zero rows) and stored 6 values per column.
MX_AVX2 void pack_a6_rows_avx2(const float* const* rows, int64_t kc, float* dst) {
  const __m256 z = _mm256_setzero_ps();
  int64_t p = 0;
  for (; p + 8 <= kc; p += 8, dst += 48) {
    const __m256 t0 = _mm256_unpacklo_ps(_mm256_loadu_ps(rows[0] + p), _mm256_loadu_ps(rows[1] + p));
    const __m256 t1 = _mm256_unpackhi_ps(_mm256_loadu_ps(rows[0] + p), _mm256_loadu_ps(rows[1] + p));
    const __m256 t2 = _mm256_unpacklo_ps(_mm256_loadu_ps(rows[2] + p), _mm256_loadu_ps(rows[3] + p));
    const __m256 t3 = _mm256_unpackhi_ps(_mm256_loadu_ps(rows[2] + p), _mm256_loadu_ps(rows[3] + p));
    const __m256 t4 = _mm256_unpacklo_ps(_mm256_loadu_ps(rows[4] + p), _mm256_loadu_ps(rows[5] + p));
    const __m256 t5 = _mm256_unpackhi_ps(_mm256_loadu_ps(rows[4] + p), _mm256_loadu_ps(rows[5] + p));
    // s[k]: rows 0-3 of columns k and k+4; u[k]: rows 4-5 (then zeros) of the same.
    const __m256 s[4] = {_mm256_shuffle_ps(t0, t2, 0x44), _mm256_shuffle_ps(t0, t2, 0xEE),
                         _mm256_shuffle_ps(t1, t3, 0x44), _mm256_shuffle_ps(t1, t3, 0xEE)};
    const __m256 u[4] = {_mm256_shuffle_ps(t4, z, 0x44), _mm256_shuffle_ps(t4, z, 0xEE),
                         _mm256_shuffle_ps(t5, z, 0x44), _mm256_shuffle_ps(t5, z, 0xEE)};
    for (int k = 0; k < 4; k++) {
      const __m256 lo = _mm256_permute2f128_ps(s[k], u[k], 0x20), hi = _mm256_permute2f128_ps(s[k], u[k], 0x31);
      _mm_storeu_ps(dst + k * 6, _mm256_castps256_ps128(lo));
      _mm_storel_pi(reinterpret_cast<__m64*>(dst + k * 6 + 4), _mm256_extractf128_ps(lo, 1));
      _mm_storeu_ps(dst + (k + 4) * 6, _mm256_castps256_ps128(hi));
      _mm_storel_pi(reinterpret_cast<__m64*>(dst + (k + 4) * 6 + 4), _mm256_extractf128_ps(hi, 1));
    }
  }
  for (; p < kc; p++, dst += 6)
    for (int r = 0; r < 6; r++) dst[r] = rows[r][p];
}
#endif

#ifdef MX_GEMM_X86
// A transposed float A's MR (<= 8) rows: the MR values of each p are
// contiguous in the source and in the panel, one masked load and store each.
template <int MR>
__attribute__((target("avx2,fma,avx512f,avx512vl"))) void pack_a_cols_avx512vl(const float* src, int64_t cs, int64_t kc,
                                                                                float* dst) {
  static_assert(MR <= 8, "one ymm per p");
  constexpr __mmask8 m = (1u << MR) - 1;
  for (int64_t p = 0; p < kc; p++) _mm256_mask_storeu_ps(dst + p * MR, m, _mm256_maskz_loadu_ps(m, src + p * cs));
}
#endif

// dst: ceil(mc / MR) panels; panel q holds rows i0 + q*MR.. as dst[p * MR + r].
template <class T, int MR>
void pack_a(const mat_view<T>& A, int64_t i0, int64_t mc, int64_t p0, int64_t kc, T* dst) {
  for (int64_t ir = 0; ir < mc; ir += MR, dst += MR * kc) {
    const int m = (int)std::min<int64_t>(MR, mc - ir);
    const T* src = A.data + (i0 + ir) * A.rs + p0 * A.cs;
    if (m == MR && A.cs == 1) {  // row-major A: MR rows walked together
      const T* rows[MR];
      for (int r = 0; r < MR; r++) rows[r] = src + r * A.rs;
#ifdef MX_GEMM_X86
      if constexpr (std::is_same_v<T, float> && MR == 6) {
        if (cpu_has_avx2_fma()) {
          pack_a6_rows_avx2(rows, kc, dst);
          continue;
        }
      }
#endif
      for (int64_t p = 0; p < kc; p++)
        for (int r = 0; r < MR; r++) dst[p * MR + r] = rows[r][p];
    } else if (m == MR && A.rs == 1) {  // transposed A: MR contiguous values per p
#ifdef MX_GEMM_X86
      if constexpr (std::is_same_v<T, float>) {
        if (cpu_has_avx512vl()) {
          pack_a_cols_avx512vl<MR>(src, A.cs, kc, dst);
          continue;
        }
      }
#endif
      for (int64_t p = 0; p < kc; p++)
        for (int r = 0; r < MR; r++) dst[p * MR + r] = src[p * A.cs + r];
    } else {
      for (int64_t p = 0; p < kc; p++)
        for (int r = 0; r < MR; r++) dst[p * MR + r] = r < m ? src[r * A.rs + p * A.cs] : T(0);
    }
  }
}

// dst: ceil(nc / NR) panels, `ps` elements apart; panel q holds columns
// j0 + q*NR.. as dst[p * NR + j].
template <class T>
void pack_b(const mat_view<T>& B, int64_t p0, int64_t kc, int64_t j0, int64_t nc, T* dst, int64_t ps) {
  constexpr int NR = cfg<T>::NR;
  const int64_t full = nc / NR * NR;
  if (B.cs == 1) {  // row-major B: 16 rows at a time, panel after panel (few pages in flight)
    for (int64_t pg = 0; pg < kc; pg += 16) {
      const int64_t np = std::min<int64_t>(16, kc - pg);
      const T* src = B.data + (p0 + pg) * B.rs + j0;
      T* d = dst + pg * NR;
      for (int64_t jr = 0; jr < full; jr += NR, d += ps)
        for (int64_t p = 0; p < np; p++)
          for (int j = 0; j < NR; j++) d[p * NR + j] = src[p * B.rs + jr + j];
      if (full < nc)
        for (int64_t p = 0; p < np; p++)
          for (int j = 0; j < NR; j++) d[p * NR + j] = full + j < nc ? src[p * B.rs + full + j] : T(0);
    }
    return;
  }
  for (int64_t jr = 0; jr < nc; jr += NR, dst += ps) {
    const int n = (int)std::min<int64_t>(NR, nc - jr);
    const T* src = B.data + p0 * B.rs + (j0 + jr) * B.cs;
    if (B.rs == 1) {  // transposed B: read each column contiguously
      for (int j = 0; j < NR; j++) {
        if (j < n) {
          const T* col = src + j * B.cs;
          for (int64_t p = 0; p < kc; p++) dst[p * NR + j] = col[p];
        } else {
          for (int64_t p = 0; p < kc; p++) dst[p * NR + j] = T(0);
        }
      }
    } else {
      for (int64_t p = 0; p < kc; p++)
        for (int j = 0; j < NR; j++) dst[p * NR + j] = j < n ? src[p * B.rs + j * B.cs] : T(0);
    }
  }
}

// B as gemm sees it: a strided matrix, or rows computed on demand.
template <class T> struct b_source {
  mat_view<T> m;
  const b_rows<T>* rows;
  int64_t j_off = 0;  // column 0 is column j_off of rows (m's data moves instead)
  // The same B from column n0 on.
  b_source columns(int64_t n0) const {
    b_source s = *this;
    if (rows) s.j_off += n0;
    else s.m.data += n0 * m.cs;
    return s;
  }
  // Packs rows [p0, p0 + kc) x columns [j0, j0 + nc) into panels; false when out of memory.
  bool pack(int64_t p0, int64_t kc, int64_t j0, int64_t nc, T* dst) const {
    constexpr int NR = cfg<T>::NR;
    if (!rows) {
      pack_b(m, p0, kc, j0, nc, dst, NR * kc);
      return true;
    }
    constexpr int64_t kRows = 16;  // rows per call: the buffer stays in L1/L2
    T* buf = static_cast<T*>(scratch(SCRATCH_GEMM_ROWS, sizeof(T) * kRows * nc));
    if (!buf) return false;
    for (int64_t p = 0; p < kc; p += kRows) {
      const int64_t np = std::min(kRows, kc - p);
      rows->rows(rows->self, p0 + p, np, j0 + j_off, nc, buf);
      pack_b(mat_view<T>{buf, nc, 1}, 0, np, 0, nc, dst + p * NR, NR * kc);
    }
    return true;
  }
};

// ---------------------------------------------------------------- macro-kernel

// The block size for splitting `total` into ceil(total / max) equal blocks,
// rounded up to a multiple of `unit` (no short last block of a few rows).
inline int64_t balanced(int64_t total, int64_t max, int64_t unit) {
  const int64_t blocks = (total + max - 1) / max;
  return ((total + blocks - 1) / blocks + unit - 1) / unit * unit;
}

// C[0:mc, 0:nc] = (packed A block, mc x kc) * (B block, kc x nc) through `step`
// (bias and z at the block's corner), one MR x NR tile at a time. B: packed
// panels (column j's panel at bp + j / NR * NR * kc, rows NR apart), or B
// itself read in place (bp + j, rows ldb apart): `packed` says which.
template <class T, int MR>
void macro_kernel(const ukr_pair<T>& ukr, const T* ap, const T* bp, bool packed, int64_t ldb, int64_t mc, int64_t nc,
                  int64_t kc, const tile_args<T>& step, T* C, int64_t ldc) {
  using c = cfg<T>;
  tile_args<T> t = step;
  for (int64_t jr = 0; jr < nc; jr += c::NR) {
    t.n = (int)std::min<int64_t>(c::NR, nc - jr);
    const ukr_fn<T> f = t.n * 2 <= c::NR ? ukr.half : ukr.full;
    const T* bpanel = packed ? bp + jr * kc : bp + jr;
    for (int64_t ir = 0; ir < mc; ir += MR) {
      t.m = (int)std::min<int64_t>(MR, mc - ir);
      if (step.bias) t.bias = step.bias + ir;
      if (step.z) t.z = step.z + ir * step.ldz + jr;
      f(kc, ap + ir * kc, bpanel, packed ? c::NR : ldb, C + ir * ldc + jr, ldc, t);
    }
  }
}

// The tile_args of one K step (first: pc == 0; last: the product's last) of
// the block of C from (m0, n0).
template <class T>
tile_args<T> step_args(T alpha, T beta, const gemm_post<T>* post, bool first, bool last, int64_t m0, int64_t n0) {
  tile_args<T> t{alpha, first ? beta : T(1), nullptr, nullptr, 0, ACT_NONE, T(0), T(0), 0, 0};
  if (!post) return t;
  if (first && post->bias) t.bias = post->bias + m0;
  if (last) {
    if (post->z) t.z = post->z + m0 * post->ldz + n0, t.ldz = post->ldz;
    t.act = post->act, t.p0 = post->p0, t.p1 = post->p1;
  }
  return t;
}

// ---------------------------------------------------------------- GEMV (M == 1 or N == 1)

// Dot form: y[i * incy] = alpha * <mat[i * ld : +K], x> + beta * y[i * incy], x contiguous.
// Sixteen independent partial sums keep the loop vectorizable without reassociation.
template <class T>
MX_ALWAYS_INLINE void gemv_dot_impl(int64_t i0, int64_t i1, int64_t K, T alpha, const T* mat, int64_t ld,
                                    const T* x, T beta, T* y, int64_t incy) {
  for (int64_t i = i0; i < i1; i++) {
    const T* row = mat + i * ld;
    T acc[16] = {};
    int64_t p = 0;
    for (; p + 16 <= K; p += 16)
      for (int u = 0; u < 16; u++) acc[u] += row[p + u] * x[p + u];
    T s = 0;
    for (; p < K; p++) s += row[p] * x[p];
    for (int u = 0; u < 16; u++) s += acc[u];
    T& d = y[i * incy];
    d = beta == T(0) ? alpha * s : alpha * s + beta * d;
  }
}

// Axpy form: y[j] = alpha * sum_p x[p * incx] * mat[p * ld + j] + beta * y[j] for j in [j0, j1).
template <class T>
MX_ALWAYS_INLINE void gemv_axpy_impl(int64_t j0, int64_t j1, int64_t K, T alpha, const T* mat, int64_t ld,
                                     const T* x, int64_t incx, T beta, T* y) {
  for (int64_t j = j0; j < j1; j++) y[j] = beta == T(0) ? T(0) : beta * y[j];
  int64_t p = 0;
  for (; p + 4 <= K; p += 4) {  // four rows per sweep over y
    const T s0 = alpha * x[p * incx], s1 = alpha * x[(p + 1) * incx];
    const T s2 = alpha * x[(p + 2) * incx], s3 = alpha * x[(p + 3) * incx];
    const T *r0 = mat + p * ld, *r1 = r0 + ld, *r2 = r1 + ld, *r3 = r2 + ld;
    for (int64_t j = j0; j < j1; j++) y[j] += s0 * r0[j] + s1 * r1[j] + s2 * r2[j] + s3 * r3[j];
  }
  for (; p < K; p++) {
    const T s = alpha * x[p * incx];
    const T* r = mat + p * ld;
    for (int64_t j = j0; j < j1; j++) y[j] += s * r[j];
  }
}

template <class T>
void gemv_dot_generic(int64_t i0, int64_t i1, int64_t K, T alpha, const T* mat, int64_t ld, const T* x, T beta,
                      T* y, int64_t incy) {
  gemv_dot_impl(i0, i1, K, alpha, mat, ld, x, beta, y, incy);
}
template <class T>
void gemv_axpy_generic(int64_t j0, int64_t j1, int64_t K, T alpha, const T* mat, int64_t ld, const T* x,
                       int64_t incx, T beta, T* y) {
  gemv_axpy_impl(j0, j1, K, alpha, mat, ld, x, incx, beta, y);
}
#ifdef MX_GEMM_X86
template <class T>
MX_AVX2 void gemv_dot_avx2(int64_t i0, int64_t i1, int64_t K, T alpha, const T* mat, int64_t ld, const T* x,
                           T beta, T* y, int64_t incy) {
  gemv_dot_impl(i0, i1, K, alpha, mat, ld, x, beta, y, incy);
}
template <class T>
MX_AVX2 void gemv_axpy_avx2(int64_t j0, int64_t j1, int64_t K, T alpha, const T* mat, int64_t ld, const T* x,
                            int64_t incx, T beta, T* y) {
  gemv_axpy_impl(j0, j1, K, alpha, mat, ld, x, incx, beta, y);
}
#endif

// Work below this many multiply-adds stays on one thread.
constexpr double kParallelMacs = 1 << 15;

int pool_threads(const mx_pool* pool) { return pool ? std::max(1, pool->num_threads(pool->self)) : 1; }

// Returns false (nothing done) when the operand layout has no GEMV fast path.
template <class T>
bool try_gemv(const mx_pool* pool, int64_t M, int64_t N, int64_t K, T alpha, const mat_view<T>& A,
              const mat_view<T>& B, T beta, T* C, int64_t ldc, bool* ok) {
  bool avx2 = false;
#ifdef MX_GEMM_X86
  avx2 = cpu_has_avx2_fma();
#endif
  // y = x * mat (dot form when mat's columns are contiguous, axpy form when its rows are).
  const bool row = M == 1;
  const int64_t nout = row ? N : M;
  const T* xs = row ? A.data : B.data;
  const int64_t incx = row ? A.cs : B.rs;
  // mat(p, j): for M == 1 it is B; for N == 1 it is A transposed.
  const T* mat = row ? B.data : A.data;
  const int64_t sp = row ? B.rs : A.cs, sj = row ? B.cs : A.rs;  // strides along p and along outputs
  const int64_t incy = row ? 1 : ldc;
  const int64_t grain = std::max<int64_t>(16, (int64_t)(kParallelMacs / std::max<int64_t>(K, 1)));
  if (sp == 1) {  // dot form: output j reads mat + j * sj contiguously
    const T* x = xs;
    if (incx != 1) {
      T* xc = static_cast<T*>(scratch(SCRATCH_GEMM_A, sizeof(T) * K));
      if (!xc) { *ok = false; return true; }
      for (int64_t p = 0; p < K; p++) xc[p] = xs[p * incx];
      x = xc;
    }
    parallel_for(pool, nout, grain, [&](int64_t b, int64_t e) {
#ifdef MX_GEMM_X86
      if (avx2) return gemv_dot_avx2(b, e, K, alpha, mat, sj, x, beta, C, incy);
#endif
      gemv_dot_generic(b, e, K, alpha, mat, sj, x, beta, C, incy);
    });
    return true;
  }
  if (sj == 1 && incy == 1) {  // axpy form: row p of mat is contiguous along the outputs
    parallel_for(pool, nout, std::max<int64_t>(grain, 64), [&](int64_t b, int64_t e) {
#ifdef MX_GEMM_X86
      if (avx2) return gemv_axpy_avx2(b, e, K, alpha, mat, sp, xs, incx, beta, C);
#endif
      gemv_axpy_generic(b, e, K, alpha, mat, sp, xs, incx, beta, C);
    });
    return true;
  }
  (void)avx2;
  return false;
}

// Thin products (N <= kThinN, A's rows contiguous along K): N dot-form GEMVs over
// B's columns, copied once into contiguous vectors. The packed path would pad N
// to a whole panel and pack all of A for a few columns (a strided 1-D conv such
// as an STFT frame: M = 258, K = 256, N = 3).
constexpr int64_t kThinN = 4;

template <class T>
bool gemm_thin(const mx_pool* pool, int64_t M, int64_t N, int64_t K, T alpha, const mat_view<T>& A,
               const b_source<T>& B, T beta, T* C, int64_t ldc) {
  bool avx2 = false;
#ifdef MX_GEMM_X86
  avx2 = cpu_has_avx2_fma();
#endif
  // bt[j * K + p] = B(p, j)
  T* bt = static_cast<T*>(scratch(SCRATCH_GEMM_B, sizeof(T) * (size_t)(N * K + (B.rows ? N * K : 0))));
  if (!bt) return false;
  if (B.rows) {
    T* buf = bt + N * K;  // rows [K, N] as the source gives them
    B.rows->rows(B.rows->self, 0, K, B.j_off, N, buf);
    for (int64_t p = 0; p < K; p++)
      for (int64_t j = 0; j < N; j++) bt[j * K + p] = buf[p * N + j];
  } else {
    for (int64_t j = 0; j < N; j++)
      for (int64_t p = 0; p < K; p++) bt[j * K + p] = B.m.data[p * B.m.rs + j * B.m.cs];
  }
  const int64_t grain = std::max<int64_t>(16, (int64_t)(kParallelMacs / std::max<int64_t>(K * N, 1)));
  parallel_for(pool, M, grain, [&](int64_t b, int64_t e) {
    for (int64_t j = 0; j < N; j++) {
#ifdef MX_GEMM_X86
      if (avx2) { gemv_dot_avx2(b, e, K, alpha, A.data, A.rs, bt + j * K, beta, C + j, ldc); continue; }
#endif
      gemv_dot_generic(b, e, K, alpha, A.data, A.rs, bt + j * K, beta, C + j, ldc);
    }
  });
  (void)avx2;
  return true;
}

// ---------------------------------------------------------------- driver

// C[m0:m1, n0:n1] = bias[i] + beta * C (beta == 0: bias[i] alone).
template <class T>
void fill_bias(int64_t m0, int64_t m1, int64_t n0, int64_t n1, const T* bias, T beta, T* C, int64_t ldc) {
  for (int64_t i = m0; i < m1; i++)
    for (int64_t j = n0; j < n1; j++) C[i * ldc + j] = beta == T(0) ? bias[i] : bias[i] + beta * C[i * ldc + j];
}

// C[m0:m1, n0:n1] on the calling thread, with its own packing buffers. K > 0.
// Where block (rows from m0, a multiple of MR; KC step starting at pc) of a
// prepacked A lies: KC steps one after another, each all row panels.
template <class T, int MR> const T* packed_block(const T* a, int64_t M, int64_t m0, int64_t pc, int64_t kc) {
  return a + (M + MR - 1) / MR * MR * pc + m0 * kc;
}

// Where the panels of a packed B (KC steps one after another, each all column
// panels: the layout gemm_tasks shares and gemm_pack_b makes) from column n0, a
// multiple of NR, lie for the KC step starting at pc.
template <class T> T* packed_b_block(T* b, int64_t N, int64_t n0, int64_t pc, int64_t kc) {
  constexpr int NR = cfg<T>::NR;
  return b + (N + NR - 1) / NR * NR * pc + n0 * kc;
}
template <class T> const T* packed_b_block(const T* b, int64_t N, int64_t n0, int64_t pc, int64_t kc) {
  return packed_b_block(const_cast<T*>(b), N, n0, pc, kc);
}

template <class T, int MR>
bool gemm_rect(const ukr_pair<T>& ukr, int64_t m0, int64_t m1, int64_t n0, int64_t n1, int64_t K, T alpha,
               const mat_view<T>& A, const b_source<T>& B, T beta, T* C, int64_t ldc, const gemm_post<T>* post,
               const T* a_packed = nullptr, int64_t M = 0, const T* b_packed = nullptr, int64_t N = 0,
               bool direct = false) {
  using c = cfg<T>;
  const int64_t KC = balanced(K, c::KC, 1), MC = balanced(m1 - m0, c::MC / MR * MR, MR), NC = balanced(n1 - n0, c::NC, c::NR);
  T* bp = direct ? nullptr : static_cast<T*>(scratch(SCRATCH_GEMM_B, sizeof(T) * KC * NC));
  T* ap = static_cast<T*>(scratch(SCRATCH_GEMM_A, sizeof(T) * KC * MC));
  if (!ap || (!bp && !direct)) return false;
  for (int64_t jc = n0; jc < n1; jc += NC) {
    const int64_t nc = std::min(NC, n1 - jc);
    for (int64_t pc = 0; pc < K; pc += KC) {
      const int64_t kc = std::min(KC, K - pc);
      const T* b = bp;
      if (direct) b = B.m.data + pc * B.m.rs + jc;
      else if (b_packed) b = packed_b_block(b_packed, N, jc, pc, kc);
      else if (!B.pack(pc, kc, jc, nc, bp)) return false;
      for (int64_t ic = m0; ic < m1; ic += MC) {
        const int64_t mc = std::min(MC, m1 - ic);
        const T* a = ap;
        if (a_packed) a = packed_block<T, MR>(a_packed, M, ic, pc, kc);
        else pack_a<T, MR>(A, ic, mc, pc, kc, ap);
        macro_kernel<T, MR>(ukr, a, b, !direct, B.m.rs, mc, nc, kc, step_args(alpha, beta, post, pc == 0, pc + kc >= K, ic, jc),
                     C + ic * ldc + jc, ldc);
      }
    }
  }
  return true;
}

// The threaded product: one parallel_for whose threads take tasks until none
// is left, so a thread that the OS preempts (the machine is often shared) only
// delays the task it holds, never a barrier. A task is an MC-row block times a
// column block of C and loops over K itself, packing its A block per KC step
// into the thread's buffer. Each thread has a home range of columns, the same
// share of N in every product (below): parallel_for's index h is thread h's
// when it is on time, so each thread computes the same part of every product's
// columns (a conv's output positions) and reads activations it wrote itself in
// the layer before; a thread that finished its range takes tasks from the
// others'. B is packed by the thread that computes the column block, into its
// own buffer, once for the block's consecutive row-block tasks: no packed panel
// is written by one core and read by another, and the buffer's lines stay with
// that core from one product to the next (a buffer shared by all threads was
// written by one core's tasks in one layer and another's in the next, and a
// line the other core wrote costs hundreds of nanoseconds when the cores are
// far apart). Only tasks taken from another thread's range pack a block twice.
template <class T, int MR>
bool gemm_tasks(const mx_pool* pool, int nt, int64_t M, int64_t N, int64_t K, T alpha, const mat_view<T>& A,
                const b_source<T>& B, T beta, T* C, int64_t ldc, const gemm_post<T>* post, const T* a_packed,
                const T* b_packed, bool direct, bool by_rows) {
  using c = cfg<T>;
  const int64_t KC = balanced(K, c::KC, 1), MC = balanced(M, c::MC / MR * MR, MR);
  const int64_t R = (M + MC - 1) / MC;
  // Column blocks: enough tasks for ~8 per thread (when the machine is shared,
  // the last task of a preempted thread is the tail the others wait for), at
  // most NC wide, and at least 4 panels wide where A is packed per column block
  // (a prepacked A, a model's weights, costs nothing per block: a conv's few
  // columns, 169 at 13x13, still split into enough tasks).
  const int64_t np = (N + c::NR - 1) / c::NR;
  int64_t Cb = std::max<int64_t>((np * c::NR + c::NC - 1) / c::NC, (8 * nt + R - 1) / R);
  Cb = std::max<int64_t>(1, std::min(Cb, a_packed ? np : np / 4));
  const bool pack = !b_packed && !direct;  // B packed here, per column block
  // A thread's packed block (all of K where row blocks share it) within 64 MiB
  if (pack && R > 1) Cb = std::max<int64_t>(Cb, (int64_t)std::ceil((double)sizeof(T) * np * c::NR * K / double(int64_t(1) << 26)));
  Cb = std::min(Cb, np);
  // Home ranges by columns: thread h's are panels [np * h / nt, np * (h + 1) / nt),
  // the same split for every product with N columns whatever its M and K (a
  // conv's output positions stay with one thread from layer to layer; shares
  // of a column-block-major task list moved with R and Cb: at 14x14 one layer
  // split its 196 columns at 112 and the next at 96 and 128, and those columns'
  // activations crossed between the cores), each cut into Cb / nt blocks.
  // by_rows (where there are row blocks for every thread): thread h's home is
  // row blocks [R * h / nt, R * (h + 1) / nt) of all the columns instead, in
  // blocks of at most NC columns, each packed once by the thread for its rows.
  const int64_t per = std::max<int64_t>(1, (Cb + nt - 1) / nt);
  int64_t NCt = c::NR;  // the widest block, padded
  const int64_t nk = (K + KC - 1) / KC;
  const ukr_pair<T> ukr = pick_ukr<T, MR>(direct);
  std::atomic<bool> ok{true};
  struct alignas(64) home {
    std::atomic<int64_t> next{0};  // tasks: block j of the home times row block r0 + i, j * (r1 - r0) + i
    int64_t end = 0;
    int64_t p0 = 0, p1 = 0, bw = 1;  // the home's panels [p0, p1), bw panels a block
    int64_t r0 = 0, r1 = 0;          // and row blocks [r0, r1)
  };
  std::unique_ptr<home[]> homes(new (std::nothrow) home[nt]);
  if (!homes) return false;
  const bool rows = by_rows && R >= nt;
  for (int h = 0; h < nt; h++) {
    home& hm = homes[h];
    if (rows) {  // all columns, in blocks of at most NC
      const int64_t blocks = (np * c::NR + c::NC - 1) / c::NC;
      hm.p0 = 0, hm.p1 = np, hm.bw = (np + blocks - 1) / blocks;
      hm.r0 = R * h / nt, hm.r1 = R * (h + 1) / nt;
    } else {
      hm.p0 = np * h / nt, hm.p1 = np * (h + 1) / nt;
      hm.bw = std::max<int64_t>(1, (hm.p1 - hm.p0 + per - 1) / per);
      hm.r0 = 0, hm.r1 = R;
    }
    hm.end = (hm.p1 - hm.p0 + hm.bw - 1) / hm.bw * (hm.r1 - hm.r0);
    NCt = std::max(NCt, hm.bw * c::NR);
  }
  parallel_for(pool, nt, 1, [&](int64_t h0, int64_t) {
    T* ap = static_cast<T*>(scratch(SCRATCH_GEMM_A, sizeof(T) * KC * MC));
    // the column block this thread packed last, all its KC steps (one step when
    // no other task shares it)
    T* bp = pack ? static_cast<T*>(scratch(SCRATCH_GEMM_B, sizeof(T) * (R > 1 ? K : KC) * NCt)) : nullptr;
    if (!ap || (pack && !bp)) { ok = false; return; }
    int64_t packed = -1;
    for (int64_t s = 0, t; s < nt; s++) {
      const int64_t hh = (h0 + s) % nt;
      home& hm = homes[hh];
      while ((t = hm.next.fetch_add(1, std::memory_order_relaxed)) < hm.end && ok.load(std::memory_order_relaxed)) {
        const int64_t j = t / (hm.r1 - hm.r0), i = hm.r0 + t % (hm.r1 - hm.r0);
        const int64_t n0 = (hm.p0 + j * hm.bw) * c::NR, nc = std::min(N, std::min(hm.p1, hm.p0 + (j + 1) * hm.bw) * c::NR) - n0;
        const int64_t m0 = i * MC, mc = std::min(MC, M - m0);
        const int64_t blk = hh * np + j;  // unique among all homes' blocks
        const bool fresh = pack && blk != packed;
        packed = pack ? blk : -1;
        for (int64_t k = 0; k < nk; k++) {
          const int64_t pc = k * KC, kc = std::min(KC, K - pc);
          const T* bblk = direct ? B.m.data + pc * B.m.rs + n0 : nullptr;
          if (b_packed) bblk = packed_b_block(b_packed, N, n0, pc, kc);
          if (pack) {
            T* dst = bp + (R > 1 ? pc * NCt : 0);
            if (fresh && !B.pack(pc, kc, n0, nc, dst)) {
              ok = false;
              return;
            }
            bblk = dst;
          }
          const T* a = ap;
          if (a_packed) a = packed_block<T, MR>(a_packed, M, m0, pc, kc);
          else pack_a<T, MR>(A, m0, mc, pc, kc, ap);
          macro_kernel<T, MR>(ukr, a, bblk, !direct, B.m.rs, mc, nc, kc, step_args(alpha, beta, post, k == 0, k == nk - 1, m0, n0),
                              C + m0 * ldc + n0, ldc);
        }
      }
    }
  });
  return ok;
}

// z and act of `post` over C in a pass of its own (the GEMV, thin and K == 0
// paths, which store C without the micro-kernel).
template <class T> void post_pass(int64_t M, int64_t N, T* C, int64_t ldc, const gemm_post<T>& post) {
  if (!post.z && post.act == ACT_NONE) return;
  for (int64_t i = 0; i < M; i++) apply_act(post, C + i * ldc, post.z ? post.z + i * post.ldz : nullptr, N);
}

template <class T, int MR>
bool gemm_blocked(const mx_pool* pool, int64_t M, int64_t N, int64_t K, T alpha, const mat_view<T>& A,
                  const b_source<T>& B, T beta, T* C, int64_t ldc, gemm_post<T> post, const T* a_packed,
                  const T* b_packed, bool direct, bool by_rows);

template <class T>
bool gemm_impl(const mx_pool* pool, int64_t M, int64_t N, int64_t K, T alpha, const mat_view<T>& A,
               const b_source<T>& B, T beta, T* C, int64_t ldc, const gemm_post<T>* post_in,
               const T* a_packed = nullptr, const T* b_packed = nullptr, int mr = cfg<T>::MR, bool by_rows = false) {
  using c = cfg<T>;
  if (M <= 0 || N <= 0) return true;
  const auto blocked = mr == 7 ? gemm_blocked<T, 7> : gemm_blocked<T, 6>;  // a_packed's rows per panel
  gemm_post<T> post = post_in ? *post_in : gemm_post<T>{};
  const bool gemv = (M == 1 || N == 1) && !B.rows;
  const bool thin = N <= kThinN && M > 1 && A.cs == 1;  // the views stay valid beside packed copies
  if (post.bias && (K <= 0 || gemv || thin)) {  // paths without the micro-kernel's stores
    fill_bias(0, M, 0, N, post.bias, beta, C, ldc);
    beta = T(1);
    post.bias = nullptr;
  }
  if (K <= 0) {
    for (int64_t i = 0; i < M; i++)
      for (int64_t j = 0; j < N; j++) C[i * ldc + j] = beta == T(0) ? T(0) : beta * C[i * ldc + j];
    post_pass(M, N, C, ldc, post);
    return true;
  }
  bool side_ok = true;
  const bool side = (gemv && try_gemv(pool, M, N, K, alpha, A, B.m, beta, C, ldc, &side_ok)) ||
                    (thin && ((side_ok = gemm_thin(pool, M, N, K, alpha, A, B, beta, C, ldc)), true));
  if (side) {
    if (side_ok) post_pass(M, N, C, ldc, post);
    return side_ok;
  }

  // Few rows (a 1x1 convolution to few channels): each B panel would serve at
  // most kDirectRows / MR tiles, so packing B costs as much as the product; the
  // micro-kernel reads row-major B in place instead, whole panels only (the last
  // N % NR columns go packed, so no load reads past B).
  constexpr int64_t kDirectRows = 18;
  const bool direct = !B.rows && !b_packed && B.m.cs == 1 && M <= kDirectRows && N >= c::NR;
  if (direct && N % c::NR) {
    const int64_t n16 = N / c::NR * c::NR;
    gemm_post<T> tail = post;
    if (tail.z) tail.z += n16;
    if (!blocked(pool, M, N - n16, K, alpha, A, B.columns(n16), beta, C + n16, ldc, tail, a_packed, nullptr, false, by_rows))
      return false;
    N = n16;
  }
  return blocked(pool, M, N, K, alpha, A, B, beta, C, ldc, post, a_packed, b_packed, direct, by_rows);
}

// The packed product (no GEMV or thin path): threaded by tasks, or blocks of C
// one after another on one thread.
template <class T, int MR>
bool gemm_blocked(const mx_pool* pool, int64_t M, int64_t N, int64_t K, T alpha, const mat_view<T>& A,
                  const b_source<T>& B, T beta, T* C, int64_t ldc, gemm_post<T> post, const T* a_packed,
                  const T* b_packed, bool direct, bool by_rows) {
  const int nt = (double)M * N * K < 64.0 * kParallelMacs ? 1 : pool_threads(pool);
  if (nt > 1) return gemm_tasks<T, MR>(pool, nt, M, N, K, alpha, A, B, beta, C, ldc, &post, a_packed, b_packed, direct, by_rows);
  // One thread: blocks of C one after another.
  return gemm_rect<T, MR>(pick_ukr<T, MR>(direct), 0, M, 0, N, K, alpha, A, B, beta, C, ldc, &post, a_packed, M, b_packed, N, direct);
}

}  // namespace

bool gemm(const mx_pool* pool, int64_t M, int64_t N, int64_t K, float alpha, mat_view<float> A, mat_view<float> B,
          float beta, float* C, int64_t ldc, const gemm_post<float>* post, const float* a_packed,
          const float* b_packed, int mr, bool by_rows) {
  return gemm_impl(pool, M, N, K, alpha, A, b_source<float>{B, nullptr}, beta, C, ldc, post, a_packed, b_packed, mr, by_rows);
}

int64_t gemm_packed_b_size(int64_t K, int64_t N) {
  constexpr int NR = cfg<float>::NR;
  return (N + NR - 1) / NR * NR * K;
}
void gemm_pack_b(const mx_pool* pool, int64_t K, int64_t N, mat_view<float> B, float* dst) {
  constexpr int NR = cfg<float>::NR;
  const int64_t KC = balanced(K, cfg<float>::KC, 1), panels = (N + NR - 1) / NR;
  for (int64_t pc = 0; pc < K; pc += KC) {
    const int64_t kc = std::min(KC, K - pc);
    parallel_for(pool, panels, 8, [&](int64_t q0, int64_t q1) {
      pack_b(B, pc, kc, q0 * NR, std::min(N, q1 * NR) - q0 * NR, packed_b_block(dst, N, q0 * NR, pc, kc), NR * kc);
    });
  }
}
bool gemm(const mx_pool* pool, int64_t M, int64_t N, int64_t K, double alpha, mat_view<double> A,
          mat_view<double> B, double beta, double* C, int64_t ldc, const gemm_post<double>* post) {
  return gemm_impl(pool, M, N, K, alpha, A, b_source<double>{B, nullptr}, beta, C, ldc, post);
}
bool gemm(const mx_pool* pool, int64_t M, int64_t N, int64_t K, float alpha, mat_view<float> A,
          const b_rows<float>& B, float beta, float* C, int64_t ldc, const gemm_post<float>* post,
          const float* a_packed) {
  return gemm_impl(pool, M, N, K, alpha, A, b_source<float>{{}, &B}, beta, C, ldc, post, a_packed);
}

bool gemm_packed_columns(int64_t M, int64_t N, int64_t K, int64_t n0, int64_t n1, const float* a_packed,
                         const float* b_packed, float* C, int64_t ldc, int mr) {
  if (M <= 0 || n1 <= n0 || K <= 0) return true;
  const mat_view<float> none{nullptr, 1, 1};
  const b_source<float> B{none, nullptr};
  if (mr == 7)
    return gemm_rect<float, 7>(pick_ukr<float, 7>(false), 0, M, n0, n1, K, 1.0f, none, B, 0.0f, C, ldc, nullptr,
                               a_packed, M, b_packed, N);
  return gemm_rect<float, 6>(pick_ukr<float, 6>(false), 0, M, n0, n1, K, 1.0f, none, B, 0.0f, C, ldc, nullptr,
                             a_packed, M, b_packed, N);
}
int64_t gemm_packed_a_size(int64_t M, int64_t K, int mr) { return (M + mr - 1) / mr * mr * K; }
int64_t gemm_packed_a_kc(int64_t K) { return balanced(K, cfg<float>::KC, 1); }
namespace {
template <int MR> void pack_a_all(const mx_pool* pool, int64_t M, int64_t K, const mat_view<float>& A, float* dst) {
  const int64_t KC = balanced(K, cfg<float>::KC, 1), panels = (M + MR - 1) / MR;
  for (int64_t pc = 0; pc < K; pc += KC) {
    const int64_t kc = std::min(KC, K - pc);
    parallel_for(pool, panels, 16, [&](int64_t q0, int64_t q1) {
      pack_a<float, MR>(A, q0 * MR, std::min(M, q1 * MR) - q0 * MR, pc, kc, dst + (M + MR - 1) / MR * MR * pc + q0 * MR * kc);
    });
  }
}
// A(i, k) = row k of `src` at column i: each thread makes a few rows (taps of
// an im2col) into its buffer and spreads them over the panels.
template <int MR> bool pack_a_rows(const mx_pool* pool, int64_t M, int64_t K, const b_rows<float>& src, float* dst) {
  const int64_t KC = balanced(K, cfg<float>::KC, 1), Mp = (M + MR - 1) / MR * MR;
  constexpr int64_t kRows = 8;
  std::atomic<bool> ok{true};
  parallel_for(pool, (K + kRows - 1) / kRows, std::max<int64_t>(1, 2048 / (kRows * M)), [&](int64_t c0, int64_t c1) {
    float* buf = static_cast<float*>(scratch(SCRATCH_GEMM_ROWS, sizeof(float) * kRows * M));
    if (!buf) { ok = false; return; }
    for (int64_t k0 = c0 * kRows; k0 < std::min(K, c1 * kRows); k0 += kRows) {
      const int64_t n = std::min(kRows, K - k0);
      src.rows(src.self, k0, n, 0, M, buf);
      for (int64_t i = 0; i < n; i++) {
        const int64_t k = k0 + i, pc = k / KC * KC, kc = std::min(KC, K - pc);
        const float* row = buf + i * M;
        float* d = dst + Mp * pc + (k - pc) * MR;
        for (int64_t q = 0; q < Mp; q += MR, d += MR * kc)
          for (int r = 0; r < MR; r++) d[r] = q + r < M ? row[q + r] : 0.0f;
      }
    }
  });
  return ok;
}
}  // namespace
void gemm_pack_a(const mx_pool* pool, int64_t M, int64_t K, mat_view<float> A, float* dst, int mr) {
  if (mr == 7) pack_a_all<7>(pool, M, K, A, dst);
  else pack_a_all<6>(pool, M, K, A, dst);
}
bool gemm_pack_a_rows(const mx_pool* pool, int64_t M, int64_t K, const b_rows<float>& src, float* dst, int mr) {
  return mr == 7 ? pack_a_rows<7>(pool, M, K, src, dst) : pack_a_rows<6>(pool, M, K, src, dst);
}
bool gemm_rows7() {
#ifdef MX_GEMM_X86
  return cpu_has_avx512vl();
#else
  return false;
#endif
}
bool gemm(const mx_pool* pool, int64_t M, int64_t N, int64_t K, double alpha, mat_view<double> A,
          const b_rows<double>& B, double beta, double* C, int64_t ldc, const gemm_post<double>* post) {
  return gemm_impl(pool, M, N, K, alpha, A, b_source<double>{{}, &B}, beta, C, ldc, post);
}

// ---------------------------------------------------------------- constant-derived data

float* const_cache(uint64_t id, const void* addr, int what, int64_t d0, int64_t d1, size_t floats, bool* fresh) {
  struct key {
    uint64_t id;
    uintptr_t addr;
    int what;
    int64_t d0, d1;
    size_t floats;
    bool operator<(const key& o) const {
      return std::tie(id, addr, what, d0, d1, floats) < std::tie(o.id, o.addr, o.what, o.d0, o.d1, o.floats);
    }
  };
  struct freer {
    void operator()(float* p) const { std::free(p); }
  };
  struct entry {
    std::unique_ptr<float, freer> data;
    size_t bytes;
    std::list<key>::iterator use;  // its place in `recent`
  };
  static const size_t limit = [] {
    const char* v = std::getenv("MX_CPU_CONST_CACHE_MB");
    const long mb = v ? std::strtol(v, nullptr, 10) : 0;
    return (size_t)(mb > 0 ? mb : 2048) << 20;
  }();
  thread_local std::map<key, entry> cache;
  thread_local std::list<key> recent;  // most recently used first
  thread_local size_t bytes = 0;
  *fresh = false;
  const key k{id, (uintptr_t)addr, what, d0, d1, floats};
  auto it = cache.find(k);
  if (it != cache.end()) {
    recent.splice(recent.begin(), recent, it->second.use);
    return it->second.data.get();
  }
  const size_t size = (floats * sizeof(float) + 63) & ~size_t(63);
  if (size > limit) return nullptr;
  while (bytes + size > limit && !recent.empty()) {  // evict the least recently used
    auto old = cache.find(recent.back());
    bytes -= old->second.bytes;
    cache.erase(old);
    recent.pop_back();
  }
  float* p = static_cast<float*>(std::aligned_alloc(64, size));
  if (!p) return nullptr;
  std::unique_ptr<float, freer> owned(p);  // freed exactly once whichever step throws
  try {
    recent.push_front(k);
  } catch (...) {
    return nullptr;
  }
  try {
    cache.emplace(k, entry{std::move(owned), size, recent.begin()});
  } catch (...) {
    recent.pop_front();
    return nullptr;
  }
  bytes += size;
  *fresh = true;
  return p;
}

// ---------------------------------------------------------------- 16-bit floats via float32

int run_widened(mx_kernel_ctx* ctx, mx_kernel_fn f32_kernel) {
  const auto is16 = [](const mx_tensor& t) { return t.data && (t.dtype == MX_FLOAT16 || t.dtype == MX_BFLOAT16); };
  const auto padded = [](int64_t n) { return (size_t)((n * 4 + 63) & ~int64_t(63)); };
  size_t total = 0;
  for (int i = 0; i < ctx->num_inputs; i++)
    if (is16(ctx->inputs[i])) total += padded(numel(ctx->inputs[i]));
  for (int i = 0; i < ctx->num_outputs; i++)
    if (is16(ctx->outputs[i])) total += padded(numel(ctx->outputs[i]));
  constexpr int kMax = 8;
  if (ctx->num_inputs > kMax || ctx->num_outputs > kMax)
    return mx_fail(ctx, MX_ERR_INTERNAL, "run_widened: more than %d inputs or outputs", kMax);
  char* buf = static_cast<char*>(scratch(SCRATCH_WIDEN, total));
  if (!buf) return mx_fail(ctx, MX_ERR_OOM, "out of host memory widening 16-bit floats (%zu bytes)", total);
  mx_tensor ins[kMax], outs[kMax];
  std::copy(ctx->inputs, ctx->inputs + ctx->num_inputs, ins);
  std::copy(ctx->outputs, ctx->outputs + ctx->num_outputs, outs);
  const auto convert = [&](const mx_tensor& from, float* dst, bool widen) {
    const bool half = from.dtype == MX_FLOAT16;
    uint16_t* raw = static_cast<uint16_t*>(from.data);
    parallel_for(ctx->pool, numel(from), 1 << 15, [&](int64_t b, int64_t e) {
      if (widen)
        for (int64_t k = b; k < e; k++) dst[k] = half ? f16_to_f32(raw[k]) : bf16_to_f32(raw[k]);
      else
        for (int64_t k = b; k < e; k++) raw[k] = half ? f32_to_f16(dst[k]) : f32_to_bf16(dst[k]);
    });
  };
  for (int i = 0; i < ctx->num_inputs; i++)
    if (mx_tensor& t = ins[i]; is16(t)) {
      float* dst = reinterpret_cast<float*>(buf);
      convert(t, dst, true);
      buf += padded(numel(t));
      t.data = dst;
      t.dtype = MX_FLOAT32;
    }
  for (int i = 0; i < ctx->num_outputs; i++)
    if (mx_tensor& t = outs[i]; is16(t)) {
      t.data = buf;
      t.dtype = MX_FLOAT32;
      buf += padded(numel(t));
    }
  mx_kernel_ctx wide = *ctx;
  wide.inputs = ins;
  wide.outputs = outs;
  const int status = f32_kernel(&wide);
  if (status != MX_OK) return status;
  for (int i = 0; i < ctx->num_outputs; i++)
    if (is16(ctx->outputs[i])) convert(ctx->outputs[i], static_cast<float*>(outs[i].data), false);
  return MX_OK;
}

}  // namespace mxcpu
