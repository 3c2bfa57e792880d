// engine/ops/conv2d.h — 2-D convolution (cross-correlation, zero padding), with autograd.
//   x: N×C×H×W, w: K×C×R×S, bias: K or undefined → y: N×K×P×Q,  P = (H+2·pad−R)/stride+1
//   y[n,k,p,q] = b[k] + Σ_{c,r,s} w[k,c,r,s] · x[n, c, p·stride−pad+r, q·stride−pad+s]
//   ∂/∂x = dgrad(dy, w) (transposed conv),  ∂/∂w = wgrad(x, dy),  ∂/∂b = Σ_{n,p,q} dy
// CPU algorithm: im2col + GEMM per group of images (engine/cpu/conv2d.h).
#pragma once
#include "engine/core/tensor.h"
#include "engine/cpu/conv2d.h"

namespace senet {

Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& bias, int stride, int pad);

// The checks conv2d makes (ranks, dtypes, devices, channels, stride ≥ 1, pad ≥ 0, kernel fits the
// padded input; errors name both shapes), returning the geometry. Shared with conv_bn_act.
cpu::Conv2dGeom conv2d_check(const char* op, const Tensor& x, const Tensor& w, int stride, int pad);

}  // namespace senet
