// tools/bench/layer_shapes.h — every conv (and the FC head) of CIFAR ResNet-18 and WRN-22-8 at
// 32×32 inputs, as the distinct shapes the kernel benchmark runs, with how often each occurs.
// Derived from models/resnet.h (3×3 stem 3→64, BasicBlocks [2,2,2,2] at widths 64/128/256/512,
// 1×1 stride-2 shortcut on shape change, avg pool, FC 512→10) and models/wide_resnet.h (stem
// 3→16, 3 groups of n = (22−4)/6 = 3 pre-activation blocks at widths 128/256/512, strides 1/2/2,
// 1×1 shortcut conv on the first block of each group, avg pool, FC 512→10).
// Counts: ResNet-18 has 20 convs (17 3×3 + 3 shortcuts), WRN-22-8 has 22 (19 + 3).
// The FC layer is listed as a 1×1 "conv" on a 1×1 map (C = features, K = classes): the head
// kernels (linear, losses, count_correct) run on it; conv-family kernels run on the convs only.
// small(): the same list scaled for emulation (channels ÷8, at least 3; spatial ÷4, at least 4×4) — same
// geometry (kernel, stride, padding, shortcut pattern), ~1000× fewer FLOPs.
#pragma once
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "kernels/conv2d_fprop.h"

namespace senet::bench {

struct layer_shape {
  const char* model;  // "resnet18" | "wrn22_8"
  const char* name;   // layer(s) in the model
  int count;          // how many convs of the model have this shape
  int C, H, W, K, R, S, stride, pad;
  bool fc() const { return H == 1 && W == 1 && R == 1 && S == 1; }
  Conv2dGeom params(int N) const { return conv2d_geom(N, C, H, W, K, R, S, stride, pad); }
  std::string label() const {
    char b[160];
    std::snprintf(b, sizeof b, "%s %s %d→%d %dx%d %dx%d s%d", model, name, C, K, H, W, R, S,
                  stride);
    return b;
  }
};

inline const std::vector<layer_shape>& model_layer_shapes() {
  static const std::vector<layer_shape> shapes = {
      // model, name, count, C, H, W, K, R, S, stride, pad
      {"resnet18", "stem", 1, 3, 32, 32, 64, 3, 3, 1, 1},
      {"resnet18", "layer1.conv", 4, 64, 32, 32, 64, 3, 3, 1, 1},
      {"resnet18", "layer2.0.conv1", 1, 64, 32, 32, 128, 3, 3, 2, 1},
      {"resnet18", "layer2.conv", 3, 128, 16, 16, 128, 3, 3, 1, 1},
      {"resnet18", "layer2.0.shortcut", 1, 64, 32, 32, 128, 1, 1, 2, 0},
      {"resnet18", "layer3.0.conv1", 1, 128, 16, 16, 256, 3, 3, 2, 1},
      {"resnet18", "layer3.conv", 3, 256, 8, 8, 256, 3, 3, 1, 1},
      {"resnet18", "layer3.0.shortcut", 1, 128, 16, 16, 256, 1, 1, 2, 0},
      {"resnet18", "layer4.0.conv1", 1, 256, 8, 8, 512, 3, 3, 2, 1},
      {"resnet18", "layer4.conv", 3, 512, 4, 4, 512, 3, 3, 1, 1},
      {"resnet18", "layer4.0.shortcut", 1, 256, 8, 8, 512, 1, 1, 2, 0},
      {"resnet18", "fc", 1, 512, 1, 1, 10, 1, 1, 1, 0},
      {"wrn22_8", "stem", 1, 3, 32, 32, 16, 3, 3, 1, 1},
      {"wrn22_8", "group1.0.conv1", 1, 16, 32, 32, 128, 3, 3, 1, 1},
      {"wrn22_8", "group1.conv", 5, 128, 32, 32, 128, 3, 3, 1, 1},
      {"wrn22_8", "group1.0.shortcut", 1, 16, 32, 32, 128, 1, 1, 1, 0},
      {"wrn22_8", "group2.0.conv1", 1, 128, 32, 32, 256, 3, 3, 2, 1},
      {"wrn22_8", "group2.conv", 5, 256, 16, 16, 256, 3, 3, 1, 1},
      {"wrn22_8", "group2.0.shortcut", 1, 128, 32, 32, 256, 1, 1, 2, 0},
      {"wrn22_8", "group3.0.conv1", 1, 256, 16, 16, 512, 3, 3, 2, 1},
      {"wrn22_8", "group3.conv", 5, 512, 8, 8, 512, 3, 3, 1, 1},
      {"wrn22_8", "group3.0.shortcut", 1, 256, 16, 16, 512, 1, 1, 2, 0},
      {"wrn22_8", "fc", 1, 512, 1, 1, 10, 1, 1, 1, 0},
  };
  return shapes;
}

// The emulation-sized twin of model_layer_shapes() (see the file header).
inline std::vector<layer_shape> small_layer_shapes() {
  std::vector<layer_shape> out;
  for (layer_shape s : model_layer_shapes()) {
    if (!s.fc()) {
      s.C = s.C == 3 ? 3 : std::max(3, s.C / 8);
      s.K = std::max(3, s.K / 8);
      s.H = std::max(4, s.H / 4);  // ≥ 4: BN over M = N·P·Q ≥ 8 values (M = 2 makes x̂ = ±1 and
      s.W = std::max(4, s.W / 4);  //   dy a pure cancellation, nothing left to compare)
    } else {
      s.C = s.C / 8;  // features 64, classes unchanged
    }
    out.push_back(s);
  }
  return out;
}

}  // namespace senet::bench
