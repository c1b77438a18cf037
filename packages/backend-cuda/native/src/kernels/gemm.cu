// MatMul, Gemm and Conv: one tiled GEMM kernel (and a tensor-core variant) over
// "problems" that say how to read A[m, k], B[k, n] and write Y[m, n] for batch z.
//   MatMul: Y[b.., i, j] = sum_k A[b.., i, k] B[b.., k, j] (NumPy matmul: 1-D A is
//     [1, K], 1-D B is [K, 1]; batch dims broadcast).
//   Gemm: Y = alpha op(A) op(B) + beta C, C optional and broadcast to [M, N];
//     integers compute alpha AB + beta C in double and truncate toward zero.
//   Conv (implicit GEMM, never storing im2col): per group g, rows m = (n, output
//     position), columns = the group's output channels, k = (input channel, tap);
//     taps in the padding read 0; bias added at the store. 1 to 3 spatial dims with
//     explicit kernel_shape, strides, dilations and pads (begins, then ends) from core.
//   FusedConv (domain "mx"): Y = activation(Conv + Z) in the Conv kernel's store:
//     the residual Z (optional, Y's shape) and the activation ('Identity', 'Relu',
//     'LeakyRelu' with activation_params [alpha], 'Clip' with [min, max]; Relu,
//     LeakyRelu and Clip keep NaN) are applied as each element of Y is written.
//   Conv/FusedConv through cuDNN (cudnn.cc, when it is loaded and accepts the
//     shape; else the kernels here): cuDNN writes conv(X, W) to Y, then one
//     elementwise pass adds the bias and Z and applies the activation (none when
//     there is nothing to add). float16/bfloat16 are thus rounded twice (the
//     convolution, then the sum) where the own kernel rounds once.
//   MatMulInteger: Y = (A - a_zp) @ (B - b_zp) in int32 (MatMul semantics, wrapping);
//     a_zp per tensor or per index of A's dim rank-2, b_zp per tensor or per column.
//   QLinearMatMul: y = saturate(round_half_even(acc * m + y_zp)), acc the integer
//     product of the shifted a (a_zp per tensor or per index of a's first dim) and b
//     (b_zp per column), m = a_scale * b_scale / y_scale rounded to the scales'
//     precision after each operation (b's scale may be per column), as the cpu's.
//   ConvInteger: y = conv(x - x_zp, w - w_zp) in int32 (w_zp per tensor or per output
//     channel); QLinearConv: like QLinearMatMul over conv(x - x_zp, w - w_zp) + B
//     (int32), with the float32 multiplier x_scale * w_scale[m] / y_scale per output
//     channel. Taps in the padding read 0 (after the shift), as on the cpu.
// Numerics: floats accumulate in float (double for float64); 16-bit floats use
// tensor cores (WMMA 16x16x16, float accumulation) on sm_75+ (float16) and sm_80+
// (bfloat16). cuBLAS, when it was loaded, runs MatMul/Gemm for float dtypes with
// one batch stride per operand; float32 stays exact float32 unless
// MX_CUDA_ALLOW_TF32=1. Gemm in float32/float16/bfloat16 whose C is a row of N
// added as is (beta 1) goes to cuBLASLt's bias epilogue first (cublaslt.cc).
// Integers accumulate in 64 bits and wrap.
// Tensor cores through WMMA are NVIDIA-only: a HIP build for AMD (__HIP_PLATFORM_AMD__)
// compiles the tiled kernel alone.
#if !defined(__HIP_PLATFORM_AMD__)
#define MXC_WMMA 1
#include <mma.h>
#else
#define MXC_WMMA 0
#endif

#include "../cublaslt.h"
#include "common.cuh"

