// tests/kernels/test_kernels_masked_relu.cu — kernels/masked_relu.h (masked ReLU with per-element and
// per-channel masks, plain ReLU, pass bits, backward; SNL alpha-ReLU) against the CPU backend
// engine/cpu/activation.h and engine/cpu/alpha_relu.h.
// Tolerances: masked ReLU values, bits and gradients are selects: bitwise. alpha-ReLU y and dx: one
// multiply of the same operands: bitwise. dα: fp32 sum over the batch vs the CPU's double:
// 1e-6·max|ref| + 1e-5·|ref| (N ≤ 16 terms of 2⁻²⁴ each, with margin).
#include <cmath>
#include <cstring>

#include "engine/cpu/activation.h"
#include "engine/cpu/alpha_relu.h"
#include "kernels/emu/race_check.h"
#include "kernels/masked_relu.h"
#include "tests/kernels/cuda_test.h"
#include "tools/bench/cases/inputs.h"

using namespace senet;
using namespace senet::cudatest;
using namespace senet::inputs;

namespace masked_relu_tests {  // named: the test binaries are unity builds (tests/CMakeLists.txt)

struct Case {
  int64_t N, C, HW;
};
// N = 1, n < 32, n not a multiple of 32, words around a block, ResNet stem-like shapes (small N)
const Case kCases[] = {{1, 1, 1}, {1, 3, 7}, {2, 5, 9}, {3, 16, 64}, {2, 64, 256}, {1, 7, 1025}};

enum class MaskKind { none, element, channel };

void check(const Case& c, MaskKind kind) {
  SCOPED_TRACE(testing::Message() << c.N << "x" << c.C << "x" << c.HW << " mask " << int(kind));
  const int64_t L = c.C * c.HW, n = c.N * L;
  auto x = uniform(size_t(n), uint64_t(n), -1.f, 1.f);
  x[0] = 0.f;  // x = 0 with m = 1 does not pass
  if (n > 1) x[1] = NAN;
  const auto mask_c = bytes01(size_t(c.C), 3), mask_e = bytes01(size_t(L), 4);
  std::vector<uint8_t> expanded(static_cast<size_t>(L));  // the CPU takes a per-element mask
  for (int64_t j = 0; j < L; ++j)
    expanded[size_t(j)] = kind == MaskKind::channel ? mask_c[size_t(j / c.HW)] : mask_e[size_t(j)];

  DeviceBuffer<float> dx(x), dy(static_cast<size_t>(n));
  const size_t words = size_t(pass_bits_words(n));
  DeviceBuffer<uint32_t> bits(words);
  DeviceBuffer<uint8_t> dm(kind == MaskKind::channel ? mask_c : mask_e);
  masked_relu_params p;
  p.x = dx.get(), p.y = dy.get(), p.bits = bits.get(), p.n = n, p.L = L;
  p.mask = kind == MaskKind::none ? nullptr : dm.get();
  p.mask_hw = kind == MaskKind::channel ? c.HW : 0;
  CUDA_OK(masked_relu_forward_launch(p, nullptr));

  std::vector<float> ry(static_cast<size_t>(n));
  std::vector<uint64_t> rbits(size_t(cpu::bit_words(n)), 0);
  cpu::masked_relu_forward(x.data(), kind == MaskKind::none ? nullptr : expanded.data(), L, n,
                           ry.data(), rbits.data());
  EXPECT_TRUE(bitwise_equal(dy.download(), ry));
  const auto got_bits = bits.download();
  for (int64_t i = 0; i < int64_t(words) * 32; ++i) {
    const bool g = (got_bits[size_t(i / 32)] >> (i % 32)) & 1u;
    const bool want = i < n && cpu::bit_get(rbits.data(), i);
    ASSERT_EQ(g, want) << "bit " << i;
  }
  EXPECT_TRUE(bits.guard_intact() && dy.guard_intact());

  const auto g = uniform(size_t(n), 9);
  DeviceBuffer<float> dg(g), dgx(static_cast<size_t>(n));
  CUDA_OK(masked_relu_backward_launch({dg.get(), bits.get(), dgx.get(), n}, nullptr));
  std::vector<float> rgx(static_cast<size_t>(n));
  cpu::masked_relu_backward(g.data(), rbits.data(), n, rgx.data());
  EXPECT_TRUE(bitwise_equal(dgx.download(), rgx));
}

TEST(CudaMaskedRelu, MatchesCpuForEveryMaskKind) {
  for (const auto& c : kCases)
    for (MaskKind k : {MaskKind::none, MaskKind::element, MaskKind::channel}) check(c, k);
}

TEST(CudaMaskedRelu, AllZeroMaskIsIdentityAndRaceFree) {
  const int64_t L = 3 * 50, n = 2 * L;
  const auto x = uniform(size_t(n), 5);
  DeviceBuffer<float> dx(x), dy(static_cast<size_t>(n));
  DeviceBuffer<uint8_t> zeros(std::vector<uint8_t>(size_t(L), 0));
  DeviceBuffer<uint32_t> bits(static_cast<size_t>(pass_bits_words(n)));
  CUDA_OK(
      masked_relu_forward_launch({dx.get(), dy.get(), bits.get(), zeros.get(), n, L, 0}, nullptr));
  EXPECT_TRUE(bitwise_equal(dy.download(), x));
  EXPECT_RACE_FREE(
      [&] {
        EXPECT_EQ(relu_forward_launch(dx.get(), dy.get(), bits.get(), n, nullptr), cudaSuccess);
        auto v = dy.download();
        for (uint32_t w : bits.download())
          v.push_back(float(w & 0xffff) + float(w >> 16) * 65536.f);
        return v;
      },
      0.0);
  EXPECT_EQ(
      masked_relu_forward_launch({dx.get(), dy.get(), nullptr, zeros.get(), n, 7, 0}, nullptr),
      cudaErrorInvalidValue);  // n not a multiple of L
  EXPECT_EQ(
      masked_relu_forward_launch({dx.get(), dy.get(), nullptr, zeros.get(), n, L, 7}, nullptr),
      cudaErrorInvalidValue);  // L not a multiple of the channel size
  EXPECT_EQ(masked_relu_backward_launch({dx.get(), nullptr, dy.get(), n}, nullptr),
            cudaErrorInvalidValue);
}

TEST(CudaAlphaRelu, MatchesCpu) {
  const std::pair<int64_t, int64_t> shapes[] = {{1, 1}, {1, 37}, {3, 255}, {16, 1000}, {5, 4097}};
  for (auto [N, P] : shapes) {
    SCOPED_TRACE(testing::Message() << N << "x" << P);
    auto x = uniform(size_t(N * P), uint64_t(N * P), -1.f, 1.f);
    x[0] = 0.f;
    const auto alpha = uniform(size_t(P), 2, 0.f, 1.f), g = uniform(size_t(N * P), 3);
    DeviceBuffer<float> dx_(x), da(alpha), dg(g), y(static_cast<size_t>(N * P)),
        gx(static_cast<size_t>(N * P)), galpha(static_cast<size_t>(P));
    alpha_relu_params p;
    p.x = dx_.get(), p.alpha = da.get(), p.y = y.get(), p.dy = dg.get(), p.dx = gx.get();
    p.dalpha = galpha.get(), p.N = N, p.P = P;
    CUDA_OK(alpha_relu_forward_launch(p, nullptr));
    CUDA_OK(alpha_relu_backward_launch(p, nullptr));
    std::vector<float> ry(x.size()), rgx(x.size()), rga(alpha.size());
    cpu::alpha_relu_forward(x.data(), alpha.data(), ry.data(), N, P);
    cpu::alpha_relu_backward(x.data(), alpha.data(), g.data(), rgx.data(), rga.data(), N, P);
    EXPECT_TRUE(bitwise_equal(y.download(), ry));
    EXPECT_TRUE(bitwise_equal(gx.download(), rgx));
    EXPECT_TRUE(close(galpha.download(), rga, 1e-6, 1e-5));
    EXPECT_TRUE(galpha.guard_intact() && gx.guard_intact());
  }
  alpha_relu_params bad;
  bad.N = 2, bad.P = 0;
  EXPECT_EQ(alpha_relu_forward_launch(bad, nullptr), cudaErrorInvalidValue);
}

}  // namespace masked_relu_tests
