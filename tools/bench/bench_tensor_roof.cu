// tools/bench/bench_tensor_roof.cu — the arithmetic roofs of the GPU as an instruction can reach
// them, measured: the ceilings the conv kernels' "% of peak" is read against, and the answer to
// whether a TF32 main loop on mma.sync can come near one on wgmma (kernels/README.md, step 17).
// GPU only (nvcc, sm_90a); without an sm_90 device it prints why and exits 77.
//
// Three loops with no memory traffic inside, each FLOP counted as 2 per multiply-add:
//   ffma      FP32 on the CUDA cores: 8 independent FMA chains a thread (the FMA's 4-cycle
//             latency hidden by 8 in flight), 1,024 threads a block, 4 blocks an SM;
//   mma.sync  TF32 m16n8k8 from registers (kernels/mma_tf32.cuh): 8 independent accumulator tiles a
//             warp, so consecutive HMMAs never wait on each other — 2,048 FLOP each;
//   wgmma     TF32 m64n128k8 from shared memory (kernels/wgmma_tf32.cuh): a warpgroup issues 16 into
//             one accumulator per group (the hardware chains them), then waits — 131,072 FLOP each;
//             two warpgroups a block, 4 blocks an SM.
// Peaks, per SM and clock (Hopper): FP32 128 FMA = 256 FLOP; TF32 dense 1,024 FMA = 2,048 FLOP;
// × SMs × the clock the device reports as its maximum (cudaDevAttrClockRate). The spec sheets'
// TF32 figure (494.7 TFLOP/s for an H100/H200 SXM) is this rate at 1.83 GHz.
// Each figure is the best of 5 timed launches of ~20–100 ms (CUDA events) after one warm-up.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "kernels/mma_tf32.cuh"
#include "kernels/wgmma_tf32.cuh"

namespace {

using namespace senet::detail;

__global__ void __launch_bounds__(1024) ffma_loop(float* out, int iters, float s) {
  float a[8];
#pragma unroll
  for (int i = 0; i < 8; ++i) a[i] = float(threadIdx.x) * 1e-3f + float(i);
  for (int it = 0; it < iters; ++it)
#pragma unroll
    for (int r = 0; r < 32; ++r)
#pragma unroll
      for (int i = 0; i < 8; ++i) a[i] = fmaf(a[i], s, 0.5f);
  float sum = 0.0f;
#pragma unroll
  for (int i = 0; i < 8; ++i) sum += a[i];
  if (sum == 12345.0f) out[blockIdx.x] = sum;  // never true: keeps the chains alive
}

__global__ void __launch_bounds__(256) mma_sync_loop(float* out, int iters, float s) {
  const float a[4] = {to_tf32(s), to_tf32(s * 0.5f), to_tf32(s * 0.25f), to_tf32(s * 0.125f)};
  const float b[2] = {to_tf32(s * 0.75f), to_tf32(s * 0.375f)};
  float d[8][4] = {};
  for (int it = 0; it < iters; ++it)
#pragma unroll
    for (int r = 0; r < 4; ++r)
#pragma unroll
      for (int j = 0; j < 8; ++j) mma_tf32_m16n8k8(d[j], a, b);
  float sum = 0.0f;
#pragma unroll
  for (int j = 0; j < 8; ++j) sum += d[j][0] + d[j][1] + d[j][2] + d[j][3];
  if (sum == 12345.0f) out[blockIdx.x] = sum;
}

__global__ void __launch_bounds__(256) wgmma_loop(float* out, int iters, float s) {
  // A 64×8 and B 8×128, K-major without padding (kernels/wgmma_tf32.cuh): 2 KB + 4 KB, shared by
  // the block's two warpgroups (they only read it).
  __align__(128) __shared__ float As[64 * 8];
  __align__(128) __shared__ float Bs[128 * 8];
  for (int i = int(threadIdx.x); i < 64 * 8; i += blockDim.x) As[i] = to_tf32(s * float(i & 7));
  for (int i = int(threadIdx.x); i < 128 * 8; i += blockDim.x) Bs[i] = to_tf32(s * float(i & 3));
  fence_async_smem();
  __syncthreads();
  const wgmma_desc da = make_wgmma_desc(As, {128, 256}), db = make_wgmma_desc(Bs, {128, 256});
  float d[64] = {};
  wgmma_pipe pipe;
  for (int it = 0; it < iters; ++it) {
    pipe.fence();
#pragma unroll
    for (int r = 0; r < 16; ++r) pipe.mma<128>(d, da, db, true);
    pipe.commit();
    pipe.wait<0>(d);
  }
  float sum = 0.0f;
#pragma unroll
  for (int i = 0; i < 64; ++i) sum += d[i];
  if (sum == 12345.0f) out[blockIdx.x] = sum;
}

struct Roof {
  const char* name;
  void (*kernel)(float*, int, float);
  int threads;
  double flop_per_thread_iter;  // FLOP one thread's share of one loop iteration is worth
  double peak_flop_per_sm_clock;
};

// Best of 5 launches of `iters` iterations on `blocks` blocks, in TFLOP/s.
double measure(const Roof& r, int blocks, int iters, float* out) {
  cudaEvent_t t0, t1;
  cudaEventCreate(&t0), cudaEventCreate(&t1);
  r.kernel<<<blocks, r.threads>>>(out, iters, 0.999f);  // warm-up
  float best_ms = 1e30f;
  for (int rep = 0; rep < 5; ++rep) {
    cudaEventRecord(t0);
    r.kernel<<<blocks, r.threads>>>(out, iters, 0.999f);
    cudaEventRecord(t1);
    cudaEventSynchronize(t1);
    float ms = 0;
    cudaEventElapsedTime(&ms, t0, t1);
    best_ms = std::min(best_ms, ms);
  }
  cudaEventDestroy(t0), cudaEventDestroy(t1);
  const cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) {
    std::printf("%-9s failed: %s\n", r.name, cudaGetErrorString(e));
    return 0;
  }
  const double flop = r.flop_per_thread_iter * r.threads * double(blocks) * iters;
  return flop / (best_ms * 1e-3) / 1e12;
}

}  // namespace

