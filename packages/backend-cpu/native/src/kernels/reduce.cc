// Reduce* over the `axes` attr (sorted, non-negative; core folded the axes input
// and noop_with_empty_axes into it: [] reduces nothing, so each output is the
// reduction of one element and L1/L2/LogSum/... still apply their elementwise
// part). keepdims only changes the output shape, never the element order, so the
// kernels ignore it.
//
// The input's dims are merged into alternating kept/reduced groups. Each output
// folds either a contiguous run (the innermost group is reduced) or, when the
// innermost group is kept, a block of up to kBlock neighbouring outputs folds
// contiguous rows at once. Work is split over outputs; when that leaves too few
// work items, each reduction is also split into parts (whole rows at a time),
// folded into partial accumulators and merged in a fixed order, so results do not
// depend on the thread count.
//
// Numerics: float16/bfloat16/float32/float64 accumulate in double; integers in
// 64 bits, wrapping like the element type would (sum and product are exact modulo
// 2^bits); integer Mean truncates toward zero; Max/Min compare in the element's
// own (compute) type, which is exact. Empty reductions give the identity
// (Sum 0, Prod 1, Max the lowest value, LogSumExp -inf...). Max/Min propagate NaN.
#include "elementwise.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>

namespace mxcpu {
namespace {

template <class T> using acc_t = std::conditional_t<is_float_v<T>, double, std::conditional_t<std::is_signed_v<T>, int64_t, uint64_t>>;

template <class A> inline MXCPU_INLINE A abs_of(A x) {
  if constexpr (std::is_unsigned_v<A>) return x;
  else return x < 0 ? wneg(x) : x;
}

// A fold: acc<T> accumulates elements of type T; init<T, A>() is the empty
// reduction; add folds one loaded element; merge folds a partial accumulator;
// kVec: whether the loops can vectorize. A reduction is a fold plus a finish
// applied once per output (fin_*), so several ops share one compiled fold.
struct f_sum {
  static constexpr bool kVec = true;
  template <class T> using acc = acc_t<T>;
  template <class T, class A> static A init() { return A(0); }
  template <class A, class V> static MXCPU_INLINE void add(A& a, V v) { a = wadd(a, A(v)); }
  template <class A> static MXCPU_INLINE void merge(A& a, A b) { a = wadd(a, b); }
};
struct f_abs_sum : f_sum {
  template <class A, class V> static MXCPU_INLINE void add(A& a, V v) { a = wadd(a, abs_of(A(v))); }
};
struct f_square_sum : f_sum {
  template <class A, class V> static MXCPU_INLINE void add(A& a, V v) { a = wadd(a, wmul(A(v), A(v))); }
};
struct f_prod : f_sum {
  template <class T, class A> static A init() { return A(1); }
  template <class A, class V> static MXCPU_INLINE void add(A& a, V v) { a = wmul(a, A(v)); }
  template <class A> static MXCPU_INLINE void merge(A& a, A b) { a = wmul(a, b); }
};
template <bool kMax> struct f_extreme : f_sum {
  template <class T> using acc = compute_t<T>;  // exact: no need to widen
  template <class T, class A> static A init() {
    using L = std::numeric_limits<A>;
    if constexpr (is_float_v<T>) return kMax ? -L::infinity() : L::infinity();
    else return kMax ? L::lowest() : L::max();
  }
  template <class A> static MXCPU_INLINE void merge(A& a, A x) {
    a = ((x != x) | (kMax ? x > a : x < a)) ? x : a;  // NaN sticks; no ||: it would branch
  }
  template <class A, class V> static MXCPU_INLINE void add(A& a, V v) { merge(a, A(v)); }
};

// log(sum(exp(x))) kept as (m, s) = (running max, sum of exp(x - m)), so nothing
// overflows.
struct lse_acc {
  double m, s;
};
struct f_lse {
  static constexpr bool kVec = false;
  template <class T> using acc = lse_acc;
  template <class T, class A> static A init() { return {-std::numeric_limits<double>::infinity(), 0.0}; }
  static double scale(double from, double to) { return from == to ? 1.0 : std::exp(from - to); }  // inf - inf safe
  template <class V> static MXCPU_INLINE void add(lse_acc& a, V v) {
    const double x = v;
    if (x > a.m) {
      a.s = a.s * scale(a.m, x) + 1.0;
      a.m = x;
    } else {
      a.s += scale(x, a.m);  // NaN x makes s NaN
    }
  }
  static MXCPU_INLINE void merge(lse_acc& a, lse_acc b) {
    if (b.s == 0) return;
    const double m = std::fmax(a.m, b.m);
    a.s = a.s * scale(a.m, m) + b.s * scale(b.m, m);
    a.m = m;
  }
};

// Finishes: the value written for an accumulator of `count` elements.
struct fin_none {
  template <class A> static A f(A a, int64_t) { return a; }
};
struct fin_mean {
  template <class A> static A f(A a, int64_t n) {
    if constexpr (is_int_v<A>) return n ? A(a / A(n)) : A(0);
    else return a / A(n);
  }
};
struct fin_sqrt {
  template <class A> static double f(A a, int64_t) { return std::sqrt((double)a); }
};
struct fin_log {
  template <class A> static double f(A a, int64_t) { return std::log((double)a); }
};
struct fin_lse {
  static double f(lse_acc a, int64_t) { return std::log(a.s) + a.m; }
};
template <class Fin, class T, class A> T finish(const A& a, int64_t count) { return convert<T>(Fin::f(a, count)); }

constexpr int64_t kMaxParts = 64;          // parts one reduction is split into, at most
constexpr int64_t kMaxPartial = 1 << 18;   // partial accumulators, at most (when over 2 parts)

// The input as kept/reduced groups (size-1 dims dropped, neighbours of the same
// kind merged). The innermost group is `run` (contiguous); the other kept groups
// index output rows, the other reduced groups index `combos` whose rows are folded.
struct reduce_geom {
  int64_t run = 1;
  bool run_reduced = false;
  int nk = 0, nr = 0;
  int64_t ksize[MX_MAX_DIMS], kstride[MX_MAX_DIMS], rsize[MX_MAX_DIMS], rstride[MX_MAX_DIMS];
  int64_t rows = 1, combos = 1, count = 1;

