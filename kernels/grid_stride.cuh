// kernels/grid_stride.cuh — the launch shape of the element-wise ("grid-stride") kernels: blocks of
// kGridStrideBlock threads, as many as cover n elements but at most kMaxGridStrideBlocks (each
// thread then walks i, i + gridDim.x·blockDim.x, …), and at least one. Device-side nothing: the
// kernels' loops are written out where they are used, so a reader sees each one whole.
#pragma once
#include <algorithm>
#include <cstdint>

#include "kernels/emu/cuda_compat.h"

namespace senet::detail {

inline constexpr int kGridStrideBlock = 256;
inline constexpr int64_t kMaxGridStrideBlocks = 4096;

inline dim3 grid_for(int64_t n) {
  return dim3(unsigned(
      std::clamp<int64_t>((n + kGridStrideBlock - 1) / kGridStrideBlock, 1, kMaxGridStrideBlocks)));
}

}  // namespace senet::detail
