// Where: y = cond ? x : y with NumPy broadcasting of all three inputs. Core
// guarantees cond is bool (0/1 bytes) and x, y share the output's dtype. Only the
// element size matters, so one kernel per size serves every dtype.
#include "broadcast.h"

namespace mxcpu {
namespace {

template <size_t N> using bits_t = std::conditional_t<N == 1, uint8_t, std::conditional_t<N == 2, uint16_t, std::conditional_t<N == 4, uint32_t, uint64_t>>>;

template <class S> int where_kernel(mx_kernel_ctx* ctx) {
  const uint8_t* c = in_data<uint8_t>(ctx, 0);
  const S* a = in_data<S>(ctx, 1);
  const S* b = in_data<S>(ctx, 2);
  S* o = out_data<S>(ctx, 0);
  const mx_tensor* ins[3] = {&ctx->inputs[0], &ctx->inputs[1], &ctx->inputs[2]};
  broadcast_apply<3>(ctx->pool, ctx->outputs[0], ins, [&](int64_t p, const int64_t* off, const int64_t* step, int64_t n) MXCPU_INLINE {
    const uint8_t* cc = c + off[0];
    const S* aa = a + off[1];
    const S* bb = b + off[2];
    S* y = o + p;
    if (step[0] && step[1] && step[2]) {
      for (int64_t i = 0; i < n; i++) y[i] = cc[i] ? aa[i] : bb[i];
    } else {
      for (int64_t i = 0; i < n; i++) y[i] = cc[i * step[0]] ? aa[i * step[1]] : bb[i * step[2]];
    }
  });
  return MX_OK;
}

}  // namespace
}  // namespace mxcpu

using namespace mxcpu;

#define REG_WHERE(T, key, ...) MX_KERNEL("Where", key, (where_kernel<bits_t<sizeof(T)>>));

MXCPU_ALL_TYPES(REG_WHERE, _)
