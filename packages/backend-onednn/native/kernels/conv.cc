// Conv: Y[n, m, o...] = B[m] + sum over c in m's group and taps t of
// X[n, c, o*stride - pad_begin + t*dilation] * W[m, c, t] (zero outside X).
// ConvTranspose: the adjoint scatter, W being [C, M/group, k...]: every X[n, c, i]
// adds X * W[c, m, t] at Y[n, m, i*stride - pad_begin + t*dilation], plus B[m].
// Core resolved auto_pad (and ConvTranspose's output_shape/output_padding):
// kernel_shape, strides, dilations, pads (all begins, then all ends) and group
// are explicit, and Y has its final shape. oneDNN takes the same window
// arithmetic (dilation counted from 0, asymmetric pads) for 1 to 3 spatial
// axes.
//
// Layouts: a blocked-layout kernel (oneDNN picks channels-last activations and
// blocked weights on AVX-512) needs X, W and Y reordered into and out of the
// scratch arena on every call; W only once when it is a constant (a model's
// initializer: ctx const ids), whose reordered copy is cached. That pays where each weight is used many times (3x3 and larger
// kernels on large planes); Conv uses the plain layout (oneDNN's GEMM
// convolution, no reorders) for ungrouped convs that are pointwise (1x1, stride
// 1, no pads) or whose weights are used at most 256 times (N * output plane),
// which measured faster than the blocked kernel plus its reorders.
//
// ConvTranspose keeps the plain layout (oneDNN's GEMM path) when the taps of
// neighboring inputs do not overlap (kernel extent <= stride: upsampling), where
// it measured faster than the blocked kernel plus reorders; blocked otherwise.
//
// ConvTranspose's end pads are derived from Y's size, which folds in
// output_padding. oneDNN takes no negative pads: when a pad is negative, Y
// reaches past the taps (positions holding only the bias), so the primitive
// computes the part with taps (pads clamped at 0) into scratch and the kernel
// copies it into Y with the bias around it.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>

#include "common.h"

