// engine/cpu/winograd.h — 3×3 stride-1 pad-1 convolutions by Winograd's minimal filtering
// F(2×2, 3×3): the next step after the direct kernels (engine/cpu/direct_conv.h) for the layers
// that have enough channels. A 2×2 output tile from a 4×4 input patch d and a 3×3 filter g:
//   Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A          16 multiplies instead of 36 (2.25× fewer)
//   Bᵀ = [1  0 −1  0]     G = [ 1   0   0]     Aᵀ = [1  1  1  0]
//        [0  1  1  0]         [½   ½   ½]          [0  1 −1 −1]
//        [0 −1  1  0]         [½  −½   ½]
//        [0  1  0 −1]         [ 0   0   1]
// Summed over input channels, each of the 16 transform positions ξ is a matrix product:
//   U_ξ[c][k] = (G g_kc Gᵀ)_ξ   V_ξ[t][c] = (Bᵀ d_tc B)_ξ   M_ξ[t][k] = Σ_c V_ξ[t][c]·U_ξ[c][k]
//   y tile t of channel k = Aᵀ M_·[t][k] A
// Backward (from Y = Aᵀ M A, M = U ⊙ V):
//   dgrad: the same F(2×2, 3×3) on dy with the flipped, transposed filter g'[c][k] = g[k][c] rotated 180°
//   wgrad: Ŷ_ξ[t][k] = (A dy_t Aᵀ)_ξ (dy's 2×2 tile → 4×4),  dU_ξ[c][k] = Σ_t V_ξ[t][c]·Ŷ_ξ[t][k],
//          dg[k][c] = Gᵀ dU_·[c][k] G (4×4 → 3×3)
// flops per pass: 2·16·T·C·K in the products (T = N·⌈P/2⌉·⌈Q/2⌉ tiles) plus the transforms, vs
// 2·N·P·Q·C·K·9 direct. Numerics: the transforms only add, subtract and halve, so small-integer
// inputs stay exact (bitwise equal to the definition, like the direct kernels); on random data the
// error is a few times the direct kernels' (tests allow 2e-5 relative to the largest |value|).
// Layout and threads: each image is copied channel-blocked and zero-padded; transforms and
// products run with vectors over 16 (AVX-512) or 8 (AVX2) channels: V[ξ][t][C], U[ξ][c][K],
// M[ξ][t][K]; fprop and dgrad give each thread its own images, in chunks of ≈ 128 tiles (so the 16
// U_ξ stream once per chunk); wgrad runs chunk by chunk on all threads, each (ξ, channel group)
// unit owned by one thread, so every result is bitwise the same for any thread count.
#pragma once
#include "engine/cpu/conv2d.h"
#include "engine/cpu/cpu_isa.h"

namespace senet::cpu {

// 3×3, stride 1, pad 1, and cpu_isa() (or `isa`) has vector kernels.
bool winograd_supported(const Conv2dGeom& g, CpuIsa isa = cpu_isa());

// The contracts of direct_conv_fprop / direct_conv_bprop (without the input map).
void winograd_fprop(const Conv2dGeom& g, const float* x, const float* w, float* y,
                    const ConvRowsHook& hook, CpuIsa isa = cpu_isa());
void winograd_bprop(const Conv2dGeom& g, const float* x, const float* w, const ConvDyFill& dy_fill,
                    float* dx, float* dw, CpuIsa isa = cpu_isa());

// The filter transforms (scalar, the same on every ISA):
//   U[ξ][c][ldk] = (G g[k][c] Gᵀ)_ξ for k < K (columns ≥ K of each row are set to 0), and for
//   dgrad with flip = true: U[ξ][k][ldc] = (G rot180(g[k][c]) Gᵀ)_ξ.
void winograd_filter_transform(const float* w, int K, int C, bool flip, float* U, int64_t ld);
// dg[k][c][3][3] = Gᵀ dU_·[c][k] G from dU[ξ][c][ldk].
void winograd_filter_grad(const float* dU, int K, int C, int64_t ld, float* dw);

// Per-ISA entry points (engine/cpu/winograd_avx512.cpp, winograd_avx2.cpp).
struct WinogradKernels {
  void (*fprop)(const Conv2dGeom&, const float*, const float*, float*, const ConvRowsHook&);
  void (*bprop)(const Conv2dGeom&, const float*, const float*, const ConvDyFill&, float*, float*);
};
const WinogradKernels& winograd_avx512();
const WinogradKernels& winograd_avx2();

}  // namespace senet::cpu
