// tests/cuda_backend/test_cuda_backend_width.cpp — dynamic channel reduction on the CUDA backend
// (emulated): leading_block on device tensors (values and gradient), and one training step of a
// width-switchable tiny ResNet-18 at width 0.5 equal to the CPU step (loss, every gradient — the
// same parameters get one, the full-width BN sets none — and every BN buffer).
// Tolerance as in test_cuda_backend_train.cpp: max|cuda − cpu| ≤ 1e-7 + 1e-3 · max|cpu| per tensor
// (fp32 sums in another order through ~20 convs and BNs).
#include <gtest/gtest.h>

#include "engine/ops/cross_entropy.h"
#include "engine/ops/leading_block.h"
#include "models/model.h"
#include "tests/cuda_backend/cb_test.h"

namespace senet {
namespace {

using cbtest::CudaBackend;
using cbtest::expect_close;
using test::random_tensor;

TEST_F(CudaBackend, LeadingBlockMatchesCpu) {
  Tensor x = random_tensor({3, 5, 2, 2}, 1, 1.f, true);
  auto f = [](const std::vector<Tensor>& in) { return leading_block(in[0], 2, 3); };
  cbtest::DeviceRun c = cbtest::run_on(Device::CPU, f, {x}),
                    d = cbtest::run_on(Device::CUDA, f, {x});
  ASSERT_TRUE(d.y.is_cuda());
  expect_close(c.y, d.y, 0, "leading_block value");
  expect_close(c.grads[0], d.grads[0], 0, "leading_block gradient");
}

TEST_F(CudaBackend, HalfWidthResNet18TrainingStepMatchesCpu) {
  models::ModelConfig cfg;
  cfg.arch = models::Arch::ResNet18;
  cfg.width = 1.f / 16;  // 4/8/16/32 channels; at 0.5: 2/4/8/16
  cfg.in_channels = 1;
  cfg.image_size = 16;
  cfg.num_classes = 10;
  cfg.seed = 3;
  cfg.width_factors = {0.5f, 1.f};
  auto cpu_model = models::make_model(cfg), dev_model = models::make_model(cfg);
  for (auto* m : {cpu_model.get(), dev_model.get()}) {  // a pixel mask on one site, sliced at 0.5
    models::ReluSite* s = m->sites()[2];
    std::vector<uint8_t> px(size_t(s->size()));
    for (size_t i = 0; i < px.size(); ++i) px[i] = i % 3 != 0;
    s->set_mask(Tensor::from_vector_u8(px, {s->C, s->H, s->W}));
    m->set_width(0.5f);
    m->train();
  }
  dev_model->to(Device::CUDA);
  Tensor x = random_tensor({4, 1, 16, 16}, 11);
  Tensor y = Tensor::from_vector_i32({1, 7, 3, 3}, {4});
  Tensor loss[2];
  models::Model* ms[2] = {cpu_model.get(), dev_model.get()};
  for (int d = 0; d < 2; ++d) {
    const Device dev = d ? Device::CUDA : Device::CPU;
    loss[d] = softmax_cross_entropy(ms[d]->forward(x.to(dev)), y.to(dev));
    ms[d]->zero_grad();
    loss[d].backward();
  }
  EXPECT_NEAR(loss[0].item(), loss[1].item(), 1e-5 * std::fabs(loss[0].item()));
  auto pc = cpu_model->named_parameters(), pd = dev_model->named_parameters();
  ASSERT_EQ(pc.size(), pd.size());
  int with_grad = 0;
  for (size_t i = 0; i < pc.size(); ++i) {
    ASSERT_EQ(pc[i].first, pd[i].first);
    ASSERT_EQ(pc[i].second.grad().defined(), pd[i].second.grad().defined()) << pc[i].first;
    if (!pc[i].second.grad().defined()) continue;
    ++with_grad;
    expect_close(pc[i].second.grad(), pd[i].second.grad(), 1e-3, "grad " + pc[i].first, 1e-7);
  }
  EXPECT_GT(with_grad, 20);
  auto bc = cpu_model->named_buffers(), bd = dev_model->named_buffers();
  ASSERT_EQ(bc.size(), bd.size());
  for (size_t i = 0; i < bc.size(); ++i)
    expect_close(bc[i].second, bd[i].second, 1e-4, "buffer " + bc[i].first, 1e-7);
}

}  // namespace
}  // namespace senet
