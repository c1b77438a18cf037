// Reductions, Softmax/LogSoftmax, LayerNormalization, BatchNormalization.
// Every row-wise kernel gives one block to each output (or row) and folds with
// block_fold, whose warp width is MX_WARP (32 here, 64 on AMD wavefronts).
//   Reduce*: over the `axes` attr (sorted, non-negative; [] reduces nothing, each
//     output is then its one element through the op's map and finish). Sums of
//     floats accumulate in float (double for float64), integers in 64 bits and wrap
//     back to the type. Max/Min propagate NaN. An empty reduction gives the op's
//     identity (Sum 0, Prod 1, Max -inf/lowest, Mean NaN).
//   Softmax/LogSoftmax along `axis`: y = exp(x - m) / s, or x - m - log(s), with m
//     the max and s the sum of exp(x - m) over the axis.
//   LayerNormalization over the dims from `axis` on: mean, then the population
//     variance of x - mean (two passes), Y = (x - mean) * InvStdDev * Scale + B with
//     Scale and B read flat over the row; optional Mean and InvStdDev outputs.
//   BatchNormalization (inference): Y = (X - mean[c]) * scale[c] / sqrt(var[c] + eps) + B[c]
//     over channel axis 1; the per-channel vectors may have any float dtype.
#include <cfloat>

#include "common.cuh"

namespace mxcuda {
namespace {

enum Map { kId, kAbs, kSquare };
enum Comb { kSum, kProd, kMax, kMin, kLse };
enum Fin { kNone, kMean, kLog, kSqrt };

template <class T, int C> struct acc_for {
  using type = std::conditional_t<(C == kMax || C == kMin), std::conditional_t<is_float_v<T>, ct<T>, T>,
                                  std::conditional_t<C == kLse && !is_float_v<T>, double, acc_t<T>>>;
};

template <class A, int C> __device__ __forceinline__ A identity() {
  if constexpr (C == kSum || C == kLse) return A(0);
  else if constexpr (C == kProd) return A(1);
  else if constexpr (std::is_floating_point<A>::value) return C == kMax ? A(-INFINITY) : A(INFINITY);
  else return C == kMax ? std::numeric_limits<A>::lowest() : std::numeric_limits<A>::max();
}
template <class A, int C> __device__ __forceinline__ A combine(A a, A b) {
  if constexpr (C == kSum || C == kLse) return a + b;
  else if constexpr (C == kProd) return a * b;
  else if constexpr (C == kMax) return a != a ? a : b != b ? b : (b > a ? b : a);
  else return a != a ? a : b != b ? b : (b < a ? b : a);
}
template <class A, int M, class V> __device__ __forceinline__ A map(V x) {
  A v = A(x);
  if constexpr (M == kAbs && std::is_unsigned<A>::value) return v;
  else if constexpr (M == kAbs) return v < A(0) ? A(0) - v : v;
  else if constexpr (M == kSquare) return v * v;
  else return v;
}

template <class T, int M, int C, int F>
__global__ void k_reduce(Walk<1> kept, Walk<1> red, const T* __restrict__ x, T* __restrict__ y, int64_t outputs) {
  using A = typename acc_for<T, C>::type;
  __shared__ A scratch[1024 / MX_WARP];
  const int64_t r_n = red.n;
  for (int64_t o = blockIdx.x; o < outputs; o += gridDim.x) {
    int64_t base;
    kept.offsets(o, &base);
    A shift = A(0);
    if constexpr (C == kLse) {  // the max first, so that exp never overflows
      A m = identity<A, kMax>();
      for (int64_t r = threadIdx.x; r < r_n; r += blockDim.x) {
        int64_t off;
        red.offsets(r, &off);
        m = combine<A, kMax>(m, A(up(x[base + off])));
      }
      shift = block_fold(m, [](A a, A b) { return combine<A, kMax>(a, b); }, scratch);
      if (isinf((double)shift)) shift = A(0);  // all -inf (or +inf): exp(x) gives the right limit
    }
    A acc = identity<A, C>();
    for (int64_t r = threadIdx.x; r < r_n; r += blockDim.x) {
      int64_t off;
      red.offsets(r, &off);
      if constexpr (C == kLse) acc = acc + A(exp((double)(A(up(x[base + off])) - shift)));
      else acc = combine<A, C>(acc, map<A, M>(up(x[base + off])));
    }
    acc = block_fold(acc, [](A a, A b) { return combine<A, C>(a, b); }, scratch);
    if (threadIdx.x == 0) {
      if constexpr (C == kLse) y[o] = convert<T>((double)shift + log((double)acc));
      else if constexpr (F == kMean) y[o] = convert<T>((double)acc / (double)r_n);
      else if constexpr (F == kLog) y[o] = convert<T>(log((double)acc));
      else if constexpr (F == kSqrt) y[o] = convert<T>(sqrt((double)acc));
      else y[o] = convert<T>(acc);
    }
  }
}

unsigned threads_for(int64_t r) {
  int64_t t = MX_WARP;
  while (t < r && t < kThreads) t *= 2;
  return (unsigned)t;
}

// Splits X's dims into kept and reduced walks by `axes` (a bit mask).
void split_dims(const mx_tensor& x, uint32_t reduced_mask, Walk<1>* kept, Walk<1>* red) {
  int64_t st[MX_MAX_DIMS];
  strides_of(x.shape, x.ndim, st);
  int64_t ks[MX_MAX_DIMS], rs[MX_MAX_DIMS];
  int64_t kst[1][MX_MAX_DIMS], rst[1][MX_MAX_DIMS];
  int nk = 0, nr = 0;
  for (int d = 0; d < x.ndim; d++) {
    if (reduced_mask >> d & 1) {
      rs[nr] = x.shape[d];
      rst[0][nr++] = st[d];
    } else {
      ks[nk] = x.shape[d];
      kst[0][nk++] = st[d];
    }
  }
  *kept = make_walk<1>(ks, nk, kst);
  *red = make_walk<1>(rs, nr, rst);
}

template <class T, int M, int C, int F> int reduce(mx_kernel_ctx* ctx) {
  const mx_tensor& x = ctx->inputs[0];
  const int64_t* axes;
  const int32_t na = mx_attr_ints(ctx->attrs, "axes", &axes);
  uint32_t mask = 0;
  for (int32_t i = 0; i < na; i++) mask |= 1u << axes[i];
  Walk<1> kept, red;
  split_dims(x, mask, &kept, &red);
  const int64_t outputs = numel(ctx->outputs[0]);
  if (!outputs) return MX_OK;
  const unsigned grid = (unsigned)std::min<int64_t>(outputs, 1 << 20);
  k_reduce<T, M, C, F><<<grid, threads_for(red.n), 0, stream_of(ctx)>>>(kept, red, (const T*)x.data, (T*)ctx->outputs[0].data, outputs);
  return MX_OK;
}

// ---- Softmax / LogSoftmax over [outer, n, inner]
template <class T, bool Log>
__global__ void k_softmax(const T* __restrict__ x, T* __restrict__ y, int64_t rows, int64_t n, int64_t inner) {
  using A = std::conditional_t<std::is_same<T, double>::value, double, float>;
  __shared__ A scratch[1024 / MX_WARP];
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const int64_t o = row / inner, i = row - o * inner;
    const T* xr = x + o * n * inner + i;
    T* yr = y + o * n * inner + i;
    A m = -INFINITY;
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) m = fmax(m, A(up(xr[j * inner])));
    m = block_fold(m, [](A a, A b) { return fmax(a, b); }, scratch);
    A s = 0;
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) s += exp(A(up(xr[j * inner])) - m);
    s = block_fold(s, [](A a, A b) { return a + b; }, scratch);
    const A ls = log(s);
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
      const A v = A(up(xr[j * inner])) - m;
      yr[j * inner] = convert<T>(Log ? v - ls : exp(v) / s);
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

// ---- BatchNormalization (inference)
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
template <class T> int batch_norm(mx_kernel_ctx* ctx) {
  const mx_tensor& x = ctx->inputs[0];
  const int64_t n = numel(x);
  const int64_t channels = x.ndim > 1 ? x.shape[1] : 1;
  int64_t inner = 1;
  for (int d = 2; d < x.ndim; d++) inner *= x.shape[d];
  if (n)
    k_batch_norm<T><<<blocks_for(n), kThreads, 0, stream_of(ctx)>>>((const T*)x.data, (T*)ctx->outputs[0].data, n, channels, inner,
                                                                   opt_of(ctx, 1, false), opt_of(ctx, 2, false), opt_of(ctx, 3, false),
                                                                   opt_of(ctx, 4, false), mx_attr_float(ctx->attrs, "epsilon", 1e-5));
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

}  // namespace
}  // namespace mxcuda