namespace mxdnnl {
namespace {

struct ConvEntry : Entry {
  dnnl::primitive prim;
  Reorder src, wei, dst;  // user (plain) <-> the primitive's layouts
  memory bias;
  Reorder zin;  // FusedConv's residual Z (plain) into the primitive's dst layout, for the sum post-op
  bool epilogue_pass = false;  // FusedConv on the plain (GEMM) path: Z and the activation in a pass over Y
  size_t src_bytes = 0, wei_bytes = 0, dst_bytes = 0;
};

// Fills the entry's reorders and sizes from the primitive's chosen layouts.
template <class PD>
void layouts(ConvEntry& e, const PD& pd, const memory::desc& x, const memory::desc& w, const memory::desc& y) {
  e.src = Reorder(x, pd.src_desc());
  e.wei = Reorder(w, pd.weights_desc());
  e.dst = Reorder(pd.dst_desc(), y);
  e.src_bytes = e.src.needed ? align64(pd.src_desc().get_size()) : 0;
  e.wei_bytes = e.wei.needed ? align64(pd.weights_desc().get_size()) : 0;
  e.dst_bytes = e.dst.needed ? align64(pd.dst_desc().get_size()) : 0;
}

// Weights of constant inputs (a model's initializers, ctx const ids) in the
// primitive's layout, reordered once: per thread like the primitive cache,
// keyed by the constant id, the address and the layout, and dropped all at once
// past kMaxCachedWeights bytes.
struct CachedWeights {
  memory::desc layout;
  std::unique_ptr<char, decltype(&std::free)> data{nullptr, &std::free};
};
constexpr size_t kMaxCachedWeights = size_t(1) << 30;

// The reordered weights for constant id `wid` at `w`, made on first use; null
// when out of memory (the caller then reorders into scratch as usual).
void* cached_weights(ConvEntry& e, uint64_t wid, void* w) {
  thread_local std::unordered_map<std::string, CachedWeights> cache;
  thread_local size_t bytes = 0;
  Key key("W");
  key.i((int64_t)wid).i((int64_t)(uintptr_t)w);
  const memory::desc& layout = e.wei.to.get_desc();
  auto it = cache.find(key.str());
  if (it != cache.end() && it->second.layout == layout) return it->second.data.get();
  if (bytes + e.wei_bytes > kMaxCachedWeights) cache.clear(), bytes = 0;
  CachedWeights c;
  c.layout = layout;
  c.data.reset(static_cast<char*>(std::aligned_alloc(64, e.wei_bytes)));
  if (!c.data) return nullptr;
  e.wei.run(w, c.data.get());
  void* p = c.data.get();
  if (it != cache.end()) bytes -= align64(it->second.layout.get_size());
  cache[key.str()] = std::move(c);
  bytes += e.wei_bytes;
  return p;
}

// Runs the entry on user buffers: reorders in, the primitive, reorder out. Y goes
// to `y`, or when it is null to `extra` bytes of scratch after the primitive's
// buffers; returns that tail of the scratch.
char* execute(ConvEntry& e, void* x, void* w, const mx_tensor* b, void* y, uint64_t wid, size_t extra = 0,
              const mx_tensor* z = nullptr) {
  char* buf = scratch(e.src_bytes + e.wei_bytes + e.dst_bytes + extra);
  char* tail = buf + e.src_bytes + e.wei_bytes + e.dst_bytes;
  if (!y) y = tail;
  void* src = e.src.needed ? buf : x;
  void* wei = e.wei.needed ? buf + e.src_bytes : w;
  void* dst = e.dst.needed ? buf + e.src_bytes + e.wei_bytes : y;
  if (e.src.needed) e.src.run(x, src);
  void* kept = e.wei.needed && wid ? cached_weights(e, wid, w) : nullptr;
  if (kept) wei = kept;
  else if (e.wei.needed) e.wei.run(w, wei);
  // The reorders' "to" (src, wei) and "from" (dst) memories are the primitive's arguments.
  memory& s = e.src.needed ? e.src.to : e.src.from;
  memory& k = e.wei.needed ? e.wei.to : e.wei.from;
  memory& o = e.dst.needed ? e.dst.from : e.dst.to;
  s.set_data_handle(src);
  k.set_data_handle(wei);
  o.set_data_handle(dst);
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, s}, {DNNL_ARG_WEIGHTS, k}, {DNNL_ARG_DST, o}};
  if (b) {
    e.bias.set_data_handle(b->data);
    args.emplace(DNNL_ARG_BIAS, e.bias);
  }
  if (z) {  // the sum post-op adds what dst holds: Z, in dst's layout
    if (e.dst.needed) e.zin.run(z->data, dst);
    else if (dst != z->data) std::memcpy(dst, z->data, e.zin.from.get_desc().get_size());
  }
  e.prim.execute(thread_stream(), args);
  if (e.dst.needed) e.dst.run(dst, y);
  thread_stream().wait();
  return tail;
}

memory::desc any(const dims& d, dt type) { return memory::desc(d, type, memory::format_tag::any); }

// Multiply-adds per output element, for the thread count.
double macs(const mx_tensor& w, const mx_tensor& y, int64_t per_out) {
  int64_t taps = per_out;
  for (int i = 2; i < w.ndim; i++) taps *= w.shape[i];
  return (double)mx_numel(&y) * (double)taps;
}

// FusedConv's epilogue as oneDNN post-ops: Y = act(conv + Z), Z (optional,
// Y's shape) a sum post-op, then the activation as an eltwise post-op.
struct Epilogue {
  const mx_tensor* z = nullptr;
  int act = 0;  // 0 none (Conv, FusedConv Identity), 1 relu / leaky relu, 2 clip
  float alpha = 0, beta = 0;
};

