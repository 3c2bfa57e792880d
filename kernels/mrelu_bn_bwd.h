// kernels/mrelu_bn_bwd.h — fused backward of BatchNorm → (+ residual) → masked ReLU, and the whole
// conv → BN → masked-ReLU backward (this, then dgrad and wgrad of the conv).
#pragma once
#include "kernels/conv2d_fprop.h"
#include "kernels/conv_bn_mrelu_tensors.h"
#include "kernels/conv_dy_bn.h"
#include "kernels/kernel_params.h"

namespace senet {

// Versions of launch 2, the merge of the T tile partials of each channel into dβ, dγ (launch 1,
// the tile reduction, is the same in both):
enum class mrelu_bn_bwd_version {
  v1_tile_reduce_merge,        // one thread per channel adds its T partials in order: a chain of T
  v2_tile_reduce_block_merge,  // a block per 32 channels, 16 threads per channel each add every
                               // 16th partial, then the 16 sums in order: chains of T/16 + 16
};
inline constexpr mrelu_bn_bwd_version kMreluBnBwdVersions[] = {
    mrelu_bn_bwd_version::v1_tile_reduce_merge, mrelu_bn_bwd_version::v2_tile_reduce_block_merge};
const char* mrelu_bn_bwd_version_name(mrelu_bn_bwd_version v);

struct mrelu_bn_bwd_params {
  int N = 0, K = 0, PQ = 0;  // da, y, dy, dresidual: N×K×PQ;  M = N·PQ per channel
  bool training = true;      // false: μ, σ were the running stats (constants): dy = (γ/σ)·dz
  int64_t count = 0;         // the M that dy divides dβ, dγ by; 0: M() — the whole batch's
                             // count when the statistics span several ranks (data-parallel BN)
  mrelu_bn_bwd_version version = mrelu_bn_bwd_version::v2_tile_reduce_block_merge;  // the merge
  SENET_HD int64_t M() const { return int64_t(N) * PQ; }
  SENET_HD int64_t size() const { return int64_t(N) * K * PQ; }
};

// Tensors: mrelu_bn_bwd_tensors (kernels/conv_bn_mrelu_tensors.h).

inline constexpr int kMreluBnBwdTile = 1024;  // (n,p,q) values per reduction block
int64_t mrelu_bn_bwd_num_partials(const mrelu_bn_bwd_params& p);
// 2 · partials · K (rounded up to 4), then kBnBwdCoefFloats · K.
int64_t mrelu_bn_bwd_workspace_floats(const mrelu_bn_bwd_params& p);

// Four launches: partial (Σdz, Σdz·x̂) per tile, fixed-order merge (p.version) → dβ, dγ, the
// per-channel constants of dy, elementwise dy (and dr).
cudaError_t mrelu_bn_bwd(mrelu_bn_bwd_params p, const mrelu_bn_bwd_tensors& t, cudaStream_t stream);
// Its halves, for BN statistics that span several ranks, whose dy needs the sums of every
// rank (the caller all-reduces dβ, dγ in between; t.dy is not touched by the first half):
//   reduce: t.dbeta, t.dgamma ← this process's Σdz, Σdz·x̂   (the first two launches)
//   apply:  t.dy (and t.dresidual) from the sums dbeta_all, dgamma_all and p.count
//           (= coefficients, then the element-wise kernel)
//   coefficients: only the constants, into t.workspace — for the folded BN backward, where dgrad
//           and wgrad compute dy themselves from mrelu_bn_bwd_folded_dy(p, t) (kernels/conv_dy_bn.h;
//           valid while t.workspace, da and y are)
cudaError_t mrelu_bn_bwd_reduce(mrelu_bn_bwd_params p, const mrelu_bn_bwd_tensors& t,
                                cudaStream_t stream);
cudaError_t mrelu_bn_bwd_apply(mrelu_bn_bwd_params p, const mrelu_bn_bwd_tensors& t,
                               const float* dbeta_all, const float* dgamma_all,
                               cudaStream_t stream);
cudaError_t mrelu_bn_bwd_coefficients(mrelu_bn_bwd_params p, const mrelu_bn_bwd_tensors& t,
                                      const float* dbeta_all, const float* dgamma_all,
                                      cudaStream_t stream);
// Launch 2 alone (the reduce's second launch): dbeta[k] = Σ_t part_dbeta[t·K + k] and dgamma[k] =
// Σ_t part_dgamma[t·K + k] over t < tiles, summed in double in version v's fixed order, then fp32.
cudaError_t mrelu_bn_bwd_merge(mrelu_bn_bwd_version v, int K, int tiles, const float* part_dbeta,
                               const float* part_dgamma, float* dbeta, float* dgamma,
                               cudaStream_t stream);
// dy as dgrad's and wgrad's prologue (dy_bn): da, y, the constants in t.workspace, y_act's mask and
// activation (none: dz = da). Only for t.bits and t.dresidual null: the gathers read no bits and
// write no dz.
conv_dy_bn mrelu_bn_bwd_folded_dy(const mrelu_bn_bwd_params& p, const mrelu_bn_bwd_tensors& t);

// The training backward of conv_bn_mrelu_fwd_train. dx or dw may be null (skipped).
// With t.dy: mrelu_bn_bwd into dy, then dx = dgrad(dy, w) (v2_register_block) and
// dw = wgrad(x, dy) (v2_split_k; v4 with x_act). With t.dy, t.bits and t.dresidual null: folded —
// the BN reduction and constants, then dgrad (v4; v5 when strided) and wgrad (v4) computing dy
// from da and y as they load it (kernels/conv_dy_bn.h): dy is never written.
// Tensors: conv_bn_mrelu_bwd_tensors (kernels/conv_bn_mrelu_tensors.h).
int64_t conv_bn_mrelu_bwd_workspace_floats(const Conv2dGeom& p);
cudaError_t conv_bn_mrelu_bwd(Conv2dGeom p, const conv_bn_mrelu_bwd_tensors& t,
                              cudaStream_t stream);

}  // namespace senet
