// Movement ops (and DepthToSpace, SpaceToDepth, Tile, Trilu, Dropout, which
// only move bytes too). Only the element size matters, so one kernel per size serves
// every dtype. Most are one strided copy: Y[i] = X[base + sum_d i_d * stride_d]
// over Y's shape (Transpose: permuted strides; Expand: 0 where X broadcasts;
// Slice: start offsets and step-scaled strides, steps may be negative), or the
// same with the output strided (Concat and Split write/read a window of the whole
// along `axis`). Pad: crop by negative pads, then pad by positive ones (constant,
// edge, reflect, wrap), as @mx/backend-cpu. Gather: Y[o, j, i] = X[o, idx[j], i]
// with negative indices counting from the end; an index out of [-n, n) fails with
// MX_ERR_INVALID before anything is written (the check reads one flag back, so
// Gather waits for the stream). BitCast copies bytes. Compress is Gather with the positions core
// folded from its condition (`selected`, uploaded to scratch). ReverseSequence:
// Y[t, b] (or [b, t]) = X[len_b - 1 - t, b] for t < len_b = sequence_lens[b],
// X[t, b] otherwise. TensorScatter: Y = past_cache, then update's slices along
// `axis` written from write_indices[b] (0 when absent) on, per batch entry b, modulo
// the axis size in mode 'circular'. Lengths and linear write positions out of range
// fail before anything is written (a check on the device that waits for the stream).
#include <cstring>

#include "common.cuh"

