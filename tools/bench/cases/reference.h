// tools/bench/cases/reference.h — the CPU references that several cases share (conv, its backward,
// BatchNorm statistics, BN → activation), and the layout conversions between the CPU backend and
// the kernels (pass bits, BN partials). Everything here is the engine's CPU code (engine/cpu, the
// oracle) called the way engine/ops calls it; a reference only one case needs stays in that case.
#pragma once
#include <cstdint>
#include <vector>

#include "kernels/act.h"
#include "kernels/bn_stats.h"
#include "kernels/conv2d_geom.h"
#include "tools/bench/cases/kernel_case.h"

namespace senet::cases {

Vec cpu_conv(const Conv2dGeom& p, const Vec& x, const Vec& w);
// dx and/or dw (either may be null) of the conv for upstream dy (engine/ops/conv2d.cpp's fill).
void cpu_conv_bprop(const Conv2dGeom& g, const Vec& x, const Vec& w, const Vec& dy, Vec* dx,
                    Vec* dw);

// BatchNorm statistics of y (N×K×PQ) on the CPU: μ, biased σ², 1/√(σ²+ε) (engine/ops/batchnorm.cpp).
struct BnRef {
  Vec mean, var, invstd;
};
BnRef cpu_bn(const Vec& y, int64_t N, int64_t K, int64_t PQ, float eps = 1e-5f);
// Merge (count, mean, M2) partials (layout of kernels/bn_stats.h) on the host → μ, biased σ².
void merge_partials(const Vec& part, int64_t T, int64_t K, Vec* mean, Vec* var);
// a = mrelu(γ(y−μ)·invstd + β (+ r)) on the CPU, with its pass bits.
void cpu_bn_act(const Conv2dGeom& p, const Vec& y, const Vec& mean, const Vec& invstd, const Vec& g,
                const Vec& b, Act act, const uint8_t* mask, const Vec* r, Vec* a,
                std::vector<uint64_t>* bits);

// Its training backward for upstream da (bits: cpu_bn_act's): dγ, dβ, dy, and dz when non-null.
void cpu_bn_act_bwd(const Conv2dGeom& p, const Vec& y, const BnRef& r, const Vec& g, const Vec& b,
                    Act act, const uint8_t* mask, const std::vector<uint64_t>& bits, const Vec& da,
                    Vec* dg, Vec* db, Vec* dy, Vec* dz);

// The CPU's uint64 pass-bit words as the kernels' uint32 words (kernels/kernel_params.h).
std::vector<uint32_t> bits32(const std::vector<uint64_t>& b64, int64_t n);
// The three T×K planes (count, mean, M2) of a partials buffer of 3·T·K floats.
bn_partials partials_of(const DevP<float>& buf, int64_t T, int64_t K);

}  // namespace senet::cases
