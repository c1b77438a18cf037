// Reductions: one block per output, folding with block_fold, whose warp width
// is MX_WARP (32 here, 64 on AMD wavefronts).
//   Reduce*: over the `axes` attr (sorted, non-negative; [] reduces nothing, each
//     output is then its one element through the op's map and finish). Sums of
//     floats accumulate in float (double for float64), integers in 64 bits and wrap
//     back to the type. Max/Min propagate NaN. An empty reduction gives the op's
//     identity (Sum 0, Prod 1, Max -inf/lowest, Mean NaN).
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
// Max and Min also on int8, uint8 and bool (bool: Max is any, Min is all).
#define REG_REDUCE_NARROW(T, key) \
  REG_REDUCE(T, key, "ReduceMax", kId, kMax, kNone) REG_REDUCE(T, key, "ReduceMin", kId, kMin, kNone)
REG_REDUCE_NARROW(int8_t, "int8") REG_REDUCE_NARROW(uint8_t, "uint8") REG_REDUCE_NARROW(bool, "bool")
