// Transpose: Y[i_0, ..., i_{n-1}] = X[j] with j[perm[d]] = i_d.
// Core guarantees `perm` is explicit, a permutation of [0, rank), and Y has the
// permuted shape. Also home of strided_copy, the copy engine that Slice,
// Expand and Tile describe themselves to.
#include "movement.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace mxcpu::movement {
namespace {

// Transposes an M x M block: d[i*db + j] = s[j*sa + i]. The SSE2 versions (part
// of every x86-64) shuffle whole rows in registers; elsewhere a plain loop.
template <class U> struct block {
  static constexpr int M = 4;
  static void run(U* d, int64_t db, const U* s, int64_t sa) {
    for (int i = 0; i < M; i++)
      for (int j = 0; j < M; j++) d[i * db + j] = s[j * sa + i];
  }
};
#if defined(__SSE2__)
template <> struct block<uint32_t> {
  static constexpr int M = 4;
  static void run(uint32_t* d, int64_t db, const uint32_t* s, int64_t sa) {
    __m128 r0 = _mm_loadu_ps(reinterpret_cast<const float*>(s)), r1 = _mm_loadu_ps(reinterpret_cast<const float*>(s + sa));
    __m128 r2 = _mm_loadu_ps(reinterpret_cast<const float*>(s + 2 * sa)), r3 = _mm_loadu_ps(reinterpret_cast<const float*>(s + 3 * sa));
    _MM_TRANSPOSE4_PS(r0, r1, r2, r3);  // shuffles only: every bit pattern survives
    _mm_storeu_ps(reinterpret_cast<float*>(d), r0);
    _mm_storeu_ps(reinterpret_cast<float*>(d + db), r1);
    _mm_storeu_ps(reinterpret_cast<float*>(d + 2 * db), r2);
    _mm_storeu_ps(reinterpret_cast<float*>(d + 3 * db), r3);
  }
};
template <> struct block<uint64_t> {
  static constexpr int M = 2;
  static void run(uint64_t* d, int64_t db, const uint64_t* s, int64_t sa) {
    const __m128i r0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s));
    const __m128i r1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + sa));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(d), _mm_unpacklo_epi64(r0, r1));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(d + db), _mm_unpackhi_epi64(r0, r1));
  }
};
template <> struct block<uint16_t> {
  static constexpr int M = 8;
  static void run(uint16_t* d, int64_t db, const uint16_t* s, int64_t sa) {
    __m128i r[8], a[8], b[8];
    for (int i = 0; i < 8; i++) r[i] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i * sa));
    for (int i = 0; i < 4; i++) {  // pairs of rows, interleaved by element
      a[2 * i] = _mm_unpacklo_epi16(r[2 * i], r[2 * i + 1]);
      a[2 * i + 1] = _mm_unpackhi_epi16(r[2 * i], r[2 * i + 1]);
    }
    for (int h = 0; h < 2; h++)  // quads of rows (0-3, 4-7): two columns per register
      for (int i = 0; i < 2; i++) {
        b[4 * h + 2 * i] = _mm_unpacklo_epi32(a[4 * h + i], a[4 * h + i + 2]);
        b[4 * h + 2 * i + 1] = _mm_unpackhi_epi32(a[4 * h + i], a[4 * h + i + 2]);
      }
    for (int c = 0; c < 4; c++) {  // join the quads: one column per register
      _mm_storeu_si128(reinterpret_cast<__m128i*>(d + 2 * c * db), _mm_unpacklo_epi64(b[c], b[c + 4]));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(d + (2 * c + 1) * db), _mm_unpackhi_epi64(b[c], b[c + 4]));
    }
  }
};
template <> struct block<uint8_t> {
  static constexpr int M = 8;
  static void run(uint8_t* d, int64_t db, const uint8_t* s, int64_t sa) {
    __m128i r[8], a[4], b[4];
    for (int i = 0; i < 8; i++) r[i] = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(s + i * sa));
    for (int i = 0; i < 4; i++) a[i] = _mm_unpacklo_epi8(r[2 * i], r[2 * i + 1]);
    for (int h = 0; h < 2; h++) {
      b[2 * h] = _mm_unpacklo_epi16(a[2 * h], a[2 * h + 1]);      // columns 0-3 of 4 rows
      b[2 * h + 1] = _mm_unpackhi_epi16(a[2 * h], a[2 * h + 1]);  // columns 4-7
    }
    for (int c = 0; c < 2; c++) {
      const __m128i lo = _mm_unpacklo_epi32(b[c], b[c + 2]), hi = _mm_unpackhi_epi32(b[c], b[c + 2]);
      uint8_t* dp = d + 4 * c * db;  // columns 4c .. 4c+3
      _mm_storel_epi64(reinterpret_cast<__m128i*>(dp), lo);
      _mm_storel_epi64(reinterpret_cast<__m128i*>(dp + db), _mm_unpackhi_epi64(lo, lo));
      _mm_storel_epi64(reinterpret_cast<__m128i*>(dp + 2 * db), hi);
      _mm_storel_epi64(reinterpret_cast<__m128i*>(dp + 3 * db), _mm_unpackhi_epi64(hi, hi));
    }
  }
};
#endif

