// Helpers shared by the sequence-model kernels (seq_*.cc): registration under a
// product of dtype lists, element access by run-time dtype, float lists from
// attributes, 16-bit rounding of float results, and calls into other registered
// kernels (the quantized products run the MatMul and Conv kernels).
#pragma once
#include <cmath>
#include <deque>
#include <initializer_list>
#include <string>
#include <type_traits>
#include <vector>

#include "gemm.h"

namespace mxcpu::seq {

// Registers fn under every key of the product of the dtype-name lists, one list
// per type constraint in key order ("T1,T2,T3"); no lists register key "".
struct product_registrar {
  product_registrar(const char* op, std::initializer_list<std::initializer_list<const char*>> lists, mx_kernel_fn fn) {
    static std::deque<std::string> keys;  // stable storage: the registry keeps the pointers
    std::vector<std::string> acc{""};
    for (const auto& list : lists) {
      std::vector<std::string> next;
      for (const auto& prefix : acc)
        for (const char* d : list) next.push_back(prefix.empty() ? std::string(d) : prefix + "," + d);
      acc.swap(next);
    }
    for (const auto& k : acc) {
      keys.push_back(k);
      mx::kernel_registry().push_back(mx_kernel_def{op, "", keys.back().c_str(), fn});
    }
  }
};
#define MXCPU_SEQ_KERNELS(op, fn, ...) \
  static ::mxcpu::seq::product_registrar MX_CAT(mx_seq_reg_, __COUNTER__)(op, {__VA_ARGS__}, fn)

#define MXCPU_SEQ_FLOATS "float32", "float64", "float16", "bfloat16"

// The mx_dtype of a kernel element type.
template <class T> constexpr int32_t dtype_of() {
  if constexpr (std::is_same_v<T, float>) return MX_FLOAT32;
  else if constexpr (std::is_same_v<T, double>) return MX_FLOAT64;
  else if constexpr (std::is_same_v<T, f16>) return MX_FLOAT16;
  else if constexpr (std::is_same_v<T, bf16>) return MX_BFLOAT16;
  else if constexpr (std::is_same_v<T, int8_t>) return MX_INT8;
  else if constexpr (std::is_same_v<T, uint8_t>) return MX_UINT8;
  else if constexpr (std::is_same_v<T, int16_t>) return MX_INT16;
  else if constexpr (std::is_same_v<T, uint16_t>) return MX_UINT16;
  else if constexpr (std::is_same_v<T, int32_t>) return MX_INT32;
  else if constexpr (std::is_same_v<T, uint32_t>) return MX_UINT32;
  else if constexpr (std::is_same_v<T, int64_t>) return MX_INT64;
  else if constexpr (std::is_same_v<T, uint64_t>) return MX_UINT64;
  else return MX_BOOL;
}

// Calls f(T{}) for the one of Ts whose dtype is `dtype`; false when none is.
// Keeps run-time dispatch to the few types an op allows.
template <class... Ts, class F> bool dispatch_among(int32_t dtype, F&& f) {
  return ((dtype == dtype_of<Ts>() ? (f(Ts{}), true) : false) || ...);
}

// Element i of t, any numeric dtype, as a double (for scales, zero points, small tables).
inline double value_at(const mx_tensor& t, int64_t i) {
  double v = 0;
  dispatch(t.dtype, [&](auto z) {
    using T = decltype(z);
    v = (double)load(static_cast<const T*>(t.data)[i]);
  });
  return v;
}

// A float list attribute; the bridge stores all-integer lists as INTS, with the
// floats filled in too. Returns the count (0 when absent).
inline int32_t attr_floats(const mx_attrs* a, const char* name, const double** out) {
  const mx_attr* x = mx_attr_find(a, name);
  *out = x && (x->type == MX_ATTR_FLOATS || x->type == MX_ATTR_INTS) ? x->floats : nullptr;
  return *out ? x->count : 0;
}

// v rounded to the precision of float dtype `dtype` (an ONNX id): float16 and
// bfloat16 round to nearest even, other dtypes leave the float as is.
inline float round_to(int32_t dtype, float v) {
  if (dtype == MX_FLOAT16) return f16_to_f32(f32_to_f16(v));
  if (dtype == MX_BFLOAT16) return bf16_to_f32(f32_to_bf16(v));
  return v;
}

// The registered kernel for (op, key), or nullptr.
inline mx_kernel_fn find_kernel(const char* op, const char* key) {
  for (const auto& k : mx::kernel_registry())
    if (std::strcmp(k.op, op) == 0 && std::strcmp(k.key, key) == 0 && k.domain[0] == 0) return k.fn;
  return nullptr;
}

// Runs the registered kernel (op, key) on the given tensors with ctx's pool,
// attributes (or `attrs`) and message buffer.
inline int run_kernel(mx_kernel_ctx* ctx, const char* op, const char* key, const mx_tensor* inputs, int32_t n_in,
                      const mx_tensor* outputs, int32_t n_out, const mx_attrs* attrs = nullptr) {
  const mx_kernel_fn fn = find_kernel(op, key);
  if (!fn) return mx_fail(ctx, MX_ERR_INTERNAL, "no %s kernel for %s", op, key);
  mx_kernel_ctx sub = *ctx;
  sub.inputs = inputs;
  sub.num_inputs = n_in;
  sub.outputs = outputs;
  sub.num_outputs = n_out;
  if (attrs) sub.attrs = attrs;
  return fn(&sub);
}

// A tensor descriptor with t's shape over other data and dtype.
inline mx_tensor like(const mx_tensor& t, void* data, int32_t dtype) {
  mx_tensor r = t;
  r.data = data;
  r.dtype = dtype;
  return r;
}

}  // namespace mxcpu::seq
