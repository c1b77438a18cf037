// MatMul: NumPy matmul. A 1-D A is [1, K], a 1-D B is [K, 1] (the output's
// memory is the same either way); batch dims are right-aligned, padded with 1s,
// and broadcast by oneDNN's matmul (a batch dim of 1 in A or B repeats).
// Gemm: Y = alpha * op(A) @ op(B) + beta * C; C (unidirectionally broadcast to
// [M, N]) is written into Y as beta * C first, then the product is added to it.
// K = 0 gives zeros (plus beta * C), which oneDNN is not asked to compute.
//
// float32 Gemm and single-product MatMul call oneDNN's sgemm (BLAS semantics,
// transposes as flags): it measured faster than the matmul primitive, which
// copies B into its blocked layout on every call, by up to 4x for a
// [1, 2048] x [2048, 1000]^T layer. Batched MatMul and bfloat16 use the matmul
// primitive (transposes through strides, alpha as the output scale, C by a sum
// post-op), cached per shape. alpha = 0 also takes the primitive: BLAS would not
// read A and B, and ONNX's 0 * NaN is NaN.
#include <algorithm>

#include "common.h"

namespace mxdnnl {
namespace {

struct MatMulEntry : Entry {
  dnnl::matmul prim;
  memory a, b, y;
};

// Runs A [.., M, K] @ B [.., K, N] -> Y with the given descriptors (cached by `key`).
void run_matmul(const mx_kernel_ctx* ctx, const Key& key, const mx_tensor& A, const mx_tensor& B, const mx_tensor& Y,
                const memory::desc& ad, const memory::desc& bd, const memory::desc& yd, int64_t K, float alpha, bool accumulate) {
  use_threads(ctx, (double)mx_numel(&Y) * (double)K / 16);
  MatMulEntry& e = cached<MatMulEntry>(key, [&] {
    auto e = std::make_unique<MatMulEntry>();
    dnnl::primitive_attr attr;
    if (alpha != 1.f) attr.set_output_scales(0, {alpha});
    if (accumulate) {
      dnnl::post_ops po;
      po.append_sum(1.f);
      attr.set_post_ops(po);
    }
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(ad, bd, yd), attr, cpu_engine());
    e->prim = dnnl::matmul(pd);
    e->a = user_memory(ad);
    e->b = user_memory(bd);
    e->y = user_memory(yd);
    return e;
  });
  e.a.set_data_handle(A.data);
  e.b.set_data_handle(B.data);
  e.y.set_data_handle(Y.data);
  e.prim.execute(thread_stream(), {{DNNL_ARG_SRC, e.a}, {DNNL_ARG_WEIGHTS, e.b}, {DNNL_ARG_DST, e.y}});
  thread_stream().wait();
}

size_t elem_size(int32_t dtype) { return dtype == MX_FLOAT32 ? 4 : 2; }

// Y [M, N] = alpha * op(A) op(B) + (accumulate ? Y : 0), row-major float32.
int sgemm(mx_kernel_ctx* ctx, const char* op, bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const mx_tensor& A,
          const mx_tensor& B, const mx_tensor& Y, bool accumulate) {
  use_threads(ctx, (double)M * (double)N * (double)K / 16);
  const dnnl_status_t st = dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, alpha, static_cast<const float*>(A.data), ta ? M : K,
                                      static_cast<const float*>(B.data), tb ? K : N, accumulate ? 1.f : 0.f,
                                      static_cast<float*>(Y.data), N);
  return st == dnnl_success ? MX_OK : mx_fail(ctx, MX_ERR_INTERNAL, "%s: oneDNN sgemm failed with status %d", op, (int)st);
}

