// DFT and STFT as direct O(n^2) transforms, one thread per output bin, with a
// twiddle table (cos and sin of 2 pi m / n) in scratch; sums in double, as on the
// cpu. 16-bit floats are read and written through float.
//   DFT along `axis` of real [..., 1] or complex [..., 2] data, n = dft_length
//   (core resolved it and the axis; the input is zero-padded or truncated to n):
//     forward X_f = sum_k x_k e^{-2 pi i f k / n}, f < n (n/2 + 1 when onesided);
//     inverse x_k = 1/n sum_f X_f e^{2 pi i f k / n};
//     inverse + onesided (complex to real): the bins f <= n/2 stand for a
//     Hermitian spectrum, x_k = 1/n sum_{f <= n/2} c_f Re(X_f e^{2 pi i f k / n})
//     with c_f = 1 for f = 0 and f = n/2, 2 otherwise.
//   STFT: frame t of batch b is signal[b, t * frame_step + k] * window[k],
//     k < frame_length, transformed like a forward DFT of length frame_length.
#include "common.cuh"

namespace mxcuda {
namespace {

__global__ void k_twiddles(double* __restrict__ tw, int64_t n) {
  constexpr double kPi = 3.14159265358979323846;
  MXC_GRID_LOOP(m, n) {
    const double a = 2 * kPi * (double)m / (double)n;
    tw[2 * m] = cos(a);
    tw[2 * m + 1] = sin(a);
  }
}

// Bin f of the transform of x_k = get(k), k < len (zero beyond, up to n):
// sum_k x_k e^{sign 2 pi i f k / n}.
template <class G>
__device__ __forceinline__ void dft_bin(const double* tw, int64_t n, int64_t len, int64_t f, double sign, const G& get, double* re, double* im) {
  double sr = 0, si = 0;
  int64_t m = 0;
  const int64_t step = f % n;
  for (int64_t k = 0; k < (len < n ? len : n); k++) {
    double xr, xi;
    get(k, &xr, &xi);
    const double c = tw[2 * m], s = sign * tw[2 * m + 1];
    sr += xr * c - xi * s;
    si += xr * s + xi * c;
    m += step;
    if (m >= n) m -= n;
  }
  *re = sr;
  *im = si;
}

struct DftGeom {
  int64_t n, comps, oc, len, out_len, inner;
  bool inverse, onesided;
};
template <class T> __global__ void k_dft(DftGeom g, const double* __restrict__ tw, const T* __restrict__ x, T* __restrict__ y, int64_t items) {
  MXC_GRID_LOOP(it, items) {
    // it walks (o, f, i): output bin f of lane (o, i).
    const int64_t i = it % g.inner, f = it / g.inner % g.out_len, o = it / (g.inner * g.out_len);
    const T* lane = x + o * g.len * g.inner * g.comps + i * g.comps;
    auto get = [&](int64_t k, double* re, double* im) {
      *re = (double)up(lane[k * g.inner * g.comps]);
      *im = g.comps == 2 ? (double)up(lane[k * g.inner * g.comps + 1]) : 0.0;
    };
    T* dst = y + ((o * g.out_len + f) * g.inner + i) * g.oc;
    if (g.inverse && g.onesided) {
      // Output sample f: sum over the input bins q <= n/2 with angle 2 pi q f / n.
      double s = 0;
      int64_t m = 0;
      for (int64_t q = 0; q <= g.n / 2 && q < g.len; q++) {
        double xr, xi;
        get(q, &xr, &xi);
        s += (q == 0 || 2 * q == g.n ? 1.0 : 2.0) * (xr * tw[2 * m] - xi * tw[2 * m + 1]);
        m += f;
        m %= g.n;
      }
      dst[0] = convert<T>(ct<T>(s / (double)g.n));
      continue;
    }
    double re, im;
    dft_bin(tw, g.n, g.len, f, g.inverse ? 1.0 : -1.0, get, &re, &im);
    dst[0] = convert<T>(ct<T>(g.inverse ? re / (double)g.n : re));
    dst[1] = convert<T>(ct<T>(g.inverse ? im / (double)g.n : im));
  }
}

struct StftGeom {
  int64_t n, step, L, comps, frames, bins;
};
template <class T>
__global__ void k_stft(StftGeom g, const double* __restrict__ tw, const T* __restrict__ x, const T* __restrict__ win, T* __restrict__ y, int64_t items) {
  MXC_GRID_LOOP(it, items) {
    const int64_t f = it % g.bins, t = it / g.bins % g.frames, bt = it / (g.bins * g.frames);
    const T* frame = x + (bt * g.L + t * g.step) * g.comps;
    auto get = [&](int64_t k, double* re, double* im) {
      const double wk = win ? (double)up(win[k]) : 1.0;
      *re = (double)up(frame[k * g.comps]) * wk;
      *im = g.comps == 2 ? (double)up(frame[k * g.comps + 1]) * wk : 0.0;
    };
    double re, im;
    dft_bin(tw, g.n, g.n, f, -1.0, get, &re, &im);
    y[it * 2] = convert<T>(ct<T>(re));
    y[it * 2 + 1] = convert<T>(ct<T>(im));
  }
}

// Launches `launch(tw)` with a twiddle table of length n in scratch.
template <class F> int with_twiddles(mx_kernel_ctx* ctx, const char* op, int64_t n, F launch) {
  double* tw;
  if (int st = scratch_alloc(ctx, op, (size_t)(2 * (n > 1 ? n : 1)) * sizeof(double), (void**)&tw)) return st;
  if (n > 0) k_twiddles<<<blocks_for(n), kThreads, 0, stream_of(ctx)>>>(tw, n);
  launch(tw);
  return scratch_free(ctx, op, tw);
}

template <class T> int dft(mx_kernel_ctx* ctx) {
  const mx_tensor &x = ctx->inputs[0], &y = ctx->outputs[0];
  DftGeom g{};
  const int64_t axis = mx_attr_int(ctx->attrs, "axis", x.ndim - 2);
  g.n = mx_attr_int(ctx->attrs, "dft_length", 1);
  if (x.ndim < 2 || y.ndim != x.ndim || axis < 0 || axis >= x.ndim - 1 || g.n < 1)
    return mx_fail(ctx, MX_ERR_INVALID, "DFT: axis %lld and dft_length %lld for input of rank %d", (long long)axis, (long long)g.n, x.ndim);
  g.inverse = mx_attr_int(ctx->attrs, "inverse", 0) != 0;
  g.onesided = mx_attr_int(ctx->attrs, "onesided", 0) != 0;
  g.comps = x.shape[x.ndim - 1];
  g.oc = y.shape[y.ndim - 1];
  g.len = x.shape[axis];
  g.out_len = y.shape[axis];
  int64_t outer = 1;
  g.inner = 1;
  for (int d = 0; d < x.ndim - 1; d++) {
    if (d < axis) outer *= x.shape[d];
    if (d > axis) g.inner *= x.shape[d];
  }
  const int64_t items = outer * g.inner * g.out_len;
  if (!items) return MX_OK;
  return with_twiddles(ctx, "DFT", g.n, [&](const double* tw) {
    k_dft<T><<<blocks_for(items), kThreads, 0, stream_of(ctx)>>>(g, tw, (const T*)x.data, (T*)y.data, items);
  });
}

template <class T> int stft(mx_kernel_ctx* ctx) {
  const mx_tensor &x = ctx->inputs[0], &y = ctx->outputs[0];
  const T* win = ctx->num_inputs > 2 && ctx->inputs[2].data ? (const T*)ctx->inputs[2].data : nullptr;
  StftGeom g{};
  g.step = mx_attr_int(ctx->attrs, "frame_step", 1);
  g.n = mx_attr_int(ctx->attrs, "frame_length", 1);
  if (x.ndim != 3 || y.ndim != 4 || g.n < 1)
    return mx_fail(ctx, MX_ERR_INVALID, "STFT: signal of rank %d (3 expected), output of rank %d (4), frame_length %lld", x.ndim, y.ndim,
                   (long long)g.n);
  g.L = x.shape[1];
  g.comps = x.shape[2];
  g.frames = y.shape[1];
  g.bins = y.shape[2];
  const int64_t items = x.shape[0] * g.frames * g.bins;
  if (!items) return MX_OK;
  return with_twiddles(ctx, "STFT", g.n, [&](const double* tw) {
    k_stft<T><<<blocks_for(items), kThreads, 0, stream_of(ctx)>>>(g, tw, (const T*)x.data, win, (T*)y.data, items);
  });
}

}  // namespace
}  // namespace mxcuda

using namespace mxcuda;

#define REG_SIGNAL(T, key, ...) MXC_KERNEL("DFT", key, (dft<T>)); MXC_KERNEL("STFT", key, (stft<T>));
MXC_FLOAT_TYPES(REG_SIGNAL, _)
