// engine/cpu/conv_algo.h — which algorithm runs each pass of a CPU convolution. The choice is per
// pass (fprop, dgrad, wgrad), from the geometry and the ISA, by rules measured on this project's
// layer benchmark (tools/bench/bench_conv_layers; the figures are in the README):
//   Winograd F(2×2,3×3)  3×3 stride 1 pad 1 with ≥ 32 channels on both sides (wgrad: ≥ 64): 1.3–1.7×
//                        the direct kernels there; below that its transforms cost more than they save
//   direct               every other 1×1/2×2/3×3, stride 1 or 2, except the cases below
//   im2col + OpenBLAS    no AVX2/AVX-512, other kernel sizes, and where it measured faster: every
//                        stride-2 wgrad (the direct units walk the padded row two columns at a time:
//                        17–60 % of the sgemm rate against im2col's 45–70 %), wgrad of a stem with
//                        < 4 input channels, and fprop of a 1×1 stride-2 conv with ≥ 64 channels
// SENET_CONV_ALGO=im2col|direct|winograd forces one algorithm wherever it applies (the others keep
// their rule), for tests and before/after benchmarks.
#pragma once
#include "engine/cpu/conv2d.h"

namespace senet::cpu {

enum class ConvAlgo { Im2col, Direct, Winograd };
struct ConvPlan {
  ConvAlgo fprop, dgrad, wgrad;
};
ConvPlan conv_plan(const Conv2dGeom& g);
const char* conv_algo_name(ConvAlgo a);

}  // namespace senet::cpu
