// kernels/conv2d_geom.h — the geometry of a 2-D convolution: one struct for the kernels (conv2d
// fprop, dgrad, wgrad, conv_bn_mrelu_fwd, mrelu_bn_bwd) and the engine (engine/cpu/conv2d.h names
// it cpu::Conv2dGeom; the CUDA glue hands it to the kernels as it is).
//   x: N×C×H×W, w: K×C×R×S, y: N×K×P×Q (NCHW), P = (H+2·pad−R)/stride+1, Q likewise.
//   Implicit GEMM of fprop: GEMM_M = N·P·Q, GEMM_N = K, GEMM_K = C·R·S; flops = 2·N·K·P·Q·C·R·S.
// Kernels take it by value and call its members on the device, hence SENET_HD; the header includes
// no CUDA runtime, so every engine file may use it.
#pragma once
#include <cstdint>

#include "kernels/host_device.h"

namespace senet {

struct Conv2dGeom {
  int N = 0, C = 0, H = 0, W = 0;  // input
  int K = 0, R = 0, S = 0;         // filters
  int stride = 1, pad = 0;
  int P = 0, Q = 0;  // output; conv2d_geom fills them

  SENET_HD int64_t HW() const { return int64_t(H) * W; }
  SENET_HD int64_t PQ() const { return int64_t(P) * Q; }
  SENET_HD int64_t CRS() const { return int64_t(C) * R * S; }
  // 1×1, stride 1, no padding: the im2col matrix of an image is the image itself.
  SENET_HD bool direct() const { return R == 1 && S == 1 && stride == 1 && pad == 0; }

  SENET_HD int64_t x_size() const { return int64_t(N) * C * H * W; }
  SENET_HD int64_t w_size() const { return int64_t(K) * C * R * S; }
  SENET_HD int64_t y_size() const { return int64_t(N) * K * P * Q; }
  // Implicit GEMM of fprop: M = N·P·Q, N = K, K = C·R·S; the flops of fprop, dgrad and wgrad alike.
  SENET_HD int64_t gemm_m() const { return int64_t(N) * P * Q; }
  SENET_HD int64_t gemm_k() const { return CRS(); }
  SENET_HD int64_t flops() const { return 2 * gemm_m() * K * gemm_k(); }
};

// The one factory: the sizes as given, P and Q computed (both 0 when stride < 1 or the kernel does
// not fit the padded input; conv2d_geom_valid then rejects it).
inline Conv2dGeom conv2d_geom(int N, int C, int H, int W, int K, int R, int S, int stride,
                              int pad) {
  Conv2dGeom g;
  g.N = N, g.C = C, g.H = H, g.W = W, g.K = K, g.R = R, g.S = S, g.stride = stride, g.pad = pad;
  if (stride >= 1 && H + 2 * pad >= R && W + 2 * pad >= S) {
    g.P = (H + 2 * pad - R) / stride + 1;
    g.Q = (W + 2 * pad - S) / stride + 1;
  }
  return g;
}

// Every size ≥ 1, stride ≥ 1, pad ≥ 0, P and Q consistent with the rest, and every tensor (and
// the implicit-GEMM index ranges) below 2³¹ elements, so the kernels may index with int.
inline bool conv2d_geom_valid(const Conv2dGeom& g) {
  if (g.N < 1 || g.C < 1 || g.H < 1 || g.W < 1 || g.K < 1 || g.R < 1 || g.S < 1) return false;
  if (g.stride < 1 || g.pad < 0) return false;
  const Conv2dGeom ref = conv2d_geom(g.N, g.C, g.H, g.W, g.K, g.R, g.S, g.stride, g.pad);
  if (ref.P < 1 || ref.Q < 1 || ref.P != g.P || ref.Q != g.Q) return false;
  const int64_t lim = int64_t(1) << 31;
  return g.x_size() < lim && g.w_size() < lim && g.y_size() < lim;
}

}  // namespace senet
