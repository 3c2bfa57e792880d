// engine/ops/preact_block.h — a pre-activation residual block (WRN's) as one op, with autograd:
//   a = act1(BN1(x));   h = act2(BN2(conv1(a)));   out = conv2(h) + s,   s = conv_sc(a) or x
// conv1: 3×3, pad 1, at `stride`; conv2: 3×3, stride 1, pad 1; conv_sc: 1×1, pad 0, at `stride`
// (undefined: the identity shortcut s = x, which needs out's shape). No conv has a bias.
// Equal to the chain bn_act → conv_bn_act → conv2d → add (engine/ops/bn_act.h, conv_bn_act.h).
// CUDA training (one process): prologue fusion (issue 16, item 3) across the whole block — neither
// a nor h (nor their pass bits) is ever written:
//   BN1      its statistics of x alone (bn_scale_shift: μ1, 1/σ1, scale1, shift1);
//   conv1    the fused training forward reading x through act1 (x_act), lazy: y1 and BN2's
//            statistics (scale2, shift2), no h;
//   shortcut the prologue conv (kernels/conv2d_fprop_act.h) of x through act1;
//   conv2    the prologue conv of y1 through act2, with s added in its epilogue: out.
// Forward passes over the block's activations: x read twice (statistics, conv1), y1 written and
// read, s read, out written — 6 (+ 2 for a projection shortcut), where the chain takes 12 (+ 2):
// BN1 statistics 1, apply 2; conv1 2; BN2 apply 2; conv2 2; add 3 (kernels/README.md, step 20).
// Backward, from dout: conv2's dgrad (dh) and wgrad (y1 read through act2); BN2's backward with
// its pass bits recomputed from y1, conv1's dgrad (da) and wgrad (x read through act1); the
// shortcut's dgrad added to da, its wgrad (x through act1); BN1's backward with its pass bits
// recomputed from x; dout added to dx for the identity shortcut. The kernels are the chain's and
// the prologue conv runs conv2d_fprop's loops (split like v6, v8 or v9 on small grids), so the
// results equal the chain bitwise — tests/cuda_backend/test_cuda_backend_preact.cpp.
// Everything else (the CPU, eval, no gradient, BN statistics over several ranks) runs the chain.
// a and h are not available to the caller: a model that captures them (mask search, PRAM) or
// whose sites apply their own activation (Learned, Alpha) runs the chain itself.
#pragma once
#include "engine/core/tensor.h"
#include "engine/ops/activation.h"
#include "engine/ops/batchnorm.h"

namespace senet {

// A BatchNorm → act as bn_act takes it.
struct BnActLayer {
  Tensor gamma, beta;
  BatchNormState* st = nullptr;
  Act act = Act::None;
  Tensor mask;  // Act::MaskedReLU: [C] or [C, H, W]
};

struct PreactBlockArgs {
  BnActLayer bn1;
  Tensor w1;  // K×C×3×3
  int stride = 1;
  BnActLayer bn2;
  Tensor w2;          // K×K×3×3
  Tensor w_shortcut;  // K×C×1×1, or undefined: the identity
};

Tensor preact_block(const Tensor& x, const PreactBlockArgs& b, bool training);

}  // namespace senet
