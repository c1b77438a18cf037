// DFT, STFT and MelWeightMatrix.
//   DFT along `axis` of real [..., 1] or complex [..., 2] data, n = dft_length
//   (core resolved it and the axis; the input is zero-padded or truncated to n):
//     forward X_f = sum_k x_k e^{-2 pi i f k / n}, f < n (n/2 + 1 when onesided);
//     inverse x_k = 1/n sum_f X_f e^{2 pi i f k / n};
//     inverse + onesided (complex to real): the bins f <= n/2 stand for a
//     Hermitian spectrum, x_k = 1/n sum_{f <= n/2} c_f Re(X_f e^{2 pi i f k / n})
//     with c_f = 1 for f = 0 and f = n/2, 2 otherwise.
//   STFT: frame t of batch b is signal[b, t * frame_step + k] * window[k],
//     k < frame_length, transformed like a forward DFT of length frame_length.
//   MelWeightMatrix: triangular filters between num_mel_bins + 2 points evenly
//     spaced on the mel scale (2595 log10(1 + hz / 700)) from the lower to the
//     upper edge, each at spectrogram bin floor((dft_length + 1) * hz / sample_rate);
//     filter i rises from 0 at point i to 1 at point i + 1 and falls back to 0
//     at point i + 2 (ONNX's reference; bins past the matrix are dropped).
// Direct O(n^2) transforms with a twiddle table; sums in double. 16-bit floats
// run in float32.
#include <algorithm>
#include <cmath>

#include "seq_common.h"

