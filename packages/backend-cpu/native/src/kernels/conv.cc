// Conv: Y[n, m, o..] = B[m] + sum_{c, t..} X[n, g*Cg + c, o*stride - pad_begin + t*dilation] * W[m, c, t..]
// over the channels c of m's group g (Cg = C / group); taps in the padding read 0.
// Core resolved auto_pad: kernel_shape, strides, dilations and pads (begins, then
// ends) are explicit, and Y arrives with its final shape. 1 to 3 spatial dims.
//
// Per image and group this is one GEMM: W_g [Mg, Cg*k] x col [Cg*k, out plane].
// For a 1x1, stride-1, unpadded kernel col is X_g itself; otherwise col is the
// im2col matrix, which the GEMM asks for a few rows at a time while packing, so
// it is never stored whole; the GEMM adds the bias. A constant W (a model's
// initializer) is packed for the GEMM once and kept (packed_weights). Groups of one input channel
// (depthwise) skip the GEMM: each output plane starts as the bias and
// accumulates tap by tap. float32 3x3 stride-1 convolutions with enough channels
// and tiles take Winograd F(4x4, 3x3) (conv_winograd.cc: 4x fewer multiply-adds,
// errors ~1e-5 of the output's scale), small planes with constant W F(2x2, 3x3).
#include <algorithm>
#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#endif
#include <atomic>
#include <type_traits>

#include <string>

#include "conv_winograd.h"
#include "gemm.h"
#include "gemm_tile.h"