int main() {
  int dev_count = 0;
  if (cudaGetDeviceCount(&dev_count) != cudaSuccess || dev_count == 0) {
    std::printf("bench_tensor_roof: no CUDA device\n");
    return 77;
  }
  cudaDeviceProp p{};
  cudaGetDeviceProperties(&p, 0);
  if (p.major != 9 || p.minor != 0) {
    std::printf("bench_tensor_roof: %s is sm_%d%d; this binary is built for sm_90a only\n", p.name,
                p.major, p.minor);
    return 77;
  }
  int khz = 0;
  cudaDeviceGetAttribute(&khz, cudaDevAttrClockRate, 0);
  const double sm_clocks = double(p.multiProcessorCount) * khz * 1e3;
  float* out = nullptr;
  cudaMalloc(&out, 4096 * sizeof(float));
  // FLOP per thread and iteration: ffma 32·8 FMAs; mma.sync 4·8 HMMAs of 2,048 FLOP per warp;
  // wgmma 16 of 131,072 FLOP per warpgroup.
  const Roof roofs[] = {
      {"ffma", ffma_loop, 1024, 2.0 * 32 * 8, 256.0},
      {"mma.sync", mma_sync_loop, 256, 4.0 * 8 * 2048 / 32, 2048.0},
      {"wgmma", wgmma_loop, 256, 16.0 * 131072 / 128, 2048.0},
  };
  const int iters[] = {20000, 4000, 2000};
  std::printf("device: %s, %d SMs, max clock %.0f MHz\n", p.name, p.multiProcessorCount, khz / 1e3);
  std::printf("%-9s %12s %12s %8s\n", "loop", "TFLOP/s", "peak", "% peak");
  for (int i = 0; i < 3; ++i) {
    const double tf = measure(roofs[i], 4 * p.multiProcessorCount, iters[i], out);
    const double peak = roofs[i].peak_flop_per_sm_clock * sm_clocks / 1e12;
    std::printf("%-9s %12.1f %12.1f %7.1f%%\n", roofs[i].name, tf, peak, 100.0 * tf / peak);
    std::printf("{\"roof\": \"%s\", \"tflops\": %.2f, \"peak_tflops\": %.2f}\n", roofs[i].name, tf,
                peak);
  }
  cudaFree(out);
  return 0;
}
