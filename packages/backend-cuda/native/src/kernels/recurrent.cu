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
// the states. A length outside [0, seq_length] fails before anything is written
// (a check on the device that waits for the stream).
//
// One block per (direction, batch entry) runs the steps in order; its threads
// share the hidden units, with the states in scratch and a barrier between the
// phases of a step. The products x W^T and h R^T are dot products per unit and
// gate (simple, not fast: no GEMM). Floats compute in float (double for float64),
// as the cpu's.
#include "common.cuh"

namespace mxcuda {
namespace {

enum ActId { kRelu, kTanh, kSigmoid, kAffine, kLeakyRelu, kThresholdedRelu, kScaledTanh, kHardSigmoid, kElu, kSoftsign, kSoftplus };
const char* const kActNames[] = {"Relu", "Tanh", "Sigmoid", "Affine", "LeakyRelu", "ThresholdedRelu", "ScaledTanh", "HardSigmoid", "Elu", "Softsign",
                                 "Softplus"};
struct Act {
  int id;
  double alpha, beta;
  template <class C> __device__ __forceinline__ C operator()(C x) const {
    const C a = C(alpha), b = C(beta);
    switch (id) {
      case kRelu: return x > C(0) ? x : C(0);
      case kTanh: return tanh(x);
      case kSigmoid: return x >= C(0) ? C(1) / (C(1) + exp(-x)) : exp(x) / (C(1) + exp(x));
      case kAffine: return a * x + b;
      case kLeakyRelu: return x >= C(0) ? x : a * x;
      case kThresholdedRelu: return x > a ? x : C(0);
      case kScaledTanh: return a * tanh(b * x);
      case kHardSigmoid: return fmax(C(0), fmin(C(1), a * x + b));
      case kElu: return x >= C(0) ? x : a * (exp(x) - C(1));
      case kSoftsign: return x / (C(1) + fabs(x));
      case kSoftplus: return x > C(0) ? x + log1p(exp(-x)) : log1p(exp(x));
    }
    return x;
  }
};

enum Cell { kRnn, kGru, kLstm };
constexpr int kActs[] = {1, 2, 3};  // activations per direction
constexpr const char* kCellNames[] = {"RNN", "GRU", "LSTM"};

struct RnnGeom {
  int dirs;
  bool reverse, layout, lbr, coupled;
  int64_t seq, batch, input, H;
  double clip;
  Act acts[6];
};
struct LenOutside {
  int64_t seq;
  __device__ __forceinline__ bool operator()(int64_t, int32_t v) const { return v < 0 || v > seq; }
};

template <class T, int K>
__global__ void k_recurrent(RnnGeom g, const T* __restrict__ X, const T* __restrict__ W, const T* __restrict__ R, const T* __restrict__ bias,
                            const int32_t* __restrict__ lens, const T* __restrict__ h0, const T* __restrict__ c0, const T* __restrict__ peep,
                            std::conditional_t<std::is_same<T, double>::value, double, float>* work, T* __restrict__ Y, T* __restrict__ Yh,
                            T* __restrict__ Yc) {
  using C = std::conditional_t<std::is_same<T, double>::value, double, float>;
  constexpr int gates = K == kRnn ? 1 : K == kGru ? 3 : 4, per = K == kRnn ? 1 : K == kGru ? 2 : 3;  // per: kActs[K]
  const int64_t H = g.H, G = gates * H, I = g.input;
  const C clip = C(g.clip);
  auto cl = [clip](C v) { return clip > C(0) ? fmax(-clip, fmin(clip, v)) : v; };
  for (int64_t blk = blockIdx.x; blk < g.dirs * g.batch; blk += gridDim.x) {
    const int d = (int)(blk / g.batch);
    const int64_t b = blk - d * g.batch;
    const bool reverse = g.reverse || d == 1;
    const T* w = W + d * G * I;
    const T* r = R + d * G * H;
    const T* wb = bias ? bias + d * 2 * G : nullptr;
    const T* rb = bias ? wb + G : nullptr;
    const T* p = peep ? peep + d * 3 * H : nullptr;
    const Act &f = g.acts[d * per], &ga = per > 1 ? g.acts[d * per + 1] : f, &ha = per > 2 ? g.acts[d * per + 2] : f;
    C *h = work + blk * 5 * H, *hn = h + H, *c = hn + H, *zb = c + H, *rh = zb + H;
    const int64_t state = (g.layout ? b * g.dirs + d : d * g.batch + b) * H;
    for (int64_t j = threadIdx.x; j < H; j += blockDim.x) {
      h[j] = h0 ? C(up(h0[state + j])) : C(0);
      c[j] = c0 ? C(up(c0[state + j])) : C(0);
    }
    __syncthreads();
    const int64_t len = lens ? lens[b] : g.seq;
    for (int64_t s = 0; s < len; s++) {
      const int64_t t = reverse ? len - 1 - s : s;
      const T* x = X + (g.layout ? b * g.seq + t : t * g.batch + b) * I;
      // x W^T and h R^T for gate `gate`, unit j
      auto xw = [&](int gate, int64_t j) {
        C a = 0;
        const T* wr = w + (gate * H + j) * I;
        for (int64_t k = 0; k < I; k++) a += C(up(x[k])) * C(up(wr[k]));
        return a;
      };
      auto hr = [&](int gate, int64_t j, const C* v) {
        C a = 0;
        const T* rr = r + (gate * H + j) * H;
        for (int64_t k = 0; k < H; k++) a += v[k] * C(up(rr[k]));
        return a;
      };
      auto bsum = [&](int gate, int64_t j) { return bias ? C(up(wb[gate * H + j])) + C(up(rb[gate * H + j])) : C(0); };
      if (K == kGru && !g.lbr) {
        for (int64_t j = threadIdx.x; j < H; j += blockDim.x) {
          zb[j] = f(cl(xw(0, j) + hr(0, j, h) + bsum(0, j)));
          rh[j] = f(cl(xw(1, j) + hr(1, j, h) + bsum(1, j))) * h[j];
        }
        __syncthreads();
      }
      T* out = Y + (g.layout ? (b * g.seq + t) * g.dirs + d : (t * g.dirs + d) * g.batch + b) * H;
      for (int64_t j = threadIdx.x; j < H; j += blockDim.x) {
        C v;
        if (K == kRnn) {
          v = f(cl(xw(0, j) + hr(0, j, h) + bsum(0, j)));
        } else if (K == kGru) {
          C z, n;
          if (g.lbr) {
            z = f(cl(xw(0, j) + hr(0, j, h) + bsum(0, j)));
            const C rj = f(cl(xw(1, j) + hr(1, j, h) + bsum(1, j)));
            n = ga(cl(xw(2, j) + (wb ? C(up(wb[2 * H + j])) : C(0)) + rj * (hr(2, j, h) + (rb ? C(up(rb[2 * H + j])) : C(0)))));
          } else {
            z = zb[j];
            n = ga(cl(xw(2, j) + hr(2, j, rh) + bsum(2, j)));
          }
          v = (C(1) - z) * n + z * h[j];
        } else {
          const C i = f(cl(xw(0, j) + hr(0, j, h) + bsum(0, j) + (p ? C(up(p[j])) * c[j] : C(0))));
          const C fg = g.coupled ? C(1) - i : f(cl(xw(2, j) + hr(2, j, h) + bsum(2, j) + (p ? C(up(p[2 * H + j])) * c[j] : C(0))));
          const C cand = ga(cl(xw(3, j) + hr(3, j, h) + bsum(3, j)));
          c[j] = fg * c[j] + i * cand;
          const C o = f(cl(xw(1, j) + hr(1, j, h) + bsum(1, j) + (p ? C(up(p[H + j])) * c[j] : C(0))));
          v = o * ha(c[j]);
        }
        hn[j] = v;
        out[j] = convert<T>(v);
      }
      __syncthreads();  // every unit of h read, hn complete
      for (int64_t j = threadIdx.x; j < H; j += blockDim.x) h[j] = hn[j];
      __syncthreads();
    }
    for (int64_t j = threadIdx.x; j < H; j += blockDim.x) {
      if (Yh) Yh[state + j] = convert<T>(h[j]);
      if (Yc) Yc[state + j] = convert<T>(c[j]);
    }
    __syncthreads();
  }
}

template <class T, int K> int recurrent(mx_kernel_ctx* ctx) {
  using C = std::conditional_t<std::is_same<T, double>::value, double, float>;
  const char* op = kCellNames[K];
  const mx_tensor &x = ctx->inputs[0], &wt = ctx->inputs[1], &rt = ctx->inputs[2];
  const auto opt = [&](int i) { return i < ctx->num_inputs && ctx->inputs[i].data ? (const T*)ctx->inputs[i].data : nullptr; };
  const int32_t* lens = ctx->num_inputs > 4 && ctx->inputs[4].data ? (const int32_t*)ctx->inputs[4].data : nullptr;
  RnnGeom g{};
  g.layout = mx_attr_int(ctx->attrs, "layout", 0) != 0;
  g.H = mx_attr_int(ctx->attrs, "hidden_size", 0);
  const char* direction = mx_attr_string(ctx->attrs, "direction", "forward");
  g.dirs = !std::strcmp(direction, "bidirectional") ? 2 : 1;
  g.reverse = !std::strcmp(direction, "reverse");
  if (x.ndim != 3 || wt.ndim != 3 || rt.ndim != 3 || g.H < 0)
    return mx_fail(ctx, MX_ERR_INVALID, "%s: X, W and R must be 3-D (ranks %d, %d, %d), hidden_size %lld", op, x.ndim, wt.ndim, rt.ndim, (long long)g.H);
  g.seq = x.shape[g.layout ? 1 : 0];
  g.batch = x.shape[g.layout ? 0 : 1];
  g.input = x.shape[2];
  // One activation per function and direction, as core resolved them.
  const mx_attr* names = mx_attr_find(ctx->attrs, "activations");
  const double *alphas, *betas;
  const int per = kActs[K];
  if (!names || names->type != MX_ATTR_STRINGS || names->count != per * g.dirs || attr_numbers(ctx->attrs, "activation_alpha", &alphas) != names->count ||
      attr_numbers(ctx->attrs, "activation_beta", &betas) != names->count)
    return mx_fail(ctx, MX_ERR_INVALID, "%s: expected %d activations with alpha and beta from core", op, per * g.dirs);
  for (int i = 0; i < per * g.dirs; i++) {
    int id = -1;
    for (int a = 0; a < (int)(sizeof kActNames / sizeof kActNames[0]); a++)
      if (!std::strcmp(kActNames[a], names->strings[i])) id = a;
    if (id < 0) return mx_fail(ctx, MX_ERR_UNSUPPORTED, "%s: activation '%s' is not supported", op, names->strings[i]);
    g.acts[i] = Act{id, alphas[i], betas[i]};
  }
  g.clip = mx_attr_float(ctx->attrs, "clip", 0);
  g.lbr = mx_attr_int(ctx->attrs, "linear_before_reset", 0) != 0;
  g.coupled = mx_attr_int(ctx->attrs, "input_forget", 0) != 0;
  if (lens) {
    int64_t bad;
    int32_t v = 0;
    char what[64];
    snprintf(what, sizeof what, "%s length check", op);
    if (int st = first_bad(ctx, what, lens, g.batch, LenOutside{g.seq}, &bad, &v)) return st;
    if (bad >= 0)
      return mx_fail(ctx, MX_ERR_INVALID, "%s: sequence_lens[%lld] = %d is out of range [0, %lld]", op, (long long)bad, v, (long long)g.seq);
  }
  const cudaStream_t s = stream_of(ctx);
  T* Y = ctx->num_outputs > 0 && ctx->outputs[0].data ? (T*)ctx->outputs[0].data : nullptr;
  T* Yh = ctx->num_outputs > 1 && ctx->outputs[1].data ? (T*)ctx->outputs[1].data : nullptr;
  T* Yc = K == kLstm && ctx->num_outputs > 2 && ctx->outputs[2].data ? (T*)ctx->outputs[2].data : nullptr;
  if (Y && numel(ctx->outputs[0])) {
    const cudaError_t e = cudaMemsetAsync(Y, 0, (size_t)numel(ctx->outputs[0]) * sizeof(T), s);  // 0 past each entry's length
    if (e != cudaSuccess) return cuda_fail(ctx, e, op);
  }
  const int64_t blocks = g.dirs * g.batch;
  if (!blocks || !g.H) return MX_OK;
  C* work;
  if (int st = scratch_alloc(ctx, op, (size_t)(blocks * 5 * g.H) * sizeof(C), (void**)&work)) return st;
  // Y may be absent: write the steps into scratch then (a second region of the work buffer)
  T* ybuf = nullptr;
  if (!Y) {
    const size_t bytes = (size_t)(g.seq * g.dirs * g.batch * g.H) * sizeof(T);
    if (int st = scratch_alloc(ctx, op, bytes, (void**)&ybuf)) {
      scratch_free(ctx, op, work);
      return st;
    }
  }
  k_recurrent<T, K><<<(unsigned)std::min<int64_t>(blocks, 1 << 20), threads_for(g.H), 0, s>>>(
      g, (const T*)x.data, (const T*)wt.data, (const T*)rt.data, opt(3), lens, opt(5), K == kLstm ? opt(6) : nullptr, K == kLstm ? opt(7) : nullptr,
      work, Y ? Y : ybuf, Yh, Yc);
  const int freed = ybuf ? scratch_free(ctx, op, ybuf) : MX_OK;
  const int st = scratch_free(ctx, op, work);
  return freed != MX_OK ? freed : st;
}

}  // namespace
}  // namespace mxcuda

using namespace mxcuda;

#define REG_RECURRENT(T, key, ...)                     \
  MXC_KERNEL("RNN", key, (recurrent<T, kRnn>));        \
  MXC_KERNEL("GRU", key, (recurrent<T, kGru>));        \
  MXC_KERNEL("LSTM", key, (recurrent<T, kLstm>));
MXC_FLOAT_TYPES(REG_RECURRENT, _)
