// engine/cpu/winograd.cpp — the filter transforms of F(2×2, 3×3) and the dispatch to the ISA's
// kernels (engine/cpu/winograd_kernels.h). The math is in engine/cpu/winograd.h.
#include "engine/cpu/winograd.h"

#include <cstring>

#include "engine/core/error.h"
#include "engine/core/parallel.h"

namespace senet::cpu {

bool winograd_supported(const Conv2dGeom& g, CpuIsa isa) {
  if (isa == CpuIsa::Generic || !cpu_supports(isa)) return false;
  return g.R == 3 && g.S == 3 && g.stride == 1 && g.pad == 1 && g.P == g.H && g.Q == g.W;
}

// U = G g Gᵀ for one 3×3 filter (row-major in, 4×4 row-major out).
static void filter_4x4(const float g[9], float u[16]) {
  float h[4][3];  // h = G g
  for (int j = 0; j < 3; ++j) {
    const float a = g[j], b = g[3 + j], c = g[6 + j];
    h[0][j] = a;
    h[1][j] = 0.5f * (a + b + c);
    h[2][j] = 0.5f * (a - b + c);
    h[3][j] = c;
  }
  for (int i = 0; i < 4; ++i) {  // U = h Gᵀ
    const float a = h[i][0], b = h[i][1], c = h[i][2];
    u[i * 4 + 0] = a;
    u[i * 4 + 1] = 0.5f * (a + b + c);
    u[i * 4 + 2] = 0.5f * (a - b + c);
    u[i * 4 + 3] = c;
  }
}

void winograd_filter_transform(const float* w, int K, int C, bool flip, float* U, int64_t ld) {
  // fprop: rows c, columns k;  dgrad (flip): rows k, columns c, filter rotated by 180°.
  const int rows = flip ? K : C, cols = flip ? C : K;
  parallel_for(0, rows, 16, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      for (int xi = 0; xi < 16; ++xi) {
        float* row = U + (int64_t(xi) * rows + r) * ld;
        std::memset(row + cols, 0, sizeof(float) * size_t(ld - cols));
      }
      for (int col = 0; col < cols; ++col) {
        const int k = flip ? int(r) : col, c = flip ? col : int(r);
        const float* src = w + (int64_t(k) * C + c) * 9;
        float g[9], u[16];
        for (int i = 0; i < 9; ++i) g[i] = flip ? src[8 - i] : src[i];
        filter_4x4(g, u);
        for (int xi = 0; xi < 16; ++xi) U[(int64_t(xi) * rows + r) * ld + col] = u[xi];
      }
    }
  });
}

void winograd_filter_grad(const float* dU, int K, int C, int64_t ld, float* dw) {
  parallel_for(0, K, 4, [&](int64_t k0, int64_t k1) {
    for (int64_t k = k0; k < k1; ++k)
      for (int c = 0; c < C; ++c) {
        float d[4][4], q[3][4];
        for (int xi = 0; xi < 16; ++xi) d[xi / 4][xi % 4] = dU[(int64_t(xi) * C + c) * ld + k];
        for (int j = 0; j < 4; ++j) {  // q = Gᵀ dU
          q[0][j] = d[0][j] + 0.5f * (d[1][j] + d[2][j]);
          q[1][j] = 0.5f * (d[1][j] - d[2][j]);
          q[2][j] = 0.5f * (d[1][j] + d[2][j]) + d[3][j];
        }
        float* out = dw + (k * C + c) * 9;
        for (int i = 0; i < 3; ++i) {  // dg = q G
          out[i * 3 + 0] = q[i][0] + 0.5f * (q[i][1] + q[i][2]);
          out[i * 3 + 1] = 0.5f * (q[i][1] - q[i][2]);
          out[i * 3 + 2] = 0.5f * (q[i][1] + q[i][2]) + q[i][3];
        }
      }
  });
}

static const WinogradKernels& kernels(const Conv2dGeom& g, CpuIsa isa) {
  SENET_CHECK(winograd_supported(g, isa), "winograd: geometry ", g.C, "→", g.K, " ", g.R, "×", g.S,
              " stride ", g.stride, " pad ", g.pad, " is not F(2×2, 3×3) with ISA ", isa_name(isa));
  return isa == CpuIsa::Avx512 ? winograd_avx512() : winograd_avx2();
}

void winograd_fprop(const Conv2dGeom& g, const float* x, const float* w, float* y,
                    const ConvRowsHook& hook, CpuIsa isa) {
  kernels(g, isa).fprop(g, x, w, y, hook);
}

void winograd_bprop(const Conv2dGeom& g, const float* x, const float* w, const ConvDyFill& dy_fill,
                    float* dx, float* dw, CpuIsa isa) {
  if (!dx && !dw) return;
  kernels(g, isa).bprop(g, x, w, dy_fill, dx, dw);
}

}  // namespace senet::cpu
