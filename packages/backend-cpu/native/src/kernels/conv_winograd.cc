// Conv 3x3, stride 1, dilation 1, one group, float32, by Winograd F(4x4, 3x3)
// (Lavin & Gray 2015): per image, every 4x4 block of outputs (a tile) comes from
// a 6x6 input patch d as Y = A^T [(G g G^T) . (B^T d B)] A. The elementwise
// product over the 36 positions e = (i, k) of the transformed tile is, summed
// over input channels, 36 independent GEMMs U_e [M, C] x V_e [C, tiles], which
// need 36 * M * C * tiles multiply-adds instead of 144 (4x fewer).
//
// MX_CPU_WINOGRAD=0 turns the path off (im2col GEMMs everywhere).
//
// Numerics: the transforms use the points 0, +-1, +-2 and infinity; they add
// rounding error that grows with the input's range, about 1e-6..1e-5 relative to
// the largest |Y| for typical data (direct summation: ~1e-7). Callers take this
// path only for convolutions big enough to need it (see winograd_applies).
//
// Work: the weights are transformed and packed for the GEMM once per constant W
// (else per call); then each task takes a band of tile rows of one image through
// the input transform, the 36 GEMMs and the output transform with its own V and
// P (no barrier); small images go through the three steps one after another,
// each split among the threads.
// Layouts: V[e][c][t] and P[e][m][t] with a band's tiles t = ty * tw + tx contiguous, so
// both transforms run as vector loops along a tile row: the input transform
// applies B^T along y to whole input rows, splits each result row into its 4
// phases x = 4q + r, and applies B^T along x as vector ops over q; the output
// transform mirrors it.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>

#include "conv_winograd.h"
#include "gemm.h"
#include "simd.h"

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#endif

