// Det: the determinant of every M x M matrix in the last two dims, by Gaussian
// elimination with partial pivoting in double, rounded once to Y's dtype.
// CumProd along `axis` (non-negative; core folded the axis input): y[i] = product
// of x[j] for j <= i (j < i with exclusive=1, whose first output is 1; from the
// end with reverse=1). Float types accumulate in double and round each output;
// integers wrap.
#include <algorithm>
#include <cmath>
#include <vector>

#include "elementwise.h"

namespace mxcpu {
namespace {

template <class T> int det_kernel(mx_kernel_ctx* ctx) {
  const mx_tensor& x = ctx->inputs[0];
  const int64_t m = x.shape[x.ndim - 1], mm = m * m;
  const T* src = in_data<T>(ctx, 0);
  T* y = out_data<T>(ctx, 0);
  parallel_for(ctx->pool, mx_numel(&ctx->outputs[0]), std::max<int64_t>(1, kGrain / std::max<int64_t>(1, mm * m)), [&](int64_t b, int64_t e) {
    std::vector<double> a(static_cast<size_t>(mm));
    for (int64_t t = b; t < e; t++) {
      for (int64_t i = 0; i < mm; i++) a[size_t(i)] = double(load(src[t * mm + i]));
      double det = 1;
      for (int64_t c = 0; c < m; c++) {
        int64_t p = c;
        for (int64_t r = c + 1; r < m; r++)
          if (std::fabs(a[size_t(r * m + c)]) > std::fabs(a[size_t(p * m + c)])) p = r;
        const double pivot = a[size_t(p * m + c)];
        if (pivot == 0) {
          det = 0;
          break;
        }
        if (p != c) {
          for (int64_t j = 0; j < m; j++) std::swap(a[size_t(c * m + j)], a[size_t(p * m + j)]);
          det = -det;
        }
        det *= pivot;
        for (int64_t r = c + 1; r < m; r++) {
          const double f = a[size_t(r * m + c)] / pivot;
          for (int64_t j = c; j < m; j++) a[size_t(r * m + j)] -= f * a[size_t(c * m + j)];
        }
      }
      y[t] = store<T>(det);
    }
  });
  return MX_OK;
}

constexpr int64_t kBlock = 256;  // neighbouring columns multiplied together when the axis is not innermost

template <class T> int cumprod_kernel(mx_kernel_ctx* ctx) {
  using A = std::conditional_t<is_float_v<T>, double, compute_t<T>>;
  const bool exclusive = mx_attr_int(ctx->attrs, "exclusive", 0) != 0, reverse = mx_attr_int(ctx->attrs, "reverse", 0) != 0;
  const axis_split s(ctx->inputs[0], mx_attr_int(ctx->attrs, "axis", 0));
  const T* x = in_data<T>(ctx, 0);
  T* y = out_data<T>(ctx, 0);
  const int64_t blocks = (s.inner + kBlock - 1) / kBlock;
  const int64_t grain = std::max<int64_t>(1, kGrain / std::max<int64_t>(1, s.n * std::min(s.inner, kBlock)));
  parallel_for(ctx->pool, s.outer * blocks, grain, [&](int64_t wb, int64_t we) {
    A acc[kBlock];
    for (int64_t w = wb; w < we; w++) {
      const int64_t o = w / blocks, i0 = (w % blocks) * kBlock, len = std::min(kBlock, s.inner - i0);
      std::fill(acc, acc + len, A(1));
      for (int64_t k = 0; k < s.n; k++) {
        const int64_t off = (o * s.n + (reverse ? s.n - 1 - k : k)) * s.inner + i0;
        for (int64_t i = 0; i < len; i++) {
          const A v = A(load(x[off + i]));
          if (exclusive) { y[off + i] = convert<T>(acc[i]); acc[i] = wmul(acc[i], v); }
          else { acc[i] = wmul(acc[i], v); y[off + i] = convert<T>(acc[i]); }
        }
      }
    }
  });
  return MX_OK;
}

}  // namespace
}  // namespace mxcpu

using namespace mxcpu;

#define REG_DET(T, key, ...) MX_KERNEL("Det", key, (det_kernel<T>));
#define REG_CUMPROD(T, key, ...) MX_KERNEL("CumProd", key, (cumprod_kernel<T>));
MXCPU_FLOAT_TYPES(REG_DET, _)
MXCPU_REDUCE_TYPES(REG_CUMPROD, _)
