// engine/ops/bn_act.h — fused BatchNorm → (+ residual) → activation, with autograd. ResNet's
// post-residual site (BN → add → masked ReLU), pre-activation WRN's BN → ReLU, a shortcut's BN alone.
//   z = γ·(y−μ)/√(σ²+ε) + β (+ r);   a = act(z)   (Act::None: a = z; ReLU; MaskedReLU with `mask`)
//   μ, σ²: batch statistics in training (running stats updated as in batch_norm2d), running in eval
//   backward: dz = da ⊙ p (p: pass bits, 1 bit per element);  dr = dz;
//             dβ = Σdz, dγ = Σdz·x̂,  dy = (γ/σ)(dz − dβ/M − x̂·dγ/M)  (eval: (γ/σ)·dz)
// Passes over memory: forward 2 (statistics; one normalise+add+act pass writing a and the bits),
// backward 2 (dγ/dβ reduction; one pass writing dy and dr) — vs 4 and 5 for the unfused chain.
// Saves y, γ, μ, 1/σ and the bits. residual and mask may be undefined (mask only for MaskedReLU).
#pragma once
#include "engine/core/tensor.h"
#include "engine/cuda/cuda_ops.h"
#include "engine/ops/activation.h"
#include "engine/ops/batchnorm.h"

namespace senet {

Tensor bn_act(const Tensor& y, const Tensor& residual, const Tensor& gamma, const Tensor& beta,
              BatchNormState& st, bool training, Act act, const Tensor& mask);

// The CUDA path of bn_act and batch_norm2d (after their checks; records the node as `op`):
// bn_stats partials → bn_finalize (running stats updated on the device) → scale_shift_mrelu;
// backward mrelu_bn_bwd. Saves y, γ, μ, 1/σ (device tensors) and the device pass bits.
Tensor bn_act_cuda(const char* op, const Tensor& y, const Tensor& residual, const Tensor& gamma,
                   const Tensor& beta, BatchNormState& st, bool training, Act act,
                   const Tensor& mask);

// Data-parallel BN (engine/dist/sync_bn.h) on the CUDA path: p.sync when training-mode statistics
// must span the ranks, and p.count, the whole batch's N·H·W (the slices of a training batch are
// equal: senet/data_parallel.h). Call after p.N, p.HW and p.training are set.
void set_cuda_bn_sync(CudaBnAct& p);

}  // namespace senet