namespace mxcpu {
namespace {

constexpr int kTile = 4, kPatch = 6, kE = 36;

struct wino_geom {
  int64_t H, W, OH, OW, pt, pl;  // input, output, top and left pads
  int64_t th, tw, T;             // tile rows, tile columns, tiles
};

// o_k[q] = (B^T x)_k with x_j = r_j[q], for q < n. Six separate restrict
// pointers: the compiler may then vectorize (it cannot prove strided stores apart).
inline MXCPU_INLINE void bt6(int64_t n, const float* __restrict r0, const float* __restrict r1, const float* __restrict r2,
                             const float* __restrict r3, const float* __restrict r4, const float* __restrict r5,
                             float* __restrict o0, float* __restrict o1, float* __restrict o2, float* __restrict o3,
                             float* __restrict o4, float* __restrict o5) {
  for (int64_t q = 0; q < n; q++) {
    const float x0 = r0[q], x1 = r1[q], x2 = r2[q], x3 = r3[q], x4 = r4[q], x5 = r5[q];
    o0[q] = 4 * x0 - 5 * x2 + x4;
    o1[q] = -4 * (x1 + x2) + x3 + x4;
    o2[q] = 4 * (x1 - x2) - x3 + x4;
    o3[q] = 2 * (x3 - x1) - x2 + x4;
    o4[q] = 2 * (x1 - x3) - x2 + x4;
    o5[q] = 4 * x1 - 5 * x3 + x5;
  }
}

// o_r[q] = (A^T x)_r + b with x_i = r_i[q], for q < n.
inline MXCPU_INLINE void at6(int64_t n, const float* __restrict r0, const float* __restrict r1, const float* __restrict r2,
                             const float* __restrict r3, const float* __restrict r4, const float* __restrict r5, float b,
                             float* __restrict o0, float* __restrict o1, float* __restrict o2, float* __restrict o3) {
  for (int64_t q = 0; q < n; q++) {
    const float x0 = r0[q], x1 = r1[q], x2 = r2[q], x3 = r3[q], x4 = r4[q], x5 = r5[q];
    o0[q] = x0 + x1 + x2 + x3 + x4 + b;
    o1[q] = x1 - x2 + 2 * (x3 - x4) + b;
    o2[q] = x1 + x2 + 4 * (x3 + x4) + b;
    o3[q] = x1 - x2 + 8 * (x3 - x4) + x5 + b;
  }
}

#if defined(__GNUC__) && defined(__x86_64__)
// The 4 phases of values 4q .. 4q + 31 of a row (q .. q + 7, 4 values each):
// r[k] = row[4 (q + j) + k] for j < 8 (a 4 x 4 transpose in each 128-bit lane,
// then one permute into q order).
__attribute__((target("avx2,fma"))) inline void phases8(const float* a, __m256* r) {
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  const __m256 a0 = _mm256_loadu_ps(a), a1 = _mm256_loadu_ps(a + 8), a2 = _mm256_loadu_ps(a + 16),
               a3 = _mm256_loadu_ps(a + 24);
  // lanes: a0 = [q, q+1], a1 = [q+2, q+3], a2 = [q+4, q+5], a3 = [q+6, q+7]
  const __m256d t0 = _mm256_castps_pd(_mm256_unpacklo_ps(a0, a1)), t1 = _mm256_castps_pd(_mm256_unpackhi_ps(a0, a1));
  const __m256d t2 = _mm256_castps_pd(_mm256_unpacklo_ps(a2, a3)), t3 = _mm256_castps_pd(_mm256_unpackhi_ps(a2, a3));
  // phase k of q, q+2, q+4, q+6 in the low lane and of q+1, q+3, q+5, q+7 in the high one
  r[0] = _mm256_permutevar8x32_ps(_mm256_castpd_ps(_mm256_unpacklo_pd(t0, t2)), order);
  r[1] = _mm256_permutevar8x32_ps(_mm256_castpd_ps(_mm256_unpackhi_pd(t0, t2)), order);
  r[2] = _mm256_permutevar8x32_ps(_mm256_castpd_ps(_mm256_unpacklo_pd(t1, t3)), order);
  r[3] = _mm256_permutevar8x32_ps(_mm256_castpd_ps(_mm256_unpackhi_pd(t1, t3)), order);
}
// [v[1..7], n[0]]: the 8 values from q + 1 given those from q (v) and q + 8 (n)
__attribute__((target("avx2,fma"))) inline __m256 next1(__m256 v, __m256 n) {
  const __m256 t = _mm256_permute2f128_ps(v, n, 0x21);  // [v's high lane, n's low lane]
  return _mm256_castsi256_ps(_mm256_alignr_epi8(_mm256_castps_si256(t), _mm256_castps_si256(v), 4));
}

// B^T along x for one row transformed along y (src: x from -pl, 4 * (tw + 1)
// floats and 32 more readable: the next row, or after the last the phase area
// of input_transform's rows): out[k * os + tx] for tiles tx < tw, k < 6.
// 8 tiles a step, in registers: the row's phases (input column 4tx + j is
// phase j % 4 at q = tx + j / 4) for q .. q + 7 and, for j = 4, 5, q + 1 ..
// q + 8 from the next step's. A last partial step is stored through a buffer.
// The compiled loops split the row into phases in memory and ran the tails of
// 14- and 7-tile rows scalar (and loads of phases just stored at another
// offset stalled on store forwarding).
__attribute__((target("avx2,fma"))) void bt_x_avx2(const float* __restrict src, int64_t tw, float* __restrict out,
                                                   int64_t os) {
  const __m256 four = _mm256_set1_ps(4.0f), five = _mm256_set1_ps(5.0f), two = _mm256_set1_ps(2.0f);
  __m256 c[4], n[4];
  phases8(src, c);
  for (int64_t tx = 0; tx < tw; tx += 8) {
    if (tx + 8 <= tw) phases8(src + 4 * (tx + 8), n);  // q = tx + 8 is read (tile tx + 7's columns 4, 5)
    else n[0] = n[1] = n[2] = n[3] = _mm256_setzero_ps();
    const __m256 x0 = c[0], x1 = c[1], x2 = c[2], x3 = c[3], x4 = next1(c[0], n[0]), x5 = next1(c[1], n[1]);
    const __m256 o[6] = {
        _mm256_add_ps(_mm256_sub_ps(_mm256_mul_ps(four, x0), _mm256_mul_ps(five, x2)), x4),
        _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(_mm256_set1_ps(-4.0f), _mm256_add_ps(x1, x2)), x3), x4),
        _mm256_add_ps(_mm256_sub_ps(_mm256_mul_ps(four, _mm256_sub_ps(x1, x2)), x3), x4),
        _mm256_add_ps(_mm256_sub_ps(_mm256_mul_ps(two, _mm256_sub_ps(x3, x1)), x2), x4),
        _mm256_add_ps(_mm256_sub_ps(_mm256_mul_ps(two, _mm256_sub_ps(x1, x3)), x2), x4),
        _mm256_add_ps(_mm256_sub_ps(_mm256_mul_ps(four, x1), _mm256_mul_ps(five, x3)), x5)};
    if (tx + 8 <= tw) {
      for (int k = 0; k < 6; k++) _mm256_storeu_ps(out + k * os + tx, o[k]);
    } else {
      alignas(32) float part[8];
      for (int k = 0; k < 6; k++) {
        _mm256_store_ps(part, o[k]);
        for (int64_t j = 0; j < tw - tx; j++) out[k * os + tx + j] = part[j];
      }
    }
    for (int k = 0; k < 4; k++) c[k] = n[k];
  }
}
#endif

