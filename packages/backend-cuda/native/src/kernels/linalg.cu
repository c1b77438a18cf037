// Small linear algebra.
//   Det: the determinant of every M x M matrix in the last two dims, by Gaussian
//     elimination with partial pivoting in double (as on the cpu), rounded once to
//     Y's dtype. One thread per matrix, eliminating in a double copy in scratch
//     (simple, not fast: meant for the small matrices Det sees in models). A 0 x 0
//     matrix has determinant 1.
//   Einsum: core parsed the equation into label ids: `labels` (every input dim's
//     label, inputs concatenated), `out_labels` and `label_sizes`; an input dim of 1
//     under '...' broadcasts. Y = sum over the labels not in out_labels of the
//     product of the inputs, computed directly: one thread per output element walks
//     every combination of the summed labels (repeated labels of an input read its
//     diagonal: their strides add). Simple, not fast (no GEMM). Floats accumulate in
//     float (double for float64), integers in 64-bit wrap-around arithmetic, as on
//     the cpu; the order of the sums differs from the cpu's pairwise contractions.
//     Up to 8 inputs and 24 distinct labels.
#include "common.cuh"

namespace mxcuda {
namespace {

template <class T> __global__ void k_det(const T* __restrict__ x, double* __restrict__ work, T* __restrict__ y, int64_t m, int64_t count) {
  const int64_t mm = m * m;
  MXC_GRID_LOOP(t, count) {
    double* a = work + t * mm;
    for (int64_t i = 0; i < mm; i++) a[i] = (double)up(x[t * mm + i]);
    double det = 1;
    for (int64_t c = 0; c < m; c++) {
      int64_t p = c;
      for (int64_t r = c + 1; r < m; r++)
        if (fabs(a[r * m + c]) > fabs(a[p * m + c])) p = r;
      const double pivot = a[p * m + c];
      if (pivot == 0) {
        det = 0;
        break;
      }
      if (p != c) {
        for (int64_t j = 0; j < m; j++) {
          const double s = a[c * m + j];
          a[c * m + j] = a[p * m + j];
          a[p * m + j] = s;
        }
        det = -det;
      }
      det *= pivot;
      for (int64_t r = c + 1; r < m; r++) {
        const double f = a[r * m + c] / pivot;
        for (int64_t j = c; j < m; j++) a[r * m + j] -= f * a[c * m + j];
      }
    }
    y[t] = convert<T>(det);
  }
}
template <class T> int det(mx_kernel_ctx* ctx) {
  const mx_tensor &x = ctx->inputs[0], &y = ctx->outputs[0];
  if (x.ndim < 2 || x.shape[x.ndim - 1] != x.shape[x.ndim - 2])
    return mx_fail(ctx, MX_ERR_INVALID, "Det: X must end in square matrices (rank %d)", x.ndim);
  const int64_t m = x.shape[x.ndim - 1], count = numel(y);
  if (!count) return MX_OK;
  double* work;
  if (int st = scratch_alloc(ctx, "Det", (size_t)(count * m * m) * sizeof(double), (void**)&work)) return st;
  k_det<T><<<blocks_for(count), kThreads, 0, stream_of(ctx)>>>((const T*)x.data, work, (T*)y.data, m, count);
  return scratch_free(ctx, "Det", work);
}

// ---- Einsum
constexpr int kEinsumInputs = 8, kEinsumLabels = 24;
struct EinsumGeom {
  int inputs, nout, nsum;
  int out[kEinsumLabels], sum[kEinsumLabels];        // label ids, the last varying fastest
  int64_t size[kEinsumLabels], sum_total;
  int64_t st[kEinsumInputs][kEinsumLabels];          // per input and label: element stride (0: absent or broadcast)
  const void* in[kEinsumInputs];
};
template <class T, class C> __global__ void k_einsum(EinsumGeom g, T* __restrict__ y, int64_t total) {
  MXC_GRID_LOOP(e, total) {
    int64_t base[kEinsumInputs];
    for (int i = 0; i < g.inputs; i++) base[i] = 0;
    int64_t q = e;
    for (int k = g.nout - 1; k >= 0; k--) {
      const int l = g.out[k];
      const int64_t c = q % g.size[l];
      q /= g.size[l];
      for (int i = 0; i < g.inputs; i++) base[i] += c * g.st[i][l];
    }
    C acc = C(0);
    for (int64_t s = 0; s < g.sum_total; s++) {
      int64_t off[kEinsumInputs];
      for (int i = 0; i < g.inputs; i++) off[i] = base[i];
      int64_t r = s;
      for (int k = g.nsum - 1; k >= 0; k--) {
        const int l = g.sum[k];
        const int64_t c = r % g.size[l];
        r /= g.size[l];
        for (int i = 0; i < g.inputs; i++) off[i] += c * g.st[i][l];
      }
      C p = C(1);
      for (int i = 0; i < g.inputs; i++) p = p * C(up(static_cast<const T*>(g.in[i])[off[i]]));
      acc = acc + p;
    }
    y[e] = convert<T>(acc);
  }
}
template <class T> int einsum(mx_kernel_ctx* ctx) {
  using C = std::conditional_t<is_float_v<T>, acc_t<T>, uint64_t>;  // integers: wrap-around in 64 bits
  const int64_t *labels, *out_labels, *sizes;
  const int nl = mx_attr_ints(ctx->attrs, "labels", &labels), no = mx_attr_ints(ctx->attrs, "out_labels", &out_labels),
            ns = mx_attr_ints(ctx->attrs, "label_sizes", &sizes);
  if (ctx->num_inputs > kEinsumInputs || ns > kEinsumLabels)
    return mx_fail(ctx, MX_ERR_UNSUPPORTED, "Einsum: %d inputs and %d distinct labels (at most %d and %d on cuda)", ctx->num_inputs, ns,
                   kEinsumInputs, kEinsumLabels);
  EinsumGeom g{};
  g.inputs = ctx->num_inputs;
  int at = 0;
  for (int k = 0; k < ctx->num_inputs; k++) {
    const mx_tensor& t = ctx->inputs[k];
    g.in[k] = t.data;
    int64_t s = 1;
    for (int d = t.ndim - 1; d >= 0; d--) {
      const int64_t l = at + d < nl ? labels[at + d] : -1;
      if (l < 0 || l >= ns) return mx_fail(ctx, MX_ERR_INVALID, "Einsum: label %lld of input %d is not one of the %d labels", (long long)l, k, ns);
      if (t.shape[d] != 1) g.st[k][l] += s;
      s *= t.shape[d];
    }
    at += t.ndim;
  }
  if (at != nl) return mx_fail(ctx, MX_ERR_INVALID, "Einsum: %d labels for inputs of %d dims in all", nl, at);
  bool in_out[kEinsumLabels] = {};
  g.nout = no;
  for (int k = 0; k < no; k++) {
    if (out_labels[k] < 0 || out_labels[k] >= ns || in_out[out_labels[k]])
      return mx_fail(ctx, MX_ERR_INVALID, "Einsum: output label %lld is not one of the %d labels, or repeats", (long long)out_labels[k], ns);
    g.out[k] = (int)out_labels[k];
    in_out[out_labels[k]] = true;
  }
  g.sum_total = 1;
  for (int l = 0; l < ns; l++) {
    g.size[l] = sizes[l];
    if (!in_out[l]) {
      g.sum[g.nsum++] = l;
      g.sum_total *= sizes[l];
    }
  }
  const int64_t total = numel(ctx->outputs[0]);
  if (total) k_einsum<T, C><<<blocks_for(total), kThreads, 0, stream_of(ctx)>>>(g, (T*)ctx->outputs[0].data, total);
  return MX_OK;
}

}  // namespace
}  // namespace mxcuda

using namespace mxcuda;

#define REG_DET(T, key, ...) MXC_KERNEL("Det", key, (det<T>));
MXC_FLOAT_TYPES(REG_DET, _)
#define REG_EINSUM(T, key, ...) MXC_KERNEL("Einsum", key, (einsum<T>));
MXC_NUMERIC_TYPES(REG_EINSUM, _)