namespace mxcuda {
namespace {

template <class E> __global__ void k_copy(Walk<2> w, E* __restrict__ dst, const E* __restrict__ src) {
  MXC_GRID_LOOP(i, w.n) {
    int64_t off[2];
    w.offsets(i, off);
    dst[off[0]] = src[off[1]];
  }
}

// Copies over `shape` with per-dim strides (elements) and base offsets for both sides.
int strided_copy(mx_kernel_ctx* ctx, int es, void* dst, const void* src, const int64_t* shape, int nd,
                 const int64_t* dst_st, const int64_t* src_st, int64_t dst_base, int64_t src_base) {
  int64_t st[2][MX_MAX_DIMS];
  for (int d = 0; d < nd; d++) {
    st[0][d] = dst_st[d];
    st[1][d] = src_st[d];
  }
  Walk<2> w = make_walk<2>(shape, nd, st);
  w.base[0] = dst_base;
  w.base[1] = src_base;
  if (!w.n) return MX_OK;
  cudaStream_t s = stream_of(ctx);
  const unsigned b = blocks_for(w.n);
  switch (es) {
    case 1: k_copy<uint8_t><<<b, kThreads, 0, s>>>(w, (uint8_t*)dst, (const uint8_t*)src); break;
    case 2: k_copy<uint16_t><<<b, kThreads, 0, s>>>(w, (uint16_t*)dst, (const uint16_t*)src); break;
    case 4: k_copy<uint32_t><<<b, kThreads, 0, s>>>(w, (uint32_t*)dst, (const uint32_t*)src); break;
    default: k_copy<uint64_t><<<b, kThreads, 0, s>>>(w, (uint64_t*)dst, (const uint64_t*)src); break;
  }
  return MX_OK;
}

int transpose(mx_kernel_ctx* ctx) {
  const mx_tensor &x = ctx->inputs[0], &y = ctx->outputs[0];
  const int64_t* perm;
  const int32_t np = mx_attr_ints(ctx->attrs, "perm", &perm);
  int64_t xs[MX_MAX_DIMS], ys[MX_MAX_DIMS], src[MX_MAX_DIMS];
  strides_of(x.shape, x.ndim, xs);
  strides_of(y.shape, y.ndim, ys);
  for (int d = 0; d < y.ndim; d++) src[d] = xs[np == y.ndim ? perm[d] : y.ndim - 1 - d];
  return strided_copy(ctx, elem_size(x.dtype), y.data, x.data, y.shape, y.ndim, ys, src, 0, 0);
}

int expand(mx_kernel_ctx* ctx) {
  const mx_tensor &x = ctx->inputs[0], &y = ctx->outputs[0];
  int64_t ys[MX_MAX_DIMS], src[MX_MAX_DIMS];
  strides_of(y.shape, y.ndim, ys);
  broadcast_strides(x, y, src);
  return strided_copy(ctx, elem_size(x.dtype), y.data, x.data, y.shape, y.ndim, ys, src, 0, 0);
}

int identity(mx_kernel_ctx* ctx) {
  const size_t bytes = (size_t)numel(ctx->outputs[0]) * elem_size(ctx->inputs[0].dtype);
  if (!bytes) return MX_OK;
  cudaError_t e = cudaMemcpyAsync(ctx->outputs[0].data, ctx->inputs[0].data, bytes, cudaMemcpyDeviceToDevice, stream_of(ctx));
  return e == cudaSuccess ? MX_OK : cuda_fail(ctx, e, "Identity copy");
}

int slice(mx_kernel_ctx* ctx) {
  const mx_tensor &x = ctx->inputs[0], &y = ctx->outputs[0];
  const int64_t *starts, *steps;
  const int32_t ns = mx_attr_ints(ctx->attrs, "starts", &starts), nt = mx_attr_ints(ctx->attrs, "steps", &steps);
  if (ns != x.ndim || nt != x.ndim) return mx_fail(ctx, MX_ERR_INVALID, "Slice: starts/steps must have one entry per axis (%d)", x.ndim);
  int64_t xs[MX_MAX_DIMS], ys[MX_MAX_DIMS], src[MX_MAX_DIMS], base = 0;
  strides_of(x.shape, x.ndim, xs);
  strides_of(y.shape, y.ndim, ys);
  for (int d = 0; d < x.ndim; d++) {
    src[d] = xs[d] * steps[d];
    if (y.shape[d]) base += starts[d] * xs[d];
  }
  return strided_copy(ctx, elem_size(x.dtype), y.data, x.data, y.shape, y.ndim, ys, src, 0, base);
}

// Concat (pieces -> whole) and Split (whole -> pieces) along `axis`.
int join(mx_kernel_ctx* ctx, const mx_tensor& whole, const mx_tensor* pieces, int count, bool to_whole) {
  const int64_t axis = mx_attr_int(ctx->attrs, "axis", 0);
  const int es = elem_size(whole.dtype);
  int64_t ws[MX_MAX_DIMS];
  strides_of(whole.shape, whole.ndim, ws);
  int64_t at = 0;
  for (int k = 0; k < count; k++) {
    const mx_tensor& p = pieces[k];
    int64_t ps[MX_MAX_DIMS];
    strides_of(p.shape, p.ndim, ps);
    const int64_t base = at * ws[axis];
    int st = to_whole ? strided_copy(ctx, es, whole.data, p.data, p.shape, p.ndim, ws, ps, base, 0)
                      : strided_copy(ctx, es, p.data, whole.data, p.shape, p.ndim, ps, ws, 0, base);
    if (st) return st;
    at += p.shape[axis];
  }
  return MX_OK;
}
int concat(mx_kernel_ctx* ctx) { return join(ctx, ctx->outputs[0], ctx->inputs, ctx->num_inputs, true); }
int split(mx_kernel_ctx* ctx) { return join(ctx, ctx->inputs[0], ctx->outputs, ctx->num_outputs, false); }

// ---- Pad
enum PadMode { kConstant, kEdge, kReflect, kWrap };
struct PadGeom {
  int nd, mode;
  int64_t out[MX_MAX_DIMS], n[MX_MAX_DIMS], before[MX_MAX_DIMS], crop[MX_MAX_DIMS], xs[MX_MAX_DIMS];
};
__device__ __forceinline__ int64_t pad_source(int64_t o, int64_t before, int64_t n, int mode) {
  const int64_t i = o - before;
  if (i >= 0 && i < n) return i;
  if (mode == kConstant || n == 0) return -1;
  if (mode == kEdge) return i < 0 ? 0 : n - 1;
  if (mode == kWrap) return ((i % n) + n) % n;
  if (n == 1) return 0;
  const int64_t p = 2 * (n - 1), m = ((i % p) + p) % p;
  return m < n ? m : p - m;
}
template <class E> __global__ void k_pad(PadGeom g, E* __restrict__ y, const E* __restrict__ x, E value, int64_t total) {
  MXC_GRID_LOOP(i, total) {
    int64_t q = i, off = 0;
    bool constant = false;
    for (int d = g.nd - 1; d >= 0; d--) {
      const int64_t o = q % g.out[d];
      q /= g.out[d];
      const int64_t s = pad_source(o, g.before[d], g.n[d], g.mode);
      if (s < 0) constant = true;
      off += (s + g.crop[d]) * g.xs[d];
    }
    y[i] = constant ? value : x[off];
  }
}
template <class T> int pad(mx_kernel_ctx* ctx) {
  using E = typename bits<sizeof(T)>::type;
  const mx_tensor &x = ctx->inputs[0], &y = ctx->outputs[0];
  const int64_t total = numel(y);
  if (!total) return MX_OK;
  const char* ms = mx_attr_string(ctx->attrs, "mode", "constant");
  PadGeom g{};
  g.nd = y.ndim;
  if (!std::strcmp(ms, "constant")) g.mode = kConstant;
  else if (!std::strcmp(ms, "edge")) g.mode = kEdge;
  else if (!std::strcmp(ms, "reflect")) g.mode = kReflect;
  else if (!std::strcmp(ms, "wrap")) g.mode = kWrap;
  else return mx_fail(ctx, MX_ERR_UNSUPPORTED, "Pad: mode '%s'", ms);
  const int64_t* pads;
  if (mx_attr_ints(ctx->attrs, "pads", &pads) != 2 * x.ndim || y.ndim != x.ndim)
    return mx_fail(ctx, MX_ERR_INVALID, "Pad: pads must have 2*rank = %d entries", 2 * x.ndim);
  strides_of(x.shape, x.ndim, g.xs);
  for (int d = 0; d < y.ndim; d++) {
    const int64_t pb = pads[d], pe = pads[x.ndim + d];
    g.out[d] = y.shape[d];
    g.crop[d] = pb < 0 ? -pb : 0;
    g.before[d] = pb > 0 ? pb : 0;
    g.n[d] = x.shape[d] - g.crop[d] - (pe < 0 ? -pe : 0);
    if (g.n[d] == 0 && g.mode != kConstant)
      return mx_fail(ctx, MX_ERR_INVALID, "Pad: mode '%s' cannot pad axis %d, which is empty after cropping", ms, d);
  }
  // The constant as T's bits, converted on the host as @mx/backend-cpu does.
  const E bitsv = (E)scalar_bits(x.dtype, attr_scalar(ctx->attrs, "value"));
  k_pad<E><<<blocks_for(total), kThreads, 0, stream_of(ctx)>>>(g, (E*)y.data, (const E*)x.data, bitsv, total);
  return MX_OK;
}

// ---- Gather (the index check is common.cuh's check_indices)
template <class E, class I>
__global__ void k_gather(E* __restrict__ y, const E* __restrict__ x, const I* __restrict__ idx, int64_t n, int64_t ni, int64_t inner, int64_t total) {
  MXC_GRID_LOOP(t, total) {
    const int64_t i = t % inner, r = t / inner, j = r % ni, o = r / ni;
    int64_t k = (int64_t)idx[j];
    if (k < 0) k += n;
    y[t] = x[(o * n + k) * inner + i];
  }
}
template <class I, class E> int gather_with(mx_kernel_ctx* ctx, int64_t axis) {
  const mx_tensor &x = ctx->inputs[0], &ind = ctx->inputs[1], &y = ctx->outputs[0];
  const int64_t ni = numel(ind), n = x.shape[axis];
  if (int st = check_indices<I>(ctx, "Gather", (const I*)ind.data, ni, IndexAxes{1, (int)axis, {n}})) return st;
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; d++) outer *= x.shape[d];
  for (int d = (int)axis + 1; d < x.ndim; d++) inner *= x.shape[d];
  const int64_t total = numel(y);
  if (total) k_gather<E, I><<<blocks_for(total), kThreads, 0, stream_of(ctx)>>>((E*)y.data, (const E*)x.data, (const I*)ind.data, n, ni, inner, total);
  return MX_OK;
}
template <class E> int gather_sized(mx_kernel_ctx* ctx, int64_t axis) {
  return ctx->inputs[1].dtype == MX_INT32 ? gather_with<int32_t, E>(ctx, axis) : gather_with<int64_t, E>(ctx, axis);
}
int gather(mx_kernel_ctx* ctx) {
  const mx_tensor& x = ctx->inputs[0];
  const int64_t axis = mx_attr_int(ctx->attrs, "axis", 0);
  if (axis < 0 || axis >= x.ndim) return mx_fail(ctx, MX_ERR_INVALID, "Gather: axis %lld is out of range for rank %d", (long long)axis, x.ndim);
  switch (elem_size(x.dtype)) {
    case 1: return gather_sized<uint8_t>(ctx, axis);
    case 2: return gather_sized<uint16_t>(ctx, axis);
    case 4: return gather_sized<uint32_t>(ctx, axis);
    default: return gather_sized<uint64_t>(ctx, axis);
  }
}

// ---- DepthToSpace / SpaceToDepth on N x C x H x W: strided copies over a 6-D view of Y.
// DCR: y[n, c, h*b + i, w*b + j] = x[n, (i*b + j)*C' + c, h, w] with C' = C / b^2;
// CRD: the same from x[n, c*b^2 + i*b + j, h, w]. Y is walked as [N, C', H, b, W, b].
int depth_to_space(mx_kernel_ctx* ctx) {
  const mx_tensor &x = ctx->inputs[0], &y = ctx->outputs[0];
  const int64_t b = mx_attr_int(ctx->attrs, "blocksize", 1);
  const bool crd = std::strcmp(mx_attr_string(ctx->attrs, "mode", "DCR"), "CRD") == 0;
  if (x.ndim != 4 || b < 1) return mx_fail(ctx, MX_ERR_INVALID, "DepthToSpace: needs a 4-D X and blocksize >= 1");
  const int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3], Cp = C / (b * b), hw = H * W;
  const int64_t shape[6] = {N, Cp, H, b, W, b};
  int64_t ys[6];
  strides_of(shape, 6, ys);
  const int64_t src_dcr[6] = {C * hw, hw, W, b * Cp * hw, 1, Cp * hw};
  const int64_t src_crd[6] = {C * hw, b * b * hw, W, b * hw, 1, hw};
  return strided_copy(ctx, elem_size(x.dtype), y.data, x.data, shape, 6, ys, crd ? src_crd : src_dcr, 0, 0);
}
// y[n, (i*b + j)*C + c, h, w] = x[n, c, h*b + i, w*b + j]; Y is walked as [N, b, b, C, H', W'].
int space_to_depth(mx_kernel_ctx* ctx) {
  const mx_tensor &x = ctx->inputs[0], &y = ctx->outputs[0];
  const int64_t b = mx_attr_int(ctx->attrs, "blocksize", 1);
  if (x.ndim != 4 || b < 1) return mx_fail(ctx, MX_ERR_INVALID, "SpaceToDepth: needs a 4-D X and blocksize >= 1");
  const int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
  const int64_t shape[6] = {N, b, b, C, H / b, W / b};
  int64_t ys[6];
  strides_of(shape, 6, ys);
  const int64_t src[6] = {C * H * W, W, 1, H * W, b * W, b};
  return strided_copy(ctx, elem_size(x.dtype), y.data, x.data, shape, 6, ys, src, 0, 0);
}

