// CumSum along `axis` (non-negative; core folded the axis input): y[i] = sum of
// x[j] for j <= i (j < i with exclusive=1; from the end with reverse=1).
// Float types accumulate in double and round each output; integers wrap.
#include "elementwise.h"

#include <algorithm>

namespace mxcpu {
namespace {

template <class T> int cumsum_kernel(mx_kernel_ctx* ctx) {
  using A = std::conditional_t<is_float_v<T>, double, compute_t<T>>;
  const int64_t axis = mx_attr_int(ctx->attrs, "axis", 0);
  const bool exclusive = mx_attr_int(ctx->attrs, "exclusive", 0) != 0;
  const bool reverse = mx_attr_int(ctx->attrs, "reverse", 0) != 0;
  const axis_split s(ctx->inputs[0], axis);
  const T* x = in_data<T>(ctx, 0);
  T* y = out_data<T>(ctx, 0);
  const int64_t blocks = (s.inner + kBlock - 1) / kBlock;
  const int64_t grain = std::max<int64_t>(1, kGrain / std::max<int64_t>(1, s.n * std::min<int64_t>(s.inner, kBlock)));
  parallel_simd(ctx->pool, s.outer * blocks, grain, [&](int64_t wb, int64_t we) MXCPU_INLINE {
    A acc[kBlock];
    for (int64_t w = wb; w < we; w++) {
      const int64_t o = w / blocks, i0 = (w % blocks) * kBlock, len = std::min<int64_t>(kBlock, s.inner - i0);
      const int64_t step = reverse ? -s.inner : s.inner;  // along the axis, in summation order
      const int64_t first = o * s.n * s.inner + i0 + (reverse ? (s.n - 1) * s.inner : 0);
      const T* xr = x + first;
      T* yr = y + first;
      if (len == 1) {  // one column: keep the running sum in a register
        A a = A(0);
        for (int64_t k = 0; k < s.n; k++, xr += step, yr += step) {
          const A v = A(load(*xr));
          if (exclusive) { *yr = convert<T>(a); a = wadd(a, v); }
          else { a = wadd(a, v); *yr = convert<T>(a); }
        }
        continue;
      }
      for (int64_t i = 0; i < len; i++) acc[i] = A(0);
      for (int64_t k = 0; k < s.n; k++, xr += step, yr += step) {
        for (int64_t i = 0; i < len; i++) {
          const A v = A(load(xr[i]));
          if (exclusive) { yr[i] = convert<T>(acc[i]); acc[i] = wadd(acc[i], v); }
          else { acc[i] = wadd(acc[i], v); yr[i] = convert<T>(acc[i]); }
        }
      }
    }
  });
  return MX_OK;
}

}  // namespace
}  // namespace mxcpu

using namespace mxcpu;

#define REG_CUMSUM(T, key, ...) MX_KERNEL("CumSum", key, (cumsum_kernel<T>));

MXCPU_REDUCE_TYPES(REG_CUMSUM, _)