namespace mxcuda {
namespace {

constexpr int BM = 64, BN = 64, BK = 16;

// ---- problems: view(z) gives a(m, k), b(k, n) and store(m, n, acc).
template <class T> struct MatMulP {
  const T* a;
  const T* b;
  T* y;
  int64_t M, N, K, batch;
  Walk<2> bw;  // batch offsets of a and b (elements)
  struct View {
    const T* a;
    const T* b;
    T* y;
    int64_t K, N;
    __device__ T la(int64_t m, int64_t k) const { return a[m * K + k]; }
    __device__ T lb(int64_t k, int64_t n) const { return b[k * N + n]; }
    template <class A> __device__ void store(int64_t m, int64_t n, A v) const { y[m * N + n] = convert<T>(v); }
  };
  __device__ View view(int64_t z) const {
    int64_t off[2];
    bw.offsets(z, off);
    return View{a + off[0], b + off[1], y + z * M * N, K, N};
  }
};

template <class T> struct GemmP {
  const T* a;
  const T* b;
  const T* c;
  T* y;
  int64_t M, N, K, batch;
  bool ta, tb;
  int64_t cs0, cs1;  // C's strides over [M, N] (0 where it broadcasts)
  double alpha, beta;
  __device__ const GemmP& view(int64_t) const { return *this; }
  __device__ T la(int64_t m, int64_t k) const { return ta ? a[k * M + m] : a[m * K + k]; }
  __device__ T lb(int64_t k, int64_t n) const { return tb ? b[n * K + k] : b[k * N + n]; }
  template <class A> __device__ void store(int64_t m, int64_t n, A v) const {
    using R = std::conditional_t<is_int_v<T> || std::is_same<T, double>::value, double, float>;
    R r = R(alpha) * R(v);
    if (c) r += R(beta) * R(up(c[m * cs0 + n * cs1]));
    y[m * N + n] = convert<T>(r);
  }
};

struct ConvGeom {
  int64_t n, c, cg, mo, mg;  // batch, input channels, per group, output channels, per group
  int64_t in[3], out[3], k[3], st[3], pad[3], dil[3];
  int64_t opos, kprod;  // output positions per image, taps per channel
  // X's element at row m (image, output position), depth k (channel in group z, tap); -1 in the padding.
  __device__ int64_t x_at(int64_t m, int64_t k, int64_t z) const {
    const int64_t n = m / opos, o = m - n * opos;
    const int64_t ci = k / kprod, t = k - ci * kprod;
    const int64_t o2 = o % out[2], o1 = (o / out[2]) % out[1], o0 = o / (out[2] * out[1]);
    const int64_t t2 = t % this->k[2], t1 = (t / this->k[2]) % this->k[1], t0 = t / (this->k[2] * this->k[1]);
    const int64_t i0 = o0 * st[0] - pad[0] + t0 * dil[0];
    const int64_t i1 = o1 * st[1] - pad[1] + t1 * dil[1];
    const int64_t i2 = o2 * st[2] - pad[2] + t2 * dil[2];
    if (i0 < 0 || i0 >= in[0] || i1 < 0 || i1 >= in[1] || i2 < 0 || i2 >= in[2]) return -1;
    return (((n * c + z * cg + ci) * in[0] + i0) * in[1] + i1) * in[2] + i2;
  }
  // Y's element at row m, column j (output channel in group z).
  __device__ int64_t y_at(int64_t m, int64_t j, int64_t z) const {
    const int64_t n = m / opos;
    return (n * mo + z * mg + j) * opos + (m - n * opos);
  }
};
enum PostAct { kActNone, kActRelu, kActLeakyRelu, kActClip };
// FusedConv's activation of an accumulated value r (float, or double for float64);
// Relu, LeakyRelu and Clip keep NaN (every comparison with NaN is false).
template <class R> __device__ __forceinline__ R post_act(R r, int act, double p0, double p1) {
  switch (act) {
    case kActRelu: return r < R(0) ? R(0) : r;
    case kActLeakyRelu: return r < R(0) ? R(p0) * r : r;
    case kActClip: return r < R(p0) ? R(p0) : r > R(p1) ? R(p1) : r;
    default: return r;
  }
}
template <class T> struct ConvP {
  const T* x;
  const T* w;
  const T* bias;
  const T* z;  // FusedConv's residual, or null
  T* y;
  int act;  // PostAct: FusedConv's activation, with its parameters
  double p0, p1;
  int64_t M, N, K, batch;  // rows n*opos, columns mg, depth cg*kprod, batch = groups
  ConvGeom g;
  struct View {
    const ConvP* p;
    int64_t z;
    __device__ T la(int64_t m, int64_t k) const {
      const int64_t f = p->g.x_at(m, k, z);
      return f < 0 ? T(0) : p->x[f];
    }
    __device__ T lb(int64_t k, int64_t j) const { return p->w[(z * p->g.mg + j) * p->K + k]; }
    template <class A> __device__ void store(int64_t m, int64_t j, A v) const {
      const int64_t ch = z * p->g.mg + j, at = p->g.y_at(m, j, z);
      using R = std::conditional_t<std::is_same<T, double>::value, double, float>;
      R r = R(v);
      if (p->bias) r += R(up(p->bias[ch]));
      if (p->z) r += R(up(p->z[at]));
      p->y[at] = convert<T>(post_act(r, p->act, p->p0, p->p1));
    }
  };
  __device__ View view(int64_t z) const { return View{this, z}; }
};

// ---- MatMulInteger / QLinearMatMul / ConvInteger / QLinearConv: int8/uint8
// operands shifted by their zero points, multiplied in the integer path (64-bit
// accumulation).
struct ZeroPoint {
  const void* p;  // null: 0
  bool u8, per;
  int64_t len, inner;  // per: the zero point of flat element f is p[f / inner % len]
  __device__ __forceinline__ int32_t at(int64_t f) const {
    if (!p) return 0;
    const int64_t i = per ? f / inner % len : 0;
    return u8 ? (int32_t) static_cast<const uint8_t*>(p)[i] : (int32_t) static_cast<const int8_t*>(p)[i];
  }
};
// round_half_even(v) saturated to TY (int8/uint8); NaN gives 0.
template <class TY> __device__ __forceinline__ TY requantize(double v) {
  const double r = rint(v);
  return r != r ? TY(0) : TY(fmin((double)std::numeric_limits<TY>::max(), fmax((double)std::numeric_limits<TY>::lowest(), r)));
}
template <class TX, class TW, class TY> struct IntConvP {
  const TX* x;
  const TW* w;
  TY* y;
  int64_t M, N, K, batch;
  ConvGeom g;
  ZeroPoint xz, wz;
  // QLinearConv (TY int8/uint8): scales (float dtypes, read at run time), w_scale's count, y's zero point, the int32 bias
  const void *xs, *ws, *ys, *yzp;
  int xs_t, ws_t, ys_t;
  int64_t wscales;
  const int32_t* bias;
  struct View {
    const IntConvP* p;
    int64_t z;
    __device__ int32_t la(int64_t m, int64_t k) const {
      const int64_t f = p->g.x_at(m, k, z);
      return f < 0 ? 0 : (int32_t)p->x[f] - p->xz.at(f);
    }
    __device__ int32_t lb(int64_t k, int64_t j) const {
      const int64_t f = (z * p->g.mg + j) * p->K + k;
      return (int32_t)p->w[f] - p->wz.at(f);
    }
    template <class A> __device__ void store(int64_t m, int64_t j, A v) const {
      const int64_t ch = z * p->g.mg + j, at = p->g.y_at(m, j, z);
      if constexpr (std::is_same<TY, int32_t>::value) {
        p->y[at] = (int32_t)(uint32_t)(uint64_t)v;  // wraps like int32 accumulation
      } else {
        const double acc = (double)v + (p->bias ? (double)p->bias[ch] : 0.0);
        const float mult = ((float)load_any(p->xs, p->xs_t, 0) * (float)load_any(p->ws, p->ws_t, p->wscales == 1 ? 0 : ch)) /
                           (float)load_any(p->ys, p->ys_t, 0);
        p->y[at] = requantize<TY>(acc * (double)mult + (p->yzp ? (double)static_cast<const TY*>(p->yzp)[0] : 0.0));
      }
    }
  };
  __device__ View view(int64_t z) const { return View{this, z}; }
};
template <class TA, class TB, class TY> struct IntMatMulP {
  const TA* a;
  const TB* b;
  TY* y;
  int64_t M, N, K, batch;
  Walk<2> bw;
  ZeroPoint az, bz;
  // QLinearMatMul (TY int8/uint8): the scales (dtype sdtype), y's zero point, and
  // b_scale's count (1, or one per column).
  const void *as, *bs, *ys, *yzp;
  int sdtype;
  int64_t bscales;
  struct View {
    const IntMatMulP* p;
    int64_t aoff, boff, z;
    __device__ int32_t la(int64_t m, int64_t k) const {
      const int64_t f = aoff + m * p->K + k;
      return (int32_t)p->a[f] - p->az.at(f);
    }
    __device__ int32_t lb(int64_t k, int64_t n) const {
      const int64_t f = boff + k * p->N + n;
      return (int32_t)p->b[f] - p->bz.at(f);
    }
    template <class A> __device__ void store(int64_t m, int64_t n, A v) const {
      const int64_t e = (z * p->M + m) * p->N + n;
      if constexpr (std::is_same<TY, int32_t>::value) {
        p->y[e] = (int32_t)(uint32_t)(uint64_t)v;  // wraps like int32 accumulation
      } else {
        const int ts = p->sdtype;
        const float mult = round_to(ts, round_to(ts, (float)load_any(p->as, ts, 0) * (float)load_any(p->bs, ts, p->bscales == 1 ? 0 : n)) /
                                            (float)load_any(p->ys, ts, 0));
        p->y[e] = requantize<TY>((double)v * (double)mult + (p->yzp ? (double)static_cast<const TY*>(p->yzp)[0] : 0.0));
      }
    }
  };
  __device__ View view(int64_t z) const {
    int64_t off[2];
    bw.offsets(z, off);
    return View{this, off[0], off[1], z};
  }
};

// ---- the tiled kernel: 64x64 outputs per block, 256 threads of 4x4 each.
template <class P, class T>
__global__ void __launch_bounds__(256) k_gemm(P p) {
  using A = std::conditional_t<is_int_v<T>, acc_t<T>, std::conditional_t<std::is_same<T, double>::value, double, float>>;
  __shared__ A As[BK][BM + 1];
  __shared__ A Bs[BK][BN + 1];
  const int64_t z = blockIdx.z, m0 = (int64_t)blockIdx.x * BM, n0 = (int64_t)blockIdx.y * BN;
  const auto v = p.view(z);
  const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
  A acc[4][4];
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 4; j++) acc[i][j] = A(0);
  for (int64_t k0 = 0; k0 < p.K; k0 += BK) {
    for (int e = threadIdx.x; e < BM * BK; e += 256) {
      const int mm = e / BK, kk = e % BK;
      const int64_t m = m0 + mm, k = k0 + kk;
      As[kk][mm] = m < p.M && k < p.K ? A(up(v.la(m, k))) : A(0);
    }
    for (int e = threadIdx.x; e < BK * BN; e += 256) {
      const int kk = e / BN, nn = e % BN;
      const int64_t k = k0 + kk, n = n0 + nn;
      Bs[kk][nn] = k < p.K && n < p.N ? A(up(v.lb(k, n))) : A(0);
    }
    __syncthreads();
    for (int kk = 0; kk < BK; kk++) {
      A a[4], b[4];
      for (int i = 0; i < 4; i++) a[i] = As[kk][ty + 16 * i];
      for (int j = 0; j < 4; j++) b[j] = Bs[kk][tx + 16 * j];
      for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) acc[i][j] += a[i] * b[j];
    }
    __syncthreads();
  }
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 4; j++) {
      const int64_t m = m0 + ty + 16 * i, n = n0 + tx + 16 * j;
      if (m < p.M && n < p.N) v.store(m, n, acc[i][j]);
    }
}

