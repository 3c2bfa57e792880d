// kernels/gemm.cu — SGEMM with cuBLAS semantics: cuBLAS under nvcc, a portable tiled twin.
// Math (column-major, X(i,j) = X[i + j·ldX]):  C = α·op(A)·op(B) + β·C
//   op(A)(i,p) = trans_a ? A[p + i·lda] : A[i + p·lda]     op(B)(p,j) = trans_b ? B[j + p·ldb] : B[p + j·ldb]
//   flops = 2·m·n·k. β == 0: C is written without being read (cuBLAS does the same).
// GPU-only fast path: cublasSgemm on a per-host-thread handle bound to the launch's stream
//   (CUBLAS_DEFAULT_MATH: no TF32, full fp32). The tiled kernel below is its emulated, tested twin
//   and is also selectable on the GPU (sgemm_impl::tiled) so both can be compared there.
// Tiled kernel (v2 "smem tile + 4×4 register block"): block 256 threads computes a 64×64 tile of
//   C; K is walked in slabs of 16: the block stages op(A)[64×16] and op(B)[16×64] in shared memory
//   (loads mapped so consecutive threads read consecutive addresses for either transpose; out of
//   range → 0), barrier, each thread accumulates 4×4 outputs at rows tx+16a, cols ty+16b
//   (tx = t%16, ty = t/16: conflict-free As reads, broadcast Bs reads, coalesced C writes), barrier.
//   Grid (⌈m/64⌉, ⌈n/64⌉); smem 2·16·65 floats = 8.3 KB static.
// Numerics: fp32 FMA accumulation in increasing p, one sum per output: deterministic. Error vs an
//   exact product ≤ ~k·2⁻²⁴·Σ_p|α·a·b| (+ 1 rounding of β·C). Small-integer inputs are exact.
#include "kernels/emu/cuda_compat.h"

#if !SENET_CUDA_EMULATION
#include <cublas_v2.h>
#endif

#include <algorithm>

#include "kernels/gemm.h"

