// Index helpers shared by the gather and scatter kernels (idx_gather.cc,
// idx_scatter.cc): reading int32/int64 index tensors, range checks with a message,
// and the data offsets that GatherElements/ScatterElements and GatherND/ScatterND
// address. Indices may be negative (counted from the end of their axis); any index
// outside [-n, n) fails with MX_ERR_INVALID before a kernel writes anything.
#pragma once
#include <vector>

#include "movement.h"

namespace mxcpu::idx {

// Element i of an int32 or int64 index tensor.
inline int64_t index_at(const mx_tensor& t, int64_t i) {
  return t.dtype == MX_INT32 ? int64_t(static_cast<const int32_t*>(t.data)[i]) : static_cast<const int64_t*>(t.data)[i];
}

inline int out_of_range(mx_kernel_ctx* ctx, const char* op, int64_t k, int64_t at, int64_t n) {
  return mx_fail(ctx, MX_ERR_INVALID, "%s: index %lld (at flat position %lld of indices) is out of range for an axis of size %lld", op,
                 (long long)k, (long long)at, (long long)n);
}

// Checks every index against an axis of size n.
inline int check_indices(mx_kernel_ctx* ctx, const char* op, const mx_tensor& ind, int64_t n) {
  for (int64_t i = 0, total = mx_numel(&ind); i < total; i++) {
    const int64_t k = index_at(ind, i);
    if (k < -n || k >= n) return out_of_range(ctx, op, k, i, n);
  }
  return MX_OK;
}

// GatherElements/ScatterElements: indices has data's rank; element j of index row
// `row` (rows run over all dims but the last) addresses data at the same coordinates
// with the `axis` one replaced by the index. Call offset() only after check_indices.
struct element_map {
  int rank;
  int64_t axis, n, cols;
  int64_t xs[MX_MAX_DIMS];
  const mx_tensor* ind;
  element_map(const mx_tensor& x, const mx_tensor& indices, int64_t axis_)
      : rank(indices.ndim), axis(axis_), n(x.shape[axis_]), cols(indices.shape[indices.ndim - 1]), ind(&indices) {
    movement::dense_strides(x, xs);
  }
  // Data offset of index row `row` without the axis coordinate.
  int64_t row_base(int64_t row) const {
    int64_t base = 0;
    for (int d = rank - 2; d >= 0; d--) {
      const int64_t c = row % ind->shape[d];
      row /= ind->shape[d];
      if (d != axis) base += c * xs[d];
    }
    return base;
  }
  // Data offset of element j of the row whose base is `base`.
  int64_t offset(int64_t base, int64_t row, int64_t j) const {
    int64_t k = index_at(*ind, row * cols + j);
    if (k < 0) k += n;
    return axis == rank - 1 ? base + k : base + j + k * xs[axis];
  }
};

// GatherND/ScatterND: the flat data offset of every index tuple (the last dim of
// ind, m long) after `batch` leading dims shared by data and indices, and the
// number of elements of the slice each tuple addresses (data.shape[batch + m:]).
inline int tuple_offsets(mx_kernel_ctx* ctx, const char* op, const mx_tensor& x, const mx_tensor& ind, int batch,
                         std::vector<int64_t>& offsets, int64_t& slice) {
  const int64_t m = ind.shape[ind.ndim - 1];
  const int64_t tuples = m > 0 ? mx_numel(&ind) / m : 0;
  int64_t batches = 1, batch_size = 1, xs[MX_MAX_DIMS];
  for (int d = 0; d < batch; d++) batches *= ind.shape[d];
  for (int d = batch; d < x.ndim; d++) batch_size *= x.shape[d];
  slice = 1;
  for (int d = batch + int(m); d < x.ndim; d++) slice *= x.shape[d];
  movement::dense_strides(x, xs);
  const int64_t per_batch = batches > 0 ? tuples / batches : 0;
  const int64_t* idx = static_cast<const int64_t*>(ind.data);
  offsets.resize(size_t(tuples));
  for (int64_t t = 0; t < tuples; t++) {
    int64_t off = (t / per_batch) * batch_size;
    for (int64_t j = 0; j < m; j++) {
      const int64_t n = x.shape[batch + j];
      int64_t k = idx[t * m + j];
      if (k < -n || k >= n) return out_of_range(ctx, op, k, t * m + j, n);
      off += (k < 0 ? k + n : k) * xs[batch + j];
    }
    offsets[size_t(t)] = off;
  }
  return MX_OK;
}

}  // namespace mxcpu::idx
