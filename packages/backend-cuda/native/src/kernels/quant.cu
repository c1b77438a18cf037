// Linear quantization, one thread per element, as the cpu's:
//   QuantizeLinear:   y = saturate(round_half_even(x / s) + zp). The division runs
//                     in `precision` (core resolved it, default y_scale's dtype):
//                     x, s and the quotient are rounded to it. NaN gives 0 for
//                     integer y; int4/uint4/int2/uint2 saturate to their own range.
//                     A float8/float4e2m1 y is the Cast (narrow.cuh, with the
//                     `saturate` attribute) of float32(quotient + zp).
//   DequantizeLinear: y = (x - zp) * s, in double, rounded once to y's dtype. Narrow
//                     float x and zero points are decoded (exact), narrow integers
//                     read as the int8/uint8 they are stored as.
//   DynamicQuantizeLinear: float32 x to uint8 with s = (max(0, max x) - min(0, min x)) / 255
//                     (1 when that range is 0, as onnxruntime does),
//                     zp = round_half_even(clamp(0 - min(0, min x) / s, 0, 255)) and
//                     y = QuantizeLinear(x, s, zp), all in float32 like ONNX's function
//                     body; the range is folded by one block.
// Scale and zero point hold one element (per tensor), one per index of `axis`
// (per axis) or x's shape with ceil(x.shape[axis] / block_size) along axis
// (blocked); core checked the shapes and made axis non-negative. The scale may have
// any float dtype (read at run time), so one kernel serves every T2; so does one
// kernel per storage type for the narrow integers (their range is a parameter).
#include <cfloat>

#include "narrow.cuh"

