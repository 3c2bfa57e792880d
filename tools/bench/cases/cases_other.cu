// tools/bench/cases/cases_other.cu — the cases of the kernels outside the conv / BatchNorm family
// (cases.h): elementwise, reductions, GEMM at the conv's implicit-GEMM size, the FC head, losses,
// PRAM, masked ReLU / alpha-ReLU / L1, optimizers and the SENet mask search. Each runs on the part
// of the layer its registry domain names (kernels/registry.h): the conv's activation, weight, or
// the head's logits.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

#include "engine/cpu/activation.h"
#include "engine/cpu/alpha_relu.h"
#include "engine/cpu/blas.h"
#include "engine/cpu/elementwise.h"
#include "engine/cpu/global_avg_pool.h"
#include "engine/cpu/l1.h"
#include "engine/cpu/linear.h"
#include "engine/cpu/optim_update.h"
#include "engine/cpu/pram.h"
#include "engine/cpu/softmax.h"
#include "engine/cpu/straight_through.h"
#include "kernels/elementwise.h"
#include "kernels/gemm.h"
#include "kernels/global_avg_pool.h"
#include "kernels/kd_loss.h"
#include "kernels/l1.h"
#include "kernels/linear.h"
#include "kernels/mask_search.h"
#include "kernels/masked_relu.h"
#include "kernels/optim_update.h"
#include "kernels/pram_loss.h"
#include "kernels/reduce.h"
#include "kernels/softmax_xent.h"
#include "kernels/straight_through.h"
#include "tools/bench/cases/cases.h"
#include "tools/bench/cases/inputs.h"
#include "tools/bench/cases/reference.h"

