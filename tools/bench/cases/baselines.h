// tools/bench/cases/baselines.h — the baseline cases of a conv layer: what bench_kernels sets next
// to the registry's kernels (family "baseline"), with the same Case shape (kernel_case.h) but no
// registry entry — they are not our kernels, so kernels/registry.cu does not list them and
// test_kernel_registry's one-entry-one-case check does not see them. In row order:
//   unfused_chain  conv2d_fprop v5 → bn_stats_partials → bn_finalize_train → scale_shift_mrelu
//                  (baselines.cu): the fused conv_bn_mrelu_fwd_train's math in four launches
//   cudnn          conv + BN (training) + ReLU through cuDNN, its backward (ReLU, BN, dgrad,
//                  wgrad), then cudnn_fprop / _dgrad / _wgrad, each conv pass alone; each with FMA
//                  math (FP32), then TF32 (baselines_cudnn.cu)
// Rule: a baseline this build cannot run keeps its row: an empty hook and the reason (emulated
// build, or no cuDNN at configure time); the row names are what tools/gpu/gpu_figures.py reads.
#pragma once
#include <string>
#include <vector>

#include "kernels/conv2d_geom.h"
#include "tools/bench/cases/kernel_case.h"

namespace senet::cases {

struct Baseline {
  std::string name;     // the row's kernel column, e.g. "cudnn_fprop"
  std::string version;  // the row's version column, e.g. "tf32"
  std::string match;    // what --filter searches: "baseline", the name and the launches
  double (*flops)(const Conv2dGeom& p);
  double (*bytes)(const Conv2dGeom& p);  // compulsory traffic, as the registry's (1 float = 4)
  Hook hook;                             // empty where this build cannot run it
  std::string unavailable;               // why, when the hook is empty
};

// Every baseline of a conv layer, in row order.
const std::vector<Baseline>& conv_baselines();
// One of them by "name/version" (case_key's form), or nullptr.
const Baseline* baseline_case(const std::string& key);

// The unfused chain's case (baselines.cu).
Case unfused_chain_case(const Conv2dGeom& p, Arena& arena);

enum class ConvPass { fprop, dgrad, wgrad };
// The cuDNN cases (baselines_cudnn.cu): the nvcc case library with cuDNN only (gpu/CMakeLists.txt).
#if SENET_BENCH_REAL_CUDA && SENET_BENCH_HAVE_CUDNN
Case cudnn_chain_case(const Conv2dGeom& p, bool tf32, Arena& arena);
Case cudnn_chain_bwd_case(const Conv2dGeom& p, bool tf32, Arena& arena);
Case cudnn_conv_case(const Conv2dGeom& p, ConvPass pass, bool tf32, Arena& arena);
#endif

}  // namespace senet::cases