// V[e][c][t] for the tile rows [ty0, ty1) of one image, channels [c0, c1) of C.
// rows: scratch of 48 * (tw + 1) + W floats (transformed rows, their phases, zeros).
template <bool kAvx2>
inline MXCPU_INLINE void input_transform_impl(const wino_geom& g, const float* __restrict x, int64_t C, int64_t c0,
                                              int64_t c1, int64_t ty0, int64_t ty1, float* __restrict V,
                                              float* __restrict rows) {
  const int64_t Tb = (ty1 - ty0) * g.tw;  // tiles of the band
  const int64_t Q = g.tw + 1, RW = 4 * Q;  // phase length; a transformed row's width (x from -pl)
  float* ty_rows = rows;             // B^T along y: 6 rows of RW
  float* ph = ty_rows + 6 * RW;      // per y-row i: 4 phases of Q (phase r of x = 4q + r)
  float* zero = ph + 6 * RW;         // W zeros: the input rows in the padding
  std::fill(zero, zero + g.W, 0.0f);
  const int64_t lo = std::min(RW, g.pl), n = std::max<int64_t>(0, std::min(g.W, RW - lo));  // columns [lo, lo + n) come from X
  for (int64_t c = c0; c < c1; c++) {
    const float* plane = x + c * g.H * g.W;
    for (int64_t ty = ty0; ty < ty1; ty++) {
      const float* in[kPatch];  // input rows 4ty - pt + j
      for (int j = 0; j < kPatch; j++) {
        const int64_t y = ty * kTile - g.pt + j;
        in[j] = y < 0 || y >= g.H ? zero : plane + y * g.W;
      }
      for (int i = 0; i < kPatch; i++) {  // the padding columns transform to zeros
        std::fill(ty_rows + i * RW, ty_rows + i * RW + lo, 0.0f);
        std::fill(ty_rows + i * RW + lo + n, ty_rows + (i + 1) * RW, 0.0f);
      }
      float* o = ty_rows + lo;
      bt6(n, in[0], in[1], in[2], in[3], in[4], in[5], o, o + RW, o + 2 * RW, o + 3 * RW, o + 4 * RW, o + 5 * RW);
#if defined(__GNUC__) && defined(__x86_64__)
      if constexpr (kAvx2) if (g.tw >= 7) {  // 4 tiles (14x14): the loops below run as 4-wide vectors, faster
        for (int i = 0; i < kPatch; i++)
          bt_x_avx2(ty_rows + i * RW, g.tw, V + ((int64_t)(i * kPatch) * C + c) * Tb + (ty - ty0) * g.tw, C * Tb);
        continue;
      }
#endif
      for (int i = 0; i < kPatch; i++) {  // split into phases: an interleaved group of 4, which vectorizes
        const float* src = ty_rows + i * RW;
        float *p0 = ph + i * 4 * Q, *p1 = p0 + Q, *p2 = p1 + Q, *p3 = p2 + Q;
        for (int64_t q = 0; q < Q; q++) {
          p0[q] = src[4 * q];
          p1[q] = src[4 * q + 1];
          p2[q] = src[4 * q + 2];
          p3[q] = src[4 * q + 3];
        }
      }
      // B^T along x: input column 4tx + j is phase j % 4 at q = tx + j / 4.
      for (int i = 0; i < kPatch; i++) {
        const float* p = ph + i * 4 * Q;
        float* out = V + ((int64_t)(i * kPatch) * C + c) * Tb + (ty - ty0) * g.tw;  // e = (i, 0)
        const int64_t os = C * Tb;  // next k
        bt6(g.tw, p, p + Q, p + 2 * Q, p + 3 * Q, p + 1, p + Q + 1, out, out + os, out + 2 * os, out + 3 * os, out + 4 * os,
            out + 5 * os);
      }
    }
  }
}

// Y[m] for output channels [m0, m1) of M: A^T P A per tile, then post (bias, z,
// activation). Both passes of A^T run over all the tiles of rows [ty0, ty1) at
// once (the vector loops are Tb long, not a tile row's tw: 4 at 13x13 would run
// scalar). buf: scratch of 40 * Tb floats.
inline MXCPU_INLINE void output_transform_impl(const wino_geom& g, const float* __restrict P, int64_t M, int64_t m0,
                                               int64_t m1, int64_t ty0, int64_t ty1, const gemm_post<float>& post,
                                               float* __restrict y, float* __restrict buf) {
  const int64_t tw = g.tw, Tb = (ty1 - ty0) * tw;
  float* s = buf;              // A^T along x: [i][r][t], 6 x 4 x Tb
  float* o = buf + 24 * Tb;    // A^T along y: [r2][r][t], 4 x 4 x Tb
  const int64_t ks = M * Tb;   // P: next e
  for (int64_t m = m0; m < m1; m++) {
    const float b = post.bias ? post.bias[m] : 0.0f;
    float* plane = y + m * g.OH * g.OW;
    for (int i = 0; i < kPatch; i++) {
      const float* p = P + ((int64_t)(i * kPatch) * M + m) * Tb;
      float* d = s + i * 4 * Tb;
      at6(Tb, p, p + ks, p + 2 * ks, p + 3 * ks, p + 4 * ks, p + 5 * ks, 0.0f, d, d + Tb, d + 2 * Tb, d + 3 * Tb);
    }
    for (int r = 0; r < 4; r++) {
      const int64_t st = 4 * Tb;  // next i
      const float* d = s + r * Tb;
      at6(Tb, d, d + st, d + 2 * st, d + 3 * st, d + 4 * st, d + 5 * st, b, o + r * Tb, o + (4 + r) * Tb,
          o + (8 + r) * Tb, o + (12 + r) * Tb);
    }
    // Without a residual the activation goes over o (16 x Tb values in L1,
    // contiguous) before the rows are made: applied to a row just stored, its
    // vector loads waited on the row's scalar stores.
    if (!post.z) apply_act(post, o, static_cast<const float*>(nullptr), 16 * Tb);
    for (int64_t ty = ty0; ty < ty1; ty++)
      for (int r2 = 0; r2 < kTile; r2++) {
        const int64_t oy = ty * kTile + r2;
        if (oy >= g.OH) break;
        float* row = plane + oy * g.OW;
        const float* s0 = o + r2 * 4 * Tb + (ty - ty0) * tw;  // phase r of x = 4 tx + r at s0 + r * Tb
        const float *s1 = s0 + Tb, *s2 = s1 + Tb, *s3 = s2 + Tb;
        const int64_t full = g.OW / 4;
        for (int64_t q = 0; q < full; q++) {  // interleave the 4 phases (vectorizes)
          row[4 * q] = s0[q];
          row[4 * q + 1] = s1[q];
          row[4 * q + 2] = s2[q];
          row[4 * q + 3] = s3[q];
        }
        for (int64_t x = 4 * full; x < g.OW; x++) row[x] = s0[(x & 3) * Tb + (x >> 2)];
        if (post.z) apply_act(post, row, post.z + (row - y), g.OW);
      }
  }
}

