// NumPy broadcasting of N inputs onto a dense row-major output: per-input element
// strides (0 along broadcast dims), with size-1 dims dropped and adjacent dims
// merged wherever every input stays contiguous across them. A same-shape or
// scalar operand therefore collapses to one long row, and the general case walks
// rows of the innermost dim.
#pragma once
#include "elementwise.h"

#include <algorithm>

namespace mxcpu {

template <int N> struct broadcast {
  int nd = 0;
  int64_t dims[MX_MAX_DIMS];
  int64_t strides[N][MX_MAX_DIMS];
  int64_t total = 1;

  // ins[k] must be broadcastable to out (core's shape rule checked it).
  broadcast(const mx_tensor& out, const mx_tensor* const* ins) {
    int64_t in_stride[N][MX_MAX_DIMS];
    for (int k = 0; k < N; k++) {
      int64_t s = 1;
      for (int j = ins[k]->ndim - 1; j >= 0; j--) { in_stride[k][j] = s; s *= ins[k]->shape[j]; }
    }
    for (int d = 0; d < out.ndim; d++) {
      const int64_t size = out.shape[d];
      total *= size;
      if (size == 1) continue;
      int64_t st[N];
      for (int k = 0; k < N; k++) {
        const int j = d - (out.ndim - ins[k]->ndim);
        st[k] = j < 0 || ins[k]->shape[j] == 1 ? 0 : in_stride[k][j];
      }
      bool merge = nd > 0;
      for (int k = 0; k < N && merge; k++) merge = strides[k][nd - 1] == st[k] * size;
      if (merge) {
        dims[nd - 1] *= size;
        for (int k = 0; k < N; k++) strides[k][nd - 1] = st[k];
      } else {
        dims[nd] = size;
        for (int k = 0; k < N; k++) strides[k][nd] = st[k];
        nd++;
      }
    }
    if (nd == 0) {  // one element
      nd = 1;
      dims[0] = 1;
      for (int k = 0; k < N; k++) strides[k][0] = 0;
    }
  }

  // Calls row(o, off, step, n) for the output elements [begin, end): a run of n
  // elements starting at flat output index o, reading input k from element offset
  // off[k] with stride step[k] (0 or 1: the innermost dim of an input is either
  // broadcast or contiguous).
  template <class F> MXCPU_INLINE void walk(int64_t begin, int64_t end, const F& row) const {
    if (begin >= end) return;
    const int last = nd - 1;
    int64_t idx[MX_MAX_DIMS], base[N], step[N], off[N];
    int64_t rem = begin;
    for (int d = last; d >= 0; d--) { idx[d] = rem % dims[d]; rem /= dims[d]; }
    for (int k = 0; k < N; k++) {
      base[k] = 0;  // offset of the current row's first element
      for (int d = 0; d < last; d++) base[k] += idx[d] * strides[k][d];
      step[k] = strides[k][last];
    }
    int64_t pos = begin, col = idx[last];
    for (;;) {
      const int64_t n = std::min(dims[last] - col, end - pos);
      for (int k = 0; k < N; k++) off[k] = base[k] + col * step[k];
      row(pos, off, step, n);
      pos += n;
      if (pos >= end) return;
      col = 0;
      for (int d = last - 1; d >= 0; d--) {  // odometer carry over the outer dims
        for (int k = 0; k < N; k++) base[k] += strides[k][d];
        if (++idx[d] < dims[d]) break;
        idx[d] = 0;
        for (int k = 0; k < N; k++) base[k] -= dims[d] * strides[k][d];
      }
    }
  }
};

// Runs row(o, off, step, n) over the whole output in parallel chunks, each chunk
// compiled for the best ISA (see simd()).
template <int N, bool kVec = true, class F>
inline void broadcast_apply(const mx_pool* pool, const mx_tensor& out, const mx_tensor* const* ins, const F& row) {
  const broadcast<N> bc(out, ins);
  parallel_simd<kVec>(pool, bc.total, kGrain, [&](int64_t b, int64_t e) MXCPU_INLINE { bc.walk(b, e, row); });
}

// o = op(a, b) with broadcasting; A, B, O are element types, op works on their
// compute types (float for 16-bit floats) and its result is converted to O.
template <class A, class B, class O, class Op>
inline void binary_apply(const mx_pool* pool, const Op& op, const mx_tensor& ta, const mx_tensor& tb, const mx_tensor& to) {
  const A* a = static_cast<const A*>(ta.data);
  const B* b = static_cast<const B*>(tb.data);
  O* o = static_cast<O*>(to.data);
  const mx_tensor* ins[2] = {&ta, &tb};
  broadcast_apply<2, Op::kVec>(pool, to, ins, [&](int64_t p, const int64_t* off, const int64_t* step, int64_t n) MXCPU_INLINE {
    O* y = o + p;
    const A* x0 = a + off[0];
    const B* x1 = b + off[1];
    if (step[0] && step[1]) {
      for (int64_t i = 0; i < n; i++) y[i] = convert<O>(op(load(x0[i]), load(x1[i])));
    } else if (step[0]) {
      const auto v1 = load(*x1);
      for (int64_t i = 0; i < n; i++) y[i] = convert<O>(op(load(x0[i]), v1));
    } else if (step[1]) {
      const auto v0 = load(*x0);
      for (int64_t i = 0; i < n; i++) y[i] = convert<O>(op(v0, load(x1[i])));
    } else {
      const O v = convert<O>(op(load(*x0), load(*x1)));
      for (int64_t i = 0; i < n; i++) y[i] = v;
    }
  });
}

template <class Op, class A, class B = A, class O = A> int binary_kernel(mx_kernel_ctx* ctx) {
  binary_apply<A, B, O>(ctx->pool, Op(ctx->attrs), ctx->inputs[0], ctx->inputs[1], ctx->outputs[0]);
  return MX_OK;
}

// A stateless binary functor `name` computing `expr` from a and b (compute type C).
#define MXCPU_BINARY_OP(name, expr)                                     \
  struct name : ::mxcpu::stateless {                                    \
    using stateless::stateless;                                         \
    template <class C> MXCPU_INLINE auto operator()(C a, C b) const { return expr; } \
  };

}  // namespace mxcpu