using namespace mxcuda;

#define REG_REDUCE(T, key, name, m, c, f) MXC_KERNEL(name, key, (reduce<T, m, c, f>));
MXC_REDUCE_TYPES(REG_REDUCE, "ReduceSum", kId, kSum, kNone)
MXC_REDUCE_TYPES(REG_REDUCE, "ReduceMean", kId, kSum, kMean)
MXC_REDUCE_TYPES(REG_REDUCE, "ReduceLogSum", kId, kSum, kLog)
MXC_REDUCE_TYPES(REG_REDUCE, "ReduceL1", kAbs, kSum, kNone)
MXC_REDUCE_TYPES(REG_REDUCE, "ReduceSumSquare", kSquare, kSum, kNone)
MXC_REDUCE_TYPES(REG_REDUCE, "ReduceL2", kSquare, kSum, kSqrt)
MXC_REDUCE_TYPES(REG_REDUCE, "ReduceProd", kId, kProd, kNone)
MXC_REDUCE_TYPES(REG_REDUCE, "ReduceLogSumExp", kId, kLse, kNone)
MXC_REDUCE_TYPES(REG_REDUCE, "ReduceMax", kId, kMax, kNone)
MXC_REDUCE_TYPES(REG_REDUCE, "ReduceMin", kId, kMin, kNone)
#define REG_SOFTMAX(T, key, ...) MXC_KERNEL("Softmax", key, (softmax<T, false>)); MXC_KERNEL("LogSoftmax", key, (softmax<T, true>));
MXC_FLOAT_TYPES(REG_SOFTMAX, _)
#define REG_LAYER_NORM(T, key, ...) MXC_KERNEL("LayerNormalization", key, (layer_norm<T>));
MXC_FLOAT_TYPES(REG_LAYER_NORM, _)
