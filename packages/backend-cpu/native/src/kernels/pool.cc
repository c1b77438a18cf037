// Pooling over the spatial dims of X [N, C, D..] (1 to 3 spatial dims for the
// windowed pools, any number for the global ones). Output position o, tap t reads
// input position o * stride - pad_begin + t * dilation per axis; taps outside the
// input are padding. Core resolved auto_pad and ceil_mode into explicit
// kernel_shape, strides, dilations, pads and Y's shape.
//   MaxPool: the largest tap (padding never wins); ties keep the first tap in
//     window order. Indices (optional, int64): flat X index of that tap, its
//     spatial part column-major when storage_order = 1.
//   AveragePool: sum of the taps in the input / number of taps in the input, or
//     with count_include_pad = 1 / number of taps within the padded extent (taps
//     that ceil_mode pushes past the end padding never count).
//   GlobalAveragePool / GlobalMaxPool: mean / max over all spatial positions
//     (a NaN makes the max NaN).
#include <algorithm>
#include <atomic>
#include <limits>
#include <type_traits>
#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#endif

#include "gemm.h"

namespace mxcpu {
namespace {

struct pool_geom {
  int64_t in[3], out[3], k[3], s[3], d[3], pb[3], pe[3];
  int64_t in_plane = 1, out_plane = 1;
};

bool geometry(const mx_kernel_ctx* ctx, pool_geom* g) {
  const mx_tensor &X = ctx->inputs[0], &Y = ctx->outputs[0];
  const int n = X.ndim - 2;
  const int64_t *kernel, *strides, *dil, *pads;
  if (n < 1 || n > 3 || mx_attr_ints(ctx->attrs, "kernel_shape", &kernel) != n ||
      mx_attr_ints(ctx->attrs, "strides", &strides) != n || mx_attr_ints(ctx->attrs, "dilations", &dil) != n ||
      mx_attr_ints(ctx->attrs, "pads", &pads) != 2 * n)
    return false;
  for (int a = 0; a < 3; a++) {
    const int i = a - (3 - n);  // spatial axis, < 0 for the padded leading dims
    g->in[a] = i < 0 ? 1 : X.shape[2 + i];
    g->out[a] = i < 0 ? 1 : Y.shape[2 + i];
    g->k[a] = i < 0 ? 1 : kernel[i];
    g->s[a] = i < 0 ? 1 : strides[i];
    g->d[a] = i < 0 ? 1 : dil[i];
    g->pb[a] = i < 0 ? 0 : pads[i];
    g->pe[a] = i < 0 ? 0 : pads[i + n];
    g->in_plane *= g->in[a];
    g->out_plane *= g->out[a];
  }
  return true;
}

// Taps t in [lo, hi) of a window starting at input position `base` (dilation d,
// k taps) whose position base + t * d lies in [0, limit).
inline void tap_range(int64_t base, int64_t d, int64_t limit, int64_t k, int64_t* lo, int64_t* hi) {
  const int64_t l = base >= 0 ? 0 : d == 1 ? -base : (-base + d - 1) / d;
  const int64_t h = base >= limit ? 0 : d == 1 ? limit - base : (limit - base + d - 1) / d;
  *lo = std::min(l, k);
  *hi = std::max(*lo, std::min(h, k));
}

// Calls f(plane, o0, o1, row) for every output row (all o2 of one plane, o0, o1)
// in parallel; `row` is the row's flat index (the row starts at row * out[2]).
// Split by bands of rows within the plane, every channel's together (index
// order: image, band, channel), as the convs around a pool split their
// positions: each thread then reads the part of the plane it wrote in the layer
// before. A band holds up to 8 rows, their count per plane a multiple of the
// threads', and its rows run one after another: the input rows they read are
// contiguous (a row at a time, channel after channel, reads 3 short rows of a
// new plane each time, which the prefetchers never catch up with).
template <class F> void each_row(const mx_kernel_ctx* ctx, const pool_geom& g, F&& f) {
  const int64_t C = ctx->inputs[0].shape[1], R = g.out[0] * g.out[1];
  const int64_t T = ctx->pool ? std::max(1, ctx->pool->num_threads(ctx->pool->self)) : 1;
  const int64_t nb = std::max<int64_t>(1, std::min(R, T * ((R + 8 * T - 1) / (8 * T))));
  const int64_t items = ctx->inputs[0].shape[0] * nb * C;
  const int64_t cost = std::max<int64_t>(1, (R + nb - 1) / nb * g.out[2] * g.k[0] * g.k[1] * g.k[2]);
  parallel_for(ctx->pool, items, std::max<int64_t>(1, 16384 / cost), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; i++) {
      const int64_t n = i / (nb * C), b = i / C % nb, plane = n * C + i % C;
      for (int64_t q = b * R / nb, q1 = (b + 1) * R / nb; q < q1; q++) f(plane, q / g.out[1], q % g.out[1], plane * R + q);
    }
  });
}

