// Generators and shape queries: outputs computed from attributes, shapes and a few
// input values, never from large inputs. Only the element size matters where
// values are copied, so one kernel per size serves every dtype.
//   Shape: Y = X's dims start..end as int64 (core clamped start and end to
//     [0, rank]; Y's length is end - start). Size: X's element count, an int64
//     scalar. Both pass the numbers to a one-block kernel as a parameter.
//   ConstantOfShape: every element of Y is the attr `value` converted to Y's dtype
//     (as @mx/backend-cpu: integers wrap, 16-bit floats round from float).
//   Range: Y[i] = start + i * delta (core folded the scalar inputs into `start`
//     and `delta`; limit only sets Y's length): integers in wrapping 64-bit
//     arithmetic, floats in double (no fused multiply-add, as on the host), then
//     rounded to Y's dtype.
//   EyeLike: ones of Y's dtype on diagonal k (k > 0 above the main one), zeros
//     elsewhere; X only gives the shape.
//   OneHot: Y = indices.shape[:axis] + [depth] + indices.shape[axis:] (core folded
//     depth and normalized axis) holds values[1] (on) where the position along
//     `axis` equals the index and values[0] (off) elsewhere. Float indices
//     truncate toward zero; negative ones count from depth down; those still
//     outside [0, depth) leave the whole line off.
//   HannWindow / HammingWindow / BlackmanWindow: Y[n] = f(2 pi n / N) for n < size
//     (Y's length), N = size when periodic, else size - 1; computed in double and
//     converted to Y's dtype (integers truncate toward zero).
//   MelWeightMatrix: triangular filters between num_mel_bins + 2 points evenly
//     spaced on the mel scale (2595 log10(1 + hz / 700)) from the lower to the
//     upper edge, each at spectrogram bin floor((dft_length + 1) * hz / sample_rate);
//     filter i rises from 0 at point i to 1 at point i + 1 and falls back to 0 at
//     point i + 2 (ONNX's reference; bins past the matrix are dropped). A function
//     of the attributes only: computed on the host with the cpu's arithmetic, then
//     uploaded and converted to Y's dtype on the device.
//   NonZero, NonMaxSuppression, Unique: the output shape depends on the input
//     values, so core's shape rule computed the whole result on the host and passes
//     it as attributes (NonZero `indices`, NonMaxSuppression `selected`; Unique
//     `values`, then `indices`, `inverse_indices`, `counts`); the kernels upload
//     them. Unique's values arrive as doubles and are converted on the device
//     (exact for integers up to 2^53, as on the cpu).
#include <cmath>
#include <vector>

#include "common.cuh"