  reduce_geom(const mx_tensor& x, const bool* reduced) {
    int64_t gsize[MX_MAX_DIMS], gstride[MX_MAX_DIMS];
    bool gred[MX_MAX_DIMS];
    int ng = 0;
    for (int d = 0; d < x.ndim; d++) {
      if (reduced[d]) count *= x.shape[d];
      if (x.shape[d] == 1) continue;
      if (ng && gred[ng - 1] == reduced[d]) {
        gsize[ng - 1] *= x.shape[d];
      } else {
        gsize[ng] = x.shape[d];
        gred[ng++] = reduced[d];
      }
    }
    if (ng == 0) { gsize[0] = 1; gred[ng++] = false; }
    for (int64_t g = ng - 1, s = 1; g >= 0; s *= gsize[g--]) gstride[g] = s;
    run = gsize[ng - 1];
    run_reduced = gred[ng - 1];
    for (int g = 0; g < ng - 1; g++) {
      if (gred[g]) { rsize[nr] = gsize[g]; rstride[nr++] = gstride[g]; combos *= gsize[g]; }
      else { ksize[nk] = gsize[g]; kstride[nk++] = gstride[g]; rows *= gsize[g]; }
    }
  }
  static int64_t offset(int64_t i, const int64_t* size, const int64_t* stride, int n) {
    int64_t off = 0;
    for (int d = n - 1; d >= 0; d--) { off += (i % size[d]) * stride[d]; i /= size[d]; }
    return off;
  }
  int64_t row_offset(int64_t row) const { return offset(row, ksize, kstride, nk); }

