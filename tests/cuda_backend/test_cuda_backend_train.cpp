// tests/cuda_backend/test_cuda_backend_train.cpp — whole-model behaviour of the CUDA backend (emulated):
// optimizer steps, ONE TRAINING STEP OF A TINY RESNET-18 equal to the CPU backend, eval, model
// moves and checkpoints, the caching allocator, the mask-search entries, and SENET_CUDA_CHECK.
// Tolerances: optimizer updates are element-wise, bitwise under emulation (same fp32 formulas);
// the ResNet step compares loss, every gradient and every weight after SGD with
//   max|cuda − cpu| ≤ 1e-7 + 1e-3 · max|cpu|  per tensor
// (fp32 sums in another order in ~20 convs and BNs; BN's backward cancellation amplifies them).
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "engine/core/rng.h"
#include "engine/cuda/cuda_check.h"
#include "engine/cuda/cuda_ops.h"
#include "engine/ops/conv_bn_fold_cache.h"
#include "engine/ops/count_correct.h"
#include "engine/ops/cross_entropy.h"
#include "engine/ops/elementwise.h"
#include "engine/optim/adam.h"
#include "engine/optim/lr_schedule.h"
#include "engine/optim/sgd.h"
#include "models/model.h"
#include "senet/checkpoint.h"
#include "senet/epoch_loop.h"
#include "senet/masks.h"
#include "senet/step_metrics.h"
#include "senet/trainer.h"
#include "tests/cuda_backend/cb_test.h"
#include "tests/support/tiny_run.h"
#if !SENET_CB_GPU
#include "kernels/emu/emu_control.h"
#endif