namespace mxcpu {
namespace {

// Work below this many multiply-adds per image and group runs whole units in
// parallel (serial GEMMs) instead of threading inside each GEMM.
constexpr int64_t kSmallMacs = int64_t(1) << 22;

// Window geometry with the spatial dims padded to 3 (leading unit dims).
struct conv_geom {
  int64_t in[3], out[3], k[3], s[3], d[3], p[3];
  int64_t in_plane, out_plane, taps;
  bool direct;  // 1x1, stride 1, no padding: X_g is the col matrix
};

bool geometry(const mx_kernel_ctx* ctx, conv_geom* g) {
  const mx_tensor &X = ctx->inputs[0], &W = ctx->inputs[1], &Y = ctx->outputs[0];
  const int n = X.ndim - 2;
  if (n < 1 || n > 3) return false;
  const int64_t *strides, *dil, *pads;
  const bool have = mx_attr_ints(ctx->attrs, "strides", &strides) == n && mx_attr_ints(ctx->attrs, "dilations", &dil) == n &&
                    mx_attr_ints(ctx->attrs, "pads", &pads) == 2 * n;
  g->in_plane = g->out_plane = g->taps = 1;
  g->direct = true;
  for (int a = 0; a < 3; a++) {
    const int i = a - (3 - n);  // spatial axis, < 0 for the padded leading dims
    g->in[a] = i < 0 ? 1 : X.shape[2 + i];
    g->out[a] = i < 0 ? 1 : Y.shape[2 + i];
    g->k[a] = i < 0 ? 1 : W.shape[2 + i];
    g->s[a] = i < 0 || !have ? 1 : strides[i];
    g->d[a] = i < 0 || !have ? 1 : dil[i];
    g->p[a] = i < 0 || !have ? 0 : pads[i];
    g->in_plane *= g->in[a];
    g->out_plane *= g->out[a];
    g->taps *= g->k[a];
    if (g->k[a] != 1 || g->s[a] != 1 || g->p[a] != 0 || (i >= 0 && have && pads[i + n] != 0)) g->direct = false;
  }
  return true;
}

// Output positions o in [0, out) whose input position o * s + off lies in [0, in).
inline void valid_range(int64_t off, int64_t s, int64_t in, int64_t out, int64_t* lo, int64_t* hi) {
  const int64_t l = off >= 0 ? 0 : s == 1 ? -off : (-off + s - 1) / s;
  const int64_t h = in - off <= 0 ? 0 : s == 1 ? in - off : (in - off + s - 1) / s;
  *lo = std::min(l, out);
  *hi = std::max(*lo, std::min(h, out));
}

// d[o] = src[o * s] for o < n. Forced inline, so that the AVX2 clones of its
// callers vectorize it (stride 2 as loads and permutes).
template <class T> inline __attribute__((always_inline)) void strided_copy(const T* src, int64_t s, int64_t n, T* d) {
  if (s == 1)
    for (int64_t o = 0; o < n; o++) d[o] = src[o];
  else if (s == 2)
    for (int64_t o = 0; o < n; o++) d[o] = src[2 * o];
  else
    for (int64_t o = 0; o < n; o++) d[o] = src[o * s];
}
template <class T> inline __attribute__((always_inline)) void zero(T* d, int64_t n) {
  for (int64_t o = 0; o < n; o++) d[o] = T(0);
}

// Row r = (c, t0, t1, t2) of an im2col matrix: channel c's plane offset, the
// tap's offsets per axis, and the output positions [lo2, hi2) along the last
// axis whose input lies inside. Made once per call for all rows (packing then
// needs no divisions per row).
struct tap_geom {
  int64_t plane, off0, off1, off2, lo2, hi2;
};
void make_taps(const conv_geom& g, int64_t K, tap_geom* out) {
  int64_t c = 0, t0 = 0, t1 = 0, t2 = 0;
  for (int64_t r = 0; r < K; r++) {
    tap_geom& a = out[r];
    a = {c * g.in_plane, t0 * g.d[0] - g.p[0], t1 * g.d[1] - g.p[1], t2 * g.d[2] - g.p[2], 0, 0};
    valid_range(a.off2, g.s[2], g.in[2], g.out[2], &a.lo2, &a.hi2);
    if (++t2 == g.k[2] && (t2 = 0, ++t1 == g.k[1]) && (t1 = 0, ++t0 == g.k[0])) t0 = 0, c++;
  }
}

// Rows of the im2col matrix of one image's group, made on demand for the GEMM
// (never stored whole): row r holds, for every output position, the input value
// its tap reads (0 in the padding).
template <class T> struct im2col {
  const conv_geom* g;
  const T* x;               // the group's first channel in this image
  const tap_geom* taps;     // make_taps: one per row

  struct tap {
    const T* plane;
    int64_t off0, off1, off2, lo2, hi2;
  };
  inline __attribute__((always_inline)) tap row_tap(int64_t r) const {
    const tap_geom& t = taps[r];
    return {x + t.plane, t.off0, t.off1, t.off2, t.lo2, t.hi2};
  }
  // d[o] for output positions o in [o2, o2 + len) of output row (o0, o1): the
  // input values the tap reads there, zeros in the padding.
  inline __attribute__((always_inline)) void run(const tap& a, int64_t o0, int64_t o1, int64_t o2, int64_t len, T* d) const {
    const int64_t i0 = o0 * g->s[0] + a.off0, i1 = o1 * g->s[1] + a.off1;
    if (i0 < 0 || i0 >= g->in[0] || i1 < 0 || i1 >= g->in[1]) return zero(d + o2, len);
    const T* src = a.plane + (i0 * g->in[1] + i1) * g->in[2];
    const int64_t lo = std::min(std::max(a.lo2, o2), o2 + len), hi = std::max(lo, std::min(a.hi2, o2 + len));
    zero(d + o2, lo - o2);
    strided_copy(src + lo * g->s[2] + a.off2, g->s[2], hi - lo, d + lo);
    zero(d + hi, o2 + len - hi);
  }

  // out[i * nc + j] = row p0 + i, column j0 + j.
  static void rows(const void* self, int64_t p0, int64_t np, int64_t j0, int64_t nc, T* out);
#if defined(__GNUC__) && defined(__x86_64__)
  __attribute__((target("avx2,fma"))) static void rows_avx2(const void* self, int64_t p0, int64_t np, int64_t j0,
                                                             int64_t nc, T* out) {
    rows_impl(self, p0, np, j0, nc, out);
  }
#endif
  static inline __attribute__((always_inline)) void rows_impl(const void* self, int64_t p0, int64_t np, int64_t j0,
                                                              int64_t nc, T* out) {
    const im2col& s = *static_cast<const im2col*>(self);
    const conv_geom& g = *s.g;
    for (int64_t r = p0; r < p0 + np; r++, out += nc) {
      const tap a = s.row_tap(r);
      // Columns j0.. as runs along the last output axis
      int64_t o2 = j0 % g.out[2], o1 = j0 / g.out[2] % g.out[1], o0 = j0 / g.out[2] / g.out[1];
      for (int64_t j = 0; j < nc;) {
        const int64_t len = std::min(g.out[2] - o2, nc - j);
        s.run(a, o0, o1, o2, len, out + j - o2);  // out[j - o2 + o] is output position o of this run
        j += len;
        o2 = 0;
        if (++o1 == g.out[1]) o1 = 0, o0++;
      }
    }
  }
};
template <class T>
void im2col<T>::rows(const void* self, int64_t p0, int64_t np, int64_t j0, int64_t nc, T* out) {
#if defined(__GNUC__) && defined(__x86_64__)
  static const bool avx2 = cpu_has_avx2_fma();
  if (avx2) return rows_avx2(self, p0, np, j0, nc, out);
#endif
  rows_impl(self, p0, np, j0, nc, out);
}

// One output plane of a convolution whose groups have a single input channel
// (depthwise): a GEMM would have only `taps` rows, so y (holding the bias or 0)
// accumulates tap by tap along output rows instead. Forced inline so that the
// AVX2 entry point below compiles the row loops for AVX2.
template <class T>
inline __attribute__((always_inline)) void depthwise_impl(const conv_geom& g, const T* x, const T* w, T* y) {
  for (int64_t o0 = 0; o0 < g.out[0]; o0++)
    for (int64_t o1 = 0; o1 < g.out[1]; o1++) {
      T* yr = y + (o0 * g.out[1] + o1) * g.out[2];
      for (int64_t t0 = 0; t0 < g.k[0]; t0++) {
        const int64_t i0 = o0 * g.s[0] + t0 * g.d[0] - g.p[0];
        if (i0 < 0 || i0 >= g.in[0]) continue;
        for (int64_t t1 = 0; t1 < g.k[1]; t1++) {
          const int64_t i1 = o1 * g.s[1] + t1 * g.d[1] - g.p[1];
          if (i1 < 0 || i1 >= g.in[1]) continue;
          const T* xr = x + (i0 * g.in[1] + i1) * g.in[2];
          for (int64_t t2 = 0; t2 < g.k[2]; t2++) {
            const T wv = w[(t0 * g.k[1] + t1) * g.k[2] + t2];
            const int64_t off = t2 * g.d[2] - g.p[2];
            int64_t lo, hi;
            valid_range(off, g.s[2], g.in[2], g.out[2], &lo, &hi);
            if (g.s[2] == 1)
              for (int64_t o = lo; o < hi; o++) yr[o] += wv * xr[o + off];
            else
              for (int64_t o = lo; o < hi; o++) yr[o] += wv * xr[o * g.s[2] + off];
          }
        }
      }
    }
}
template <class T> void depthwise_base(const conv_geom& g, const T* x, const T* w, T* y) { depthwise_impl(g, x, w, y); }
#if defined(__GNUC__) && defined(__x86_64__)
template <class T>
__attribute__((target("avx2,fma"))) void depthwise_avx2(const conv_geom& g, const T* x, const T* w, T* y) {
  depthwise_impl(g, x, w, y);
}
#endif

// Conv weights packed for the GEMM once per constant W (a model's initializer,
// ctx const ids; see const_cache): G consecutive packed [Mg, Kg] blocks, or null
// (pack per call) when W is not a constant or memory is short.
const float* packed_weights(const mx_kernel_ctx* ctx, const float* w, int64_t G, int64_t Mg, int64_t Kg) {
  const uint64_t id = mx_const_id(ctx, 1);
  if (!id) return nullptr;
  const int64_t per = gemm_packed_a_size(Mg, Kg);
  bool fresh;
  float* p = const_cache(id, w, CONST_PACKED_A, Mg, G, (size_t)(per * G), &fresh);
  if (p && fresh)
    for (int64_t gi = 0; gi < G; gi++) gemm_pack_a(ctx->pool, Mg, Kg, mat_view<float>{w + gi * Mg * Kg, Kg, 1}, p + gi * per);
  return p;
}

// Y[m, p] = act(ct[p, m] + b[m] + Z[m, p]) for channels [m0, m1) and every
// position p of one image (ct = Y^T, rows ld apart; b and zn may be null): the
// transposed GEMM's store. 8 x 8 blocks transpose in registers (AVX2); the
// edges go one value at a time, with the same numerics.
inline __attribute__((always_inline)) void transposed_out_edge(const float* ct, int64_t ld, int64_t P, int64_t m0,
                                                               int64_t m1, int64_t p0, const float* b,
                                                               const gemm_post<float>& post, const float* zn,
                                                               float* yn) {
  for (int64_t m = m0; m < m1; m++) {
    const float bm = b ? b[m] : 0.0f;
    for (int64_t p = p0; p < P; p++) {
      float v = ct[p * ld + m] + bm;
      if (zn) v += zn[m * P + p];
      yn[m * P + p] = activate(post.act, post.p0, post.p1, v);
    }
  }
}
#if defined(__GNUC__) && defined(__x86_64__)
__attribute__((target("avx2,fma"))) void transposed_out_avx2(const float* ct, int64_t ld, int64_t P, int64_t m0,
                                                             int64_t m1, const float* b, const gemm_post<float>& post,
                                                             const float* zn, float* yn) {
  const int64_t P8 = P / 8 * 8;
  int64_t m = m0;
  for (; m + 8 <= m1; m += 8) {
    for (int64_t p = 0; p < P8; p += 8) {
      __m256 r[8];
      for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(ct + (p + i) * ld + m);  // position p + i, channels m..m+7
      // 8 x 8 transpose: pairs, quads, then 128-bit halves
      const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
      const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
      const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
      const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
      const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
      const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
      const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
      const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
      const __m256 c[8] = {_mm256_permute2f128_ps(u0, u4, 0x20), _mm256_permute2f128_ps(u1, u5, 0x20),
                           _mm256_permute2f128_ps(u2, u6, 0x20), _mm256_permute2f128_ps(u3, u7, 0x20),
                           _mm256_permute2f128_ps(u0, u4, 0x31), _mm256_permute2f128_ps(u1, u5, 0x31),
                           _mm256_permute2f128_ps(u2, u6, 0x31), _mm256_permute2f128_ps(u3, u7, 0x31)};
      for (int j = 0; j < 8; j++) {  // channel m + j, positions p..p+7
        __m256 v = c[j];
        if (b) v = _mm256_add_ps(v, _mm256_set1_ps(b[m + j]));
        if (zn) v = _mm256_add_ps(v, _mm256_loadu_ps(zn + (m + j) * P + p));
        _mm256_storeu_ps(yn + (m + j) * P + p, activate_vec<float>(post.act, post.p0, post.p1, v));
      }
    }
    transposed_out_edge(ct, ld, P, m, m + 8, P8, b, post, zn, yn);
  }
  transposed_out_edge(ct, ld, P, m, m1, 0, b, post, zn, yn);
}
#endif
void transposed_out(const float* ct, int64_t ld, int64_t P, int64_t m0, int64_t m1, const float* b,
                    const gemm_post<float>& post, const float* zn, float* yn) {
#if defined(__GNUC__) && defined(__x86_64__)
  static const bool avx2 = cpu_has_avx2_fma();
  if (avx2) return transposed_out_avx2(ct, ld, P, m0, m1, b, post, zn, yn);
#endif
  transposed_out_edge(ct, ld, P, m0, m1, 0, b, post, zn, yn);
}

#if defined(__GNUC__) && defined(__x86_64__)
// Splits an input row of w floats into its even columns (to ev[0..]) and odd
// ones (to od[0..]), 8 of each per step.
__attribute__((target("avx2,fma"))) void split_even_odd_avx2(const float* src, int64_t w, float* ev, float* od) {
  int64_t q = 0;
  for (; 2 * q + 16 <= w; q += 8) {
    const __m256 a = _mm256_loadu_ps(src + 2 * q), b = _mm256_loadu_ps(src + 2 * q + 8);
    // shuffle: [a0 a2 b0 b2 | a4 a6 b4 b6]; the 64-bit permute puts the pairs in order
    const __m256 e = _mm256_shuffle_ps(a, b, 0x88), o = _mm256_shuffle_ps(a, b, 0xDD);
    _mm256_storeu_ps(ev + q, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e), 0xD8)));
    _mm256_storeu_ps(od + q, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(o), 0xD8)));
  }
  for (; 2 * q < w; q++) {
    ev[q] = src[2 * q];
    if (2 * q + 1 < w) od[q] = src[2 * q + 1];
  }
}

