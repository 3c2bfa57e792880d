// kernels/conv2d_fprop_kernels.cuh — the kernels of every forward conv with a plain epilogue (no BN
// partials), for any gather G: conv2d_fprop v2–v9 (plain gathers) and the prologue conv
// (kernels/conv2d_fprop_act.cu, prologue gathers), and through them the fused conv → BN training
// forward on small grids (kernels/conv_bn_mrelu_fwd.cu).
//   conv2d_fprop_implicit_gemm_kernel  the tile's main loop over all of C·R·S, then
//     y = acc (+ bias[k]) (+ residual) (detail::store_tile_nchw);
//   split-K (v6's rule on the tile's grid, conv2d_fprop_split_k_plan: v6 on the SIMT tile, v8 and
//   v9 on the TF32 ones): slice z (blockIdx.z) of GEMM_K = C·R·S,
//     [z·slice, min((z+1)·slice, C·R·S)), is the same loop over those columns; its partial y goes
//     to workspace + z·|y| (NKPQ like y); then split_k_sum (kernels/split_k_sum.h, dgrad's
//     too): one thread per y element sums the slices in order z = 0, 1, … (+ bias[k])
//     (+ residual) — deterministic, and the same association for every caller, so a split
//     prologue conv equals v6 (v8, v9) of the activation bitwise.
// Device code and host templates, like every .cuh.
#pragma once
#include "kernels/conv2d_fprop.h"
#include "kernels/emu/cuda_compat.h"
#include "kernels/implicit_gemm.cuh"
#include "kernels/split_k_sum.h"

namespace senet::detail {

// T: the tile; G: its gather of x and w, built on the host.
template <class T, class G>
__global__ void __launch_bounds__(T::threads, min_blocks<T>())
    conv2d_fprop_implicit_gemm_kernel(Conv2dGeom p, G g, const float* __restrict__ bias,
                                      const float* __restrict__ residual, float* __restrict__ y) {
  __align__(16) __shared__ float As[T::smem_a];
  __align__(16) __shared__ float Bs[T::smem_b];
  const int tid = int(threadIdx.x);
  const int m0 = int(blockIdx.x) * T::BM, n0 = int(blockIdx.y) * T::BN;
  const int M = int(p.gemm_m()), CRS = int(p.gemm_k());
  float acc[T::TM][T::TN];
  tile_mainloop<T>(tid, m0, n0, M, p.K, 0, CRS, g, As, Bs, acc);
  store_tile_nchw<T>(tid, m0, n0, M, p.K, p.P * p.Q, acc, y, bias, residual);
}

// The unsplit kernel's launch: grid (⌈NPQ/BM⌉, ⌈K/BN⌉).
template <class T, class G>
cudaError_t conv2d_fprop_unsplit(const Conv2dGeom& p, const G& g, const float* bias,
                                 const float* residual, float* y, cudaStream_t stream) {
  const int64_t gx = (p.gemm_m() + T::BM - 1) / T::BM, gy = (p.K + T::BN - 1) / T::BN;
  if (gx > 0x7fffffff || gy > 65535) return cudaErrorInvalidValue;
  return launch(conv2d_fprop_implicit_gemm_kernel<T, G>, dim3(unsigned(gx), unsigned(gy)),
                dim3(T::threads), 0, stream, p, g, bias, residual, y);
}

template <class T, class G>
__global__ void __launch_bounds__(T::threads, min_blocks<T>())
    conv2d_fprop_split_k_kernel(Conv2dGeom p, G g, float* __restrict__ out, int slice) {
  __align__(16) __shared__ float As[T::smem_a];
  __align__(16) __shared__ float Bs[T::smem_b];
  const int tid = int(threadIdx.x);
  const int m0 = int(blockIdx.x) * T::BM, n0 = int(blockIdx.y) * T::BN;
  const int M = int(p.gemm_m()), CRS = int(p.gemm_k());
  const int k_begin = int(blockIdx.z) * slice, k_end = min(CRS, k_begin + slice);
  float acc[T::TM][T::TN];
  tile_mainloop<T>(tid, m0, n0, M, p.K, k_begin, k_end, g, As, Bs, acc);
  store_tile_nchw<T>(tid, m0, n0, M, p.K, p.P * p.Q, acc, out + int64_t(blockIdx.z) * p.y_size());
}

// The slices (gather g on tile T) into workspace (plan.splits · |y| floats), then their sum into y.
template <class T, class G>
cudaError_t conv2d_fprop_split_k(const Conv2dGeom& p, const G& g, split_k_plan plan,
                                 const float* bias, const float* residual, float* y,
                                 float* workspace, cudaStream_t stream) {
  const int64_t gx = (p.gemm_m() + T::BM - 1) / T::BM, gy = (p.K + T::BN - 1) / T::BN;
  if (!workspace || gx > 0x7fffffff || gy > 65535) return cudaErrorInvalidValue;
  const cudaError_t e = launch(conv2d_fprop_split_k_kernel<T, G>,
                               dim3(unsigned(gx), unsigned(gy), unsigned(plan.splits)),
                               dim3(T::threads), 0, stream, p, g, workspace, plan.slice);
  if (e != cudaSuccess) return e;
  split_k_sum_params sp;
  sp.workspace = workspace, sp.splits = plan.splits, sp.n = p.y_size(), sp.bias = bias;
  sp.hw = int64_t(p.P) * p.Q, sp.channels = p.K, sp.residual = residual, sp.out = y;
  return split_k_sum(sp, stream);
}

}  // namespace senet::detail
