// Gathers and scatters addressed by index tensors. Every one is a map from a flat
// position p (of Y for the gathers, of the updates for the scatters) to a flat
// offset into the data:
//   GatherElements / ScatterElements: p runs over indices (data's rank); the offset
//     is p's coordinates with the `axis` one replaced by indices[p] (core
//     normalized axis; int32 or int64 indices).
//   GatherND / ScatterND: p = t * slice + s for index tuple t (the last dim of the
//     int64 indices, m long) after `batch_dims` leading dims shared by data and
//     indices (ScatterND: none); the offset is that of batch t / tuples-per-batch,
//     plus tuple t's coordinates on data axes batch_dims .. batch_dims + m - 1,
//     plus s within the slice data.shape[batch_dims + m:].
// Negative indices count from the end; an index outside [-n, n) fails with
// MX_ERR_INVALID before anything is written (common.cuh's check_indices, which
// waits for the stream).
// Scatters: Y = data, then every update is combined into the element it addresses.
// `reduction` 'none' stores it, the last of duplicates winning as on the cpu: a
// first pass records, per target (an element; a slice for ScatterND), 1 + the
// highest update (tuple) number that addresses it, in 4-byte scratch per target,
// and only that update writes. 'add' and 'mul' (integers wrap, 16-bit floats round
// after each update), 'max' and 'min' (NaN propagates) update atomically, so
// duplicates all count, in an unspecified order (floats may round differently from
// a sequential loop); on bool add/max are OR and mul/min are AND. 8- and 16-bit
// elements update through the aligned 32-bit word that holds them.
#include <cstring>

#include "common.cuh"

