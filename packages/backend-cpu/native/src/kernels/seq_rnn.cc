// RNN, GRU and LSTM. Per direction, time step and batch entry, with x the input
// row, h the previous hidden state (initial_h or 0) and c the cell state:
//   RNN:  h' = f(x Wi^T + h Ri^T + Wbi + Rbi)
//   GRU:  z = f(x Wz^T + h Rz^T + Wbz + Rbz), r = f(x Wr^T + h Rr^T + Wbr + Rbr),
//         n = g(x Wh^T + (r * h) Rh^T + Rbh + Wbh)     (linear_before_reset = 0)
//         n = g(x Wh^T + r * (h Rh^T + Rbh) + Wbh)     (linear_before_reset = 1)
//         h' = (1 - z) * n + z * h
//   LSTM: i = f(x Wi^T + h Ri^T + Pi * c + Wbi + Rbi), fg = f(x Wf^T + h Rf^T + Pf * c + Wbf + Rbf)
//         (fg = 1 - i with input_forget), c' = fg * c + i * g(x Wc^T + h Rc^T + Wbc + Rbc),
//         o = f(x Wo^T + h Ro^T + Po * c' + Wbo + Rbo), h' = o * h(c')
// Gate pre-activations are clipped to [-clip, clip] when clip is given. W and R
// hold the gates in ONNX order (RNN i; GRU z, r, h; LSTM i, o, f, c), P = [Pi, Po, Pf].
// Core resolved hidden_size and one activation per function and direction with
// its alpha and beta. Entry b runs sequence_lens[b] steps (reverse: from its last
// valid step back); Y is 0 past that and the states keep their last value.
// layout 1 swaps the batch and sequence dims of X and Y and the first two dims of
// the states.
//
// x W^T over all steps is one GEMM per direction; each step adds one GEMM h R^T
// over the batch (GRU without linear_before_reset: a second one, (r * h) Rh^T).
// 16-bit floats run in float32.
#include <algorithm>
#include <cstring>
#include <iterator>

#include "seq_common.h"