// ---- Tile: Y[o] = X[o mod X.shape] per dim (core folded repeats into Y's shape).
struct TileGeom {
  int nd;
  int64_t out[MX_MAX_DIMS], in[MX_MAX_DIMS], xs[MX_MAX_DIMS];
};
template <class E> __global__ void k_tile(TileGeom g, E* __restrict__ y, const E* __restrict__ x, int64_t total) {
  MXC_GRID_LOOP(i, total) {
    int64_t q = i, off = 0;
    for (int d = g.nd - 1; d >= 0; d--) {
      const int64_t o = q % g.out[d];
      q /= g.out[d];
      off += (o % g.in[d]) * g.xs[d];
    }
    y[i] = x[off];
  }
}
template <class T> int tile(mx_kernel_ctx* ctx) {
  using E = typename bits<sizeof(T)>::type;
  const mx_tensor &x = ctx->inputs[0], &y = ctx->outputs[0];
  const int64_t total = numel(y);
  if (!total) return MX_OK;
  TileGeom g{};
  g.nd = y.ndim;
  strides_of(x.shape, x.ndim, g.xs);
  for (int d = 0; d < y.ndim; d++) {
    g.out[d] = y.shape[d];
    g.in[d] = x.shape[d];
  }
  k_tile<E><<<blocks_for(total), kThreads, 0, stream_of(ctx)>>>(g, (E*)y.data, (const E*)x.data, total);
  return MX_OK;
}

