// tests/kernels/conv_cases.h — the conv shapes every conv-family kernel test runs: an edge list (after
// cutlass's conv2d_problems.h: N = 1, C = 1, C and K not multiples of the tiles, odd 7×9 inputs,
// stride 2, pad 0/1, 1×1 and 3×3) and a few model layers (ResNet-18 / WRN-22-8) at small N and
// spatial size (emulation runs ~100× slower than a native CPU loop).
#pragma once
#include <string>
#include <vector>

#include "kernels/conv2d_fprop.h"

namespace senet::cudatest {

struct ConvCase {
  const char* name;
  int N, C, H, W, K, R, S, stride, pad;
  Conv2dGeom params() const { return conv2d_geom(N, C, H, W, K, R, S, stride, pad); }
};

inline const std::vector<ConvCase>& edge_conv_cases() {
  static const std::vector<ConvCase> cases = {
      {"N1_C1_K1_3x3", 1, 1, 5, 5, 1, 3, 3, 1, 1},
      {"odd7x9_3x3_s1p1", 2, 3, 7, 9, 5, 3, 3, 1, 1},
      {"odd7x9_3x3_s2p1", 2, 3, 7, 9, 5, 3, 3, 2, 1},
      {"odd7x9_1x1_s2p0", 2, 4, 7, 9, 6, 1, 1, 2, 0},
      {"3x3_p0", 1, 5, 6, 6, 3, 3, 3, 1, 0},
      {"K70_two_col_tiles_1x1", 3, 2, 5, 4, 70, 1, 1, 1, 0},
      {"C67_CRS603_3x3", 2, 67, 4, 4, 3, 3, 3, 1, 1},
      {"tiny_3x3_s2", 1, 2, 3, 3, 2, 3, 3, 2, 1},
  };
  return cases;
}

inline const std::vector<ConvCase>& model_conv_cases() {
  static const std::vector<ConvCase> cases = {
      {"resnet18_layer1_64to64_8x8", 2, 64, 8, 8, 64, 3, 3, 1, 1},
      {"resnet18_layer3_128to256_s2", 2, 128, 8, 8, 256, 3, 3, 2, 1},
      {"resnet18_shortcut_64to128_1x1_s2", 2, 64, 8, 8, 128, 1, 1, 2, 0},
      {"wrn22_8_stem_3to16", 2, 3, 8, 8, 16, 3, 3, 1, 1},
      {"wrn22_8_group1_16to128", 1, 16, 8, 8, 128, 3, 3, 1, 1},
  };
  return cases;
}

inline std::vector<ConvCase> all_conv_cases() {
  std::vector<ConvCase> all = edge_conv_cases();
  for (const auto& c : model_conv_cases()) all.push_back(c);
  return all;
}

}  // namespace senet::cudatest
