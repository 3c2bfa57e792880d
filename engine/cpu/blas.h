// engine/cpu/blas.h — single-precision GEMM for the CPU backend, through OpenBLAS loaded at run time.
// Debian's OpenBLAS 0.3.21 misdetects current AVX-512 CPUs (as Prescott or Haswell) and loses 2–5×.
// It reads OPENBLAS_CORETYPE only when it loads, so the engine does not link it: on first use it
// reads CPUID, sets OPENBLAS_CORETYPE (SkylakeX with AVX-512, Haswell with AVX2+FMA) unless the user
// already set it, then dlopen()s the library. OpenBLAS runs single-threaded: the engine's own thread
// pool splits work (over images, or over N for one large GEMM) so calls never contend.
//   C[M×N] = alpha · op(A)[M×K] · op(B)[K×N] + beta · C     (row-major, like cblas with RowMajor)
#pragma once
#include <string>

namespace senet::cpu {

void sgemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda,
           const float* B, int ldb, float beta, float* C, int ldc);

// The same product split over the engine's threads along N (columns of C); for one large GEMM.
void sgemm_parallel(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A,
                    int lda, const float* B, int ldb, float beta, float* C, int ldc);

struct BlasInfo {
  std::string library;       // path that was loaded
  std::string config;        // openblas_get_config()
  std::string core;          // openblas_get_corename()
  std::string coretype;      // OPENBLAS_CORETYPE in effect ("" = library's own detection)
  bool coretype_from_user;   // the user had set OPENBLAS_CORETYPE before we looked
  std::string cpu_features;  // what CPUID reported ("avx512f avx512bw ... " )
};
const BlasInfo& blas_info();  // loads the library if needed

}  // namespace senet::cpu