namespace mxcuda {
namespace {

// Maps element e of x, seen as [outer, len, inner] around axis, to the index of its scale and zero point.
struct QParams {
  int64_t len, inner, block, blocks;
  bool per_tensor;
  __device__ __forceinline__ int64_t operator()(int64_t e) const {
    if (per_tensor) return 0;
    const int64_t a = e / inner % len;
    if (block == 0) return a;
    return (e / (inner * len) * blocks + a / block) * inner + e % inner;
  }
};
QParams qparams_of(const mx_tensor& x, const mx_tensor& s, const mx_attrs* at) {
  QParams q{1, 1, mx_attr_int(at, "block_size", 0), 1, false};
  q.per_tensor = numel(s) == 1 && q.block == 0;
  const int64_t axis = mx_attr_int(at, "axis", 0);
  for (int d = 0; !q.per_tensor && d < x.ndim; d++) {
    if (d == axis) q.len = x.shape[d];
    if (d > axis) q.inner *= x.shape[d];
  }
  if (q.block > 0) q.blocks = (q.len + q.block - 1) / q.block;
  return q;
}
const void* present(const mx_kernel_ctx* ctx, int i) { return i < ctx->num_inputs && ctx->inputs[i].data ? ctx->inputs[i].data : nullptr; }

// round_half_even(q) + zp saturated to [lo, hi]; NaN gives 0.
template <class TO> __device__ __forceinline__ TO saturate_round(float q, double zp, double lo, double hi) {
  const double r = rint((double)q) + zp;
  if (r != r) return TO(0);
  return TO(fmin(hi, fmax(lo, r)));
}

// QuantizeLinear's y: its zero point and how a quotient is stored.
// An integer type, saturated to [lo, hi]: TO's range, or a narrow integer's stored as TO.
template <class TO> struct IntY {
  TO* y;
  const TO* zp;
  double lo, hi;
  explicit IntY(const mx_kernel_ctx* ctx) : y((TO*)ctx->outputs[0].data), zp((const TO*)present(ctx, 2)) {
    lo = (double)std::numeric_limits<TO>::lowest(), hi = (double)std::numeric_limits<TO>::max();
    if (is_narrow_int(ctx->outputs[0].dtype)) narrow_int_range(ctx->outputs[0].dtype, &lo, &hi);
  }
  __device__ __forceinline__ double zero_point(int64_t p) const { return zp ? (double)zp[p] : 0.0; }
  __device__ __forceinline__ void store(int64_t k, float q, double z) const { y[k] = saturate_round<TO>(q, z, lo, hi); }
};
// A float8 or float4e2m1 y: the quotient plus the (decoded) zero point, rounded to float32, then cast.
struct NarrowFloatY {
  uint8_t* y;
  const uint8_t* zp;
  Narrow f;
  explicit NarrowFloatY(const mx_kernel_ctx* ctx)
      : y((uint8_t*)ctx->outputs[0].data), zp((const uint8_t*)present(ctx, 2)), f(narrow_of(ctx->outputs[0].dtype, ctx->attrs)) {}
  __device__ __forceinline__ double zero_point(int64_t p) const { return zp ? (double)f.decode(zp[p]) : 0.0; }
  __device__ __forceinline__ void store(int64_t k, float q, double z) const { y[k] = f((float)((double)q + z)); }
};

template <class TX, class Y>
__global__ void k_quantize(QParams q, const TX* __restrict__ x, const void* __restrict__ s, int sdtype, int prec, Y out, int64_t n) {
  MXC_GRID_LOOP(k, n) {
    const int64_t p = q(k);
    const float scale = round_to(prec, (float)load_any(s, sdtype, p));
    const float quotient = round_to(prec, round_to(prec, (float)up(x[k])) / scale);
    out.store(k, quotient, out.zero_point(p));
  }
}
template <class TX, class Y> int quantize_linear(mx_kernel_ctx* ctx) {
  const mx_tensor &x = ctx->inputs[0], &s = ctx->inputs[1];
  const int64_t n = numel(x);
  if (n)
    k_quantize<TX, Y><<<blocks_for(n), kThreads, 0, stream_of(ctx)>>>(qparams_of(x, s, ctx->attrs), (const TX*)x.data, s.data, s.dtype,
                                                                      (int)mx_attr_int(ctx->attrs, "precision", MX_FLOAT32), Y(ctx), n);
  return MX_OK;
}

// DequantizeLinear's x and zero point: stored integers, or decoded narrow floats.
template <class TX> struct IntX {
  const TX *x, *zp;
  explicit IntX(const mx_kernel_ctx* ctx) : x((const TX*)ctx->inputs[0].data), zp((const TX*)present(ctx, 2)) {}
  __device__ __forceinline__ double value(int64_t k) const { return (double)x[k]; }
  __device__ __forceinline__ double zero_point(int64_t p) const { return zp ? (double)zp[p] : 0.0; }
};
struct NarrowFloatX {
  const uint8_t *x, *zp;
  Narrow f;
  explicit NarrowFloatX(const mx_kernel_ctx* ctx)
      : x((const uint8_t*)ctx->inputs[0].data), zp((const uint8_t*)present(ctx, 2)), f(narrow_of(ctx->inputs[0].dtype, nullptr)) {}
  __device__ __forceinline__ double value(int64_t k) const { return f.decode(x[k]); }
  __device__ __forceinline__ double zero_point(int64_t p) const { return zp ? (double)f.decode(zp[p]) : 0.0; }
};

template <class X, class TO>
__global__ void k_dequantize(QParams q, X in, const void* __restrict__ s, int sdtype, TO* __restrict__ y, int64_t n) {
  MXC_GRID_LOOP(k, n) {
    const int64_t p = q(k);
    y[k] = convert<TO>((in.value(k) - in.zero_point(p)) * load_any(s, sdtype, p));
  }
}
template <class X, class TO> int dequantize_linear(mx_kernel_ctx* ctx) {
  const mx_tensor &x = ctx->inputs[0], &s = ctx->inputs[1];
  const int64_t n = numel(x);
  if (n)
    k_dequantize<X, TO><<<blocks_for(n), kThreads, 0, stream_of(ctx)>>>(qparams_of(x, s, ctx->attrs), X(ctx), s.data, s.dtype,
                                                                       (TO*)ctx->outputs[0].data, n);
  return MX_OK;
}

// DynamicQuantizeLinear: the range folded by one block into params (scale, zero point).
__global__ void k_dynamic_params(const float* __restrict__ x, int64_t n, float* params, float* y_scale, uint8_t* y_zp) {
  __shared__ float scratch[1024 / MX_WARP];
  float lo = 0, hi = 0;
  for (int64_t k = threadIdx.x; k < n; k += blockDim.x) {
    lo = fminf(lo, x[k]);
    hi = fmaxf(hi, x[k]);
  }
  lo = block_fold(lo, [](float a, float b) { return fminf(a, b); }, scratch);
  hi = block_fold(hi, [](float a, float b) { return fmaxf(a, b); }, scratch);
  if (threadIdx.x == 0) {
    const float scale = hi == lo ? 1.0f : (hi - lo) / 255.0f;
    const float zp = (float)rint((double)fminf(255.0f, fmaxf(0.0f, 0.0f - lo / scale)));
    params[0] = scale;
    params[1] = zp;
    if (y_scale) *y_scale = scale;
    if (y_zp) *y_zp = (uint8_t)zp;
  }
}
__global__ void k_dynamic_quantize(const float* __restrict__ x, const float* __restrict__ params, uint8_t* __restrict__ y, int64_t n) {
  const float scale = params[0];
  const double zp = params[1];
  MXC_GRID_LOOP(k, n) y[k] = saturate_round<uint8_t>(x[k] / scale, zp, 0, 255);
}
int dynamic_quantize_linear(mx_kernel_ctx* ctx) {
  const mx_tensor& x = ctx->inputs[0];
  const int64_t n = numel(x);
  float* params;
  if (int st = scratch_alloc(ctx, "DynamicQuantizeLinear", 2 * sizeof(float), (void**)&params)) return st;
  const cudaStream_t s = stream_of(ctx);
  k_dynamic_params<<<1, threads_for(n), 0, s>>>((const float*)x.data, n, params,
                                                ctx->num_outputs > 1 ? (float*)ctx->outputs[1].data : nullptr,
                                                ctx->num_outputs > 2 ? (uint8_t*)ctx->outputs[2].data : nullptr);
  if (n) k_dynamic_quantize<<<blocks_for(n), kThreads, 0, s>>>((const float*)x.data, params, (uint8_t*)ctx->outputs[0].data, n);
  return scratch_free(ctx, "DynamicQuantizeLinear", params);
}

}  // namespace
}  // namespace mxcuda

