// Elementwise activations that oneDNN's eltwise primitive computes with ONNX's
// formula, NaN and infinities included, within float32 rounding:
//   LeakyRelu x >= 0 ? x : alpha*x  relu with alpha (NaN * alpha stays NaN)
//   Elu x > 0 ? x : alpha*(e^x - 1) elu
//   Sigmoid, Tanh, Sqrt, Abs        logistic, tanh, sqrt, abs
//   Gelu 'none' / 'tanh'            gelu_erf / gelu_tanh (the tanh form is off by
//                                   up to ~1.3e-7 absolute near x = -4)
//   HardSwish x * max(0, min(1, x/6 + 1/2))  hardswish
// Left to cpu, measured against float64 (oneDNN 2.6's JIT): Relu (alpha 0 is a
// max that turns NaN into 0), Exp (NaN gives inf), Log (2e-6 relative error,
// subnormals read as the smallest normal), Softplus (negative results, 2e-6
// absolute, for x < -15), Mish (wrong below x = -19).
// The tensor is one dense run of elements (the layout does not matter).
#include <cstring>

#include "common.h"

namespace mxdnnl {
namespace {

struct EltwiseEntry : Entry {
  dnnl::eltwise_forward prim;
  memory src, dst;
};

int eltwise(mx_kernel_ctx* ctx, dnnl::algorithm alg, float alpha) {
  const mx_tensor& x = ctx->inputs[0];
  const mx_tensor& y = ctx->outputs[0];
  const int64_t n = mx_numel(&y);
  if (n == 0) return MX_OK;
  Key key("Eltwise");
  key.i((int64_t)alg).f(alpha).i(x.dtype).i(n);
  use_threads(ctx, (double)n);
  EltwiseEntry& e = cached<EltwiseEntry>(key, [&] {
    auto e = std::make_unique<EltwiseEntry>();
    const memory::desc md = plain({n}, dtype_of(x.dtype));
    dnnl::eltwise_forward::desc d(dnnl::prop_kind::forward_inference, alg, md, alpha, 0.f);
    e->prim = dnnl::eltwise_forward(dnnl::eltwise_forward::primitive_desc(d, cpu_engine()));
    e->src = user_memory(md);
    e->dst = user_memory(md);
    return e;
  });
  e.src.set_data_handle(x.data);
  e.dst.set_data_handle(y.data);
  e.prim.execute(thread_stream(), {{DNNL_ARG_SRC, e.src}, {DNNL_ARG_DST, e.dst}});
  thread_stream().wait();
  return MX_OK;
}

using A = dnnl::algorithm;
float alpha(const mx_kernel_ctx* ctx, double dflt) { return (float)mx_attr_float(ctx->attrs, "alpha", dflt); }

int leaky_relu(mx_kernel_ctx* ctx) { return eltwise(ctx, A::eltwise_relu, alpha(ctx, 0.01)); }
int elu(mx_kernel_ctx* ctx) { return eltwise(ctx, A::eltwise_elu, alpha(ctx, 1.0)); }
int sigmoid(mx_kernel_ctx* ctx) { return eltwise(ctx, A::eltwise_logistic, 0.f); }
int tanh_(mx_kernel_ctx* ctx) { return eltwise(ctx, A::eltwise_tanh, 0.f); }
int gelu(mx_kernel_ctx* ctx) {
  const bool tanh = std::strcmp(mx_attr_string(ctx->attrs, "approximate", "none"), "tanh") == 0;
  return eltwise(ctx, tanh ? A::eltwise_gelu_tanh : A::eltwise_gelu_erf, 0.f);
}
int hard_swish(mx_kernel_ctx* ctx) { return eltwise(ctx, A::eltwise_hardswish, 0.f); }
int abs_(mx_kernel_ctx* ctx) { return eltwise(ctx, A::eltwise_abs, 0.f); }
int sqrt_(mx_kernel_ctx* ctx) { return eltwise(ctx, A::eltwise_sqrt, 0.f); }

}  // namespace
}  // namespace mxdnnl

#define MXD_ELTWISE(op, fn)                    \
  MXD_KERNEL(op, "float32", mxdnnl::fn);       \
  MXD_KERNEL(op, "bfloat16", mxdnnl::fn)

MXD_ELTWISE("LeakyRelu", leaky_relu);
MXD_ELTWISE("Elu", elu);
MXD_ELTWISE("Sigmoid", sigmoid);
MXD_ELTWISE("Tanh", tanh_);
MXD_ELTWISE("Gelu", gelu);
MXD_ELTWISE("HardSwish", hard_swish);
MXD_ELTWISE("Abs", abs_);
MXD_ELTWISE("Sqrt", sqrt_);
