// engine/cpu/conv2d.h — 2-D convolution (cross-correlation, zero padding) on the CPU.
// Shapes (NCHW): x N×C×H×W, w K×C×R×S, y N×K×P×Q, P = (H+2·pad−R)/stride+1, Q likewise.
// conv2d_fprop / conv2d_bprop run, per pass, Winograd F(2×2,3×3) (engine/cpu/winograd.h), the
// direct AVX-512/AVX2 kernels (engine/cpu/direct_conv.h) or the im2col + GEMM path below, as
// engine/cpu/conv_algo.h decides; im2col is also the oracle the others are tested against
// (conv2d_fprop_im2col / conv2d_bprop_im2col).
// The im2col path:
//   fprop  Y_gᵀ[g·PQ, K] = col_gᵀ · Wᵀ  →  transposed (in cache) to Y_g[K, g·PQ]
//   wgrad  dWᵀ[CRS, K]   += col_g · dY_gᵀ                          (per-thread partials, merged in order
//          and transposed to dW[K, CRS])
//   dgrad  dcol_g[CRS, g·PQ] = Wᵀ · dY_g  →  col2im → dX_g
// Why the transposed products: with small K (8–32, the CPU-sized models) Y_g = W · col_g and
// dW = dY_g · col_gᵀ produce a K-row result, which OpenBLAS's AVX-512 kernels run at about half speed
// (per core, 16→16 3×3: fprop 47 → 56 GFLOP/s, wgrad 36 → 74; 64→64: 83 → 89, 73 → 95). The
// transposes touch only K·g·PQ (fprop) or K·CRS (wgrad) floats. dgrad has no such choice: col2im
// needs dcol in the [CRS, g·PQ] layout, and Wᵀ · dY_g runs at the same speed however W is stored.
// flops (each of fprop, wgrad, dgrad) = 2·N·K·P·Q·C·R·S.
// Images are processed in groups of g (the plan): when P·Q is small (deep layers) several images go
// side by side so the GEMMs' g·PQ dimension stays ≳ 256 wide. Groups are split statically over the
// engine's threads; every sgemm call is single-threaded. A 1×1, stride-1, pad-0 convolution with g = 1
// reads X_n directly (no im2col).
// Hooks let the fused ops (engine/ops/conv_bn_act.cpp) work on data while it is in cache:
//   fprop: hook(tid, n, k0, k1, rows) runs on output rows [k0, k1) of image n once they are final;
//   bprop: dy_fill(tid, n0, g, scratch) returns dY_g, images n0..n0+g−1 side by side ([K, g·PQ]; a
//          pointer into dy when g = 1, or `scratch`). The direct path always asks for g = 1.
#pragma once
#include <cstdint>
#include <functional>

#include "kernels/conv2d_geom.h"

namespace senet::cpu {

// The geometry (N, C, H, W, K, R, S, stride, pad, P, Q; PQ(), HW(), CRS(), direct()) and its one
// factory conv2d_geom(), which fills P and Q, are the kernels' (kernels/conv2d_geom.h): both
// backends take the same struct.
using senet::conv2d_geom;
using senet::Conv2dGeom;

// Images per group: ⌈256/PQ⌉, but never so many that fewer groups than threads remain.
int conv2d_group_size(const Conv2dGeom& g, int nthreads);

// col[(c·R+r)·S+s, j·PQ + p·Q + q] = x[c, p·stride−pad+r, q·stride−pad+s] (0 outside), for one image
// x (C×H×W) written at column offset j·PQ of a matrix with leading dimension ld.
void im2col(const Conv2dGeom& g, const float* x, float* col, int64_t ld);
// The adjoint: dx[c, ih, iw] += dcol[...] for every tap that read (ih, iw).
void col2im(const Conv2dGeom& g, const float* dcol, int64_t ld, float* dx);

// A hook on finished output rows: rows [k0, k1) of image n (NCHW; `rows` points at row k0, each
// row P·Q floats), called right after the conv wrote them, while they are in cache.
using ConvRowsHook = std::function<void(int tid, int n, int k0, int k1, float* rows)>;
using ConvDyFill = std::function<const float*(int tid, int n0, int g, float* scratch)>;

// y = conv(x, w) (no bias; add it in the hook). `hook` may be empty.
void conv2d_fprop(const Conv2dGeom& g, const float* x, const float* w, float* y,
                  const ConvRowsHook& hook);
// dx = dgrad(dY, w) (overwritten) and dw = wgrad(x, dY) (overwritten); either may be null (skipped).
void conv2d_bprop(const Conv2dGeom& g, const float* x, const float* w, const ConvDyFill& dy_fill,
                  float* dx, float* dw);

// How many times conv2d_bprop asks dy_fill for each image (1, or 2 when dgrad and wgrad run as
// separate passes: different algorithms, or Winograd, whose dgrad and wgrad are separate), so that
// a caller whose dy_fill computes dy (the fused BN backward) can materialise dy once instead.
int conv2d_bprop_dy_reads(const Conv2dGeom& g, bool dx, bool dw);

// The im2col + GEMM implementations of the two (any ISA; the oracle for the direct kernels).
void conv2d_fprop_im2col(const Conv2dGeom& g, const float* x, const float* w, float* y,
                         const ConvRowsHook& hook);
void conv2d_bprop_im2col(const Conv2dGeom& g, const float* x, const float* w,
                         const ConvDyFill& dy_fill, float* dx, float* dw);

// Bias: rows[k, ·] += b[k0 + k] for the rows [k0, k1) of one image (for a hook);
// db[k] = Σ_{n,p,q} dy[n,k,p,q].
void conv2d_add_bias(const float* bias, int k0, int k1, int64_t PQ, float* rows);
void conv2d_bias_grad(const float* dy, int N, int K, int64_t PQ, float* db);

// The straightforward 7-loop definition, for tests and benchmarks (double accumulation).
void conv2d_reference(const Conv2dGeom& g, const float* x, const float* w, const float* bias,
                      float* y);

}  // namespace senet::cpu