int conv_impl(mx_kernel_ctx* ctx, const Epilogue& ep) {
  const mx_tensor& x = ctx->inputs[0];
  const mx_tensor& w = ctx->inputs[1];
  const mx_tensor* b = input(ctx, 2);
  const mx_tensor& y = ctx->outputs[0];
  if (mx_numel(&y) == 0) return MX_OK;
  const int sp = x.ndim - 2;
  if (sp < 1 || sp > 3)
    return mx_fail(ctx, MX_ERR_UNSUPPORTED, "Conv: oneDNN convolves 1 to 3 spatial axes, this input has %d", sp);
  const int64_t group = mx_attr_int(ctx->attrs, "group", 1);
  const dims strides = ints(ctx, "strides"), dil = ints(ctx, "dilations"), pads = ints(ctx, "pads");
  use_threads(ctx, macs(w, y, w.shape[1]) / 16);
  Key key("Conv");
  key.t(x).t(w).i(b ? b->dtype : 0).t(y).v(strides).v(dil).v(pads).i(group);
  key.i(ep.z ? ep.z->dtype : 0).i(ep.act).f(ep.alpha).f(ep.beta);
  ConvEntry& e = cached<ConvEntry>(key, [&] {
    auto e = std::make_unique<ConvEntry>();
    const dt type = dtype_of(x.dtype);
    dims wd = dims_of(w);
    if (group > 1) {  // [M, C/g, k...] is [g, M/g, C/g, k...] in the same memory
      wd[0] /= group;
      wd.insert(wd.begin(), group);
    }
    dims dl(sp), pl(pads.begin(), pads.begin() + sp), pr(pads.begin() + sp, pads.end());
    bool pointwise = true;
    int64_t reuse = y.shape[0];
    for (int i = 0; i < sp; i++) {
      dl[i] = dil[i] - 1;  // oneDNN counts dilation from 0
      pointwise = pointwise && w.shape[i + 2] == 1 && strides[i] == 1 && pads[i] == 0 && pads[i + sp] == 0;
      reuse *= y.shape[i + 2];
    }
    const bool keep_plain = group == 1 && (pointwise || reuse <= 256);
    auto act = [&](const dims& d) { return keep_plain ? plain(d, type) : any(d, type); };
    const memory::desc bias_md = b ? plain(dims_of(*b), dtype_of(b->dtype)) : memory::desc();
    dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                      act(dims_of(x)), any(wd, type), bias_md, act(dims_of(y)), strides, dl, pl, pr);
    // The residual as a sum post-op (dst pre-filled with Z), the activation as an
    // eltwise one, in the blocked kernels. oneDNN 2.6's GEMM convolution (the
    // plain path) applies post-ops 5-6x slower than the convolution itself
    // (1x1 64->256 at 56x56: 3.6 against 0.6 ms), and a binary-add post-op with a
    // plain second source took a reference path (27x): float32 on the plain path
    // gets a pass over Y instead.
    e->epilogue_pass = keep_plain && type == dt::f32 && (ep.z || ep.act);
    dnnl::post_ops po;
    if (!e->epilogue_pass) {
      if (ep.z) po.append_sum(1.0f);
      if (ep.act == 1) po.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, ep.alpha, 0.0f);
      if (ep.act == 2) po.append_eltwise(1.0f, dnnl::algorithm::eltwise_clip, ep.alpha, ep.beta);
    }
    dnnl::primitive_attr attr;
    attr.set_post_ops(po);
    dnnl::convolution_forward::primitive_desc pd(d, attr, cpu_engine());
    e->prim = dnnl::convolution_forward(pd);
    layouts(*e, pd, plain(dims_of(x), type), plain(wd, type), plain(dims_of(y), type));
    if (b) e->bias = user_memory(bias_md);
    if (ep.z && !e->epilogue_pass) e->zin = Reorder(plain(dims_of(y), type), pd.dst_desc());
    return e;
  });
  execute(e, x.data, w.data, b, y.data, mx_const_id(ctx, 1), 0, e.epilogue_pass ? nullptr : ep.z);
  if (e.epilogue_pass) {
    struct Pass {
      float* y;
      const float* z;
      const Epilogue* ep;
      static void range(void* self, int64_t i0, int64_t i1) {
        const Pass& p = *static_cast<const Pass*>(self);
        const float a = p.ep->alpha, hi = p.ep->beta;
        const int act = p.ep->act;
        for (int64_t i = i0; i < i1; i++) {
          float v = p.y[i] + (p.z ? p.z[i] : 0.0f);
          if (act == 1) v = v < 0.0f ? a * v : v;
          else if (act == 2) v = v < a ? a : v > hi ? hi : v;
          p.y[i] = v;
        }
      }
    } pass{static_cast<float*>(y.data), ep.z ? static_cast<const float*>(ep.z->data) : nullptr, &ep};
    const int64_t n = mx_numel(&y);
    if (ctx->pool) ctx->pool->parallel_for(ctx->pool->self, n, 1 << 15, Pass::range, &pass);
    else Pass::range(&pass, 0, n);
  }
  return MX_OK;
}

