// tools/bench/bench_cpu_conv.cpp — CPU conv / fused conv-BN-(masked)ReLU timings against a measured
// sgemm roof. Not a test: it checks fused == unfused once, then times.
//   roof: best-of-5 sgemm_parallel M=N=K=1024 with all threads (GFLOP/s)
//   rows: conv2d fwd, fwd+bwd; unfused conv2d→batch_norm2d→masked_relu and fused conv_bn_act
//         (MaskedReLU, random per-element mask), fwd and fwd+bwd, training mode
//   flops: conv = 2·N·K·P·Q·C·R·S; fwd+bwd = 3× (dgrad + wgrad); BN/act passes are not counted.
// Reports median of --reps runs after 2 warm-ups, min and max, GFLOP/s and % of the sgemm rate.
//   bench_cpu_conv [--threads N] [--reps N]   (--help: all options)
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "engine/core/autograd.h"
#include "engine/core/parallel.h"
#include "engine/core/rng.h"
#include "engine/cpu/blas.h"
#include "engine/ops/activation.h"
#include "engine/ops/batchnorm.h"
#include "engine/ops/conv2d.h"
#include "engine/ops/conv_bn_act.h"
#include "tools/bench/bench_timing.h"
#include "tools/cli11_helpers.h"

using namespace senet;