// An image zero-padded for a 2-D conv with stride s (1 or 2) and dilation 1,
// each padded row split into its s phases (padded column x at phase x % s,
// position x / s): tap (c, ky, kx) of the outputs (oy, ox..) then reads
// contiguous inputs from tap(c, ky, kx) + oy * s * s * Wq + ox, stride 2 as 1.
// Rows of Wq * s floats, `ow` outputs wide plus what the taps reach past them.
struct phased {
  int64_t s, C, Hp, Wq;
  phased(const conv_geom& g, int64_t C_, int64_t ow) : s(g.s[1]), C(C_) {
    Hp = std::max(g.in[1] + g.p[1], (g.out[1] - 1) * s + g.k[1]);
    Wq = std::max(ow + (g.k[2] + s - 1) / s + 1, (g.in[2] + g.p[2] + s - 1) / s);
  }
  int64_t size() const { return C * Hp * s * Wq; }
  int64_t tap(int64_t c, int64_t ky, int64_t kx) const { return ((c * Hp + ky) * s + kx % s) * Wq + kx / s; }
  // Fills xp from image xn with pool's threads, by padded rows (a range of the
  // items is a band of the plane, every channel's: the part of the plane each
  // thread then reads, as the layers around it split it).
  void fill(const mx_pool* pool, const conv_geom& g, const float* xn, float* xp) const {
    parallel_for(pool, C * Hp, std::max<int64_t>(16, 8192 / (s * Wq)), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; r++) fill_row(g, xn, r % C, r / C, xp + (r % C * Hp + r / C) * s * Wq);
    });
  }
  // Padded row pr of channel c (its s phases) into row.
  void fill_row(const conv_geom& g, const float* xn, int64_t c, int64_t pr, float* row) const {
    static const bool avx2 = cpu_has_avx2_fma();
    const int64_t i = pr - g.p[1];
    std::fill(row, row + s * Wq, 0.0f);
    if (i < 0 || i >= g.in[1]) return;
    const float* src = xn + (c * g.in[1] + i) * g.in[2];
    if (s == 2 && avx2) {  // input column j at padded column j + pad: phase (j + pad) % 2, position (j + pad) / 2
      const int64_t p = g.p[2];
      split_even_odd_avx2(src, g.in[2], row + (p & 1) * Wq + p / 2, row + ((p + 1) & 1) * Wq + (p + 1) / 2);
      return;
    }
    for (int64_t ph = 0; ph < s; ph++) {
      const int64_t first = ((ph - g.p[2]) % s + s) % s;  // first input column at this phase
      float* d = row + ph * Wq + (first + g.p[2]) / s;
      const int64_t n = first < g.in[2] ? (g.in[2] - first + s - 1) / s : 0;
      if (s == 1) std::copy(src + first, src + first + n, d);
      else
        for (int64_t q = 0; q < n; q++) d[q] = src[first + 2 * q];  // s == 2
    }
  }
};

// col^T's row panels (gemm_pack_a's layout, mr positions each) for panels
// [q0, q1) of a plane whose output rows hold whole panels (OW % mr == 0), from
// the phased image xp: a panel's values for one tap are mr contiguous inputs,
// one load and one store each (the store's last lane lands in the next tap's
// slot, rewritten right after; a step's last tap stores mr lanes only).
// koff[k]: the phased offset of tap k = (c, ky, kx) in im2col's order.
__attribute__((target("avx2,fma"))) void pack_phased_panels(const float* xp, const phased& ph, const int64_t* koff,
                                                            int64_t K, int mr, int64_t OW, int64_t Mp, int64_t q0,
                                                            int64_t q1, float* dst) {
  const int64_t KC = gemm_packed_a_kc(K);
  const __m256i last = _mm256_setr_epi32(-1, -1, -1, -1, -1, -1, mr > 6 ? -1 : 0, 0);
  for (int64_t q = q0; q < q1; q++) {
    const int64_t p0 = q * mr;
    const float* base = xp + p0 / OW * ph.s * ph.s * ph.Wq + p0 % OW;
    for (int64_t pc = 0; pc < K; pc += KC) {
      const int64_t kc = std::min(KC, K - pc);
      float* d = dst + Mp * pc + q * mr * kc;
      const int64_t* ko = koff + pc;
      for (int64_t k = 0; k + 1 < kc; k++) _mm256_storeu_ps(d + k * mr, _mm256_loadu_ps(base + ko[k]));
      _mm256_maskstore_ps(d + (kc - 1) * mr, last, _mm256_loadu_ps(base + ko[kc - 1]));
    }
  }
}
#endif

