// tests/models/test_cpu_algorithms.cpp — a whole ResNet-18 training step through the engine's fast
// CPU paths (Winograd F(2×2,3×3), the direct AVX-512/AVX2 kernels, the vector BN/activation passes)
// equals the same step through the oracle paths (im2col + OpenBLAS convolutions, scalar passes:
// SENET_CONV_ALGO=im2col with the Generic ISA), and every conv algorithm the dispatch can force.
// Tolerances: the convolutions sum in other orders (≈ 1e-6 relative each), and training-mode
// BatchNorm divides by batch statistics of only 4 images, which amplifies such differences in the
// gradients: logits and loss within 1e-4 of their scale, gradients and updated weights within 1e-3
// (the same bounds as the emulated-CUDA step test, tests/cuda_backend).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "engine/core/autograd.h"
#include "engine/core/rng.h"
#include "engine/cpu/cpu_isa.h"
#include "engine/ops/cross_entropy.h"
#include "engine/optim/sgd.h"
#include "models/model.h"

using namespace senet;

namespace {

models::ModelConfig half_width_resnet18() {  // 32/64/128/256 channels: every algorithm is used
  models::ModelConfig c;
  c.arch = models::Arch::ResNet18;
  c.width = 0.5f;
  c.in_channels = 3;
  c.image_size = 16;
  c.num_classes = 10;
  c.seed = 5;
  return c;
}

// Masks on a third of the positions of every site, the same for every model built here.
void set_masks(models::Model& m) {
  uint64_t seed = 100;
  for (auto* site : m.sites()) {
    std::vector<uint8_t> v(size_t(site->size()));
    for (size_t i = 0; i < v.size(); ++i) v[i] = rand_below(seed, 0, i, 3) == 0;
    site->set_mask(Tensor::from_vector_u8(v, {site->C, site->H, site->W}));
    ++seed;
  }
}

struct StepResult {
  float loss;
  std::vector<float> logits;
  std::vector<std::pair<std::string, std::vector<float>>> grads, weights;
};

// One SGD step (Nesterov) of a fresh model on a fixed batch, with SENET_CONV_ALGO = algo ("" = the
// dispatch's own choice) and the given ISA.
StepResult train_step(const char* algo, cpu::CpuIsa isa) {
  const cpu::CpuIsa saved = cpu::cpu_isa();
  cpu::set_cpu_isa(isa);
  if (*algo)
    setenv("SENET_CONV_ALGO", algo, 1);
  else
    unsetenv("SENET_CONV_ALGO");
  auto m = models::make_model(half_width_resnet18());
  set_masks(*m);
  m->train();
  std::vector<float> xv(4 * 3 * 16 * 16);
  for (size_t i = 0; i < xv.size(); ++i) xv[i] = rand_normal(7, 0, i);
  Tensor x = Tensor::from_vector(xv, {4, 3, 16, 16});
  Tensor y = Tensor::from_vector_i32({1, 7, 3, 9}, {4});
  Tensor logits = m->forward(x);
  Tensor loss = softmax_cross_entropy(logits, y);
  m->zero_grad();
  loss.backward();
  std::vector<ParamRef> ps;
  for (auto& [name, p] : m->named_parameters()) ps.push_back({name, p});
  SGD opt(ps, 0.1f, 0.9f, 5e-4f, true);
  StepResult r;
  for (auto& [name, p] : m->named_parameters()) r.grads.push_back({name, p.grad().to_vector()});
  opt.step();
  for (auto& [name, p] : m->named_parameters()) r.weights.push_back({name, p.to_vector()});
  r.loss = loss.item();
  r.logits = logits.to_vector();
  unsetenv("SENET_CONV_ALGO");
  cpu::set_cpu_isa(saved);
  return r;
}

void expect_close(const std::vector<float>& got, const std::vector<float>& want, double rtol,
                  const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  double scale = 0, err = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    scale = std::max(scale, double(std::fabs(want[i])));
    err = std::max(err, double(std::fabs(got[i] - want[i])));
  }
  EXPECT_LE(err, rtol * scale + 1e-7)
      << what << ": max |diff| " << err << " of max |value| " << scale;
}

void expect_same_step(const StepResult& a, const StepResult& ref, const std::string& label) {
  SCOPED_TRACE(label);
  EXPECT_NEAR(a.loss, ref.loss, 1e-4 * std::fabs(ref.loss));
  expect_close(a.logits, ref.logits, 1e-4, "logits");
  ASSERT_EQ(a.grads.size(), ref.grads.size());
  for (size_t i = 0; i < ref.grads.size(); ++i) {
    ASSERT_EQ(a.grads[i].first, ref.grads[i].first);
    expect_close(a.grads[i].second, ref.grads[i].second, 1e-3, "grad " + ref.grads[i].first);
    expect_close(a.weights[i].second, ref.weights[i].second, 1e-3,
                 "weight after SGD " + ref.weights[i].first);
  }
}

}  // namespace

TEST(CpuAlgorithms, ResNet18TrainingStepEqualsTheIm2colScalarPath) {
  const StepResult ref = train_step("im2col", cpu::CpuIsa::Generic);
  expect_same_step(train_step("", cpu::best_cpu_isa()), ref,
                   std::string("the dispatch's choice, ISA ") + cpu::isa_name(cpu::best_cpu_isa()));
  for (cpu::CpuIsa isa : {cpu::CpuIsa::Avx512, cpu::CpuIsa::Avx2}) {
    if (!cpu::cpu_supports(isa)) continue;
    for (const char* algo : {"direct", "winograd"})
      expect_same_step(train_step(algo, isa), ref,
                       std::string(algo) + " where it applies, ISA " + cpu::isa_name(isa));
  }
}

// The fast paths are deterministic: the same step twice gives bitwise the same result.
TEST(CpuAlgorithms, TheFastPathIsBitwiseRepeatable) {
  const StepResult a = train_step("", cpu::best_cpu_isa()), b = train_step("", cpu::best_cpu_isa());
  EXPECT_EQ(a.loss, b.loss);
  EXPECT_EQ(a.logits, b.logits);
  for (size_t i = 0; i < a.grads.size(); ++i)
    EXPECT_EQ(a.grads[i].second, b.grads[i].second) << a.grads[i].first;
}