// ---- Trilu: keeps column - row >= k (upper=1) or <= k (upper=0) in the last two dims, zeroes the rest.
template <class E> __global__ void k_trilu(E* __restrict__ y, const E* __restrict__ x, int64_t rows, int64_t cols, int64_t k, bool upper, int64_t total) {
  MXC_GRID_LOOP(i, total) {
    const int64_t c = i % cols, r = (i / cols) % rows;
    const bool keep = upper ? c - r >= k : c - r <= k;
    y[i] = keep ? x[i] : E(0);
  }
}
template <class T> int trilu(mx_kernel_ctx* ctx) {
  using E = typename bits<sizeof(T)>::type;
  const mx_tensor &x = ctx->inputs[0], &y = ctx->outputs[0];
  const int64_t total = numel(y);
  if (!total) return MX_OK;
  if (x.ndim < 2) return mx_fail(ctx, MX_ERR_INVALID, "Trilu: X needs rank 2 or more (rank %d)", x.ndim);
  k_trilu<E><<<blocks_for(total), kThreads, 0, stream_of(ctx)>>>((E*)y.data, (const E*)x.data, x.shape[x.ndim - 2], x.shape[x.ndim - 1],
                                                               mx_attr_int(ctx->attrs, "k", 0), mx_attr_int(ctx->attrs, "upper", 1) != 0, total);
  return MX_OK;
}