#if MXC_WMMA
// ---- tensor cores: 64x64 outputs per block, 4 warps of 32x32 (2x2 WMMA tiles).
template <class P, class T> __device__ void wmma_body(const P& p) {
  using namespace nvcuda;
  constexpr int LA = BK + 8, LB = BN + 8, LC = BN + 4;  // padded leading dims (WMMA needs multiples of 8 / 4)
  __shared__ __align__(32) T As[BM][LA];
  __shared__ __align__(32) T Bs[BK][LB];
  __shared__ __align__(32) float Cs[BM][LC];
  const int64_t z = blockIdx.z, m0 = (int64_t)blockIdx.x * BM, n0 = (int64_t)blockIdx.y * BN;
  const auto v = p.view(z);
  const int warp = threadIdx.x / 32, wm = warp / 2, wn = warp % 2;
  wmma::fragment<wmma::accumulator, 16, 16, 16, float> c[2][2];
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 2; j++) wmma::fill_fragment(c[i][j], 0.0f);
  for (int64_t k0 = 0; k0 < p.K; k0 += BK) {
    for (int e = threadIdx.x; e < BM * BK; e += blockDim.x) {
      const int mm = e / BK, kk = e % BK;
      const int64_t m = m0 + mm, k = k0 + kk;
      As[mm][kk] = m < p.M && k < p.K ? v.la(m, k) : T(0.0f);
    }
    for (int e = threadIdx.x; e < BK * BN; e += blockDim.x) {
      const int kk = e / BN, nn = e % BN;
      const int64_t k = k0 + kk, n = n0 + nn;
      Bs[kk][nn] = k < p.K && n < p.N ? v.lb(k, n) : T(0.0f);
    }
    __syncthreads();
    wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> a[2];
    wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::row_major> b[2];
    for (int i = 0; i < 2; i++) wmma::load_matrix_sync(a[i], &As[wm * 32 + i * 16][0], LA);
    for (int j = 0; j < 2; j++) wmma::load_matrix_sync(b[j], &Bs[0][wn * 32 + j * 16], LB);
    for (int i = 0; i < 2; i++)
      for (int j = 0; j < 2; j++) wmma::mma_sync(c[i][j], a[i], b[j], c[i][j]);
    __syncthreads();
  }
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 2; j++)
      wmma::store_matrix_sync(&Cs[wm * 32 + i * 16][wn * 32 + j * 16], c[i][j], LC, wmma::mem_row_major);
  __syncthreads();
  for (int e = threadIdx.x; e < BM * BN; e += blockDim.x) {
    const int mm = e / BN, nn = e % BN;
    const int64_t m = m0 + mm, n = n0 + nn;
    if (m < p.M && n < p.N) v.store(m, n, Cs[mm][nn]);
  }
}
template <class P, class T>
__global__ void __launch_bounds__(128) k_gemm_wmma(P p) {
  if constexpr (std::is_same<T, bf16>::value) {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
    wmma_body<P, T>(p);
#endif
  } else {
    wmma_body<P, T>(p);
  }
}