void input_transform_base(const wino_geom& g, const float* x, int64_t C, int64_t c0, int64_t c1, int64_t ty0,
                          int64_t ty1, float* V, float* rows) {
  input_transform_impl<false>(g, x, C, c0, c1, ty0, ty1, V, rows);
}
void output_transform_base(const wino_geom& g, const float* P, int64_t M, int64_t m0, int64_t m1, int64_t ty0,
                           int64_t ty1, const gemm_post<float>& post, float* y, float* buf) {
  output_transform_impl(g, P, M, m0, m1, ty0, ty1, post, y, buf);
}
#if defined(__GNUC__) && defined(__x86_64__)
__attribute__((target("avx2,fma"))) void input_transform_avx2(const wino_geom& g, const float* x, int64_t C,
                                                              int64_t c0, int64_t c1, int64_t ty0, int64_t ty1,
                                                              float* V, float* rows) {
  input_transform_impl<true>(g, x, C, c0, c1, ty0, ty1, V, rows);
}
__attribute__((target("avx2,fma"))) void output_transform_avx2(const wino_geom& g, const float* P, int64_t M,
                                                               int64_t m0, int64_t m1, int64_t ty0, int64_t ty1,
                                                               const gemm_post<float>& post, float* y, float* buf) {
  output_transform_impl(g, P, M, m0, m1, ty0, ty1, post, y, buf);
}
#endif
void input_transform(const wino_geom& g, const float* x, int64_t C, int64_t c0, int64_t c1, int64_t ty0, int64_t ty1,
                     float* V, float* rows) {
#if defined(__GNUC__) && defined(__x86_64__)
  static const bool avx2 = cpu_has_avx2_fma();
  if (avx2) return input_transform_avx2(g, x, C, c0, c1, ty0, ty1, V, rows);
#endif
  input_transform_base(g, x, C, c0, c1, ty0, ty1, V, rows);
}
void output_transform(const wino_geom& g, const float* P, int64_t M, int64_t m0, int64_t m1, int64_t ty0, int64_t ty1,
                      const gemm_post<float>& post, float* y, float* buf) {
#if defined(__GNUC__) && defined(__x86_64__)
  static const bool avx2 = cpu_has_avx2_fma();
  if (avx2) return output_transform_avx2(g, P, M, m0, m1, ty0, ty1, post, y, buf);
#endif
  output_transform_base(g, P, M, m0, m1, ty0, ty1, post, y, buf);
}