// ---- Dropout (inference; core runs it only when the mask is asked for): Y = X and an all-true mask.
int dropout(mx_kernel_ctx* ctx) {
  if (int st = identity(ctx)) return st;
  if (ctx->num_outputs < 2 || !ctx->outputs[1].data || !numel(ctx->outputs[1])) return MX_OK;
  cudaError_t e = cudaMemsetAsync(ctx->outputs[1].data, 1, (size_t)numel(ctx->outputs[1]), stream_of(ctx));
  return e == cudaSuccess ? MX_OK : cuda_fail(ctx, e, "Dropout mask");
}

// ---- BitCast: Y's bytes are X's bytes (core checked that `to` has X's element width).
int bit_cast(mx_kernel_ctx* ctx) {
  const mx_tensor &x = ctx->inputs[0], &y = ctx->outputs[0];
  if (numel(x) * elem_size(x.dtype) != numel(y) * elem_size(y.dtype))
    return mx_fail(ctx, MX_ERR_INVALID, "BitCast: dtype %d to %d changes the byte size", x.dtype, y.dtype);
  return identity(ctx);
}
// Its keys: every (T1, T2) pair of one element width.
struct bit_cast_registrations {
  bit_cast_registrations() {
    static const char* const widths[4][4] = {
        {"int8", "uint8", "bool"}, {"int16", "uint16", "float16", "bfloat16"}, {"int32", "uint32", "float32"}, {"int64", "uint64", "float64"}};
    static char keys[4 * 4 * 4][24];
    int k = 0;
    for (auto& w : widths)
      for (const char* a : w)
        for (const char* b : w) {
          if (!a || !b) continue;
          snprintf(keys[k], sizeof keys[0], "%s,%s", a, b);
          ::mx::kernel_registrar("BitCast", "", keys[k++], guarded<bit_cast>);
        }
  }
} bit_cast_registered;

// ---- Compress: Gather along `axis` (of the flattened input when absent) at the `selected` positions.
int compress(mx_kernel_ctx* ctx) {
  const mx_tensor &x = ctx->inputs[0], &y = ctx->outputs[0];
  const int64_t axis = mx_attr_int(ctx->attrs, "axis", -1);
  const int64_t* sel;
  const int64_t k = mx_attr_ints(ctx->attrs, "selected", &sel);
  if (axis >= x.ndim) return mx_fail(ctx, MX_ERR_INVALID, "Compress: axis %lld is out of range for rank %d", (long long)axis, x.ndim);
  int64_t n = numel(x), inner = 1;
  if (axis >= 0) {
    n = x.shape[axis];
    for (int d = (int)axis + 1; d < x.ndim; d++) inner *= x.shape[d];
  }
  for (int64_t i = 0; i < k; i++)
    if (sel[i] < 0 || sel[i] >= n)
      return mx_fail(ctx, MX_ERR_INVALID, "Compress: selected position %lld is out of range for %lld", (long long)sel[i], (long long)n);
  const int64_t total = numel(y);
  if (!total) return MX_OK;
  int64_t* idx;
  if (int st = scratch_alloc(ctx, "Compress", (size_t)k * sizeof(int64_t), (void**)&idx)) return st;
  int st = upload(ctx, "Compress", idx, sel, (size_t)k * sizeof(int64_t));
  if (st == MX_OK)
    by_size(elem_size(x.dtype), [&](auto z) {
      using E = decltype(z);
      k_gather<E, int64_t><<<blocks_for(total), kThreads, 0, stream_of(ctx)>>>((E*)y.data, (const E*)x.data, idx, n, k, inner, total);
      return MX_OK;
    });
  const int freed = scratch_free(ctx, "Compress", idx);
  return st != MX_OK ? st : freed;
}

