// Pow over elementwise.cuh's binary template, for every (base, exponent) dtype
// pair of ONNX's Pow (key "T,T1"): its own file so that nvcc compiles its 72
// instantiations beside binary.cu's.
#include "elementwise.cuh"

namespace mxcuda {
namespace {

// Pow: floats compute pow in the base's compute type (double for float64); an
// integer base raises by repeated squaring with the exponent truncated (negative
// exponents give 0 except for bases 1 and -1).
struct op_pow : stateless {
  using stateless::stateless;
  template <class C, class D> __device__ C operator()(C a, D b) const {
    if constexpr (!is_int_v<C>) {
      return pow(a, C(b));
    } else {
      int64_t e = convert<int64_t>(b);
      if (e < 0) return a == 1 ? C(1) : a == C(-1) ? ((e & 1) ? C(-1) : C(1)) : C(0);
      using U = std::make_unsigned_t<C>;
      U r = 1, x = (U)a;
      while (e) {
        if (e & 1) r = U(r * x);
        x = U(x * x);
        e >>= 1;
      }
      return (C)r;
    }
  }
};

}  // namespace
}  // namespace mxcuda

using namespace mxcuda;

#define REG_POW(T1, key1, T, key) MXC_KERNEL("Pow", key "," key1, (binary<op_pow, T, T, T1>));
MXC_NUMERIC_TYPES(REG_POW, int32_t, "int32")
MXC_NUMERIC_TYPES(REG_POW, int64_t, "int64")
MXC_NUMERIC_TYPES(REG_POW, float, "float32")
MXC_NUMERIC_TYPES(REG_POW, double, "float64")
MXC_NUMERIC_TYPES(REG_POW, f16, "float16")
MXC_NUMERIC_TYPES(REG_POW, bf16, "bfloat16")