namespace senet::cases {

using namespace senet::inputs;

namespace {

// SGD (momentum 0.9, Nesterov, weight decay) on the conv's weight: v1 one launch over the tensor,
// or (multi) v2 with the weight cut into 8 tensors (the last shorter), one launch for all.
Case sgd_case(const Conv2dGeom& p, bool multi, Arena& arena) {
  const int64_t n = p.w_size(), piece = (n + 7) / 8;
  Vec w = uniform(n, 73), g = uniform(n, 74), buf = uniform(n, 75);
  auto dw = arena.dev(w), dg = arena.dev(g), db = arena.dev(buf);
  sgd_update_params sp;
  sp.p = dw->get(), sp.g = dg->get(), sp.buf = db->get(), sp.n = n, sp.lr = 0.1f;
  sp.momentum = 0.9f, sp.weight_decay = 5e-4f, sp.nesterov = true;
  sgd_update_multi_params mp;
  for (int64_t off = 0; off < n; off += piece, ++mp.count)
    mp.t[mp.count] = sgd_tensor{dw->get() + off,          dg->get() + off, db->get() + off,
                                std::min(piece, n - off), sp.weight_decay, false};
  mp.lr = sp.lr, mp.momentum = sp.momentum, mp.nesterov = sp.nesterov;
  return Case{
      [=] { return multi ? sgd_update_multi_launch(mp, nullptr) : sgd_update_launch(sp, nullptr); },
      [=](Check& c) {
        Vec rw = w, rb = buf;
        cpu::SgdUpdate u;
        u.lr = 0.1f, u.momentum = 0.9f, u.weight_decay = 5e-4f, u.nesterov = true;
        cpu::sgd_update(rw.data(), g.data(), rb.data(), n, u);
        c.close("p", dw->download(), rw, kTolUlp);
        c.close("buf", db->download(), rb, kTolUlp);
      }};
}

// AdamW at step 3 on the conv's weight, v1 or (multi) v2 as for SGD.
Case adam_case(const Conv2dGeom& p, bool multi, Arena& arena) {
  const int64_t n = p.w_size(), piece = (n + 7) / 8;
  Vec w = uniform(n, 76), g = uniform(n, 77), m = uniform(n, 78, -0.1f, 0.1f),
      v = uniform(n, 79, 0.f, 0.01f);
  auto dw = arena.dev(w), dg = arena.dev(g), dm = arena.dev(m), dv = arena.dev(v);
  const float bc1 = 1.f - 0.9f * 0.9f * 0.9f, bc2 = 1.f - 0.999f * 0.999f * 0.999f;
  adam_update_params ap;
  ap.p = dw->get(), ap.g = dg->get(), ap.m = dm->get(), ap.v = dv->get(), ap.n = n, ap.lr = 1e-3f;
  ap.weight_decay = 1e-2f, ap.decoupled = true, ap.bias_correction1 = bc1;
  ap.bias_correction2 = bc2;
  adam_update_multi_params mp;
  for (int64_t off = 0; off < n; off += piece, ++mp.count)
    mp.t[mp.count] = adam_tensor{dw->get() + off,
                                 dg->get() + off,
                                 dm->get() + off,
                                 dv->get() + off,
                                 std::min(piece, n - off),
                                 ap.weight_decay,
                                 bc1,
                                 bc2};
  mp.lr = ap.lr, mp.decoupled = true;
  return Case{
      [=] {
        return multi ? adam_update_multi_launch(mp, nullptr) : adam_update_launch(ap, nullptr);
      },
      [=](Check& c) {
        Vec rw = w, rm = m, rv = v;
        cpu::AdamUpdate u;
        u.lr = 1e-3f, u.beta1 = 0.9f, u.beta2 = 0.999f, u.eps = 1e-8f, u.weight_decay = 1e-2f;
        u.decoupled = true, u.bias_correction1 = bc1, u.bias_correction2 = bc2;
        cpu::adam_update(rw.data(), g.data(), rm.data(), rv.data(), n, u);
        c.close("p", dw->download(), rw, kTolUlp);
        c.close("m", dm->download(), rm, kTolUlp);
        c.close("v", dv->download(), rv, kTolUlp);
      }};
}

}  // namespace

void add_other_cases(HookMap& h) {
  using P = const Conv2dGeom&;
  auto act_n = [](P p) { return p.y_size(); };              // activation N×K×P×Q
  auto kpq = [](P p) { return int64_t(p.K) * p.P * p.Q; };  // one image's activation

  // --- elementwise (tolerance: nvcc may contract α·a + β·b into one FMA, 1 ulp)
  h["axpby_launch/v1_grid_stride"] = [=](P p, Arena& arena) {
    const int64_t n = act_n(p);
    Vec a = uniform(n, 40), b = uniform(n, 41);
    auto da = arena.dev(a), db = arena.dev(b), dy = arena.dev<float>(n);
    return Case{[=] {
                  return axpby_launch({da->get(), db->get(), dy->get(), 0.75f, -1.25f, n}, nullptr);
                },
                [=](Check& c) {
                  Vec y(static_cast<size_t>(n));
                  cpu::axpby(0.75f, a.data(), -1.25f, b.data(), y.data(), n);
                  c.close("y", dy->download(), y, kTolUlp);
                }};
  };
  h["mul_launch/v1_grid_stride"] = [=](P p, Arena& arena) {
    const int64_t n = act_n(p);
    Vec a = uniform(n, 40), b = uniform(n, 41);
    auto da = arena.dev(a), db = arena.dev(b), dy = arena.dev<float>(n);
    return Case{[=] {
                  return mul_launch({da->get(), db->get(), dy->get(), n}, nullptr);
                },
                [=](Check& c) {
                  Vec y(static_cast<size_t>(n));
                  cpu::mul(a.data(), b.data(), y.data(), n);
                  c.close("y", dy->download(), y, 0);
                }};
  };
  h["fill_launch/v1_grid_stride"] = [=](P p, Arena& arena) {
    const int64_t n = act_n(p);
    auto dy = arena.dev<float>(n);
    return Case{
        [=] {
          return fill_launch({dy->get(), 3.5f, n}, nullptr);
        },
        [=](Check& c) { c.close("y", dy->download(), Vec(static_cast<size_t>(n), 3.5f), 0); }};
  };
  h["copy_launch/v1_grid_stride"] = [=](P p, Arena& arena) {
    const int64_t n = act_n(p);
    Vec x = uniform(n, 42);
    auto dx = arena.dev(x), dy = arena.dev<float>(n);
    return Case{[=] {
                  return copy_launch({dx->get(), dy->get(), n}, nullptr);
                },
                [=](Check& c) { c.close("y", dy->download(), x, 0); }};
  };

  // --- reductions (double accumulation on both sides: 1e-6 of Σ|x|)
  h["sum_launch/v1_two_level"] = [=](P p, Arena& arena) {
    const int64_t n = act_n(p);
    Vec x = uniform(n, 43);
    auto dx = arena.dev(x), out = arena.dev<float>(1);
    auto part = arena.dev<double>(sum_partials_count(n));
    auto outd = arena.dev<double>(1);
    return Case{[=] {
                  return sum_launch({dx->get(), n, reduce_op::identity, 1.f, out->get(),
                                     outd->get(), part->get()},
                                    nullptr);
                },
                [=](Check& c) {
                  const double ref = cpu::sum(x.data(), n), scale = cpu::l1_forward(x.data(), n);
                  const double got = outd->download()[0];
                  c.worst = std::max(c.worst, std::fabs(got - ref) / scale);
                  if (!(std::fabs(got - ref) <= 1e-6 * scale)) c.fail("sum");
                  c.close("sum (float)", out->download(), Vec{float(ref)},
                          1e-6 * scale / std::max(std::fabs(ref), 1e-30) + 1e-7);
                }};
  };
  h["sum_single_block_launch/v1_single_block"] = [](P p, Arena& arena) {
    const int64_t n = p.N;
    Vec x = uniform(n, 44, 0.f, 3.f);
    auto dx = arena.dev(x), out = arena.dev<float>(1);
    return Case{[=] { return sum_single_block_launch(dx->get(), n, 0.5f, out->get(), nullptr); },
                [=](Check& c) {
                  c.close("sum", out->download(), Vec{float(0.5 * cpu::sum(x.data(), n))}, kTolUlp);
                }};
  };
  h["count_correct_launch/v1_warp_per_row"] = [](P p, Arena& arena) {
    const int64_t N = p.N, K = p.K;
    Vec z = uniform(N * K, 45);
    const std::vector<int32_t> y = labels(N, 46, int(K));
    auto dz = arena.dev(z);
    auto dl = arena.dev(y);
    auto out = arena.dev<int>(1);
    return Case{[=] {
                  return count_correct_launch({dz->get(), dl->get(), N, K, out->get()}, nullptr);
                },
                [=](Check& c) {  // argmax, ties to the lowest k (engine/ops/count_correct.cpp)
                  int ref = 0;
                  for (int64_t i = 0; i < N; ++i) {
                    const float* row = z.data() + i * K;
                    ref += int(std::max_element(row, row + K) - row) == y[size_t(i)];
                  }
                  c.equal("correct", out->download(), std::vector<int>{ref});
                }};
  };
  h["global_avg_pool_forward_launch/v1_warp_per_row"] = [](P p, Arena& arena) {
    const int64_t NC = int64_t(p.N) * p.K, HW = int64_t(p.P) * p.Q;
    Vec x = uniform(NC * HW, 47);
    auto dx = arena.dev(x), dy = arena.dev<float>(NC);
    return Case{[=] {
                  return global_avg_pool_forward_launch({dx->get(), dy->get(), NC, HW}, nullptr);
                },
                [=](Check& c) {
                  Vec y(static_cast<size_t>(NC));
                  cpu::global_avg_pool_forward(x.data(), y.data(), NC, HW);
                  c.close("y", dy->download(), y, kTolUlp);
                }};
  };
  h["global_avg_pool_backward_launch/v1_grid_stride"] = [](P p, Arena& arena) {
    const int64_t NC = int64_t(p.N) * p.K, HW = int64_t(p.P) * p.Q;
    Vec g = uniform(NC, 48);
    auto dg = arena.dev(g), dx = arena.dev<float>(NC * HW);
    return Case{[=] {
                  return global_avg_pool_backward_launch({dg->get(), dx->get(), NC, HW}, nullptr);
                },
                [=](Check& c) {
                  Vec x(static_cast<size_t>(NC * HW));
                  cpu::global_avg_pool_backward(g.data(), x.data(), NC, HW);
                  c.close("dx", dx->download(), x, 0);
                }};
  };

  // --- GEMM at the conv's implicit-GEMM size; integer inputs: exact, compared bitwise
  auto gemm_case = [](P p, sgemm_impl impl, Arena& arena) {
    const int m = int(p.gemm_m()), n = p.K, k = int(p.gemm_k());
    Vec A = small_ints(int64_t(m) * k, 49), B = small_ints(int64_t(k) * n, 50);
    auto dA = arena.dev(A), dB = arena.dev(B), dC = arena.dev<float>(int64_t(m) * n);
    sgemm_params sp;
    sp.m = m, sp.n = n, sp.k = k, sp.A = dA->get(), sp.lda = m, sp.B = dB->get(), sp.ldb = k;
    sp.C = dC->get(), sp.ldc = m, sp.impl = impl;
    return Case{[=] { return sgemm_launch(sp, nullptr); },
                [=](Check& c) {  // column-major C = A·B is row-major Cᵀ = Bᵀ·Aᵀ
                  Vec C(static_cast<size_t>(m) * n);
                  cpu::sgemm_parallel(false, false, n, m, k, 1.f, B.data(), k, A.data(), m, 0.f,
                                      C.data(), m);
                  c.close("C", dC->download(), C, 0);
                }};
  };
  h["sgemm_launch/v2_smem_tile_4x4"] = [=](P p, Arena& arena) {
    return gemm_case(p, sgemm_impl::tiled, arena);
  };
  h["sgemm_launch/cublas"] = [=](P p, Arena& arena) {
    return gemm_case(p, sgemm_impl::cublas, arena);
  };

  // --- FC head: x N×F (F = C), w O×F (O = K), y N×O. sgemm vs OpenBLAS: 1e-5 (linear tests)
  h["bias_add_launch/v1_grid_stride"] = [](P p, Arena& arena) {
    const int64_t N = p.N, O = p.K;
    Vec y = uniform(N * O, 51), b = uniform(O, 52);
    auto dy = arena.dev(y), db = arena.dev(b);
    return Case{[=] {
                  return bias_add_launch({dy->get(), db->get(), N, O}, nullptr);
                },
                [=](Check& c) {
                  Vec ref = y;
                  for (int64_t i = 0; i < N * O; ++i) ref[size_t(i)] += b[size_t(i % O)];
                  c.close("y", dy->download(), ref, 0);
                }};
  };
  h["bias_grad_launch/v1_column_strip"] = [](P p, Arena& arena) {
    const int64_t N = p.N, F = p.C, O = p.K;
    Vec g = uniform(N * O, 53), x = uniform(N * F, 54), w = uniform(O * F, 55);
    auto dg = arena.dev(g), db = arena.dev<float>(O);
    return Case{[=] {
                  return bias_grad_launch({dg->get(), db->get(), N, O, false}, nullptr);
                },
                [=](Check& c) {
                  Vec b(static_cast<size_t>(O));
                  cpu::linear_backward(g.data(), x.data(), w.data(), nullptr, nullptr, b.data(), N,
                                       F, O);
                  c.close("db", db->download(), b, kTol);
                }};
  };
  h["linear_forward_launch/sgemm+bias_add"] = [](P p, Arena& arena) {
    const int N = p.N, F = p.C, O = p.K;
    Vec x = uniform(int64_t(N) * F, 56), w = uniform(int64_t(O) * F, 57), b = uniform(O, 58);
    auto dx = arena.dev(x), dw = arena.dev(w), db = arena.dev(b),
         dy = arena.dev<float>(int64_t(N) * O);
    linear_params lp;
    lp.x = dx->get(), lp.w = dw->get(), lp.b = db->get(), lp.y = dy->get(), lp.N = N, lp.F = F,
    lp.O = O;
    return Case{[=] { return linear_forward_launch(lp, nullptr); },
                [=](Check& c) {
                  Vec y(static_cast<size_t>(N) * O);
                  cpu::linear_forward(x.data(), w.data(), b.data(), y.data(), N, F, O);
                  c.close("y", dy->download(), y, kTol);
                }};
  };
  h["linear_backward_launch/2_sgemm+bias_grad"] = [](P p, Arena& arena) {
    const int N = p.N, F = p.C, O = p.K;
    Vec x = uniform(int64_t(N) * F, 56), w = uniform(int64_t(O) * F, 57),
        g = uniform(int64_t(N) * O, 59);
    auto dx = arena.dev(x), dw = arena.dev(w), dg = arena.dev(g);
    auto gx = arena.dev<float>(int64_t(N) * F), gw = arena.dev<float>(int64_t(O) * F),
         gb = arena.dev<float>(O);
    linear_params lp;
    lp.x = dx->get(), lp.w = dw->get(), lp.dy = dg->get(), lp.dx = gx->get(), lp.dw = gw->get(),
    lp.db = gb->get();
    lp.N = N, lp.F = F, lp.O = O;
    return Case{[=] { return linear_backward_launch(lp, nullptr); },
                [=](Check& c) {
                  Vec rx(static_cast<size_t>(N) * F), rw(static_cast<size_t>(O) * F),
                      rb(static_cast<size_t>(O));
                  cpu::linear_backward(g.data(), x.data(), w.data(), rx.data(), rw.data(),
                                       rb.data(), N, F, O);
                  c.close("dx", gx->download(), rx, kTol);
                  c.close("dw", gw->download(), rw, kTol);
                  c.close("db", gb->download(), rb, kTol);
                }};
  };

  // --- losses on the head's logits N×O
  h["softmax_xent_forward_launch/v1_warp_per_row"] = [](P p, Arena& arena) {
    const int64_t N = p.N, K = p.K;
    Vec z = uniform(N * K, 60, -4.f, 4.f);
    const std::vector<int32_t> y = labels(N, 61, int(K));
    auto dz = arena.dev(z);
    auto dl = arena.dev(y);
    auto pr = arena.dev<float>(N * K), rl = arena.dev<float>(N), loss = arena.dev<float>(1);
    auto bad = arena.dev<uint32_t>(1);
    softmax_xent_params sp;
    sp.logits = dz->get(), sp.labels = dl->get(), sp.N = N, sp.K = K, sp.probs = pr->get();
    sp.row_loss = rl->get(), sp.loss = loss->get(), sp.bad_row = bad->get(),
    sp.check_labels = false;
    return Case{[=] { return softmax_xent_forward_launch(sp, nullptr); },
                [=](Check& c) {
                  Vec pref(static_cast<size_t>(N * K));
                  const double l =
                      cpu::cross_entropy_forward(z.data(), y.data(), pref.data(), N, K);
                  c.close("probs", pr->download(), pref, kTol);
                  c.close("loss", loss->download(), Vec{float(l)}, kTol);
                }};
  };
  h["softmax_xent_backward_launch/v1_grid_stride"] = [](P p, Arena& arena) {
    const int64_t N = p.N, K = p.K;
    Vec pr(static_cast<size_t>(N * K));
    const std::vector<int32_t> y = labels(N, 61, int(K));
    cpu::softmax_rows(uniform(N * K, 60, -4.f, 4.f).data(), 1.f, pr.data(), nullptr, N, K);
    auto dp = arena.dev(pr), dz = arena.dev<float>(N * K);
    auto dl = arena.dev(y);
    softmax_xent_backward_params bp;
    bp.probs = dp->get(), bp.labels = dl->get(), bp.N = N, bp.K = K, bp.scale = 0.5f,
    bp.dz = dz->get();
    return Case{[=] { return softmax_xent_backward_launch(bp, nullptr); },
                [=](Check& c) {
                  Vec ref(static_cast<size_t>(N * K));
                  cpu::cross_entropy_backward(pr.data(), y.data(), 0.5f, ref.data(), N, K);
                  c.close("dz", dz->download(), ref, kTol);
                }};
  };
  h["kd_forward_launch/v1_warp_per_row"] = [](P p, Arena& arena) {
    const int64_t N = p.N, K = p.K;
    Vec zs = uniform(N * K, 62, -4.f, 4.f), zt = uniform(N * K, 63, -4.f, 4.f);
    auto dzs = arena.dev(zs), dzt = arena.dev(zt);
    auto ps = arena.dev<float>(N * K), pt = arena.dev<float>(N * K), rk = arena.dev<float>(N),
         loss = arena.dev<float>(1);
    kd_forward_params kp;
    kp.zs = dzs->get(), kp.zt = dzt->get(), kp.N = N, kp.K = K, kp.T = 4.f, kp.ps = ps->get(),
    kp.pt = pt->get();
    kp.row_kl = rk->get(), kp.loss = loss->get();
    return Case{[=] { return kd_forward_launch(kp, nullptr); },
                [=](Check& c) {
                  Vec rs(static_cast<size_t>(N * K)), rt(static_cast<size_t>(N * K));
                  const double l =
                      cpu::kd_forward(zs.data(), zt.data(), N, K, 4.f, rs.data(), rt.data());
                  c.close("ps", ps->download(), rs, kTol);
                  c.close("pt", pt->download(), rt, kTol);
                  c.close("loss", loss->download(), Vec{float(l)}, kTolReduce);
                }};
  };
  h["kd_backward_launch/v1_grid_stride"] = [](P p, Arena& arena) {
    const int64_t N = p.N, K = p.K;
    Vec ps(static_cast<size_t>(N * K)), pt(static_cast<size_t>(N * K));
    cpu::softmax_rows(uniform(N * K, 62, -4.f, 4.f).data(), 0.25f, ps.data(), nullptr, N, K);
    cpu::softmax_rows(uniform(N * K, 63, -4.f, 4.f).data(), 0.25f, pt.data(), nullptr, N, K);
    auto dps = arena.dev(ps), dpt = arena.dev(pt), dz = arena.dev<float>(N * K);
    kd_backward_params kp;
    kp.ps = dps->get(), kp.pt = dpt->get(), kp.N = N, kp.K = K, kp.T = 4.f, kp.dzs = dz->get();
    return Case{[=] { return kd_backward_launch(kp, nullptr); },
                [=](Check& c) {
                  Vec ref(static_cast<size_t>(N * K));
                  cpu::kd_backward(ps.data(), pt.data(), N, K, 4.f, 1.f, ref.data());
                  c.close("dzs", dz->download(), ref, kTol);
                }};
  };

  // --- PRAM on the site after the conv (B = N, C = K, HW = P·Q), post-ReLU activations ≥ 0
  h["pram_forward_launch/v1_block_per_sample"] = [](P p, Arena& arena) {
    const int64_t B = p.N, C = p.K, HW = int64_t(p.P) * p.Q;
    Vec as = uniform(B * C * HW, 64, 0.f, 2.f), at = uniform(B * C * HW, 65, 0.f, 2.f);
    auto das = arena.dev(as), dat = arena.dev(at);
    auto qs = arena.dev<float>(B * HW), qt = arena.dev<float>(B * HW), ns = arena.dev<float>(B),
         nt = arena.dev<float>(B);
    auto rd = arena.dev<float>(B), loss = arena.dev<float>(1);
    pram_forward_params fp;
    fp.a_s = das->get(), fp.a_t = dat->get(), fp.B = B, fp.C = C, fp.HW = HW, fp.qs = qs->get(),
    fp.qt = qt->get();
    fp.norm_s = ns->get(), fp.norm_t = nt->get(), fp.row_dist = rd->get(), fp.loss = loss->get();
    return Case{[=] { return pram_forward_launch(fp, nullptr); },
                [=](Check& c) {
                  Vec rqs(static_cast<size_t>(B * HW)), rqt(static_cast<size_t>(B * HW)),
                      rns(static_cast<size_t>(B)), rnt(static_cast<size_t>(B));
                  cpu::pram_attention(as.data(), rqs.data(), rns.data(), B, C, HW);
                  cpu::pram_attention(at.data(), rqt.data(), rnt.data(), B, C, HW);
                  const double l = cpu::pram_distance(rqs.data(), rqt.data(), B, HW);
                  c.close("qs", qs->download(), rqs, kTol);
                  c.close("norm_s", ns->download(), rns, kTol);
                  c.close("loss", loss->download(), Vec{float(l)}, kTolReduce);
                }};
  };
  h["pram_backward_launch/v1_block+grid_stride"] = [](P p, Arena& arena) {
    const int64_t B = p.N, C = p.K, HW = int64_t(p.P) * p.Q;
    Vec as = uniform(B * C * HW, 64, 0.f, 2.f), at = uniform(B * C * HW, 65, 0.f, 2.f);
    Vec qs(static_cast<size_t>(B * HW)), qt(static_cast<size_t>(B * HW)),
        ns(static_cast<size_t>(B)), nt(static_cast<size_t>(B));
    cpu::pram_attention(as.data(), qs.data(), ns.data(), B, C, HW);
    cpu::pram_attention(at.data(), qt.data(), nt.data(), B, C, HW);
    auto das = arena.dev(as), dqs = arena.dev(qs), dns = arena.dev(ns), dqt = arena.dev(qt);
    auto dq = arena.dev<float>(B * HW), da = arena.dev<float>(B * C * HW);
    pram_backward_params bp;
    bp.a_s = das->get(), bp.qs = dqs->get(), bp.norm_s = dns->get(), bp.qt = dqt->get(), bp.B = B,
    bp.C = C;
    bp.HW = HW, bp.dq = dq->get(), bp.da = da->get();
    return Case{[=] { return pram_backward_launch(bp, nullptr); },
                [=](Check& c) {
                  Vec ref(static_cast<size_t>(B * C * HW));
                  cpu::pram_backward(as.data(), qs.data(), ns.data(), qt.data(), B, C, HW, 1.f,
                                     ref.data());
                  c.close("dA", da->download(), ref, kTolReduce);
                }};
  };

  // --- masked ReLU, alpha-ReLU, L1 (bitwise where the CPU does the same single operation)
  h["masked_relu_forward_launch/v1_warp_per_word"] = [=](P p, Arena& arena) {
    const int64_t n = act_n(p), L = kpq(p);
    Vec x = uniform(n, 66);
    const std::vector<uint8_t> m = bytes01(L, 67);
    auto dx = arena.dev(x), dy = arena.dev<float>(n);
    auto dm = arena.dev(m);
    auto db = arena.dev<uint32_t>(pass_bits_words(n));
    return Case{[=] {
                  return masked_relu_forward_launch(
                      {dx->get(), dy->get(), db->get(), dm->get(), n, L, 0}, nullptr);
                },
                [=](Check& c) {
                  Vec y(static_cast<size_t>(n));
                  std::vector<uint64_t> bits(static_cast<size_t>(cpu::bit_words(n)));
                  cpu::masked_relu_forward(x.data(), m.data(), L, n, y.data(), bits.data());
                  c.close("y", dy->download(), y, 0);
                  c.bits("bits", db->download(), bits, n, y, 0);
                }};
  };
  h["masked_relu_backward_launch/v1_grid_stride"] = [=](P p, Arena& arena) {
    const int64_t n = act_n(p), L = kpq(p);
    Vec x = uniform(n, 66), g = uniform(n, 68), y(static_cast<size_t>(n));
    const std::vector<uint8_t> m = bytes01(L, 67);
    std::vector<uint64_t> bits(static_cast<size_t>(cpu::bit_words(n)));
    cpu::masked_relu_forward(x.data(), m.data(), L, n, y.data(), bits.data());
    auto dg = arena.dev(g), dx = arena.dev<float>(n);
    auto db = arena.dev(bits32(bits, n));
    return Case{[=] {
                  return masked_relu_backward_launch({dg->get(), db->get(), dx->get(), n}, nullptr);
                },
                [=](Check& c) {
                  Vec ref(static_cast<size_t>(n));
                  cpu::masked_relu_backward(g.data(), bits.data(), n, ref.data());
                  c.close("dx", dx->download(), ref, 0);
                }};
  };
  h["alpha_relu_forward_launch/v1_grid_stride"] = [=](P p, Arena& arena) {
    const int64_t N = p.N, Pn = kpq(p);
    Vec x = uniform(N * Pn, 69), al = uniform(Pn, 70, 0.f, 1.f);
    auto dx = arena.dev(x), da = arena.dev(al), dy = arena.dev<float>(N * Pn);
    alpha_relu_params ap;
    ap.x = dx->get(), ap.alpha = da->get(), ap.y = dy->get(), ap.N = N, ap.P = Pn;
    return Case{[=] { return alpha_relu_forward_launch(ap, nullptr); },
                [=](Check& c) {
                  Vec y(static_cast<size_t>(N * Pn));
                  cpu::alpha_relu_forward(x.data(), al.data(), y.data(), N, Pn);
                  c.close("y", dy->download(), y, kTolUlp);
                }};
  };
  h["alpha_relu_backward_launch/v1_grid_stride+thread_per_position"] = [=](P p, Arena& arena) {
    const int64_t N = p.N, Pn = kpq(p);
    Vec x = uniform(N * Pn, 69), al = uniform(Pn, 70, 0.f, 1.f), g = uniform(N * Pn, 71);
    auto dx = arena.dev(x), da = arena.dev(al), dg = arena.dev(g), gx = arena.dev<float>(N * Pn),
         ga = arena.dev<float>(Pn);
    alpha_relu_params ap;
    ap.x = dx->get(), ap.alpha = da->get(), ap.dy = dg->get(), ap.dx = gx->get(),
    ap.dalpha = ga->get();
    ap.N = N, ap.P = Pn;
    return Case{[=] { return alpha_relu_backward_launch(ap, nullptr); },
                [=](Check& c) {
                  Vec rx(static_cast<size_t>(N * Pn)), ra(static_cast<size_t>(Pn));
                  cpu::alpha_relu_backward(x.data(), al.data(), g.data(), rx.data(), ra.data(), N,
                                           Pn);
                  c.close("dx", gx->download(), rx, kTolUlp);
                  c.close("dalpha", ga->download(), ra, kTol);
                }};
  };
  h["l1_forward_launch/v1_two_level"] = [=](P p, Arena& arena) {
    const int64_t n = kpq(p);
    Vec x = uniform(n, 72);
    auto dx = arena.dev(x), out = arena.dev<float>(1);
    auto part = arena.dev<double>(sum_partials_count(n));
    return Case{
        [=] {
          return l1_forward_launch({dx->get(), n, out->get(), nullptr, part->get()}, nullptr);
        },
        [=](Check& c) {
          c.close("l1", out->download(), Vec{float(cpu::l1_forward(x.data(), n))}, kTolUlp);
        }};
  };
  h["l1_backward_launch/v1_grid_stride"] = [=](P p, Arena& arena) {
    const int64_t n = kpq(p);
    Vec x = uniform(n, 72);
    auto dx = arena.dev(x), g = arena.dev<float>(n);
    l1_backward_params bp;
    bp.x = dx->get(), bp.scale = 0.25f, bp.dx = g->get(), bp.n = n;
    return Case{[=] { return l1_backward_launch(bp, nullptr); },
                [=](Check& c) {
                  Vec ref(static_cast<size_t>(n));
                  cpu::l1_backward(x.data(), 0.25f, ref.data(), n);
                  c.close("dx", g->download(), ref, 0);
                }};
  };

  // --- optimizers on the conv's weight (nvcc FMAs: a few ulp); v2 cuts it into 8 tensors
  h["sgd_update_launch/v1_grid_stride"] = [](P p, Arena& arena) {
    return sgd_case(p, false, arena);
  };
  h["sgd_update_multi_launch/v2_multi_tensor"] = [](P p, Arena& arena) {
    return sgd_case(p, true, arena);
  };
  h["adam_update_launch/v1_grid_stride"] = [](P p, Arena& arena) {
    return adam_case(p, false, arena);
  };
  h["adam_update_multi_launch/v2_multi_tensor"] = [](P p, Arena& arena) {
    return adam_case(p, true, arena);
  };

  // --- SENet mask search on the site after the conv (no CPU op in engine/: the definitions)
  h["mask_accumulate_absdiff_launch/v1_thread_per_position"] = [=](P p, Arena& arena) {
    const int64_t B = p.N, L = kpq(p);
    Vec at = uniform(B * L, 80), as = uniform(B * L, 81), D = uniform(L, 82, 0.f, 1.f);
    auto dat = arena.dev(at), das = arena.dev(as), dD = arena.dev(D);
    return Case{
        [=] {
          return mask_accumulate_absdiff_launch({dat->get(), das->get(), dD->get(), B, L}, nullptr);
        },
        [=](Check& c) {
          Vec ref = D;
          for (int64_t l = 0; l < L; ++l) {
            float s = 0;  // fp32 in b order, then added to D
            for (int64_t b = 0; b < B; ++b)
              s += std::fabs(at[size_t(b * L + l)] - as[size_t(b * L + l)]);
            ref[size_t(l)] += s;
          }
          c.close("D", dD->download(), ref, kTolUlp);
        }};
  };
  h["channel_scores_launch/v1_block_per_channel"] = [](P p, Arena& arena) {
    const int64_t C = p.K, HW = int64_t(p.P) * p.Q;
    Vec D = uniform(C * HW, 83, 0.f, 1.f);
    auto dD = arena.dev(D), ds = arena.dev<float>(C);
    return Case{[=] {
                  return channel_scores_launch({dD->get(), ds->get(), C, HW}, nullptr);
                },
                [=](Check& c) {
                  Vec ref(static_cast<size_t>(C));
                  for (int64_t k = 0; k < C; ++k)
                    ref[size_t(k)] = float(cpu::sum(D.data() + k * HW, HW));
                  c.close("scores", ds->download(), ref, kTolUlp);
                }};
  };
  h["topk_mask_launch/v1_radix_select"] = [=](P p, Arena& arena) {
    const int64_t n = kpq(p), k = n / 2;
    Vec s = uniform(n, 84);
    for (int64_t i = 0; i < n; i += 7) s[size_t(i)] = 0.5f;  // ties, broken toward the lower index
    auto dsc = arena.dev(s);
    auto dm = arena.dev<uint8_t>(n);
    const size_t wsb = topk_mask_workspace_bytes(n);
    auto ws = arena.dev<uint8_t>(int64_t(wsb));
    return Case{[=] {
                  return topk_mask_launch({dsc->get(), n, k, dm->get(), ws->get(), wsb}, nullptr);
                },
                [=](Check& c) {
                  std::vector<int64_t> idx(static_cast<size_t>(n));
                  std::iota(idx.begin(), idx.end(), 0);
                  std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) {
                    return s[size_t(a)] > s[size_t(b)];
                  });
                  std::vector<uint8_t> ref(static_cast<size_t>(n), 0);
                  for (int64_t i = 0; i < k; ++i) ref[size_t(idx[size_t(i)])] = 1;
                  c.equal("mask", dm->download(), ref);
                }};
  };
  h["straight_through_forward_launch/v1_topk_magnitude+grid_stride"] = [=](P p, Arena& arena) {
    const int64_t n = kpq(p), k = n / 2;
    Vec s = uniform(n, 85);
    for (int64_t i = 0; i < n; i += 7) s[size_t(i)] = i % 2 ? 0.5f : -0.5f;  // |s| ties, ± signs
    auto dsc = arena.dev(s);
    auto dm = arena.dev<uint8_t>(n);
    auto dy = arena.dev<float>(n);
    const size_t wsb = topk_mask_workspace_bytes(n);
    auto ws = arena.dev<uint8_t>(int64_t(wsb));
    straight_through_params sp;
    sp.s = dsc->get(), sp.n = n, sp.k = k, sp.mask = dm->get(), sp.y = dy->get();
    sp.workspace = ws->get(), sp.workspace_bytes = wsb;
    return Case{[=] { return straight_through_forward_launch(sp, nullptr); },
                [=](Check& c) {
                  std::vector<uint8_t> m(static_cast<size_t>(n));
                  Vec y(static_cast<size_t>(n));
                  cpu::straight_through_forward(s.data(), n, k, m.data(), y.data());
                  c.equal("mask", dm->download(), m);
                  c.close("y", dy->download(), y, 0);
                }};
  };
  h["straight_through_backward_launch/v1_grid_stride"] = [=](P p, Arena& arena) {
    const int64_t n = kpq(p);
    Vec s = uniform(n, 86), g = uniform(n, 87);
    auto dsc = arena.dev(s), dg = arena.dev(g), dd = arena.dev<float>(n);
    straight_through_params sp;
    sp.s = dsc->get(), sp.n = n, sp.dy = dg->get(), sp.ds = dd->get();
    return Case{[=] { return straight_through_backward_launch(sp, nullptr); },
                [=](Check& c) {
                  Vec ref(static_cast<size_t>(n));
                  cpu::straight_through_backward(s.data(), g.data(), ref.data(), n);
                  c.close("ds", dd->download(), ref, 0);
                }};
  };
}

}  // namespace senet::cases
