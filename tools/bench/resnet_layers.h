// tools/bench/resnet_layers.h — the distinct conv layers of the project's CIFAR-style ResNet-18
// (models/resnet.cpp: 3×3 stem at stride 1, BasicBlocks [2,2,2,2] at round(64·w)·2^i channels,
// 1×1 stride-2 shortcut on a shape change) for a width, input channels and batch, as the CPU layer
// benchmark and tools/bench/torch_layers.py run them (bench_conv_layers --list prints them).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace senet::bench {

struct ConvLayer {
  std::string model, name;
  int count;  // convs of the model with this shape
  int N, C, H, W, K, R, S, stride, pad;
  int P() const { return (H + 2 * pad - R) / stride + 1; }
  int Q() const { return (W + 2 * pad - S) / stride + 1; }
  double gflop() const { return 2.0 * N * K * double(P()) * Q() * C * R * S / 1e9; }
  std::string label() const {
    char b[128];
    std::snprintf(b, sizeof b, "%d→%d %d×%d %d×%d s%d N%d", C, K, H, W, R, S, stride, N);
    return b;
  }
};

inline std::vector<ConvLayer> resnet18_layers(float width, int in_ch, int N) {
  auto wd = [&](int base) { return std::max(1, int(std::lround(base * width))); };
  char m[64];
  std::snprintf(m, sizeof m, "resnet18 w%g", double(width));
  const int c0 = wd(64);
  std::vector<ConvLayer> v;
  v.push_back({m, "stem", 1, N, in_ch, 32, 32, c0, 3, 3, 1, 1});
  v.push_back({m, "layer1 conv", 4, N, c0, 32, 32, c0, 3, 3, 1, 1});
  int c = c0, H = 32;
  for (int l = 2; l <= 4; ++l) {
    const int k = wd(64 << (l - 1));
    const std::string L = "layer" + std::to_string(l);
    v.push_back({m, L + ".0.conv1", 1, N, c, H, H, k, 3, 3, 2, 1});
    v.push_back({m, L + ".0.shortcut", 1, N, c, H, H, k, 1, 1, 2, 0});
    v.push_back({m, L + " conv", 3, N, k, H / 2, H / 2, k, 3, 3, 1, 1});
    c = k;
    H /= 2;
  }
  return v;
}

// The rows of the table: width 0.125 and 0.25 (1×32×32, batch 128), width 1 (3×32×32,
// batch 64).
inline std::vector<ConvLayer> default_layers() {
  std::vector<ConvLayer> v;
  for (auto [w, c, n] :
       {std::tuple{0.125f, 1, 128}, std::tuple{0.25f, 1, 128}, std::tuple{1.f, 3, 64}}) {
    auto l = resnet18_layers(w, c, n);
    v.insert(v.end(), l.begin(), l.end());
  }
  return v;
}

}  // namespace senet::bench
