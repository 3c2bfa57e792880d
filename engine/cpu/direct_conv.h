// engine/cpu/direct_conv.h — direct (non-im2col) convolutions on the CPU: fprop, dgrad, wgrad with
// AVX-512 or AVX2 register-blocked kernels (engine/cpu/direct_conv_kernels.h), chosen by CPUID
// (engine/cpu/cpu_isa.h). Tensors are NCHW at this boundary, like the rest of the engine; the
// kernels work on per-thread copies in the layouts they want, built while the data is in cache.
//
// The math (x: N×C×H×W, w: K×C×R×S, y: N×K×P×Q, stride t, padding p; x is 0 outside the image):
//   fprop  y[n,k,i,j]  = Σ_{c,r,s} x[n, c, t·i−p+r, t·j−p+s] · w[k,c,r,s]
//   dgrad  dx[n,c,h,v] = Σ_{k,r,s : h = t·i−p+r, v = t·j−p+s} dy[n,k,i,j] · w[k,c,r,s]
//   wgrad  dw[k,c,r,s] = Σ_{n,i,j} dy[n,k,i,j] · x[n, c, t·i−p+r, t·j−p+s]
//   flops of each = 2·N·K·P·Q·C·R·S
//
// How (../shared/CPU_CONV.md has the measurements behind each choice):
// - "Broadcast the input, vector over output channels": an output tile of UQ pixels of one row ×
//   UK vectors of V = 16 (zmm) or 8 (ymm) channels lives in registers; for each input channel and
//   kernel row the S·UK weight vectors are loaded once and every input pixel of the row is
//   broadcast once and feeds the (up to S) outputs that read it. 0.3–0.45 loads per FMA.
// - Weights are repacked per call into [K/V][C][R][S][V] (fprop) and per phase into
//   [C/V][K][R'][S'][V] (dgrad; flipped), with V×V register transposes.
// - Each image is first copied into a zero-padded per-chunk buffer (no bounds checks in the
//   kernels; an optional per-channel affine map + (masked) ReLU is applied on the way: prologue
//   fusion). The output tile is written channel-blocked ([P][Q][V]) into a per-thread buffer and
//   transposed to NCHW in V×V register blocks; a hook then sees those rows while they are in cache
//   (epilogue fusion: bias, BN statistics, activation).
// - dgrad at stride 2 is split into its t² output phases (h mod t, v mod t); each phase is a
//   stride-1 convolution of dy with the taps that reach it (for 3×3: 2×2, 2×1, 1×2, 1×1) — no FMA
//   on inserted zeros.
// - wgrad: a unit = (UKB output-channel vectors, UC input channels, one kernel row) keeps its
//   UKB·UC·S accumulator vectors in registers across a chunk of images; per input pixel UC
//   broadcasts and S·UKB dy-vector loads feed UKB·UC·S FMAs. dy is copied channel-blocked and
//   zero-padded per chunk. Units are split across threads, so every dw element is summed by one
//   thread in one order: the result does not depend on the thread count.
// - Loop order: chunks of images (≈ 1 MiB of input) outermost, then output-channel groups, then
//   images, so a layer's weights stream once per chunk, not once per image.
// - Threads split images (copies, dgrad), (channel group, image) items (fprop) and wgrad units;
//   every output element is computed by one thread in a fixed order, so fprop, dgrad and wgrad are
//   bitwise reproducible across runs and thread counts.
// Scratch is per thread and kept across calls (grown on demand, never per step).
#pragma once
#include <cstdint>
#include <functional>

#include "engine/cpu/conv2d.h"
#include "engine/cpu/cpu_isa.h"
#include "kernels/act.h"

namespace senet::cpu {

// True when the direct kernels handle this geometry with the current ISA (cpu_isa() ≠ Generic,
// R, S ≤ 3, stride ≤ 2, pad < R and pad < S); otherwise the im2col path is used.
bool direct_conv_supported(const Conv2dGeom& g);
bool direct_conv_supported(const Conv2dGeom& g, CpuIsa isa);

// x' = act(x·scale[c] + shift[c]): Act::None, ReLU, or MaskedReLU with `mask` (C·H·W bytes of
// one image; set for MaskedReLU only). Applied as the input is read; padded taps stay 0 (they are
// padding of x', not of x).
struct ConvInputMap {
  const float* scale = nullptr;
  const float* shift = nullptr;
  Act act = Act::None;
  const uint8_t* mask = nullptr;
};

// y = conv(x, w); hook (may be empty) runs on rows [k0, k1) of output image n (NCHW, row length
// P·Q) right after they are written. xmap may be null.
void direct_conv_fprop(const Conv2dGeom& g, const float* x, const float* w, float* y,
                       const ConvRowsHook& hook, const ConvInputMap* xmap = nullptr,
                       CpuIsa isa = cpu_isa());

// dx = dgrad(dy, w) and dw = wgrad(x', dy) (each overwritten; either may be null). dy_fill(tid, n,
// 1, scratch) returns image n of dy (K×P×Q; a pointer into dy, or `scratch`, which holds K·P·Q
// floats). With xmap, x' = the mapped input (as in fprop) and dx is the gradient with respect to x'.
void direct_conv_bprop(const Conv2dGeom& g, const float* x, const float* w,
                       const ConvDyFill& dy_fill, float* dx, float* dw,
                       const ConvInputMap* xmap = nullptr, CpuIsa isa = cpu_isa());

// Per-ISA entry points (engine/cpu/direct_conv_avx512.cpp, direct_conv_avx2.cpp).
struct DirectConvKernels {
  void (*fprop)(const Conv2dGeom&, const float*, const float*, float*, const ConvRowsHook&,
                const ConvInputMap*);
  void (*bprop)(const Conv2dGeom&, const float*, const float*, const ConvDyFill&, float*, float*,
                const ConvInputMap*);
};
const DirectConvKernels& direct_conv_avx512();
const DirectConvKernels& direct_conv_avx2();

}  // namespace senet::cpu
