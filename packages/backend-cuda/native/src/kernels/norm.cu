// Normalizations, one block per row, folding with block_fold (warp width MX_WARP).
//   Softmax/LogSoftmax along `axis`: y = exp(x - m) / s, or x - m - log(s), with m
//     the max and s the sum of exp(x - m) over the axis.
//   LayerNormalization over the dims from `axis` on: mean, then the population
//     variance of x - mean (two passes), Y = (x - mean) * InvStdDev * Scale + B with
//     Scale and B read flat over the row; optional Mean and InvStdDev outputs.
//   BatchNormalization: Y = (X - mean[c]) * scale[c] / sqrt(var[c] + eps) + B[c]
//     over channel axis 1; the per-channel vectors may have any float dtype. With
//     training_mode=1, mean and var are X's per-channel mean and population variance
//     over N and the spatial dims (one block per channel, accumulated in double as
//     on the cpu), and the optional outputs running_mean / running_var are
//     input_mean / input_var * momentum + mean / var * (1 - momentum).
//   GroupNormalization / InstanceNormalization: X [N, C, ..] in num_groups groups of
//     C / num_groups consecutive channels (core sets num_groups = C for
//     InstanceNormalization); each (n, group) block gets its mean and population
//     variance, Y = (X - mean) / sqrt(var + epsilon) * scale[c] + B[c].
//   RMSNormalization: per row over the dims from `axis`, Y = X / sqrt(mean(X^2) +
//     epsilon) * scale, scale read flat over the row.
//   LpNormalization: Y = X / ||X||_p along `axis` (p 1 or 2), one block per lane;
//     a lane whose norm is 0 gives 0s.
//   MeanVarianceNormalization: Y = (X - mean) / (sqrt(var) + 1e-9), mean and
//     population variance over `axes` (sorted, non-negative), one block per
//     position of the other dims (the walks of the reductions).
//   LRN over channel axis 1: Y = X / (bias + alpha / size * S)^beta, S the sum of
//     X^2 over channels c - floor((size - 1) / 2) .. c + ceil((size - 1) / 2) within
//     [0, C), one thread per element.
//   NegativeLogLikelihoodLoss / SoftmaxCrossEntropyLoss over input [N, C, d...] and
//     target [N, d...] (D = the product of the d dims): loss[n, d] = -logp[n, t, d]
//     * w[t] for t = target[n, d] (w = 1 without weights); 0 where t is
//     ignore_index. reduction 'none' returns loss, 'sum' its sum, 'mean' the sum over
//     the sum of w[t] of the entries not ignored (NaN when every entry is ignored),
//     folded by one block in double, as on the cpu. NLL reads logp = input; SCE
//     computes logp with the LogSoftmax kernel along axis 1 (in float for 16-bit
//     floats), into its log_prob output when asked for. A target outside [0, C)
//     other than ignore_index fails before anything is written (a check on the
//     device that waits for the stream).
#include "common.cuh"

namespace mxcuda {
namespace {

// ---- Softmax / LogSoftmax over [outer, n, inner]
template <class T, bool Log, class Y = T>
__global__ void k_softmax(const T* __restrict__ x, Y* __restrict__ y, int64_t rows, int64_t n, int64_t inner) {
  using A = std::conditional_t<std::is_same<T, double>::value, double, float>;
  __shared__ A scratch[1024 / MX_WARP];
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const int64_t o = row / inner, i = row - o * inner;
    const T* xr = x + o * n * inner + i;
    Y* yr = y + o * n * inner + i;
    A m = -INFINITY;
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) m = fmax(m, A(up(xr[j * inner])));
    m = block_fold(m, [](A a, A b) { return fmax(a, b); }, scratch);
    A s = 0;
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) s += exp(A(up(xr[j * inner])) - m);
    s = block_fold(s, [](A a, A b) { return a + b; }, scratch);
    const A ls = log(s);
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
      const A v = A(up(xr[j * inner])) - m;
      yr[j * inner] = convert<Y>(Log ? v - ls : exp(v) / s);
    }
  }
}
template <class T, bool Log> int softmax(mx_kernel_ctx* ctx) {
  const mx_tensor& x = ctx->inputs[0];
  if (x.ndim == 0) {  // one element: softmax 1, log-softmax 0
    return mx_fail(ctx, MX_ERR_UNSUPPORTED, "Softmax of a scalar");
  }
  const int64_t axis = mx_attr_int(ctx->attrs, "axis", x.ndim - 1);
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; d++) outer *= x.shape[d];
  for (int d = (int)axis + 1; d < x.ndim; d++) inner *= x.shape[d];
  const int64_t n = x.shape[axis], rows = outer * inner;
  if (!rows || !n) return MX_OK;
  k_softmax<T, Log><<<(unsigned)std::min<int64_t>(rows, 1 << 20), threads_for(n), 0, stream_of(ctx)>>>(
      (const T*)x.data, (T*)ctx->outputs[0].data, rows, n, inner);
  return MX_OK;
}

