// tests/ops/test_leading_block.cpp — leading_block (engine/ops/leading_block.h): the block's
// values, the view/identity shortcuts, its finite-difference gradient, and bad blocks.
#include <gtest/gtest.h>

#include "engine/ops/leading_block.h"
#include "tests/support/gradcheck.h"

using namespace senet;

TEST(LeadingBlock, ValuesOfAConvWeightBlock) {
  Tensor w = test::random_int_tensor({4, 3, 2, 2}, 1, -8, 8);
  Tensor b = leading_block(w, 2, 2);
  ASSERT_EQ(b.shape(), Shape({2, 2, 2, 2}));
  std::vector<float> wv = w.to_vector(), bv = b.to_vector();
  for (int k = 0; k < 2; ++k)
    for (int c = 0; c < 2; ++c)
      for (int i = 0; i < 4; ++i)
        EXPECT_EQ(bv[size_t((k * 2 + c) * 4 + i)], wv[size_t((k * 3 + c) * 4 + i)]);
  EXPECT_TRUE(leading_block(w, 4, 3).same(w));  // the whole tensor: itself
  Tensor rows = leading_block(w, 3, 3);         // all columns: a view of the rows
  EXPECT_EQ(rows.raw(), w.raw());
  EXPECT_EQ(rows.shape(), Shape({3, 3, 2, 2}));
  Tensor m = Tensor::from_vector_u8({1, 0, 1, 1, 0, 0}, {2, 3});  // u8 (masks) works too
  EXPECT_EQ(leading_block(m, 2, 1).to_vector_u8(), std::vector<uint8_t>({1, 1}));
}

TEST(LeadingBlock, Gradient) {
  Tensor x = test::random_tensor({3, 5, 2, 3}, 2, 1.f, true);
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return leading_block(in[0], 2, 3); },
                   std::vector<Tensor>{x});
  Tensor w = test::random_tensor({4, 6}, 3, 1.f, true);  // an FC weight: all rows, first columns
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return leading_block(in[0], 4, 2); },
                   std::vector<Tensor>{w});
}

TEST(LeadingBlock, BadBlocksAreErrors) {
  Tensor x = Tensor::zeros({3, 4});
  EXPECT_THROW(leading_block(x, 4, 1), Error);
  EXPECT_THROW(leading_block(x, 1, 5), Error);
  EXPECT_THROW(leading_block(x, -1, 1), Error);
  EXPECT_THROW(leading_block(Tensor::zeros({3}), 1, 1), Error);
}
