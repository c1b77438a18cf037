// Selection along `axis` (non-negative, folded by core):
// - TopK: the `k` best elements of every line (largest=1: greatest first, else
//   smallest first) and their int64 positions. Ties go to the lower position, so
//   the result is the same with sorted=0; NaN ranks above every number.
// - Hardmax: 1 at the first maximum of every line (a NaN, if any), 0 elsewhere.
#include <algorithm>
#include <utility>
#include <vector>

#include "elementwise.h"

namespace mxcpu {
namespace {

// a ranks above b: NaN above every number.
template <class C> inline bool above(C a, C b) { return a != a ? b == b : a > b; }

template <class T> int topk_kernel(mx_kernel_ctx* ctx) {
  using C = compute_t<T>;
  const int64_t axis = mx_attr_int(ctx->attrs, "axis", 0), k = mx_attr_int(ctx->attrs, "k", 0);
  const bool largest = mx_attr_int(ctx->attrs, "largest", 1) != 0;
  const axis_split s(ctx->inputs[0], axis);
  if (k < 0 || k > s.n) return mx_fail(ctx, MX_ERR_INVALID, "TopK: k %lld is out of range for an axis of size %lld", (long long)k, (long long)s.n);
  const T* x = in_data<T>(ctx, 0);
  T* values = out_data<T>(ctx, 0);
  int64_t* indices = out_data<int64_t>(ctx, 1);
  if (k == 0) return MX_OK;
  // Lines (o, i) read x[(o*n + j)*inner + i] and write out[(o*k + r)*inner + i].
  parallel_for(ctx->pool, s.outer * s.inner, std::max<int64_t>(1, kGrain / s.n), [&](int64_t b, int64_t e) {
    std::vector<std::pair<C, int64_t>> line(static_cast<size_t>(s.n));
    auto better = [largest](const std::pair<C, int64_t>& p, const std::pair<C, int64_t>& q) {
      if (largest ? above(p.first, q.first) : above(q.first, p.first)) return true;
      if (largest ? above(q.first, p.first) : above(p.first, q.first)) return false;
      return p.second < q.second;
    };
    for (int64_t l = b; l < e; l++) {
      const int64_t o = l / s.inner, i = l % s.inner;
      for (int64_t j = 0; j < s.n; j++) line[size_t(j)] = {load(x[(o * s.n + j) * s.inner + i]), j};
      if (k < s.n) std::partial_sort(line.begin(), line.begin() + k, line.end(), better);
      else std::sort(line.begin(), line.end(), better);
      for (int64_t r = 0; r < k; r++) {
        const int64_t at = (o * k + r) * s.inner + i;
        values[at] = x[(o * s.n + line[size_t(r)].second) * s.inner + i];
        indices[at] = line[size_t(r)].second;
      }
    }
  });
  return MX_OK;
}

template <class T> int hardmax_kernel(mx_kernel_ctx* ctx) {
  const axis_split s(ctx->inputs[0], mx_attr_int(ctx->attrs, "axis", 0));
  const T* x = in_data<T>(ctx, 0);
  T* y = out_data<T>(ctx, 0);
  const T zero = store<T>(0.0f), one = store<T>(1.0f);
  parallel_for(ctx->pool, s.outer * s.inner, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, s.n)), [&](int64_t b, int64_t e) {
    for (int64_t l = b; l < e; l++) {
      const int64_t o = l / s.inner, i = l % s.inner, base = o * s.n * s.inner + i;
      int64_t best = 0;
      for (int64_t j = 0; j < s.n; j++) {
        if (above(load(x[base + j * s.inner]), load(x[base + best * s.inner]))) best = j;
        y[base + j * s.inner] = zero;
      }
      if (s.n > 0) y[base + best * s.inner] = one;
    }
  });
  return MX_OK;
}

}  // namespace
}  // namespace mxcpu

using namespace mxcpu;

#define REG_TOPK(T, key, ...) MX_KERNEL("TopK", key, (topk_kernel<T>));
#define REG_HARDMAX(T, key, ...) MX_KERNEL("Hardmax", key, (hardmax_kernel<T>));

MXCPU_NUMERIC_TYPES(REG_TOPK, _)
MXCPU_FLOAT_TYPES(REG_HARDMAX, _)