// ---- LayerNormalization
struct Opt {
  void* p;
  int dtype;
  int64_t n;
};
template <class T>
__global__ void k_layer_norm(const T* __restrict__ x, T* __restrict__ y, int64_t rows, int64_t cols, Opt scale, Opt bias,
                             Opt mean_out, Opt istd_out, double eps) {
  using A = std::conditional_t<std::is_same<T, double>::value, double, float>;
  __shared__ A scratch[1024 / MX_WARP];
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const T* xr = x + row * cols;
    T* yr = y + row * cols;
    A s = 0;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) s += A(up(xr[j]));
    const A mean = block_fold(s, [](A a, A b) { return a + b; }, scratch) / A(cols);
    A v = 0;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      const A d = A(up(xr[j])) - mean;
      v += d * d;
    }
    const A var = block_fold(v, [](A a, A b) { return a + b; }, scratch) / A(cols);
    const A istd = A(1) / sqrt(var + A(eps));
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      A r = (A(up(xr[j])) - mean) * istd * A(load_any(scale.p, scale.dtype, j % scale.n));
      if (bias.p) r += A(load_any(bias.p, bias.dtype, j % bias.n));
      yr[j] = convert<T>(r);
    }
    if (threadIdx.x == 0) {
      if (mean_out.p) store_any(mean_out.p, mean_out.dtype, row, mean);
      if (istd_out.p) store_any(istd_out.p, istd_out.dtype, row, istd);
    }
  }
}
Opt opt_of(const mx_kernel_ctx* ctx, int i, bool output) {
  const int n = output ? ctx->num_outputs : ctx->num_inputs;
  const mx_tensor* t = output ? ctx->outputs : ctx->inputs;
  if (i >= n || !t[i].data) return Opt{nullptr, 0, 1};
  const int64_t c = mx_numel(&t[i]);
  return Opt{t[i].data, t[i].dtype, c ? c : 1};
}
template <class T> int layer_norm(mx_kernel_ctx* ctx) {
  const mx_tensor& x = ctx->inputs[0];
  const int64_t axis = mx_attr_int(ctx->attrs, "axis", x.ndim - 1);
  int64_t rows = 1, cols = 1;
  for (int d = 0; d < x.ndim; d++) (d < axis ? rows : cols) *= x.shape[d];
  if (!rows || !cols) return MX_OK;
  k_layer_norm<T><<<(unsigned)std::min<int64_t>(rows, 1 << 20), threads_for(cols), 0, stream_of(ctx)>>>(
      (const T*)x.data, (T*)ctx->outputs[0].data, rows, cols, opt_of(ctx, 1, false), opt_of(ctx, 2, false),
      opt_of(ctx, 1, true), opt_of(ctx, 2, true), mx_attr_float(ctx->attrs, "epsilon", 1e-5));
  return MX_OK;
}