// Flat offsets of a window's taps from its first tap, and the range [lo2, hi2)
// of o2 whose windows lie inside the input along axis 2. In an output row whose
// windows lie inside along axes 0 and 1 too, those outputs need no bounds checks.
struct window_table {
  const int64_t* off = nullptr;
  int64_t taps = 0, lo2 = 0, hi2 = 0;
  bool init(const pool_geom& g) {
    taps = g.k[0] * g.k[1] * g.k[2];
    int64_t* o = static_cast<int64_t*>(scratch(SCRATCH_OP, sizeof(int64_t) * taps));
    if (!o) return false;
    off = o;
    for (int64_t t0 = 0; t0 < g.k[0]; t0++)
      for (int64_t t1 = 0; t1 < g.k[1]; t1++)
        for (int64_t t2 = 0; t2 < g.k[2]; t2++) *o++ = (t0 * g.d[0] * g.in[1] + t1 * g.d[1]) * g.in[2] + t2 * g.d[2];
    const int64_t last = g.in[2] - 1 - (g.k[2] - 1) * g.d[2] + g.pb[2];  // o2 * s2 <= last
    lo2 = std::min(g.out[2], (g.pb[2] + g.s[2] - 1) / g.s[2]);
    hi2 = std::max(lo2, last < 0 ? 0 : std::min(g.out[2], last / g.s[2] + 1));
    return true;
  }
  // Whether row (o0, o1) has every window inside along axes 0 and 1, and if so
  // the flat index of its o2 = 0 window origin (+ o2 * s2 for others).
  bool inside(const pool_geom& g, int64_t o0, int64_t o1, int64_t* origin) const {
    const int64_t b0 = o0 * g.s[0] - g.pb[0], b1 = o1 * g.s[1] - g.pb[1];
    *origin = (b0 * g.in[1] + b1) * g.in[2] - g.pb[2];
    return b0 >= 0 && b0 + (g.k[0] - 1) * g.d[0] < g.in[0] && b1 >= 0 && b1 + (g.k[1] - 1) * g.d[1] < g.in[1];
  }
};

// Outputs [lo2, hi2) of an inside row: y[o2] = (fold of the taps of the window
// at origin + o2 * s2) / divisor, 16 outputs at a time so the folds run side by side.
template <class T, class C, class F>
void fold_inside(const pool_geom& g, const window_table& win, const T* xp, int64_t origin, C init, F&& fold,
                 T* y, C divisor) {
  constexpr int kBlock = 16;
  for (int64_t ob = win.lo2; ob < win.hi2; ob += kBlock) {
    const int64_t n = std::min<int64_t>(kBlock, win.hi2 - ob);
    C acc[kBlock];
    for (int64_t i = 0; i < n; i++) acc[i] = init;
    for (int64_t t = 0; t < win.taps; t++) {
      const T* src = xp + origin + ob * g.s[2] + win.off[t];
      for (int64_t i = 0; i < n; i++) acc[i] = fold(acc[i], load(src[i * g.s[2]]));
    }
    for (int64_t i = 0; i < n; i++) y[ob + i] = store<T>(acc[i] / divisor);
  }
}