using namespace mxcuda;

// Keys "T1,T2,T3". QuantizeLinear: x (float32, float16, bfloat16, int32), the scale
// (any of float32, float16, bfloat16: read at run time), y (every quantized type).
#define REG_QUANTIZE_Y(Y, y_key, TX, x_key)                                          \
  MXC_KERNEL("QuantizeLinear", x_key ",float32," y_key, (quantize_linear<TX, Y>));   \
  MXC_KERNEL("QuantizeLinear", x_key ",float16," y_key, (quantize_linear<TX, Y>));   \
  MXC_KERNEL("QuantizeLinear", x_key ",bfloat16," y_key, (quantize_linear<TX, Y>));
#define REG_QUANTIZE(TX, x_key)                                                                                                  \
  REG_QUANTIZE_Y(IntY<int8_t>, "int8", TX, x_key) REG_QUANTIZE_Y(IntY<uint8_t>, "uint8", TX, x_key)                             \
  REG_QUANTIZE_Y(IntY<int16_t>, "int16", TX, x_key) REG_QUANTIZE_Y(IntY<uint16_t>, "uint16", TX, x_key)                         \
  REG_QUANTIZE_Y(IntY<int8_t>, "int4", TX, x_key) REG_QUANTIZE_Y(IntY<uint8_t>, "uint4", TX, x_key)                             \
  REG_QUANTIZE_Y(IntY<int8_t>, "int2", TX, x_key) REG_QUANTIZE_Y(IntY<uint8_t>, "uint2", TX, x_key)                             \
  REG_QUANTIZE_Y(NarrowFloatY, "float8e4m3fn", TX, x_key) REG_QUANTIZE_Y(NarrowFloatY, "float8e4m3fnuz", TX, x_key)             \
  REG_QUANTIZE_Y(NarrowFloatY, "float8e5m2", TX, x_key) REG_QUANTIZE_Y(NarrowFloatY, "float8e5m2fnuz", TX, x_key)               \
  REG_QUANTIZE_Y(NarrowFloatY, "float4e2m1", TX, x_key)
REG_QUANTIZE(float, "float32") REG_QUANTIZE(f16, "float16") REG_QUANTIZE(bf16, "bfloat16") REG_QUANTIZE(int32_t, "int32")
// DequantizeLinear: x (every quantized type and int32), the scale (any of three), y (float32, float16, bfloat16).
#define REG_DEQUANTIZE_Y(TO, y_key, X, x_key)                                                  \
  MXC_KERNEL("DequantizeLinear", x_key ",float32," y_key, (dequantize_linear<X, TO>));          \
  MXC_KERNEL("DequantizeLinear", x_key ",float16," y_key, (dequantize_linear<X, TO>));          \
  MXC_KERNEL("DequantizeLinear", x_key ",bfloat16," y_key, (dequantize_linear<X, TO>));
#define REG_DEQUANTIZE(X, x_key) \
  REG_DEQUANTIZE_Y(float, "float32", X, x_key) REG_DEQUANTIZE_Y(f16, "float16", X, x_key) REG_DEQUANTIZE_Y(bf16, "bfloat16", X, x_key)
REG_DEQUANTIZE(IntX<int8_t>, "int8") REG_DEQUANTIZE(IntX<uint8_t>, "uint8") REG_DEQUANTIZE(IntX<int16_t>, "int16")
REG_DEQUANTIZE(IntX<uint16_t>, "uint16") REG_DEQUANTIZE(IntX<int32_t>, "int32")
REG_DEQUANTIZE(IntX<int8_t>, "int4") REG_DEQUANTIZE(IntX<uint8_t>, "uint4") REG_DEQUANTIZE(IntX<int8_t>, "int2") REG_DEQUANTIZE(IntX<uint8_t>, "uint2")
REG_DEQUANTIZE(NarrowFloatX, "float8e4m3fn") REG_DEQUANTIZE(NarrowFloatX, "float8e4m3fnuz") REG_DEQUANTIZE(NarrowFloatX, "float8e5m2")
REG_DEQUANTIZE(NarrowFloatX, "float8e5m2fnuz") REG_DEQUANTIZE(NarrowFloatX, "float4e2m1")
MXC_KERNEL("DynamicQuantizeLinear", "", dynamic_quantize_linear);