// ---- BatchNormalization
template <class T>
__global__ void k_batch_norm(const T* __restrict__ x, T* __restrict__ y, int64_t n, int64_t channels, int64_t inner,
                             Opt scale, Opt bias, Opt mean, Opt var, double eps) {
  using A = std::conditional_t<std::is_same<T, double>::value, double, float>;
  MXC_GRID_LOOP(i, n) {
    const int64_t c = (i / inner) % channels;
    const A k = A(load_any(scale.p, scale.dtype, c)) / sqrt(A(load_any(var.p, var.dtype, c)) + A(eps));
    y[i] = convert<T>((A(up(x[i])) - A(load_any(mean.p, mean.dtype, c))) * k + A(load_any(bias.p, bias.dtype, c)));
  }
}
// Training mode: one block per channel over its batch * inner elements.
template <class T>
__global__ void k_batch_norm_train(const T* __restrict__ x, T* __restrict__ y, int64_t batch, int64_t channels, int64_t inner,
                                   Opt scale, Opt bias, Opt mean_in, Opt var_in, Opt mean_out, Opt var_out, double eps,
                                   double momentum) {
  using A = std::conditional_t<std::is_same<T, double>::value, double, float>;
  __shared__ double scratch[1024 / MX_WARP];
  const int64_t count = batch * inner;
  for (int64_t c = blockIdx.x; c < channels; c += gridDim.x) {
    // element j of channel c: batch j / inner, position j % inner
    auto at = [&](int64_t j) { const int64_t b = j / inner; return (b * channels + c) * inner + (j - b * inner); };
    double s = 0;
    for (int64_t j = threadIdx.x; j < count; j += blockDim.x) s += double(up(x[at(j)]));
    const double m = block_fold(s, [](double a, double b) { return a + b; }, scratch) / double(count);
    double v = 0;
    for (int64_t j = threadIdx.x; j < count; j += blockDim.x) {
      const double d = double(up(x[at(j)])) - m;
      v += d * d;
    }
    const double var = block_fold(v, [](double a, double b) { return a + b; }, scratch) / double(count);
    const A k = A(load_any(scale.p, scale.dtype, c) / sqrt(var + eps)), mean = A(m), add = A(load_any(bias.p, bias.dtype, c));
    for (int64_t j = threadIdx.x; j < count; j += blockDim.x) {
      const int64_t e = at(j);
      y[e] = convert<T>((A(up(x[e])) - mean) * k + add);
    }
    if (threadIdx.x == 0) {
      if (mean_out.p) store_any(mean_out.p, mean_out.dtype, c, load_any(mean_in.p, mean_in.dtype, c) * momentum + m * (1 - momentum));
      if (var_out.p) store_any(var_out.p, var_out.dtype, c, load_any(var_in.p, var_in.dtype, c) * momentum + var * (1 - momentum));
    }
  }
}
template <class T> int batch_norm(mx_kernel_ctx* ctx) {
  const mx_tensor& x = ctx->inputs[0];
  const int64_t n = numel(x);
  const int64_t channels = x.ndim > 1 ? x.shape[1] : 1;
  int64_t inner = 1;
  for (int d = 2; d < x.ndim; d++) inner *= x.shape[d];
  const double eps = mx_attr_float(ctx->attrs, "epsilon", 1e-5);
  if (mx_attr_int(ctx->attrs, "training_mode", 0)) {
    // Runs with an empty batch too: the running statistics are outputs (0 / 0 gives NaN, as on the cpu).
    const int64_t batch = x.ndim > 0 ? x.shape[0] : 1;
    if (channels)
      k_batch_norm_train<T><<<(unsigned)std::min<int64_t>(channels, 1 << 20), threads_for(batch * inner), 0, stream_of(ctx)>>>(
          (const T*)x.data, (T*)ctx->outputs[0].data, batch, channels, inner, opt_of(ctx, 1, false), opt_of(ctx, 2, false),
          opt_of(ctx, 3, false), opt_of(ctx, 4, false), opt_of(ctx, 1, true), opt_of(ctx, 2, true), eps,
          mx_attr_float(ctx->attrs, "momentum", 0.9));
    return MX_OK;
  }
  if (n)
    k_batch_norm<T><<<blocks_for(n), kThreads, 0, stream_of(ctx)>>>((const T*)x.data, (T*)ctx->outputs[0].data, n, channels, inner,
                                                                   opt_of(ctx, 1, false), opt_of(ctx, 2, false), opt_of(ctx, 3, false),
                                                                   opt_of(ctx, 4, false), eps);
  return MX_OK;
}