namespace mxcpu {
namespace {

// cos and sin of 2 pi m / n for m < n, interleaved, in scratch memory.
const double* twiddles(int64_t n) {
  double* tw = static_cast<double*>(scratch(SCRATCH_OP, sizeof(double) * 2 * std::max<int64_t>(n, 1)));
  if (!tw) return nullptr;
  for (int64_t m = 0; m < n; m++) {
    const double a = 2 * M_PI * (double)m / (double)n;
    tw[2 * m] = std::cos(a);
    tw[2 * m + 1] = std::sin(a);
  }
  return tw;
}

// Bin f of the transform of x_k = get(k), k < len (zero beyond, up to n):
// sum_k x_k e^{sign 2 pi i f k / n}.
template <class G> inline void dft_bin(const double* tw, int64_t n, int64_t len, int64_t f, double sign, G&& get, double* re, double* im) {
  double sr = 0, si = 0;
  int64_t m = 0;
  const int64_t step = f % n;
  for (int64_t k = 0; k < std::min(len, n); k++) {
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

template <class T> int dft(mx_kernel_ctx* ctx) {
  const mx_tensor &X = ctx->inputs[0], &Y = ctx->outputs[0];
  const int64_t axis = mx_attr_int(ctx->attrs, "axis", X.ndim - 2), n = mx_attr_int(ctx->attrs, "dft_length", 1);
  const bool inverse = mx_attr_int(ctx->attrs, "inverse", 0) != 0, onesided = mx_attr_int(ctx->attrs, "onesided", 0) != 0;
  const int64_t comps = X.shape[X.ndim - 1], oc = Y.shape[Y.ndim - 1], len = X.shape[axis], out_len = Y.shape[axis];
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < X.ndim - 1; d++) {
    if (d < axis) outer *= X.shape[d];
    if (d > axis) inner *= X.shape[d];
  }
  const double* tw = twiddles(n);
  if (!tw) return fail_oom(ctx, "DFT");
  const T* x = static_cast<const T*>(X.data);
  T* y = static_cast<T*>(Y.data);
  const int64_t items = outer * inner * out_len;
  parallel_for(ctx->pool, items, std::max<int64_t>(1, 16384 / n), [&](int64_t b, int64_t e) {
    for (int64_t it = b; it < e; it++) {
      // it walks (o, f, i): output bin f of lane (o, i).
      const int64_t i = it % inner, f = it / inner % out_len, o = it / (inner * out_len);
      const T* lane = x + o * len * inner * comps + i * comps;
      const auto get = [&](int64_t k, double* re, double* im) {
        *re = (double)lane[k * inner * comps];
        *im = comps == 2 ? (double)lane[k * inner * comps + 1] : 0.0;
      };
      T* dst = y + ((o * out_len + f) * inner + i) * oc;
      if (inverse && onesided) {
        // Output sample f: sum over the input bins q <= n/2 with angle 2 pi q f / n.
        double s = 0;
        int64_t m = 0;
        for (int64_t q = 0; q <= n / 2 && q < len; q++) {
          double xr, xi;
          get(q, &xr, &xi);
          s += (q == 0 || 2 * q == n ? 1.0 : 2.0) * (xr * tw[2 * m] - xi * tw[2 * m + 1]);
          m += f;
          m %= n;
        }
        dst[0] = T(s / (double)n);
        continue;
      }
      double re, im;
      dft_bin(tw, n, len, f, inverse ? 1.0 : -1.0, get, &re, &im);
      dst[0] = T(inverse ? re / (double)n : re);
      dst[1] = T(inverse ? im / (double)n : im);
    }
  });
  return MX_OK;
}

template <class T> int stft(mx_kernel_ctx* ctx) {
  const mx_tensor &X = ctx->inputs[0], &Y = ctx->outputs[0];
  const T* win = ctx->num_inputs > 2 ? static_cast<const T*>(ctx->inputs[2].data) : nullptr;
  const int64_t step = mx_attr_int(ctx->attrs, "frame_step", 1), n = mx_attr_int(ctx->attrs, "frame_length", 1);
  const int64_t L = X.shape[1], comps = X.shape[2], frames = Y.shape[1], bins = Y.shape[2];
  const double* tw = twiddles(n);
  if (!tw) return fail_oom(ctx, "STFT");
  const T* x = static_cast<const T*>(X.data);
  T* y = static_cast<T*>(Y.data);
  parallel_for(ctx->pool, X.shape[0] * frames * bins, std::max<int64_t>(1, 16384 / n), [&](int64_t b, int64_t e) {
    for (int64_t it = b; it < e; it++) {
      const int64_t f = it % bins, t = it / bins % frames, bt = it / (bins * frames);
      const T* frame = x + (bt * L + t * step) * comps;
      const auto get = [&](int64_t k, double* re, double* im) {
        const double wk = win ? (double)win[k] : 1.0;
        *re = (double)frame[k * comps] * wk;
        *im = comps == 2 ? (double)frame[k * comps + 1] * wk : 0.0;
      };
      double re, im;
      dft_bin(tw, n, n, f, -1.0, get, &re, &im);
      y[it * 2] = T(re);
      y[it * 2 + 1] = T(im);
    }
  });
  return MX_OK;
}

int mel_weight_matrix(mx_kernel_ctx* ctx) {
  const mx_tensor& Y = ctx->outputs[0];
  const int64_t bins = mx_attr_int(ctx->attrs, "num_mel_bins", 1), dft_len = mx_attr_int(ctx->attrs, "dft_length", 1);
  const double rate = (double)mx_attr_int(ctx->attrs, "sample_rate", 1);
  const auto mel = [](double hz) { return 2595 * std::log10(1 + hz / 700); };
  const double lo = mel(mx_attr_float(ctx->attrs, "lower_edge_hertz", 0)), hi = mel(mx_attr_float(ctx->attrs, "upper_edge_hertz", 0));
  const double step = (hi - lo) / (double)(bins + 2);
  const int64_t rows = Y.shape[0];
  double* w = static_cast<double*>(scratch(SCRATCH_OP, sizeof(double) * std::max<int64_t>(1, rows * bins + bins + 2)));
  if (!w) return fail_oom(ctx, "MelWeightMatrix");
  double* point = w + rows * bins;
  for (int64_t i = 0; i < bins + 2; i++) point[i] = std::floor((double)(dft_len + 1) * (700 * (std::pow(10.0, ((double)i * step + lo) / 2595) - 1)) / rate);
  std::fill(w, w + rows * bins, 0.0);
  const auto set = [&](int64_t j, int64_t i, double v) {
    if (j >= 0 && j < rows) w[j * bins + i] = v;
  };
  for (int64_t i = 0; i < bins; i++) {
    const int64_t l = (int64_t)point[i], c = (int64_t)point[i + 1], r = (int64_t)point[i + 2];
    if (c == l) set(c, i, 1);
    else
      for (int64_t j = l; j <= c; j++) set(j, i, (double)(j - l) / (double)(c - l));
    for (int64_t j = c; j < r; j++) set(j, i, (double)(r - j) / (double)(r - c));
  }
  const bool ok = dispatch(Y.dtype, [&](auto z) {
    using O = decltype(z);
    O* y = static_cast<O*>(Y.data);
    for (int64_t k = 0; k < rows * bins; k++) y[k] = store<O>(w[k]);
  });
  return ok ? MX_OK : mx_fail(ctx, MX_ERR_UNSUPPORTED, "MelWeightMatrix: output dtype %d", Y.dtype);
}

int dft_half(mx_kernel_ctx* ctx) { return run_widened(ctx, dft<float>); }
int stft_half(mx_kernel_ctx* ctx) { return run_widened(ctx, stft<float>); }

}  // namespace

MX_KERNEL("DFT", "float32", dft<float>);
MX_KERNEL("DFT", "float64", dft<double>);
MX_KERNEL("DFT", "float16", dft_half);
MX_KERNEL("DFT", "bfloat16", dft_half);
MX_KERNEL("STFT", "float32", stft<float>);
MX_KERNEL("STFT", "float64", stft<double>);
MX_KERNEL("STFT", "float16", stft_half);
MX_KERNEL("STFT", "bfloat16", stft_half);
MXCPU_SEQ_KERNELS("MelWeightMatrix", mel_weight_matrix,
                  {"float32", "float64", "float16", "bfloat16", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64"});

}  // namespace mxcpu
