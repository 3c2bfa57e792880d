// tools/bench/cases/baselines.cu — the unfused chain's case, and the list of every conv-layer
// baseline (baselines.h) with its cost model and its hook, or the reason this build has none.
// Unfused chain: conv2d_fprop v5 → bn_stats_partials → bn_finalize_train → scale_shift_mrelu, the
// same math as conv_bn_mrelu_fwd_train with a separate statistics pass over y; its flops and bytes
// are the sums of those four registry entries'. Checked as cases_conv.cu checks the fused kernel:
// y bitwise (integer inputs), a within kTol, the pass bits up to z ≈ 0.
// Rule: host code, built twice (kernel_case.h); the cuDNN hooks exist in the nvcc build with cuDNN
// only (SENET_BENCH_HAVE_CUDNN, baselines_cudnn.cu).
#include "tools/bench/cases/baselines.h"

#include <cstdint>
#include <cstring>
#include <vector>

#include "kernels/bn_finalize.h"
#include "kernels/bn_stats.h"
#include "kernels/conv2d_fprop.h"
#include "kernels/registry.h"
#include "kernels/scale_shift_mrelu.h"
#include "tools/bench/cases/inputs.h"
#include "tools/bench/cases/reference.h"

namespace senet::cases {

using namespace senet::inputs;

Case unfused_chain_case(const Conv2dGeom& p, Arena& arena) {
  const int64_t n = p.y_size(), PQ = int64_t(p.P) * p.Q;
  const bn_stats_params sp{p.N, p.K, int(PQ)};
  const int64_t T = bn_stats_num_partials(sp);
  Vec x = small_ints(p.x_size(), 1), w = small_ints(p.w_size(), 2), g = uniform(p.K, 3),
      b = uniform(p.K, 4);
  Vec rm = uniform(p.K, 5), rv = uniform(p.K, 6, 0.5f, 2.f);
  const std::vector<uint8_t> m = bytes01(p.K * PQ, 7);
  auto dx = arena.dev(x), dw = arena.dev(w), dg = arena.dev(g), db = arena.dev(b),
       drm = arena.dev(rm), drv = arena.dev(rv);
  auto dm = arena.dev(m);
  auto dy = arena.dev<float>(n), da = arena.dev<float>(n), aff = arena.dev<float>(4 * p.K),
       part = arena.dev<float>(3 * T * p.K);
  auto dbits = arena.dev<uint32_t>(pass_bits_words(n));
  const bn_finalize_params fp{p.K, int(T), 1e-5f, 0.1f};
  const bn_channel_affine o{aff->get(), aff->get() + p.K, aff->get() + 2 * p.K,
                            aff->get() + 3 * p.K};
  const scale_shift_mrelu_params ssp{p.N, p.K, int(PQ), Act::MaskedReLU, false};
  return Case{[=] {
                cudaError_t e = conv2d_fprop(conv2d_fprop_version::v5_simt_128x128, p, dx->get(),
                                             dw->get(), nullptr, dy->get(), nullptr);
                if (e == cudaSuccess)
                  e = bn_stats_partials(sp, dy->get(), partials_of(part, T, p.K), nullptr);
                if (e == cudaSuccess)
                  e = bn_finalize_train(fp, partials_of(part, T, p.K), dg->get(), db->get(),
                                        drm->get(), drv->get(), o, nullptr);
                if (e == cudaSuccess)
                  e = scale_shift_mrelu(ssp, dy->get(), o.scale, o.shift, nullptr, dm->get(),
                                        da->get(), dbits->get(), nullptr);
                return e;
              },
              [=](Check& c) {
                const Vec y = cpu_conv(p, x, w);
                const BnRef r = cpu_bn(y, p.N, p.K, PQ);
                Vec a;
                std::vector<uint64_t> bits;
                cpu_bn_act(p, y, r.mean, r.invstd, g, b, Act::MaskedReLU, m.data(), nullptr, &a,
                           &bits);
                c.close("y", dy->download(), y, 0);
                c.close("a", da->download(), a, kTol);
                c.bits("bits", dbits->download(), bits, n, a, kTol);
              }};
}

namespace {

// The chain's four registry entries: its flops and bytes are theirs, summed in launch order.
constexpr const char* kChain[][2] = {{"conv2d_fprop", "v5_simt_128x128"},
                                     {"bn_stats_partials", "v1_two_pass_tile"},
                                     {"bn_finalize_train", "v1_thread_per_channel"},
                                     {"scale_shift_mrelu", "v1_ballot_bits"}};
double chain_sum(const Conv2dGeom& p, bool flops) {
  size_t nreg = 0;
  const kernel_entry* reg = kernel_registry(&nreg);
  double s = 0;
  for (const auto& [name, version] : kChain)
    for (size_t i = 0; i < nreg; ++i)
      if (!std::strcmp(reg[i].name, name) && !std::strcmp(reg[i].version, version)) {
        s += flops ? reg[i].flops(p) : reg[i].bytes(p);
        break;
      }
  return s;
}

// cuDNN conv + BN + ReLU: conv (x, w in, y out) + BN (y read twice, z written) + activation
// (z in, a out). One conv pass alone: its flops, and x, w and y once each.
double cudnn_chain_flops(const Conv2dGeom& p) {
  return double(p.flops()) + 7.0 * double(p.y_size());
}
double cudnn_chain_bytes(const Conv2dGeom& p) {
  return 4.0 * double(p.x_size() + p.w_size() + p.y_size()) + 4.0 * 5 * double(p.y_size());
}
// Its backward: ReLU (a, da, z read, dz written), BN (y, dz read twice — the sums, then dy —, dy
// written), dgrad (dy, w read, dx written), wgrad (x, dy read, dw written).
double cudnn_chain_bwd_flops(const Conv2dGeom& p) {
  return 2.0 * double(p.flops()) + 12.0 * double(p.y_size());
}
double cudnn_chain_bwd_bytes(const Conv2dGeom& p) {
  return 4.0 * (10.0 * double(p.y_size()) + 2.0 * double(p.x_size() + p.w_size()));
}
double cudnn_pass_flops(const Conv2dGeom& p) { return double(p.flops()); }
double cudnn_pass_bytes(const Conv2dGeom& p) {
  return 4.0 * double(p.x_size() + p.w_size() + p.y_size());
}

#if SENET_BENCH_REAL_CUDA
constexpr const char* kNoCudnn =
    "cuDNN baseline unavailable: cudnn.h / libcudnn not found at configure time";
#else
constexpr const char* kNoCudnn = "cuDNN baseline unavailable: emulated build";
#endif

// The cuDNN rows of one math: conv + BN + ReLU, its backward, then each conv pass alone; each
// with its hook where cuDNN was found, else the reason.
void add_cudnn_rows(std::vector<Baseline>& v, [[maybe_unused]] bool tf32) {
  const std::string math = tf32 ? "tf32" : "fma";
  Hook chain, chain_bwd;
#if SENET_BENCH_REAL_CUDA && SENET_BENCH_HAVE_CUDNN
  chain = [tf32](const Conv2dGeom& p, Arena& a) { return cudnn_chain_case(p, tf32, a); };
  chain_bwd = [tf32](const Conv2dGeom& p, Arena& a) { return cudnn_chain_bwd_case(p, tf32, a); };
#endif
  v.push_back({"cudnn", "conv+bn_train+relu " + math, "baseline cudnn conv+bn+relu " + math,
               cudnn_chain_flops, cudnn_chain_bytes, chain, chain ? "" : kNoCudnn});
  v.push_back({"cudnn", "conv+bn_train+relu bwd " + math, "baseline cudnn conv+bn+relu bwd " + math,
               cudnn_chain_bwd_flops, cudnn_chain_bwd_bytes, chain_bwd, chain_bwd ? "" : kNoCudnn});
  for (ConvPass pass : {ConvPass::fprop, ConvPass::dgrad, ConvPass::wgrad}) {
    const std::string name = std::string("cudnn_") + (pass == ConvPass::fprop   ? "fprop"
                                                      : pass == ConvPass::dgrad ? "dgrad"
                                                                                : "wgrad");
    Hook one;
#if SENET_BENCH_REAL_CUDA && SENET_BENCH_HAVE_CUDNN
    one = [pass, tf32](const Conv2dGeom& p, Arena& a) { return cudnn_conv_case(p, pass, tf32, a); };
#endif
    v.push_back({name, math, "baseline " + name + " " + math, cudnn_pass_flops, cudnn_pass_bytes,
                 one, one ? "" : kNoCudnn});
  }
}

std::vector<Baseline> make_conv_baselines() {
  std::vector<Baseline> v;
  v.push_back({"unfused_chain",
               "fprop_v5+bn_stats+bn_finalize+scale_shift",
               "baseline unfused_chain conv2d_fprop_v5+bn_stats+bn_finalize+scale_shift_mrelu",
               [](const Conv2dGeom& p) { return chain_sum(p, true); },
               [](const Conv2dGeom& p) { return chain_sum(p, false); },
               unfused_chain_case,
               {}});
  add_cudnn_rows(v, false);
  add_cudnn_rows(v, true);
  return v;
}

}  // namespace

const std::vector<Baseline>& conv_baselines() {
  static const std::vector<Baseline> v = make_conv_baselines();
  return v;
}

const Baseline* baseline_case(const std::string& key) {
  for (const Baseline& b : conv_baselines())
    if (key == b.name + "/" + b.version) return &b;
  return nullptr;
}

}  // namespace senet::cases