// BatchNormalization's keys: every (T, T1, T2) binding of the four float dtypes.
struct batch_norm_registrations {
  batch_norm_registrations() {
    static const char* const names[4] = {"float32", "float64", "float16", "bfloat16"};
    static const mx_kernel_fn fns[4] = {guarded<batch_norm<float>>, guarded<batch_norm<double>>, guarded<batch_norm<f16>>,
                                        guarded<batch_norm<bf16>>};
    static char keys[64][32];
    for (int t = 0; t < 4; t++)
      for (int t1 = 0; t1 < 4; t1++)
        for (int t2 = 0; t2 < 4; t2++) {
          char* key = keys[(t * 4 + t1) * 4 + t2];
          snprintf(key, sizeof keys[0], "%s,%s,%s", names[t], names[t1], names[t2]);
          ::mx::kernel_registrar("BatchNormalization", "", key, fns[t]);
        }
  }
} batch_norm_registered;

// ---- GroupNormalization / InstanceNormalization / RMSNormalization: rows of
// `cols` contiguous elements; `per` elements share one channel (group norms) and
// RMS rows skip the mean.
template <class T, bool Rms>
__global__ void k_row_norm(const T* __restrict__ x, T* __restrict__ y, int64_t rows, int64_t cols, int64_t groups,
                           int64_t per, Opt scale, Opt bias, double eps) {
  using A = std::conditional_t<std::is_same<T, double>::value, double, float>;
  __shared__ A scratch[1024 / MX_WARP];
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const T* xr = x + row * cols;
    T* yr = y + row * cols;
    A mean = 0;
    if (!Rms) {
      A s = 0;
      for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) s += A(up(xr[j]));
      mean = block_fold(s, [](A a, A b) { return a + b; }, scratch) / A(cols);
    }
    A v = 0;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      const A d = A(up(xr[j])) - mean;
      v += d * d;
    }
    const A istd = A(1) / sqrt(block_fold(v, [](A a, A b) { return a + b; }, scratch) / A(cols) + A(eps));
    const int64_t g = Rms ? 0 : row % groups;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      const int64_t c = Rms ? j % scale.n : g * (cols / per) + j / per;  // group norms: the channel of element j
      A r = (A(up(xr[j])) - mean) * istd * A(load_any(scale.p, scale.dtype, c));
      if (bias.p) r += A(load_any(bias.p, bias.dtype, Rms ? j % bias.n : c));
      yr[j] = convert<T>(r);
    }
  }
}
template <class T> int group_norm(mx_kernel_ctx* ctx) {
  const mx_tensor& x = ctx->inputs[0];
  if (x.ndim < 2) return mx_fail(ctx, MX_ERR_INVALID, "GroupNormalization: X needs rank 2 or more (rank %d)", x.ndim);
  const int64_t C = x.shape[1], G = std::max<int64_t>(1, mx_attr_int(ctx->attrs, "num_groups", C));
  if (C % G) return mx_fail(ctx, MX_ERR_INVALID, "GroupNormalization: %lld channels in %lld groups", (long long)C, (long long)G);
  int64_t spatial = 1;
  for (int d = 2; d < x.ndim; d++) spatial *= x.shape[d];
  const int64_t rows = x.shape[0] * G, cols = C / G * spatial;
  if (!rows || !cols) return MX_OK;
  k_row_norm<T, false><<<(unsigned)std::min<int64_t>(rows, 1 << 20), threads_for(cols), 0, stream_of(ctx)>>>(
      (const T*)x.data, (T*)ctx->outputs[0].data, rows, cols, G, spatial, opt_of(ctx, 1, false), opt_of(ctx, 2, false),
      mx_attr_float(ctx->attrs, "epsilon", 1e-5));
  return MX_OK;
}
template <class T> int rms_norm(mx_kernel_ctx* ctx) {
  const mx_tensor& x = ctx->inputs[0];
  const int64_t axis = mx_attr_int(ctx->attrs, "axis", x.ndim - 1);
  int64_t rows = 1, cols = 1;
  for (int d = 0; d < x.ndim; d++) (d < axis ? rows : cols) *= x.shape[d];
  if (!rows || !cols) return MX_OK;
  k_row_norm<T, true><<<(unsigned)std::min<int64_t>(rows, 1 << 20), threads_for(cols), 0, stream_of(ctx)>>>(
      (const T*)x.data, (T*)ctx->outputs[0].data, rows, cols, 1, 1, opt_of(ctx, 1, false), Opt{nullptr, 0, 1},
      mx_attr_float(ctx->attrs, "epsilon", 1e-5));
  return MX_OK;
}