namespace {

using bench::time_it;
using bench::Timing;

Tensor randn_tensor(const Shape& shape, uint64_t seed, float scale = 1.f) {
  std::vector<float> v(size_t(shape.numel()));
  for (size_t i = 0; i < v.size(); ++i) v[i] = scale * rand_normal(seed, 0, i);
  return Tensor::from_vector(v, shape);
}

double max_rel_diff(const Tensor& a, const Tensor& b) {
  auto av = a.to_vector(), bv = b.to_vector();
  double scale = 0, d = 0;
  for (size_t i = 0; i < av.size(); ++i) {
    scale = std::max(scale, double(std::abs(bv[i])));
    d = std::max(d, double(std::abs(av[i] - bv[i])));
  }
  return scale > 0 ? d / scale : d;
}

struct Row {
  std::string shape, what;
  Timing t;
  double gflop;
};

double sgemm_roof(int reps) {
  const int n = 1024;
  std::vector<float> A(size_t(n) * n), B(size_t(n) * n), C(size_t(n) * n);
  for (size_t i = 0; i < A.size(); ++i) {
    A[i] = rand_normal(1, 0, i);
    B[i] = rand_normal(2, 0, i);
  }
  Timing t = time_it(
      [&] {
        cpu::sgemm_parallel(false, false, n, n, n, 1.f, A.data(), n, B.data(), n, 0.f, C.data(), n);
      },
      std::max(reps, 5));
  return 2.0 * n * n * n / (t.min_ms * 1e6);  // best of the runs, GFLOP/s
}

struct ConvShape {
  int N, C, H, W, K, R, S, stride, pad;
  std::string name() const {
    char b[96];
    std::snprintf(b, sizeof b, "%d→%d %dx%d k%d s%d N=%d", C, K, H, W, R, stride, N);
    return b;
  }
};

void bench_shape(const ConvShape& s, int reps, std::vector<Row>& rows) {
  const int P = (s.H + 2 * s.pad - s.R) / s.stride + 1, Q = (s.W + 2 * s.pad - s.S) / s.stride + 1;
  const double gflop = 2.0 * s.N * s.K * P * Q * double(s.C) * s.R * s.S / 1e9;
  Tensor x = randn_tensor({s.N, s.C, s.H, s.W}, 1);
  Tensor w = randn_tensor({s.K, s.C, s.R, s.S}, 2, std::sqrt(2.f / float(s.C * s.R * s.S)));
  Tensor gamma = Tensor::full({s.K}, 1.f), beta = randn_tensor({s.K}, 3, 0.1f);
  std::vector<uint8_t> mv(size_t(s.K) * P * Q);
  for (size_t i = 0; i < mv.size(); ++i) mv[i] = uint8_t(rand_below(4, 0, i, 2));
  Tensor mask = Tensor::from_vector_u8(mv, {s.K, P, Q});
  Tensor r = randn_tensor({s.N, s.K, P, Q}, 5);
  BatchNormState st1, st2;
  for (Tensor* t : {&x, &w, &gamma, &beta}) t->set_requires_grad(true);

  auto unfused = [&](BatchNormState& st) {
    return masked_relu(batch_norm2d(conv2d(x, w, Tensor(), s.stride, s.pad), gamma, beta, st, true),
                       mask);
  };
  auto fused = [&](BatchNormState& st) {
    return conv_bn_act(x, w, gamma, beta, st, true, Act::MaskedReLU, mask, s.stride, s.pad);
  };
  auto zero_grads = [&] {
    for (Tensor* t : {&x, &w, &gamma, &beta}) t->zero_grad();
  };
  auto grads = [&] { return std::vector<Tensor>{x.grad(), w.grad(), gamma.grad(), beta.grad()}; };

  // Check fused == unfused (forward and every gradient) before timing anything.
  zero_grads();
  Tensor a1 = unfused(st1);
  a1.backward(r);
  auto g1 = grads();
  zero_grads();
  Tensor a2 = fused(st2);
  a2.backward(r);
  auto g2 = grads();
  double err = max_rel_diff(a2, a1);
  for (int i = 0; i < 4; ++i) err = std::max(err, max_rel_diff(g2[size_t(i)], g1[size_t(i)]));
  std::printf("check %s: fused vs unfused max |diff| / max|ref| = %.2e %s\n", s.name().c_str(), err,
              err <= 1e-5 ? "(ok)" : "(MISMATCH)");
  if (err > 1e-5) std::exit(1);

  const std::string sh = s.name();
  {
    NoGradGuard ng;
    rows.push_back(
        {sh, "conv2d fwd", time_it([&] { conv2d(x, w, Tensor(), s.stride, s.pad); }, reps), gflop});
  }
  rows.push_back({sh, "conv2d fwd+bwd",
                  time_it(
                      [&] {
                        zero_grads();
                        conv2d(x, w, Tensor(), s.stride, s.pad).backward(r);
                      },
                      reps),
                  3 * gflop});
  {
    NoGradGuard ng;
    rows.push_back({sh, "unfused conv→BN→mReLU fwd", time_it([&] { unfused(st1); }, reps), gflop});
    rows.push_back({sh, "fused conv_bn_act fwd", time_it([&] { fused(st2); }, reps), gflop});
  }
  rows.push_back({sh, "unfused conv→BN→mReLU fwd+bwd",
                  time_it(
                      [&] {
                        zero_grads();
                        unfused(st1).backward(r);
                      },
                      reps),
                  3 * gflop});
  rows.push_back({sh, "fused conv_bn_act fwd+bwd",
                  time_it(
                      [&] {
                        zero_grads();
                        fused(st2).backward(r);
                      },
                      reps),
                  3 * gflop});
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 0, reps = 7;
  CLI::App app{"CPU conv / fused conv-BN-(masked)ReLU timings against a measured sgemm roof",
               "bench_cpu_conv"};
  app.add_option("--threads", threads, "threads (0: all cores)")
      ->type_name("N")
      ->transform(cli::integer_at_least(0))
      ->capture_default_str();
  app.add_option("--reps", reps,
                 "timed runs per measurement, after 2 warm-ups (the median is reported)")
      ->type_name("N")
      ->transform(cli::integer_at_least(1))
      ->capture_default_str();
  cli::parse_or_exit(app, argc, argv);
  if (threads > 0) set_num_threads(threads);
  const cpu::BlasInfo& bi = cpu::blas_info();
  std::printf("# bench_cpu_conv — threads %d, reps %d (median after 2 warm-ups)\n", num_threads(),
              reps);
  std::printf("# blas: %s | config: %s | core: %s | coretype: %s%s\n# cpu features: %s\n",
              bi.library.c_str(), bi.config.c_str(), bi.core.c_str(),
              bi.coretype.empty() ? "(library default)" : bi.coretype.c_str(),
              bi.coretype_from_user ? " (from user)" : "", bi.cpu_features.c_str());
  const double roof = sgemm_roof(reps);
  std::printf("# sgemm roof: %.1f GFLOP/s (sgemm_parallel 1024³, best of runs)\n\n", roof);

  std::vector<Row> rows;
  bench_shape({32, 64, 32, 32, 64, 3, 3, 1, 1}, reps, rows);
  bench_shape({128, 16, 32, 32, 16, 3, 3, 1, 1}, reps, rows);

  std::printf("\n| shape | op | median ms | min ms | max ms | GFLOP/s | %% of sgemm |\n");
  std::printf("|---|---|---:|---:|---:|---:|---:|\n");
  for (const Row& r : rows) {
    double gf = r.gflop / (r.t.median_ms * 1e-3);
    std::printf("| %s | %s | %.2f | %.2f | %.2f | %.1f | %.0f%% |\n", r.shape.c_str(),
                r.what.c_str(), r.t.median_ms, r.t.min_ms, r.t.max_ms, gf, 100 * gf / roof);
  }
  std::printf("\n");
  for (const Row& r : rows) {
    double gf = r.gflop / (r.t.median_ms * 1e-3);
    std::printf(
        "{\"bench\":\"cpu_conv\",\"threads\":%d,\"shape\":\"%s\",\"op\":\"%s\",\"median_ms\":%.4f,"
        "\"min_ms\":%.4f,\"max_ms\":%.4f,\"gflops\":%.2f,\"pct_sgemm\":%.1f,\"sgemm_gflops\":%.1f}"
        "\n",
        num_threads(), r.shape.c_str(), r.what.c_str(), r.t.median_ms, r.t.min_ms, r.t.max_ms, gf,
        100 * gf / roof, roof);
  }
  return 0;
}