namespace mxcuda {
namespace {

// ---- the maps
struct ElementMap {
  const void* idx;
  bool i32;  // int32 indices, else int64 (read at run time: one kernel serves both)
  int nd, axis;
  int64_t n;                                  // data.shape[axis]
  int64_t shape[MX_MAX_DIMS], xs[MX_MAX_DIMS];  // indices' shape, data's strides
  __device__ __forceinline__ int64_t operator()(int64_t p) const {
    int64_t k = i32 ? (int64_t) static_cast<const int32_t*>(idx)[p] : static_cast<const int64_t*>(idx)[p];
    if (k < 0) k += n;
    int64_t off = k * xs[axis];
    for (int d = nd - 1; d >= 0; d--) {
      const int64_t q = p / shape[d], c = p - q * shape[d];
      p = q;
      if (d != axis) off += c * xs[d];
    }
    return off;
  }
  // Last-writer bookkeeping of ScatterElements 'none': owner of position p and the target it writes.
  __device__ __forceinline__ int64_t owner(int64_t p) const { return p; }
  __device__ __forceinline__ int64_t key(int64_t o) const { return (*this)(o); }
  int64_t owners(int64_t n) const { return n; }
  int64_t keys(int64_t data_numel) const { return data_numel; }
};
template <class I> int element_map(mx_kernel_ctx* ctx, const char* op, ElementMap* m) {
  const mx_tensor &x = ctx->inputs[0], &ind = ctx->inputs[1];
  const int64_t axis = mx_attr_int(ctx->attrs, "axis", 0);
  if (ind.ndim != x.ndim || axis < 0 || axis >= x.ndim)
    return mx_fail(ctx, MX_ERR_INVALID, "%s: indices of rank %d for data of rank %d, axis %lld", op, ind.ndim, x.ndim, (long long)axis);
  *m = ElementMap{};
  m->idx = ind.data;
  m->i32 = std::is_same<I, int32_t>::value;
  m->nd = ind.ndim;
  m->axis = (int)axis;
  m->n = x.shape[axis];
  strides_of(x.shape, x.ndim, m->xs);
  for (int d = 0; d < ind.ndim; d++) {
    if (d != axis && ind.shape[d] > x.shape[d])
      return mx_fail(ctx, MX_ERR_INVALID, "%s: indices dim %d (%lld) exceeds data's (%lld)", op, d, (long long)ind.shape[d], (long long)x.shape[d]);
    m->shape[d] = ind.shape[d];
  }
  IndexAxes a{1, (int)axis, {m->n}};
  return check_indices<I>(ctx, op, (const I*)ind.data, numel(ind), a);
}

struct TupleMap {
  const int64_t* idx;
  int m;
  int64_t per_batch, batch_size, slice;
  int64_t n[MX_MAX_DIMS], xs[MX_MAX_DIMS];  // size and stride of data axis batch_dims + j
  // Offset of the slice tuple t addresses (a multiple of slice).
  __device__ __forceinline__ int64_t base(int64_t t) const {
    int64_t off = t / per_batch * batch_size;
    for (int j = 0; j < m; j++) {
      int64_t k = idx[t * m + j];
      if (k < 0) k += n[j];
      off += k * xs[j];
    }
    return off;
  }
  __device__ __forceinline__ int64_t operator()(int64_t p) const {
    const int64_t t = p / slice;
    return base(t) + (p - t * slice);
  }
  // Last-writer bookkeeping of ScatterND 'none': tuples own whole slices.
  __device__ __forceinline__ int64_t owner(int64_t p) const { return p / slice; }
  __device__ __forceinline__ int64_t key(int64_t t) const { return base(t) / slice; }
  int64_t owners(int64_t n) const { return n / slice; }
  int64_t keys(int64_t data_numel) const { return data_numel / slice; }
};
// The map of data X and indices; `count` gets the number of positions (tuples * slice).
int tuple_map(mx_kernel_ctx* ctx, const char* op, int batch, TupleMap* g, int64_t* count) {
  const mx_tensor &x = ctx->inputs[0], &ind = ctx->inputs[1];
  const int64_t m = ind.ndim ? ind.shape[ind.ndim - 1] : 0;
  if (batch < 0 || batch >= ind.ndim || batch >= x.ndim || m < 1 || m > x.ndim - batch)
    return mx_fail(ctx, MX_ERR_INVALID, "%s: indices of rank %d with tuples of %lld for data of rank %d and batch_dims %d", op, ind.ndim,
                   (long long)m, x.ndim, batch);
  *g = TupleMap{};
  g->idx = (const int64_t*)ind.data;
  g->m = (int)m;
  int64_t xs[MX_MAX_DIMS], batches = 1;
  strides_of(x.shape, x.ndim, xs);
  for (int d = 0; d < batch; d++) batches *= ind.shape[d];
  const int64_t tuples = numel(ind) / m;
  g->per_batch = batches ? tuples / batches : 0;
  g->batch_size = 1;
  for (int d = batch; d < x.ndim; d++) g->batch_size *= x.shape[d];
  g->slice = 1;
  for (int d = batch + (int)m; d < x.ndim; d++) g->slice *= x.shape[d];
  IndexAxes a{(int)m, batch, {}};
  for (int j = 0; j < m; j++) {
    g->n[j] = a.n[j] = x.shape[batch + j];
    g->xs[j] = xs[batch + j];
  }
  *count = g->per_batch ? tuples * g->slice : 0;
  return check_indices<int64_t>(ctx, op, g->idx, numel(ind), a);
}

// ---- gathers: Y[p] = X[map(p)]
template <class E, class Map> __global__ void k_gather_map(E* __restrict__ y, const E* __restrict__ x, Map map, int64_t n) {
  MXC_GRID_LOOP(p, n) y[p] = x[map(p)];
}
template <class Map> int gather_map(mx_kernel_ctx* ctx, const Map& map, int64_t n) {
  if (n <= 0) return MX_OK;
  const mx_tensor &x = ctx->inputs[0], &y = ctx->outputs[0];
  const cudaStream_t s = stream_of(ctx);
  switch (elem_size(x.dtype)) {
    case 1: k_gather_map<uint8_t><<<blocks_for(n), kThreads, 0, s>>>((uint8_t*)y.data, (const uint8_t*)x.data, map, n); break;
    case 2: k_gather_map<uint16_t><<<blocks_for(n), kThreads, 0, s>>>((uint16_t*)y.data, (const uint16_t*)x.data, map, n); break;
    case 4: k_gather_map<uint32_t><<<blocks_for(n), kThreads, 0, s>>>((uint32_t*)y.data, (const uint32_t*)x.data, map, n); break;
    default: k_gather_map<uint64_t><<<blocks_for(n), kThreads, 0, s>>>((uint64_t*)y.data, (const uint64_t*)x.data, map, n); break;
  }
  return MX_OK;
}

template <class I> int gather_elements(mx_kernel_ctx* ctx) {
  ElementMap m;
  if (int st = element_map<I>(ctx, "GatherElements", &m)) return st;
  return gather_map(ctx, m, numel(ctx->outputs[0]));
}

int gather_nd(mx_kernel_ctx* ctx) {
  TupleMap g;
  int64_t n;
  if (int st = tuple_map(ctx, "GatherND", (int)mx_attr_int(ctx->attrs, "batch_dims", 0), &g, &n)) return st;
  if (n != numel(ctx->outputs[0]))
    return mx_fail(ctx, MX_ERR_INVALID, "GatherND: the output has %lld elements, the index tuples address %lld", (long long)numel(ctx->outputs[0]),
                   (long long)n);
  return gather_map(ctx, g, n);
}

// ---- scatters
enum Reduction { kNone, kAdd, kMul, kMax, kMin };

template <int R, class T> __device__ __forceinline__ T combine(T cur, T upd) {
  if constexpr (std::is_same<T, bool>::value) {
    return (R == kAdd || R == kMax) ? (cur || upd) : (cur && upd);
  } else if constexpr (is_int_v<T> && (R == kAdd || R == kMul)) {
    const uint64_t a = (uint64_t)cur, b = (uint64_t)upd;  // unsigned: wraps without UB
    return (T)(R == kAdd ? a + b : a * b);
  } else {
    const ct<T> a = up(cur), b = up(upd);
    if constexpr (R == kAdd) return convert<T>(a + b);
    else if constexpr (R == kMul) return convert<T>(a * b);
    else if constexpr (R == kMax) return (b != b || b > a) ? upd : cur;
    else return (b != b || b < a) ? upd : cur;
  }
}

// *p = f(*p) atomically, by compare-and-swap on the 4- or 8-byte word holding *p.
template <class T, class F> __device__ __forceinline__ void atomic_update(T* p, F f) {
  using W = std::conditional_t<sizeof(T) == 8, unsigned long long, unsigned int>;
  using B = typename bits<sizeof(T)>::type;
  constexpr bool narrow = sizeof(T) < 4;
  W* w = narrow ? reinterpret_cast<W*>(reinterpret_cast<uintptr_t>(p) & ~uintptr_t(3)) : reinterpret_cast<W*>(p);
  const unsigned shift = narrow ? unsigned(reinterpret_cast<uintptr_t>(p) & 3) * 8 : 0;
  const W mask = narrow ? W(sizeof(T) == 1 ? 0xffu : 0xffffu) << shift : ~W(0);
  W old = *reinterpret_cast<volatile W*>(w), assumed;
  do {
    assumed = old;
    const B cb = B((assumed & mask) >> shift);
    T cur;
    memcpy(&cur, &cb, sizeof(T));
    const T nv = f(cur);
    B nb;
    memcpy(&nb, &nv, sizeof(T));
    const W repl = (assumed & ~mask) | (W(nb) << shift);
    if (repl == assumed) return;  // nothing changes
    old = atomicCAS(w, assumed, repl);
  } while (old != assumed);
}

// 'none': win[key] = 1 + the highest owner writing it, then only those owners write.
template <class Map> __global__ void k_last_writer(Map map, unsigned int* __restrict__ win, int64_t owners) {
  MXC_GRID_LOOP(o, owners) atomicMax(win + map.key(o), (unsigned int)(o + 1));
}
template <class E, class Map>
__global__ void k_scatter_last(E* __restrict__ y, const E* __restrict__ upd, Map map, const unsigned int* __restrict__ win, int64_t n) {
  MXC_GRID_LOOP(p, n) {
    const int64_t o = map.owner(p);
    if (win[map.key(o)] == (unsigned int)(o + 1)) y[map(p)] = upd[p];
  }
}
template <class E, class Map> int scatter_last(mx_kernel_ctx* ctx, const char* op, const Map& map, int64_t n) {
  const int64_t owners = map.owners(n), keys = map.keys(numel(ctx->outputs[0]));
  if (owners >= (int64_t)UINT32_MAX)
    return mx_fail(ctx, MX_ERR_UNSUPPORTED, "%s: %lld updates with reduction 'none' (at most %u)", op, (long long)owners, UINT32_MAX - 1);
  unsigned int* win;
  if (int st = scratch_alloc(ctx, op, (size_t)keys * sizeof(unsigned int), (void**)&win)) return st;
  const cudaStream_t s = stream_of(ctx);
  cudaError_t e = cudaMemsetAsync(win, 0, (size_t)keys * sizeof(unsigned int), s);
  if (e != cudaSuccess) {
    scratch_free(ctx, op, win);
    return cuda_fail(ctx, e, op);
  }
  k_last_writer<<<blocks_for(owners), kThreads, 0, s>>>(map, win, owners);
  k_scatter_last<E><<<blocks_for(n), kThreads, 0, s>>>((E*)ctx->outputs[0].data, (const E*)ctx->inputs[2].data, map, win, n);
  return scratch_free(ctx, op, win);
}

template <int R, class T, class Map> __global__ void k_scatter_map(T* __restrict__ y, const T* __restrict__ upd, Map map, int64_t n) {
  MXC_GRID_LOOP(p, n) {
    const T u = upd[p];
    atomic_update(y + map(p), [u](T cur) { return combine<R>(cur, u); });
  }
}

// Y = X, then the updates (input 2, n of them) through `map`.
template <class T, class Map> int scatter_map(mx_kernel_ctx* ctx, const char* op, const Map& map, int64_t n) {
  const mx_tensor &x = ctx->inputs[0], &upd = ctx->inputs[2], &y = ctx->outputs[0];
  const char* r = mx_attr_string(ctx->attrs, "reduction", "none");
  const int red = !std::strcmp(r, "none") ? kNone : !std::strcmp(r, "add") ? kAdd : !std::strcmp(r, "mul") ? kMul
                : !std::strcmp(r, "max") ? kMax : !std::strcmp(r, "min") ? kMin : -1;
  if (red < 0) return mx_fail(ctx, MX_ERR_INVALID, "%s: unknown reduction '%s'", op, r);
  if (n != numel(upd))
    return mx_fail(ctx, MX_ERR_INVALID, "%s: updates have %lld elements, the indices address %lld", op, (long long)numel(upd), (long long)n);
  const cudaStream_t s = stream_of(ctx);
  const size_t bytes = (size_t)numel(y) * sizeof(T);
  if (bytes && y.data != x.data) {
    const cudaError_t e = cudaMemcpyAsync(y.data, x.data, bytes, cudaMemcpyDeviceToDevice, s);
    if (e != cudaSuccess) return cuda_fail(ctx, e, op);
  }
  if (n <= 0) return MX_OK;
  using E = typename bits<sizeof(T)>::type;
  const unsigned b = blocks_for(n);
  T* yd = (T*)y.data;
  const T* ud = (const T*)upd.data;
  switch (red) {
    case kNone: return scatter_last<E>(ctx, op, map, n);
    case kAdd: k_scatter_map<kAdd, T><<<b, kThreads, 0, s>>>(yd, ud, map, n); break;
    case kMul: k_scatter_map<kMul, T><<<b, kThreads, 0, s>>>(yd, ud, map, n); break;
    case kMax: k_scatter_map<kMax, T><<<b, kThreads, 0, s>>>(yd, ud, map, n); break;
    default: k_scatter_map<kMin, T><<<b, kThreads, 0, s>>>(yd, ud, map, n); break;
  }
  return MX_OK;
}

template <class T, class I> int scatter_elements(mx_kernel_ctx* ctx) {
  ElementMap m;
  if (int st = element_map<I>(ctx, "ScatterElements", &m)) return st;
  return scatter_map<T>(ctx, "ScatterElements", m, numel(ctx->inputs[1]));
}

template <class T> int scatter_nd(mx_kernel_ctx* ctx) {
  TupleMap g;
  int64_t n;
  if (int st = tuple_map(ctx, "ScatterND", 0, &g, &n)) return st;
  return scatter_map<T>(ctx, "ScatterND", g, n);
}

}  // namespace
}  // namespace mxcuda

using namespace mxcuda;

MXC_KERNEL_EVERY_DTYPE("GatherElements", ",int32", gather_elements<int32_t>);
MXC_KERNEL_EVERY_DTYPE("GatherElements", ",int64", gather_elements<int64_t>);
MXC_KERNEL_EVERY_DTYPE("GatherND", "", gather_nd);
#define REG_SCATTER(T, key, ...)                                         \
  MXC_KERNEL("ScatterElements", key ",int32", (scatter_elements<T, int32_t>)); \
  MXC_KERNEL("ScatterElements", key ",int64", (scatter_elements<T, int64_t>)); \
  MXC_KERNEL("ScatterND", key, (scatter_nd<T>));
MXC_ALL_TYPES(REG_SCATTER, _)