#endif

template <class P, class T> int launch(mx_kernel_ctx* ctx, const P& p) {
  if (!p.M || !p.N || !p.batch) return MX_OK;
  const int64_t gy = (p.N + BN - 1) / BN;
  if (gy > 65535 || p.batch > 65535)
    return mx_fail(ctx, MX_ERR_UNSUPPORTED, "GEMM of %lld columns in %lld batches exceeds the cuda backend's grid",
                   (long long)p.N, (long long)p.batch);
  const dim3 grid((unsigned)((p.M + BM - 1) / BM), (unsigned)gy, (unsigned)p.batch);
  [[maybe_unused]] constexpr bool half = std::is_same<T, f16>::value || std::is_same<T, bf16>::value;
#if MXC_WMMA
  if constexpr (half) {
    if (device_cc(ctx->device) >= (std::is_same<T, bf16>::value ? 80 : 70)) {
      k_gemm_wmma<P, T><<<grid, 128, 0, stream_of(ctx)>>>(p);
      return MX_OK;
    }
  }
#endif
  k_gemm<P, T><<<grid, 256, 0, stream_of(ctx)>>>(p);
  return MX_OK;
}

template <class T> constexpr int dtype_of() {
  return std::is_same<T, float>::value ? MX_FLOAT32 : std::is_same<T, double>::value ? MX_FLOAT64
       : std::is_same<T, f16>::value ? MX_FLOAT16 : std::is_same<T, bf16>::value ? MX_BFLOAT16 : 0;
}