// ---- LpNormalization over [outer, n, inner]
template <class T, bool L1>
__global__ void k_lp_norm(const T* __restrict__ x, T* __restrict__ y, int64_t rows, int64_t n, int64_t inner) {
  using A = std::conditional_t<std::is_same<T, double>::value, double, float>;
  __shared__ A scratch[1024 / MX_WARP];
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const int64_t o = row / inner, i = row - o * inner;
    const T* xr = x + o * n * inner + i;
    T* yr = y + o * n * inner + i;
    A s = 0;
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
      const A a = A(up(xr[j * inner]));
      s += L1 ? fabs(a) : a * a;
    }
    s = block_fold(s, [](A a, A b) { return a + b; }, scratch);
    const A norm = L1 ? s : sqrt(s);
    const A inv = norm == A(0) ? A(0) : A(1) / norm;
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) yr[j * inner] = convert<T>(A(up(xr[j * inner])) * inv);
  }
}
template <class T> int lp_norm(mx_kernel_ctx* ctx) {
  const mx_tensor& x = ctx->inputs[0];
  const int64_t axis = mx_attr_int(ctx->attrs, "axis", x.ndim - 1), p = mx_attr_int(ctx->attrs, "p", 2);
  if (axis < 0 || axis >= x.ndim || (p != 1 && p != 2))
    return mx_fail(ctx, MX_ERR_INVALID, "LpNormalization: axis %lld for rank %d, p %lld (1 or 2)", (long long)axis, x.ndim, (long long)p);
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; d++) outer *= x.shape[d];
  for (int d = (int)axis + 1; d < x.ndim; d++) inner *= x.shape[d];
  const int64_t n = x.shape[axis], rows = outer * inner;
  if (!rows || !n) return MX_OK;
  const unsigned grid = (unsigned)std::min<int64_t>(rows, 1 << 20);
  if (p == 1) k_lp_norm<T, true><<<grid, threads_for(n), 0, stream_of(ctx)>>>((const T*)x.data, (T*)ctx->outputs[0].data, rows, n, inner);
  else k_lp_norm<T, false><<<grid, threads_for(n), 0, stream_of(ctx)>>>((const T*)x.data, (T*)ctx->outputs[0].data, rows, n, inner);
  return MX_OK;
}

