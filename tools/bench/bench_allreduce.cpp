// tools/bench/bench_allreduce.cpp — the gradient all-reduce of a data-parallel run on its own,
// through the communicator `senet` uses (engine/dist/comm.h): run it as `mpirun -np K
// bench_allreduce [--device cpu|cuda]`. For each size, the mean of K buffers in place
// (iallreduce_mean + wait, as the gradient buckets do), after a warm-up, timed over --iters calls:
//   algorithm bandwidth  busbw = bytes / t · 2(K−1)/K   (as nccl-tests report it: the bytes each
//   rank must send and receive in a ring all-reduce, comparable across K and with the link's rate)
// --device cuda: CUDA buffers through the device communicator — NCCL in the nvcc build
// (bench_allreduce_gpu), MPI on the emulator's memory otherwise. Rank 0 prints a markdown table and
// one JSON line per size.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "engine/core/storage.h"
#include "engine/core/tensor.h"
#include "engine/cuda/cuda_backend.h"
#include "engine/dist/comm.h"
#include "engine/dist/mpi_comm.h"

using namespace senet;

int main(int argc, char** argv) {
  CLI::App app{
      "bench_allreduce — all-reduce bandwidth through senet's communicator (run under mpirun)"};
  std::string device = "cpu";
  int iters = 20;
  int64_t max_bytes = int64_t(64) << 20;
  app.add_option("--device", device, "where the buffers live")
      ->check(CLI::IsMember({"cpu", "cuda"}));
  app.add_option("--iters", iters, "timed calls per size")->check(CLI::PositiveNumber);
  app.add_option("--max-bytes", max_bytes, "largest buffer (sizes ×4 from 4 KiB)")
      ->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);
  try {
    const int K = dist::init_from_environment(&argc, &argv);
    if (!dist::launched_by_launcher()) {
      std::fprintf(stderr, "bench_allreduce: run it under mpirun -np K (K = 1 tests NCCL alone)\n");
      return 2;
    }
    const bool cuda = device == "cuda";
    std::string name = "host memory";
    if (cuda) name = cuda::init().name;
    dist::Comm& c = dist::comm_for(cuda ? 1 : 0, "bench_allreduce");
    const Device dev = cuda ? Device::CUDA : Device::CPU;
    if (dist::is_writer()) {
      std::printf("all-reduce (mean, in place) over %d ranks, %s through %s, %d calls per size\n\n",
                  K, name.c_str(), c.backend(), iters);
      std::printf("| bytes | time µs | algbw GB/s | busbw GB/s |\n|---:|---:|---:|---:|\n");
    }
    for (int64_t bytes = 4096; bytes <= max_bytes; bytes *= 4) {
      const int64_t n = bytes / int64_t(sizeof(float));
      Tensor buf = Tensor::full({n}, 1.f, dev);
      float* p = buf.data<float>();
      auto once = [&] {
        auto pending = c.iallreduce_mean(p, n, "bench all-reduce");
        c.wait(*pending, "bench all-reduce");
      };
      for (int w = 0; w < 3; ++w) once();
      dist::world().barrier("bench");
      const auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < iters; ++i) once();
      double t =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / iters;
      dist::world().allreduce_sum(&t, 1, "bench time");  // the mean over the ranks
      t /= K;
      const double algbw = double(bytes) / t * 1e-9, busbw = algbw * 2.0 * (K - 1) / K;  // 0 at K=1
      if (dist::is_writer()) {
        std::printf("| %lld | %.1f | %.2f | %.2f |\n", (long long)bytes, t * 1e6, algbw, busbw);
        std::fprintf(stderr,
                     "{\"bytes\": %lld, \"ranks\": %d, \"device\": \"%s\", \"backend\": \"%s\", "
                     "\"seconds\": %.9g, \"algbw_GBps\": %.4g, \"busbw_GBps\": %.4g}\n",
                     (long long)bytes, K, device.c_str(), c.backend(), t, algbw, busbw);
      }
    }
    dist::finalize();
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_allreduce: error: %s\n", e.what());
    if (dist::world_size() > 1) dist::world().abort_job(1);
    return 1;
  }
}