int bad_window(mx_kernel_ctx* ctx, const char* op) {
  return mx_fail(ctx, MX_ERR_UNSUPPORTED, "%s: needs 1 to 3 spatial dims and explicit kernel_shape, strides, dilations, pads (X rank %d)",
                 op, ctx->inputs[0].ndim);
}

// float32 MaxPool over 1 or 2 spatial dims, dilation 1, without Indices, one
// output row at a time: first the maximum over the window's input rows (a
// vector loop along whole rows), then over each window's columns of it. Each
// input element is read once per output row instead of once per tap. The same
// values as the tap-by-tap loop (NaN never wins; -inf where no tap is in the
// input), up to which of +0 and -0 a tie keeps.
#if defined(__GNUC__) && defined(__x86_64__)
// 3x3 windows at stride 2 along a row, 8 outputs at a time, straight from the
// window's three input rows r0..r2 (each shifted by the left pad): the rows
// folded as the scalar loops fold them (max(r2, max(r1, max(r0, -inf))): NaN
// never wins), then yr[o] = max(c[2o + 2], max(c[2o + 1], c[2o])) over the folded
// columns c, even and odd columns split by shuffles. Reads the rows up to
// column 2 * hi - 1 (the last window ends at 2 * hi). Returns the first o in
// [lo, hi) left to the scalar loop. Called with r0 = r1 =
// r2 = v (an already folded row, which holds no NaN), it folds columns only.
#define MX_FOLD(at) \
  _mm256_max_ps(_mm256_loadu_ps(r2 + (at)), _mm256_max_ps(_mm256_loadu_ps(r1 + (at)), _mm256_max_ps(_mm256_loadu_ps(r0 + (at)), ninf)))
// Outputs [o, o + 8), reading the rows' columns [2o, 2o + 17].
__attribute__((target("avx2,fma"))) inline __attribute__((always_inline)) void max3_stride2_step(
    const float* r0, const float* r1, const float* r2, int64_t o, float* yr) {
  const __m256 ninf = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  const int64_t c = 2 * o;
  const __m256 a = MX_FOLD(c), b = MX_FOLD(c + 8), a2 = MX_FOLD(c + 2), b2 = MX_FOLD(c + 10);
  // shuffle_ps works per 128-bit lane: [a0 a2 b0 b2 | a4 a6 b4 b6]; the permute puts the 64-bit pairs in order
  const __m256 e = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, 0x88)), 0xD8));
  const __m256 e2 = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a2, b2, 0x88)), 0xD8));
  const __m256 od = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, 0xDD)), 0xD8));
  _mm256_storeu_ps(yr + o, _mm256_max_ps(e2, _mm256_max_ps(od, e)));
}
#undef MX_FOLD
__attribute__((target("avx2,fma"))) inline int64_t max3_stride2_avx2(const float* r0, const float* r1, const float* r2,
                                                                     int64_t lo, int64_t hi, float* yr) {
  // Steps need o <= hi - 9. The last one starts at hi - 9, overlapping the one
  // before (it stores the same values again), so only the last output is left
  // to the scalar loop.
  if (hi - lo < 9) return lo;
  for (int64_t o = lo; o < hi - 9; o += 8) max3_stride2_step(r0, r1, r2, o, yr);
  max3_stride2_step(r0, r1, r2, hi - 9, yr);
  return hi - 1;
}
#endif