// Convolutions with small output planes (the late stages of a CNN: 14x14, 7x7)
// may run transposed, per image: Y^T [P, M] = col^T [P, K] x W^T [K, M]. The
// micro-kernel's 16-wide side then runs along the output channels (whole
// panels) and its 6- or 7-high side along the positions; col^T is packed for
// all threads, a few taps at a time straight into the GEMM's panels (never
// stored whole), W^T once per constant W. Y^T lands in scratch and
// is transposed into Y with the epilogue. Chosen where it wastes less: P = 49
// pads to 64 columns the plain way (1.31x the work) and to 54 rows this way;
// the transpose of Y costs about 24 / K of the product (measured: 14x14 planes
// with K = 1024 gain, with K = 256 lose; 13x13 loses). Where the 7-row
// micro-kernel runs, positions go 7 to a panel when that pads less (49 and
// 196 then fill whole panels).
// Y^T's row stride for M output channels: M, except M a multiple of 256 (rows
// 1 KB apart or a multiple of that), whose rows would fall in a few of L1's sets
// and alias 4 KB apart: a tile's stores and the transpose's reads then evict
// each other (512x7x7 -> 2048 and 512x14x14 -> 512 3x3 stride 2: 2% faster
// with 16 floats more per row).
inline int64_t transposed_ld(int64_t M) { return M % 256 == 0 ? M + 16 : M; }
int transposed_rows(int64_t P) {
  return gemm_rows7() && (P + 6) / 7 * 7 < (P + 5) / 6 * 6 ? 7 : 6;
}
bool transposed_applies(int64_t P, int64_t M, int64_t K) {
  if (P > 256 || M < 32 || K < 32) return false;
  const int mr = transposed_rows(P);
  const double plain = double((P + 15) / 16 * 16) / double(P);
  const double turned = double((P + mr - 1) / mr * mr) / double(P) * (1.0 + 24.0 / double(K));
  return turned < plain;
}

// The transposed product split by K instead (each thread a range of the
// input channels and taps, all positions and output channels), where K is long
// against M: each thread packs col^T's columns of its range from the input
// channels it (or, for a 1x1, the layer before on it) wrote, multiplies them by
// its rows of W^T into a partial Y^T of its own, and the partials are summed
// as Y^T is transposed into Y (by channel blocks). Each partial is stored as
// one contiguous block per thread's share of the output channels, so that the
// thread that sums a share reads the others' partials of it in one long
// stream (read as 32-byte pieces of rows M floats apart, lines another core
// wrote cost a round trip each; resnet50, both ways run by run: faster in 55%
// of pairs with the CPUs close, 58% far apart). What crosses between the
// cores is then the partials, P x M floats, where the split by output channels
// had every thread read all of col^T, P x K floats packed half by the other:
// 1024x14x14 -> 256 moves 200 KB instead of 400 KB, 512x14x14 -> 512 3x3
// stride 2 100 KB instead of 450 KB. Ranges are whole KC steps of W^T's packed
// layout (kr[0..parts], each range's own KC step the same), so each part's
// GEMM reads its rows of the one packed W^T. Returns the number of parts, 0
// where the split does not apply.
constexpr int kMaxParts = 8;
// Output channels [panel_share(M, h, parts), panel_share(M, h + 1, parts)) are
// share h of M in whole panels of 16 (W^T's packed panels; the last one short).
inline int64_t panel_share(int64_t M, int64_t h, int64_t parts) { return std::min(M, (M + 15) / 16 * h / parts * 16); }
int ksplit_ranges(const mx_kernel_ctx* ctx, int64_t K, int64_t M, int64_t* kr) {
  const int nt = ctx->pool ? (int)ctx->pool->num_threads(ctx->pool->self) : 1;
  if (nt < 2 || nt > kMaxParts || K < 4 * M || K < 256 * nt) return 0;
  const int64_t KC = gemm_packed_a_kc(K), steps = (K + KC - 1) / KC;
  if (steps < nt) return 0;
  for (int h = 0; h <= nt; h++) kr[h] = std::min(K, steps * h / nt * KC);
  for (int h = 0; h < nt; h++)
    if (gemm_packed_a_kc(kr[h + 1] - kr[h]) != KC) return 0;
  return nt;
}