// ---- MeanVarianceNormalization: one block per kept position, walking the reduced dims.
template <class T>
__global__ void k_mvn(Walk<1> kept, Walk<1> red, const T* __restrict__ x, T* __restrict__ y, int64_t slots) {
  using A = std::conditional_t<std::is_same<T, double>::value, double, float>;
  __shared__ A scratch[1024 / MX_WARP];
  const int64_t r_n = red.n;
  for (int64_t o = blockIdx.x; o < slots; o += gridDim.x) {
    int64_t base;
    kept.offsets(o, &base);
    A s = 0;
    for (int64_t r = threadIdx.x; r < r_n; r += blockDim.x) {
      int64_t off;
      red.offsets(r, &off);
      s += A(up(x[base + off]));
    }
    const A mean = block_fold(s, [](A a, A b) { return a + b; }, scratch) / A(r_n);
    A v = 0;
    for (int64_t r = threadIdx.x; r < r_n; r += blockDim.x) {
      int64_t off;
      red.offsets(r, &off);
      const A d = A(up(x[base + off])) - mean;
      v += d * d;
    }
    const A sd = sqrt(block_fold(v, [](A a, A b) { return a + b; }, scratch) / A(r_n)) + A(1e-9);
    for (int64_t r = threadIdx.x; r < r_n; r += blockDim.x) {
      int64_t off;
      red.offsets(r, &off);
      y[base + off] = convert<T>((A(up(x[base + off])) - mean) / sd);
    }
  }
}
template <class T> int mvn(mx_kernel_ctx* ctx) {
  const mx_tensor& x = ctx->inputs[0];
  const int64_t* axes;
  const int32_t na = mx_attr_ints(ctx->attrs, "axes", &axes);
  uint32_t mask = 0;
  for (int32_t i = 0; i < na; i++) {
    if (axes[i] < 0 || axes[i] >= x.ndim)
      return mx_fail(ctx, MX_ERR_INVALID, "MeanVarianceNormalization: axis %lld is out of range for rank %d", (long long)axes[i], x.ndim);
    mask |= 1u << axes[i];
  }
  if (!numel(x)) return MX_OK;
  Walk<1> kept, red;
  split_dims(x, mask, &kept, &red);
  k_mvn<T><<<(unsigned)std::min<int64_t>(kept.n, 1 << 20), threads_for(red.n), 0, stream_of(ctx)>>>(kept, red, (const T*)x.data,
                                                                                                   (T*)ctx->outputs[0].data, kept.n);
  return MX_OK;
}

// ---- LRN on [N, C, inner]
template <class T>
__global__ void k_lrn(const T* __restrict__ x, T* __restrict__ y, int64_t total, int64_t channels, int64_t inner, int64_t before,
                      int64_t after, double alpha_over_size, double bias, double beta) {
  using A = std::conditional_t<std::is_same<T, double>::value, double, float>;
  MXC_GRID_LOOP(e, total) {
    const int64_t q = e / inner, i = e - q * inner, c = q % channels;
    const int64_t lo = c - before < 0 ? 0 : c - before, hi = c + after > channels - 1 ? channels - 1 : c + after;
    const T* xc = x + (q - c) * inner + i;  // channel 0 of this (n, position)
    A ss = 0;
    for (int64_t k = lo; k <= hi; k++) {
      const A a = A(up(xc[k * inner]));
      ss += a * a;
    }
    y[e] = convert<T>(A(up(x[e])) / pow(A(bias) + A(alpha_over_size) * ss, A(beta)));
  }
}
template <class T> int lrn(mx_kernel_ctx* ctx) {
  const mx_tensor& x = ctx->inputs[0];
  const int64_t size = mx_attr_int(ctx->attrs, "size", 1);
  if (x.ndim < 2 || size < 1) return mx_fail(ctx, MX_ERR_INVALID, "LRN: X needs rank 2 or more (rank %d) and size >= 1 (%lld)", x.ndim, (long long)size);
  const int64_t total = numel(x), channels = x.shape[1];
  if (!total) return MX_OK;
  const int64_t inner = total / (x.shape[0] * channels), before = (size - 1) / 2;
  k_lrn<T><<<blocks_for(total), kThreads, 0, stream_of(ctx)>>>((const T*)x.data, (T*)ctx->outputs[0].data, total, channels, inner, before,
                                                              size - 1 - before, mx_attr_float(ctx->attrs, "alpha", 1e-4) / (double)size,
                                                              mx_attr_float(ctx->attrs, "bias", 1.0), mx_attr_float(ctx->attrs, "beta", 0.75));
  return MX_OK;
}