namespace senet {
namespace {

using cbtest::CudaBackend;
using cbtest::expect_close;
using cbtest::tiny_resnet18;
using test::random_tensor;

TEST_F(CudaBackend, OptimizerStepsEqual) {
  for (int kind = 0; kind < 3; ++kind) {
    Tensor p[2], g = random_tensor({7, 5}, 2);
    std::unique_ptr<Optimizer> opt[2];
    for (int d = 0; d < 2; ++d) {
      Device dev = d ? Device::CUDA : Device::CPU;
      p[d] = random_tensor({7, 5}, 1).to(dev).set_requires_grad(true);
      p[d].set_name("p");
      std::vector<ParamRef> ps{{"p", p[d]}};
      if (kind == 0) opt[d] = std::make_unique<SGD>(ps, 0.1f, 0.9f, 5e-4f, true);
      if (kind == 1) opt[d] = std::make_unique<Adam>(ps, 1e-2f, 0.9f, 0.999f, 1e-8f, 1e-2f, false);
      if (kind == 2) opt[d] = std::make_unique<Adam>(ps, 1e-2f, 0.9f, 0.999f, 1e-8f, 1e-2f, true);
    }
    for (int step = 0; step < 3; ++step)
      for (int d = 0; d < 2; ++d) {
        p[d].impl().grad = scale(g, float(step + 1)).to(p[d].device()).impl_ptr();
        opt[d]->step();
      }
    expect_close(p[0], p[1], 0, "optimizer " + std::to_string(kind) + " parameters");
    auto s0 = opt[0]->state(), s1 = opt[1]->state();
    ASSERT_EQ(s0.size(), s1.size());
    for (size_t i = 0; i < s0.size(); ++i) expect_close(s0[i].second, s1[i].second, 0, s0[i].first);
  }
}

#if !SENET_CB_GPU
// Issue 16, item 4: every CUDA parameter of a step is updated by one multi-tensor launch per 64
// tensors (kernels/optim_update.h v2), not one launch per tensor, with the same numbers as the CPU.
TEST_F(CudaBackend, OptimizerStepIsOneLaunchPer64Tensors) {
  for (int kind = 0; kind < 2; ++kind) {
    for (int count : {1, 64, 65, 130}) {
      SCOPED_TRACE(testing::Message() << "kind " << kind << ", " << count << " tensors");
      std::vector<Tensor> pc, pd;
      std::vector<ParamRef> rc, rd;
      for (int i = 0; i < count; ++i) {
        const Shape shape = i % 2 ? Shape{3} : Shape{2, 5};  // BN-like vectors and small matrices
        pc.push_back(random_tensor(shape, uint64_t(10 + i)).set_requires_grad(true));
        pd.push_back(pc.back().detach().to(Device::CUDA).set_requires_grad(true));
        const std::string name = std::to_string(i);  // ("p" + …: a GCC 12 -Wrestrict false alarm)
        rc.push_back({name, pc.back()});
        rd.push_back({name, pd.back()});
      }
      std::unique_ptr<Optimizer> oc, od;
      if (kind == 0) {
        oc = std::make_unique<SGD>(rc, 0.1f, 0.9f, 5e-4f, true);
        od = std::make_unique<SGD>(rd, 0.1f, 0.9f, 5e-4f, true);
      } else {
        oc = std::make_unique<Adam>(rc, 1e-2f, 0.9f, 0.999f, 1e-8f, 1e-2f, true);
        od = std::make_unique<Adam>(rd, 1e-2f, 0.9f, 0.999f, 1e-8f, 1e-2f, true);
      }
      oc->set_weight_decay_where(is_norm_or_bias, 0.f);  // per-tensor weight decay travels too
      od->set_weight_decay_where(is_norm_or_bias, 0.f);
      for (int step = 0; step < 2; ++step) {
        for (int i = 0; i < count; ++i) {
          // one tensor without a gradient in the first step: skipped, its step count lags
          if (step == 0 && i == count - 1 && count > 1) continue;
          Tensor g = random_tensor(pc[size_t(i)].shape(), uint64_t(1000 + 7 * i + step));
          pc[size_t(i)].impl().grad = g.impl_ptr();
          pd[size_t(i)].impl().grad = g.to(Device::CUDA).impl_ptr();
        }
        oc->step();
        const int64_t before = emu::launches();
        od->step();
        const int updated = step == 0 && count > 1 ? count - 1 : count;
        EXPECT_EQ(emu::launches() - before, (updated + 63) / 64);
      }
      for (int i = 0; i < count; ++i)
        expect_close(pc[size_t(i)], pd[size_t(i)], 0, std::to_string(i));
    }
  }
}
#endif

#if !SENET_CB_GPU
// Issue 16, item 4: uploads go through pinned staging on a copy stream (engine/cuda/upload.cpp):
// no host wait (the emulator counts an upload from pageable memory as one), the right bytes for
// every size (the staging ring grows), more uploads in a row than it has slots, in-place copies
// into live tensors, and recycled blocks.
TEST_F(CudaBackend, UploadsArePinnedAndNeverWait) {
  const int64_t w0 = emu::host_waits();
  std::vector<Tensor> dev;
  std::vector<std::vector<float>> host;
  for (int64_t n : {1, 1000, 300000, 7, 600000, 64, 64, 64, 64, 64}) {
    host.push_back(test::random_tensor({n}, uint64_t(n)).to_vector());
    dev.push_back(Tensor::from_vector(host.back(), {n}, Device::CUDA));
  }
  Tensor live = Tensor::zeros({1000}, DType::F32, Device::CUDA);
  Tensor src = test::random_tensor({1000}, 9);
  live.copy_(src);  // in place, into a tensor with earlier work (the memset) on the stream
  {
    Tensor gone = Tensor::full({1000}, 5.f, Device::CUDA);  // freed: its block is recycled next
  }
  Tensor recycled = src.to(Device::CUDA);
  EXPECT_EQ(emu::host_waits() - w0, 0) << "an upload made the host wait";
  for (size_t i = 0; i < dev.size(); ++i) EXPECT_EQ(dev[i].to_vector(), host[i]) << "upload " << i;
  EXPECT_EQ(live.to_vector(), src.to_vector());
  EXPECT_EQ(recycled.to_vector(), src.to_vector());
}

// The staging ring waits only when the copy engine is a whole ring behind: with every copy still
// in flight (the emulator's event lag), the 5th and 6th uploads find their slots busy and wait
// (cudaEventSynchronize) — the data still right.
TEST_F(CudaBackend, UploadRingWaitsOnlyWhenTheCopyEngineIsARingBehind) {
  emu::set_event_query_lag(1000000);
  const int64_t w0 = emu::host_waits();
  std::vector<Tensor> dev;
  std::vector<std::vector<float>> host;
  for (int64_t i = 0; i < 6; ++i) {
    host.push_back(test::random_tensor({100 + i}, uint64_t(70 + i)).to_vector());
    dev.push_back(Tensor::from_vector(host.back(), {100 + i}, Device::CUDA));
  }
  const int64_t waits = emu::host_waits() - w0;
  emu::set_event_query_lag(0);
  EXPECT_EQ(waits, 2) << "uploads 5 and 6 reuse the slots of uploads 1 and 2";
  for (size_t i = 0; i < dev.size(); ++i) EXPECT_EQ(dev[i].to_vector(), host[i]) << "upload " << i;
}
#endif

#if !SENET_CB_GPU
// Issue 16, item 3: inference folds BN into each conv once, until the weights change
// (engine/ops/conv_bn_fold_cache.h): the second eval pass launches one kernel less per conv (no
// conv_bn_fold) and gives the same logits as the first and as the CPU. (Every conv of the model is
// a fused conv → BN layer; the blocks' second convs add the shortcut in the same kernel.)
TEST_F(CudaBackend, EvalFoldsEachConvOnceUntilTheWeightsChange) {
  auto model = models::make_model(tiny_resnet18());
  auto cpu_model = models::make_model(tiny_resnet18());
  model->to(Device::CUDA);
  const Tensor x = random_tensor({2, 1, 16, 16}, 4);
  const Tensor xd = x.to(Device::CUDA);
  const int convs = 1 + 8 * 2 + 3;
  auto eval = [&](models::Model& m, const Tensor& in) {
    NoGradGuard no_grad;
    m.eval();
    Tensor y = m.forward(in);
    m.train();
    return y;
  };
  clear_fold_cache();
  const int64_t l0 = emu::launches();
  const Tensor y1 = eval(*model, xd);
  const int64_t l1 = emu::launches();
  const Tensor y2 = eval(*model, xd);
  const int64_t l2 = emu::launches();
  EXPECT_EQ((l1 - l0) - (l2 - l1), convs) << "the second pass folds nothing";
  expect_close(y1, y2, 0, "second pass");
  expect_close(eval(*cpu_model, x), y2, 1e-5, "cuda vs cpu", 1e-7);
  sum(model->forward(xd)).backward();  // training mode: new running statistics
  const int64_t l3 = emu::launches();
  eval(*model, xd);
  EXPECT_EQ(emu::launches() - l3, l1 - l0) << "every conv refolded after the running stats moved";
}
#endif

// Masks on two sites (one pixel-wise, one channel-wise), so the masked paths are in the step.
void set_some_masks(models::Model& m) {
  auto sites = m.counted_sites();
  ASSERT_GE(sites.size(), 4u);
  models::ReluSite* a = sites[1];
  std::vector<uint8_t> pix(size_t(a->size()));
  for (size_t i = 0; i < pix.size(); ++i) pix[i] = rand_uniform(5, 1, i) < 0.6f;
  a->set_mask(Tensor::from_vector_u8(pix, {a->C, a->H, a->W}));
  models::ReluSite* b = sites[3];
  std::vector<uint8_t> ch(size_t(b->C));
  for (size_t i = 0; i < ch.size(); ++i) ch[i] = i % 3 != 0;
  b->set_mask(Tensor::from_vector_u8(ch, {b->C}));
}

TEST_F(CudaBackend, ResNet18TrainingStepMatchesCpu) {
  auto cpu_model = models::make_model(tiny_resnet18());
  auto dev_model = models::make_model(tiny_resnet18());
  set_some_masks(*cpu_model);
  set_some_masks(*dev_model);
  dev_model->to(Device::CUDA);
  for (auto& [name, t] : dev_model->named_tensors()) ASSERT_TRUE(t->is_cuda()) << name;

  const int N = 4;
  Tensor x = random_tensor({N, 1, 16, 16}, 11);
  Tensor y = Tensor::from_vector_i32({1, 7, 3, 3}, {N});
  models::Model* ms[2] = {cpu_model.get(), dev_model.get()};
  Tensor loss[2], logits[2];
  std::unique_ptr<SGD> opt[2];
  double seconds[2];
  for (int d = 0; d < 2; ++d) {
    const Device dev = d ? Device::CUDA : Device::CPU;
    auto t0 = std::chrono::steady_clock::now();
    ms[d]->train();
    logits[d] = ms[d]->forward(x.to(dev));
    loss[d] = softmax_cross_entropy(logits[d], y.to(dev));
    ms[d]->zero_grad();
    loss[d].backward();
    std::vector<ParamRef> ps;
    for (auto& [name, p] : ms[d]->named_parameters()) ps.push_back({name, p});
    opt[d] = std::make_unique<SGD>(ps, 0.1f, 0.9f, 5e-4f);
    opt[d]->step();
    loss[d].item();  // waits for the device
    seconds[d] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  std::printf(
      "[ resnet18 w=1/16 16x16 N=4 ] one training step: cpu %.3f s, cuda (emulated) %.3f s\n",
      seconds[0], seconds[1]);
  ASSERT_TRUE(loss[1].is_cuda() && logits[1].is_cuda());
  EXPECT_NEAR(loss[0].item(), loss[1].item(), 1e-5 * std::fabs(loss[0].item()));
  expect_close(logits[0], logits[1], 1e-4, "logits", 1e-7);
  EXPECT_EQ(count_correct(logits[0], y), count_correct(logits[1], y.to(Device::CUDA)));

  // Gradients were taken before the step and are still attached; then weights and BN buffers.
  auto pc = cpu_model->named_parameters(), pd = dev_model->named_parameters();
  ASSERT_EQ(pc.size(), pd.size());
  for (size_t i = 0; i < pc.size(); ++i) {
    ASSERT_EQ(pc[i].first, pd[i].first);
    ASSERT_TRUE(pd[i].second.grad().defined()) << pd[i].first;
    EXPECT_TRUE(pd[i].second.grad().is_cuda()) << pd[i].first;
    expect_close(pc[i].second.grad(), pd[i].second.grad(), 1e-3, "grad " + pc[i].first, 1e-7);
    expect_close(pc[i].second, pd[i].second, 1e-3, "weight after SGD " + pc[i].first, 1e-7);
  }
  auto bc = cpu_model->named_buffers(), bd = dev_model->named_buffers();
  ASSERT_EQ(bc.size(), bd.size());
  for (size_t i = 0; i < bc.size(); ++i)
    expect_close(bc[i].second, bd[i].second, 1e-4, "buffer " + bc[i].first, 1e-7);

  // Eval forward (BN folded into the convs on the device) matches too.
  cpu_model->eval();
  dev_model->eval();
  NoGradGuard no_grad;
  expect_close(cpu_model->forward(x), dev_model->forward(x.to(Device::CUDA)), 1e-4, "eval logits",
               1e-7);
}

TEST_F(CudaBackend, ModelToAndCheckpointFromCuda) {
  auto a = models::make_model(tiny_resnet18());
  set_some_masks(*a);
  a->to(Device::CUDA);
  std::string path = (std::filesystem::temp_directory_path() /
                      ("senet_cb_" + std::to_string(::getpid()) + ".safetensors"))
                         .string();
  save_checkpoint(path, *a, nullptr, {{"stage", "test"}});
  auto b = models::make_model([] {
    auto c = tiny_resnet18();
    c.seed = 99;
    return c;
  }());
  load_model_state(read_checkpoint(path), *b);
  std::filesystem::remove(path);
  auto ta = a->named_tensors(), tb = b->named_tensors();
  ASSERT_EQ(ta.size(), tb.size());
  for (size_t i = 0; i < ta.size(); ++i) {
    EXPECT_FALSE(tb[i].second->is_cuda());
    expect_close(*tb[i].second, *ta[i].second, 0, ta[i].first);
  }
  a->to(Device::CPU);  // and back
  for (auto& [name, t] : a->named_tensors()) EXPECT_FALSE(t->is_cuda()) << name;
}

TEST_F(CudaBackend, CachingAllocatorReusesBlocks) {
  EXPECT_EQ(cuda::allocator_size_class(1), 256u);
  EXPECT_EQ(cuda::allocator_size_class(257), 512u);
  EXPECT_EQ(cuda::allocator_size_class(1000000), size_t(1) << 20);
  EXPECT_EQ(cuda::allocator_size_class((size_t(1) << 20) + 1),
            (size_t(1) << 20) + (size_t(1) << 17));
  void* first;
  {
    Tensor t = Tensor::empty({1000}, DType::F32, Device::CUDA);
    first = t.raw();
  }
  const cuda::AllocatorStats before = cuda::allocator_stats();
  Tensor t = Tensor::empty({900}, DType::F32, Device::CUDA);  // same class (4 KiB)
  const cuda::AllocatorStats after = cuda::allocator_stats();
  EXPECT_EQ(t.raw(), first);
  EXPECT_EQ(after.device_allocs, before.device_allocs);
  EXPECT_EQ(after.cache_hits, before.cache_hits + 1);
}

TEST_F(CudaBackend, MaskSearchEntriesMatchHost) {
  const CudaOps& o = *cuda_ops();
  Tensor at = random_tensor({3, 2, 4, 4}, 61), as = random_tensor({3, 2, 4, 4}, 62);
  Tensor D = Tensor::zeros({32}, DType::F32, Device::CUDA);
  o.mask_accumulate(at.to(Device::CUDA).data<float>(), as.to(Device::CUDA).data<float>(),
                    D.data<float>(), 3, 32);
  std::vector<double> host(32, 0.0);
  std::vector<float> a = at.to_vector(), s = as.to_vector();
  for (int b = 0; b < 3; ++b)
    for (int i = 0; i < 32; ++i)
      host[size_t(i)] += std::fabs(double(a[size_t(b * 32 + i)]) - s[size_t(b * 32 + i)]);
  std::vector<float> dv = D.to_vector();
  for (int i = 0; i < 32; ++i) EXPECT_NEAR(dv[size_t(i)], host[size_t(i)], 1e-5) << i;
  Tensor m = Tensor::empty({32}, DType::U8, Device::CUDA);
  o.topk_mask(D.data<float>(), 32, 11, m.data<uint8_t>());
  std::vector<double> dd(dv.begin(), dv.end());
  EXPECT_EQ(m.to_vector_u8(), topk_mask(dd, 11));
}

// The run machinery on --device cuda: activate_device, batches moved to the device, training,
// evaluation and checkpoints (one epoch of 2 steps on synthetic data; the loss must be finite).
TEST_F(CudaBackend, TrainSupervisedOnCuda) {
  RunConfig c = senet::test::tiny_run_config("", 48);
  c.data.val_size = 16;
  c.train.epochs = 1;
  c.device = Device::CUDA;
  c.allow_tf32 = true;  // the config key reaches the backend
  EXPECT_EQ(activate_device(c), Device::CUDA);
  EXPECT_TRUE(cuda_allow_tf32());
  c.allow_tf32 = false;
  EXPECT_EQ(activate_device(c), Device::CUDA);
  EXPECT_FALSE(cuda_allow_tf32());
  c.out_dir =
      (std::filesystem::temp_directory_path() / ("senet_cb_train_" + std::to_string(::getpid())))
          .string();
  std::filesystem::remove_all(c.out_dir);
  auto m = models::make_model(c.model);
  TrainResult r = train_supervised(c, *m, false);
  EXPECT_EQ(r.epochs_run, 1);
  EXPECT_TRUE(std::isfinite(r.val.loss)) << r.val.loss;
  EXPECT_TRUE(std::filesystem::exists(c.out_dir + "/last.safetensors"));
  for (auto& [name, t] : m->named_tensors()) EXPECT_TRUE(t->is_cuda()) << name;
  std::filesystem::remove_all(c.out_dir);
}

TEST_F(CudaBackend, CheckMacroNamesFileLineAndCall) {
  if (cbtest::kGpuBuild) GTEST_SKIP() << "host pointers as device memory: emulator-specific error";
  float a = 1, b = 2;  // host pointers: not device memory, the (emulated) runtime rejects them
  try {
    SENET_CUDA_CHECK(cudaMemcpy(&a, &b, sizeof a, cudaMemcpyDeviceToHost));
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("test_cuda_backend_train.cpp:"), std::string::npos) << m;
    EXPECT_NE(m.find("cudaMemcpy(&a, &b, sizeof a, cudaMemcpyDeviceToHost)"), std::string::npos)
        << m;
    EXPECT_NE(m.find("cudaErrorInvalidValue"), std::string::npos) << m;
  }
  (void)cudaGetLastError();  // the runtime keeps the error until read: leave none to later tests
}

// Issue 16, item 4: a steady-state training step on CUDA makes no host round trip. The emulator
// counts every call that makes the host wait for the device (copies to the host, stream/event/
// device synchronisations: kernels/emu/emu_control.h); the epoch loop keeps its per-step sums and
// finite checks on the device and reads them every StepMetrics::kDefaultEvery steps
// (senet/step_metrics.h). Steps other than those flushes must count zero waits, a flush six (three
// reads — the finite-check rows, the sums, the correct count — each a copy and a stream sync).
#if !SENET_CB_GPU
TEST_F(CudaBackend, SteadyStateTrainingStepMakesNoHostRoundTrip) {
  RunConfig c = senet::test::tiny_run_config("", 8 * 17 + 32);  // 17 batches of 8: one flush
  c.model.image_size = 8;                                       // 8×8: less emulated work
  DataBundle data = load_data(c);
  auto model = models::make_model(c.model);
  model->to(Device::CUDA);
  std::vector<ParamRef> params;
  for (auto& [name, p] : model->named_parameters()) params.push_back({name, p});
  SGD opt(params, 0.01f, 0.9f, 5e-4f, /*nesterov=*/true);
  data::Loader loader(data.train, 8, true, true, data.aug, data.norm, 1);
  EpochLoop loop{*model, opt, nullptr, "epoch", 1, /*progress=*/false, /*probe_gradients=*/false};
  std::vector<int64_t> waits, allocs;  // host waits and allocator calls at the end of each step
  const EpochStats st = loop.run(
      loader, 0,
      [&](const data::Batch& b, int64_t) { return cross_entropy_step(*model, b, Device::CUDA); },
      [&](const StepOut&, int64_t) {
        waits.push_back(emu::host_waits());
        allocs.push_back(emu::allocator_calls());
        return false;
      });
  ASSERT_EQ(st.steps, 17);
  ASSERT_EQ(waits.size(), 17u);
  const int every = StepMetrics::kDefaultEvery;
  for (size_t s = 1; s < waits.size(); ++s) {
    const int64_t d = waits[s] - waits[s - 1];
    if ((int64_t(s) + 1) % every == 0)
      EXPECT_EQ(d, 6) << "step " << s + 1 << " flushes: three reads";
    else
      EXPECT_EQ(d, 0) << "step " << s + 1 << " waited for the device " << d << " times";
    // The caching allocator still takes new blocks in step 2 (4 here, measured: its working set
    // is not complete after one step); from step 3 on a step takes none.
    if (s >= 2) {
      EXPECT_EQ(allocs[s], allocs[s - 1]) << "step " << s + 1 << " called cudaMalloc/cudaFree";
    }
  }
  EXPECT_EQ(st.images, 136);
  EXPECT_TRUE(std::isfinite(st.loss()) && st.loss() > 0) << st.loss();
  EXPECT_GE(st.correct, 0);
  EXPECT_LE(st.correct, 136);
  EXPECT_GT(st.term_sums.at("ce"), 0);
  EXPECT_NEAR(st.term_sums.at("ce"), st.loss_sum, 1e-4 * st.loss_sum);
}

// The deferred check still stops at the first non-finite step and names it and the tensor — one
// step later (the row goes to pinned host memory behind the step; the next step looks at it once
// it has landed, which under the emulation is always), not at the flush 16 steps on.
struct PoisonedRun {
  std::string error;
  int64_t steps_seen = 0;  // steps that completed on the host (after_step calls)
};
PoisonedRun run_poisoned(bool poison_gradient, int event_lag = 0) {
  RunConfig c = senet::test::tiny_run_config("", 8 * 5 + 32);
  c.model.image_size = 8;  // 8×8: less emulated work
  DataBundle data = load_data(c);
  auto model = models::make_model(c.model);
  model->to(Device::CUDA);
  std::vector<ParamRef> params;
  for (auto& [name, p] : model->named_parameters()) params.push_back({name, p});
  SGD opt(params, 0.01f, 0.9f, 0.f, false);
  data::Loader loader(data.train, 8, false, true, data.aug, data.norm, 1);
  EpochLoop loop{*model, opt, nullptr, "epoch", 1, /*progress=*/false, /*probe_gradients=*/false};
  PoisonedRun r;
  emu::set_event_query_lag(event_lag);  // a device running behind: the readbacks land late
  try {
    loop.run(
        loader, 0,
        [&](const data::Batch& b, int64_t step) {
          StepOut out = cross_entropy_step(*model, b, Device::CUDA);
          if (step == 2) {
            Tensor nan = Tensor::full({}, NAN, Device::CUDA);
            if (poison_gradient) {  // the backward runs here: make the last gradient NaN
              out.loss.backward();
              out.backward_done = true;
              Tensor g = model->named_parameters().back().second.grad();
              g.copy_(Tensor::full(g.shape(), NAN, Device::CUDA));
            } else {  // a detached NaN term: the gradients stay finite
              out.loss = add(out.loss, mul(out.loss.detach(), nan));
            }
          }
          return out;
        },
        [&](const StepOut&, int64_t) {
          ++r.steps_seen;
          return false;
        });
  } catch (const Error& e) {
    r.error = e.what();
  }
  emu::set_event_query_lag(0);
  return r;
}

// The per-step check of runs on several ranks (senet/trainer.h check_finite) on CUDA: one copy of
// 1 + P sums to the host, not P gradients, still naming the first non-finite tensor.
TEST_F(CudaBackend, CheckFiniteReadsOneRowOfSums) {
  RunConfig c = senet::test::tiny_run_config("", 8 * 2 + 32);
  c.model.image_size = 8;
  DataBundle data = load_data(c);
  auto model = models::make_model(c.model);
  model->to(Device::CUDA);
  data::Loader loader(data.train, 8, false, true, data.aug, data.norm, 1);
  loader.start_epoch(0);
  data::Batch b;
  ASSERT_TRUE(loader.next(b));
  StepOut out = cross_entropy_step(*model, b, Device::CUDA);
  out.loss.backward();
  const auto params = model->named_parameters();
  ASSERT_GT(params.size(), 4u);
  const int64_t w0 = emu::host_waits();
  check_finite(out.loss, *model, "here");  // all finite: no error
  EXPECT_LE(emu::host_waits() - w0, 2) << "one copy and its synchronisation, not one per tensor";
  Tensor g = params[3].second.grad();
  g.copy_(Tensor::full(g.shape(), INFINITY, Device::CUDA));
  std::string err;
  try {
    check_finite(out.loss, *model, "epoch 1 step 9");
  } catch (const Error& e) {
    err = e.what();
  }
  EXPECT_NE(err.find("epoch 1 step 9: gradient of '" + params[3].first + "' is not finite"),
            std::string::npos)
      << err;
}

TEST_F(CudaBackend, DeferredFiniteCheckNamesTheFirstBadStepOneStepLater) {
  const PoisonedRun loss = run_poisoned(false);
  EXPECT_NE(loss.error.find("epoch 1 step 3"), std::string::npos) << loss.error;
  EXPECT_NE(loss.error.find("the loss is nan"), std::string::npos) << loss.error;
  EXPECT_EQ(loss.steps_seen, 3) << "caught in step 4, not at the flush";
  const PoisonedRun grad = run_poisoned(true);
  RunConfig c = senet::test::tiny_run_config("", 8);
  const std::string last = models::make_model(c.model)->named_parameters().back().first;
  EXPECT_NE(grad.error.find("epoch 1 step 3"), std::string::npos) << grad.error;
  EXPECT_NE(grad.error.find("gradient of '" + last + "' is not finite"), std::string::npos)
      << grad.error;
  EXPECT_EQ(grad.steps_seen, 3);
}

// When the device runs behind (the emulator's event lag), the check never waits for it: a row
// that has not landed is looked at a step later (lag 1: step 3's row lands for step 5), or by the
// flush at the epoch's end (a device that never catches up) — the same error either way.
TEST_F(CudaBackend, DeferredFiniteCheckNeverWaitsForALateDevice) {
  const PoisonedRun late = run_poisoned(false, 1);
  EXPECT_NE(late.error.find("epoch 1 step 3: the loss is nan"), std::string::npos) << late.error;
  EXPECT_EQ(late.steps_seen, 4) << "step 4's poll found the copy still in flight";
  const PoisonedRun never = run_poisoned(false, 1000000);
  EXPECT_NE(never.error.find("epoch 1 step 3: the loss is nan"), std::string::npos) << never.error;
  EXPECT_EQ(never.steps_seen, 5) << "only the epoch's final flush read the rows";
}

#endif

// Issue 16, item 4: the epoch loop replays its step as a CUDA graph (senet/epoch_loop.h). These
// run on the GPU twin too; the launch and wait counts only the emulator has.
int64_t graph_launches_so_far() {
#if SENET_CB_GPU
  return 0;
#else
  return emu::graph_launches();
#endif
}
int64_t host_waits_so_far() {
#if SENET_CB_GPU
  return 0;
#else
  return emu::host_waits();
#endif
}

// A cosine schedule (η changes every step: the optimizer must read it from device memory) that
// jumps to η = 1e30 from epoch fraction `jump` on (the run diverges to a non-finite loss).
struct CosineThenJump : LrSchedule {
  Cosine cosine;
  double jump;
  CosineThenJump(float base, double jump_) : cosine(base, 2), jump(jump_) {}
  float lr_at(int64_t epoch, double fraction) const override {
    return fraction >= jump ? 1e30f : cosine.lr_at(epoch, fraction);
  }
};

struct LoopRun {
  std::vector<EpochStats> st;
  std::vector<std::vector<float>> tensors;  // weights, BN buffers
  OptimizerState opt_state;
  int64_t graph_launches = 0, host_waits = 0;
  std::string error;  // what stopped the run, if something did
  bool graph_failed = false;
};

// `epochs` epochs of 5 batches of 4 and a partial batch of 3 (run eagerly), the device counters
// read every `every` steps.
// host_read: the body reads its loss on the host (a step no graph can hold).
LoopRun run_epochs(bool cuda_graph, bool adam, int every, double jump = 2.0, int epochs = 2,
                   bool host_read = false) {
  RunConfig c = senet::test::tiny_run_config("", 4 * 5 + 3 + 32);
  c.model.image_size = 8;  // 8×8 images: a quarter of the emulated work of the usual 16×16
  DataBundle data = load_data(c);
  auto model = models::make_model(c.model);
  model->to(Device::CUDA);
  std::vector<ParamRef> params;
  for (auto& [name, p] : model->named_parameters()) params.push_back({name, p});
  std::unique_ptr<Optimizer> opt;
  if (adam)
    opt = std::make_unique<Adam>(params, 1e-3f, 0.9f, 0.999f, 1e-8f, 1e-2f, /*decoupled=*/true);
  else
    opt = std::make_unique<SGD>(params, 0.05f, 0.9f, 5e-4f, /*nesterov=*/true);
  CosineThenJump sched(adam ? 1e-3f : 0.05f, jump);
  data::Loader loader(data.train, 4, true, /*drop_last=*/false, data.aug, data.norm, 1);
  EpochLoop loop{*model, *opt, &sched, "epoch", epochs, /*progress=*/false};
  loop.cuda_graph = cuda_graph;
  loop.metrics_every = every;
  auto body = [&](const data::Batch& b, int64_t) {
    StepOut out = cross_entropy_step(*model, b, Device::CUDA);
    if (host_read) (void)out.loss.item();
    return out;
  };
  LoopRun r;
  const int64_t g0 = graph_launches_so_far(), w0 = host_waits_so_far();
  try {
    for (int e = 0; e < epochs; ++e) r.st.push_back(loop.run(loader, e, body));
  } catch (const Error& e) {
    r.error = e.what();
  }
  r.graph_launches = graph_launches_so_far() - g0;
  r.host_waits = host_waits_so_far() - w0;
  for (auto& [name, t] : model->named_tensors())
    if (t->dtype() == DType::F32) r.tensors.push_back(t->to_vector());
  r.opt_state = opt->state();
  r.graph_failed = loop.graph_failed;
  return r;
}

// Two runs from the same weights, eager and graphed (SGD over two epochs: the graph is recorded
// again in the second; AdamW over one), the counters read every 2 steps so that reads fall
// between replays: every sum, weight, BN buffer and optimizer state equal bitwise; a graph launch
// for every full batch after the first.
TEST_F(CudaBackend, GraphedEpochsEqualEagerEpochsBitwise) {
  for (bool adam : {false, true}) {
    SCOPED_TRACE(adam ? "AdamW" : "SGD");
    const int epochs = adam ? 1 : 2;
    const LoopRun eager = run_epochs(false, adam, 2, 2.0, epochs),
                  graphed = run_epochs(true, adam, 2, 2.0, epochs);
    ASSERT_EQ(eager.error, "");
    ASSERT_EQ(graphed.error, "");
    if (!cbtest::kGpuBuild) {
      EXPECT_EQ(eager.graph_launches, 0);
      EXPECT_EQ(graphed.graph_launches, epochs * 4) << "batches 2–5 of each epoch replay the graph";
      // No wait added by the replays: one per epoch, for the graph's replays to end before it goes.
      EXPECT_EQ(graphed.host_waits, eager.host_waits + epochs);
    }
    ASSERT_EQ(graphed.st.size(), size_t(epochs));
    for (size_t e = 0; e < size_t(epochs); ++e) {
      EXPECT_EQ(graphed.st[e].steps, 6);
      EXPECT_EQ(graphed.st[e].images, 23);
      EXPECT_EQ(graphed.st[e].loss_sum, eager.st[e].loss_sum) << "epoch " << e + 1;
      EXPECT_EQ(graphed.st[e].term_sums, eager.st[e].term_sums);
      EXPECT_EQ(graphed.st[e].correct, eager.st[e].correct);
      EXPECT_EQ(graphed.st[e].grad_norms, eager.st[e].grad_norms);
      EXPECT_EQ(graphed.st[e].lr, eager.st[e].lr);
    }
    EXPECT_EQ(graphed.tensors, eager.tensors) << "weights or BN buffers differ";
    ASSERT_EQ(graphed.opt_state.size(), eager.opt_state.size());
    for (size_t i = 0; i < eager.opt_state.size(); ++i) {
      EXPECT_EQ(graphed.opt_state[i].first, eager.opt_state[i].first);
      if (eager.opt_state[i].second.dtype() == DType::I32)
        EXPECT_EQ(graphed.opt_state[i].second.to_vector_i32(),
                  eager.opt_state[i].second.to_vector_i32())
            << eager.opt_state[i].first;
      else
        EXPECT_EQ(graphed.opt_state[i].second.to_vector(), eager.opt_state[i].second.to_vector())
            << eager.opt_state[i].first;
    }
    if (!adam) {  // the reads' windows do not change the sums (beyond float rounding)
      const LoopRun once = run_epochs(false, adam, 16, 2.0, 1);
      EXPECT_NEAR(graphed.st[0].loss_sum, once.st[0].loss_sum, 1e-5 * once.st[0].loss_sum);
    }
  }
}

// The deferred finite check covers replayed steps: a run driven to a non-finite loss by η = 1e30
// from the third step on stops, graphed, exactly where and how the eager run stops.
TEST_F(CudaBackend, GraphedRunStopsWhereTheEagerRunStops) {
  const LoopRun eager = run_epochs(false, false, 2, 2.0 / 6, 1);
  const LoopRun graphed = run_epochs(true, false, 2, 2.0 / 6, 1);
  ASSERT_NE(eager.error, "") << "the run did not diverge";
  EXPECT_EQ(graphed.error, eager.error);
  for (const char* early : {"step 1:", "step 2:", "step 3:"})
    EXPECT_EQ(eager.error.find(early), std::string::npos) << eager.error;
}

// A step that cannot be recorded (here: the body reads its loss on the host, refused inside a
// recording) is undone — nothing of it ran, its optimizer step is uncounted — and the loop trains
// on eagerly: the same result as an eager run, optimizer step counts included.
TEST_F(CudaBackend, FailedRecordingFallsBackToEagerSteps) {
  const LoopRun eager = run_epochs(false, false, 2, 2.0, 1, true);
  const LoopRun graphed = run_epochs(true, false, 2, 2.0, 1, true);
  ASSERT_EQ(graphed.error, "");
  EXPECT_TRUE(graphed.graph_failed);
  EXPECT_EQ(graphed.graph_launches, 0);
  ASSERT_EQ(graphed.st.size(), 1u);
  EXPECT_EQ(graphed.st[0].loss_sum, eager.st[0].loss_sum);
  EXPECT_EQ(graphed.tensors, eager.tensors);
  ASSERT_EQ(graphed.opt_state.size(), eager.opt_state.size());
  for (size_t i = 0; i < eager.opt_state.size(); ++i) {
    if (eager.opt_state[i].second.dtype() != DType::I32) continue;
    EXPECT_EQ(graphed.opt_state[i].second.to_vector_i32(),
              eager.opt_state[i].second.to_vector_i32())
        << eager.opt_state[i].first;
  }
}

// A replay runs none of the step's host code, so the loop checks each new batch's labels on the
// host before refilling the graph's input, naming the step as the eager loss would the op.
TEST_F(CudaBackend, GraphedStepChecksEachBatchsLabels) {
  RunConfig c = senet::test::tiny_run_config("", 8 * 6 + 32);
  c.model.image_size = 8;
  DataBundle data = load_data(c);
  // Batch 4 (no shuffle), index 5: a label the loader accepts (it believes in 8 classes) but
  // outside the model's 4.
  data.train.num_classes = 8;
  data.train.labels[8 * 3 + 5] = 7;
  auto model = models::make_model(c.model);
  model->to(Device::CUDA);
  std::vector<ParamRef> params;
  for (auto& [name, p] : model->named_parameters()) params.push_back({name, p});
  SGD opt(params, 0.01f, 0.9f);
  data::Loader loader(data.train, 8, false, true, data.aug, data.norm, 1);
  EpochLoop loop{*model, opt, nullptr, "epoch", 1, /*progress=*/false};
  loop.cuda_graph = true;
  const int64_t g0 = graph_launches_so_far();
  std::string err;
  try {
    loop.run(loader, 0, [&](const data::Batch& b, int64_t) {
      return cross_entropy_step(*model, b, Device::CUDA);
    });
  } catch (const Error& e) {
    err = e.what();
  }
  if (!cbtest::kGpuBuild) {
    EXPECT_EQ(graph_launches_so_far() - g0, 2) << "steps 2 and 3 replayed, step 4 refused";
  }
  EXPECT_NE(err.find("epoch 1 step 4"), std::string::npos) << err;
  EXPECT_NE(err.find("label at index 5 is 7, outside [0, 4)"), std::string::npos) << err;
}

}  // namespace
}  // namespace senet
