// kernels/registry.cu — the kernel registry's data (see kernels/registry.h for the shape and byte
// conventions). One entry per (launcher, version); composite launchers (the fused training
// forward, the whole conv-BN-mReLU backward) are entries of their own, named by their launches.
#include "kernels/emu/cuda_compat.h"

#include <iterator>

#include "kernels/bn_stats.h"
#include "kernels/conv2d_dgrad.h"
#include "kernels/conv2d_fprop.h"
#include "kernels/conv2d_wgrad.h"
#include "kernels/conv_bn_mrelu_fwd.h"
#include "kernels/mrelu_bn_bwd.h"
#include "kernels/registry.h"

namespace senet {

// A new conv version must get a registry entry (and a case in tools/bench/cases/): these counts
// say how many versions the entries below cover.
static_assert(std::size(kConv2dFpropVersions) == 9,
              "conv2d_fprop version missing from the registry");
static_assert(std::size(kConv2dDgradVersions) == 11,
              "conv2d_dgrad version missing from the registry");
static_assert(std::size(kConv2dWgradVersions) == 5,
              "conv2d_wgrad version missing from the registry");

namespace {

using P = const Conv2dGeom&;
constexpr double F = 4.0;  // bytes per float

double y_of(P p) { return double(p.y_size()); }         // activation elements N·K·P·Q
double kpq_of(P p) { return double(p.K) * p.P * p.Q; }  // one image's activation (mask, α)
double nk_of(P p) { return double(p.N) * p.K; }         // head: logits N×O, or N×K channels
double conv_io(P p) { return F * double(p.x_size() + p.w_size() + p.y_size()); }
double bn_tiles(P p) { return double(bn_stats_num_partials({p.N, p.K, p.P * p.Q})); }
double conv_tiles(P p) { return double(conv2d_fprop_bn_partials_count(p)); }
double bwd_tiles(P p) { return double(mrelu_bn_bwd_num_partials({p.N, p.K, p.P * p.Q, true})); }
// im2col view of the conv's GEMM: A = M×K (M = N·P·Q, K = C·R·S), B = K×N (N = K), C = M×N
double gemm_io(P p) {
  return F *
         (double(p.gemm_m()) * p.gemm_k() + double(p.gemm_k()) * p.K + double(p.gemm_m()) * p.K);
}
// The forwards on a grid that the math's fprop split version splits (v6 FP32, v8 TF32: v9's plan
// is v8's) — that version, the prologue conv, the fused training forward: the slices written and
// read back; the fused forward then reads y once more for its statistics (bn_stats:
// per-1024-value partials instead of the epilogue's per-128-row ones).
using FV = conv2d_fprop_version;
double split_bytes(P p, FV v = FV::v6_simt_split_k) {
  return 2 * F * double(conv2d_fprop_workspace_floats(v, p));
}
bool splits(P p, FV v) { return conv2d_fprop_splits(p, v) > 1; }
double fwd_extra_bytes(P p, FV v) { return split_bytes(p, v) + (splits(p, v) ? F * y_of(p) : 0.0); }
double fwd_tiles(P p, FV v) { return splits(p, v) ? bn_tiles(p) : conv_tiles(p); }
double dgrad_split_bytes(P p, conv2d_dgrad_version v) {
  return 2 * F * double(conv2d_dgrad_workspace_floats(v, p));
}
// The layer backward with dy written (conv_bn_mrelu_bwd on the fast kernels, bits recomputed from
// y): BN reduce and elementwise passes over da and y, dy written, the partials; dgrad and wgrad
// read dy, w, x and write dx, dw; wgrad's slices; dgrad version v's slices (none for v4).
double layer_bwd_bytes(P p, conv2d_dgrad_version v) {
  return 2 * 2 * F * y_of(p) + F * y_of(p) + 2 * 2 * F * bwd_tiles(p) * p.K + 2 * conv_io(p) +
         2 * F * double(conv2d_wgrad_v2_workspace_floats(p)) + dgrad_split_bytes(p, v);
}
// mrelu_bn_bwd: reduce pass reads da, y, bits; elementwise pass reads them again, writes dy;
// partials (Σdz, Σdz·x̂) written and read.
double bn_bwd_bytes(P p) {
  return 2 * (2 * F * y_of(p) + y_of(p) / 8) + F * y_of(p) + 2 * 2 * F * bwd_tiles(p) * p.K +
         5 * F * p.K;
}

const kernel_entry kEntries[] = {
    // --- conv2d_fprop: y = conv(x, w)
    {"conv2d_fprop", "conv2d_fprop", "v1_direct", "one thread per output, the 7-loop definition",
     kernel_domain::conv, false, [](P p) { return double(p.flops()); }, conv_io},
    {"conv2d_fprop", "conv2d_fprop", "v2_smem_tile",
     "implicit GEMM, 16x16 tile, BK=16 slices in smem", kernel_domain::conv, false,
     [](P p) { return double(p.flops()); }, conv_io},
    {"conv2d_fprop", "conv2d_fprop", "v3_register_block",
     "implicit GEMM, 64x64 tile, 4x4 outputs/thread", kernel_domain::conv, false,
     [](P p) { return double(p.flops()); }, conv_io},
    {"conv2d_fprop", "conv2d_fprop", "v4_tf32_mma",
     "implicit GEMM on TF32 tensor cores (mma.m16n8k8), 128x64 tile, 8 warps", kernel_domain::conv,
     false, [](P p) { return double(p.flops()); }, conv_io},
    {"conv2d_fprop", "conv2d_fprop", "v5_simt_128x128",
     "FP32 implicit GEMM, 128x128 tile, 8x8/thread LDS.128, 2 stages, no division",
     kernel_domain::conv, false, [](P p) { return double(p.flops()); }, conv_io},
    {"conv2d_fprop", "conv2d_fprop", "v6_simt_split_k",
     "v5 with C·R·S split over the grid's z when it has < 264 blocks, slices summed in order",
     kernel_domain::conv, false, [](P p) { return double(p.flops()); },
     [](P p) { return conv_io(p) + split_bytes(p); },
     [](P p) { return conv2d_fprop_splits(p, FV::v6_simt_split_k); }},
    {"conv2d_fprop", "conv2d_fprop", "v7_tf32_wgmma",
     "TF32 on Hopper's warpgroup MMA (wgmma.m64nNk8 from shared memory), 128x128 or 128x64; "
     "v4 where it cannot run (no sm_90a, C % 16 != 0)",
     kernel_domain::conv, false, [](P p) { return double(p.flops()); }, conv_io},
    {"conv2d_fprop", "conv2d_fprop", "v8_tf32_split_k",
     "v4 with C·R·S split over the grid's z when it has < 264 blocks, slices summed in order",
     kernel_domain::conv, false, [](P p) { return double(p.flops()); },
     [](P p) { return conv_io(p) + split_bytes(p, FV::v8_tf32_split_k); },
     [](P p) { return conv2d_fprop_splits(p, FV::v8_tf32_split_k); }},
    {"conv2d_fprop", "conv2d_fprop", "v9_tf32_wgmma_split_k",
     "v7 (wgmma) split like v8; v8 where wgmma cannot run", kernel_domain::conv, false,
     [](P p) { return double(p.flops()); },
     [](P p) { return conv_io(p) + split_bytes(p, FV::v9_tf32_wgmma_split_k); },
     [](P p) { return conv2d_fprop_splits(p, FV::v9_tf32_wgmma_split_k); }},
    // --- conv2d_dgrad: dx = dgrad(dy, w)
    {"conv2d_dgrad", "conv2d_dgrad", "v1_direct", "one thread per dx element, loops k,r,s",
     kernel_domain::conv, false, [](P p) { return double(p.flops()); }, conv_io},
    {"conv2d_dgrad", "conv2d_dgrad", "v2_register_block",
     "implicit GEMM M=N·H·W N=C K=K·R·S, 64x64, 4x4/thread", kernel_domain::conv, false,
     [](P p) { return double(p.flops()); }, conv_io},
    {"conv2d_dgrad", "conv2d_dgrad", "v3_tf32_mma",
     "implicit GEMM on TF32 tensor cores, 128x64 tile, 8 warps", kernel_domain::conv, false,
     [](P p) { return double(p.flops()); }, conv_io},
    {"conv2d_dgrad", "conv2d_dgrad", "v4_simt_128x128",
     "FP32 implicit GEMM, 128x128 tile, 8x8/thread LDS.128, 2 stages, no division",
     kernel_domain::conv, false, [](P p) { return double(p.flops()); }, conv_io},
    {"conv2d_dgrad", "conv2d_dgrad", "v5_simt_phases",
     "v4 per stride phase of dx: only the taps that reach it (no zero taps when strided)",
     kernel_domain::conv, false, [](P p) { return double(p.flops()); }, conv_io},
    {"conv2d_dgrad", "conv2d_dgrad", "v6_tf32_wgmma",
     "TF32 on Hopper's warpgroup MMA (wgmma.m64nNk8 from shared memory), 128x128 or 128x64; "
     "v3 where it cannot run (no sm_90a, K % 16 != 0)",
     kernel_domain::conv, false, [](P p) { return double(p.flops()); }, conv_io},
    {"conv2d_dgrad", "conv2d_dgrad", "v7_simt_split_k",
     "v4 with K·R·S split over the grid's z when it has < 264 blocks, slices summed in order; "
     "v5 when strided",
     kernel_domain::conv, false, [](P p) { return double(p.flops()); },
     [](P p) { return conv_io(p) + dgrad_split_bytes(p, conv2d_dgrad_version::v7_simt_split_k); },
     [](P p) { return conv2d_dgrad_splits(p, conv2d_dgrad_version::v7_simt_split_k); }},
    {"conv2d_dgrad", "conv2d_dgrad", "v8_tf32_split_k",
     "v3 with K·R·S split over the grid's z when it has < 264 blocks, slices summed in order; "
     "v10 when strided",
     kernel_domain::conv, false, [](P p) { return double(p.flops()); },
     [](P p) { return conv_io(p) + dgrad_split_bytes(p, conv2d_dgrad_version::v8_tf32_split_k); },
     [](P p) { return conv2d_dgrad_splits(p, conv2d_dgrad_version::v8_tf32_split_k); }},
    {"conv2d_dgrad", "conv2d_dgrad", "v9_tf32_wgmma_split_k",
     "v6 (wgmma) split like v8, v11 when strided; v8 where wgmma cannot run", kernel_domain::conv,
     false, [](P p) { return double(p.flops()); },
     [](P p) {
       return conv_io(p) + dgrad_split_bytes(p, conv2d_dgrad_version::v9_tf32_wgmma_split_k);
     },
     [](P p) { return conv2d_dgrad_splits(p, conv2d_dgrad_version::v9_tf32_wgmma_split_k); }},
    {"conv2d_dgrad", "conv2d_dgrad", "v10_tf32_phases",
     "v5's stride phases (no zero taps) on v3's TF32 tiles; v3 when not strided",
     kernel_domain::conv, false, [](P p) { return double(p.flops()); }, conv_io},
    {"conv2d_dgrad", "conv2d_dgrad", "v11_tf32_wgmma_phases",
     "v10 on Hopper's wgmma tiles; v10 where wgmma cannot run", kernel_domain::conv, false,
     [](P p) { return double(p.flops()); }, conv_io},
    // --- conv2d_wgrad: dw = wgrad(x, dy)
    {"conv2d_wgrad", "conv2d_wgrad", "v1_direct", "one thread per dw element, loops n,p,q",
     kernel_domain::conv, false, [](P p) { return double(p.flops()); }, conv_io},
    {"conv2d_wgrad", "conv2d_wgrad", "v2_split_k",
     "implicit GEMM split over N·P·Q, in-order slice reduction", kernel_domain::conv, false,
     [](P p) { return double(p.flops()); },
     [](P p) { return conv_io(p) + 2 * F * double(conv2d_wgrad_v2_workspace_floats(p)); }},
    {"conv2d_wgrad", "conv2d_wgrad", "v3_tf32_split_k",
     "v2's split over N·P·Q, slices on TF32 tensor cores, 64x128 tile", kernel_domain::conv, false,
     [](P p) { return double(p.flops()); },
     [](P p) { return conv_io(p) + 2 * F * double(conv2d_wgrad_v2_workspace_floats(p)); }},
    {"conv2d_wgrad", "conv2d_wgrad", "v4_simt_split_k",
     "v2's split over N·P·Q, FP32 128x128 tile, 8x8/thread, no division", kernel_domain::conv,
     false, [](P p) { return double(p.flops()); },
     [](P p) { return conv_io(p) + 2 * F * double(conv2d_wgrad_v2_workspace_floats(p)); }},
    {"conv2d_wgrad", "conv2d_wgrad", "v5_tf32_wgmma",
     "v3 on Hopper's warpgroup MMA (wgmma.m64n128k8 from shared memory), 128x128 when K >= 128; "
     "v3 where it cannot run (no sm_90a, K < 128)",
     kernel_domain::conv, false, [](P p) { return double(p.flops()); },
     [](P p) { return conv_io(p) + 2 * F * double(conv2d_wgrad_v2_workspace_floats(p)); }},
    // --- BatchNorm statistics and finalize
    {"bn_stats", "bn_stats_partials", "v1_two_pass_tile",
     "per 1024-value tile (count, mean, M2) of y", kernel_domain::activation, false,
     [](P p) { return 3 * y_of(p); }, [](P p) { return F * y_of(p) + 3 * F * bn_tiles(p) * p.K; }},
    {"bn_finalize", "bn_finalize_train", "v1_thread_per_channel",
     "Chan merge of partials -> mu, 1/sigma, scale, shift, running", kernel_domain::activation,
     false, [](P p) { return 10 * bn_tiles(p) * p.K; },
     [](P p) { return 3 * F * bn_tiles(p) * p.K + 10 * F * p.K; }},
    {"bn_finalize", "bn_finalize_train", "v2_block_merge",
     "Chan merge, 16 groups per channel then in order", kernel_domain::activation, false,
     [](P p) { return 10 * bn_tiles(p) * p.K; },
     [](P p) { return 3 * F * bn_tiles(p) * p.K + 10 * F * p.K; }},
    {"bn_finalize", "bn_finalize_eval", "v1_thread_per_channel",
     "running stats -> mu, 1/sigma, scale, shift", kernel_domain::activation, false,
     [](P p) { return 6.0 * p.K; }, [](P p) { return 8 * F * p.K; }},
    {"scale_shift_mrelu", "scale_shift_mrelu", "v1_ballot_bits",
     "a = mrelu(scale*y + shift), pass bits by warp ballot", kernel_domain::activation, false,
     [](P p) { return 2 * y_of(p); },
     [](P p) { return 2 * F * y_of(p) + y_of(p) / 8 + kpq_of(p) + 2 * F * p.K; }},
    // --- fused conv -> BN -> masked ReLU
    {"conv_bn_mrelu_fwd", "conv2d_fprop_bn_partials", "v5_simt_bn_epilogue",
     "conv v5 (FP32) + per-128-row BN partials in the epilogue", kernel_domain::conv, false,
     [](P p) { return double(p.flops()) + 3 * y_of(p); },
     [](P p) { return conv_io(p) + 3 * F * conv_tiles(p) * p.K; }},
    {"conv_bn_mrelu_fwd", "conv2d_fprop_bn_partials", "v4_tf32_bn_epilogue",
     "conv v4 (TF32 tensor cores) + per-128-row BN partials", kernel_domain::conv, false,
     [](P p) { return double(p.flops()) + 3 * y_of(p); },
     [](P p) { return conv_io(p) + 3 * F * conv_tiles(p) * p.K; }},
    {"conv_bn_mrelu_fwd", "conv2d_fprop_bn_partials", "v7_tf32_wgmma_bn_epilogue",
     "conv v7 (TF32 on Hopper's wgmma; v4 where it cannot run) + per-128-row BN partials",
     kernel_domain::conv, false, [](P p) { return double(p.flops()) + 3 * y_of(p); },
     [](P p) { return conv_io(p) + 3 * F * conv_tiles(p) * p.K; }},
    {"conv_bn_mrelu_fwd", "conv_bn_mrelu_fwd_train", "3_launches",
     "conv+partials -> bn_finalize -> scale_shift_mrelu (training; small grids: split conv, "
     "bn_stats)",
     kernel_domain::conv, false, [](P p) { return double(p.flops()) + 5 * y_of(p); },
     [](P p) {
       return conv_io(p) + 2 * F * y_of(p) + y_of(p) / 8 + kpq_of(p) +
              2 * 3 * F * fwd_tiles(p, FV::v6_simt_split_k) * p.K +
              fwd_extra_bytes(p, FV::v6_simt_split_k);
     }},
    {"conv_bn_mrelu_fwd", "conv_bn_mrelu_fwd_train", "3_launches_tf32",
     "the same with the conv on TF32 tensor cores", kernel_domain::conv, false,
     [](P p) { return double(p.flops()) + 5 * y_of(p); },
     [](P p) {
       return conv_io(p) + 2 * F * y_of(p) + y_of(p) / 8 + kpq_of(p) +
              2 * 3 * F * fwd_tiles(p, FV::v8_tf32_split_k) * p.K +
              fwd_extra_bytes(p, FV::v8_tf32_split_k);
     }},
    {"conv_bn_mrelu_fwd", "conv_bn_mrelu_fwd_train", "3_launches_tf32_wgmma",
     "the same with the conv on Hopper's wgmma (params.wgmma)", kernel_domain::conv, false,
     [](P p) { return double(p.flops()) + 5 * y_of(p); },
     [](P p) {
       return conv_io(p) + 2 * F * y_of(p) + y_of(p) / 8 + kpq_of(p) +
              2 * 3 * F * fwd_tiles(p, FV::v8_tf32_split_k) * p.K +
              fwd_extra_bytes(p, FV::v8_tf32_split_k);
     }},
    // prologue fusion (kernels/conv_input_act.h): x is the previous layer's y, act on load; the
    // layer writes y and its BN statistics only (its own activation is left to the next conv)
    {"conv_bn_mrelu_fwd", "conv_bn_mrelu_fwd_train", "prologue_lazy",
     "conv of act(scale*y_prev + shift) on load + BN partials -> finalize (no a, no bits)",
     kernel_domain::conv, false,
     [](P p) { return double(p.flops()) + 3 * y_of(p) + 2 * double(p.x_size()); },
     [](P p) {
       return conv_io(p) + F * double(p.x_size()) / 4 + 2 * F * p.C +
              2 * 3 * F * fwd_tiles(p, FV::v6_simt_split_k) * p.K +
              fwd_extra_bytes(p, FV::v6_simt_split_k);
     }},
    {"conv_bn_mrelu_fwd", "conv_bn_mrelu_fwd_train", "prologue_lazy_tf32",
     "the same with the conv on TF32 tensor cores", kernel_domain::conv, false,
     [](P p) { return double(p.flops()) + 3 * y_of(p) + 2 * double(p.x_size()); },
     [](P p) {
       return conv_io(p) + F * double(p.x_size()) / 4 + 2 * F * p.C +
              2 * 3 * F * fwd_tiles(p, FV::v8_tf32_split_k) * p.K +
              fwd_extra_bytes(p, FV::v8_tf32_split_k);
     }},
    {"conv_bn_mrelu_fwd", "conv_bn_mrelu_fwd_train", "prologue_lazy_tf32_wgmma",
     "the same with the conv on Hopper's wgmma (params.wgmma)", kernel_domain::conv, false,
     [](P p) { return double(p.flops()) + 3 * y_of(p) + 2 * double(p.x_size()); },
     [](P p) {
       return conv_io(p) + F * double(p.x_size()) / 4 + 2 * F * p.C +
              2 * 3 * F * fwd_tiles(p, FV::v8_tf32_split_k) * p.K +
              fwd_extra_bytes(p, FV::v8_tf32_split_k);
     }},
    {"conv_bn_mrelu_fwd", "conv_bn_fold", "v1_grid_stride",
     "w' = w*gamma/sigma, b' = beta - mu*gamma/sigma (once per model)", kernel_domain::param, false,
     [](P p) { return 2.0 * double(p.w_size()); },
     [](P p) { return 2 * F * double(p.w_size()) + 5 * F * p.K; }},
    {"conv_bn_mrelu_fwd", "conv_bn_mrelu_infer", "v5_simt_act_epilogue",
     "folded conv + bias + mReLU in the epilogue (1 launch)", kernel_domain::conv, false,
     [](P p) { return double(p.flops()) + 2 * y_of(p); },
     [](P p) { return conv_io(p) + kpq_of(p) + F * p.K; }},
    {"conv_bn_mrelu_fwd", "conv_bn_mrelu_infer", "v4_tf32_act_epilogue",
     "the same on TF32 tensor cores", kernel_domain::conv, false,
     [](P p) { return double(p.flops()) + 2 * y_of(p); },
     [](P p) { return conv_io(p) + kpq_of(p) + F * p.K; }},
    {"conv_bn_mrelu_fwd", "conv_bn_mrelu_infer", "v7_tf32_wgmma_act_epilogue",
     "the same on Hopper's wgmma (params.wgmma)", kernel_domain::conv, false,
     [](P p) { return double(p.flops()) + 2 * y_of(p); },
     [](P p) { return conv_io(p) + kpq_of(p) + F * p.K; }},
    // the pre-activation block's plain convs (engine/ops/preact_block.h): x read through the
    // previous BN's act(scale*x + shift), a residual added as y is stored
    {"conv2d_fprop_act", "conv2d_fprop_act", "v5_simt_prologue_residual",
     "conv of act(scale*x + shift) on load, + residual in the epilogue (FP32; split like v6)",
     kernel_domain::conv, false,
     [](P p) { return double(p.flops()) + 2 * double(p.x_size()) + y_of(p); },
     [](P p) {
       return conv_io(p) + F * y_of(p) + 2 * F * p.C + double(p.C) * p.H * p.W + split_bytes(p);
     }},
    {"conv2d_fprop_act", "conv2d_fprop_act", "v4_tf32_prologue_residual",
     "the same on TF32 tensor cores (split like v8)", kernel_domain::conv, false,
     [](P p) { return double(p.flops()) + 2 * double(p.x_size()) + y_of(p); },
     [](P p) {
       return conv_io(p) + F * y_of(p) + 2 * F * p.C + double(p.C) * p.H * p.W +
              split_bytes(p, FV::v8_tf32_split_k);
     }},
    {"conv2d_fprop_act", "conv2d_fprop_act", "v7_tf32_wgmma_prologue_residual",
     "the same on Hopper's wgmma (params.wgmma; split like v9)", kernel_domain::conv, false,
     [](P p) { return double(p.flops()) + 2 * double(p.x_size()) + y_of(p); },
     [](P p) {
       return conv_io(p) + F * y_of(p) + 2 * F * p.C + double(p.C) * p.H * p.W +
              split_bytes(p, FV::v8_tf32_split_k);
     }},
    // --- backward
    {"mrelu_bn_bwd", "mrelu_bn_bwd", "v1_tile_reduce_merge",
     "(sum dz, sum dz*xhat) per tile, in-order merge, elementwise dy", kernel_domain::activation,
     false, [](P p) { return 12 * y_of(p); }, bn_bwd_bytes},
    {"mrelu_bn_bwd", "mrelu_bn_bwd", "v2_tile_reduce_block_merge",
     "(sum dz, sum dz*xhat) per tile, merge in 16 groups per channel then in order, elementwise dy",
     kernel_domain::activation, false, [](P p) { return 12 * y_of(p); }, bn_bwd_bytes},
    {"mrelu_bn_bwd", "conv_bn_mrelu_bwd", "bn_bwd+dgrad_v2+wgrad_v2",
     "mrelu_bn_bwd -> dgrad v2 -> wgrad v2 split-K", kernel_domain::conv, false,
     [](P p) { return 2.0 * double(p.flops()) + 12 * y_of(p); },
     [](P p) {
       return bn_bwd_bytes(p) + 2 * conv_io(p) +
              2 * F * double(conv2d_wgrad_v2_workspace_floats(p));
     }},
    // the same layer on the fast kernels, pass bits recomputed from y (no bits read): the BN
    // backward writes dy, dgrad and wgrad read it — against the folded one below
    {"mrelu_bn_bwd", "conv_bn_mrelu_bwd", "bn_bwd+dgrad_v4+wgrad_v4",
     "reduce -> constants -> dy -> dgrad v4/v5 and wgrad v4", kernel_domain::conv, false,
     [](P p) { return 2.0 * double(p.flops()) + 14 * y_of(p); },
     [](P p) { return layer_bwd_bytes(p, conv2d_dgrad_version::v4_simt_128x128); }},
    // the same on the kernels the engine runs (engine/cuda/ops_table.cpp): FP32 dgrad v7 (split
    // where the grid is small, v5's phases when strided) and wgrad v4; TF32 (mma.sync, or wgmma)
    // dgrad v8 / v9 (the phases v10 / v11 when strided) and wgrad v3 / v5 — the layer backward
    // against cuDNN's of the same math
    {"mrelu_bn_bwd", "conv_bn_mrelu_bwd", "bn_bwd+dgrad_v7+wgrad_v4",
     "reduce -> constants -> dy -> dgrad v7 (v5 strided) and wgrad v4: the engine's FP32 path",
     kernel_domain::conv, false, [](P p) { return 2.0 * double(p.flops()) + 14 * y_of(p); },
     [](P p) { return layer_bwd_bytes(p, conv2d_dgrad_version::v7_simt_split_k); }},
    {"mrelu_bn_bwd", "conv_bn_mrelu_bwd", "bn_bwd+dgrad_v8+wgrad_v3_tf32",
     "reduce -> constants -> dy -> dgrad v8 (v10 strided) and wgrad v3 on TF32 mma.sync",
     kernel_domain::conv, false, [](P p) { return 2.0 * double(p.flops()) + 14 * y_of(p); },
     [](P p) { return layer_bwd_bytes(p, conv2d_dgrad_version::v8_tf32_split_k); }},
    {"mrelu_bn_bwd", "conv_bn_mrelu_bwd", "bn_bwd+dgrad_v9+wgrad_v5_tf32_wgmma",
     "reduce -> constants -> dy -> dgrad v9 (v11 strided) and wgrad v5 on TF32 wgmma",
     kernel_domain::conv, false, [](P p) { return 2.0 * double(p.flops()) + 14 * y_of(p); },
     [](P p) { return layer_bwd_bytes(p, conv2d_dgrad_version::v9_tf32_wgmma_split_k); }},
    // the BN backward folded into dgrad and wgrad (kernels/conv_dy_bn.h): the reduction pass reads
    // da and y; dgrad and wgrad each read da and y instead of dy; no dy written, no bits
    {"mrelu_bn_bwd", "conv_bn_mrelu_bwd", "folded_dgrad_v4+wgrad_v4",
     "reduce -> constants -> dgrad v4/v5 and wgrad v4 computing dy from da, y on load",
     kernel_domain::conv, false, [](P p) { return 2.0 * double(p.flops()) + 14 * y_of(p); },
     [](P p) {
       return 2 * F * y_of(p) + 2 * 2 * F * bwd_tiles(p) * p.K + 2 * (conv_io(p) + F * y_of(p)) +
              2 * F * double(conv2d_wgrad_v2_workspace_floats(p));
     }},
    // --- elementwise on the activation
    {"elementwise", "axpby_launch", "v1_grid_stride", "y = alpha*a + beta*b",
     kernel_domain::activation, false, [](P p) { return 3 * y_of(p); },
     [](P p) { return 3 * F * y_of(p); }},
    {"elementwise", "mul_launch", "v1_grid_stride", "y = a * b", kernel_domain::activation, false,
     [](P p) { return y_of(p); }, [](P p) { return 3 * F * y_of(p); }},
    {"elementwise", "fill_launch", "v1_grid_stride", "y = value", kernel_domain::activation, false,
     [](P) { return 0.0; }, [](P p) { return F * y_of(p); }},
    {"elementwise", "copy_launch", "v1_grid_stride", "y = x", kernel_domain::activation, false,
     [](P) { return 0.0; }, [](P p) { return 2 * F * y_of(p); }},
    // --- reductions
    {"reduce", "sum_launch", "v1_two_level",
     "sum of the activation, double, <=512 partials then 1 block", kernel_domain::activation, false,
     [](P p) { return y_of(p); }, [](P p) { return F * y_of(p); }},
    {"reduce", "sum_single_block_launch", "v1_single_block",
     "sum of N per-row losses with one block", kernel_domain::head, false,
     [](P p) { return double(p.N); }, [](P p) { return F * p.N + F; }},
    {"reduce", "count_correct_launch", "v1_warp_per_row", "top-1 hits of N x O logits",
     kernel_domain::head, false, [](P p) { return nk_of(p); },
     [](P p) { return F * nk_of(p) + F * p.N; }},
    {"global_avg_pool", "global_avg_pool_forward_launch", "v1_warp_per_row",
     "y[n,k] = mean over P x Q", kernel_domain::activation, false, [](P p) { return y_of(p); },
     [](P p) { return F * (y_of(p) + nk_of(p)); }},
    {"global_avg_pool", "global_avg_pool_backward_launch", "v1_grid_stride",
     "dx[n,k,p,q] = dy[n,k]/PQ", kernel_domain::activation, false, [](P p) { return y_of(p); },
     [](P p) { return F * (y_of(p) + nk_of(p)); }},
    // --- GEMM at the conv's implicit-GEMM size (M = N·P·Q, N = K, K = C·R·S; A = im2col(x) stored)
    {"gemm", "sgemm_launch", "v2_smem_tile_4x4", "portable tiled SGEMM, 64x64x16 smem tiles",
     kernel_domain::conv, false, [](P p) { return double(p.flops()); }, gemm_io},
    {"gemm", "sgemm_launch", "cublas", "cublasSgemm (baseline: the explicit-GEMM path)",
     kernel_domain::conv, true, [](P p) { return double(p.flops()); }, gemm_io},
    // --- the FC head (x N×F, w O×F, y N×O)
    {"linear", "bias_add_launch", "v1_grid_stride", "y[n,o] += b[o]", kernel_domain::head, false,
     [](P p) { return nk_of(p); }, [](P p) { return 2 * F * nk_of(p) + F * p.K; }},
    {"linear", "bias_grad_launch", "v1_column_strip", "db[o] = sum_n dy[n,o], in order",
     kernel_domain::head, false, [](P p) { return nk_of(p); },
     [](P p) { return F * nk_of(p) + F * p.K; }},
    {"linear", "linear_forward_launch", "sgemm+bias_add", "y = x w^T + b", kernel_domain::head,
     false, [](P p) { return 2.0 * p.N * p.C * p.K + nk_of(p); },
     [](P p) { return F * (double(p.N) * p.C + double(p.K) * p.C + nk_of(p) + p.K); }},
    {"linear", "linear_backward_launch", "2_sgemm+bias_grad", "dx = dy w, dw = dy^T x, db = sum dy",
     kernel_domain::head, false, [](P p) { return 4.0 * p.N * p.C * p.K + nk_of(p); },
     [](P p) { return F * (nk_of(p) + 2.0 * p.N * p.C + 2.0 * p.K * p.C + p.K); }},
    {"softmax_xent", "softmax_xent_forward_launch", "v1_warp_per_row",
     "probs = softmax(z), loss = mean CE", kernel_domain::head, false,
     [](P p) { return 5 * nk_of(p); }, [](P p) { return 2 * F * nk_of(p) + 3 * F * p.N; }},
    {"softmax_xent", "softmax_xent_backward_launch", "v1_grid_stride", "dz = g (probs - onehot)/N",
     kernel_domain::head, false, [](P p) { return 2 * nk_of(p); },
     [](P p) { return 2 * F * nk_of(p) + F * p.N; }},
    {"kd_loss", "kd_forward_launch", "v1_warp_per_row", "T^2 KL(softmax(zt/T) || softmax(zs/T))",
     kernel_domain::head, false, [](P p) { return 10 * nk_of(p); },
     [](P p) { return 4 * F * nk_of(p) + F * p.N; }},
    {"kd_loss", "kd_backward_launch", "v1_grid_stride", "dzs = g (T/N)(ps - pt)",
     kernel_domain::head, false, [](P p) { return 3 * nk_of(p); },
     [](P p) { return 3 * F * nk_of(p); }},
    // --- losses and activations on feature maps
    {"pram_loss", "pram_forward_launch", "v1_block_per_sample",
     "attention maps of student and teacher, PRAM distance", kernel_domain::activation, false,
     [](P p) { return 4 * y_of(p); }, [](P p) { return 2 * F * y_of(p); }},
    {"pram_loss", "pram_backward_launch", "v1_block+grid_stride", "dq per sample, dA = dq 2A/C",
     kernel_domain::activation, false, [](P p) { return 3 * y_of(p); },
     [](P p) { return 2 * F * y_of(p); }},
    {"masked_relu", "masked_relu_forward_launch", "v1_warp_per_word",
     "y = m ? max(x,0) : x, ballot pass bits", kernel_domain::activation, false,
     [](P p) { return y_of(p); }, [](P p) { return 2 * F * y_of(p) + kpq_of(p) + y_of(p) / 8; }},
    {"masked_relu", "masked_relu_backward_launch", "v1_grid_stride", "dx = bit ? dy : 0",
     kernel_domain::activation, false, [](P) { return 0.0; },
     [](P p) { return 2 * F * y_of(p) + y_of(p) / 8; }},
    {"masked_relu", "alpha_relu_forward_launch", "v1_grid_stride",
     "y = alpha relu(x) + (1-alpha) x (SNL)", kernel_domain::activation, false,
     [](P p) { return 3 * y_of(p); }, [](P p) { return 2 * F * y_of(p) + F * kpq_of(p); }},
    {"masked_relu", "alpha_relu_backward_launch", "v1_grid_stride+thread_per_position",
     "dx, dalpha = -sum_n [x<=0] dy x", kernel_domain::activation, false,
     [](P p) { return 5 * y_of(p); }, [](P p) { return 3 * F * y_of(p) + 2 * F * kpq_of(p); }},
    {"l1", "l1_forward_launch", "v1_two_level", "sum |alpha| (alpha: K·P·Q of the site)",
     kernel_domain::activation, false, [](P p) { return kpq_of(p); },
     [](P p) { return F * kpq_of(p); }},
    {"l1", "l1_backward_launch", "v1_grid_stride", "dalpha = g sign(alpha)",
     kernel_domain::activation, false, [](P p) { return kpq_of(p); },
     [](P p) { return 2 * F * kpq_of(p); }},
    // --- optimizers on the conv's weight
    {"optim_update", "sgd_update_launch", "v1_grid_stride",
     "SGD, momentum 0.9, weight decay, in place", kernel_domain::param, false,
     [](P p) { return 5.0 * double(p.w_size()); }, [](P p) { return 5 * F * double(p.w_size()); }},
    {"optim_update", "adam_update_launch", "v1_grid_stride", "Adam(W), in place",
     kernel_domain::param, false, [](P p) { return 12.0 * double(p.w_size()); },
     [](P p) { return 7 * F * double(p.w_size()); }},
    {"optim_update", "sgd_update_multi_launch", "v2_multi_tensor",
     "SGD as above, the weight cut into 8 tensors updated in one launch", kernel_domain::param,
     false, [](P p) { return 5.0 * double(p.w_size()); },
     [](P p) { return 5 * F * double(p.w_size()); }},
    {"optim_update", "adam_update_multi_launch", "v2_multi_tensor",
     "Adam(W) as above, the weight cut into 8 tensors updated in one launch", kernel_domain::param,
     false, [](P p) { return 12.0 * double(p.w_size()); },
     [](P p) { return 7 * F * double(p.w_size()); }},
    // --- SENet mask search on the site after the conv
    {"mask_search", "mask_accumulate_absdiff_launch", "v1_thread_per_position",
     "D[l] += sum_b |a_t - a_s|", kernel_domain::activation, false, [](P p) { return 3 * y_of(p); },
     [](P p) { return 2 * F * y_of(p) + 2 * F * kpq_of(p); }},
    {"mask_search", "channel_scores_launch", "v1_block_per_channel",
     "scores[k] = sum over P x Q of D", kernel_domain::activation, false,
     [](P p) { return kpq_of(p); }, [](P p) { return F * kpq_of(p) + F * p.K; }},
    {"mask_search", "topk_mask_launch", "v1_radix_select",
     "exact top-k (k = half) mask of K·P·Q scores, 4 radix passes", kernel_domain::activation,
     false, [](P) { return 0.0; }, [](P p) { return 4 * F * kpq_of(p) + kpq_of(p); }},
    // --- a learned site's mask (senet.mask_learner = ste)
    {"straight_through", "straight_through_forward_launch", "v1_topk_magnitude+grid_stride",
     "mask = top-k |s| (k = half) of K·P·Q scores, y = mask", kernel_domain::activation, false,
     [](P) { return 0.0; }, [](P p) { return 5 * F * kpq_of(p) + 2 * kpq_of(p); }},
    {"straight_through", "straight_through_backward_launch", "v1_grid_stride", "ds = dy sign(s)",
     kernel_domain::activation, false, [](P) { return 0.0; },
     [](P p) { return 3 * F * kpq_of(p); }},
};

}  // namespace

const char* kernel_domain_name(kernel_domain d) {
  switch (d) {
    case kernel_domain::conv: return "conv";
    case kernel_domain::activation: return "activation";
    case kernel_domain::param: return "param";
    case kernel_domain::head: return "head";
  }
  return "?";
}

const kernel_entry* kernel_registry(size_t* count) {
  *count = std::size(kEntries);
  return kEntries;
}

}  // namespace senet