  // Calls f(offset) for the reduced combos [cb, ce) in order.
  template <class F> MXCPU_INLINE void for_combos(int64_t cb, int64_t ce, const F& f) const {
    if (cb >= ce) return;
    int64_t idx[MX_MAX_DIMS], off = 0, rem = cb;
    for (int d = nr - 1; d >= 0; d--) { idx[d] = rem % rsize[d]; rem /= rsize[d]; off += idx[d] * rstride[d]; }
    for (int64_t c = cb;;) {
      f(off);
      if (++c >= ce) return;
      for (int d = nr - 1; d >= 0; d--) {
        off += rstride[d];
        if (++idx[d] < rsize[d]) break;
        idx[d] = 0;
        off -= rsize[d] * rstride[d];
      }
    }
  }
};

// Folds n contiguous elements into acc with K independent partial accumulators:
// the inner loop over them vectorizes (K is too long to be unrolled into scalar
// code), and long sums get K shorter rounding chains.
template <class R, class T, class A> inline MXCPU_INLINE void fold_run(A& acc, const T* x, int64_t n) {
  constexpr int K = 64;
  int64_t i = 0;
  if (n >= 2 * K) {
    A part[K];
    for (int j = 0; j < K; j++) part[j] = R::template init<T, A>();
    for (; i + K <= n; i += K)
      for (int j = 0; j < K; j++) R::add(part[j], load(x[i + j]));
    for (int j = 0; j < K; j++) R::merge(acc, part[j]);
  }
  for (; i < n; i++) R::add(acc, load(x[i]));
}

// Innermost group reduced: folds the flat reduced elements [rb, re) of the output
// whose first input element is x.
template <class R, class T, class A>
inline MXCPU_INLINE void fold_flat(const reduce_geom& g, A& acc, const T* x, int64_t rb, int64_t re) {
  if (rb >= re) return;
  int64_t col = rb % g.run;
  g.for_combos(rb / g.run, (re - 1) / g.run + 1, [&](int64_t off) MXCPU_INLINE {
    const int64_t n = std::min(g.run - col, re - rb);
    fold_run<R>(acc, x + off + col, n);
    rb += n;
    col = 0;
  });
}

// Innermost group kept: folds the combos [cb, ce) into len neighbouring outputs.
template <class R, class T, class A>
inline MXCPU_INLINE void fold_block(const reduce_geom& g, A* acc, const T* x, int64_t len, int64_t cb, int64_t ce) {
  g.for_combos(cb, ce, [&](int64_t off) MXCPU_INLINE {
    const T* r = x + off;
    for (int64_t i = 0; i < len; i++) R::add(acc[i], load(r[i]));
  });
}

template <class R, class T, class A = typename R::template acc<T>>
int reduce_run(mx_kernel_ctx* ctx, T (*fin)(const A&, int64_t)) {
  const mx_tensor& xt = ctx->inputs[0];
  const T* x = static_cast<const T*>(xt.data);
  T* y = out_data<T>(ctx, 0);
  bool reduced[MX_MAX_DIMS] = {};
  const int64_t* axes;
  const int naxes = mx_attr_ints(ctx->attrs, "axes", &axes);
  if (!mx_attr_find(ctx->attrs, "axes") && !mx_attr_int(ctx->attrs, "noop_with_empty_axes", 0))
    for (int d = 0; d < xt.ndim; d++) reduced[d] = true;  // axes not folded: ONNX's default is all
  for (int k = 0; k < naxes; k++) {
    if (axes[k] < 0 || axes[k] >= xt.ndim) return mx_fail(ctx, MX_ERR_INVALID, "axis %lld out of range for rank %d", (long long)axes[k], xt.ndim);
    reduced[axes[k]] = true;
  }
  const reduce_geom g(xt, reduced);
  const int64_t n_out = g.rows * (g.run_reduced ? 1 : g.run);
  if (n_out == 0) return MX_OK;
  const A init = R::template init<T, A>();
  // Work items: (unit, part of its reduction). A unit is one output when the
  // innermost group is reduced; else a block of up to kBlock outputs of one row,
  // or with parts a whole row, whose accumulators then live in `partial`.
  const int64_t per_row = g.run_reduced ? 1 : (g.run + kBlock - 1) / kBlock;
  const int64_t span = g.run_reduced ? g.combos * g.run : g.combos;  // what parts divide
  const int64_t total = g.count * n_out;
  int64_t parts = 1;
  if (g.rows * per_row < 16 && total >= 4 * kGrain)
    parts = std::min({kMaxParts, span, total / (2 * kGrain), std::max<int64_t>(2, kMaxPartial / n_out)});
  const int64_t units = g.run_reduced ? n_out : parts > 1 ? g.rows : g.rows * per_row;
  const int64_t unit_len = g.run_reduced ? 1 : parts > 1 ? g.run : std::min<int64_t>(g.run, kBlock);
  const int64_t item_work = std::max<int64_t>(1, g.count / parts * unit_len);
  std::unique_ptr<A[]> partial(parts > 1 ? new A[parts * n_out] : nullptr);  // not vector<bool>
  parallel_simd<R::kVec>(ctx->pool, units * parts, std::max<int64_t>(1, kGrain / item_work),
                         [&](int64_t wb, int64_t we) MXCPU_INLINE {
    A block[kBlock];
    for (int64_t w = wb; w < we; w++) {
      const int64_t unit = w / parts, p = w % parts, cb = span * p / parts, ce = span * (p + 1) / parts;
      if (g.run_reduced) {
        A acc = init;
        fold_flat<R>(g, acc, x + g.row_offset(unit), cb, ce);
        if (parts == 1) y[unit] = fin(acc, g.count);
        else partial[p * n_out + unit] = acc;
        continue;
      }
      const int64_t row = parts > 1 ? unit : unit / per_row, col = parts > 1 ? 0 : (unit % per_row) * kBlock;
      const int64_t len = std::min(unit_len, g.run - col), o = row * g.run + col;
      A* acc = parts > 1 ? &partial[p * n_out + o] : block;
      for (int64_t i = 0; i < len; i++) acc[i] = init;
      fold_block<R>(g, acc, x + g.row_offset(row) + col, len, cb, ce);
      for (int64_t i = 0; parts == 1 && i < len; i++) y[o + i] = fin(acc[i], g.count);
    }
  });
  for (int64_t o = 0; parts > 1 && o < n_out; o++) {  // merge the parts in order
    A acc = init;
    for (int64_t p = 0; p < parts; p++) R::merge(acc, partial[p * n_out + o]);
    y[o] = fin(acc, g.count);
  }
  return MX_OK;
}

template <class R, class Fin, class T> int reduce_kernel(mx_kernel_ctx* ctx) {
  return reduce_run<R, T>(ctx, &finish<Fin, T, typename R::template acc<T>>);
}

}  // namespace
}  // namespace mxcpu