// NumPy matmul's geometry of A, B and Y: M, K, N and the walk over the batch
// dims (Y's leading dims; each operand's batch dims aligned right, stride 0 where
// broadcast; offsets in elements).
template <class P> void matmul_geometry(const mx_tensor& A, const mx_tensor& B, const mx_tensor& Y, P* p) {
  const bool a1 = A.ndim == 1, b1 = B.ndim == 1;
  p->M = a1 ? 1 : A.shape[A.ndim - 2];
  p->K = A.shape[A.ndim - 1];
  p->N = b1 ? 1 : B.shape[B.ndim - 1];
  const int nb = Y.ndim - (a1 ? 0 : 1) - (b1 ? 0 : 1);
  int64_t st[2][MX_MAX_DIMS];
  const mx_tensor* ops[2] = {&A, &B};
  const int64_t mat[2] = {p->M * p->K, p->K * p->N};
  for (int k = 0; k < 2; k++) {
    const int own = ops[k]->ndim >= 2 ? ops[k]->ndim - 2 : 0;
    int64_t s = mat[k];
    for (int d = nb - 1; d >= 0; d--) {
      const int j = d - (nb - own);
      const int64_t dim = j >= 0 ? ops[k]->shape[j] : 1;
      st[k][d] = dim == 1 ? 0 : s;
      s *= dim;
    }
  }
  p->bw = make_walk<2>(Y.shape, nb, st);
  p->batch = p->bw.n;
}

template <class T> int matmul(mx_kernel_ctx* ctx) {
  const mx_tensor &A = ctx->inputs[0], &B = ctx->inputs[1], &Y = ctx->outputs[0];
  MatMulP<T> p{};
  p.a = (const T*)A.data;
  p.b = (const T*)B.data;
  p.y = (T*)Y.data;
  matmul_geometry(A, B, Y, &p);
  if (!p.M || !p.N || !p.batch) return MX_OK;
  if (!p.K) return cudaMemsetAsync(Y.data, 0, numel(Y) * sizeof(T), stream_of(ctx)) == cudaSuccess ? MX_OK : mx_fail(ctx, MX_ERR_INTERNAL, "memset");
  if constexpr (dtype_of<T>() != 0) {
    if (cublas_available() && p.bw.nd <= 1 && p.M < INT32_MAX && p.N < INT32_MAX && p.K < INT32_MAX) {
      const int64_t sa = p.bw.nd ? p.bw.st[0][0] : 0, sb = p.bw.nd ? p.bw.st[1][0] : 0;
      // Row-major Y = A B is column-major Y^T = B^T A^T.
      return cublas_gemm(ctx, dtype_of<T>(), false, false, p.N, p.M, p.K, 1.0, p.b, p.N, sb, p.a, p.K, sa, 0.0, p.y, p.N,
                         p.M * p.N, p.batch);
    }
  }
  return launch<MatMulP<T>, T>(ctx, p);
}

// The zero point of operand t: none, one, or one per index of t's dim `axis`.
ZeroPoint zero_point(const mx_kernel_ctx* ctx, int i, const mx_tensor& t, int axis) {
  ZeroPoint z{nullptr, false, false, 1, 1};
  if (i >= ctx->num_inputs || !ctx->inputs[i].data) return z;
  z.p = ctx->inputs[i].data;
  z.u8 = ctx->inputs[i].dtype == MX_UINT8;
  z.per = numel(ctx->inputs[i]) != 1;
  for (int d = axis; d < t.ndim; d++) (d == axis ? z.len : z.inner) *= t.shape[d];
  return z;
}
template <class TA, class TB, class TY> int int_matmul(mx_kernel_ctx* ctx, bool qlinear) {
  const int ia = 0, ib = qlinear ? 3 : 1;
  const mx_tensor &A = ctx->inputs[ia], &B = ctx->inputs[ib], &Y = ctx->outputs[0];
  IntMatMulP<TA, TB, TY> p{};
  p.a = (const TA*)A.data;
  p.b = (const TB*)B.data;
  p.y = (TY*)Y.data;
  matmul_geometry(A, B, Y, &p);
  p.az = zero_point(ctx, 2, A, qlinear ? 0 : std::max(0, A.ndim - 2));
  p.bz = zero_point(ctx, qlinear ? 5 : 3, B, B.ndim - 1);
  if (qlinear) {
    p.as = ctx->inputs[1].data;
    p.bs = ctx->inputs[4].data;
    p.ys = ctx->inputs[6].data;
    p.yzp = ctx->num_inputs > 7 ? ctx->inputs[7].data : nullptr;
    p.sdtype = ctx->inputs[1].dtype;
    p.bscales = numel(ctx->inputs[4]);
  }
  return launch<IntMatMulP<TA, TB, TY>, int32_t>(ctx, p);
}
template <class TA, class TB> int matmul_integer(mx_kernel_ctx* ctx) { return int_matmul<TA, TB, int32_t>(ctx, false); }
template <class TA, class TB, class TY> int qlinear_matmul(mx_kernel_ctx* ctx) { return int_matmul<TA, TB, TY>(ctx, true); }

