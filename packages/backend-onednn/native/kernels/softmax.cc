// Softmax: y = exp(x - max) / sum(exp(x - max)) along `axis` (non-negative, from
// core). The tensor is viewed as [outer, axis dim, inner] and oneDNN's
// softmax_v2 reduces the middle axis. Its JIT wants the axis innermost in
// memory (inner = 1); otherwise it falls to a scalar loop (30x slower than cpu
// for a [1,19,128,128] channel softmax), so those run on a transposed copy
// ([outer, inner, axis] in memory) and back.
// LogSoftmax is left to cpu: oneDNN's JIT logarithm is off by up to 3e-6
// absolute, about 100 float32 ulps near 0.
#include "common.h"

namespace mxdnnl {
namespace {

struct SoftmaxEntry : Entry {
  dnnl::softmax_v2_forward prim;
  Reorder src, dst;  // plain <-> axis innermost, for inner > 1
  size_t bytes = 0;  // of one transposed copy
};

int softmax(mx_kernel_ctx* ctx) {
  const mx_tensor& x = ctx->inputs[0];
  const mx_tensor& y = ctx->outputs[0];
  const int64_t n = mx_numel(&y);
  if (n == 0) return MX_OK;
  const int64_t axis = mx_attr_int(ctx->attrs, "axis", x.ndim - 1);
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < x.ndim; i++)
    if (i < axis) outer *= x.shape[i];
    else if (i > axis) inner *= x.shape[i];
  const dims xs{outer, x.shape[axis], inner};
  Key key("Softmax");
  key.i(x.dtype).v(xs);
  use_threads(ctx, (double)n);
  SoftmaxEntry& e = cached<SoftmaxEntry>(key, [&] {
    auto e = std::make_unique<SoftmaxEntry>();
    const memory::desc md = plain(xs, dtype_of(x.dtype));
    const memory::desc inside = inner == 1 ? md : memory::desc(xs, dtype_of(x.dtype), memory::format_tag::acb);
    dnnl::softmax_v2_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::softmax_accurate, inside, inside,
                                     1);
    e->prim = dnnl::softmax_v2_forward(dnnl::softmax_v2_forward::primitive_desc(d, cpu_engine()));
    e->src = Reorder(md, inside);
    e->dst = Reorder(inside, md);
    e->bytes = align64(inside.get_size());
    return e;
  });
  char* buf = e.src.needed ? scratch(2 * e.bytes) : nullptr;
  memory& s = e.src.needed ? e.src.to : e.src.from;
  memory& d = e.dst.needed ? e.dst.from : e.dst.to;
  if (e.src.needed) e.src.run(x.data, buf);
  s.set_data_handle(e.src.needed ? buf : x.data);
  d.set_data_handle(e.dst.needed ? buf + e.bytes : y.data);
  e.prim.execute(thread_stream(), {{DNNL_ARG_SRC, s}, {DNNL_ARG_DST, d}});
  if (e.dst.needed) e.dst.run(buf + e.bytes, y.data);
  thread_stream().wait();
  return MX_OK;
}

}  // namespace
}  // namespace mxdnnl

MXD_KERNEL("Softmax", "float32", mxdnnl::softmax);
MXD_KERNEL("Softmax", "bfloat16", mxdnnl::softmax);