// ph: the phased image's geometry when col^T packs from it (OW % mr == 0),
// null for a 1x1 stride-1 conv (col^T is X^T). wt: W^T packed for all of K.
int conv_transposed_ksplit(mx_kernel_ctx* ctx, const conv_geom& g, int64_t N, int64_t C, int64_t M, int64_t K,
                           const float* x, const float* wt, const float* b, float* y, const gemm_post<float>& post,
                           int mr, const void* phased_geom, const int64_t* kr, int parts) {
  const int64_t P = g.out_plane;
  const auto up = [](int64_t n) { return (size_t)((n + 15) & ~int64_t(15)); };
  int64_t kmax = 0, cmax = 0;
  for (int h = 0; h < parts; h++) {
    kmax = std::max(kmax, kr[h + 1] - kr[h]);
    cmax = std::max(cmax, (kr[h + 1] + g.taps - 1) / g.taps - kr[h] / g.taps);
  }
#if defined(__GNUC__) && defined(__x86_64__)
  const phased* ph = static_cast<const phased*>(phased_geom);
  const size_t nx = ph ? up(cmax * ph->Hp * ph->s * ph->Wq + 8) : 0, nk = ph ? up(2 * kmax) : 0;
#else
  const size_t nx = 0, nk = 0;
#endif
  // share c of each part's Y^T: P rows of ldw floats from c * P * ldw
  int64_t wmax = 0;
  for (int c = 0; c < parts; c++) wmax = std::max(wmax, panel_share(M, c + 1, parts) - panel_share(M, c, parts));
  const int64_t ldw = transposed_ld(wmax);
  const size_t na = up(gemm_packed_a_size(P, kmax, mr)), nc = up(parts * P * ldw), each = na + nc + nx + nk;
  float* buf = static_cast<float*>(scratch(SCRATCH_OP, sizeof(float) * parts * each));
  if (!buf) return fail_oom(ctx, "Conv");
  const int64_t Mp = gemm_packed_b_size(1, M);  // W^T's packed row length (M padded to whole panels)
  std::atomic<bool> ok{true};
  for (int64_t n = 0; n < N && ok; n++) {
    const float* xn = x + n * C * g.in_plane;
    parallel_for(ctx->pool, parts, 1, [&](int64_t h0, int64_t h1) {
      for (int64_t h = h0; h < h1; h++) {
        float *ap = buf + h * each, *ct = ap + na;
        const int64_t k0 = kr[h], kk = kr[h + 1] - k0;
        const mat_view<float> a{xn + k0 * g.in_plane, 1, g.in_plane};  // 1x1: col^T (p, k) = X[k0 + k, p]
#if defined(__GNUC__) && defined(__x86_64__)
        if (ph) {  // this range's channels padded and phased into its own image
          float* xp = ct + nc;
          int64_t* koff = reinterpret_cast<int64_t*>(xp + nx);
          const int64_t c0 = k0 / g.taps, c1 = (k0 + kk + g.taps - 1) / g.taps;
          for (int64_t c = c0; c < c1; c++)
            for (int64_t pr = 0; pr < ph->Hp; pr++) ph->fill_row(g, xn, c, pr, xp + ((c - c0) * ph->Hp + pr) * ph->s * ph->Wq);
          for (int64_t k = 0; k < kk; k++) {
            const int64_t t = k0 + k;
            koff[k] = ph->tap(t / g.taps - c0, t / g.k[2] % g.k[1], t % g.k[2]);
          }
          pack_phased_panels(xp, *ph, koff, kk, mr, g.out[2], P, 0, P / mr, ap);
        } else
#endif
          gemm_pack_a(nullptr, P, kk, a, ap, mr);
        for (int c = 0; c < parts; c++) {
          const int64_t n0 = panel_share(M, c, parts), n1 = panel_share(M, c + 1, parts);
          if (!gemm_packed_columns(P, M, kk, n0, n1, ap, wt + Mp * k0, ct + c * P * ldw - n0, ldw, mr)) ok = false;
        }
      }
    });
    if (!ok) break;
    float* yn = y + n * M * P;
    const float* zn = post.z ? post.z + n * M * P : nullptr;
    parallel_for(ctx->pool, parts, 1, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; c++) {
        const int64_t n0 = panel_share(M, c, parts), w = panel_share(M, c + 1, parts) - n0;
        const float* r[kMaxParts];
        for (int h = 0; h < parts; h++) r[h] = buf + h * each + na + c * P * ldw;
        float* sum = buf + c * each + na + c * P * ldw;  // written by this thread's part
        for (int64_t p = 0; p < P; p++)
          for (int64_t i = p * ldw; i < p * ldw + w; i++) {
            float v = r[0][i];
            for (int h = 1; h < parts; h++) v += r[h][i];
            sum[i] = v;
          }
        transposed_out(sum, ldw, P, 0, w, b ? b + n0 : nullptr, post, zn ? zn + n0 * P : nullptr, yn + n0 * P);
      }
    });
  }
  return ok ? MX_OK : fail_oom(ctx, "Conv");
}

int conv_transposed(mx_kernel_ctx* ctx, const conv_geom& g, int64_t N, int64_t C, int64_t M, int64_t K,
                    const float* x, const float* w, const float* b, float* y, const gemm_post<float>& post) {
  const int64_t P = g.out_plane;
  const uint64_t id = mx_const_id(ctx, 1);
  const size_t nb = (size_t)gemm_packed_b_size(K, M);
  bool fresh = false;
  float* wt = id ? const_cache(id, w, CONST_CONV_WT, K, M, nb, &fresh) : nullptr;
  // each part 64-byte aligned (the micro-kernel loads packed panels aligned)
  const auto up = [](int64_t n) { return (size_t)((n + 15) & ~int64_t(15)); };
  const int mr = transposed_rows(P);
  // col^T goes into the GEMM's panels tap by tap; only a 1-position plane
  // (the GEMV path reads A itself) stores col whole
  const bool whole = !g.direct && P == 1;
  // a 1x1 with enough output channels: each thread packs its own panels (below)
  const int nth = ctx->pool ? (int)ctx->pool->num_threads(ctx->pool->self) : 1;
  const bool own_panels = g.direct && nth > 1 && (M + 15) / 16 >= 2 * nth;
  const int64_t ldt = transposed_ld(M);
  const size_t ncol = whole ? up(K * P) : 0, na = own_panels ? 0 : up(gemm_packed_a_size(P, K, mr)), nc = up(P * ldt);
  // Output rows of whole panels (7x7 and 14x14 with 7 rows), stride 1 or 2:
  // panels packed from the image padded once (pack_phased_panels), else
  // from im2col's rows a few taps at a time.
  bool phased_pack = false;
#if defined(__GNUC__) && defined(__x86_64__)
  static const bool avx2 = cpu_has_avx2_fma();
  phased_pack = avx2 && !g.direct && !whole && g.in[0] == 1 && g.k[0] == 1 && g.d[1] == 1 && g.d[2] == 1 &&
                g.s[1] == g.s[2] && (g.s[1] == 1 || g.s[1] == 2) && g.out[2] % mr == 0;
  const phased ph(g, C, g.out[2]);
  // the padded image (and 8 floats that a panel's last load may read past it)
  const size_t nx = phased_pack ? up(ph.size() + 8) : 0, nk = phased_pack ? up(2 * K) : 0;
#else
  const size_t nx = 0, nk = 0;
#endif
  if (wt && !whole && (g.direct || phased_pack)) {
    int64_t kr[kMaxParts + 1];
    if (const int parts = ksplit_ranges(ctx, K, M, kr)) {
      if (fresh) gemm_pack_b(ctx->pool, K, M, mat_view<float>{w, 1, K}, wt);
#if defined(__GNUC__) && defined(__x86_64__)
      const void* geom = phased_pack ? &ph : nullptr;
#else
      const void* geom = nullptr;
#endif
      return conv_transposed_ksplit(ctx, g, N, C, M, K, x, wt, b, y, post, mr, geom, kr, parts);
    }
  }
  const size_t nt = g.direct || phased_pack ? 0 : up((int64_t)(K * sizeof(tap_geom) / sizeof(float)));
  float* col = static_cast<float*>(scratch(SCRATCH_OP, sizeof(float) * (ncol + na + nc + nt + nx + nk + (wt ? 0 : nb))));
  if (!col) return fail_oom(ctx, "Conv");
  float *ap = col + ncol, *ct = ap + na;
  tap_geom* taps = reinterpret_cast<tap_geom*>(ct + nc);
  float* xp = ct + nc + nt;
  int64_t* koff = reinterpret_cast<int64_t*>(xp + nx);
  if (!g.direct && !phased_pack) make_taps(g, K, taps);
#if defined(__GNUC__) && defined(__x86_64__)
  if (phased_pack)
    for (int64_t k = 0; k < K; k++) koff[k] = ph.tap(k / g.taps, k / g.k[2] % g.k[1], k % g.k[2]);
#endif
  if (!wt) wt = ct + nc + nt + nx + nk, fresh = true;
  const mat_view<float> wT{w, 1, K};  // W^T (k, m) = W[m, k]
  if (fresh) gemm_pack_b(ctx->pool, K, M, wT, wt);
  // A 1x1 (X^T is col^T) with enough output channels: each thread packs all
  // of X^T into its own panels and computes its share of the output channels
  // (whole panels of W^T) through to Y, in one parallel_for. Packing X^T twice
  // costs less than what the shared panels cost: a barrier, and every thread
  // reading the panels the others packed from activations they did not write
  // (resnet50 and densenet121, both ways run by run in one process: faster in
  // 56% of the pairs with the CPUs close, 59-68% with them far apart).
  if (own_panels) {
    std::atomic<bool> ok{true};
    for (int64_t n = 0; n < N && ok; n++) {
      const float* xn = x + n * C * g.in_plane;
      float* yn = y + n * M * P;
      const float* zn = post.z ? post.z + n * M * P : nullptr;
      parallel_for(ctx->pool, nth, 1, [&](int64_t h0, int64_t h1) {
        for (int64_t h = h0; h < h1; h++) {
          float* aph = static_cast<float*>(scratch(SCRATCH_GEMM_ROWS, sizeof(float) * (size_t)gemm_packed_a_size(P, K, mr)));
          if (!aph) { ok = false; return; }
          gemm_pack_a(nullptr, P, K, mat_view<float>{xn, 1, P}, aph, mr);
          const int64_t n0 = panel_share(M, h, nth), n1 = panel_share(M, h + 1, nth);
          if (!gemm_packed_columns(P, M, K, n0, n1, aph, wt, ct, ldt, mr)) { ok = false; return; }
          transposed_out(ct, ldt, P, n0, n1, b, post, zn, yn);
        }
      });
    }
    return ok ? MX_OK : fail_oom(ctx, "Conv");
  }
  for (int64_t n = 0; n < N; n++) {
    const float* xn = x + n * C * g.in_plane;
    mat_view<float> a{xn, 1, P};  // col^T (p, k) = col[k, p]
    const im2col<float> cols{&g, xn, taps};
    if (whole) {
      im2col<float>::rows(&cols, 0, K, 0, P, col);
      a.data = col;
    }
    if (g.direct || whole) gemm_pack_a(ctx->pool, P, K, a, ap, mr);
#if defined(__GNUC__) && defined(__x86_64__)
    else if (phased_pack) {
      ph.fill(ctx->pool, g, xn, xp);
      const int64_t panels = P / mr;
      parallel_for(ctx->pool, panels, std::max<int64_t>(1, 4096 / K), [&](int64_t q0, int64_t q1) {
        pack_phased_panels(xp, ph, koff, K, mr, g.out[2], P, q0, q1, ap);
      });
    }
#endif
    else if (!gemm_pack_a_rows(ctx->pool, P, K, b_rows<float>{im2col<float>::rows, &cols}, ap, mr)) return fail_oom(ctx, "Conv");
    if (!gemm(ctx->pool, P, M, K, 1.0f, a, wT, 0.0f, ct, ldt, nullptr, ap, wt, mr)) return fail_oom(ctx, "Conv");
    float* yn = y + n * M * P;
    const float* zn = post.z ? post.z + n * M * P : nullptr;
    // by blocks of 8 channels, so both sides are read and written along cache
    // lines (a column walk of Y^T would hit one cache set per power-of-two M)
    parallel_for(ctx->pool, (M + 7) / 8, std::max<int64_t>(1, 512 / P), [&](int64_t q0, int64_t q1) {
      transposed_out(ct, ldt, P, q0 * 8, std::min(M, q1 * 8), b, post, zn, yn);
    });
  }
  return MX_OK;
}

