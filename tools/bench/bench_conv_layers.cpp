// tools/bench/bench_conv_layers.cpp — every distinct conv layer of ResNet-18 (tools/bench/
// resnet_layers.h) on the CPU: fprop, dgrad and wgrad as the engine runs them (direct kernels when
// the CPU has AVX-512/AVX2) and through the im2col + OpenBLAS path (the engine before the direct
// kernels, and their oracle), and the fused conv→BN→masked-ReLU op forward + backward, against the
// sgemm rate this binary measures. Not a test: each shape is checked (direct vs im2col) before
// it is timed; tools/bench/vs_pytorch.py runs this next to tools/bench/torch_layers.py.
//   bench_conv_layers [--threads 2] [--reps 7] [--only SUBSTR] [--list] [--json]   (--help: all options)
// --list prints the shapes as JSON lines (for torch_layers.py); --json prints one JSON line per
// shape instead of the table.
// FLOPs: 2·N·K·P·Q·C·R·S per pass; the fused fwd+bwd counts 3 passes (BN/act work not counted).
// Also the same conv→BN→masked-ReLU through three unfused ops (conv2d, batch_norm2d, masked_relu),
// and which algorithm (engine/cpu/conv_algo.h) ran each pass.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "engine/core/autograd.h"
#include "engine/core/parallel.h"
#include "engine/core/rng.h"
#include "engine/cpu/activation.h"
#include "engine/cpu/batchnorm.h"
#include "engine/cpu/blas.h"
#include "engine/cpu/conv2d.h"
#include "engine/cpu/conv_algo.h"
#include "engine/cpu/cpu_isa.h"
#include "engine/cpu/direct_conv.h"
#include "engine/ops/activation.h"
#include "engine/ops/batchnorm.h"
#include "engine/ops/conv2d.h"
#include "engine/ops/conv_bn_act.h"
#include "tools/bench/bench_timing.h"
#include "tools/bench/resnet_layers.h"
#include "tools/cli11_helpers.h"

using namespace senet;

namespace {

using Clock = std::chrono::steady_clock;

double median_ms(const std::function<void()>& f, int reps) {
  return bench::time_it(f, reps).median_ms;
}

double sgemm_gflops(int reps) {
  const int n = 1024;
  std::vector<float> A(size_t(n) * n), B(size_t(n) * n), C(size_t(n) * n);
  for (size_t i = 0; i < A.size(); ++i) A[i] = rand_normal(1, 0, i), B[i] = rand_normal(2, 0, i);
  std::vector<double> ms;
  for (int i = 0; i < std::max(reps, 5) + 2; ++i) {
    auto t0 = Clock::now();
    cpu::sgemm_parallel(false, false, n, n, n, 1.f, A.data(), n, B.data(), n, 0.f, C.data(), n);
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  return 2.0 * n * n * n / (*std::min_element(ms.begin() + 2, ms.end()) * 1e6);  // best run
}

std::vector<float> normals(size_t n, uint64_t seed, float scale = 1.f) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = scale * rand_normal(seed, 0, i);
  return v;
}

struct Timings {
  double fprop, dgrad, wgrad, im2col_fprop, im2col_dgrad, im2col_wgrad, fused, unfused, check;
  double prologue = -1,
         bnact_then_conv = -1;  // direct fprop only: input map inside vs a pass before
};

Timings bench_layer(const bench::ConvLayer& L, int reps) {
  const auto g = cpu::conv2d_geom(L.N, L.C, L.H, L.W, L.K, L.R, L.S, L.stride, L.pad);
  const int64_t PQ = g.PQ();
  auto x = normals(size_t(g.N) * g.C * g.HW(), 1);
  auto w = normals(size_t(g.K) * g.CRS(), 2, std::sqrt(2.f / float(g.CRS())));
  auto dy = normals(size_t(g.N) * g.K * PQ, 3);
  std::vector<float> y(dy.size()), dx(x.size()), dw(w.size()), y2(dy.size()), dx2(x.size()),
      dw2(w.size());
  cpu::ConvDyFill fill = [&](int, int n0, int gn, float* scratch) -> const float* {
    if (gn == 1) return dy.data() + size_t(n0) * g.K * PQ;
    for (int j = 0; j < gn; ++j)
      for (int k = 0; k < g.K; ++k)
        std::memcpy(scratch + (int64_t(k) * gn + j) * PQ,
                    dy.data() + (size_t(n0 + j) * g.K + k) * PQ, size_t(PQ) * 4);
    return scratch;
  };
  Timings t{};
  // Check the engine's path against im2col once, before timing.
  cpu::conv2d_fprop(g, x.data(), w.data(), y.data(), {});
  cpu::conv2d_bprop(g, x.data(), w.data(), fill, dx.data(), dw.data());
  cpu::conv2d_fprop_im2col(g, x.data(), w.data(), y2.data(), {});
  cpu::conv2d_bprop_im2col(g, x.data(), w.data(), fill, dx2.data(), dw2.data());
  auto rel = [](const std::vector<float>& a, const std::vector<float>& b) {
    double s = 0, d = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      s = std::max(s, double(std::fabs(b[i])));
      d = std::max(d, double(std::fabs(a[i] - b[i])));
    }
    return s > 0 ? d / s : d;
  };
  t.check = std::max({rel(y, y2), rel(dx, dx2), rel(dw, dw2)});