template <class E> __global__ void k_broadcast2(E* y, const E* c, int64_t M, int64_t N, int64_t s0, int64_t s1) {
  MXC_GRID_LOOP(i, M * N) y[i] = c[(i / N) * s0 + (i % N) * s1];
}

template <class T> int gemm(mx_kernel_ctx* ctx) {
  const mx_tensor &A = ctx->inputs[0], &B = ctx->inputs[1], &Y = ctx->outputs[0];
  const mx_tensor* C = ctx->num_inputs > 2 && ctx->inputs[2].data ? &ctx->inputs[2] : nullptr;
  GemmP<T> p{};
  p.a = (const T*)A.data;
  p.b = (const T*)B.data;
  p.y = (T*)Y.data;
  p.ta = mx_attr_int(ctx->attrs, "transA", 0) != 0;
  p.tb = mx_attr_int(ctx->attrs, "transB", 0) != 0;
  p.M = Y.shape[0];
  p.N = Y.shape[1];
  p.K = p.ta ? A.shape[0] : A.shape[1];
  p.batch = 1;
  p.alpha = mx_attr_float(ctx->attrs, "alpha", 1.0);
  p.beta = mx_attr_float(ctx->attrs, "beta", 1.0);
  if (C) {
    // C broadcasts to [M, N]: rank 0, 1 ([N]) or 2 with dims of 1.
    const int64_t c0 = C->ndim == 2 ? C->shape[0] : 1, c1 = C->ndim >= 1 ? C->shape[C->ndim - 1] : 1;
    p.c = (const T*)C->data;
    p.cs0 = c0 == 1 ? 0 : c1;
    p.cs1 = c1 == 1 ? 0 : 1;
  }
  if (!p.M || !p.N) return MX_OK;
  if constexpr (dtype_of<T>() != 0 && dtype_of<T>() != MX_FLOAT64) {
    // A bias row added as is (C of [N] or [1, N], beta 1): cuBLASLt adds it in
    // the GEMM's epilogue, which saves the broadcast pass below and its re-read.
    if (p.c && p.beta == 1.0 && p.cs0 == 0 && (p.cs1 == 1 || p.N == 1) && p.K > 0 && p.M < INT32_MAX && p.N < INT32_MAX &&
        p.K < INT32_MAX) {
      int st = MX_OK;
      if (cublaslt_gemm_bias(ctx, dtype_of<T>(), p.ta, p.tb, p.M, p.N, p.K, p.alpha, p.a, p.b, p.c, p.y, &st)) return st;
    }
  }
  if constexpr (dtype_of<T>() != 0) {
    if (cublas_available() && p.M < INT32_MAX && p.N < INT32_MAX && p.K < INT32_MAX && p.K > 0) {
      double beta = 0;
      if (p.c && p.beta != 0) {  // Y = C broadcast, then Y = alpha AB + beta Y
        k_broadcast2<T><<<blocks_for(p.M * p.N), kThreads, 0, stream_of(ctx)>>>(p.y, p.c, p.M, p.N, p.cs0, p.cs1);
        beta = p.beta;
      }
      return cublas_gemm(ctx, dtype_of<T>(), p.tb, p.ta, p.N, p.M, p.K, p.alpha, p.b, p.tb ? p.K : p.N, 0, p.a,
                         p.ta ? p.M : p.K, 0, beta, p.y, p.N, 0, 1);
    }
  }
  return launch<GemmP<T>, T>(ctx, p);
}

