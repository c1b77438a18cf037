// Einsum. Core parsed the equation into label ids: `labels` (every input dim's
// label, inputs concatenated), `out_labels` and `label_sizes`; an input dim of 1
// under '...' broadcasts. Output = sum over the labels not in out_labels of the
// product of the inputs.
//
// Evaluation: each input is first reduced to the labels still needed (in the
// output or another input): repeated labels take the diagonal, the others are
// summed. Operands are then contracted left to right: for A and B, labels in both
// and needed later are batch dims, labels in both and not needed are contracted
// (K), the rest stay as rows (M, from A) or columns (N, from B); A and B are packed
// to [batch, M, K] and [batch, K, N] and multiplied by batched GEMM. A last
// reduction permutes the result into the output's label order.
// Floats compute in float (16-bit floats widened), float64 in double, integers in
// 64-bit wrap-around arithmetic (exact modulo 2^bits, as the narrow types wrap).
#include <algorithm>
#include <atomic>
#include <new>
#include <vector>

#include "elementwise.h"
#include "gemm.h"
#include "movement.h"

namespace mxcpu {
namespace {

struct axis {
  int label;
  int64_t stride;  // elements; 0 for a broadcast dim
};

// out[dst index] = sum over the labels of `src` missing from `dst` of src at the
// combined index; repeated labels in `src` read the diagonal (their strides add).
template <class S, class C>
void reduce_to(const mx_pool* pool, const S* src, const std::vector<axis>& axes, const std::vector<int>& dst, const int64_t* sizes, C* out) {
  std::vector<axis> keep, summed;  // unique labels with combined strides
  for (const axis& a : axes) {
    auto& list = std::find(dst.begin(), dst.end(), a.label) != dst.end() ? keep : summed;
    auto it = std::find_if(list.begin(), list.end(), [&](const axis& b) { return b.label == a.label; });
    if (it == list.end()) list.push_back(a);
    else it->stride += a.stride;
  }
  std::vector<int64_t> dst_stride;
  int64_t total = 1, inner = 1;
  for (int l : dst) {
    auto it = std::find_if(keep.begin(), keep.end(), [&](const axis& b) { return b.label == l; });
    dst_stride.push_back(it == keep.end() ? 0 : it->stride);
    total *= sizes[l];
  }
  for (const axis& a : summed) inner *= sizes[a.label];
  const int nd = (int)dst.size(), ns = (int)summed.size();
  if (ns == 0 && nd <= 2 * MX_MAX_DIMS && std::is_same_v<S, C>) {  // a permutation / diagonal / broadcast: a strided copy
    movement::strided v;
    for (int k = 0; k < nd; k++) v.push(sizes[dst[k]], dst_stride[k]);
    movement::strided_copy(out, src, v, sizeof(C), pool);
    return;
  }
  parallel_for(pool, total, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, inner)), [&](int64_t b, int64_t e) {
    int64_t idx[2 * MX_MAX_DIMS];
    for (int64_t i = b; i < e; i++) {
      int64_t base = 0, rest = i;
      for (int k = nd - 1; k >= 0; k--) {
        base += rest % sizes[dst[k]] * dst_stride[k];
        rest /= sizes[dst[k]];
      }
      C acc = 0;
      std::fill(idx, idx + ns, 0);
      for (int64_t j = 0, off = base; j < inner; j++) {
        acc = wadd(acc, (C)load(src[off]));
        for (int k = ns - 1; k >= 0; k--) {
          off += summed[k].stride;
          if (++idx[k] < sizes[summed[k].label]) break;
          off -= summed[k].stride * sizes[summed[k].label];
          idx[k] = 0;
        }
      }
      out[i] = acc;
    }
  });
}

// Dense row-major axes of an operand whose dims are `labels`.
std::vector<axis> dense(const std::vector<int>& labels, const int64_t* sizes) {
  std::vector<axis> a(labels.size());
  int64_t s = 1;
  for (size_t k = labels.size(); k-- > 0;) a[k] = {labels[k], s}, s *= sizes[labels[k]];
  return a;
}