#if defined(__GNUC__) && defined(__x86_64__)
// Stems: 2-D convs over few input channels (an image's RGB) with stride 1 or 2,
// computed directly instead of by im2col + GEMM, whose K = C * taps is then so
// short (27 to 147) that packing the im2col panels and storing C tiles cost as
// much as the multiply-adds. The input is copied once into a zero-padded buffer
// (no bounds checks after it), its rows split into even and odd columns for
// stride 2; each task computes 6 output channels x 16 positions of one output
// row in 12 accumulators, tap by tap: two contiguous loads of 8 inputs feed 12
// FMAs.
bool direct_applies(const conv_geom& g, int64_t C, int64_t G, int64_t M) {
  return G == 1 && C <= 4 && M >= 6 && g.in[0] == 1 && g.k[0] == 1 && g.d[1] == 1 && g.d[2] == 1 &&
         g.s[1] == g.s[2] && (g.s[1] == 1 || g.s[1] == 2) && g.out[2] >= 16 && C * g.taps <= 256;
}

struct direct_job {
  const float *xp, *wt, *b;
  const int64_t* toff;  // per tap (c, ky, kx): its input's offset from the block's first tap (0, 0, 0)
  float* y;
  const gemm_post<float>* post;  // z: this image's
  int64_t s, KH, KW, C, M, Mr, OH, OW, OWr, Hp, Wq, taps;
};

// Tasks [t0, t1) of one image: task = (block of 6 output channels, output row).
__attribute__((target("avx2,fma"))) void conv_direct_tasks(const direct_job& j, int64_t t0, int64_t t1) {
  for (int64_t task = t0; task < t1; task++) {
    const int64_t oy = task / (j.Mr / 6), m0 = task % (j.Mr / 6) * 6;  // by rows: see conv_direct
    for (int64_t ox0 = 0; ox0 < j.OWr; ox0 += 16) {
      // 12 named accumulators (an array of them is kept on the stack by GCC)
#define MX_BIAS(r) (j.b && m0 + (r) < j.M ? j.b[m0 + (r)] : 0.0f)
      __m256 c00 = _mm256_set1_ps(MX_BIAS(0)), c01 = c00, c10 = _mm256_set1_ps(MX_BIAS(1)), c11 = c10;
      __m256 c20 = _mm256_set1_ps(MX_BIAS(2)), c21 = c20, c30 = _mm256_set1_ps(MX_BIAS(3)), c31 = c30;
      __m256 c40 = _mm256_set1_ps(MX_BIAS(4)), c41 = c40, c50 = _mm256_set1_ps(MX_BIAS(5)), c51 = c50;
#undef MX_BIAS
      // tap (0, 0, 0) of padded row oy * s (its rows split into s phases of Wq)
      const float* base = j.xp + oy * j.s * j.s * j.Wq + ox0;
      const float* wr = j.wt + m0 / 6 * j.taps * 6;
      for (int64_t t = 0; t < j.taps; t++, wr += 6) {
        const float* src = base + j.toff[t];
        const __m256 v0 = _mm256_loadu_ps(src), v1 = _mm256_loadu_ps(src + 8);
#define MX_TAP(r)                                 \
  {                                               \
    const __m256 wv = _mm256_broadcast_ss(wr + r); \
    c##r##0 = _mm256_fmadd_ps(wv, v0, c##r##0);   \
    c##r##1 = _mm256_fmadd_ps(wv, v1, c##r##1);   \
  }
        MX_TAP(0) MX_TAP(1) MX_TAP(2) MX_TAP(3) MX_TAP(4) MX_TAP(5)
#undef MX_TAP
      }
      // rows m0.. of the output plane (channels OH * OW apart), the block's valid columns
      float* yb = j.y + (m0 * j.OH + oy) * j.OW + ox0;
      const int64_t ch = j.OH * j.OW;
      const gemm_post<float>& p = *j.post;
      const tile_args<float> t{1.0f, 0.0f, nullptr, p.z ? p.z + (yb - j.y) : nullptr, ch, p.act, p.p0, p.p1,
                               (int)std::min<int64_t>(6, j.M - m0), (int)std::min<int64_t>(16, j.OW - ox0)};
      store_tile<float>(yb, ch, t, c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51);
    }
  }
}

