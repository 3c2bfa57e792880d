// kernels/conv2d_fprop.h — host-callable 2-D convolution forward (fprop) kernels, and the geometry
// struct the whole conv family shares (dgrad, wgrad, conv_bn_mrelu_fwd, mrelu_bn_bwd).
//   y[n,k,p,q] = b[k] + Σ_{c,r,s} w[k,c,r,s] · x[n, c, p·stride−pad+r, q·stride−pad+s]  (0 outside)
//   x: N×C×H×W, w: K×C×R×S, y: N×K×P×Q (NCHW, fp32), P = (H+2·pad−R)/stride+1, Q likewise.
// Rule: raw device pointers + a params struct by value; every launcher checks its preconditions and
// returns cudaErrorInvalidValue instead of launching out of bounds (see kernels/conv2d_fprop.cu).
#pragma once
#include <cstdint>

#include "kernels/kernel_params.h"

namespace senet {

struct conv2d_params {
  int N = 0, C = 0, H = 0, W = 0;  // input
  int K = 0, R = 0, S = 0;         // filters
  int stride = 1, pad = 0;
  int P = 0, Q = 0;                // output; make_conv2d_params fills them

  SENET_HD int64_t x_size() const { return int64_t(N) * C * H * W; }
  SENET_HD int64_t w_size() const { return int64_t(K) * C * R * S; }
  SENET_HD int64_t y_size() const { return int64_t(N) * K * P * Q; }
  SENET_HD int64_t gemm_m() const { return int64_t(N) * P * Q; }  // implicit GEMM of fprop: M = N·P·Q,
  SENET_HD int64_t gemm_k() const { return int64_t(C) * R * S; }  //   N = K, K = C·R·S
  SENET_HD int64_t flops() const { return 2 * gemm_m() * K * gemm_k(); }  // fprop, dgrad and wgrad alike
};

// Fills P and Q (0 when the kernel does not fit the padded input; the launchers then reject it).
inline conv2d_params make_conv2d_params(int N, int C, int H, int W, int K, int R, int S, int stride,
                                        int pad) {
  conv2d_params p;
  p.N = N, p.C = C, p.H = H, p.W = W, p.K = K, p.R = R, p.S = S, p.stride = stride, p.pad = pad;
  if (stride >= 1 && H + 2 * pad >= R && W + 2 * pad >= S) {
    p.P = (H + 2 * pad - R) / stride + 1;
    p.Q = (W + 2 * pad - S) / stride + 1;
  }
  return p;
}

// Every size ≥ 1, stride ≥ 1, pad ≥ 0, P and Q consistent with the rest, and every tensor (and
// the implicit-GEMM index ranges) below 2³¹ elements, so the kernels may index with int.
inline bool conv2d_params_valid(const conv2d_params& p) {
  if (p.N < 1 || p.C < 1 || p.H < 1 || p.W < 1 || p.K < 1 || p.R < 1 || p.S < 1) return false;
  if (p.stride < 1 || p.pad < 0) return false;
  const conv2d_params ref = make_conv2d_params(p.N, p.C, p.H, p.W, p.K, p.R, p.S, p.stride, p.pad);
  if (ref.P < 1 || ref.Q < 1 || ref.P != p.P || ref.Q != p.Q) return false;
  const int64_t lim = int64_t(1) << 31;
  return p.x_size() < lim && p.w_size() < lim && p.y_size() < lim;
}

enum class conv2d_fprop_version {
  v1_direct,          // one thread per output, the reference loops
  v2_smem_tile,       // implicit GEMM, 16×16 output tile per block, BK = 16 slices in shared memory
  v3_register_block,  // implicit GEMM, 64×64 tile per block, 4×4 outputs per thread in registers
};
inline constexpr conv2d_fprop_version kConv2dFpropVersions[] = {
    conv2d_fprop_version::v1_direct, conv2d_fprop_version::v2_smem_tile,
    conv2d_fprop_version::v3_register_block};
const char* conv2d_fprop_version_name(conv2d_fprop_version v);

// y = conv(x, w) (+ bias[k] when bias is not null). y is overwritten.
cudaError_t conv2d_fprop_v1_direct(conv2d_params p, const float* x, const float* w,
                                   const float* bias, float* y, cudaStream_t stream);
cudaError_t conv2d_fprop_v2_smem_tile(conv2d_params p, const float* x, const float* w,
                                      const float* bias, float* y, cudaStream_t stream);
cudaError_t conv2d_fprop_v3_register_block(conv2d_params p, const float* x, const float* w,
                                           const float* bias, float* y, cudaStream_t stream);
cudaError_t conv2d_fprop(conv2d_fprop_version v, conv2d_params p, const float* x, const float* w,
                         const float* bias, float* y, cudaStream_t stream);

}  // namespace senet