  t.fprop = median_ms([&] { cpu::conv2d_fprop(g, x.data(), w.data(), y.data(), {}); }, reps);
  t.dgrad =
      median_ms([&] { cpu::conv2d_bprop(g, x.data(), w.data(), fill, dx.data(), nullptr); }, reps);
  t.wgrad =
      median_ms([&] { cpu::conv2d_bprop(g, x.data(), w.data(), fill, nullptr, dw.data()); }, reps);
  t.im2col_fprop =
      median_ms([&] { cpu::conv2d_fprop_im2col(g, x.data(), w.data(), y.data(), {}); }, reps);
  t.im2col_dgrad = median_ms(
      [&] { cpu::conv2d_bprop_im2col(g, x.data(), w.data(), fill, dx.data(), nullptr); }, reps);
  t.im2col_wgrad = median_ms(
      [&] { cpu::conv2d_bprop_im2col(g, x.data(), w.data(), fill, nullptr, dw.data()); }, reps);

  // The fused op, training mode, masked ReLU with a random per-element mask, forward + backward.
  Tensor xt = Tensor::from_vector(x, {g.N, g.C, g.H, g.W}).set_requires_grad(true);
  Tensor wt = Tensor::from_vector(w, {g.K, g.C, g.R, g.S}).set_requires_grad(true);
  Tensor gamma = Tensor::full({g.K}, 1.f).set_requires_grad(true);
  Tensor beta = Tensor::zeros({g.K}).set_requires_grad(true);
  std::vector<uint8_t> mv(size_t(g.K) * PQ);
  for (size_t i = 0; i < mv.size(); ++i) mv[i] = uint8_t(rand_below(4, 0, i, 2));
  Tensor mask = Tensor::from_vector_u8(mv, {g.K, g.P, g.Q});
  Tensor up = Tensor::from_vector(dy, {g.N, g.K, g.P, g.Q});
  BatchNormState st;
  t.fused = median_ms(
      [&] {
        Tensor a =
            conv_bn_act(xt, wt, gamma, beta, st, true, Act::MaskedReLU, mask, L.stride, L.pad);
        a.backward(up);
      },
      reps);
  // Prologue fusion, forward (direct kernels only): the previous layer's BN + masked ReLU applied as
  // the conv reads its input (ConvInputMap) vs a separate bn_act pass writing the activation first.
  if (cpu::direct_conv_supported(g)) {
    std::vector<float> scale(size_t(g.C)), shift(size_t(g.C)), mean(size_t(g.C), 0.f),
        invstd(size_t(g.C), 1.f), act(x.size());
    std::vector<uint8_t> mk(size_t(g.C) * g.HW());
    for (int c = 0; c < g.C; ++c)
      scale[size_t(c)] = 1.f + 0.01f * float(c), shift[size_t(c)] = 0.1f;
    for (size_t i = 0; i < mk.size(); ++i) mk[i] = uint8_t(rand_below(6, 0, i, 2));
    cpu::ConvInputMap map{scale.data(), shift.data(), Act::MaskedReLU, mk.data()};
    cpu::BnAct p{g.N,          g.C,          g.HW(),          mean.data(), invstd.data(),
                 scale.data(), shift.data(), Act::MaskedReLU, mk.data()};
    std::vector<uint64_t> bits(size_t(cpu::bit_words(int64_t(x.size()))));
    t.prologue =
        median_ms([&] { cpu::direct_conv_fprop(g, x.data(), w.data(), y.data(), {}, &map); }, reps);
    t.bnact_then_conv = median_ms(
        [&] {
          cpu::bn_act_forward(p, x.data(), nullptr, act.data(), bits.data());
          cpu::direct_conv_fprop(g, act.data(), w.data(), y.data(), {});
        },
        reps);
  }
  // The same through three ops: conv2d → batch_norm2d → masked_relu.
  t.unfused = median_ms(
      [&] {
        Tensor a = masked_relu(
            batch_norm2d(conv2d(xt, wt, Tensor(), L.stride, L.pad), gamma, beta, st, true), mask);
        a.backward(up);
      },
      reps);
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2, reps = 7;
  bool list = false, json = false;
  std::string only;
  CLI::App app{
      "Every distinct ResNet-18 conv layer on the CPU: fprop, dgrad, wgrad (engine path and "
      "im2col) and the fused conv→BN→mReLU fwd+bwd, against the measured sgemm rate",
      "bench_conv_layers"};
  app.add_option("--threads", threads, "threads")
      ->type_name("N")
      ->transform(cli::integer_at_least(1))
      ->capture_default_str();
  app.add_option("--reps", reps, "timed runs per measurement (the median is reported)")
      ->type_name("N")
      ->transform(cli::integer_at_least(1))
      ->capture_default_str();
  app.add_option("--only", only, "only the layers whose \"model name shape\" contains SUBSTR")
      ->type_name("SUBSTR");
  app.add_flag("--list", list, "print the shapes as JSON lines (for torch_layers.py) and exit");
  app.add_flag("--json", json, "one JSON line per shape instead of the table");
  cli::parse_or_exit(app, argc, argv);
  std::vector<bench::ConvLayer> layers;
  for (auto& l : bench::default_layers())
    if (only.empty() || (l.model + " " + l.name + " " + l.label()).find(only) != std::string::npos)
      layers.push_back(l);
  if (list) {
    for (auto& l : layers)
      std::printf(
          "{\"model\": \"%s\", \"name\": \"%s\", \"count\": %d, \"N\": %d, \"C\": %d, \"H\": %d, "
          "\"W\": %d, \"K\": %d, \"R\": %d, \"S\": %d, \"stride\": %d, \"pad\": %d}\n",
          l.model.c_str(), l.name.c_str(), l.count, l.N, l.C, l.H, l.W, l.K, l.R, l.S, l.stride,
          l.pad);
    return 0;
  }
  set_num_threads(threads);
  const double roof = sgemm_gflops(reps);
  const auto& bi = cpu::blas_info();
  std::printf(
      "# threads %d | ISA %s | OpenBLAS %s (core %s) | cpu: %s\n# sgemm: %.1f GFLOP/s "
      "(sgemm_parallel 1024³, best run)\n",
      threads, cpu::isa_name(cpu::cpu_isa()), bi.config.c_str(), bi.core.c_str(),
      bi.cpu_features.c_str(), roof);
  if (!json) {
    std::printf(
        "| model | layer | shape | algorithm f/d/w | fprop ms | dgrad ms | wgrad ms | %% of sgemm "
        "f/d/w | "
        "im2col f/d/w ms | fused conv→BN→mReLU fwd+bwd ms | unfused ms | input map in fprop / "
        "bn_act then fprop ms | check |\n"
        "|---|---|---|---|---:|---:|---:|---|---|---:|---:|---|---|\n");
  }
  for (auto& l : layers) {
    Timings t = bench_layer(l, reps);
    const double gf = l.gflop();
    const auto plan =
        cpu::conv_plan(cpu::conv2d_geom(l.N, l.C, l.H, l.W, l.K, l.R, l.S, l.stride, l.pad));
    const std::string algos = std::string(cpu::conv_algo_name(plan.fprop)) + " / " +
                              cpu::conv_algo_name(plan.dgrad) + " / " +
                              cpu::conv_algo_name(plan.wgrad);
    auto pct = [&](double ms) { return 100.0 * gf / (ms * 1e-3) / roof; };
    if (json) {
      std::printf(
          "{\"impl\": \"senet\", \"model\": \"%s\", \"name\": \"%s\", \"shape\": \"%s\", "
          "\"gflop\": %.5f, "
          "\"sgemm_gflops\": %.2f, \"fprop_ms\": %.4f, \"dgrad_ms\": %.4f, \"wgrad_ms\": %.4f, "
          "\"im2col_fprop_ms\": %.4f, \"im2col_dgrad_ms\": %.4f, \"im2col_wgrad_ms\": %.4f, "
          "\"fused_fwd_bwd_ms\": %.4f, \"unfused_fwd_bwd_ms\": %.4f, \"algorithms\": \"%s\", "
          "\"direct_fprop_with_input_map_ms\": %.4f, \"bn_act_then_direct_fprop_ms\": %.4f, "
          "\"check_rel\": %.2e}\n",
          l.model.c_str(), l.name.c_str(), l.label().c_str(), gf, roof, t.fprop, t.dgrad, t.wgrad,
          t.im2col_fprop, t.im2col_dgrad, t.im2col_wgrad, t.fused, t.unfused, algos.c_str(),
          t.prologue, t.bnact_then_conv, t.check);
    } else {
      std::printf(
          "| %s | %s | %s | %s | %.3f | %.3f | %.3f | %.0f / %.0f / %.0f | %.2f / %.2f / %.2f | "
          "%.2f | %.2f | "
          "%.2f / %.2f | %.1e %s |\n",
          l.model.c_str(), l.name.c_str(), l.label().c_str(), algos.c_str(), t.fprop, t.dgrad,
          t.wgrad, pct(t.fprop), pct(t.dgrad), pct(t.wgrad), t.im2col_fprop, t.im2col_dgrad,
          t.im2col_wgrad, t.fused, t.unfused, t.prologue, t.bnact_then_conv, t.check,
          t.check < 1e-4 ? "ok" : "MISMATCH");
    }
    std::fflush(stdout);
  }
  return 0;
}