int conv_direct(mx_kernel_ctx* ctx, const conv_geom& g, int64_t N, int64_t C, int64_t M, const float* x,
                const float* w, const float* b, float* y, const gemm_post<float>& post) {
  direct_job j;
  j.s = g.s[1], j.KH = g.k[1], j.KW = g.k[2], j.C = C, j.M = M, j.OH = g.out[1], j.OW = g.out[2];
  j.OWr = (j.OW + 15) / 16 * 16, j.Mr = (M + 5) / 6 * 6;
  // every tap's 16 inputs of a block lie inside the padded rows
  const phased ph(g, C, j.OWr);
  j.Hp = ph.Hp, j.Wq = ph.Wq;
  j.b = b;
  const int64_t taps = C * j.KH * j.KW, xsize = ph.size();
  // wt[block][tap][6]: a block's six channels side by side, its taps one after
  // another (a few KB that stay in L1 while the block's tasks run; zeros past M)
  float* wt = static_cast<float*>(scratch(SCRATCH_OP, sizeof(float) * (size_t)(taps * j.Mr + xsize)));
  if (!wt) return fail_oom(ctx, "Conv");
  float* xp = wt + taps * j.Mr;
  for (int64_t m = 0; m < j.Mr; m++)
    for (int64_t t = 0; t < taps; t++) wt[(m / 6 * taps + t) * 6 + m % 6] = m < M ? w[m * taps + t] : 0.0f;
  int64_t toff[256];  // taps <= 256 (direct_applies)
  for (int64_t t = 0; t < taps; t++) toff[t] = ph.tap(t / (j.KW * j.KH), t / j.KW % j.KH, t % j.KW);
  j.wt = wt, j.xp = xp, j.toff = toff, j.taps = taps;
  for (int64_t n = 0; n < N; n++) {
    const float* xn = x + n * C * g.in_plane;
    j.y = y + n * M * j.OH * j.OW;
    gemm_post<float> pn = post;
    if (pn.z) pn.z += n * M * j.OH * j.OW;
    j.post = &pn;
    // Both passes go by rows (all channels of a row together), so that each
    // thread computes the part of the plane it padded, and writes the part the
    // next layer (split by positions too) reads on that thread.
    ph.fill(ctx->pool, g, xn, xp);
    parallel_for(ctx->pool, j.Mr / 6 * j.OH, std::max<int64_t>(1, 4096 / (taps * j.OWr / 16)),
                 [&](int64_t t0, int64_t t1) { conv_direct_tasks(j, t0, t1); });
  }
  return MX_OK;
}
#endif