// Rows [k0, k1) of a 2-D transpose: d[kb*db + ia] = s[ia*sa + kb] for ia < na,
// in square tiles one cache line wide, so every line read or written is used
// whole while it sits in L1. (Arguments by value: the stores may alias.)
template <class U>
void transpose_band(U* d, int64_t db, const U* s, int64_t sa, int64_t k0, int64_t k1, int64_t na) {
  constexpr int64_t L = 64 / sizeof(U), M = block<U>::M;
  for (int64_t a0 = 0; a0 < na; a0 += L) {
    const int64_t a1 = std::min(na, a0 + L);
    if (k1 - k0 == L && a1 - a0 == L) {
      for (int64_t ia = a0; ia < a1; ia += M)
        for (int64_t kb = k0; kb < k1; kb += M) block<U>::run(d + kb * db + ia, db, s + ia * sa + kb, sa);
      continue;
    }
    for (int64_t kb = k0; kb < k1; kb++)
      for (int64_t ia = a0; ia < a1; ia++) d[kb * db + ia] = s[ia * sa + kb];
  }
}

// Dst is dense in v's order. The innermost dim `a` has a source stride other than
// 0 or 1, and dim k has source stride 1: each (k, a) plane is a 2-D transpose.
template <class U>
void copy_tiled(U* dst, const U* src, const strided& v, int k, const mx_pool* pool) {
  const int last = v.ndim - 1;
  const int64_t na = v.shape[last], sa = v.stride[last], nb = v.shape[k];
  int64_t dstride[2 * MX_MAX_DIMS];
  for (int64_t d = last, s = 1; d >= 0; d--) { dstride[d] = s; s *= v.shape[d]; }
  const int64_t db = dstride[k];
  // The other dims, walked as the outer loop.
  int outer_dims[2 * MX_MAX_DIMS], no = 0;
  int64_t outer = 1;
  for (int d = 0; d < last; d++)
    if (d != k) { outer_dims[no++] = d; outer *= v.shape[d]; }
  constexpr int64_t L = 64 / sizeof(U);
  const int64_t nblk = (nb + L - 1) / L;
  // One item: a band of L rows of one plane.
  par_items(pool, outer * nblk, L * na, [&](int64_t b, int64_t e) {
    for (int64_t item = b; item < e; item++) {
      int64_t o = item / nblk, blk = item % nblk, soff = v.offset, doff = 0;
      for (int q = no - 1; q >= 0; q--) {
        int d = outer_dims[q];
        int64_t i = o % v.shape[d];
        o /= v.shape[d];
        soff += i * v.stride[d];
        doff += i * dstride[d];
      }
      transpose_band(dst + doff, db, src + soff, sa, blk * L, std::min(nb, blk * L + L), na);
    }
  });
}