namespace senet {
namespace {

constexpr int kBM = 64, kBN = 64, kBK = 16, kThreads = 256;

__global__ void __launch_bounds__(kThreads) sgemm_v2_smem_tile_4x4(sgemm_params p) {
  __shared__ float As[kBK][kBM + 1];
  __shared__ float Bs[kBK][kBN + 1];
  const int t = int(threadIdx.x), tx = t % 16, ty = t / 16;
  const int i0 = int(blockIdx.x) * kBM, j0 = int(blockIdx.y) * kBN;
  float acc[4][4] = {};
  for (int p0 = 0; p0 < p.k; p0 += kBK) {
    // Stage op(A)[i0..i0+64) × [p0..p0+16): 1024 values, 4 per thread.
#pragma unroll
    for (int r = 0; r < 4; ++r) {
      int ii, pp;
      if (!p.trans_a) {  // A(i,p) at A[i + p·lda]: consecutive threads → consecutive i
        ii = t % kBM;
        pp = t / kBM + 4 * r;
      } else {  // A(i,p) at A[p + i·lda]: consecutive threads → consecutive p
        pp = t % kBK;
        ii = t / kBK + 16 * r;
      }
      const int gi = i0 + ii, gp = p0 + pp;
      float v = 0.f;
      if (gi < p.m && gp < p.k)
        v = p.trans_a ? p.A[gp + size_t(gi) * p.lda] : p.A[gi + size_t(gp) * p.lda];
      As[pp][ii] = v;
    }
    // Stage op(B)[p0..p0+16) × [j0..j0+64).
#pragma unroll
    for (int r = 0; r < 4; ++r) {
      int pp, jj;
      if (!p.trans_b) {  // B(p,j) at B[p + j·ldb]
        pp = t % kBK;
        jj = t / kBK + 16 * r;
      } else {  // B(p,j) at B[j + p·ldb]
        jj = t % kBN;
        pp = t / kBN + 4 * r;
      }
      const int gp = p0 + pp, gj = j0 + jj;
      float v = 0.f;
      if (gp < p.k && gj < p.n)
        v = p.trans_b ? p.B[gj + size_t(gp) * p.ldb] : p.B[gp + size_t(gj) * p.ldb];
      Bs[pp][jj] = v;
    }
    __syncthreads();
#pragma unroll
    for (int pp = 0; pp < kBK; ++pp) {
      float a[4], b[4];
#pragma unroll
      for (int q = 0; q < 4; ++q) {
        a[q] = As[pp][tx + 16 * q];
        b[q] = Bs[pp][ty + 16 * q];
      }
#pragma unroll
      for (int qa = 0; qa < 4; ++qa)
#pragma unroll
        for (int qb = 0; qb < 4; ++qb) acc[qa][qb] = fmaf(a[qa], b[qb], acc[qa][qb]);
    }
    __syncthreads();
  }
#pragma unroll
  for (int qb = 0; qb < 4; ++qb) {
    const int j = j0 + ty + 16 * qb;
    if (j >= p.n) continue;
#pragma unroll
    for (int qa = 0; qa < 4; ++qa) {
      const int i = i0 + tx + 16 * qa;
      if (i >= p.m) continue;
      float* c = p.C + i + size_t(j) * p.ldc;
      *c = p.beta == 0.f ? p.alpha * acc[qa][qb] : p.alpha * acc[qa][qb] + p.beta * *c;
    }
  }
}

#if !SENET_CUDA_EMULATION
cudaError_t sgemm_cublas(const sgemm_params& p, cudaStream_t stream) {
  // One handle per host thread (cuBLAS handles are not thread-safe); never destroyed, because
  // static destruction may run after the CUDA context is gone.
  thread_local cublasHandle_t handle = nullptr;
  if (!handle && cublasCreate(&handle) != CUBLAS_STATUS_SUCCESS) {
    handle = nullptr;
    return cudaErrorInitializationError;
  }
  if (cublasSetStream(handle, stream) != CUBLAS_STATUS_SUCCESS) return cudaErrorUnknown;
  const cublasStatus_t s = cublasSgemm(handle, p.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N,
                                       p.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, p.m, p.n, p.k,
                                       &p.alpha, p.A, p.lda, p.B, p.ldb, &p.beta, p.C, p.ldc);
  if (s == CUBLAS_STATUS_INVALID_VALUE) return cudaErrorInvalidValue;
  if (s != CUBLAS_STATUS_SUCCESS) return cudaErrorUnknown;
  return cudaGetLastError();
}
#endif

}  // namespace

bool sgemm_has_cublas() { return !emu::is_emulated(); }

cudaError_t sgemm_launch(sgemm_params p, cudaStream_t stream) {
  if (p.m < 0 || p.n < 0 || p.k < 0) return cudaErrorInvalidValue;
  if (p.lda < std::max(1, p.trans_a ? p.k : p.m) || p.ldb < std::max(1, p.trans_b ? p.n : p.k) ||
      p.ldc < std::max(1, p.m))
    return cudaErrorInvalidValue;
  if (p.impl != sgemm_impl::automatic && p.impl != sgemm_impl::cublas &&
      p.impl != sgemm_impl::tiled)
    return cudaErrorInvalidValue;
  if (p.m == 0 || p.n == 0) return cudaSuccess;  // nothing to write
  if (!p.C || (p.k > 0 && (!p.A || !p.B))) return cudaErrorInvalidValue;
  if ((p.n + kBN - 1) / kBN > 65535) return cudaErrorInvalidValue;  // grid.y limit
#if SENET_CUDA_EMULATION
  if (p.impl == sgemm_impl::cublas) return cudaErrorInvalidValue;  // no cuBLAS under emulation
#else
  if (p.impl != sgemm_impl::tiled) return sgemm_cublas(p, stream);
#endif
  const dim3 grid(unsigned((p.m + kBM - 1) / kBM), unsigned((p.n + kBN - 1) / kBN));
  return launch(sgemm_v2_smem_tile_4x4, grid, dim3(kThreads), 0, stream, p);
}

}  // namespace senet