// Conv, and FusedConv's with the residual z and activation act (p0, p1) at the store.
// The implicit GEMM of a Conv of X by W into Y: geometry, M, N, K and batch (= groups).
template <class P> int conv_geometry(mx_kernel_ctx* ctx, const char* op, const mx_tensor& X, const mx_tensor& W, const mx_tensor& Y, P* p) {
  const int s = X.ndim - 2;
  if (s < 1 || s > 3) return mx_fail(ctx, MX_ERR_UNSUPPORTED, "%s with %d spatial dims (the cuda backend has 1 to 3)", op, s);
  const int64_t *strides, *dil, *pads;
  const int32_t ns = mx_attr_ints(ctx->attrs, "strides", &strides);
  const int32_t nd = mx_attr_ints(ctx->attrs, "dilations", &dil);
  const int32_t np = mx_attr_ints(ctx->attrs, "pads", &pads);
  const int64_t group = mx_attr_int(ctx->attrs, "group", 1);
  if (group < 1 || X.shape[1] % group || W.shape[0] % group)
    return mx_fail(ctx, MX_ERR_INVALID, "%s: %lld input and %lld output channels in %lld groups", op, (long long)X.shape[1], (long long)W.shape[0],
                   (long long)group);
  ConvGeom& g = p->g;
  g.n = X.shape[0];
  g.c = X.shape[1];
  g.cg = g.c / group;
  g.mo = W.shape[0];
  g.mg = g.mo / group;
  g.opos = 1;
  g.kprod = 1;
  for (int d = 0; d < 3; d++) {
    const int j = d - (3 - s);  // leading unused dims have size 1
    g.in[d] = j >= 0 ? X.shape[2 + j] : 1;
    g.out[d] = j >= 0 ? Y.shape[2 + j] : 1;
    g.k[d] = j >= 0 ? W.shape[2 + j] : 1;
    g.st[d] = j >= 0 && j < ns ? strides[j] : 1;
    g.dil[d] = j >= 0 && j < nd ? dil[j] : 1;
    g.pad[d] = j >= 0 && j < np ? pads[j] : 0;
    g.opos *= g.out[d];
    g.kprod *= g.k[d];
  }
  p->M = g.n * g.opos;
  p->N = g.mg;
  p->K = g.cg * g.kprod;
  p->batch = group;
  if (p->M && p->N && !p->K) return mx_fail(ctx, MX_ERR_UNSUPPORTED, "%s with no input channels or taps", op);
  return MX_OK;
}

// The cuDNN path's store: Y = act(Y + bias[channel] + Z) in one pass over Y
// (bias and Z optional), the additions in the own kernel's order.
template <class T>
__global__ void k_conv_epilogue(T* y, const T* bias, const T* z, int act, double p0, double p1, int64_t n, int64_t opos, int64_t channels) {
  using R = std::conditional_t<std::is_same<T, double>::value, double, float>;
  MXC_GRID_LOOP(i, n) {
    R r = R(up(y[i]));
    if (bias) r += R(up(bias[(i / opos) % channels]));
    if (z) r += R(up(z[i]));
    y[i] = convert<T>(post_act(r, act, p0, p1));
  }
}

template <class T> int conv_post(mx_kernel_ctx* ctx, const T* z, int act, double p0, double p1) {
  const mx_tensor &X = ctx->inputs[0], &W = ctx->inputs[1], &Y = ctx->outputs[0];
  const mx_tensor* Bias = ctx->num_inputs > 2 && ctx->inputs[2].data ? &ctx->inputs[2] : nullptr;
  ConvP<T> p{};
  if (int st = conv_geometry(ctx, "Conv", X, W, Y, &p)) return st;
  p.x = (const T*)X.data;
  p.w = (const T*)W.data;
  p.bias = Bias ? (const T*)Bias->data : nullptr;
  p.z = z;
  p.act = act;
  p.p0 = p0;
  p.p1 = p1;
  p.y = (T*)Y.data;
  if (!p.M || !p.N || !p.batch) return MX_OK;
  // cuDNN, when loaded, computes the convolution (adding Z in place when Z is Y's
  // own memory); the bias, residual and activation follow in one elementwise pass.
  const bool z_in_y = z && (const void*)z == Y.data;
  int st = MX_OK;
  if (cudnn_conv(ctx, z_in_y, &st)) {
    if (st != MX_OK || (!p.bias && (!z || z_in_y) && act == kActNone)) return st;
    const int64_t n = numel(Y);
    k_conv_epilogue<T><<<blocks_for(n), kThreads, 0, stream_of(ctx)>>>(p.y, p.bias, z_in_y ? nullptr : z, act, p0, p1, n, p.g.opos,
                                                                       p.g.mo);
    return MX_OK;
  }
  return launch<ConvP<T>, T>(ctx, p);
}