// U[e][m][c] = (G w G^T)[i][k] for the 3x3 filter w of (m, c), as vector loops
// over blocks of channels (the filters' taps transposed into f first).
inline MXCPU_INLINE void weight_transform_impl(const float* w, int64_t M, int64_t C, int64_t m0, int64_t m1,
                                               float* U) {
  constexpr int64_t CB = 64;
  float f[9][CB], t[6][3][CB];
  for (int64_t m = m0; m < m1; m++)
    for (int64_t cb = 0; cb < C; cb += CB) {
      const int64_t n = std::min(CB, C - cb);
      for (int64_t c = 0; c < n; c++)
        for (int j = 0; j < 9; j++) f[j][c] = w[(m * C + cb + c) * 9 + j];
      for (int j = 0; j < 3; j++)  // G f along the filter's rows
        for (int64_t c = 0; c < n; c++) {
          const float a = f[j][c], b = f[3 + j][c], d = f[6 + j][c];
          t[0][j][c] = 0.25f * a;
          t[1][j][c] = (a + b + d) * (-1.0f / 6);
          t[2][j][c] = (a - b + d) * (-1.0f / 6);
          t[3][j][c] = a * (1.0f / 24) + b * (1.0f / 12) + d * (1.0f / 6);
          t[4][j][c] = a * (1.0f / 24) - b * (1.0f / 12) + d * (1.0f / 6);
          t[5][j][c] = d;
        }
      for (int i = 0; i < 6; i++) {  // (G f) G^T along its columns
        float* u = U + ((int64_t)(i * 6) * M + m) * C + cb;
        const int64_t ks = M * C;
        for (int64_t c = 0; c < n; c++) {
          const float a = t[i][0][c], b = t[i][1][c], d = t[i][2][c];
          u[c] = 0.25f * a;
          u[c + ks] = (a + b + d) * (-1.0f / 6);
          u[c + 2 * ks] = (a - b + d) * (-1.0f / 6);
          u[c + 3 * ks] = a * (1.0f / 24) + b * (1.0f / 12) + d * (1.0f / 6);
          u[c + 4 * ks] = a * (1.0f / 24) - b * (1.0f / 12) + d * (1.0f / 6);
          u[c + 5 * ks] = d;
        }
      }
    }
}
void weight_transform_base(const float* w, int64_t M, int64_t C, int64_t m0, int64_t m1, float* U) {
  weight_transform_impl(w, M, C, m0, m1, U);
}
#if defined(__GNUC__) && defined(__x86_64__)
__attribute__((target("avx2,fma"))) void weight_transform_avx2(const float* w, int64_t M, int64_t C, int64_t m0,
                                                               int64_t m1, float* U) {
  weight_transform_impl(w, M, C, m0, m1, U);
}
#endif

}  // namespace

static bool winograd_off() {
  static const bool off = [] {
    const char* v = std::getenv("MX_CPU_WINOGRAD");
    return v && std::strcmp(v, "0") == 0;
  }();
  return off;
}

bool winograd_applies(int64_t C, int64_t M, int64_t OH, int64_t OW, bool constant_w) {
  if (winograd_off()) return false;
  const int64_t tiles = ((OH + 3) / 4) * ((OW + 3) / 4);
  // Enough channels for the GEMMs to pay, and enough tiles per filter that the
  // transforms' rows are long enough to vectorize and (when W is not a
  // constant) the per-call weight transform stays small: measured against
  // im2col, 1.1x to 1.5x faster from 16 channels at 28x28 and 56x56; at 14x14
  // (16 tiles) 1.6x with 256 channels once the transformed weights are kept, 0.6x
  // when they are transformed per call.
  return C >= 16 && M >= 16 && OW > 4 && tiles >= (constant_w ? 16 : 36);
}

