// tests/cuda_backend/cb_test.h — helpers: bring the emulated CUDA backend up, run one function on
// CPU and on CUDA copies of the same inputs (forward value and, with a random upstream gradient,
// the input gradients), and compare with a scale-free tolerance:
//   max|cuda − cpu| ≤ atol + rtol · max|cpu|   (per tensor; the reason for each rtol at its use)
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "engine/core/autograd.h"
#include "engine/core/rng.h"
#include "engine/core/tensor.h"
#include "engine/cuda/cuda_backend.h"
#include "engine/ops/cross_entropy.h"
#include "models/model.h"
#include "models/relu_site.h"
#include "tests/support/gradcheck.h"

#ifdef SENET_CB_GPU
#define SENET_CB_GPU_VALUE true
#else
#define SENET_CB_GPU_VALUE false
#endif

namespace senet::cbtest {

// test_cuda_backend links senet_cuda_emu (always emulated); test_cuda_backend_gpu (SENET_CB_GPU)
// links senet_cuda_gpu and skips every test when init() finds no device.
inline constexpr bool kGpuBuild = SENET_CB_GPU_VALUE;

inline double max_abs(const std::vector<float>& v) {
  double m = 0;
  for (float x : v) m = std::max(m, double(std::fabs(x)));
  return m;
}

// Both tensors copied to the host; shapes must match.
inline void expect_close(const Tensor& cpu, const Tensor& dev, double rtol, const std::string& what,
                         double atol = 0) {
  ASSERT_TRUE(cpu.defined() && dev.defined()) << what << ": undefined tensor";
  ASSERT_EQ(cpu.shape(), dev.shape()) << what;
  ASSERT_EQ(cpu.dtype(), dev.dtype()) << what;
  if (cpu.dtype() == DType::U8) {
    EXPECT_EQ(cpu.to_vector_u8(), dev.to(Device::CPU).to_vector_u8()) << what;
    return;
  }
  if (cpu.dtype() == DType::I32) {
    EXPECT_EQ(cpu.to_vector_i32(), dev.to(Device::CPU).to_vector_i32()) << what;
    return;
  }
  std::vector<float> a = cpu.to_vector(), b = dev.to_vector();
  double err = 0;
  size_t worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    double d = std::fabs(double(a[i]) - double(b[i]));
    if (std::isnan(a[i]) != std::isnan(b[i])) d = INFINITY;
    if (d > err) err = d, worst = i;
  }
  const double bound = atol + rtol * max_abs(a);
  EXPECT_LE(err, bound) << what << ": max |cuda − cpu| = " << err << " at " << worst << " (cpu "
                        << a[worst] << ", cuda " << b[worst] << "), max|cpu| = " << max_abs(a);
}

struct DeviceRun {
  Tensor y;                   // forward output
  std::vector<Tensor> grads;  // one per input (undefined where none)
};

// f on copies of `inputs` on device d; inputs that require grad get gradients from y.backward(r)
// with a random upstream r (the same on both devices).
inline DeviceRun run_on(Device d, const std::function<Tensor(const std::vector<Tensor>&)>& f,
                        const std::vector<Tensor>& inputs, uint64_t seed = 99) {
  std::vector<Tensor> xs;
  for (const Tensor& t : inputs) {
    Tensor c = d == t.device() ? t.detach().clone() : t.detach().to(d);
    if (t.requires_grad()) c.set_requires_grad(true);
    xs.push_back(c);
  }
  DeviceRun r;
  r.y = f(xs);
  if (r.y.requires_grad()) {
    Tensor up = r.y.numel() == 1 ? Tensor::full(r.y.shape(), 0.75f)
                                 : test::random_tensor(r.y.shape(), seed);
    r.y.backward(up.to(d));
  }
  for (const Tensor& x : xs) r.grads.push_back(x.requires_grad() ? x.grad() : Tensor());
  return r;
}