namespace mxcuda {
namespace {

// ---- Shape / Size: up to MX_MAX_DIMS int64 values written by one block.
struct Ints {
  int n;
  int64_t v[MX_MAX_DIMS];
};
__global__ void k_put_ints(int64_t* __restrict__ y, Ints v) {
  for (int i = threadIdx.x; i < v.n; i += blockDim.x) y[i] = v.v[i];
}
int put_ints(mx_kernel_ctx* ctx, const Ints& v) {
  if (v.n > 0) k_put_ints<<<1, MX_WARP, 0, stream_of(ctx)>>>((int64_t*)ctx->outputs[0].data, v);
  return MX_OK;
}

int shape(mx_kernel_ctx* ctx) {
  const mx_tensor &x = ctx->inputs[0], &y = ctx->outputs[0];
  int64_t start = mx_attr_int(ctx->attrs, "start", 0);
  if (start < 0) start += x.ndim;
  start = start < 0 ? 0 : start > x.ndim ? x.ndim : start;
  const int64_t n = numel(y);
  if (y.ndim != 1 || start + n > x.ndim)
    return mx_fail(ctx, MX_ERR_INVALID, "Shape: %lld dims from %lld exceed rank %d", (long long)n, (long long)start, x.ndim);
  Ints v{};
  v.n = (int)n;
  for (int64_t i = 0; i < n; i++) v.v[i] = x.shape[start + i];
  return put_ints(ctx, v);
}

int size(mx_kernel_ctx* ctx) {
  Ints v{};
  v.n = 1;
  v.v[0] = numel(ctx->inputs[0]);
  return put_ints(ctx, v);
}

// ---- ConstantOfShape
template <class E> __global__ void k_fill(E* __restrict__ y, E v, int64_t n) {
  MXC_GRID_LOOP(i, n) y[i] = v;
}
int constant_of_shape(mx_kernel_ctx* ctx) {
  const mx_tensor& y = ctx->outputs[0];
  const int64_t n = numel(y);
  if (!n) return MX_OK;
  const uint64_t v = scalar_bits(y.dtype, attr_scalar(ctx->attrs, "value"));
  const cudaStream_t s = stream_of(ctx);
  switch (elem_size(y.dtype)) {
    case 1: k_fill<uint8_t><<<blocks_for(n), kThreads, 0, s>>>((uint8_t*)y.data, (uint8_t)v, n); break;
    case 2: k_fill<uint16_t><<<blocks_for(n), kThreads, 0, s>>>((uint16_t*)y.data, (uint16_t)v, n); break;
    case 4: k_fill<uint32_t><<<blocks_for(n), kThreads, 0, s>>>((uint32_t*)y.data, (uint32_t)v, n); break;
    default: k_fill<uint64_t><<<blocks_for(n), kThreads, 0, s>>>((uint64_t*)y.data, v, n); break;
  }
  return MX_OK;
}

// ---- Range
template <class T> __global__ void k_range(T* __restrict__ y, int64_t n, Scalar start, Scalar delta) {
  MXC_GRID_LOOP(i, n) {
    if constexpr (is_int_v<T>) {
      y[i] = (T)((uint64_t)start.i + (uint64_t)i * (uint64_t)delta.i);  // unsigned: wraps without UB
    } else {
      const double v = __dadd_rn(start.f, __dmul_rn((double)i, delta.f));
      if constexpr (is_half<T>::value) y[i] = convert<T>((float)v);
      else y[i] = convert<T>(v);
    }
  }
}
template <class T> int range(mx_kernel_ctx* ctx) {
  const mx_tensor& y = ctx->outputs[0];
  const int64_t n = numel(y);
  if (n)
    k_range<T><<<blocks_for(n), kThreads, 0, stream_of(ctx)>>>((T*)y.data, n, attr_scalar(ctx->attrs, "start"),
                                                             attr_scalar(ctx->attrs, "delta"));
  return MX_OK;
}

// ---- EyeLike (T2: Y's dtype; only its element size and its "one" matter)
template <class E> __global__ void k_eye(E* __restrict__ y, int64_t cols, int64_t k, E one, int64_t n) {
  MXC_GRID_LOOP(i, n) {
    const int64_t r = i / cols, c = i - r * cols;
    y[i] = c - r == k ? one : E(0);
  }
}
template <class T2> int eye_like(mx_kernel_ctx* ctx) {
  using E = typename bits<sizeof(T2)>::type;
  const mx_tensor& y = ctx->outputs[0];
  if (y.ndim != 2) return mx_fail(ctx, MX_ERR_INVALID, "EyeLike: the output must be 2-D (rank %d)", y.ndim);
  const int64_t n = numel(y);
  if (!n) return MX_OK;
  const E one = (E)scalar_bits(y.dtype, Scalar{1, 1.0});
  k_eye<E><<<blocks_for(n), kThreads, 0, stream_of(ctx)>>>((E*)y.data, y.shape[1], mx_attr_int(ctx->attrs, "k", 0), one, n);
  return MX_OK;
}

// ---- OneHot (T1: the indices' type; E: the bits of the values' and output's type)
template <class T1, class E>
__global__ void k_one_hot(E* __restrict__ y, const T1* __restrict__ idx, const E* __restrict__ values, int64_t depth, int64_t inner, int64_t n) {
  const E off = values[0], on = values[1];
  MXC_GRID_LOOP(e, n) {
    const int64_t i = e % inner, q = e / inner, k = q % depth, o = q / depth;
    int64_t v;
    if constexpr (is_float_v<T1>) v = convert<int64_t>(up(idx[o * inner + i]));  // truncates; NaN gives 0
    else v = (int64_t)idx[o * inner + i];
    if (v < 0) v += depth;
    y[e] = v == k ? on : off;
  }
}
template <class T1, class E> int one_hot_sized(mx_kernel_ctx* ctx, int64_t depth, int64_t inner) {
  const mx_tensor &ind = ctx->inputs[0], &vals = ctx->inputs[2], &y = ctx->outputs[0];
  const int64_t n = numel(y);
  if (n)
    k_one_hot<T1, E><<<blocks_for(n), kThreads, 0, stream_of(ctx)>>>((E*)y.data, (const T1*)ind.data, (const E*)vals.data, depth,
                                                                     inner, n);
  return MX_OK;
}
template <class T1> int one_hot(mx_kernel_ctx* ctx) {
  const mx_tensor &ind = ctx->inputs[0], &vals = ctx->inputs[2], &y = ctx->outputs[0];
  const int64_t axis = mx_attr_int(ctx->attrs, "axis", 0), depth = mx_attr_int(ctx->attrs, "depth", 0);
  if (axis < 0 || axis > ind.ndim || depth < 1 || y.ndim != ind.ndim + 1 || y.shape[axis] != depth || numel(vals) != 2)
    return mx_fail(ctx, MX_ERR_INVALID, "OneHot: axis %lld and depth %lld do not fit indices of rank %d and output of rank %d, or values has %lld elements (2 expected)",
                   (long long)axis, (long long)depth, ind.ndim, y.ndim, (long long)numel(vals));
  int64_t inner = 1;
  for (int d = (int)axis; d < ind.ndim; d++) inner *= ind.shape[d];
  if (!inner) return MX_OK;  // no indices: Y is empty too
  switch (elem_size(y.dtype)) {
    case 1: return one_hot_sized<T1, uint8_t>(ctx, depth, inner);
    case 2: return one_hot_sized<T1, uint16_t>(ctx, depth, inner);
    case 4: return one_hot_sized<T1, uint32_t>(ctx, depth, inner);
    default: return one_hot_sized<T1, uint64_t>(ctx, depth, inner);
  }
}

// ---- window functions
enum Window { kHann, kHamming, kBlackman };
template <int W, class T> __global__ void k_window(T* __restrict__ y, double N, int64_t n) {
  constexpr double kPi = 3.14159265358979323846;
  MXC_GRID_LOOP(i, n) {
    const double a = (2 * kPi * (double)i) / N;
    const double v = W == kHann ? 0.5 - 0.5 * cos(a) : W == kHamming ? 25.0 / 46 - (21.0 / 46) * cos(a) : 0.42 - 0.5 * cos(a) + 0.08 * cos(2 * a);
    y[i] = convert<T>(v);
  }
}
template <int W, class T> int window(mx_kernel_ctx* ctx) {
  const mx_tensor& y = ctx->outputs[0];
  const int64_t n = numel(y);
  const double N = (double)(mx_attr_int(ctx->attrs, "periodic", 1) ? n : n - 1);
  if (n) k_window<W, T><<<blocks_for(n), kThreads, 0, stream_of(ctx)>>>((T*)y.data, N, n);
  return MX_OK;
}

// ---- results computed by core: int list attribute `name` -> int64 output k (same length)
int ints_to_output(mx_kernel_ctx* ctx, const char* op, const char* name, int k) {
  const mx_tensor& y = ctx->outputs[k];
  const mx_attr* a = mx_attr_find(ctx->attrs, name);
  const int64_t n = a && a->type == MX_ATTR_INTS ? a->count : -1;
  if (n != numel(y))
    return mx_fail(ctx, MX_ERR_INVALID, "%s: attribute '%s' has %lld values for output %d of %lld elements", op, name, (long long)n, k,
                   (long long)numel(y));
  return upload(ctx, op, y.data, a->ints, (size_t)n * sizeof(int64_t));
}
int non_zero(mx_kernel_ctx* ctx) { return ints_to_output(ctx, "NonZero", "indices", 0); }
int non_max_suppression(mx_kernel_ctx* ctx) { return ints_to_output(ctx, "NonMaxSuppression", "selected", 0); }

template <class T> __global__ void k_from_doubles(T* __restrict__ y, const double* __restrict__ v, int64_t n) {
  MXC_GRID_LOOP(i, n) y[i] = convert<T>(v[i]);
}
// n doubles from the host -> Y's dtype (scratch for the doubles).
template <class T> int doubles_to_output(mx_kernel_ctx* ctx, const char* op, const double* host, int64_t n) {
  if (!n) return MX_OK;
  double* v;
  if (int st = scratch_alloc(ctx, op, (size_t)n * sizeof(double), (void**)&v)) return st;
  const int st = upload(ctx, op, v, host, (size_t)n * sizeof(double));
  if (st == MX_OK) k_from_doubles<T><<<blocks_for(n), kThreads, 0, stream_of(ctx)>>>((T*)ctx->outputs[0].data, v, n);
  const int freed = scratch_free(ctx, op, v);
  return st != MX_OK ? st : freed;
}

template <class T> int mel_weight_matrix(mx_kernel_ctx* ctx) {
  const mx_tensor& y = ctx->outputs[0];
  const int64_t bins = mx_attr_int(ctx->attrs, "num_mel_bins", 1), dft_len = mx_attr_int(ctx->attrs, "dft_length", 1);
  const int64_t rows = y.ndim == 2 ? y.shape[0] : -1;
  if (rows < 0 || y.shape[1] != bins || bins < 0)
    return mx_fail(ctx, MX_ERR_INVALID, "MelWeightMatrix: Y must be [bins, %lld] (rank %d)", (long long)bins, y.ndim);
  const double rate = (double)mx_attr_int(ctx->attrs, "sample_rate", 1);
  const auto mel = [](double hz) { return 2595 * std::log10(1 + hz / 700); };
  const double lo = mel(mx_attr_float(ctx->attrs, "lower_edge_hertz", 0)), hi = mel(mx_attr_float(ctx->attrs, "upper_edge_hertz", 0));
  const double step = (hi - lo) / (double)(bins + 2);
  std::vector<double> w((size_t)(rows * bins), 0.0), point((size_t)bins + 2);
  for (int64_t i = 0; i < bins + 2; i++)
    point[(size_t)i] = std::floor((double)(dft_len + 1) * (700 * (std::pow(10.0, ((double)i * step + lo) / 2595) - 1)) / rate);
  const auto set = [&](int64_t j, int64_t i, double v) {
    if (j >= 0 && j < rows) w[(size_t)(j * bins + i)] = v;
  };
  for (int64_t i = 0; i < bins; i++) {
    const int64_t l = (int64_t)point[(size_t)i], c = (int64_t)point[(size_t)i + 1], r = (int64_t)point[(size_t)i + 2];
    if (c == l) set(c, i, 1);
    else
      for (int64_t j = l; j <= c; j++) set(j, i, (double)(j - l) / (double)(c - l));
    for (int64_t j = c; j < r; j++) set(j, i, (double)(r - j) / (double)(r - c));
  }
  return doubles_to_output<T>(ctx, "MelWeightMatrix", w.data(), rows * bins);
}

template <class T> int unique(mx_kernel_ctx* ctx) {
  const mx_tensor& y = ctx->outputs[0];
  const mx_attr* a = mx_attr_find(ctx->attrs, "values");
  const int64_t n = numel(y);
  // a numeric list carries both views: `floats` holds every value
  if (!a || (a->type != MX_ATTR_INTS && a->type != MX_ATTR_FLOATS) || a->count != n || (n && !a->floats))
    return mx_fail(ctx, MX_ERR_INVALID, "Unique: attribute 'values' does not match Y's %lld elements", (long long)n);
  if (int st = doubles_to_output<T>(ctx, "Unique", a->floats, n)) return st;
  static const char* const extra[] = {"indices", "inverse_indices", "counts"};
  for (int k = 1; k < ctx->num_outputs && k <= 3; k++)
    if (int st = ints_to_output(ctx, "Unique", extra[k - 1], k)) return st;
  return MX_OK;
}

}  // namespace
}  // namespace mxcuda