template <class TX, class TW, class TY> int int_conv(mx_kernel_ctx* ctx, bool qlinear) {
  const char* op = qlinear ? "QLinearConv" : "ConvInteger";
  const mx_tensor &X = ctx->inputs[0], &W = ctx->inputs[qlinear ? 3 : 1], &Y = ctx->outputs[0];
  IntConvP<TX, TW, TY> p{};
  if (int st = conv_geometry(ctx, op, X, W, Y, &p)) return st;
  p.x = (const TX*)X.data;
  p.w = (const TW*)W.data;
  p.y = (TY*)Y.data;
  p.xz = zero_point(ctx, 2, X, 0);
  p.wz = zero_point(ctx, qlinear ? 5 : 3, W, 0);
  if (qlinear) {
    p.xs = ctx->inputs[1].data, p.xs_t = ctx->inputs[1].dtype;
    p.ws = ctx->inputs[4].data, p.ws_t = ctx->inputs[4].dtype;
    p.ys = ctx->inputs[6].data, p.ys_t = ctx->inputs[6].dtype;
    p.wscales = numel(ctx->inputs[4]);
    p.yzp = ctx->num_inputs > 7 ? ctx->inputs[7].data : nullptr;
    p.bias = ctx->num_inputs > 8 && ctx->inputs[8].data ? (const int32_t*)ctx->inputs[8].data : nullptr;
  }
  return launch<IntConvP<TX, TW, TY>, int32_t>(ctx, p);
}
template <class TX, class TW> int conv_integer(mx_kernel_ctx* ctx) { return int_conv<TX, TW, int32_t>(ctx, false); }
template <class TX, class TW, class TY> int qlinear_conv(mx_kernel_ctx* ctx) { return int_conv<TX, TW, TY>(ctx, true); }
template <class T> int conv(mx_kernel_ctx* ctx) { return conv_post<T>(ctx, nullptr, kActNone, 0, 0); }
template <class T> int fused_conv(mx_kernel_ctx* ctx) {
  const char* a = mx_attr_string(ctx->attrs, "activation", "Relu");
  const int act = !std::strcmp(a, "Relu") ? kActRelu : !std::strcmp(a, "LeakyRelu") ? kActLeakyRelu : !std::strcmp(a, "Clip") ? kActClip
                : !std::strcmp(a, "Identity") ? kActNone : -1;
  if (act < 0) return mx_fail(ctx, MX_ERR_INVALID, "FusedConv: unknown activation '%s'", a);
  const double* params;
  const int32_t np = attr_numbers(ctx->attrs, "activation_params", &params);
  const T* z = ctx->num_inputs > 3 && ctx->inputs[3].data ? (const T*)ctx->inputs[3].data : nullptr;
  return conv_post<T>(ctx, z, act, np > 0 ? params[0] : 0, np > 1 ? params[1] : 0);
}

}  // namespace
}  // namespace mxcuda

using namespace mxcuda;

#define REG_MM(T, key, ...) MXC_KERNEL("MatMul", key, (matmul<T>)); MXC_KERNEL("Gemm", key, (gemm<T>));
MXC_FLOAT_TYPES(REG_MM, _)
REG_MM(int32_t, "int32")
REG_MM(int64_t, "int64")
REG_MM(uint32_t, "uint32")
REG_MM(uint64_t, "uint64")
#define REG_CONV(T, key, ...) MXC_KERNEL("Conv", key, (conv<T>)); MXC_KERNEL_DOMAIN("FusedConv", "mx", key, (fused_conv<T>));
MXC_FLOAT_TYPES(REG_CONV, _)
// MatMulInteger's keys "T1,T2" and QLinearMatMul's "TS,T1,T2,T3" over int8/uint8 (the scales' dtype TS is read at run time).
#define REG_INT_MM(TA, ka, TB, kb)                                                                       \
  MXC_KERNEL("MatMulInteger", ka "," kb, (matmul_integer<TA, TB>));                                   \
  REG_QLINEAR_MM(TA, ka, TB, kb, int8_t, "int8") REG_QLINEAR_MM(TA, ka, TB, kb, uint8_t, "uint8")
#define REG_QLINEAR_MM(TA, ka, TB, kb, TY, ky)                                                          \
  MXC_KERNEL("QLinearMatMul", "float32," ka "," kb "," ky, (qlinear_matmul<TA, TB, TY>));              \
  MXC_KERNEL("QLinearMatMul", "float16," ka "," kb "," ky, (qlinear_matmul<TA, TB, TY>));              \
  MXC_KERNEL("QLinearMatMul", "bfloat16," ka "," kb "," ky, (qlinear_matmul<TA, TB, TY>));
REG_INT_MM(int8_t, "int8", int8_t, "int8") REG_INT_MM(int8_t, "int8", uint8_t, "uint8")
REG_INT_MM(uint8_t, "uint8", int8_t, "int8") REG_INT_MM(uint8_t, "uint8", uint8_t, "uint8")
// ConvInteger's keys "T1,T2" and QLinearConv's "T1,T2,T3" over int8/uint8.
#define REG_INT_CONV(TX, kx, TW, kw)                                                     \
  MXC_KERNEL("ConvInteger", kx "," kw, (conv_integer<TX, TW>));                        \
  MXC_KERNEL("QLinearConv", kx "," kw ",int8", (qlinear_conv<TX, TW, int8_t>));         \
  MXC_KERNEL("QLinearConv", kx "," kw ",uint8", (qlinear_conv<TX, TW, uint8_t>));
REG_INT_CONV(int8_t, "int8", int8_t, "int8") REG_INT_CONV(int8_t, "int8", uint8_t, "uint8")
REG_INT_CONV(uint8_t, "uint8", int8_t, "int8") REG_INT_CONV(uint8_t, "uint8", uint8_t, "uint8")
