// engine/ops/conv_bn_act_pair.h — two fused conv → BN → act layers in a row, the first one's
// activation feeding only the second: a ResNet BasicBlock's main path,
//   a1 = act1(BN1(conv1(x)));   a2 = act2(BN2(conv2(a1)) + r)
// equal to conv_bn_act(conv_bn_act(x, l1), l2, r) (engine/ops/conv_bn_act.h).
// CUDA training (one process): prologue fusion (issue 16, item 3; kernels/conv_input_act.h) — the
// first layer writes y1 and its BN scale and shift, never a1 or its pass bits; conv2 applies
// act1(scale1·y1 + shift1) while it loads y1; the backward recomputes both: wgrad of conv2 reads y1
// the same way, BN1's backward recomputes the pass bits from y1. Two passes over a1's size fewer in
// the forward (write a1, read a1 → nothing: conv2 reads y1 instead) and the bits' write and read.
// Results equal the two conv_bn_act calls bitwise: the prologue is scale_shift_mrelu's own
// expression and every other kernel is the same (tests/cuda_backend/test_cuda_backend_pair.cpp).
// Everything else (the CPU, eval, BN statistics over several ranks) runs the two calls.
// a1 is not available to the caller: a model that captures a1 (mask search, PRAM) calls
// conv_bn_act twice instead.
#pragma once
#include "engine/core/tensor.h"
#include "engine/ops/activation.h"
#include "engine/ops/batchnorm.h"

namespace senet {

// One conv → BN → act layer's arguments, as conv_bn_act takes them.
struct ConvBnActLayer {
  Tensor w, gamma, beta;
  BatchNormState* st = nullptr;
  Act act = Act::None;
  Tensor mask;
  int stride = 1, pad = 0;
};

Tensor conv_bn_act_pair(const Tensor& x, const ConvBnActLayer& l1, const ConvBnActLayer& l2,
                        bool training, const Tensor& residual = Tensor());

}  // namespace senet