// Elements [b, e) of dst, dense in v's order, walked as rows of the innermost
// dim. (v by value: the stores may alias anything else.)
template <class U>
void copy_range(U* dst, const U* src, const strided v, int64_t b, int64_t e) {
  const int last = v.ndim - 1;
  const int64_t inner = v.shape[last], is = v.stride[last];
  int64_t idx[2 * MX_MAX_DIMS], r = b / inner, j = b % inner, off = v.offset;
  for (int d = last - 1; d >= 0; d--) {
    idx[d] = r % v.shape[d];
    r /= v.shape[d];
    off += idx[d] * v.stride[d];
  }
  while (b < e) {
    const int64_t len = std::min(inner - j, e - b);
    const U* sp = src + off + j * is;
    U* dp = dst + b;
    if (is == 1) copy_run(dp, sp, len);
    else if (is == 0) std::fill(dp, dp + len, *sp);
    else for (int64_t t = 0; t < len; t++) dp[t] = sp[t * is];
    b += len;
    j = 0;
    for (int d = last - 1; d >= 0; d--) {  // next row
      off += v.stride[d];
      if (++idx[d] < v.shape[d]) break;
      off -= v.stride[d] * v.shape[d];
      idx[d] = 0;
    }
  }
}

}  // namespace

void strided_copy(void* dst, const void* src, const strided& in, int esize, const mx_pool* pool) {
  int64_t n = 1;
  for (int d = 0; d < in.ndim; d++) n *= in.shape[d];
  if (n == 0) return;
  // Drop unit dims and merge dim d into its left neighbour when stepping the
  // neighbour once equals stepping d through its whole extent.
  strided v;
  v.offset = in.offset;
  for (int d = 0; d < in.ndim; d++) {
    if (in.shape[d] == 1) continue;
    if (v.ndim > 0 && v.stride[v.ndim - 1] == in.stride[d] * in.shape[d]) {
      v.shape[v.ndim - 1] *= in.shape[d];
      v.stride[v.ndim - 1] = in.stride[d];
    } else {
      v.push(in.shape[d], in.stride[d]);
    }
  }
  if (v.ndim == 0) v.push(1, 1);
  const int last = v.ndim - 1;
  int k = -1;  // a dim with unit source stride, when the innermost has none
  if (v.stride[last] != 1 && v.stride[last] != 0)
    for (int d = 0; d < last; d++)
      if (v.stride[d] == 1) k = d;
  by_size(esize, [&](auto z) {
    using U = decltype(z);
    U* d = static_cast<U*>(dst);
    const U* s = static_cast<const U*>(src);
    if (k >= 0) copy_tiled<U>(d, s, v, k, pool);
    else par_items(pool, n, 1, [&](int64_t b, int64_t e) { copy_range(d, s, v, b, e); });
  });
}

namespace {

int transpose(mx_kernel_ctx* ctx) {
  const mx_tensor& x = ctx->inputs[0];
  const mx_tensor& y = ctx->outputs[0];
  const int64_t* perm;
  int32_t np = mx_attr_ints(ctx->attrs, "perm", &perm);
  if (np != x.ndim) return mx_fail(ctx, MX_ERR_INVALID, "Transpose: perm has %d entries for rank %d", np, x.ndim);
  int64_t xs[MX_MAX_DIMS];
  dense_strides(x, xs);
  strided v;
  for (int d = 0; d < y.ndim; d++) {
    if (perm[d] < 0 || perm[d] >= x.ndim)
      return mx_fail(ctx, MX_ERR_INVALID, "Transpose: perm[%d] = %lld is out of range for rank %d", d, (long long)perm[d], x.ndim);
    v.push(y.shape[d], xs[perm[d]]);
  }
  strided_copy(y.data, x.data, v, elem_size(x.dtype), ctx->pool);
  return MX_OK;
}

}  // namespace
}  // namespace mxcpu::movement

MX_KERNEL_EVERY_DTYPE("Transpose", "", mxcpu::movement::transpose);
