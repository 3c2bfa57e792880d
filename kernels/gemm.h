// kernels/gemm.h — single-precision GEMM with cuBLAS semantics (see gemm.cu).
//   C = α·op(A)·op(B) + β·C,  COLUMN-major: element (i,j) of X is X[i + j·ldX]
//   op(A): m×k (A is m×k, lda ≥ m; or trans_a: A is k×m, lda ≥ k)
//   op(B): k×n (B is k×n, ldb ≥ k; or trans_b: B is n×k, ldb ≥ n)     C: m×n, ldc ≥ m
//   β == 0: C is not read (it may hold NaN), as in cuBLAS.  k == 0: C = β·C.
// A row-major matrix is the transpose of the same memory read column-major: linear.h shows the
// mapping for y = x·wᵀ.
#pragma once
#include "kernels/emu/host_runtime.h"

namespace senet {

enum class sgemm_impl : int {
  automatic = 0,  // cuBLAS in the nvcc build, the tiled kernel under emulation
  cublas = 1,     // nvcc build only (emulation: cudaErrorInvalidValue)
  tiled = 2,      // the portable shared-memory kernel (both builds)
};

struct sgemm_params {
  bool trans_a = false, trans_b = false;
  int m = 0, n = 0, k = 0;
  float alpha = 1.f;
  const float* A = nullptr;
  int lda = 1;
  const float* B = nullptr;
  int ldb = 1;
  float beta = 0.f;
  float* C = nullptr;
  int ldc = 1;
  sgemm_impl impl = sgemm_impl::automatic;
};
cudaError_t sgemm_launch(sgemm_params p, cudaStream_t stream);

// True when sgemm_impl::cublas is available (the nvcc build).
bool sgemm_has_cublas();

}  // namespace senet