#if defined(__GNUC__) && defined(__x86_64__)
// V(c) of max3_stride2_avx512 below: columns past `limit` read as nothing.
__attribute__((target("avx2,fma,avx512f,avx512vl"))) inline __attribute__((always_inline)) __m256 max3_rows_avx512(
    const float* r0, const float* r1, const float* r2, int64_t c, int64_t limit) {
  const __m256 ninf = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  if (c + 8 <= limit)
    return _mm256_max_ps(_mm256_loadu_ps(r2 + c), _mm256_max_ps(_mm256_loadu_ps(r1 + c), _mm256_max_ps(_mm256_loadu_ps(r0 + c), ninf)));
  const __mmask8 m = c < limit ? __mmask8((1u << (limit - c)) - 1) : __mmask8(0);
  return _mm256_max_ps(_mm256_maskz_loadu_ps(m, r2 + c),
                       _mm256_max_ps(_mm256_maskz_loadu_ps(m, r1 + c), _mm256_max_ps(_mm256_maskz_loadu_ps(m, r0 + c), ninf)));
}
// The same windows with AVX-512VL (32 ymm registers, two-source permutes, masked
// loads and stores), each column folded once: the rows' fold of 8 columns at a
// time, V(c) = max(r2, max(r1, max(r0, -inf))) over columns [c, c + 8), then
// y[o..o+8) = max(e2, max(od, e)) where e and od are the even and odd columns of
// V(2o) and V(2o + 8), and e2 is e moved down a lane with V(2o + 16)'s first
// column last (which the next step reuses as its V(2o)). Columns at or past
// `limit` are never read (masked); a last step of fewer than 8 outputs stores
// only those. Returns hi.
__attribute__((target("avx2,fma,avx512f,avx512vl"))) int64_t max3_stride2_avx512(const float* r0, const float* r1,
                                                                                 const float* r2, int64_t limit,
                                                                                 int64_t lo, int64_t hi, float* yr) {
  if (hi <= lo) return lo;
  const __m256i even = _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14), odd = _mm256_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15);
  const __m256i next = _mm256_setr_epi32(1, 2, 3, 4, 5, 6, 7, 8);
  __m256 a = max3_rows_avx512(r0, r1, r2, 2 * lo, limit);
  for (int64_t o = lo; o < hi; o += 8) {
    const __m256 b = max3_rows_avx512(r0, r1, r2, 2 * o + 8, limit), nx = max3_rows_avx512(r0, r1, r2, 2 * o + 16, limit);
    const __m256 e = _mm256_permutex2var_ps(a, even, b), od = _mm256_permutex2var_ps(a, odd, b);
    const __m256 y = _mm256_max_ps(_mm256_permutex2var_ps(e, next, nx), _mm256_max_ps(od, e));
    if (o + 8 <= hi) _mm256_storeu_ps(yr + o, y);
    else _mm256_mask_storeu_ps(yr + o, __mmask8((1u << (hi - o)) - 1), y);
    a = nx;
  }
  return hi;
}
#endif