int conv_winograd(mx_kernel_ctx* ctx, const int64_t* pads, const gemm_post<float>& act) {
  const mx_tensor &X = ctx->inputs[0], &W = ctx->inputs[1], &Y = ctx->outputs[0];
  const float* bias = ctx->num_inputs > 2 && ctx->inputs[2].data ? static_cast<const float*>(ctx->inputs[2].data) : nullptr;
  // the output transform's epilogue for image n: bias, z, activation
  const auto image_post = [&](int64_t n) {
    gemm_post<float> p = act;
    p.bias = bias;
    if (p.z) p.z += n * Y.shape[1] * Y.shape[2] * Y.shape[3];
    return p;
  };
  const int64_t N = X.shape[0], C = X.shape[1], M = W.shape[0];
  wino_geom g;
  g.H = X.shape[2], g.W = X.shape[3], g.OH = Y.shape[2], g.OW = Y.shape[3], g.pt = pads[0], g.pl = pads[1];
  g.th = (g.OH + 3) / 4, g.tw = (g.OW + 3) / 4, g.T = g.th * g.tw;
  const int nt = ctx->pool ? std::max(1, (int)ctx->pool->num_threads(ctx->pool->self)) : 1;
  // Small images (few tiles) run in three phases over the whole image, each
  // split among the threads: input transform by channels, the 36 GEMMs by e,
  // output transform by output channels. Larger ones run in bands of tile rows
  // (below), one task each, so threads meet only once per call.
  // 14x14 (16 tiles) measured faster in phases. Phases over larger images
  // (V and P within 4 MiB) were 6-20% faster at 28x28 and 56x56 with the two
  // CPUs close, but 20% slower with them far apart (a virtual machine's host
  // moves them): the GEMMs read the transforms another thread wrote, where a
  // band's data stays with its thread.
  const bool phases = g.T < 32;
  // A band's V and P stay near L2 size (>= 16 tiles); among the band heights
  // that allow, the one with the least padded GEMM columns and idle thread
  // slots; more than kThin tiles, so that no GEMM takes a path that reads U.
  constexpr int64_t kThin = 4;
  const int64_t fit = std::max<int64_t>(16, (int64_t(2) << 20) / (sizeof(float) * kE * (C + M)));
  int64_t tr = g.th;
  double best = -1;
  for (int64_t h = 1; h <= g.th && !phases; h++) {
    const int64_t nb = h * g.tw, bands = N * ((g.th + h - 1) / h);
    if (nb <= kThin && h < g.th) continue;
    if (best >= 0 && nb > fit) break;
    // padded GEMM columns x the busiest thread's tile rows over an even share;
    // short bands repeat the patch rows they share; a few bands per thread let
    // the others absorb a thread that the OS preempts
    const double cols = (double)((nb + 15) / 16 * 16) / nb;
    const double share = (double)((bands + nt - 1) / nt * h * nt) / (double)(N * g.th);
    const double cost = cols * share * (1.0 + 0.5 / h) * (bands < 2 * nt ? 1.1 : 1.0);
    if (best < 0 || cost < best) best = cost, tr = h;
  }
  const int64_t per_image = (g.th + tr - 1) / tr, Tmax = tr * g.tw;
  const int64_t per_u = gemm_packed_a_size(M, C);
  const size_t nU = (size_t)kE * M * C, nUp = (size_t)kE * per_u;
  // U[e] transformed and packed for the GEMMs: once per constant W (kept with
  // the constant, 4x the filter's size), else per call.
  const float* w = static_cast<const float*>(W.data);
  const uint64_t id = mx_const_id(ctx, 1);
  bool fresh = true;
  float* Up = id ? const_cache(id, w, CONST_WINOGRAD, M, C, nUp, &fresh) : nullptr;
  if (!Up) fresh = true;  // not kept (no id, or the cache refused it): transformed per call
  const size_t nV = phases ? (size_t)kE * C * g.T : 0, nP = phases ? (size_t)kE * M * g.T : 0;
  float* buf = static_cast<float*>(scratch(SCRATCH_OP, sizeof(float) * ((fresh ? nU : 0) + (Up ? 0 : nUp) + nV + nP)));
  if (!buf) return fail_oom(ctx, "Conv");
  float* U = fresh ? buf : nullptr;
  float* rest = buf + (fresh ? nU : 0);
  if (!Up) Up = rest, rest += nUp;
  if (fresh) {
    static const bool avx2 = cpu_has_avx2_fma();
    // Weights: transform (by output channels), then pack each U[e] (by e).
    parallel_for(ctx->pool, M, std::max<int64_t>(1, 4096 / C), [&](int64_t m0, int64_t m1) {
#if defined(__GNUC__) && defined(__x86_64__)
      if (avx2) return weight_transform_avx2(w, M, C, m0, m1, U);
#endif
      weight_transform_base(w, M, C, m0, m1, U);
    });
    parallel_for(ctx->pool, kE, 1, [&](int64_t e0, int64_t e1) {
      for (int64_t e = e0; e < e1; e++) gemm_pack_a(nullptr, M, C, mat_view<float>{U + e * M * C, C, 1}, Up + e * per_u);
    });
  }
  // U itself is not read by the GEMMs (more than kThin columns, M > 1).
  const auto u_view = [&](int64_t e) { return mat_view<float>{U ? U + e * M * C : nullptr, C, 1}; };
  // per thread: the input transform's rows, or the output transform's 40 values per tile
  const size_t rows = std::max<size_t>(48 * (g.tw + 1) + g.W, 40 * (phases ? g.T : Tmax));
  std::atomic<bool> ok{true};
  if (phases) {
    float *V = rest, *P = rest + nV;
    for (int64_t n = 0; n < N && ok; n++) {
      const float* x = static_cast<const float*>(X.data) + n * C * g.H * g.W;
      float* y = static_cast<float*>(Y.data) + n * M * g.OH * g.OW;
      const gemm_post<float> post = image_post(n);
      parallel_for(ctx->pool, C, std::max<int64_t>(1, 64 / g.T), [&](int64_t c0, int64_t c1) {
        float* tmp = static_cast<float*>(scratch(SCRATCH_GEMM_ROWS, sizeof(float) * rows));
        if (!tmp) { ok = false; return; }
        input_transform(g, x, C, c0, c1, 0, g.th, V, tmp);
      });
      parallel_for(ctx->pool, kE, 1, [&](int64_t e0, int64_t e1) {
        for (int64_t e = e0; e < e1; e++)
          if (!gemm(nullptr, M, g.T, C, 1.0f, u_view(e), mat_view<float>{V + e * C * g.T, g.T, 1}, 0.0f, P + e * M * g.T,
                    g.T, nullptr, Up + e * per_u))
            ok = false;
      });
      parallel_for(ctx->pool, M, std::max<int64_t>(1, 64 / g.T), [&](int64_t m0, int64_t m1) {
        float* tmp = static_cast<float*>(scratch(SCRATCH_GEMM_ROWS, sizeof(float) * rows));
        if (!tmp) { ok = false; return; }
        output_transform(g, P, M, m0, m1, 0, g.th, post, y, tmp);
      });
    }
    return ok ? MX_OK : fail_oom(ctx, "Conv");
  }
  parallel_for(ctx->pool, N * per_image, 1, [&](int64_t b0, int64_t b1) {
    const size_t nV = (size_t)kE * C * Tmax, nP = (size_t)kE * M * Tmax;
    float* V = static_cast<float*>(scratch(SCRATCH_GEMM_ROWS, sizeof(float) * (nV + nP + rows)));
    if (!V) { ok = false; return; }
    float* P = V + nV;
    float* tmp = P + nP;
    for (int64_t band = b0; band < b1 && ok; band++) {
      const int64_t n = band / per_image, ty0 = band % per_image * tr, ty1 = std::min(g.th, ty0 + tr), Tb = (ty1 - ty0) * g.tw;
      const float* x = static_cast<const float*>(X.data) + n * C * g.H * g.W;
      float* y = static_cast<float*>(Y.data) + n * M * g.OH * g.OW;
      input_transform(g, x, C, 0, C, ty0, ty1, V, tmp);
      for (int64_t e = 0; e < kE; e++)
        if (!gemm(nullptr, M, Tb, C, 1.0f, u_view(e), mat_view<float>{V + e * C * Tb, Tb, 1}, 0.0f, P + e * M * Tb, Tb,
                  nullptr, Up + e * per_u))
          ok = false;
      output_transform(g, P, M, 0, M, ty0, ty1, image_post(n), y, tmp);
    }
  });
  return ok ? MX_OK : fail_oom(ctx, "Conv");
}