// Compare f on CPU and CUDA: forward with rtol_y, gradients with rtol_g.
inline void compare(const std::string& name,
                    const std::function<Tensor(const std::vector<Tensor>&)>& f,
                    const std::vector<Tensor>& inputs, double rtol_y, double rtol_g,
                    double atol = 1e-7) {
  DeviceRun c = run_on(Device::CPU, f, inputs), g = run_on(Device::CUDA, f, inputs);
  ASSERT_TRUE(g.y.is_cuda()) << name << ": the CUDA run's output is not a CUDA tensor";
  expect_close(c.y, g.y, rtol_y, name + " forward", atol);
  for (size_t i = 0; i < inputs.size(); ++i) {
    ASSERT_EQ(c.grads[i].defined(), g.grads[i].defined()) << name << " grad " << i;
    if (!c.grads[i].defined()) continue;
    EXPECT_TRUE(g.grads[i].is_cuda()) << name << " grad " << i << " is not on the device";
    expect_close(c.grads[i], g.grads[i], rtol_g, name + " grad of input " + std::to_string(i),
                 atol);
  }
}

// A ResNet-18 of widths 4, 8, 16, 32 on 1×16×16 images, 10 classes.
inline models::ModelConfig tiny_resnet18() {
  models::ModelConfig c;
  c.arch = models::Arch::ResNet18;
  c.width = 1.f / 16;
  c.in_channels = 1;
  c.image_size = 16;
  c.num_classes = 10;
  c.seed = 3;
  return c;
}

// A 0/1 mask on the device, about half ones (rand_below: the same on every run).
inline Tensor device_mask(const Shape& shape, uint64_t seed) {
  std::vector<uint8_t> m(size_t(shape.numel()));
  for (size_t i = 0; i < m.size(); ++i) m[i] = uint8_t(rand_below(seed, 3, i, 2));
  return Tensor::from_vector_u8(m, shape).to(Device::CUDA);
}

// got holds want's bits (both undefined passes too).
inline void expect_same_bits(const Tensor& got, const Tensor& want, const std::string& what) {
  ASSERT_EQ(got.defined(), want.defined()) << what;
  if (!want.defined()) return;
  EXPECT_EQ(got.to_vector(), want.to_vector()) << what;
}

// One training step of model `cfg` on CUDA with every site masked (per position, random masks from
// `mask_seed`): the loss, every parameter's gradient and every f32 buffer. capture: every site
// captures its output (the mask search's mode), which makes the models run their unfused ops.
// The nodes of root's autograd graph (each once) whose op is `op`: which ops a forward ran, in
// the GPU build too (the launch counts of emu:: are the emulator's only).
inline int count_ops(const Tensor& root, const std::string& op) {
  const std::vector<Node*> nodes = topological_nodes(root);
  return int(std::count_if(nodes.begin(), nodes.end(), [&](const Node* n) { return n->op == op; }));
}

// inspect (when given) sees the loss before its backward (count_ops).
inline std::vector<std::vector<float>> masked_step(
    const models::ModelConfig& cfg, bool capture, uint64_t mask_seed,
    const std::vector<int32_t>& labels,
    const std::function<void(const Tensor& loss)>& inspect = {}) {
  auto m = models::make_model(cfg);
  m->to(Device::CUDA);
  m->train();
  for (auto* s : m->sites()) {
    s->set_mask(device_mask({s->C, s->H, s->W}, mask_seed++));
    s->capture = capture;
  }
  const int64_t n = int64_t(labels.size());
  Tensor x = test::random_tensor({n, cfg.in_channels, cfg.image_size, cfg.image_size}, 21)
                 .to(Device::CUDA);
  Tensor loss = softmax_cross_entropy(m->forward(x),
                                      Tensor::from_vector_i32(labels, {n}, Device::CUDA), &labels);
  if (inspect) inspect(loss);
  loss.backward();
  std::vector<std::vector<float>> out{loss.to_vector()};
  for (auto& [name, p] : m->named_parameters()) out.push_back(p.grad().to_vector());
  for (auto& [name, t] : m->named_tensors())
    if (t->dtype() == DType::F32) out.push_back(t->to_vector());
  return out;
}

class CudaBackend : public ::testing::Test {
 protected:
  void SetUp() override {
    try {
      const cuda::DeviceInfo info = cuda::init();
      ASSERT_EQ(info.emulated, !kGpuBuild);
    } catch (const Error& e) {
      if (kGpuBuild) GTEST_SKIP() << e.what();
      throw;
    }
  }
};

}  // namespace senet::cbtest
