// engine/cpu/direct_conv.cpp — dispatch of the direct convolutions to the ISA's kernels.
#include "engine/cpu/direct_conv.h"

#include "engine/core/error.h"

namespace senet::cpu {

bool direct_conv_supported(const Conv2dGeom& g, CpuIsa isa) {
  if (isa == CpuIsa::Generic || !cpu_supports(isa)) return false;
  // Width-2 tiles exist at stride 1 only (direct_conv_kernels.h, tiles_used): a 2-wide filter at
  // stride 2 goes to im2col.
  return g.R >= 1 && g.R <= 3 && g.S >= 1 && g.S <= 3 && g.stride >= 1 && g.stride <= 2 &&
         !(g.S == 2 && g.stride == 2) && g.pad < g.R && g.pad < g.S && g.P >= 1 && g.Q >= 1;
}

bool direct_conv_supported(const Conv2dGeom& g) { return direct_conv_supported(g, cpu_isa()); }

static const DirectConvKernels& kernels(const Conv2dGeom& g, CpuIsa isa) {
  SENET_CHECK(direct_conv_supported(g, isa), "direct conv: geometry ", g.C, "→", g.K, " ", g.R, "×",
              g.S, " stride ", g.stride, " pad ", g.pad, " is not supported with ISA ",
              isa_name(isa));
  return isa == CpuIsa::Avx512 ? direct_conv_avx512() : direct_conv_avx2();
}

void direct_conv_fprop(const Conv2dGeom& g, const float* x, const float* w, float* y,
                       const ConvRowsHook& hook, const ConvInputMap* xmap, CpuIsa isa) {
  kernels(g, isa).fprop(g, x, w, y, hook, xmap);
}

void direct_conv_bprop(const Conv2dGeom& g, const float* x, const float* w,
                       const ConvDyFill& dy_fill, float* dx, float* dw, const ConvInputMap* xmap,
                       CpuIsa isa) {
  if (!dx && !dw) return;
  kernels(g, isa).bprop(g, x, w, dy_fill, dx, dw, xmap);
}

}  // namespace senet::cpu
