// engine/cpu/linear.cpp — see linear.h. The GEMMs go to OpenBLAS (split over threads along the
// output columns); the bias sum runs over columns so each db[o] is one ordered sum (reproducible).
#include "engine/cpu/linear.h"

#include "engine/core/parallel.h"
#include "engine/cpu/blas.h"

namespace senet::cpu {

void linear_forward(const float* x, const float* w, const float* b, float* y, int64_t N, int64_t F,
                    int64_t O) {
  if (N == 0 || O == 0) return;
  if (F == 0) {
    for (int64_t i = 0; i < N * O; ++i) y[i] = 0.f;
  } else {
    // y[N×O] = x[N×F] · (w[O×F])ᵀ
    sgemm_parallel(false, true, int(N), int(O), int(F), 1.f, x, int(F), w, int(F), 0.f, y, int(O));
  }
  if (b)
    parallel_for(0, N, 256, [&](int64_t s, int64_t e) {
      for (int64_t n = s; n < e; ++n)
        for (int64_t o = 0; o < O; ++o) y[n * O + o] += b[o];
    });
}

void linear_backward(const float* dy, const float* x, const float* w, float* dx, float* dw,
                     float* db, int64_t N, int64_t F, int64_t O) {
  if (dx && N > 0 && F > 0) {
    if (O == 0)
      for (int64_t i = 0; i < N * F; ++i) dx[i] = 0.f;
    else  // dx[N×F] = dy[N×O] · w[O×F]
      sgemm_parallel(false, false, int(N), int(F), int(O), 1.f, dy, int(O), w, int(F), 0.f, dx,
                     int(F));
  }
  if (dw && O > 0 && F > 0) {
    if (N == 0)
      for (int64_t i = 0; i < O * F; ++i) dw[i] = 0.f;
    else  // dw[O×F] = (dy[N×O])ᵀ · x[N×F]
      sgemm_parallel(true, false, int(O), int(F), int(N), 1.f, dy, int(O), x, int(F), 0.f, dw,
                     int(F));
  }
  if (db)
    parallel_for(0, O, 64, [&](int64_t s, int64_t e) {
      for (int64_t o = s; o < e; ++o) {
        double acc = 0;
        for (int64_t n = 0; n < N; ++n) acc += dy[n * O + o];
        db[o] = float(acc);
      }
    });
}

}  // namespace senet::cpu