// ---------------------------------------------------------------- F(2x2, 3x3)

// Small planes (7x7: F(4x4) would have 4 tiles, GEMMs of 4 columns) take
// F(2x2, 3x3): every 2x2 block of outputs from a 4x4 patch d as
// Y = A^T [(G g G^T) . (B^T d B)] A with
//   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1],
//   A^T = [1 1 1 0; 0 1 -1 -1]:
// 16 GEMMs U_e [M, C] x V_e [C, tiles], 2.25x fewer multiply-adds than direct
// summation (1.72x at 7x7, whose 16 tiles cover 8x8). The points 0, +-1 round
// less than F(4x4)'s. Only for a constant W: U (16/9 of W) is kept with it.
// The three steps run one after another over the whole image, each split among
// the threads (input transform by channels, GEMMs by e, output transform by
// output channels).
bool winograd2_applies(int64_t C, int64_t M, int64_t OH, int64_t OW, bool constant_w) {
  if (winograd_off() || !constant_w || C < 64 || M < 64) return false;
  const int64_t tiles4 = ((OH + 3) / 4) * ((OW + 3) / 4), tiles2 = ((OH + 1) / 2) * ((OW + 1) / 2);
  return tiles4 < 16 && tiles2 >= 9;  // where F(4x4) does not apply, with enough tiles for a GEMM panel
}