int matmul(mx_kernel_ctx* ctx) {
  const mx_tensor& A = ctx->inputs[0];
  const mx_tensor& B = ctx->inputs[1];
  const mx_tensor& Y = ctx->outputs[0];
  const int64_t n = mx_numel(&Y);
  if (n == 0) return MX_OK;
  dims as = dims_of(A), bs = dims_of(B);
  if (as.size() == 1) as.insert(as.begin(), 1);
  if (bs.size() == 1) bs.push_back(1);
  const size_t r = std::max(as.size(), bs.size());
  if (r > DNNL_MAX_NDIMS)
    return mx_fail(ctx, MX_ERR_UNSUPPORTED, "MatMul: oneDNN's matmul takes at most %d dims, these operands need %zu",
                   DNNL_MAX_NDIMS, r);
  as.insert(as.begin(), r - as.size(), 1);
  bs.insert(bs.begin(), r - bs.size(), 1);
  if (as[r - 1] == 0) {  // K = 0: empty sums
    std::memset(Y.data, 0, (size_t)n * elem_size(Y.dtype));
    return MX_OK;
  }
  if (Y.dtype == MX_FLOAT32 && n == as[r - 2] * bs[r - 1])  // one product
    return sgemm(ctx, "MatMul", false, false, as[r - 2], bs[r - 1], as[r - 1], 1.f, A, B, Y, false);
  dims ys(r);
  for (size_t i = 0; i + 2 < r; i++) ys[i] = std::max(as[i], bs[i]);
  ys[r - 2] = as[r - 2];
  ys[r - 1] = bs[r - 1];
  const dt type = dtype_of(Y.dtype);
  Key key("MatMul");
  key.i(Y.dtype).v(as).v(bs);
  run_matmul(ctx, key, A, B, Y, plain(as, type), plain(bs, type), plain(ys, type), as[r - 1], 1.f, false);
  return MX_OK;
}

int gemm(mx_kernel_ctx* ctx) {
  const mx_tensor& A = ctx->inputs[0];
  const mx_tensor& B = ctx->inputs[1];
  const mx_tensor* C = input(ctx, 2);
  const mx_tensor& Y = ctx->outputs[0];
  const int64_t M = Y.shape[0], N = Y.shape[1];
  if (M == 0 || N == 0) return MX_OK;
  const bool ta = mx_attr_int(ctx->attrs, "transA", 0) != 0, tb = mx_attr_int(ctx->attrs, "transB", 0) != 0;
  const float alpha = (float)mx_attr_float(ctx->attrs, "alpha", 1.0), beta = (float)mx_attr_float(ctx->attrs, "beta", 1.0);
  const int64_t K = ta ? A.shape[0] : A.shape[1];
  // Y = beta * C, broadcast: C is [], [N], [1|M, 1|N].
  if (C) {
    const int64_t cm = C->ndim == 2 ? C->shape[0] : 1, cn = C->ndim >= 1 ? C->shape[C->ndim - 1] : 1;
    for (int64_t i = 0; i < M; i++)
      for (int64_t j = 0; j < N; j++)
        store(Y.dtype, Y.data, i * N + j, beta * load(C->dtype, C->data, (cm == 1 ? 0 : i) * cn + (cn == 1 ? 0 : j)));
  }
  if (K == 0) {
    if (!C) std::memset(Y.data, 0, (size_t)(M * N) * elem_size(Y.dtype));
    return MX_OK;
  }
  if (Y.dtype == MX_FLOAT32 && alpha != 0.f) return sgemm(ctx, "Gemm", ta, tb, M, N, K, alpha, A, B, Y, C != nullptr);
  const dt type = dtype_of(Y.dtype);
  // op(A) is [M, K]; stored transposed it is [K, M] read with strides {1, M}.
  const memory::desc ad = ta ? memory::desc({M, K}, type, dims{1, M}) : plain({M, K}, type);
  const memory::desc bd = tb ? memory::desc({K, N}, type, dims{1, K}) : plain({K, N}, type);
  Key key("Gemm");
  key.i(Y.dtype).i(M).i(N).i(K).i(ta).i(tb).f(alpha).i(C != nullptr);
  run_matmul(ctx, key, A, B, Y, ad, bd, plain({M, N}, type), K, alpha, C != nullptr);
  return MX_OK;
}

}  // namespace
}  // namespace mxdnnl

MXD_KERNEL("MatMul", "float32", mxdnnl::matmul);
MXD_KERNEL("MatMul", "bfloat16", mxdnnl::matmul);
MXD_KERNEL("Gemm", "float32", mxdnnl::gemm);
MXD_KERNEL("Gemm", "bfloat16", mxdnnl::gemm);