template <bool kAvx2>
inline __attribute__((always_inline)) void max_rows_impl(const pool_geom& g, const window_table& win, const float* xp,
                                                         int64_t o1, float* v, float* yr) {
  const float ninf = -std::numeric_limits<float>::infinity();
  int64_t l1, h1;
  tap_range(o1 * g.s[1] - g.pb[1], 1, g.in[1], g.k[1], &l1, &h1);
  const float* row0 = xp + (o1 * g.s[1] - g.pb[1]) * g.in[2];  // the window's first row (maybe outside)
  // v[j0, j1) = the fold of the window's rows in the input
  const auto fold_rows = [&](int64_t j0, int64_t j1) {
    std::fill(v + j0, v + j1, ninf);
    for (int64_t t = l1; t < h1; t++) {
      const float* xr = row0 + t * g.in[2];
      for (int64_t j = j0; j < j1; j++) v[j] = xr[j] > v[j] ? xr[j] : v[j];
    }
  };
  // windows inside the row [lo, hi) without bounds checks (3 taps unrolled), the edges with them
  const int64_t lo = win.lo2, hi = win.hi2;
  int64_t first = lo;  // [lo, first): made straight from the input rows
#if defined(__GNUC__) && defined(__x86_64__)
  if constexpr (kAvx2)
    if (g.k[2] == 3 && g.s[2] == 2 && l1 == 0 && h1 == 3) {
      static const bool avx512 = cpu_has_avx512vl();
      const float *r0 = row0 - g.pb[2], *r1 = r0 + g.in[2], *r2 = r1 + g.in[2];
      first = avx512 ? max3_stride2_avx512(r0, r1, r2, g.in[2] + g.pb[2], lo, hi, yr) : max3_stride2_avx2(r0, r1, r2, lo, hi, yr);
    }
#endif
  if (first == lo) {
    fold_rows(0, g.in[2]);
  } else {  // only the columns the edge windows and the outputs from `first` on read
    const int64_t left = std::min(g.in[2], lo > 0 ? (lo - 1) * g.s[2] - g.pb[2] + g.k[2] : 0);
    fold_rows(0, left);
    fold_rows(std::max(left, std::min(g.in[2], first * g.s[2] - g.pb[2])), g.in[2]);
  }
  const auto edge = [&](int64_t o2) {
    const int64_t b = o2 * g.s[2] - g.pb[2];
    int64_t l2, h2;
    tap_range(b, 1, g.in[2], g.k[2], &l2, &h2);
    float m = ninf;
    for (int64_t t = l2; t < h2; t++) m = v[b + t] > m ? v[b + t] : m;
    yr[o2] = m;
  };
  for (int64_t o2 = 0; o2 < lo; o2++) edge(o2);
  const float* vb = v - g.pb[2];
  if (g.k[2] == 3) {
#if defined(__GNUC__) && defined(__x86_64__)
    if constexpr (kAvx2)
      if (g.s[2] == 2 && first == lo) first = max3_stride2_avx2(vb, vb, vb, lo, hi, yr);
#endif
    for (int64_t o2 = first; o2 < hi; o2++) {
      const float* w = vb + o2 * g.s[2];
      const float a = w[1] > w[0] ? w[1] : w[0];
      yr[o2] = w[2] > a ? w[2] : a;
    }
  } else {
    for (int64_t o2 = first; o2 < hi; o2++) {
      const float* w = vb + o2 * g.s[2];
      float m = w[0];
      for (int64_t t = 1; t < g.k[2]; t++) m = w[t] > m ? w[t] : m;
      yr[o2] = m;
    }
  }
  for (int64_t o2 = hi; o2 < g.out[2]; o2++) edge(o2);
}
void max_rows_base(const pool_geom& g, const window_table& win, const float* xp, int64_t o1, float* v, float* yr) {
  max_rows_impl<false>(g, win, xp, o1, v, yr);
}
#if defined(__GNUC__) && defined(__x86_64__)
__attribute__((target("avx2,fma"))) void max_rows_avx2(const pool_geom& g, const window_table& win, const float* xp,
                                                       int64_t o1, float* v, float* yr) {
  max_rows_impl<true>(g, win, xp, o1, v, yr);
}
#endif