int conv_winograd2(mx_kernel_ctx* ctx, const int64_t* pads, const gemm_post<float>& act) {
  constexpr int kE2 = 16;
  const mx_tensor &X = ctx->inputs[0], &W = ctx->inputs[1], &Y = ctx->outputs[0];
  const float* bias = ctx->num_inputs > 2 && ctx->inputs[2].data ? static_cast<const float*>(ctx->inputs[2].data) : nullptr;
  const int64_t N = X.shape[0], C = X.shape[1], M = W.shape[0];
  const int64_t H = X.shape[2], Wd = X.shape[3], OH = Y.shape[2], OW = Y.shape[3], pt = pads[0], pl = pads[1];
  const int64_t th = (OH + 1) / 2, tw = (OW + 1) / 2, T = th * tw;
  const int64_t per_u = gemm_packed_a_size(M, C);
  const size_t nU = (size_t)kE2 * M * C, nUp = (size_t)kE2 * per_u, nV = (size_t)kE2 * C * T, nP = (size_t)kE2 * M * T;
  const float* w = static_cast<const float*>(W.data);
  const uint64_t id = mx_const_id(ctx, 1);
  bool fresh = true;
  float* Up = id ? const_cache(id, w, CONST_WINOGRAD2, M, C, nUp, &fresh) : nullptr;
  if (!Up) fresh = true;
  float* buf = static_cast<float*>(scratch(SCRATCH_OP, sizeof(float) * ((fresh ? nU : 0) + (Up ? 0 : nUp) + nV + nP)));
  if (!buf) return fail_oom(ctx, "Conv");
  float* U = fresh ? buf : nullptr;
  float* rest = buf + (fresh ? nU : 0);
  if (!Up) Up = rest, rest += nUp;
  float *V = rest, *P = rest + nV;
  if (fresh) {
    // U[e][m][c] = (G g G^T)[i][k], e = 4i + k
    parallel_for(ctx->pool, M, std::max<int64_t>(1, 4096 / C), [&](int64_t m0, int64_t m1) {
      for (int64_t m = m0; m < m1; m++)
        for (int64_t c = 0; c < C; c++) {
          const float* g = w + (m * C + c) * 9;
          float t[4][3];
          for (int j = 0; j < 3; j++) {
            t[0][j] = g[j];
            t[1][j] = 0.5f * (g[j] + g[3 + j] + g[6 + j]);
            t[2][j] = 0.5f * (g[j] - g[3 + j] + g[6 + j]);
            t[3][j] = g[6 + j];
          }
          float* u = U + m * C + c;
          const int64_t es = M * C;
          for (int i = 0; i < 4; i++) {
            u[(4 * i) * es] = t[i][0];
            u[(4 * i + 1) * es] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
            u[(4 * i + 2) * es] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
            u[(4 * i + 3) * es] = t[i][2];
          }
        }
    });
    parallel_for(ctx->pool, kE2, 1, [&](int64_t e0, int64_t e1) {
      for (int64_t e = e0; e < e1; e++) gemm_pack_a(nullptr, M, C, mat_view<float>{U + e * M * C, C, 1}, Up + e * per_u);
    });
  }
  std::atomic<bool> ok{true};
  for (int64_t n = 0; n < N && ok; n++) {
    const float* x = static_cast<const float*>(X.data) + n * C * H * Wd;
    float* y = static_cast<float*>(Y.data) + n * M * OH * OW;
    const float* z = act.z ? act.z + n * M * OH * OW : nullptr;
    // V[e][c][t] = (B^T d B)[i][k] for the 4x4 patch d of tile t
    parallel_for(ctx->pool, C, std::max<int64_t>(1, 256 / T), [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; c++) {
        const float* plane = x + c * H * Wd;
        for (int64_t ty = 0; ty < th; ty++)
          for (int64_t tx = 0; tx < tw; tx++) {
            float d[4][4];
            for (int i = 0; i < 4; i++) {
              const int64_t yy = 2 * ty - pt + i;
              for (int k = 0; k < 4; k++) {
                const int64_t xx = 2 * tx - pl + k;
                d[i][k] = yy >= 0 && yy < H && xx >= 0 && xx < Wd ? plane[yy * Wd + xx] : 0.0f;
              }
            }
            float r[4][4];
            for (int k = 0; k < 4; k++) {
              r[0][k] = d[0][k] - d[2][k];
              r[1][k] = d[1][k] + d[2][k];
              r[2][k] = d[2][k] - d[1][k];
              r[3][k] = d[1][k] - d[3][k];
            }
            float* v = V + c * T + ty * tw + tx;
            const int64_t es = C * T;
            for (int i = 0; i < 4; i++) {
              v[(4 * i) * es] = r[i][0] - r[i][2];
              v[(4 * i + 1) * es] = r[i][1] + r[i][2];
              v[(4 * i + 2) * es] = r[i][2] - r[i][1];
              v[(4 * i + 3) * es] = r[i][1] - r[i][3];
            }
          }
      }
    });
    const auto u_view = [&](int64_t e) { return mat_view<float>{U ? U + e * M * C : nullptr, C, 1}; };
    parallel_for(ctx->pool, kE2, 1, [&](int64_t e0, int64_t e1) {
      for (int64_t e = e0; e < e1; e++)
        if (!gemm(nullptr, M, T, C, 1.0f, u_view(e), mat_view<float>{V + e * C * T, T, 1}, 0.0f, P + e * M * T, T,
                  nullptr, Up + e * per_u))
          ok = false;
    });
    // Y = A^T P A + bias, then the residual and the activation
    parallel_for(ctx->pool, M, std::max<int64_t>(1, 256 / T), [&](int64_t m0, int64_t m1) {
      for (int64_t m = m0; m < m1; m++) {
        const float b = bias ? bias[m] : 0.0f;
        const float* pm = P + m * T;
        const int64_t es = M * T;
        for (int64_t ty = 0; ty < th; ty++)
          for (int64_t tx = 0; tx < tw; tx++) {
            const int64_t t = ty * tw + tx;
            float q[4][4], s2[2][4];
            for (int e = 0; e < kE2; e++) q[e / 4][e % 4] = pm[e * es + t];
            for (int k = 0; k < 4; k++) {
              s2[0][k] = q[0][k] + q[1][k] + q[2][k];
              s2[1][k] = q[1][k] - q[2][k] - q[3][k];
            }
            for (int r = 0; r < 2; r++) {
              const int64_t oy = 2 * ty + r;
              if (oy >= OH) break;
              const float o[2] = {s2[r][0] + s2[r][1] + s2[r][2] + b, s2[r][1] - s2[r][2] - s2[r][3] + b};
              for (int k = 0; k < 2; k++) {
                const int64_t ox = 2 * tx + k;
                if (ox >= OW) break;
                const int64_t at = (m * OH + oy) * OW + ox;
                y[at] = activate(act.act, act.p0, act.p1, z ? o[k] + z[at] : o[k]);
              }
            }
          }
      }
    });
  }
  return ok ? MX_OK : fail_oom(ctx, "Conv");
}

}  // namespace mxcpu