namespace mxcpu {
namespace {

using seq::attr_floats;

enum act_id { A_RELU, A_TANH, A_SIGMOID, A_AFFINE, A_LEAKY_RELU, A_THRESHOLDED_RELU, A_SCALED_TANH, A_HARD_SIGMOID, A_ELU, A_SOFTSIGN, A_SOFTPLUS };
const char* const kActNames[] = {"Relu",      "Tanh",        "Sigmoid", "Affine",   "LeakyRelu", "ThresholdedRelu",
                                 "ScaledTanh", "HardSigmoid", "Elu",     "Softsign", "Softplus"};

struct activation {
  act_id id = A_TANH;
  double alpha = 0, beta = 0;
  template <class C> C operator()(C x) const {
    const C a = C(alpha), b = C(beta);
    switch (id) {
      case A_RELU: return x > C(0) ? x : C(0);
      case A_TANH: return std::tanh(x);
      case A_SIGMOID: return x >= C(0) ? C(1) / (C(1) + std::exp(-x)) : std::exp(x) / (C(1) + std::exp(x));
      case A_AFFINE: return a * x + b;
      case A_LEAKY_RELU: return x >= C(0) ? x : a * x;
      case A_THRESHOLDED_RELU: return x > a ? x : C(0);
      case A_SCALED_TANH: return a * std::tanh(b * x);
      case A_HARD_SIGMOID: return std::max(C(0), std::min(C(1), a * x + b));
      case A_ELU: return x >= C(0) ? x : a * (std::exp(x) - C(1));
      case A_SOFTSIGN: return x / (C(1) + std::abs(x));
      case A_SOFTPLUS: return x > C(0) ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
    }
    return x;
  }
};

enum cell_kind { CELL_RNN, CELL_GRU, CELL_LSTM };
constexpr int kGates[] = {1, 3, 4};
constexpr int kActs[] = {1, 2, 3};

template <class T, cell_kind K> int recurrent(mx_kernel_ctx* ctx) {
  static const char* const op = K == CELL_RNN ? "RNN" : K == CELL_GRU ? "GRU" : "LSTM";
  const mx_tensor &X = ctx->inputs[0], &Wt = ctx->inputs[1], &Rt = ctx->inputs[2];
  const auto opt = [&](int i) { return i < ctx->num_inputs ? static_cast<const T*>(ctx->inputs[i].data) : nullptr; };
  const T *bias = opt(3), *h0 = opt(5), *c0 = K == CELL_LSTM ? opt(6) : nullptr, *peep = K == CELL_LSTM ? opt(7) : nullptr;
  const int32_t* lens = ctx->num_inputs > 4 ? static_cast<const int32_t*>(ctx->inputs[4].data) : nullptr;
  const mx_attrs* at = ctx->attrs;
  const int64_t layout = mx_attr_int(at, "layout", 0), H = mx_attr_int(at, "hidden_size", 0);
  const char* direction = mx_attr_string(at, "direction", "forward");
  const int dirs = std::strcmp(direction, "bidirectional") == 0 ? 2 : 1;
  const int64_t seq = X.shape[layout ? 1 : 0], batch = X.shape[layout ? 0 : 1], input = X.shape[2];
  const int64_t G = kGates[K] * H;

  // One activation per function and direction, as core resolved them.
  const mx_attr* names = mx_attr_find(at, "activations");
  const double *alphas, *betas;
  const int per = kActs[K];
  if (!names || names->type != MX_ATTR_STRINGS || names->count != per * dirs || attr_floats(at, "activation_alpha", &alphas) != names->count ||
      attr_floats(at, "activation_beta", &betas) != names->count)
    return mx_fail(ctx, MX_ERR_INVALID, "%s: expected %d activations with alpha and beta from core", op, per * dirs);
  activation acts[6];
  for (int i = 0; i < per * dirs; i++) {
    const auto* end = std::end(kActNames);
    const auto* it = std::find_if(std::begin(kActNames), end, [&](const char* n) { return std::strcmp(n, names->strings[i]) == 0; });
    if (it == end) return mx_fail(ctx, MX_ERR_UNSUPPORTED, "%s: activation '%s' is not supported", op, names->strings[i]);
    acts[i] = {act_id(it - std::begin(kActNames)), alphas[i], betas[i]};
  }
  const T clip = T(mx_attr_float(at, "clip", 0));  // core checked clip > 0 when given
  const bool lbr = mx_attr_int(at, "linear_before_reset", 0) != 0, coupled = mx_attr_int(at, "input_forget", 0) != 0;
  const auto cl = [clip](T v) { return clip > T(0) ? std::max(-clip, std::min(clip, v)) : v; };

  T* Y = static_cast<T*>(ctx->outputs[0].data);
  T* Yh = ctx->num_outputs > 1 ? static_cast<T*>(ctx->outputs[1].data) : nullptr;
  T* Yc = ctx->num_outputs > 2 ? static_cast<T*>(ctx->outputs[2].data) : nullptr;
  std::fill(Y, Y + numel(ctx->outputs[0]), T(0));
  for (int64_t b = 0; b < (lens ? batch : 0); b++)
    if (lens[b] < 0 || lens[b] > seq) return mx_fail(ctx, MX_ERR_INVALID, "%s: sequence_lens[%lld] = %d is out of range [0, %lld]", op, (long long)b, lens[b], (long long)seq);
  if (batch == 0 || H == 0) return MX_OK;

  // Scratch: x W^T for every row of X, h R^T for the batch, states h and c, and
  // GRU's gates z and r, r * h and (r * h) Rh^T.
  const int64_t rows = seq * batch;
  T* xw = static_cast<T*>(scratch(SCRATCH_OP, sizeof(T) * (rows * G + batch * G + 6 * batch * H)));
  if (!xw) return fail_oom(ctx, op);
  T *hr = xw + rows * G, *h = hr + batch * G, *c = h + batch * H, *zr = c + batch * H, *rh = zr + 2 * batch * H, *hh = rh + batch * H;

  const auto x_row = [&](int64_t t, int64_t b) { return layout ? b * seq + t : t * batch + b; };
  const auto state_at = [&](int d, int64_t b) { return (layout ? b * dirs + d : d * batch + b) * H; };
  const int64_t grain = std::max<int64_t>(1, 8192 / G);

  for (int d = 0; d < dirs; d++) {
    const bool reverse = std::strcmp(direction, "reverse") == 0 || d == 1;
    const T* w = static_cast<const T*>(Wt.data) + d * G * input;
    const T* r = static_cast<const T*>(Rt.data) + d * G * H;
    const T* wb = bias ? bias + d * 2 * G : nullptr;
    const T* rb = bias ? wb + G : nullptr;
    const T* p = peep ? peep + d * 3 * H : nullptr;
    const activation *f = &acts[d * per], *g = per > 1 ? f + 1 : f, *ha = per > 2 ? f + 2 : f;
    const auto bsum = [&](int gate, int64_t j) { return bias ? wb[gate * H + j] + rb[gate * H + j] : T(0); };

    if (rows * input > 0) {
      if (!gemm(ctx->pool, rows, G, input, T(1), {static_cast<const T*>(X.data), input, 1}, {w, 1, input}, T(0), xw, G)) return fail_oom(ctx, op);
    } else
      std::fill(xw, xw + rows * G, T(0));
    for (int64_t b = 0; b < batch; b++)
      for (int64_t j = 0; j < H; j++) {
        h[b * H + j] = h0 ? h0[state_at(d, b) + j] : T(0);
        c[b * H + j] = c0 ? c0[state_at(d, b) + j] : T(0);
      }

    for (int64_t s = 0; s < seq; s++) {
      // Entries still running at step s, with their time index and x W^T row.
      const auto each = [&](auto&& fn) {
        parallel_for(ctx->pool, batch, grain, [&](int64_t b0, int64_t b1) {
          for (int64_t b = b0; b < b1; b++) {
            const int64_t len = lens ? lens[b] : seq;
            if (s >= len) continue;
            const int64_t t = reverse ? len - 1 - s : s;
            fn(b, t, xw + x_row(t, b) * G);
          }
        });
      };
      const int64_t n_rec = K == CELL_GRU && !lbr ? 2 * H : G;
      if (!gemm(ctx->pool, batch, n_rec, H, T(1), {h, H, 1}, {r, 1, H}, T(0), hr, G)) return fail_oom(ctx, op);
      if (K == CELL_GRU && !lbr) {
        each([&](int64_t b, int64_t, const T* x) {
          for (int64_t j = 0; j < H; j++) {
            const T* y = hr + b * G;
            zr[b * 2 * H + j] = (*f)(cl(x[j] + y[j] + bsum(0, j)));
            const T rj = (*f)(cl(x[H + j] + y[H + j] + bsum(1, j)));
            zr[b * 2 * H + H + j] = rj;
            rh[b * H + j] = rj * h[b * H + j];
          }
        });
        if (!gemm(ctx->pool, batch, H, H, T(1), {rh, H, 1}, {r + 2 * H * H, 1, H}, T(0), hh, H)) return fail_oom(ctx, op);
      }
      each([&](int64_t b, int64_t t, const T* x) {
        const T* y = hr + b * G;
        T *hb = h + b * H, *cb = c + b * H;
        T* out = Y + (layout ? (b * seq + t) * dirs + d : (t * dirs + d) * batch + b) * H;
        for (int64_t j = 0; j < H; j++) {
          if constexpr (K == CELL_RNN) {
            hb[j] = (*f)(cl(x[j] + y[j] + bsum(0, j)));
          } else if constexpr (K == CELL_GRU) {
            T z, n;
            if (lbr) {
              z = (*f)(cl(x[j] + y[j] + bsum(0, j)));
              const T rj = (*f)(cl(x[H + j] + y[H + j] + bsum(1, j)));
              n = (*g)(cl(x[2 * H + j] + (wb ? wb[2 * H + j] : T(0)) + rj * (y[2 * H + j] + (rb ? rb[2 * H + j] : T(0)))));
            } else {
              z = zr[b * 2 * H + j];
              n = (*g)(cl(x[2 * H + j] + hh[b * H + j] + bsum(2, j)));
            }
            hb[j] = (T(1) - z) * n + z * hb[j];
          } else {
            const T i = (*f)(cl(x[j] + y[j] + bsum(0, j) + (p ? p[j] * cb[j] : T(0))));
            const T fg = coupled ? T(1) - i : (*f)(cl(x[2 * H + j] + y[2 * H + j] + bsum(2, j) + (p ? p[2 * H + j] * cb[j] : T(0))));
            const T cand = (*g)(cl(x[3 * H + j] + y[3 * H + j] + bsum(3, j)));
            cb[j] = fg * cb[j] + i * cand;
            const T o = (*f)(cl(x[H + j] + y[H + j] + bsum(1, j) + (p ? p[H + j] * cb[j] : T(0))));
            hb[j] = o * (*ha)(cb[j]);
          }
          out[j] = hb[j];
        }
      });
    }
    for (int64_t b = 0; b < batch; b++) {
      if (Yh) std::copy(h + b * H, h + (b + 1) * H, Yh + state_at(d, b));
      if (Yc) std::copy(c + b * H, c + (b + 1) * H, Yc + state_at(d, b));
    }
  }
  return MX_OK;
}

template <cell_kind K> int recurrent_half(mx_kernel_ctx* ctx) { return run_widened(ctx, recurrent<float, K>); }

}  // namespace

#define MXCPU_REG_RECURRENT(op, K)                           \
  MX_KERNEL(op, "float32", (recurrent<float, K>));         \
  MX_KERNEL(op, "float64", (recurrent<double, K>));        \
  MX_KERNEL(op, "float16", recurrent_half<K>);             \
  MX_KERNEL(op, "bfloat16", recurrent_half<K>);
MXCPU_REG_RECURRENT("RNN", CELL_RNN)
MXCPU_REG_RECURRENT("GRU", CELL_GRU)
MXCPU_REG_RECURRENT("LSTM", CELL_LSTM)

}  // namespace mxcpu
