// Conv by Winograd F(4x4, 3x3) (conv_winograd.cc): 2-D float32 convolutions with
// a 3x3 kernel, stride 1, dilation 1 and one group.
#pragma once
#include <cstdint>

#include "common.h"
#include "gemm.h"

namespace mxcpu {

// Whether the Winograd path pays for a conv with C input and M output channels
// and an OH x OW output plane; constant_w: W is a constant (its transform is kept).
bool winograd_applies(int64_t C, int64_t M, int64_t OH, int64_t OW, bool constant_w);

// Y = act(Conv(X, W, B) + z) for such a conv, with act's z (Y's shape, or null)
// and activation (its bias is unused); pads = {top, left} (the end pads follow
// from Y's shape). Returns a status like a kernel.
int conv_winograd(mx_kernel_ctx* ctx, const int64_t* pads, const gemm_post<float>& act);

// The same by F(2x2, 3x3), for small output planes where F(4x4, 3x3) has too
// few tiles (7x7), with a constant W only.
bool winograd2_applies(int64_t C, int64_t M, int64_t OH, int64_t OW, bool constant_w);
int conv_winograd2(mx_kernel_ctx* ctx, const int64_t* pads, const gemm_post<float>& act);

}  // namespace mxcpu