// ---- ReverseSequence on [d0, d1, inner]: batch axis 0 and time axis 1, or the reverse.
struct LenOutside {
  int64_t steps;
  __device__ __forceinline__ bool operator()(int64_t, int64_t v) const { return v < 0 || v > steps; }
};
template <class E>
__global__ void k_reverse_sequence(E* __restrict__ y, const E* __restrict__ x, const int64_t* __restrict__ lens, int64_t d1, int64_t inner,
                                   bool batch_first, int64_t total) {
  MXC_GRID_LOOP(e, total) {
    const int64_t blk = e / inner, i = e - blk * inner, i0 = blk / d1, i1 = blk - i0 * d1;
    const int64_t t = batch_first ? i1 : i0, len = lens[batch_first ? i0 : i1];
    const int64_t s = t < len ? len - 1 - t : t;
    y[e] = x[((batch_first ? i0 * d1 + s : s * d1 + i1)) * inner + i];
  }
}
int reverse_sequence(mx_kernel_ctx* ctx) {
  const mx_tensor &x = ctx->inputs[0], &lens = ctx->inputs[1], &y = ctx->outputs[0];
  if (x.ndim < 2) return mx_fail(ctx, MX_ERR_INVALID, "ReverseSequence: input needs rank 2 or more (rank %d)", x.ndim);
  const bool batch_first = mx_attr_int(ctx->attrs, "batch_axis", 1) == 0;
  const int64_t steps = x.shape[batch_first ? 1 : 0], d1 = x.shape[1];
  int64_t bad, v = 0;
  if (int st = first_bad(ctx, "ReverseSequence length check", (const int64_t*)lens.data, numel(lens), LenOutside{steps}, &bad, &v)) return st;
  if (bad >= 0)
    return mx_fail(ctx, MX_ERR_INVALID, "ReverseSequence: sequence_lens[%lld] = %lld is out of range [0, %lld]", (long long)bad, (long long)v,
                   (long long)steps);
  const int64_t total = numel(x);
  if (!total) return MX_OK;
  const int64_t inner = total / (x.shape[0] * d1);
  return by_size(elem_size(x.dtype), [&](auto z) {
    using E = decltype(z);
    k_reverse_sequence<E><<<blocks_for(total), kThreads, 0, stream_of(ctx)>>>((E*)y.data, (const E*)x.data, (const int64_t*)lens.data, d1,
                                                                              inner, batch_first, total);
    return MX_OK;
  });
}