int conv(mx_kernel_ctx* ctx) { return conv_impl(ctx, Epilogue{}); }

// FusedConv (domain "mx"): activation(Conv + Z) with the activation and the
// residual as post-ops of the one primitive (no pass over Y after it).
int fused_conv(mx_kernel_ctx* ctx) {
  Epilogue ep;
  ep.z = input(ctx, 3);
  const std::string act = mx_attr_string(ctx->attrs, "activation", "Relu");
  const double* p = nullptr;
  const int np = mx_attr_floats(ctx->attrs, "activation_params", &p);
  if (act == "Relu") ep.act = 1;
  else if (act == "LeakyRelu" && np == 1) ep.act = 1, ep.alpha = (float)p[0];
  else if (act == "Clip" && np == 2) ep.act = 2, ep.alpha = (float)p[0], ep.beta = (float)p[1];
  else if (act != "Identity") return mx_fail(ctx, MX_ERR_INVALID, "FusedConv: unknown activation '%s'", act.c_str());
  return conv_impl(ctx, ep);
}

int conv_transpose(mx_kernel_ctx* ctx) {
  const mx_tensor& x = ctx->inputs[0];
  const mx_tensor& w = ctx->inputs[1];
  const mx_tensor* b = input(ctx, 2);
  const mx_tensor& y = ctx->outputs[0];
  if (mx_numel(&y) == 0) return MX_OK;
  const int sp = x.ndim - 2;
  if (sp < 1 || sp > 3)
    return mx_fail(ctx, MX_ERR_UNSUPPORTED, "ConvTranspose: oneDNN convolves 1 to 3 spatial axes, this input has %d", sp);
  const int64_t group = mx_attr_int(ctx->attrs, "group", 1);
  const dims strides = ints(ctx, "strides"), dil = ints(ctx, "dilations"), pads = ints(ctx, "pads");
  // Per axis: the pads oneDNN gets (clamped at 0) and the part of Y they cover.
  dims pl(sp), pr(sp), part = dims_of(y);
  bool crop = false;
  for (int i = 0; i < sp; i++) {
    const int64_t full = (x.shape[i + 2] - 1) * strides[i] + (w.shape[i + 2] - 1) * dil[i] + 1;
    const int64_t begin = pads[i], end = full - begin - y.shape[i + 2];
    pl[i] = std::max<int64_t>(begin, 0);
    pr[i] = std::max<int64_t>(end, 0);
    part[i + 2] = full - pl[i] - pr[i];
    crop = crop || begin < 0 || end < 0;
  }
  use_threads(ctx, macs(w, x, w.shape[1]) / 16);
  Key key("ConvTranspose");
  key.t(x).t(w).i(b ? b->dtype : 0).v(part).v(strides).v(dil).v(pl).v(pr).i(group);
  ConvEntry& e = cached<ConvEntry>(key, [&] {
    auto e = std::make_unique<ConvEntry>();
    const dt type = dtype_of(x.dtype);
    // oneDNN's weights are [g,] O, I, k... ; W is [C = g*I, M/g = O, k...]: describe it with strides.
    const int64_t ci = x.shape[1] / group, co = w.shape[1];
    int64_t taps = 1;
    for (int i = 2; i < w.ndim; i++) taps *= w.shape[i];
    dims wd{co, ci}, ws{taps, co * taps};
    for (int i = 2; i < w.ndim; i++) {
      wd.push_back(w.shape[i]);
      int64_t s = 1;
      for (int j = i + 1; j < w.ndim; j++) s *= w.shape[j];
      ws.push_back(s);
    }
    if (group > 1) {
      wd.insert(wd.begin(), group);
      ws.insert(ws.begin(), ci * co * taps);
    }
    dims dl(sp);
    bool disjoint = true;  // every output position gets at most one tap (upsampling by a kernel the size of the stride)
    for (int i = 0; i < sp; i++) {
      dl[i] = dil[i] - 1;
      disjoint = disjoint && (w.shape[i + 2] - 1) * dil[i] < strides[i];
    }
    auto act = [&](const dims& d) { return disjoint ? plain(d, type) : any(d, type); };
    const memory::desc bias_md = b ? plain(dims_of(*b), dtype_of(b->dtype)) : memory::desc();
    dnnl::deconvolution_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::deconvolution_direct,
                                        act(dims_of(x)), any(wd, type), bias_md, act(part), strides, dl, pl, pr);
    dnnl::deconvolution_forward::primitive_desc pd(d, cpu_engine());
    e->prim = dnnl::deconvolution_forward(pd);
    layouts(*e, pd, plain(dims_of(x), type), memory::desc(wd, type, ws), plain(part, type));
    if (b) e->bias = user_memory(bias_md);
    return e;
  });
  if (!crop) {
    execute(e, x.data, w.data, b, y.data, mx_const_id(ctx, 1));
    return MX_OK;
  }
  // Y[j] = part[j + min(pad_begin, 0)] per axis where that lies in part, else the bias.
  const size_t esize = x.dtype == MX_FLOAT32 ? 4 : 2;
  int64_t part_n = 1, part_sp = 1, y_sp = 1;
  for (int64_t d : part) part_n *= d;
  for (int i = 0; i < sp; i++) part_sp *= part[i + 2], y_sp *= y.shape[i + 2];
  const char* from = execute(e, x.data, w.data, b, nullptr, mx_const_id(ctx, 1), align64((size_t)part_n * esize));
  char* to = static_cast<char*>(y.data);
  const int64_t planes = y.shape[0] * y.shape[1];
  for (int64_t p = 0; p < planes; p++) {
    const float bias = b ? load(b->dtype, b->data, p % y.shape[1]) : 0.f;
    for (int64_t j = 0; j < y_sp; j++) {
      int64_t rest = j, q = 0, stride = 1;
      bool inside = true;
      for (int i = sp - 1; i >= 0; i--) {
        const int64_t at = rest % y.shape[i + 2] + std::min<int64_t>(pads[i], 0);
        rest /= y.shape[i + 2];
        inside = inside && at >= 0 && at < part[i + 2];
        q += at * stride;
        stride *= part[i + 2];
      }
      if (inside) std::memcpy(to + (size_t)(p * y_sp + j) * esize, from + (size_t)(p * part_sp + q) * esize, esize);
      else store(y.dtype, y.data, p * y_sp + j, bias);
    }
  }
  return MX_OK;
}

}  // namespace
}  // namespace mxdnnl

MXD_KERNEL("Conv", "float32", mxdnnl::conv);
MXD_KERNEL("Conv", "bfloat16", mxdnnl::conv);
MX_KERNEL_DOMAIN("FusedConv", "mx", "float32", ([](mx_kernel_ctx* ctx) -> int { return ::mxdnnl::guard(ctx, "FusedConv", mxdnnl::fused_conv); }));
MX_KERNEL_DOMAIN("FusedConv", "mx", "bfloat16", ([](mx_kernel_ctx* ctx) -> int { return ::mxdnnl::guard(ctx, "FusedConv", mxdnnl::fused_conv); }));
MXD_KERNEL("ConvTranspose", "float32", mxdnnl::conv_transpose);
MXD_KERNEL("ConvTranspose", "bfloat16", mxdnnl::conv_transpose);
