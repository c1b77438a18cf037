// Clip: y = min(max(x, min), max). min and max are optional tensors (scalars in
// ONNX; broadcast here like any operand); an absent bound is -inf/+inf, or the
// type's range for integers. When min > max every element becomes max (ONNX).
// NaN passes through.
#include "broadcast.h"

#include <limits>

namespace mxcpu {
namespace {

template <class C> inline C clip(C v, C lo, C hi) {
  v = v < lo ? lo : v;
  return v > hi ? hi : v;
}

template <class T> int clip_kernel(mx_kernel_ctx* ctx) {
  using C = compute_t<T>;
  using L = std::numeric_limits<C>;
  const T* x = in_data<T>(ctx, 0);
  T* o = out_data<T>(ctx, 0);
  // Absent bounds become rank-0 tensors holding the widest bound.
  T lo_v = convert<T>(L::has_infinity ? -L::infinity() : L::lowest());
  T hi_v = convert<T>(L::has_infinity ? L::infinity() : L::max());
  const mx_tensor* ins[3] = {&ctx->inputs[0], nullptr, nullptr};
  mx_tensor bound[2] = {};
  for (int k = 0; k < 2; k++) {
    const mx_tensor* t = ctx->num_inputs > k + 1 ? &ctx->inputs[k + 1] : nullptr;
    if (t && t->data) {
      ins[k + 1] = t;
    } else {
      bound[k].data = k == 0 ? &lo_v : &hi_v;
      ins[k + 1] = &bound[k];
    }
  }
  const T* lo = static_cast<const T*>(ins[1]->data);
  const T* hi = static_cast<const T*>(ins[2]->data);
  broadcast_apply<3>(ctx->pool, ctx->outputs[0], ins, [&](int64_t p, const int64_t* off, const int64_t* step, int64_t n) MXCPU_INLINE {
    const T* xx = x + off[0];
    const T* ll = lo + off[1];
    const T* hh = hi + off[2];
    T* y = o + p;
    if (step[0] && !step[1] && !step[2]) {
      const C l = load(*ll), h = load(*hh);
      for (int64_t i = 0; i < n; i++) y[i] = convert<T>(clip(load(xx[i]), l, h));
    } else {
      for (int64_t i = 0; i < n; i++) y[i] = convert<T>(clip(load(xx[i * step[0]]), load(ll[i * step[1]]), load(hh[i * step[2]])));
    }
  });
  return MX_OK;
}

}  // namespace
}  // namespace mxcpu

using namespace mxcpu;

#define REG_CLIP(T, key, ...) MX_KERNEL("Clip", key, (clip_kernel<T>));

MXCPU_NUMERIC_TYPES(REG_CLIP, _)