// ---- TensorScatter: past [batch, per_batch, n, inner], update [batch, per_batch, u, inner].
struct WriteOutside {
  int64_t u, n;
  __device__ __forceinline__ bool operator()(int64_t, int64_t w) const { return w < 0 || w > n - u; }
};
template <class E>
__global__ void k_tensor_scatter(E* __restrict__ y, const E* __restrict__ upd, const int64_t* __restrict__ w, int64_t per_batch, int64_t n,
                                 int64_t u, int64_t inner, bool circular, int64_t total) {
  MXC_GRID_LOOP(e, total) {
    const int64_t q = e / inner, i = e - q * inner, o = q / u, k = q - o * u;
    const int64_t at = (w ? w[o / per_batch] : 0) + k;
    const int64_t pos = circular ? (at % n + n) % n : at;
    y[(o * n + pos) * inner + i] = upd[e];
  }
}
int tensor_scatter(mx_kernel_ctx* ctx) {
  const mx_tensor &past = ctx->inputs[0], &upd = ctx->inputs[1], &y = ctx->outputs[0];
  const int64_t* w = ctx->num_inputs > 2 && ctx->inputs[2].data ? (const int64_t*)ctx->inputs[2].data : nullptr;
  const int64_t axis = mx_attr_int(ctx->attrs, "axis", past.ndim - 2);
  if (axis < 1 || axis >= past.ndim || upd.ndim != past.ndim)
    return mx_fail(ctx, MX_ERR_INVALID, "TensorScatter: axis %lld for past_cache of rank %d and update of rank %d", (long long)axis, past.ndim,
                   upd.ndim);
  const bool circular = std::strcmp(mx_attr_string(ctx->attrs, "mode", "linear"), "circular") == 0;
  const int64_t n = past.shape[axis], u = upd.shape[axis];
  if (w && !circular) {
    int64_t bad, v = 0;
    if (int st = first_bad(ctx, "TensorScatter write index check", w, past.shape[0], WriteOutside{u, n}, &bad, &v)) return st;
    if (bad >= 0)
      return mx_fail(ctx, MX_ERR_INVALID, "TensorScatter: write index %lld of batch entry %lld with %lld positions exceeds the axis size %lld",
                     (long long)v, (long long)bad, (long long)u, (long long)n);
  }
  const int es = elem_size(past.dtype);
  const size_t bytes = (size_t)numel(past) * es;
  if (bytes && y.data != past.data) {
    const cudaError_t e = cudaMemcpyAsync(y.data, past.data, bytes, cudaMemcpyDeviceToDevice, stream_of(ctx));
    if (e != cudaSuccess) return cuda_fail(ctx, e, "TensorScatter copy");
  }
  const int64_t total = numel(upd);
  if (!total) return MX_OK;
  int64_t per_batch = 1, inner = 1;
  for (int d = 1; d < axis; d++) per_batch *= past.shape[d];
  for (int d = (int)axis + 1; d < past.ndim; d++) inner *= past.shape[d];
  return by_size(es, [&](auto z) {
    using E = decltype(z);
    k_tensor_scatter<E><<<blocks_for(total), kThreads, 0, stream_of(ctx)>>>((E*)y.data, (const E*)upd.data, w, per_batch, n, u, inner,
                                                                            circular, total);
    return MX_OK;
  });
}

}  // namespace
}  // namespace mxcuda

using namespace mxcuda;

MXC_KERNEL_EVERY_DTYPE("Transpose", "", transpose);
MXC_KERNEL_EVERY_DTYPE("Expand", "", expand);
MXC_KERNEL_EVERY_DTYPE("Identity", "", identity);
MXC_KERNEL_EVERY_DTYPE("Slice", "", slice);
MXC_KERNEL_EVERY_DTYPE("Concat", "", concat);
MXC_KERNEL_EVERY_DTYPE("Split", "", split);
MXC_KERNEL_EVERY_DTYPE("Gather", ",int32", gather);
MXC_KERNEL_EVERY_DTYPE("Gather", ",int64", gather);
// CenterCropPad: core turned the target shape into Pad's attributes (pads with
// negative crops, mode 'constant', value 0).
#define REG_PAD(T, key, ...) MXC_KERNEL("Pad", key, (pad<T>)); MXC_KERNEL("CenterCropPad", key, (pad<T>));
MXC_ALL_TYPES(REG_PAD, _)
MXC_KERNEL_EVERY_DTYPE("DepthToSpace", "", depth_to_space);
MXC_KERNEL_EVERY_DTYPE("SpaceToDepth", "", space_to_depth);
#define REG_TILE(T, key, ...) MXC_KERNEL("Tile", key, (tile<T>)); MXC_KERNEL("Trilu", key, (trilu<T>));
MXC_ALL_TYPES(REG_TILE, _)
#define REG_DROPOUT(T, key, ...) MXC_KERNEL("Dropout", key, dropout);
MXC_FLOAT_TYPES(REG_DROPOUT, _)
MXC_KERNEL_EVERY_DTYPE("Compress", "", compress);
MXC_KERNEL_EVERY_DTYPE("ReverseSequence", "", reverse_sequence);
MXC_KERNEL_EVERY_DTYPE("TensorScatter", "", tensor_scatter);