template <class C> struct operand {
  std::vector<int> labels;
  std::vector<C> data;
};

template <class C> bool batched_matmul(const mx_pool* pool, int64_t nb, int64_t M, int64_t N, int64_t K, const C* a, const C* b, C* c) {
  if constexpr (std::is_floating_point_v<C>) {
    if (nb > 1 && M * N * K < (int64_t(1) << 16)) {
      std::atomic<bool> ok{true};
      parallel_for(pool, nb, std::max<int64_t>(1, (int64_t(1) << 16) / std::max<int64_t>(1, M * N * K)), [&](int64_t b0, int64_t b1) {
        for (int64_t t = b0; t < b1; t++)
          if (!gemm(nullptr, M, N, K, C(1), {a + t * M * K, K, 1}, {b + t * K * N, N, 1}, C(0), c + t * M * N, N)) ok = false;
      });
      return ok;
    }
    for (int64_t t = 0; t < nb; t++)
      if (!gemm(pool, M, N, K, C(1), {a + t * M * K, K, 1}, {b + t * K * N, N, 1}, C(0), c + t * M * N, N)) return false;
    return true;
  } else {
    parallel_for(pool, nb * M, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, N * K)), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; r++) {
        const int64_t t = r / M;
        const C* ar = a + r * K;
        C* cr = c + r * N;
        std::fill(cr, cr + N, C(0));
        for (int64_t k = 0; k < K; k++)
          for (int64_t j = 0; j < N; j++) cr[j] = wadd(cr[j], wmul(ar[k], b[(t * K + k) * N + j]));
      }
    });
    return true;
  }
}

