// MaxPool / AveragePool / GlobalAveragePool / GlobalMaxPool over N x C x D...
// Window per spatial axis a (core resolved auto_pad; attrs are explicit): output
// o reads x[o*stride - pad_begin + t*dilation], t < kernel. Max ignores the
// padding; average divides by the taps inside X (count_include_pad=0) or inside
// the padded extent [-pad_begin, D + pad_end) (count_include_pad=1).
//
// oneDNN's pooling_v2 takes the same window (dilation counted from 0) and wants
// dst = floor((D + pads - extent) / stride) + 1: with ceil_mode core's output has
// one more window, so the end pad grows to cover it. Max and exclude-pad average
// ignore that extra pad as they ignore any pad; include-pad average counts every
// tap, so its results in those last windows are rescaled to ONNX's divisor.
// Global pools are one window over the flattened spatial dims.
// MaxPool's optional Indices output is computed here directly (oneDNN has no
// inference-time argmax): flat positions in X, row- or column-major spatial
// offset by storage_order, the first maximum in window order winning ties.
#include <cmath>
#include <limits>
#include <string>

#include "common.h"

namespace mxdnnl {
namespace {

struct PoolEntry : Entry {
  dnnl::pooling_v2_forward prim;
  Reorder src, dst;  // plain <-> blocked, where the plain layout has no fast kernel
  size_t src_bytes = 0;
};

// Window attributes of a pool, in oneDNN's terms.
struct Window {
  int sp;
  dims kernel, strides, dil, pl, pr;
  bool ceil_grew = false;  // an end pad was enlarged for ceil_mode
};

// Pools x viewed as xs into y viewed as ys. oneDNN 2.6's JIT pools plain NCHW
// only while a plane is small (up to about 128x128 here); larger planes would
// get a scalar loop 10-20x slower than reordering to the channel-blocked layout
// (nChw16c, faster here than channels-last) and back.
void run_pool(const mx_kernel_ctx* ctx, const Key& key, dnnl::algorithm alg, const mx_tensor& x, const mx_tensor& y,
              const dims& xs, const dims& ys, const Window& w) {
  use_threads(ctx, (double)mx_numel(&x));
  PoolEntry& e = cached<PoolEntry>(key, [&] {
    using tag = memory::format_tag;
    auto e = std::make_unique<PoolEntry>();
    const dt type = dtype_of(x.dtype);
    const memory::desc sd = plain(xs, type), dd = plain(ys, type);
    auto make = [&](const memory::desc& s, const memory::desc& d) {
      dnnl::pooling_v2_forward::desc pd(dnnl::prop_kind::forward_inference, alg, s, d, w.strides, w.kernel, w.dil, w.pl, w.pr);
      return dnnl::pooling_v2_forward::primitive_desc(pd, cpu_engine());
    };
    auto pd = make(sd, dd);
    const std::string impl = pd.impl_info_str();
    if (impl.rfind("simple", 0) == 0 || impl.rfind("ref", 0) == 0) {
      const tag blocked = xs.size() == 3 ? tag::aBc16b : xs.size() == 4 ? tag::aBcd16b : tag::aBcde16b;
      pd = make(memory::desc(xs, type, blocked), memory::desc(ys, type, blocked));
    }
    e->prim = dnnl::pooling_v2_forward(pd);
    e->src = Reorder(sd, pd.src_desc());
    e->dst = Reorder(pd.dst_desc(), dd);
    e->src_bytes = e->src.needed ? align64(pd.src_desc().get_size()) : 0;
    return e;
  });
  char* buf = e.src.needed ? scratch(e.src_bytes + align64(e.dst.from.get_desc().get_size())) : nullptr;
  void* src = e.src.needed ? buf : x.data;
  void* dst = e.dst.needed ? buf + e.src_bytes : y.data;
  if (e.src.needed) e.src.run(x.data, src);
  memory& s = e.src.needed ? e.src.to : e.src.from;
  memory& d = e.dst.needed ? e.dst.from : e.dst.to;
  s.set_data_handle(src);
  d.set_data_handle(dst);
  e.prim.execute(thread_stream(), {{DNNL_ARG_SRC, s}, {DNNL_ARG_DST, d}});
  if (e.dst.needed) e.dst.run(dst, y.data);
  thread_stream().wait();
}

Window window(const mx_kernel_ctx* ctx, const mx_tensor& x, const mx_tensor& y) {
  Window w;
  w.sp = x.ndim - 2;
  w.kernel = ints(ctx, "kernel_shape");
  w.strides = ints(ctx, "strides");
  dims dil = ints(ctx, "dilations"), pads = ints(ctx, "pads");
  for (int i = 0; i < w.sp; i++) {
    const int64_t d = x.shape[i + 2], extent = (w.kernel[i] - 1) * dil[i] + 1;
    int64_t end = pads[i + w.sp];
    // ceil_mode: the end pad that makes floor() give core's output size.
    const int64_t need = (y.shape[i + 2] - 1) * w.strides[i] + extent - d - pads[i];
    if (need > end) {
      end = need;
      w.ceil_grew = true;
    }
    w.dil.push_back(dil[i] - 1);
    w.pl.push_back(pads[i]);
    w.pr.push_back(end);
  }
  return w;
}

// ONNX's include-pad divisor per axis for output o: taps inside [-pad_begin, D + pad_end).
int64_t taps_in_padded(int64_t o, int64_t d, int64_t k, int64_t stride, int64_t dil, int64_t pb, int64_t pe) {
  int64_t n = 0;
  for (int64_t t = 0; t < k; t++) {
    const int64_t p = o * stride - pb + t * dil;
    n += p >= -pb && p < d + pe;
  }
  return n;
}

int max_indices(mx_kernel_ctx* ctx);

int pool(mx_kernel_ctx* ctx, dnnl::algorithm alg, const char* op) {
  const mx_tensor& x = ctx->inputs[0];
  const mx_tensor& y = ctx->outputs[0];
  if (mx_numel(&y) == 0) return MX_OK;
  const int sp = x.ndim - 2;
  if (sp < 1 || sp > 3)
    return mx_fail(ctx, MX_ERR_UNSUPPORTED, "%s: oneDNN pools 1 to 3 spatial axes, this input has %d", op, sp);
  Window w = window(ctx, x, y);
  Key key("Pool");
  key.i((int64_t)alg).t(x).t(y).v(w.kernel).v(w.strides).v(w.dil).v(w.pl).v(w.pr);
  run_pool(ctx, key, alg, x, y, dims_of(x), dims_of(y), w);
  if (alg != dnnl::algorithm::pooling_avg_include_padding || !w.ceil_grew) return MX_OK;
  // oneDNN divided by the whole window; ONNX divides by the taps inside the explicit padding.
  const dims pads = ints(ctx, "pads"), dil = ints(ctx, "dilations");
  int64_t window_taps = 1;
  for (int i = 0; i < sp; i++) window_taps *= w.kernel[i];
  const int64_t planes = y.shape[0] * y.shape[1];
  int64_t out_plane = 1;
  for (int i = 0; i < sp; i++) out_plane *= y.shape[i + 2];
  for (int64_t p = 0; p < out_plane; p++) {
    int64_t rest = p, taps = 1;
    for (int i = sp - 1; i >= 0; i--) {
      const int64_t o = rest % y.shape[i + 2];
      rest /= y.shape[i + 2];
      taps *= taps_in_padded(o, x.shape[i + 2], w.kernel[i], w.strides[i], dil[i], pads[i], pads[i + sp]);
    }
    if (taps == window_taps) continue;
    const float f = (float)window_taps / (float)taps;
    for (int64_t c = 0; c < planes; c++) {
      const int64_t at = c * out_plane + p;
      store(y.dtype, y.data, at, load(y.dtype, y.data, at) * f);
    }
  }
  return MX_OK;
}

int max_pool(mx_kernel_ctx* ctx) {
  if (output(ctx, 1)) return max_indices(ctx);
  return pool(ctx, dnnl::algorithm::pooling_max, "MaxPool");
}

int average_pool(mx_kernel_ctx* ctx) {
  const bool include = mx_attr_int(ctx->attrs, "count_include_pad", 0) != 0;
  return pool(ctx, include ? dnnl::algorithm::pooling_avg_include_padding : dnnl::algorithm::pooling_avg_exclude_padding,
              "AveragePool");
}

// One window over all spatial positions of [N, C, S].
int global_pool(mx_kernel_ctx* ctx, dnnl::algorithm alg, const char* name) {
  const mx_tensor& x = ctx->inputs[0];
  const mx_tensor& y = ctx->outputs[0];
  if (mx_numel(&y) == 0) return MX_OK;
  int64_t s = 1;
  for (int i = 2; i < x.ndim; i++) s *= x.shape[i];
  const dims xs{x.shape[0], x.shape[1], s}, ys{x.shape[0], x.shape[1], 1};
  Key key(name);
  key.t(x);
  Window w;
  w.sp = 1;
  w.kernel = {s};
  w.strides = {1};
  w.dil = w.pl = w.pr = {0};
  run_pool(ctx, key, alg, x, y, xs, ys, w);
  return MX_OK;
}

int global_average_pool(mx_kernel_ctx* ctx) {
  return global_pool(ctx, dnnl::algorithm::pooling_avg_exclude_padding, "GlobalAveragePool");
}
int global_max_pool(mx_kernel_ctx* ctx) { return global_pool(ctx, dnnl::algorithm::pooling_max, "GlobalMaxPool"); }

template <class T> float value(const void* p, int64_t i) { return (float)static_cast<const T*>(p)[i]; }
template <class T> void put(void* p, int64_t i, float v) { static_cast<T*>(p)[i] = (T)v; }

int max_indices(mx_kernel_ctx* ctx) {
  const mx_tensor& x = ctx->inputs[0];
  const mx_tensor& y = ctx->outputs[0];
  const mx_tensor& idx = ctx->outputs[1];
  if (mx_numel(&y) == 0) return MX_OK;
  const int sp = x.ndim - 2;
  const dims kernel = ints(ctx, "kernel_shape"), strides = ints(ctx, "strides"), dil = ints(ctx, "dilations"),
             pads = ints(ctx, "pads");
  const bool column_major = mx_attr_int(ctx->attrs, "storage_order", 0) == 1;
  float (*get)(const void*, int64_t) = x.dtype == MX_INT8 ? value<int8_t> : x.dtype == MX_UINT8 ? value<uint8_t> : nullptr;
  void (*set)(void*, int64_t, float) = x.dtype == MX_INT8 ? put<int8_t> : x.dtype == MX_UINT8 ? put<uint8_t> : nullptr;
  int64_t in_plane = 1, out_plane = 1, taps = 1;
  for (int i = 0; i < sp; i++) {
    in_plane *= x.shape[i + 2];
    out_plane *= y.shape[i + 2];
    taps *= kernel[i];
  }
  int64_t* out_idx = static_cast<int64_t*>(idx.data);
  const int64_t planes = y.shape[0] * y.shape[1];
  int64_t o[3], t[3];
  for (int64_t p = 0; p < out_plane; p++) {
    for (int64_t rest = p, i = sp - 1; i >= 0; i--) o[i] = rest % y.shape[i + 2], rest /= y.shape[i + 2];
    for (int64_t c = 0; c < planes; c++) {
      float best = -std::numeric_limits<float>::infinity();
      int64_t at = -1;
      for (int64_t k = 0; k < taps; k++) {
        for (int64_t rest = k, i = sp - 1; i >= 0; i--) t[i] = rest % kernel[i], rest /= kernel[i];
        int64_t src = 0;
        bool inside = true;
        for (int i = 0; i < sp && inside; i++) {
          const int64_t q = o[i] * strides[i] - pads[i] + t[i] * dil[i];
          inside = q >= 0 && q < x.shape[i + 2];
          src = src * x.shape[i + 2] + q;
        }
        if (!inside) continue;
        const float v = get ? get(x.data, c * in_plane + src) : load(x.dtype, x.data, c * in_plane + src);
        if (v > best) best = v, at = src;
      }
      if (set) set(y.data, c * out_plane + p, best);
      else store(y.dtype, y.data, c * out_plane + p, best);
      int64_t pos = at;
      if (column_major && at >= 0) {  // the same spatial position, column-major
        int64_t q[3];
        for (int64_t rest = at, i = sp - 1; i >= 0; i--) q[i] = rest % x.shape[i + 2], rest /= x.shape[i + 2];
        pos = 0;
        for (int i = sp - 1; i >= 0; i--) pos = pos * x.shape[i + 2] + q[i];
      }
      out_idx[c * out_plane + p] = c * in_plane + pos;
    }
  }
  return MX_OK;
}

}  // namespace
}  // namespace mxdnnl

MXD_KERNEL("MaxPool", "float32", mxdnnl::max_pool);
MXD_KERNEL("MaxPool", "bfloat16", mxdnnl::max_pool);
MXD_KERNEL("MaxPool", "int8", mxdnnl::max_pool);
MXD_KERNEL("MaxPool", "uint8", mxdnnl::max_pool);
MXD_KERNEL("AveragePool", "float32", mxdnnl::average_pool);
MXD_KERNEL("AveragePool", "bfloat16", mxdnnl::average_pool);
MXD_KERNEL("GlobalAveragePool", "float32", mxdnnl::global_average_pool);
MXD_KERNEL("GlobalAveragePool", "bfloat16", mxdnnl::global_average_pool);
MXD_KERNEL("GlobalMaxPool", "float32", mxdnnl::global_max_pool);
MXD_KERNEL("GlobalMaxPool", "bfloat16", mxdnnl::global_max_pool);
