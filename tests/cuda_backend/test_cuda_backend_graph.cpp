// tests/cuda_backend/test_cuda_backend_graph.cpp — cuda::Graph (engine/cuda/graph.h): the forward
// and backward of a tiny ResNet-18 recorded once and replayed on new batches gives what the eager
// code gives on the same batches (bitwise under emulation: the same kernels in the same order);
// a replay is one graph launch and no host wait; the graph's memory stays its own while eager code
// allocates between replays; replays advance the versions of what they write; and a recording
// that copies between host and device or synchronises fails with the graph's name, as does a
// second graph while one exists.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/core/autograd.h"
#include "engine/cuda/graph.h"
#include "engine/ops/cross_entropy.h"
#include "engine/ops/elementwise.h"
#include "models/model.h"
#include "tests/cuda_backend/cb_test.h"
#if !SENET_CB_GPU
#include "kernels/emu/emu_control.h"
#endif

namespace senet {
namespace {

using cbtest::CudaBackend;
using cbtest::expect_close;
using cbtest::tiny_resnet18;
using test::random_tensor;

constexpr int kN = 4;
Tensor images(int k) { return random_tensor({kN, 1, 16, 16}, 100 + uint64_t(k)); }
std::vector<int32_t> host_labels(int k) {
  std::vector<int32_t> v(kN);
  for (int i = 0; i < kN; ++i) v[size_t(i)] = (3 * k + 7 * i) % 10;
  return v;
}
Tensor labels(int k) { return Tensor::from_vector_i32(host_labels(k), {kN}); }

// The labels are checked on the host (`checked`, the same values): the loss's own device-side
// check would read its verdict back, which a recording refuses.
Tensor forward_backward(models::Model& m, const Tensor& x, const Tensor& y,
                        const std::vector<int32_t>& checked) {
  m.zero_grad();
  Tensor loss = softmax_cross_entropy(m.forward(x), y, &checked);
  loss.backward();
  return loss;
}

// Bitwise under emulation; on a GPU, atomics in a kernel may sum in another order.
constexpr double kTol = cbtest::kGpuBuild ? 1e-5 : 0;

TEST_F(CudaBackend, GraphReplayEqualsTheEagerForwardBackward) {
  auto eager = models::make_model(tiny_resnet18());
  auto graphed = models::make_model(tiny_resnet18());
  for (auto* m : {eager.get(), graphed.get()}) {
    m->to(Device::CUDA);
    m->train();
  }
  // The graph's inputs: made before the recording, refilled in place before each replay.
  Tensor x = images(0).to(Device::CUDA), y = labels(0).to(Device::CUDA);
  // Once eagerly first (gradients exist, the allocator is warm), on both models: the same BN
  // running statistics.
  const std::vector<int32_t> y0 = host_labels(0);
  forward_backward(*graphed, x, y, y0);
  forward_backward(*eager, x, y, y0);

  Tensor loss;
  cuda::Graph step("forward+backward", [&] { loss = forward_backward(*graphed, x, y, y0); });
  EXPECT_GT(step.nodes(), 50u) << "a ResNet-18 forward and backward is more than 50 launches";

  const auto pg = graphed->named_parameters(), pe = eager->named_parameters();
  for (int k = 1; k <= 3; ++k) {
    SCOPED_TRACE("batch " + std::to_string(k));
    // The eager step first: its results must survive the replay. Eager code allocates from the
    // same caching allocator; had it been handed a block the graph writes, the replay would
    // overwrite what it computed (and had the graph been handed eager blocks, the reverse).
    const Tensor ref = forward_backward(*eager, images(k).to(Device::CUDA),
                                        labels(k).to(Device::CUDA), host_labels(k));
    x.copy_(images(k));
    y.copy_(labels(k));  // host_labels(k) are valid: the recorded host check ran on batch 0 only
#if !SENET_CB_GPU
    const int64_t waits = emu::host_waits(), graphs = emu::graph_launches();
#endif
    const uint64_t version = pg[0].second.grad().storage_version();
    step.replay();
#if !SENET_CB_GPU
    EXPECT_EQ(emu::host_waits(), waits) << "a replay made the host wait";
    EXPECT_EQ(emu::graph_launches() - graphs, 1);
#endif
    EXPECT_GT(pg[0].second.grad().storage_version(), version) << "the replay wrote the gradient";
    expect_close(ref, loss, kTol, "loss");
    ASSERT_EQ(pg.size(), pe.size());
    for (size_t i = 0; i < pg.size(); ++i)
      expect_close(pe[i].second.grad(), pg[i].second.grad(), kTol, "grad " + pg[i].first);
  }
  const auto bg = graphed->named_buffers(), be = eager->named_buffers();
  for (size_t i = 0; i < bg.size(); ++i)
    expect_close(be[i].second, bg[i].second, kTol, "buffer " + bg[i].first);
}

TEST_F(CudaBackend, GraphRecordingRefusesHostCopiesAndKeepsTheEngineUsable) {
  const Tensor x = random_tensor({64}, 5);
  const Tensor xd = x.to(Device::CUDA);
  auto message = [](const std::function<void()>& f) {
    try {
      f();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  const std::string read = message([&] { cuda::Graph g("reads", [&] { (void)sum(xd).item(); }); });
  EXPECT_NE(read.find("graph 'reads': recording failed"), std::string::npos) << read;
  EXPECT_NE(read.find("device → host"), std::string::npos) << read;
  const std::string upload =
      message([&] { cuda::Graph g("uploads", [&] { (void)x.to(Device::CUDA); }); });
  EXPECT_NE(upload.find("graph 'uploads'"), std::string::npos) << upload;
  EXPECT_NE(upload.find("host → device"), std::string::npos) << upload;
  const std::string sync = message([&] {
    cuda::Graph g("syncs", [&] {
      (void)sum(xd);
      device_backend(Device::CUDA).synchronize();
    });
  });
  EXPECT_NE(sync.find("graph 'syncs': recording failed"), std::string::npos) << sync;
  EXPECT_NE(sync.find("capturing"), std::string::npos) << sync;
  const std::string nested =
      message([&] { cuda::Graph outer("outer", [&] { cuda::Graph inner("inner", [] {}); }); });
  EXPECT_NE(nested.find("graph 'outer' exists: one graph at a time"), std::string::npos) << nested;
  {
    cuda::Graph first("first", [&] { (void)sum(xd); });
    const std::string second = message([&] { cuda::Graph g("second", [] {}); });
    EXPECT_NE(second.find("graph 'first' exists"), std::string::npos) << second;
  }
  cuda::Graph again("after the first", [&] { (void)sum(xd); });  // the first one is gone
  // Nothing is left recording: eager work runs and reads back.
  double want = 0;
  for (float v : x.to_vector()) want += v;
  EXPECT_NEAR(sum(xd).item(), want, 1e-5 * (1 + std::fabs(want)));
}

}  // namespace
}  // namespace senet