template <class T, class C> int einsum(mx_kernel_ctx* ctx) {
  const int64_t *labels, *out_labels, *sizes;
  const int nl = mx_attr_ints(ctx->attrs, "labels", &labels);
  const int no = mx_attr_ints(ctx->attrs, "out_labels", &out_labels);
  mx_attr_ints(ctx->attrs, "label_sizes", &sizes);
  const std::vector<int> out(out_labels, out_labels + no);
  // each input's axes: (label, stride), stride 0 on broadcast dims
  std::vector<std::vector<axis>> in_axes((size_t)ctx->num_inputs);
  int at = 0;
  for (int k = 0; k < ctx->num_inputs; k++) {
    const mx_tensor& t = ctx->inputs[k];
    int64_t s = 1;
    in_axes[k].resize((size_t)t.ndim);
    for (int d = t.ndim - 1; d >= 0; d--) in_axes[k][d] = {int(labels[at + d]), t.shape[d] == 1 ? 0 : s}, s *= t.shape[d];
    at += t.ndim;
  }
  if (at != nl) return mx_fail(ctx, MX_ERR_INVALID, "Einsum: %d labels for inputs of %d dims in all", nl, at);
  T* y = static_cast<T*>(ctx->outputs[0].data);
  // Y = the reduction of an operand (any element type) to the output's labels.
  const auto finish = [&](const auto* src, const std::vector<axis>& axes) {
    std::vector<C> res((size_t)numel(ctx->outputs[0]));
    reduce_to(ctx->pool, src, axes, out, sizes, res.data());
    for (size_t i = 0; i < res.size(); i++) y[i] = convert<T>(res[i]);
  };
  const auto in_out = [&](int l) { return std::find(out.begin(), out.end(), l) != out.end(); };
  try {
    if (ctx->num_inputs == 1) {
      finish(static_cast<const T*>(ctx->inputs[0].data), in_axes[0]);
      return MX_OK;
    }
    std::vector<operand<C>> ops((size_t)ctx->num_inputs);
    for (int k = 0; k < ctx->num_inputs; k++) {
      // keep the labels the output or another input uses
      const auto elsewhere = [&](int l) {
        for (int j = 0; j < ctx->num_inputs; j++)
          if (j != k && std::any_of(in_axes[j].begin(), in_axes[j].end(), [&](const axis& a) { return a.label == l; })) return true;
        return in_out(l);
      };
      int64_t n = 1;
      for (const axis& a : in_axes[k])
        if (std::find(ops[k].labels.begin(), ops[k].labels.end(), a.label) == ops[k].labels.end() && elsewhere(a.label)) {
          ops[k].labels.push_back(a.label);
          n *= sizes[a.label];
        }
      ops[k].data.resize((size_t)n);
      reduce_to(ctx->pool, static_cast<const T*>(ctx->inputs[k].data), in_axes[k], ops[k].labels, sizes, ops[k].data.data());
    }
    const auto has = [](const operand<C>& o, int l) { return std::find(o.labels.begin(), o.labels.end(), l) != o.labels.end(); };
    const auto prod = [&](const std::vector<int>& ls) {
      int64_t p = 1;
      for (int l : ls) p *= sizes[l];
      return p;
    };
    while (ops.size() > 1) {
      const operand<C>&A = ops[0], &B = ops[1];
      // needed after this contraction: by the output or a later operand
      const auto later = [&](int l) { return in_out(l) || std::any_of(ops.begin() + 2, ops.end(), [&](const operand<C>& o) { return has(o, l); }); };
      std::vector<int> batch, m, n, k;
      for (int l : A.labels) {
        if (has(B, l)) (later(l) ? batch : k).push_back(l);
        else if (later(l)) m.push_back(l);  // otherwise summed by A's packing
      }
      for (int l : B.labels)
        if (!has(A, l) && later(l)) n.push_back(l);
      std::vector<int> la = batch, lb = batch;
      la.insert(la.end(), m.begin(), m.end()), la.insert(la.end(), k.begin(), k.end());
      lb.insert(lb.end(), k.begin(), k.end()), lb.insert(lb.end(), n.begin(), n.end());
      const int64_t nb = prod(batch), M = prod(m), N = prod(n), K = prod(k);
      std::vector<C> pa((size_t)(nb * M * K)), pb((size_t)(nb * K * N));
      reduce_to(ctx->pool, A.data.data(), dense(A.labels, sizes), la, sizes, pa.data());
      reduce_to(ctx->pool, B.data.data(), dense(B.labels, sizes), lb, sizes, pb.data());
      operand<C> r;
      r.labels = batch;
      r.labels.insert(r.labels.end(), m.begin(), m.end()), r.labels.insert(r.labels.end(), n.begin(), n.end());
      r.data.resize((size_t)(nb * M * N));
      if (!batched_matmul<C>(ctx->pool, nb, M, N, K, pa.data(), pb.data(), r.data.data())) return fail_oom(ctx, "Einsum");
      ops.erase(ops.begin(), ops.begin() + 2);
      ops.insert(ops.begin(), std::move(r));
    }
    finish(ops[0].data.data(), dense(ops[0].labels, sizes));
  } catch (const std::bad_alloc&) {
    return fail_oom(ctx, "Einsum");
  }
  return MX_OK;
}

int einsum_half(mx_kernel_ctx* ctx) { return run_widened(ctx, einsum<float, float>); }

}  // namespace

MX_KERNEL("Einsum", "float32", (einsum<float, float>));
MX_KERNEL("Einsum", "float64", (einsum<double, double>));
MX_KERNEL("Einsum", "float16", einsum_half);
MX_KERNEL("Einsum", "bfloat16", einsum_half);
#define MX_VIS_EINSUM_INT(T, key, ...) MX_KERNEL("Einsum", key, (einsum<T, uint64_t>));
MXCPU_INT_TYPES(MX_VIS_EINSUM_INT)
#undef MX_VIS_EINSUM_INT

}  // namespace mxcpu
