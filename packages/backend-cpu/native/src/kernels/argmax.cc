// ArgMax / ArgMin along `axis` (non-negative, folded by core) into int64 indices;
// keepdims only changes the output shape. The first extreme index wins, the last
// with select_last_index=1; a NaN counts as the extreme, as in NumPy.
#include "elementwise.h"

#include <algorithm>

namespace mxcpu {
namespace {

// Whether v replaces the current extreme `best`: NaN wins (the first one, or the
// last with select_last_index); ties go to the first index unless select_last.
template <bool kMax, class C> inline bool arg_better(C v, C best, bool last) {
  if (best != best) return last && v != v;
  if (v != v) return true;
  if (v == best) return last;
  return kMax ? v > best : v < best;
}

template <bool kMax, class T> int arg_kernel(mx_kernel_ctx* ctx) {
  using C = compute_t<T>;
  const int64_t axis = mx_attr_int(ctx->attrs, "axis", 0);
  const bool last = mx_attr_int(ctx->attrs, "select_last_index", 0) != 0;
  const axis_split s(ctx->inputs[0], axis);
  const T* x = in_data<T>(ctx, 0);
  int64_t* y = out_data<int64_t>(ctx, 0);
  const int64_t blocks = (s.inner + kBlock - 1) / kBlock;
  const int64_t grain = std::max<int64_t>(1, kGrain / std::max<int64_t>(1, s.n * std::min<int64_t>(s.inner, kBlock)));
  parallel_for(ctx->pool, s.outer * blocks, grain, [&](int64_t wb, int64_t we) {
    C best[kBlock];
    for (int64_t w = wb; w < we; w++) {
      const int64_t o = w / blocks, i0 = (w % blocks) * kBlock, len = std::min<int64_t>(kBlock, s.inner - i0);
      const T* xo = x + o * s.n * s.inner + i0;
      int64_t* yo = y + o * s.inner + i0;
      for (int64_t i = 0; i < len; i++) { best[i] = load(xo[i]); yo[i] = 0; }
      for (int64_t r = 1; r < s.n; r++) {
        const T* xr = xo + r * s.inner;
        for (int64_t i = 0; i < len; i++) {
          const C v = load(xr[i]);
          if (arg_better<kMax>(v, best[i], last)) { best[i] = v; yo[i] = r; }
        }
      }
    }
  });
  return MX_OK;
}

}  // namespace
}  // namespace mxcpu

using namespace mxcpu;

#define REG_ARG(T, key, ...) \
  MX_KERNEL("ArgMax", key, (arg_kernel<true, T>)); \
  MX_KERNEL("ArgMin", key, (arg_kernel<false, T>));

MXCPU_NUMERIC_TYPES(REG_ARG, _)
