// CenterCropPad and the window functions.
//   CenterCropPad: core turned the target shape into Pad's attributes (pads with
//     negative crops, mode 'constant', value 0), so this runs the Pad kernel
//     registered for the same dtype.
//   HannWindow / HammingWindow / BlackmanWindow: Y[n] = f(2 pi n / N) for n < size
//     (Y's length), N = size when periodic, else size - 1; computed in double and
//     converted to Y's dtype (integers truncate toward zero).
#include <cmath>
#include <cstring>

#include "elementwise.h"
#include "movement.h"

namespace mxcpu {
namespace {

const char* dtype_key(int32_t dtype) {
  switch (dtype) {
    case MX_FLOAT32: return "float32";
    case MX_FLOAT64: return "float64";
    case MX_FLOAT16: return "float16";
    case MX_BFLOAT16: return "bfloat16";
    case MX_INT8: return "int8";
    case MX_UINT8: return "uint8";
    case MX_INT16: return "int16";
    case MX_UINT16: return "uint16";
    case MX_INT32: return "int32";
    case MX_UINT32: return "uint32";
    case MX_INT64: return "int64";
    case MX_UINT64: return "uint64";
    case MX_BOOL: return "bool";
    default: return "";
  }
}

int center_crop_pad(mx_kernel_ctx* ctx) {
  const char* key = dtype_key(ctx->inputs[0].dtype);
  for (const mx_kernel_def& k : mx::kernel_registry())
    if (!std::strcmp(k.op, "Pad") && !k.domain[0] && !std::strcmp(k.key, key)) return k.fn(ctx);
  return mx_fail(ctx, MX_ERR_UNSUPPORTED, "CenterCropPad: no Pad kernel for %s", key);
}

enum window_kind { HANN, HAMMING, BLACKMAN };
constexpr double kPi = 3.14159265358979323846;

template <window_kind kind, class T> int window(mx_kernel_ctx* ctx) {
  const int64_t size = ctx->outputs[0].shape[0];
  const double N = (double)(mx_attr_int(ctx->attrs, "periodic", 1) ? size : size - 1);
  T* y = static_cast<T*>(ctx->outputs[0].data);
  for (int64_t n = 0; n < size; n++) {
    const double a = (2 * kPi * (double)n) / N;
    const double v = kind == HANN ? 0.5 - 0.5 * std::cos(a)
                     : kind == HAMMING ? 25.0 / 46 - (21.0 / 46) * std::cos(a)
                                       : 0.42 - 0.5 * std::cos(a) + 0.08 * std::cos(2 * a);
    y[n] = convert<T>(v);
  }
  return MX_OK;
}

}  // namespace

MX_KERNEL_EVERY_DTYPE("CenterCropPad", "", center_crop_pad);

#define MX_VIS_WINDOW(T, key, ...)                          \
  MX_KERNEL("HannWindow", key, (window<HANN, T>));          \
  MX_KERNEL("HammingWindow", key, (window<HAMMING, T>));    \
  MX_KERNEL("BlackmanWindow", key, (window<BLACKMAN, T>));
MXCPU_NUMERIC_TYPES(MX_VIS_WINDOW)
#undef MX_VIS_WINDOW

}  // namespace mxcpu