using namespace mxcpu;

#define REG_REDUCE(T, key, name, fold, fin) MX_KERNEL(name, key, (reduce_kernel<fold, fin, T>));

MXCPU_REDUCE_TYPES(REG_REDUCE, "ReduceSum", f_sum, fin_none)
MXCPU_REDUCE_TYPES(REG_REDUCE, "ReduceMean", f_sum, fin_mean)
MXCPU_REDUCE_TYPES(REG_REDUCE, "ReduceLogSum", f_sum, fin_log)
MXCPU_REDUCE_TYPES(REG_REDUCE, "ReduceL1", f_abs_sum, fin_none)
MXCPU_REDUCE_TYPES(REG_REDUCE, "ReduceSumSquare", f_square_sum, fin_none)
MXCPU_REDUCE_TYPES(REG_REDUCE, "ReduceL2", f_square_sum, fin_sqrt)
MXCPU_REDUCE_TYPES(REG_REDUCE, "ReduceProd", f_prod, fin_none)
MXCPU_REDUCE_TYPES(REG_REDUCE, "ReduceLogSumExp", f_lse, fin_lse)
// ReduceMax/ReduceMin also take 8-bit integers and bool.
#define REG_EXTREMES(T, key, ...)                                        \
  MX_KERNEL("ReduceMax", key, (reduce_kernel<f_extreme<true>, fin_none, T>)); \
  MX_KERNEL("ReduceMin", key, (reduce_kernel<f_extreme<false>, fin_none, T>));
MXCPU_REDUCE_TYPES(REG_EXTREMES, _)
REG_EXTREMES(int8_t, "int8")
REG_EXTREMES(uint8_t, "uint8")
REG_EXTREMES(bool, "bool")