int max_pool_rows(mx_kernel_ctx* ctx, const pool_geom& g, const window_table& win, const float* x, float* y) {
  static const bool avx2 = cpu_has_avx2_fma();
  std::atomic<bool> ok{true};
#if defined(__GNUC__) && defined(__x86_64__)
  // 3x3 windows at stride 2 with no left pad and no window past a row's end
  // (squeezenet's and most CNNs' pools): rows whose three input rows are all
  // inside go straight to the vector loops, without max_rows' per-row setup
  // (its scratch row, tap ranges and edge folds took most of the time at
  // 13 to 55 outputs per row).
  static const bool avx512 = cpu_has_avx512vl();
  const bool direct = avx2 && g.k[1] == 3 && g.k[2] == 3 && g.s[1] == 2 && g.s[2] == 2 && win.lo2 == 0 &&
                      win.hi2 == g.out[2] && (avx512 || g.out[2] >= 9);
#endif
  each_row(ctx, g, [&](int64_t plane, int64_t, int64_t o1, int64_t row) {
    const float* xp = x + plane * g.in_plane;
    float* yr = y + row * g.out[2];
#if defined(__GNUC__) && defined(__x86_64__)
    if (const int64_t top = o1 * 2 - g.pb[1]; direct && top >= 0 && top + 3 <= g.in[1]) {
      const float *r0 = xp + top * g.in[2], *r1 = r0 + g.in[2], *r2 = r1 + g.in[2];  // lo2 == 0: no left pad
      if (avx512) return (void)max3_stride2_avx512(r0, r1, r2, g.in[2], 0, g.out[2], yr);
      for (int64_t o = max3_stride2_avx2(r0, r1, r2, 0, g.out[2], yr); o < g.out[2]; o++) {
        float m = -std::numeric_limits<float>::infinity();  // folded as the vector loops fold: NaN never wins
        for (const float* r : {r0, r1, r2})
          for (int t = 0; t < 3; t++) m = r[2 * o + t] > m ? r[2 * o + t] : m;
        yr[o] = m;
      }
      return;
    }
#endif
    float* v = static_cast<float*>(scratch(SCRATCH_GEMM_ROWS, sizeof(float) * g.in[2]));
    if (!v) return (void)(ok = false);
#if defined(__GNUC__) && defined(__x86_64__)
    if (avx2) return max_rows_avx2(g, win, xp, o1, v, yr);
#endif
    max_rows_base(g, win, xp, o1, v, yr);
  });
  return ok ? MX_OK : fail_oom(ctx, "MaxPool");
}

template <class T> int max_pool(mx_kernel_ctx* ctx) {
  pool_geom g;
  if (!geometry(ctx, &g)) return bad_window(ctx, "MaxPool");
  using C = compute_t<T>;
  constexpr bool has_inf = std::numeric_limits<C>::has_infinity;
  const T* x = static_cast<const T*>(ctx->inputs[0].data);
  T* y = static_cast<T*>(ctx->outputs[0].data);
  int64_t* ind = ctx->num_outputs > 1 ? static_cast<int64_t*>(ctx->outputs[1].data) : nullptr;
  const bool col_major = mx_attr_int(ctx->attrs, "storage_order", 0) == 1;
  window_table win;
  if (!win.init(g)) return fail_oom(ctx, "MaxPool");
  if constexpr (std::is_same_v<T, float>)
    if (!ind && g.k[0] == 1 && g.d[1] == 1 && g.d[2] == 1) return max_pool_rows(ctx, g, win, x, y);
  each_row(ctx, g, [&](int64_t plane, int64_t o0, int64_t o1, int64_t row) {
    const T* xp = x + plane * g.in_plane;
    int64_t l0, h0, l1, h1, origin;
    tap_range(o0 * g.s[0] - g.pb[0], g.d[0], g.in[0], g.k[0], &l0, &h0);
    tap_range(o1 * g.s[1] - g.pb[1], g.d[1], g.in[1], g.k[1], &l1, &h1);
    const bool inside = win.inside(g, o0, o1, &origin);
    const C lowest = has_inf ? -std::numeric_limits<C>::infinity() : std::numeric_limits<C>::lowest();
    for (int64_t o2 = 0; o2 < g.out[2]; o2++) {
      if (inside && !ind && o2 == win.lo2 && win.lo2 < win.hi2) {
        fold_inside(g, win, xp, origin, lowest, [](C a, C v) { return v > a ? v : a; }, y + row * g.out[2], C(1));
        o2 = win.hi2 - 1;
        continue;
      }
      // Floats start below every value but -inf and NaN (which never win, as in
      // the reference); with Indices, integers take their first tap. The
      // selects are written branch-free (maxima of random data mispredict).
      C best = lowest;
      int64_t at = -1;
      const auto visit = [&](int64_t i) {
        const C v = load(xp[i]);
        const bool take = v > best || (!has_inf && at < 0);
        best = take ? v : best;
        at = take ? i : at;
      };
      if (inside && o2 >= win.lo2 && o2 < win.hi2) {
        for (int64_t t = 0; t < win.taps; t++) visit(origin + o2 * g.s[2] + win.off[t]);
      } else {
        const int64_t b2 = o2 * g.s[2] - g.pb[2];
        int64_t l2, h2;
        tap_range(b2, g.d[2], g.in[2], g.k[2], &l2, &h2);
        for (int64_t t0 = l0; t0 < h0; t0++)
          for (int64_t t1 = l1; t1 < h1; t1++) {
            const int64_t r = ((o0 * g.s[0] - g.pb[0] + t0 * g.d[0]) * g.in[1] + o1 * g.s[1] - g.pb[1] + t1 * g.d[1]) * g.in[2];
            for (int64_t t2 = l2; t2 < h2; t2++) visit(r + b2 + t2 * g.d[2]);
          }
      }
      y[row * g.out[2] + o2] = store<T>(best);
      if (ind) {
        int64_t off = at;
        if (at >= 0 && col_major) {  // (i0, i1, i2) -> i0 + in0 * (i1 + in1 * i2)
          const int64_t i2 = at % g.in[2], i1 = at / g.in[2] % g.in[1], i0 = at / g.in[2] / g.in[1];
          off = i0 + g.in[0] * (i1 + g.in[1] * i2);
        }
        ind[row * g.out[2] + o2] = plane * g.in_plane + off;
      }
    }
  });
  return MX_OK;
}

