// tools/bench/bench_emu_costs.cu — measures what emulation costs on this machine (README figures).
// Rule: each figure is the fastest of 9 runs after a warm-up (the machine is shared: the minimum
// is the least disturbed), divided by the operations done. SENET_EMU_THREADS sets the workers.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "kernels/emu/cuda_compat.h"

namespace {
__global__ void write_index(float* out) {
  out[blockIdx.x * blockDim.x + threadIdx.x] = float(threadIdx.x);
}

__global__ void barriers(float* out, int rounds) {
  float v = float(threadIdx.x);
  for (int r = 0; r < rounds; ++r) {
    v += 1.0f;
    __syncthreads();
  }
  out[blockIdx.x * blockDim.x + threadIdx.x] = v;
}

__global__ void shuffles(float* out, int rounds) {
  float v = float(threadIdx.x);
  for (int r = 0; r < rounds; ++r) v += __shfl_xor_sync(0xffffffffu, v, r % 32);
  out[blockIdx.x * blockDim.x + threadIdx.x] = v;
}

constexpr int kTile = 16;
__global__ void sgemm_tiled(const float* __restrict__ a, const float* __restrict__ b,
                            float* __restrict__ c, int n) {
  __shared__ float ta[kTile][kTile], tb[kTile][kTile];
  const int row = int(blockIdx.y * kTile + threadIdx.y),
            col = int(blockIdx.x * kTile + threadIdx.x);
  float acc = 0.0f;
  for (int k0 = 0; k0 < n; k0 += kTile) {
    ta[threadIdx.y][threadIdx.x] = a[row * n + k0 + int(threadIdx.x)];
    tb[threadIdx.y][threadIdx.x] = b[(k0 + int(threadIdx.y)) * n + col];
    __syncthreads();
#pragma unroll
    for (int k = 0; k < kTile; ++k) acc += ta[threadIdx.y][k] * tb[k][threadIdx.x];
    __syncthreads();
  }
  c[row * n + col] = acc;
}

template <class F>
double best_seconds(F&& f) {
  f();
  std::vector<double> t;
  for (int i = 0; i < 9; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return *std::min_element(t.begin(), t.end());
}
}  // namespace

int main() {
  const int threads = emu::threads();
  float* out = nullptr;
  const int blocks = 1024;
  cudaMalloc(&out, size_t(blocks) * 1024 * sizeof(float));
  std::printf("senet emu costs, %d worker thread(s)\n", threads);

  double s =
      best_seconds([&] { senet::launch(write_index, dim3(blocks), dim3(256), 0, nullptr, out); });
  std::printf("barrier-free kernel          %7.2f ns per CUDA thread\n",
              s * 1e9 / (blocks * 256.0));
  s = best_seconds([&] {
    for (int i = 0; i < blocks * 256; ++i) out[i] = float(i % 256);
  });
  std::printf("  same as a plain loop        %7.2f ns per element\n", s * 1e9 / (blocks * 256.0));

  for (int bs : {256, 1024}) {
    const int rounds = 50, nb = 64;
    s = best_seconds([&] { senet::launch(barriers, dim3(nb), dim3(bs), 0, nullptr, out, rounds); });
    std::printf(
        "__syncthreads, %4d threads  %7.2f ns per thread per barrier (%.2f us per block barrier)\n",
        bs, s * 1e9 / (double(nb) * bs * rounds), s * 1e6 / (double(nb) * rounds));
  }
  {
    const int rounds = 50, nb = 64;
    s = best_seconds(
        [&] { senet::launch(shuffles, dim3(nb), dim3(256), 0, nullptr, out, rounds); });
    std::printf("__shfl_xor_sync              %7.2f ns per lane\n",
                s * 1e9 / (double(nb) * 256 * rounds));
  }
  {
    const int n = 256;
    float *a, *b, *c;
    cudaMalloc(&a, n * n * sizeof(float));
    cudaMalloc(&b, n * n * sizeof(float));
    cudaMalloc(&c, n * n * sizeof(float));
    cudaMemset(a, 0, n * n * sizeof(float));
    cudaMemset(b, 0, n * n * sizeof(float));
    for (int t : {1, threads}) {
      emu::set_threads(t);
      s = best_seconds([&] {
        senet::launch(sgemm_tiled, dim3(n / kTile, n / kTile), dim3(kTile, kTile), 0, nullptr, a, b,
                      c, n);
      });
      std::printf("tiled SGEMM 256^3 (16x16)    %7.2f ms on %d thread(s), %.2f GFLOP/s\n", s * 1e3,
                  t, 2.0 * n * n * n / s * 1e-9);
      if (threads == 1) break;
    }
    cudaFree(a), cudaFree(b), cudaFree(c);
  }
  cudaFree(out);
  return 0;
}
