// tests/ops/test_masked_relu_layer.cpp — nn::MaskedReLU, the engine's plain partial-ReLU layer: all
// ReLUs until a mask is set, y = m ? max(z, 0) : z for pixel- and channel-wise masks, its gradient
// (through the op's gradient check in test_activation.cpp), and mask validation naming the layer.
#include <gtest/gtest.h>

#include "engine/nn/layers.h"
#include "tests/support/error_of.h"

using namespace senet;

TEST(MaskedReluLayer, AllReluUntilMaskedThenIdentityWhereTheMaskIsZero) {
  nn::MaskedReLU layer(2, 1, 2);
  EXPECT_EQ(layer.size(), 4);
  EXPECT_FALSE(layer.channel_wise());
  Tensor z = Tensor::from_vector({-1.f, 2.f, -3.f, 4.f}, {1, 2, 1, 2});
  EXPECT_EQ(layer.forward(z).to_vector(), (std::vector<float>{0, 2, 0, 4}));
  EXPECT_EQ(layer.forward(z, false).to_vector(), (std::vector<float>{0, 2, 0, 4}));  // plain relu

  layer.set_mask(Tensor::from_vector_u8({1, 0, 0, 1}, {2, 1, 2}));
  EXPECT_EQ(layer.forward(z).to_vector(), (std::vector<float>{0, 2, -3, 4}));
  layer.set_mask(Tensor::from_vector_u8({0, 1}, {2}));  // channel-wise: channel 0 linear
  EXPECT_TRUE(layer.channel_wise());
  EXPECT_EQ(layer.forward(z).to_vector(), (std::vector<float>{-1, 2, 0, 4}));
  // The mask is the buffer checkpoints save.
  ASSERT_EQ(layer.named_buffers().size(), 1u);
  EXPECT_EQ(layer.named_buffers()[0].first, "mask");
}

TEST(MaskedReluLayer, BadMasksAreErrorsNamingTheLayer) {
  nn::MaskedReLU layer(2, 1, 2);
  EXPECT_NE(test::error_of([&] {
              layer.set_mask(Tensor::from_vector({1.f, 0.f}, {2}), "site x");
            }).find("site x: mask must be u8"),
            std::string::npos);
  EXPECT_NE(test::error_of([&] {
              layer.set_mask(Tensor::from_vector_u8({1, 0, 1}, {3}));
            }).find("is neither [2, 1, 2] (pixel-wise) nor [2] (channel-wise)"),
            std::string::npos);
  EXPECT_NE(test::error_of([&] {
              layer.set_mask(Tensor::from_vector_u8({2, 0}, {2}));
            }).find("mask values must be 0 or 1, got 2"),
            std::string::npos);
}