using namespace mxcuda;

MXC_KERNEL("NonZero", "", non_zero);
MXC_KERNEL("NonMaxSuppression", "", non_max_suppression);
#define REG_UNIQUE(T, key, ...) MXC_KERNEL("Unique", key, (unique<T>));
MXC_ALL_TYPES(REG_UNIQUE, _)

MXC_KERNEL_EVERY_DTYPE("Shape", "", shape);
MXC_KERNEL_EVERY_DTYPE("Size", "", size);
MXC_KERNEL_EVERY_DTYPE("ConstantOfShape", "", constant_of_shape);
#define REG_RANGE(T, key, ...) MXC_KERNEL("Range", key, (range<T>));
MXC_FLOAT_TYPES(REG_RANGE, _)
REG_RANGE(int16_t, "int16") REG_RANGE(int32_t, "int32") REG_RANGE(int64_t, "int64")
// EyeLike's key is "T1,T2": the input's dtype (only its shape is read), then Y's.
#define REG_EYE_LIKE(T, key, ...) MXC_KERNEL_EVERY_DTYPE("EyeLike", "," key, (eye_like<T>));
MXC_ALL_TYPES(REG_EYE_LIKE, _)
// OneHot's key is "T1,T3": the indices' dtype, then the values' (and Y's).
#define REG_ONE_HOT(T, key, ...) MXC_KERNEL_EVERY_DTYPE_AFTER("OneHot", key ",", (one_hot<T>));
MXC_NUMERIC_TYPES(REG_ONE_HOT, _)
#define REG_WINDOW(T, key, ...)                                \
  MXC_KERNEL("HannWindow", key, (window<kHann, T>));         \
  MXC_KERNEL("HammingWindow", key, (window<kHamming, T>));   \
  MXC_KERNEL("BlackmanWindow", key, (window<kBlackman, T>));
MXC_NUMERIC_TYPES(REG_WINDOW, _)
#define REG_MEL(T, key, ...) MXC_KERNEL("MelWeightMatrix", key, (mel_weight_matrix<T>));
MXC_FLOAT_TYPES(REG_MEL, _)
MXC_INT_TYPES(REG_MEL, _)