// Y = act(Conv(X, W, B) + Z) with `post`'s z (Y's shape, or null) and
// activation (its bias is unused: B is the kernel's input), applied by every path
// as it writes Y.
template <class T> int conv(mx_kernel_ctx* ctx, const gemm_post<T>& post) {
  const mx_tensor &X = ctx->inputs[0], &W = ctx->inputs[1], &Y = ctx->outputs[0];
  const mx_tensor* bias = ctx->num_inputs > 2 && ctx->inputs[2].data ? &ctx->inputs[2] : nullptr;
  conv_geom g;
  if (!geometry(ctx, &g)) return mx_fail(ctx, MX_ERR_UNSUPPORTED, "Conv: %d spatial dims (1 to 3 are supported)", X.ndim - 2);
  const int64_t N = X.shape[0], C = X.shape[1], M = W.shape[0];
  const int64_t G = std::max<int64_t>(1, mx_attr_int(ctx->attrs, "group", 1));
  const int64_t Cg = C / G, Mg = M / G, Kg = Cg * g.taps, P = g.out_plane;
  const T* x = static_cast<const T*>(X.data);
  const T* w = static_cast<const T*>(W.data);
  T* y = static_cast<T*>(Y.data);
  if (N * M * P == 0) return MX_OK;
  const T* b = bias ? static_cast<const T*>(bias->data) : nullptr;

  // A 1x1 kernel with a stride and no padding reads one input in s (ResNet's
  // downsampling shortcuts). Where it runs transposed (small output planes),
  // those inputs are gathered into a dense [N, C, P] copy first, and the conv
  // runs as a stride-1 1x1 over it, whose X^T packs like a matrix's (no padded
  // copy of the whole input); 512x28x28 -> 1024 stride 2: 2.27 -> 2.04 ms at 1
  // thread. (The plain path packs its strided B panels in one pass already:
  // a gather first was 5% slower at 256x56x56 -> 512.) By output rows, every
  // channel's together, as the layers around it split the plane.
  bool gather = false;
  if constexpr (std::is_same_v<T, float>) gather = G == 1 && transposed_applies(P, M, C);
  if (gather && g.taps == 1 && g.s[0] * g.s[1] * g.s[2] > 1 && !(g.p[0] | g.p[1] | g.p[2])) {
    T* xs = static_cast<T*>(scratch(SCRATCH_INPUT, sizeof(T) * N * C * P));
    if (!xs) return fail_oom(ctx, "Conv");
    const int64_t R = g.out[0] * g.out[1];
    parallel_for(ctx->pool, N * R * C, std::max<int64_t>(1, 4096 / g.out[2]), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; r++) {
        const int64_t nc = r / (R * C) * C + r % C, q = r / C % R, o0 = q / g.out[1], o1 = q % g.out[1];
        const T* src = x + nc * g.in_plane + (o0 * g.s[0] * g.in[1] + o1 * g.s[1]) * g.in[2];
        T* dst = xs + (nc * R + q) * g.out[2];
        for (int64_t o2 = 0; o2 < g.out[2]; o2++) dst[o2] = src[o2 * g.s[2]];
      }
    });
    x = xs;
    for (int a = 0; a < 3; a++) g.in[a] = g.out[a], g.s[a] = 1;
    g.in_plane = P;
    g.direct = true;
  }

  // depthwise (groups of one input channel): direct, one output plane per item.
  // One group of one channel (G == 1, e.g. an STFT frame conv) is a GEMM
  // [M, taps] x [taps, P] instead: its taps are many and its outputs few.
  if (Cg == 1 && G > 1) {
    static const bool avx2 = cpu_has_avx2_fma();
    parallel_for(ctx->pool, N * M, std::max<int64_t>(1, 16384 / (P * g.taps)), [&](int64_t i0, int64_t i1) {
      for (int64_t r = i0; r < i1; r++) {
        const int64_t n = r / M, m = r % M;
        const T* xp = x + (n * C + m / Mg) * g.in_plane;
        T* yp = y + r * P;
        std::fill(yp, yp + P, b ? b[m] : T(0));
#if defined(__GNUC__) && defined(__x86_64__)
        if (avx2) depthwise_avx2(g, xp, w + m * g.taps, yp);
        else
#endif
          depthwise_base(g, xp, w + m * g.taps, yp);
        apply_act(post, yp, post.z ? post.z + r * P : nullptr, P);
      }
    });
    return MX_OK;
  }

  if constexpr (std::is_same_v<T, float>) {
    const bool k3s1 = X.ndim == 4 && g.k[1] == 3 && g.k[2] == 3 && g.s[1] == 1 && g.s[2] == 1 && g.d[1] == 1 && g.d[2] == 1;
    const int64_t pads[2] = {g.p[1], g.p[2]};
    if (k3s1 && G == 1 && winograd_applies(C, M, g.out[1], g.out[2], mx_const_id(ctx, 1) != 0))
      return conv_winograd(ctx, pads, post);
    if (k3s1 && G == 1 && winograd2_applies(C, M, g.out[1], g.out[2], mx_const_id(ctx, 1) != 0))
      return conv_winograd2(ctx, pads, post);
  }

  if constexpr (std::is_same_v<T, float>) {
#if defined(__GNUC__) && defined(__x86_64__)
    static const bool avx2 = cpu_has_avx2_fma();
    if (avx2 && direct_applies(g, C, G, M)) return conv_direct(ctx, g, N, C, M, x, w, b, y, post);
#endif
    if (G == 1 && transposed_applies(P, M, Kg)) return conv_transposed(ctx, g, N, C, M, Kg, x, w, b, y, post);
  }

  // W packed once when it is a constant (float32 GEMMs that are not GEMVs).
  const T* wp = nullptr;
  if constexpr (std::is_same_v<T, float>)
    if (Mg > 1 && P > 1) wp = packed_weights(ctx, w, G, Mg, Kg);

  tap_geom* taps = nullptr;
  if (!g.direct) {
    taps = static_cast<tap_geom*>(scratch(SCRATCH_OP, sizeof(tap_geom) * Kg));
    if (!taps) return fail_oom(ctx, "Conv");
    make_taps(g, Kg, taps);
  }

  // One unit = one image and group; `pool` threads inside it (null: serial).
  const auto unit = [&](int64_t u, const mx_pool* pool) -> bool {
    const int64_t n = u / G, gi = u % G;
    const T* xg = x + (n * C + gi * Cg) * g.in_plane;
    T* yg = y + (n * M + gi * Mg) * P;
    const mat_view<T> wg{w + gi * Mg * Kg, Kg, 1};
    gemm_post<T> pg = post;  // this unit's bias and residual
    pg.bias = b ? b + gi * Mg : nullptr;
    if (pg.z) pg.z += (n * M + gi * Mg) * P, pg.ldz = P;
    if constexpr (std::is_same_v<T, float>) {
      const float* wpg = wp ? wp + gi * gemm_packed_a_size(Mg, Kg) : nullptr;
      // A 1x1 conv whose weights dwarf its activation (M >= 4 P) and whose B is
      // cheap to pack twice (K <= 256) splits its output channels between the
      // threads instead of its positions (see gemm's by_rows): each thread
      // then streams its half of W, and writes the channels that a K-split or
      // channel-split layer after it reads on that thread (ResNet's 256 -> 1024
      // at 14x14, before the 1024 -> 256 that splits K).
      if (g.direct)
        return gemm(pool, Mg, P, Kg, T(1), wg, mat_view<T>{xg, P, 1}, T(0), yg, P, &pg, wpg, nullptr, 6,
                    Mg >= 4 * P && Kg <= 256);
      const im2col<T> cols{&g, xg, taps};
      return gemm(pool, Mg, P, Kg, T(1), wg, b_rows<T>{im2col<T>::rows, &cols}, T(0), yg, P, &pg, wpg);
    } else {
      if (g.direct) return gemm(pool, Mg, P, Kg, T(1), wg, mat_view<T>{xg, P, 1}, T(0), yg, P, &pg);
      const im2col<T> cols{&g, xg, taps};
      return gemm(pool, Mg, P, Kg, T(1), wg, b_rows<T>{im2col<T>::rows, &cols}, T(0), yg, P, &pg);
    }
  };

  const int64_t units = N * G;
  std::atomic<bool> ok{true};
  if (units > 1 && Mg * P * Kg < kSmallMacs) {
    parallel_for(ctx->pool, units, std::max<int64_t>(1, kSmallMacs / 8 / std::max<int64_t>(1, Mg * P * Kg)),
                 [&](int64_t u0, int64_t u1) {
                   for (int64_t u = u0; u < u1; u++)
                     if (!unit(u, nullptr)) ok = false;
                 });
  } else {
    for (int64_t u = 0; u < units && ok; u++) ok = unit(u, ctx->pool);
  }
  return ok ? MX_OK : fail_oom(ctx, "Conv");
}

template <class T> int conv_plain(mx_kernel_ctx* ctx) { return conv<T>(ctx, gemm_post<T>{}); }
int conv_half(mx_kernel_ctx* ctx) { return run_widened(ctx, conv_plain<float>); }

// FusedConv (domain "mx"): Y = activation(Conv + Z) in the same kernel (no
// second dispatch, no intermediate tensor, no second pass over Y): the residual
// Z (when given) and the activation are applied as each part of Y is written.
// activation_params as core checked.
template <class T> int fused_conv(mx_kernel_ctx* ctx) {
  const std::string act = mx_attr_string(ctx->attrs, "activation", "Relu");
  gemm_post<T> post;
  post.act = act == "Relu" ? ACT_RELU : act == "LeakyRelu" ? ACT_LEAKY_RELU : act == "Clip" ? ACT_CLIP : ACT_NONE;
  if (post.act == ACT_NONE && act != "Identity")
    return mx_fail(ctx, MX_ERR_INVALID, "FusedConv: unknown activation '%s'", act.c_str());
  const double* p = nullptr;
  const int np = mx_attr_floats(ctx->attrs, "activation_params", &p);
  if (np > 0) post.p0 = T(p[0]);
  if (np > 1) post.p1 = T(p[1]);
  post.z = ctx->num_inputs > 3 && ctx->inputs[3].data ? static_cast<const T*>(ctx->inputs[3].data) : nullptr;
  return conv<T>(ctx, post);
}
int fused_conv_half(mx_kernel_ctx* ctx) { return run_widened(ctx, fused_conv<float>); }

}  // namespace

MX_KERNEL("Conv", "float32", conv_plain<float>);
MX_KERNEL("Conv", "float64", conv_plain<double>);
MX_KERNEL("Conv", "float16", conv_half);
MX_KERNEL("Conv", "bfloat16", conv_half);
MX_KERNEL_DOMAIN("FusedConv", "mx", "float32", fused_conv<float>);
MX_KERNEL_DOMAIN("FusedConv", "mx", "float64", fused_conv<double>);
MX_KERNEL_DOMAIN("FusedConv", "mx", "float16", fused_conv_half);
MX_KERNEL_DOMAIN("FusedConv", "mx", "bfloat16", fused_conv_half);

}  // namespace mxcpu
