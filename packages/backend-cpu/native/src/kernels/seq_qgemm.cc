// Quantized products: MatMulInteger, QLinearMatMul, ConvInteger, QLinearConv.
//   MatMulInteger: Y = (A - a_zp) @ (B - b_zp) in int32 (MatMul semantics); a_zp
//                  per tensor or per row of A, b_zp per tensor or per column of B.
//   QLinearMatMul: y = saturate(round_half_even(acc * m + y_zp)), acc the integer
//                  product of the shifted a and b, m = a_scale * b_scale / y_scale
//                  rounded to the scales' precision after each operation (b's
//                  scale and zero point may be per column).
//   ConvInteger:   y = conv(x - x_zp, w - w_zp) in int32 (Conv attributes, resolved
//                  by core); w_zp per tensor or per output channel.
//   QLinearConv:   like QLinearMatMul over conv(x - x_zp, w - w_zp) + B, with the
//                  float32 multiplier x_scale * w_scale[m] / y_scale per output channel.
// The shifted operands are exact in double, so these run the float64 MatMul and
// Conv kernels on them (exact up to 2^53) and convert or requantize the result;
// int32 results wrap like int32 accumulation would.
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <new>

#include "seq_common.h"

namespace mxcpu {
namespace {

using seq::dispatch_among;
using seq::value_at;

const mx_tensor* present(const mx_kernel_ctx* ctx, int i) { return i < ctx->num_inputs && ctx->inputs[i].data ? &ctx->inputs[i] : nullptr; }

// dst = t - zp as double; zp has one element or one per index along `axis` of t.
void shift(const mx_pool* pool, const mx_tensor& t, const mx_tensor* zp, int axis, double* dst) {
  int64_t len = 1, inner = 1;
  for (int d = axis; d < t.ndim; d++) (d == axis ? len : inner) *= t.shape[d];
  const bool per = zp && numel(*zp) != 1;
  const double z0 = zp ? value_at(*zp, 0) : 0;
  dispatch_among<int8_t, uint8_t>(t.dtype, [&](auto tz) {
    using T = decltype(tz);
    const T* x = static_cast<const T*>(t.data);
    const void* zd = zp ? zp->data : nullptr;
    parallel_for(pool, numel(t), 1 << 14, [&](int64_t b, int64_t e) {
      for (int64_t k = b; k < e; k++) dst[k] = (double)x[k] - (per ? (double)static_cast<const T*>(zd)[k / inner % len] : z0);
    });
  });
}

// Heap memory for the shifted operands and the double result, carved from one
// block (not scratch(): the MatMul and Conv kernels run while it is in use).
std::unique_ptr<double[]> buffers(int64_t total) { return std::unique_ptr<double[]>(new (std::nothrow) double[std::max<int64_t>(total, 1)]); }

// int32 from an exact integer-valued double, wrapping like int32 arithmetic.
inline int32_t wrap32(double v) { return (int32_t)(uint32_t)(uint64_t)(int64_t)v; }

template <class TO> inline TO requantize(double acc, double m, double zp) {
  double r = std::nearbyint(acc * m + zp);
  if (r != r) return TO(0);
  return TO(std::min<double>(std::numeric_limits<TO>::max(), std::max<double>(std::numeric_limits<TO>::min(), r)));
}

// Writes y[e] = requantize(acc[e], mult(e), zp) into the int8/uint8 output.
template <class F> void requantize_into(const mx_kernel_ctx* ctx, const mx_tensor& Y, const double* acc, double zp, F&& mult) {
  dispatch_among<int8_t, uint8_t>(Y.dtype, [&](auto ty) {
    using TO = decltype(ty);
    TO* y = static_cast<TO*>(Y.data);
    parallel_for(ctx->pool, numel(Y), 1 << 14, [&](int64_t b, int64_t e) {
      for (int64_t k = b; k < e; k++) y[k] = requantize<TO>(acc[k], mult(k), zp);
    });
  });
}

int matmul_integer(mx_kernel_ctx* ctx) {
  const mx_tensor &A = ctx->inputs[0], &B = ctx->inputs[1], &Y = ctx->outputs[0];
  const auto mem = buffers(numel(A) + numel(B) + numel(Y));
  if (!mem) return fail_oom(ctx, "MatMulInteger");
  double *a = mem.get(), *b = a + numel(A), *y = b + numel(B);
  shift(ctx->pool, A, present(ctx, 2), std::max(0, A.ndim - 2), a);
  shift(ctx->pool, B, present(ctx, 3), B.ndim - 1, b);
  const mx_tensor ins[2] = {seq::like(A, a, MX_FLOAT64), seq::like(B, b, MX_FLOAT64)}, out = seq::like(Y, y, MX_FLOAT64);
  if (int st = seq::run_kernel(ctx, "MatMul", "float64", ins, 2, &out, 1)) return st;
  int32_t* yi = static_cast<int32_t*>(Y.data);
  parallel_for(ctx->pool, numel(Y), 1 << 14, [&](int64_t s, int64_t e) {
    for (int64_t k = s; k < e; k++) yi[k] = wrap32(y[k]);
  });
  return MX_OK;
}

int qlinear_matmul(mx_kernel_ctx* ctx) {
  const mx_tensor &A = ctx->inputs[0], &As = ctx->inputs[1], &B = ctx->inputs[3], &Bs = ctx->inputs[4], &Ys = ctx->inputs[6], &Y = ctx->outputs[0];
  const auto mem = buffers(numel(A) + numel(B) + numel(Y));
  if (!mem) return fail_oom(ctx, "QLinearMatMul");
  double *a = mem.get(), *b = a + numel(A), *y = b + numel(B);
  shift(ctx->pool, A, &ctx->inputs[2], 0, a);
  shift(ctx->pool, B, &ctx->inputs[5], B.ndim - 1, b);
  const mx_tensor ins[2] = {seq::like(A, a, MX_FLOAT64), seq::like(B, b, MX_FLOAT64)}, out = seq::like(Y, y, MX_FLOAT64);
  if (int st = seq::run_kernel(ctx, "MatMul", "float64", ins, 2, &out, 1)) return st;
  // One multiplier per column of b (or one), in the scales' precision.
  const int32_t ts = As.dtype;
  const int64_t cols = numel(Bs), n = B.ndim == 1 ? 1 : B.shape[B.ndim - 1];
  std::vector<double> m(cols);
  const float as = (float)value_at(As, 0), ys = (float)value_at(Ys, 0);
  for (int64_t c = 0; c < cols; c++) m[c] = seq::round_to(ts, seq::round_to(ts, as * (float)value_at(Bs, c)) / ys);
  requantize_into(ctx, Y, y, value_at(ctx->inputs[7], 0), [&](int64_t k) { return m[cols == 1 ? 0 : k % n]; });
  return MX_OK;
}

// conv(x - x_zp, w - w_zp) (+ bias) as double into *y, which lives in *mem.
int shifted_conv(mx_kernel_ctx* ctx, const char* op, const mx_tensor& X, const mx_tensor* xzp, const mx_tensor& W, const mx_tensor* wzp,
                 const mx_tensor* bias, std::unique_ptr<double[]>* mem, double** y) {
  const mx_tensor& Y = ctx->outputs[0];
  const int64_t M = W.shape[0];
  *mem = buffers(numel(X) + numel(W) + numel(Y) + M);
  if (!*mem) return fail_oom(ctx, op);
  double *x = mem->get(), *w = x + numel(X), *b = w + numel(W);
  *y = b + M;
  shift(ctx->pool, X, xzp, 0, x);
  shift(ctx->pool, W, wzp, 0, w);
  for (int64_t m = 0; bias && m < M; m++) b[m] = value_at(*bias, m);
  const mx_tensor ins[3] = {seq::like(X, x, MX_FLOAT64), seq::like(W, w, MX_FLOAT64), bias ? seq::like(*bias, b, MX_FLOAT64) : mx_tensor{}};
  const mx_tensor out = seq::like(Y, *y, MX_FLOAT64);
  return seq::run_kernel(ctx, "Conv", "float64", ins, bias ? 3 : 2, &out, 1);
}

int conv_integer(mx_kernel_ctx* ctx) {
  std::unique_ptr<double[]> mem;
  double* y;
  if (int st = shifted_conv(ctx, "ConvInteger", ctx->inputs[0], present(ctx, 2), ctx->inputs[1], present(ctx, 3), nullptr, &mem, &y)) return st;
  int32_t* yi = static_cast<int32_t*>(ctx->outputs[0].data);
  parallel_for(ctx->pool, numel(ctx->outputs[0]), 1 << 14, [&](int64_t s, int64_t e) {
    for (int64_t k = s; k < e; k++) yi[k] = wrap32(y[k]);
  });
  return MX_OK;
}

int qlinear_conv(mx_kernel_ctx* ctx) {
  const mx_tensor &W = ctx->inputs[3], &Ws = ctx->inputs[4], &Y = ctx->outputs[0];
  std::unique_ptr<double[]> mem;
  double* y;
  if (int st = shifted_conv(ctx, "QLinearConv", ctx->inputs[0], &ctx->inputs[2], W, &ctx->inputs[5], present(ctx, 8), &mem, &y)) return st;
  const int64_t M = W.shape[0], plane = numel(Y) / std::max<int64_t>(1, Y.shape[0] * M);
  const bool per = numel(Ws) != 1;
  std::vector<double> m(M);
  const float xs = (float)value_at(ctx->inputs[1], 0), ys = (float)value_at(ctx->inputs[6], 0);
  for (int64_t c = 0; c < M; c++) m[c] = (xs * (float)value_at(Ws, per ? c : 0)) / ys;
  requantize_into(ctx, Y, y, value_at(ctx->inputs[7], 0), [&](int64_t k) { return m[k / plane % M]; });
  return MX_OK;
}

}  // namespace

MXCPU_SEQ_KERNELS("MatMulInteger", matmul_integer, {"int8", "uint8"}, {"int8", "uint8"});
MXCPU_SEQ_KERNELS("QLinearMatMul", qlinear_matmul, {"float32", "float16", "bfloat16"}, {"int8", "uint8"}, {"int8", "uint8"}, {"int8", "uint8"});
MXCPU_SEQ_KERNELS("ConvInteger", conv_integer, {"int8", "uint8"}, {"int8", "uint8"});
MXCPU_SEQ_KERNELS("QLinearConv", qlinear_conv, {"int8", "uint8"}, {"int8", "uint8"}, {"int8", "uint8"});

}  // namespace mxcpu