// ---- NegativeLogLikelihoodLoss / SoftmaxCrossEntropyLoss (P: logp's type)
struct LossGeom {
  int64_t C, D, n, ii;  // classes, positions per sample, entries (N * D), ignore_index
  bool has_ii;
  __device__ __forceinline__ bool ignored(int64_t t) const { return has_ii && t == ii; }
};
struct TargetOutside {
  LossGeom g;
  template <class I> __device__ __forceinline__ bool operator()(int64_t, I t) const {
    return !g.ignored((int64_t)t) && ((int64_t)t < 0 || (int64_t)t >= g.C);
  }
};
// Entry k's loss; its weight into *weight (0 when ignored).
template <class T, class P, class I>
__device__ __forceinline__ double loss_term(const LossGeom& g, const P* logp, const I* t, const T* w, int64_t k, double* weight) {
  const int64_t c = (int64_t)t[k];
  *weight = g.ignored(c) ? 0.0 : w ? (double)up(w[c]) : 1.0;
  return *weight == 0.0 ? 0.0 : -(double)up(logp[(k / g.D * g.C + c) * g.D + k % g.D]) * *weight;
}
template <class T, class P, class I>
__global__ void k_loss_none(LossGeom g, const P* __restrict__ logp, const I* __restrict__ t, const T* __restrict__ w, T* __restrict__ out) {
  MXC_GRID_LOOP(k, g.n) {
    double wk;
    out[k] = convert<T>(ct<T>(loss_term(g, logp, t, w, k, &wk)));
  }
}
template <class T, class P, class I>
__global__ void k_loss_fold(LossGeom g, const P* __restrict__ logp, const I* __restrict__ t, const T* __restrict__ w, T* __restrict__ out,
                            bool mean) {
  __shared__ double scratch[1024 / MX_WARP];
  double s = 0, ws = 0;
  for (int64_t k = threadIdx.x; k < g.n; k += blockDim.x) {
    double wk;
    s += loss_term(g, logp, t, w, k, &wk);
    ws += wk;
  }
  s = block_fold(s, [](double a, double b) { return a + b; }, scratch);
  ws = block_fold(ws, [](double a, double b) { return a + b; }, scratch);
  if (threadIdx.x == 0) out[0] = convert<T>(ct<T>(mean ? s / ws : s));
}
// The loss from logp (P) and the targets (I), after checking them.
template <class T, class P, class I> int loss_from(mx_kernel_ctx* ctx, const char* op, const LossGeom& g, const P* logp) {
  const I* t = (const I*)ctx->inputs[1].data;
  const T* w = ctx->num_inputs > 2 && ctx->inputs[2].data ? (const T*)ctx->inputs[2].data : nullptr;
  const char* reduction = mx_attr_string(ctx->attrs, "reduction", "mean");
  const bool none = !std::strcmp(reduction, "none"), mean = !std::strcmp(reduction, "mean");
  if (!none && !mean && std::strcmp(reduction, "sum")) return mx_fail(ctx, MX_ERR_INVALID, "%s: unknown reduction '%s'", op, reduction);
  T* out = (T*)ctx->outputs[0].data;
  if (none) {
    if (g.n) k_loss_none<T, P, I><<<blocks_for(g.n), kThreads, 0, stream_of(ctx)>>>(g, logp, t, w, out);
  } else {
    k_loss_fold<T, P, I><<<1, threads_for(g.n), 0, stream_of(ctx)>>>(g, logp, t, w, out, mean);
  }
  return MX_OK;
}
template <class T, class I> int loss(mx_kernel_ctx* ctx, bool softmax) {
  const char* op = softmax ? "SoftmaxCrossEntropyLoss" : "NegativeLogLikelihoodLoss";
  const mx_tensor &x = ctx->inputs[0], &target = ctx->inputs[1];
  if (x.ndim < 2) return mx_fail(ctx, MX_ERR_INVALID, "%s: input needs rank 2 or more (rank %d)", op, x.ndim);
  LossGeom g{};
  const int64_t N = x.shape[0];
  g.C = x.shape[1];
  g.D = N * g.C == 0 ? 0 : numel(x) / (N * g.C);
  g.n = numel(target);
  g.has_ii = mx_attr_find(ctx->attrs, "ignore_index") != nullptr;
  g.ii = mx_attr_int(ctx->attrs, "ignore_index", 0);
  int64_t bad;
  I v{};
  if (int st = first_bad(ctx, softmax ? "SoftmaxCrossEntropyLoss target check" : "NegativeLogLikelihoodLoss target check", (const I*)target.data,
                         g.n, TargetOutside{g}, &bad, &v))
    return st;
  if (bad >= 0) return mx_fail(ctx, MX_ERR_INVALID, "%s: target %lld is out of range [0, %lld)", op, (long long)v, (long long)g.C);
  if (!softmax) return loss_from<T, T, I>(ctx, op, g, (const T*)x.data);
  // logp = LogSoftmax(x, axis 1) over [N, C, D]: into log_prob when asked for (and it is
  // the compute type), else into scratch.
  using P = ct<T>;
  const int64_t rows = N * g.D;
  T* log_prob = ctx->num_outputs > 1 && ctx->outputs[1].data ? (T*)ctx->outputs[1].data : nullptr;
  if (rows && log_prob)
    k_softmax<T, true><<<(unsigned)std::min<int64_t>(rows, 1 << 20), threads_for(g.C), 0, stream_of(ctx)>>>((const T*)x.data, log_prob, rows, g.C,
                                                                                                           g.D);
  if (log_prob && std::is_same<P, T>::value) return loss_from<T, T, I>(ctx, op, g, log_prob);
  P* logp;
  if (int st = scratch_alloc(ctx, op, (size_t)numel(x) * sizeof(P), (void**)&logp)) return st;
  if (rows)
    k_softmax<T, true, P><<<(unsigned)std::min<int64_t>(rows, 1 << 20), threads_for(g.C), 0, stream_of(ctx)>>>((const T*)x.data, logp, rows, g.C,
                                                                                                              g.D);
  const int st = loss_from<T, P, I>(ctx, op, g, logp);
  const int freed = scratch_free(ctx, op, logp);
  return st != MX_OK ? st : freed;
}
template <class T, class I> int nll_loss(mx_kernel_ctx* ctx) { return loss<T, I>(ctx, false); }
template <class T, class I> int sce_loss(mx_kernel_ctx* ctx) { return loss<T, I>(ctx, true); }

}  // namespace
}  // namespace mxcuda

