// kernels/linear.cu — fully connected layer: bias add, bias gradient, and forward/backward
// launchers composed from sgemm (kernels/gemm.h gives the column-major mapping).
// Math (row-major x N×F, w O×F, y N×O):  y = x·wᵀ + b;  dx = dy·w;  dw = dyᵀ·x;  db = Σ_n dy[n,:]
// bias_add v1: grid-stride over N·O, y[i] += b[i mod O]; block 256, grid ≤ 4096.
// bias_grad v1 "column strip": block (32, 8) owns 32 adjacent columns; thread (cx, ry) sums rows
//   n ≡ ry (mod 8) in increasing n (each row read is one coalesced 128-byte line), the 8 partial
//   sums go to shared memory, barrier, and row 0 adds them in ry order: fixed order, deterministic,
//   no atomics. Grid ⌈O/32⌉. fp32 accumulation (N ≤ a few hundred in training).
#include "kernels/emu/cuda_compat.h"

#include <algorithm>

#include "kernels/linear.h"

namespace senet {
namespace {

constexpr int kBlock = 256;

__global__ void __launch_bounds__(kBlock) linear_bias_add_v1_grid_stride(bias_add_params p) {
  const int64_t n = p.N * p.O, stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
    p.y[i] += p.b[i % p.O];
}

constexpr int kStripCols = 32, kStripRows = 8;

__global__ void __launch_bounds__(kStripCols* kStripRows)
    linear_bias_grad_v1_column_strip(bias_grad_params p) {
  __shared__ float partial[kStripRows][kStripCols + 1];
  const int cx = int(threadIdx.x), ry = int(threadIdx.y);
  const int64_t o = int64_t(blockIdx.x) * kStripCols + cx;
  float s = 0.f;
  if (o < p.O)
    for (int64_t n = ry; n < p.N; n += kStripRows) s += p.dy[n * p.O + o];
  partial[ry][cx] = s;
  __syncthreads();
  if (ry == 0 && o < p.O) {
    float t = partial[0][cx];
    for (int r = 1; r < kStripRows; ++r) t += partial[r][cx];
    p.db[o] = p.accumulate ? p.db[o] + t : t;
  }
}

}  // namespace

cudaError_t bias_add_launch(bias_add_params p, cudaStream_t stream) {
  if (p.N < 0 || p.O <= 0) return cudaErrorInvalidValue;
  if (p.N == 0) return cudaSuccess;
  if (!p.y || !p.b) return cudaErrorInvalidValue;
  const int64_t n = p.N * p.O;
  const dim3 grid(unsigned(std::min<int64_t>((n + kBlock - 1) / kBlock, 4096)));
  return launch(linear_bias_add_v1_grid_stride, grid, dim3(kBlock), 0, stream, p);
}

cudaError_t bias_grad_launch(bias_grad_params p, cudaStream_t stream) {
  if (p.N < 0 || p.O <= 0 || !p.db || (p.N > 0 && !p.dy)) return cudaErrorInvalidValue;
  if ((p.O + kStripCols - 1) / kStripCols > int64_t(INT32_MAX)) return cudaErrorInvalidValue;
  return launch(linear_bias_grad_v1_column_strip,
                dim3(unsigned((p.O + kStripCols - 1) / kStripCols)), dim3(kStripCols, kStripRows),
                0, stream, p);
}

cudaError_t linear_forward_launch(linear_params p, cudaStream_t stream) {
  if (p.N < 0 || p.F <= 0 || p.O <= 0) return cudaErrorInvalidValue;
  if (p.N == 0) return cudaSuccess;
  if (!p.x || !p.w || !p.y) return cudaErrorInvalidValue;
  sgemm_params g;
  g.trans_a = true;
  g.m = p.O, g.n = p.N, g.k = p.F;
  g.A = p.w, g.lda = p.F, g.B = p.x, g.ldb = p.F;
  g.beta = 0.f, g.C = p.y, g.ldc = p.O;
  g.impl = p.impl;
  cudaError_t e = sgemm_launch(g, stream);
  if (e != cudaSuccess || !p.b) return e;
  return bias_add_launch({p.y, p.b, p.N, p.O}, stream);
}

cudaError_t linear_backward_launch(linear_params p, cudaStream_t stream) {
  if (p.N < 0 || p.F <= 0 || p.O <= 0) return cudaErrorInvalidValue;
  if ((p.dx || p.dw || p.db) && p.N > 0 && !p.dy) return cudaErrorInvalidValue;
  if ((p.dx && !p.w) || (p.dw && !p.x)) return cudaErrorInvalidValue;
  const float beta = p.accumulate ? 1.f : 0.f;
  cudaError_t e = cudaSuccess;
  if (p.dx && p.N > 0) {
    sgemm_params g;
    g.m = p.F, g.n = p.N, g.k = p.O;
    g.A = p.w, g.lda = p.F, g.B = p.dy, g.ldb = p.O;
    g.beta = beta, g.C = p.dx, g.ldc = p.F;
    g.impl = p.impl;
    if ((e = sgemm_launch(g, stream)) != cudaSuccess) return e;
  }
  if (p.dw) {  // N == 0: k == 0, so dw = β·dw (zeros when overwriting)
    sgemm_params g;
    g.trans_b = true;
    g.m = p.F, g.n = p.O, g.k = p.N;
    g.A = p.x, g.lda = p.F, g.B = p.dy, g.ldb = p.O;
    g.beta = beta, g.C = p.dw, g.ldc = p.F;
    g.impl = p.impl;
    if ((e = sgemm_launch(g, stream)) != cudaSuccess) return e;
  }
  if (p.db) e = bias_grad_launch({p.dy, p.db, p.N, p.O, p.accumulate}, stream);
  return e;
}

}  // namespace senet
