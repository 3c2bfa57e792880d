// tests/kernels/prologue_cases.h — what the tests of the conv prologues share
// (test_kernels_conv_prologue.cu: the previous layer's BN + act applied to x as it is loaded;
// test_kernels_conv_dy_bn.cu: the layer's own BN backward folded into dgrad and wgrad): the layer
// shapes, and a BN → act layer's y with its scale, shift and mask and the reference activation
// a = scale_shift_mrelu(y) with its pass bits.
// Inputs: y, scale and shift are small integers and halves, so z = scale·y + shift is exact and
// hits 0 (where ReLU and its pass bit decide on `z > 0`); a second round uses random floats.
#pragma once
#include <cmath>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "kernels/conv2d_geom.h"
#include "kernels/conv_input_act.h"
#include "kernels/scale_shift_mrelu.h"
#include "tests/kernels/act_cases.h"
#include "tests/kernels/cuda_test.h"
#include "tools/bench/cases/inputs.h"

namespace senet::prologue_cases {

using namespace senet::cudatest;
using namespace senet::inputs;

struct Layer {
  const char* name;
  int N, C, H, W, K, R, S, stride, pad;
};
inline const Layer kLayers[] = {{"3x3/s1", 2, 5, 7, 7, 6, 3, 3, 1, 1},
                                {"3x3/s2", 2, 4, 8, 8, 5, 3, 3, 2, 1},
                                {"1x1/s2", 3, 6, 6, 6, 4, 1, 1, 2, 0},
                                {"3x3/s1 7x5", 2, 3, 7, 5, 4, 3, 3, 1, 1},  // H ≠ W
                                // C and K multiples of the tiles' BK (8, TF32 16): the
                                // tap-major gathers of fprop and dgrad
                                {"3x3/s1 C16 K16", 2, 16, 5, 6, 16, 3, 3, 1, 1},
                                {"3x3/s2 C8 K8", 2, 8, 7, 6, 8, 3, 3, 2, 1},
                                // K ≥ 128, C a multiple of 16: TF32's wide tile
                                // (kernels/implicit_gemm.cuh tf32_wide)
                                {"3x3/s1 C16 K128", 1, 16, 4, 3, 128, 3, 3, 1, 1},
                                // C ≥ 128, K a multiple of 16: dgrad's wide tiles
                                {"1x1/s1 C128 K16", 1, 128, 3, 3, 16, 1, 1, 1, 0}};

inline std::vector<float> halves(size_t n, uint64_t seed) {  // ±0.5 … ±2
  auto v = small_ints(n, seed, -4, 4);
  for (float& x : v) x = x == 0.f ? 1.f : x / 2.f;
  return v;
}

// A BN → act layer's output y (N×C×H×W of g: the input of the conv g that reads it) with its BN
// affine and activation, and the reference a = scale_shift_mrelu(y) with its pass bits, on the
// device.
struct PrevLayer {
  Conv2dGeom g;  // the conv that reads it
  ActCase ac;
  std::vector<float> y_h, scale_h, shift_h;
  std::vector<uint8_t> mask_h;
  DeviceBuffer<float> y, scale, shift, a;
  DeviceBuffer<uint8_t> mask;
  DeviceBuffer<uint32_t> bits;
  PrevLayer(const Conv2dGeom& g_, const ActCase& ac_, bool integers, uint64_t seed)
      : g(g_),
        ac(ac_),
        y_h(integers ? small_ints(size_t(g.x_size()), seed) : uniform(size_t(g.x_size()), seed)),
        scale_h(integers ? halves(size_t(g.C), seed + 1) : uniform(size_t(g.C), seed + 1)),
        shift_h(integers ? small_ints(size_t(g.C), seed + 2, -3, 3)
                         : uniform(size_t(g.C), seed + 2)),
        mask_h(bytes01(ac.per_channel ? size_t(g.C) : size_t(g.C) * g.H * g.W, seed + 3)),
        y(y_h),
        scale(scale_h),
        shift(shift_h),
        a(size_t(g.x_size())),
        mask(mask_h),
        bits(size_t(pass_bits_words(g.x_size()))) {
    scale_shift_mrelu_params sp;
    sp.N = g.N, sp.K = g.C, sp.PQ = g.H * g.W, sp.act = ac.act;
    sp.mask_per_channel = ac.per_channel;
    EXPECT_EQ(scale_shift_mrelu(sp, y.get(), scale.get(), shift.get(), nullptr, mask.get(), a.get(),
                                bits.get(), nullptr),
              cudaSuccess);
  }
  conv_input_act act() const {
    conv_input_act t;
    t.scale = scale.get(), t.shift = shift.get(), t.mask = mask.get(), t.act = ac.act;
    t.mask_per_channel = ac.per_channel;
    return t;
  }
  // The host's a: the prologue's formula with std::fma.
  std::vector<float> host_a() const {
    std::vector<float> out(y_h.size());
    const int64_t HW = int64_t(g.H) * g.W, CHW = g.C * HW;
    for (size_t i = 0; i < out.size(); ++i) {
      const int c = int(int64_t(i) / HW % g.C);
      const float z = std::fma(scale_h[size_t(c)], y_h[i], shift_h[size_t(c)]);
      const bool m = ac.per_channel ? mask_h[size_t(c)] : mask_h[size_t(int64_t(i) % CHW)];
      const bool relu = ac.act == Act::ReLU || (ac.act == Act::MaskedReLU && m);
      out[i] = relu && !(z > 0.f) ? 0.f : z;
    }
    return out;
  }
};

inline Conv2dGeom geom(const Layer& l) {
  return conv2d_geom(l.N, l.C, l.H, l.W, l.K, l.R, l.S, l.stride, l.pad);
}

// The sanitizer pass of CI (tools/sanitize.sh, SENET_SANITIZE_SET=ci) hunts memory errors: there
// the random-float round, which launches the same kernels on the same shapes — the same addresses,
// other numbers — is left out (it was half of that pass's longest tests). Every other run has both.
inline bool random_float_round() {
  const char* set = std::getenv("SENET_SANITIZE_SET");
  return !(set && std::string_view(set) == "ci");
}

// body(g, ac, integers, index of the layer) for every layer × activation × (small integers,
// random floats), each under its SCOPED_TRACE.
template <class Body>
void for_each_layer_act(const Body& body) {
  for (const Layer& l : kLayers)
    for (const ActCase& ac : kActs)
      for (bool integers : {true, false}) {
        if (!integers && !random_float_round()) continue;
        SCOPED_TRACE(testing::Message() << l.name << " " << ac.name
                                        << (integers ? " small integers" : " random floats"));
        body(geom(l), ac, integers, uint64_t(&l - kLayers));
      }
}

// body(g, integers, prev): the same, with the layer's input from a previous BN → act layer.
template <class Body>
void for_each_case(const Body& body) {
  for_each_layer_act([&](const Conv2dGeom& g, const ActCase& ac, bool integers, uint64_t i) {
    PrevLayer prev(g, ac, integers, 100 + i);
    body(g, integers, prev);
  });
}

}  // namespace senet::prologue_cases