template <class T> int global_average_pool(mx_kernel_ctx* ctx);

template <class T> int average_pool(mx_kernel_ctx* ctx) {
  pool_geom g;
  if (!geometry(ctx, &g)) return bad_window(ctx, "AveragePool");
  // One window over each whole plane (a global pool written as AveragePool, as
  // resnet's last 7x7): the global fold, whose partial sums run side by side.
  bool whole = g.out_plane == 1;
  for (int a = 0; a < 3; a++) whole = whole && g.k[a] == g.in[a] && g.d[a] == 1 && g.pb[a] == 0 && g.pe[a] == 0;
  if (whole) return global_average_pool<T>(ctx);
  using C = compute_t<T>;
  const T* x = static_cast<const T*>(ctx->inputs[0].data);
  T* y = static_cast<T*>(ctx->outputs[0].data);
  const bool include_pad = mx_attr_int(ctx->attrs, "count_include_pad", 0) == 1;
  window_table win;
  if (!win.init(g)) return fail_oom(ctx, "AveragePool");
  each_row(ctx, g, [&](int64_t plane, int64_t o0, int64_t o1, int64_t row) {
    const T* xp = x + plane * g.in_plane;
    int64_t origin;
    const bool inside = win.inside(g, o0, o1, &origin);
    // Per axis: taps in the input [l, h) and taps within the padded extent [0, hp).
    int64_t l[3], h[3], hp[3], base[3] = {o0 * g.s[0] - g.pb[0], o1 * g.s[1] - g.pb[1], 0};
    for (int a = 0; a < 2; a++) {
      tap_range(base[a], g.d[a], g.in[a], g.k[a], &l[a], &h[a]);
      int64_t unused;
      tap_range(base[a] + g.pb[a], g.d[a], g.in[a] + g.pb[a] + g.pe[a], g.k[a], &unused, &hp[a]);
    }
    for (int64_t o2 = 0; o2 < g.out[2]; o2++) {
      if (inside && o2 == win.lo2 && win.lo2 < win.hi2) {  // every tap in the input
        fold_inside(g, win, xp, origin, C(0), [](C a, C v) { return a + v; }, y + row * g.out[2], (C)win.taps);
        o2 = win.hi2 - 1;
        continue;
      }
      base[2] = o2 * g.s[2] - g.pb[2];
      tap_range(base[2], g.d[2], g.in[2], g.k[2], &l[2], &h[2]);
      int64_t unused;
      tap_range(base[2] + g.pb[2], g.d[2], g.in[2] + g.pb[2] + g.pe[2], g.k[2], &unused, &hp[2]);
      C sum = 0;
      for (int64_t t0 = l[0]; t0 < h[0]; t0++)
        for (int64_t t1 = l[1]; t1 < h[1]; t1++) {
          const T* xr = xp + ((base[0] + t0 * g.d[0]) * g.in[1] + base[1] + t1 * g.d[1]) * g.in[2];
          for (int64_t t2 = l[2]; t2 < h[2]; t2++) sum += load(xr[base[2] + t2 * g.d[2]]);
        }
      const int64_t count = include_pad ? hp[0] * hp[1] * hp[2] : (h[0] - l[0]) * (h[1] - l[1]) * (h[2] - l[2]);
      y[row * g.out[2] + o2] = store<T>(sum / (C)count);
    }
  });
  return MX_OK;
}