using namespace mxcuda;

#define REG_NORMS(T, key, ...)                                             \
  MXC_KERNEL("Softmax", key, (softmax<T, false>));                        \
  MXC_KERNEL("LogSoftmax", key, (softmax<T, true>));                      \
  MXC_KERNEL("LayerNormalization", key, (layer_norm<T>));                 \
  MXC_KERNEL("GroupNormalization", key, (group_norm<T>));                 \
  MXC_KERNEL("InstanceNormalization", key, (group_norm<T>));              \
  MXC_KERNEL("RMSNormalization", key, (rms_norm<T>));                     \
  MXC_KERNEL("LpNormalization", key, (lp_norm<T>));                       \
  MXC_KERNEL("MeanVarianceNormalization", key, (mvn<T>));                 \
  MXC_KERNEL("LRN", key, (lrn<T>));
MXC_FLOAT_TYPES(REG_NORMS, _)
// The losses' keys are "T,Tind".
#define REG_LOSSES(T, key, ...)                                                          \
  MXC_KERNEL("NegativeLogLikelihoodLoss", key ",int32", (nll_loss<T, int32_t>));        \
  MXC_KERNEL("NegativeLogLikelihoodLoss", key ",int64", (nll_loss<T, int64_t>));        \
  MXC_KERNEL("SoftmaxCrossEntropyLoss", key ",int32", (sce_loss<T, int32_t>));          \
  MXC_KERNEL("SoftmaxCrossEntropyLoss", key ",int64", (sce_loss<T, int64_t>));
MXC_FLOAT_TYPES(REG_LOSSES, _)
