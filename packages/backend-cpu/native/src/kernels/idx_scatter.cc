// ScatterElements / ScatterND: Y = a copy of data, then every update is combined
// into the element (ScatterElements: data's coordinates of the update with `axis`
// replaced by its index) or slice (ScatterND: addressed by an index tuple in the
// last dim of the int64 indices) it addresses, in the order of the updates.
// `reduction`: 'none' replaces (the last duplicate wins), 'add'/'mul' accumulate
// (integers wrap, 16-bit floats round after each update), 'max'/'min' keep the
// extreme (NaN propagates); on bool, add/max are OR and mul/min are AND.
// Core checked the shapes; indices out of range fail before anything is written.
// TensorScatter: Y = past_cache, then per batch entry b the update's slices along
// `axis` are copied to positions write_indices[b] + k (0 + k when absent), taken
// modulo the axis size in mode 'circular'; in mode 'linear' they must fit.
#include <algorithm>
#include <cstring>

#include "elementwise.h"
#include "idx_index.h"

namespace mxcpu {
namespace {

enum reduction { kNone, kAdd, kMul, kMax, kMin };

template <int R, class T> inline T combine(T cur, T upd) {
  if constexpr (R == kNone) {
    return upd;
  } else if constexpr (std::is_same_v<T, bool>) {
    return (R == kAdd || R == kMax) ? (cur || upd) : (cur && upd);
  } else {
    using C = compute_t<T>;
    const C a = load(cur), b = load(upd);
    if constexpr (R == kAdd) return store<T>(wadd(a, b));
    else if constexpr (R == kMul) return store<T>(wmul(a, b));
    else if constexpr (R == kMax) return store<T>((b != b || b > a) ? b : a);
    else return store<T>((b != b || b < a) ? b : a);
  }
}

// Calls f(std::integral_constant<int, R>) for the reduction named by the attribute.
template <class F> int with_reduction(mx_kernel_ctx* ctx, const char* op, F&& f) {
  const char* r = mx_attr_string(ctx->attrs, "reduction", "none");
  if (!std::strcmp(r, "none")) f(std::integral_constant<int, kNone>{});
  else if (!std::strcmp(r, "add")) f(std::integral_constant<int, kAdd>{});
  else if (!std::strcmp(r, "mul")) f(std::integral_constant<int, kMul>{});
  else if (!std::strcmp(r, "max")) f(std::integral_constant<int, kMax>{});
  else if (!std::strcmp(r, "min")) f(std::integral_constant<int, kMin>{});
  else return mx_fail(ctx, MX_ERR_INVALID, "%s: unknown reduction '%s'", op, r);
  return MX_OK;
}

// Y = data (a byte copy split over the pool).
template <class T> void copy_data(mx_kernel_ctx* ctx) {
  const mx_tensor &x = ctx->inputs[0], &y = ctx->outputs[0];
  movement::copy_rows(y.data, 0, x.data, 0, 1, mx_numel(&x) * int64_t(sizeof(T)), ctx->pool);
}

template <class T> int scatter_elements(mx_kernel_ctx* ctx) {
  const mx_tensor &x = ctx->inputs[0], &ind = ctx->inputs[1];
  const idx::element_map map(x, ind, mx_attr_int(ctx->attrs, "axis", 0));
  if (int err = idx::check_indices(ctx, "ScatterElements", ind, map.n)) return err;
  copy_data<T>(ctx);
  const T* upd = in_data<T>(ctx, 2);
  T* y = out_data<T>(ctx, 0);
  const int64_t rows = map.cols > 0 ? mx_numel(&ind) / map.cols : 0;
  return with_reduction(ctx, "ScatterElements", [&](auto r) {
    for (int64_t row = 0; row < rows; row++) {
      const int64_t base = map.row_base(row);
      for (int64_t j = 0; j < map.cols; j++) {
        T& dst = y[map.offset(base, row, j)];
        dst = combine<decltype(r)::value>(dst, upd[row * map.cols + j]);
      }
    }
  });
}

template <class T> int scatter_nd(mx_kernel_ctx* ctx) {
  std::vector<int64_t> offsets;
  int64_t slice = 0;
  if (int err = idx::tuple_offsets(ctx, "ScatterND", ctx->inputs[0], ctx->inputs[1], 0, offsets, slice)) return err;
  copy_data<T>(ctx);
  const T* upd = in_data<T>(ctx, 2);
  T* y = out_data<T>(ctx, 0);
  return with_reduction(ctx, "ScatterND", [&](auto r) {
    for (size_t t = 0; t < offsets.size(); t++) {
      T* dst = y + offsets[t];
      const T* src = upd + int64_t(t) * slice;
      for (int64_t j = 0; j < slice; j++) dst[j] = combine<decltype(r)::value>(dst[j], src[j]);
    }
  });
}

// Any dtype: the slices are copied as bytes.
int tensor_scatter(mx_kernel_ctx* ctx) {
  const mx_tensor &past = ctx->inputs[0], &upd = ctx->inputs[1], &y = ctx->outputs[0];
  const int64_t* w = ctx->num_inputs > 2 ? static_cast<const int64_t*>(ctx->inputs[2].data) : nullptr;  // absent: null
  const int64_t axis = mx_attr_int(ctx->attrs, "axis", past.ndim - 2);
  const bool circular = std::strcmp(mx_attr_string(ctx->attrs, "mode", "linear"), "circular") == 0;
  const int64_t es = movement::elem_size(past.dtype), batch = past.shape[0], n = past.shape[axis], u = upd.shape[axis];
  int64_t per_batch = 1, inner = es;  // [batch, per_batch, n, inner bytes]
  for (int d = 1; d < axis; d++) per_batch *= past.shape[d];
  for (int d = int(axis) + 1; d < past.ndim; d++) inner *= past.shape[d];
  std::vector<int64_t> start(size_t(batch), 0);
  for (int64_t b = 0; b < batch && w; b++) {
    start[size_t(b)] = w[b];
    if (!circular && (start[size_t(b)] < 0 || start[size_t(b)] + u > n))
      return mx_fail(ctx, MX_ERR_INVALID, "TensorScatter: write index %lld of batch entry %lld with %lld positions exceeds the axis size %lld",
                     (long long)start[size_t(b)], (long long)b, (long long)u, (long long)n);
  }
  movement::copy_rows(y.data, 0, past.data, 0, 1, mx_numel(&past) * es, ctx->pool);
  char* dst = static_cast<char*>(y.data);
  const char* src = static_cast<const char*>(upd.data);
  for (int64_t o = 0; o < batch * per_batch; o++)
    for (int64_t k = 0; k < u; k++) {
      const int64_t pos = circular ? ((start[size_t(o / per_batch)] + k) % n + n) % n : start[size_t(o / per_batch)] + k;
      std::memcpy(dst + (o * n + pos) * inner, src + (o * u + k) * inner, size_t(inner));
    }
  return MX_OK;
}

}  // namespace
}  // namespace mxcpu

using namespace mxcpu;

#define REG_TENSOR_SCATTER(T, key, ...) MX_KERNEL("TensorScatter", key, tensor_scatter);
MXCPU_ALL_TYPES(REG_TENSOR_SCATTER, _)

#define REG_SCATTER(T, key, ...)                                      \
  MX_KERNEL("ScatterElements", key ",int32", (scatter_elements<T>)); \
  MX_KERNEL("ScatterElements", key ",int64", (scatter_elements<T>)); \
  MX_KERNEL("ScatterND", key, (scatter_nd<T>));

MXCPU_ALL_TYPES(REG_SCATTER, _)