// Calls f(plane_values, n) -> result for every N x C plane of X, in parallel.
template <class T, class F> int global_pool(mx_kernel_ctx* ctx, F&& f) {
  const mx_tensor& X = ctx->inputs[0];
  const int64_t planes = X.shape[0] * X.shape[1], n = planes ? numel(X) / planes : 0;
  const T* x = static_cast<const T*>(X.data);
  T* y = static_cast<T*>(ctx->outputs[0].data);
  parallel_for(ctx->pool, planes, std::max<int64_t>(1, 32768 / std::max<int64_t>(1, n)), [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; p++) y[p] = store<T>(f(x + p * n, n));
  });
  return MX_OK;
}

// Both folds keep eight independent partial results (a serial chain of adds
// would wait on each add's latency), merged in a fixed order.
template <class T> int global_average_pool(mx_kernel_ctx* ctx) {
  return global_pool<T>(ctx, [](const T* v, int64_t n) {
    double part[8] = {};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
      for (int u = 0; u < 8; u++) part[u] += (double)load(v[i + u]);
    double s = 0;
    for (; i < n; i++) s += (double)load(v[i]);
    for (int u = 0; u < 8; u++) s += part[u];
    return (compute_t<T>)(s / (double)n);
  });
}

template <class T> int global_max_pool(mx_kernel_ctx* ctx) {
  return global_pool<T>(ctx, [](const T* v, int64_t n) {
    using C = compute_t<T>;
    const auto fold = [](C m, C a) { return a > m || a != a ? a : m; };  // NaN wins
    C part[8];
    for (int u = 0; u < 8; u++) part[u] = -std::numeric_limits<C>::infinity();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
      for (int u = 0; u < 8; u++) part[u] = fold(part[u], load(v[i + u]));
    C m = -std::numeric_limits<C>::infinity();
    for (; i < n; i++) m = fold(m, load(v[i]));
    for (int u = 0; u < 8; u++) m = fold(m, part[u]);
    return m;
  });
}

}  // namespace

#define MX_POOL_FLOAT(T, key)                           \
  MX_KERNEL("MaxPool", key, max_pool<T>);               \
  MX_KERNEL("AveragePool", key, average_pool<T>);       \
  MX_KERNEL("GlobalAveragePool", key, global_average_pool<T>); \
  MX_KERNEL("GlobalMaxPool", key, global_max_pool<T>);
MX_POOL_FLOAT(float, "float32")
MX_POOL_FLOAT(double, "float64")
MX_POOL_FLOAT(f16, "float16")
MX_POOL_FLOAT(bf16, "bfloat16")
#undef MX_POOL_FLOAT
MX_KERNEL("MaxPool", "int8", max_pool<int8_t>);
MX_KERNEL("MaxPool", "uint8", max_pool<uint8_t>);

}  // namespace mxcpu
