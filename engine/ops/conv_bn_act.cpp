// engine/ops/conv_bn_act.cpp — fused conv → BN → (masked) ReLU: forward and backward side by side.
#include "engine/ops/conv_bn_act.h"

#include <cmath>
#include <cstring>
#include <vector>

#include "engine/core/autograd.h"
#include "engine/core/parallel.h"
#include "engine/cpu/activation.h"
#include "engine/cpu/batchnorm.h"
#include "engine/cpu/conv2d.h"
#include "engine/dist/sync_bn.h"
#include "engine/ops/bn_act.h"
#include "engine/ops/conv2d.h"
#include "engine/ops/conv_bn_fold_cache.h"
#include "engine/ops/dispatch.h"

namespace senet {

// Eval without gradients: a = act(conv(x, w') + b' (+ r)) with BN folded into the conv,
// w' = w·s, b' = β − μ·s, s = γ/√(running_var+ε) — computed once until the weights change
// (engine/ops/conv_bn_fold_cache.h); the bias, the residual r and the activation are applied to
// each group in the conv's epilogue.
static FoldedConvBn fold_cpu(const cpu::Conv2dGeom& g, const Tensor& w, const Tensor& gamma,
                             const Tensor& beta, const BatchNormState& st) {
  const int64_t CRS = g.CRS();
  FoldedConvBn f{Tensor::empty({g.K, g.C, g.R, g.S}), Tensor::empty({g.K})};
  float *wf = f.w.data<float>(), *bf = f.b.data<float>();
  const float *wp = w.read<float>(), *gp = gamma.read<float>(), *bp = beta.read<float>();
  const float *rm = st.running_mean.read<float>(), *rv = st.running_var.read<float>();
  for (int k = 0; k < g.K; ++k) {
    const float s = gp[k] * float(1.0 / std::sqrt(double(rv[k]) + double(st.eps)));
    for (int64_t i = 0; i < CRS; ++i) wf[k * CRS + i] = wp[k * CRS + i] * s;
    bf[k] = bp[k] - rm[k] * s;
  }
  return f;
}

static Tensor conv_bn_act_folded(const cpu::Conv2dGeom& g, const Tensor& x, const Tensor& w,
                                 const Tensor& gamma, const Tensor& beta, const BatchNormState& st,
                                 Act act, const uint8_t* mask, const float* residual) {
  const int64_t PQ = g.PQ();
  const FoldedConvBn f =
      folded_conv_bn(w, gamma, beta, st, [&] { return fold_cpu(g, w, gamma, beta, st); });
  const float* bf = f.b.read<float>();
  Tensor a = Tensor::empty({g.N, g.K, g.P, g.Q});
  cpu::conv2d_fprop(g, x.data<float>(), f.w.read<float>(), a.data<float>(),
                    [&](int, int img, int k0, int k1, float* rows) {
                      for (int k = k0; k < k1; ++k) {
                        float* row = rows + (k - k0) * PQ;
                        const uint8_t* m = mask ? mask + k * PQ : nullptr;
                        const float* r =
                            residual ? residual + (int64_t(img) * g.K + k) * PQ : nullptr;
                        for (int64_t i = 0; i < PQ; ++i) {
                          float z = row[i] + bf[k];
                          if (r) z += r[i];
                          row[i] = act == Act::None || (m && !m[i]) || z > 0.f ? z : 0.f;
                        }
                      }
                    });
  return a;
}

// CUDA: training → the fused conv + BN-partials epilogue, finalize, scale-shift-mReLU (3 launches);
// eval with gradients → conv, then the running-stats affine map + act; eval without gradients →
// BN folded into the conv, one kernel. Backward: mrelu_bn_bwd → dgrad, wgrad (split-K) as
// conv2d's backward picks them (engine/cuda/ops_table.cpp).
static Tensor conv_bn_act_cuda(const cpu::Conv2dGeom& g, const Tensor& x, const Tensor& w,
                               const Tensor& gamma, const Tensor& beta, BatchNormState& st,
                               bool training, Act act, const Tensor& mask, const Tensor& y,
                               const Tensor& residual) {
  CudaBnAct p;
  p.N = g.N, p.C = g.K, p.HW = g.PQ();
  p.eps = st.eps, p.momentum = st.momentum, p.training = training, p.act = act;
  set_cuda_bn_sync(p);
  const Shape out_shape{g.N, g.K, g.P, g.Q};
  Tensor a = Tensor::empty(out_shape, DType::F32, Device::CUDA);
  if (act == Act::MaskedReLU) p.mask_per_channel = check_mask("conv_bn_act", a, mask);
  const uint8_t* m = act == Act::MaskedReLU ? mask.data<uint8_t>() : nullptr;
  const bool grad = needs_grad({&x, &w, &gamma, &beta, &residual});
  if (!training && !grad) {
    // The fold reads its inputs without advancing their versions (conv_bn_fold_cache.h).
    const FoldedConvBn f = folded_conv_bn(w, gamma, beta, st, [&] {
      FoldedConvBn n{Tensor::empty({g.K, g.C, g.R, g.S}, DType::F32, Device::CUDA),
                     Tensor::empty({g.K}, DType::F32, Device::CUDA)};
      cuda().conv_bn_fold(g, st.eps, w.read<float>(), gamma.read<float>(), beta.read<float>(),
                          st.running_mean.read<float>(), st.running_var.read<float>(),
                          n.w.data<float>(), n.b.data<float>());
      return n;
    });
    cuda().conv_bn_act_infer(g, p, x.data<float>(), f.w.read<float>(), f.b.read<float>(), m,
                             ptr_or_null<float>(residual), a.data<float>());
    return a;
  }
  float *rm = st.running_mean.data<float>(), *rv = st.running_var.data<float>();
  Tensor mean = Tensor::empty({g.K}, DType::F32, Device::CUDA);
  Tensor invstd = Tensor::empty({g.K}, DType::F32, Device::CUDA);
  Tensor bits = grad && act != Act::None ? cuda_pass_bits(y.numel()) : Tensor();
  conv_bn_mrelu_fwd_tensors t;
  t.x = x.data<float>(), t.w = w.data<float>(), t.gamma = gamma.data<float>();
  t.beta = beta.data<float>(), t.mask = m, t.running_mean = rm, t.running_var = rv;
  t.y = y.data<float>(), t.a = a.data<float>(), t.bits = bits_ptr(bits);
  t.mean = mean.data<float>(), t.invstd = invstd.data<float>();
  t.residual = ptr_or_null<float>(residual);
  cuda().conv_bn_act_forward(g, p, t);
  if (!grad) return a;
  const bool need_x = x.requires_grad(), need_w = w.requires_grad();
  const bool need_r = residual.defined() && residual.requires_grad();
  Tensor sx = x.detach(), sw = w.detach(), sg = gamma.detach();
  Tensor sy = y.detach();
  record("conv_bn_act", {x, w, gamma, beta, residual}, a,
         [g, p, sx, sw, sg, sy, mean, invstd, bits, need_x, need_w,
          need_r](const Tensor& da) -> std::vector<Tensor> {
           Tensor dgamma = Tensor::empty({g.K}, DType::F32, Device::CUDA);
           Tensor dbeta = Tensor::empty({g.K}, DType::F32, Device::CUDA);
           Tensor dx = need_x ? Tensor::empty_like(sx) : Tensor();
           Tensor dw = need_w ? Tensor::empty_like(sw) : Tensor();
           Tensor dr = need_r ? Tensor::empty_like(sy) : Tensor();
           conv_bn_mrelu_bwd_tensors t;
           t.x = sx.data<float>(), t.w = sw.data<float>(), t.da = da.data<float>();
           t.bits = bits_ptr(bits), t.y = sy.data<float>(), t.mean = mean.data<float>();
           t.invstd = invstd.data<float>(), t.gamma = sg.data<float>();
           t.dx = ptr_or_null<float>(dx), t.dw = ptr_or_null<float>(dw);
           t.dgamma = dgamma.data<float>(), t.dbeta = dbeta.data<float>();
           t.dresidual = ptr_or_null<float>(dr);
           cuda().conv_bn_act_backward(g, p, t);
           return {dx, dw, dgamma, dbeta, dr};
         });
  return a;
}

Tensor conv_bn_act(const Tensor& x, const Tensor& w, const Tensor& gamma, const Tensor& beta,
                   BatchNormState& st, bool training, Act act, const Tensor& mask, int stride,
                   int pad, const Tensor& residual) {
  const cpu::Conv2dGeom g = conv2d_check("conv_bn_act", x, w, stride, pad);
  // The conv output (shape carrier for the checks; on the input's device).
  Tensor y = Tensor::empty({g.N, g.K, g.P, g.Q}, DType::F32, x.device());
  batchnorm_check("conv_bn_act", y, gamma, beta, st);
  check_same_device("conv_bn_act", x, gamma);
  if (residual.defined()) {
    check_same_shape("conv_bn_act", y, residual);
    check_same_device("conv_bn_act", y, residual);
    check_dtype("conv_bn_act", residual, DType::F32, "residual");
  }
  if (use_cuda("conv_bn_act",
               {&x, &w, &gamma, &beta, &mask, &residual, &st.running_mean, &st.running_var}))
    return conv_bn_act_cuda(g, x, w, gamma, beta, st, training, act, mask, y, residual);
  std::vector<uint8_t> expanded;
  const uint8_t* m =
      act == Act::MaskedReLU ? mask_per_element("conv_bn_act", y, mask, expanded) : nullptr;
  const bool has_act = act != Act::None;
  const bool grad = needs_grad({&x, &w, &gamma, &beta, &residual});
  const float* rp = residual.defined() ? residual.data<float>() : nullptr;
  if (!training && !grad) return conv_bn_act_folded(g, x, w, gamma, beta, st, act, m, rp);

  // Forward: conv; per-(image, channel) mean and M2 while the rows are hot; merged in image order.
  const int64_t PQ = g.PQ(), M = int64_t(g.N) * PQ, n = M * g.K;
  std::vector<cpu::MeanM2> part(size_t(g.N) * g.K);
  cpu::ConvRowsHook stats;
  if (training)
    stats = [&](int, int img, int k0, int k1, float* rows) {
      for (int k = k0; k < k1; ++k)
        part[size_t(img) * g.K + k] = cpu::segment_mean_m2(rows + (k - k0) * PQ, PQ);
    };
  cpu::conv2d_fprop(g, x.data<float>(), w.data<float>(), y.data<float>(), stats);
  std::vector<float> mean(size_t(g.K)), var(size_t(g.K));
  // Data-parallel runs: the statistics of the whole batch over every rank (engine/dist/sync_bn.h).
  const bool sync = training && dist::bn_synchronised();
  int64_t M_all = M;
  if (training) {
    std::vector<cpu::MeanM2> acc(size_t(g.K));
    // channels split over the threads, each channel's images merged in order
    parallel_for(0, g.K, 8, [&](int64_t k0, int64_t k1) {
      for (int64_t k = k0; k < k1; ++k)
        for (int img = 0; img < g.N; ++img)
          cpu::merge(acc[size_t(k)], part[size_t(img) * g.K + size_t(k)]);
    });
    if (sync) M_all = dist::sync_bn_statistics(acc.data(), g.K);
    cpu::mean_var(acc.data(), g.K, mean.data(), var.data());
  }
  std::shared_ptr<BnStats> s = batchnorm_finalize(st, mean.data(), var.data(), M_all, training);

  // One pass y → a and the pass bits.
  PassBits bits = grad && has_act ? make_pass_bits(n) : nullptr;
  Tensor a = Tensor::empty_like(y);
  cpu::BnAct p{
      g.N, g.K, PQ, s->mean.data(), s->invstd.data(), gamma.data<float>(), beta.data<float>(),
      act, m};
  cpu::bn_act_forward(p, y.data<float>(), rp, a.data<float>(), bits ? bits->data() : nullptr);
  if (!grad) return a;

  // Backward: dz = da ⊙ p; dβ = Σdz, dγ = Σdz·x̂ (one pass); per group dY_g = (γ/σ)(dz − dβ/M − x̂·dγ/M)
  // in a thread-local buffer → dW += dY_g·col_gᵀ, dX_g = col2im(Wᵀ·dY_g). With a residual that needs
  // its gradient (dr = dz), dY and dz are written for the whole batch in one pass first.
  const bool need_x = x.requires_grad(), need_w = w.requires_grad();
  const bool need_r = residual.defined() && residual.requires_grad();
  Tensor sx = x.detach(), sw = w.detach(), sy = y.detach(), sg = gamma.detach();
  record("conv_bn_act", {x, w, gamma, beta, residual}, a,
         [g, sx, sw, sy, sg, s, bits, training, need_x, need_w, need_r, sync,
          M_all](const Tensor& da) -> std::vector<Tensor> {
           const int64_t PQ = g.PQ();
           const float inv_m = 1.f / float(M_all);
           Tensor dgamma = Tensor::empty({g.K}), dbeta = Tensor::empty({g.K});
           const uint64_t* b = bits ? bits->data() : nullptr;
           const float *dap = da.data<float>(), *yp = sy.data<float>();
           cpu::BnAct p{g.N, g.K, PQ, s->mean.data(), s->invstd.data(), sg.data<float>(), nullptr};
           cpu::bn_act_grad_reduce(p, dap, b, yp, dgamma.data<float>(), dbeta.data<float>());
           Tensor dx = need_x ? Tensor::empty_like(sx) : Tensor();
           Tensor dw = need_w ? Tensor::empty_like(sw) : Tensor();
           Tensor dr = need_r ? Tensor::empty_like(sy) : Tensor();
           std::vector<float> whole;
           const BnDxSums sums = bn_dx_sums(dgamma, dbeta, sync, whole);
           if (need_x || need_w || need_r) {
             const float *dg = sums.dgamma, *dbt = sums.dbeta, *gm = sg.data<float>();
             // dY of image n = (γ/σ)(dz − dβ/M − x̂·dγ/M), computed where the conv asks for it (in
             // cache, never stored for the batch) when it asks once per image; else stored once.
             // (a buffer kept by the thread across steps: a fresh one page-faulted and zero-filled
             // tens of MiB per call, which made the fused op slower than the unfused chain)
             static thread_local std::vector<float> dy_buf;  // grows, never shrinks or refills
             float* dy_all = nullptr;
             if (need_r || cpu::conv2d_bprop_dy_reads(g, need_x, need_w) > 1) {
               const size_t n_dy = size_t(g.N) * g.K * PQ;
               if (dy_buf.size() < n_dy) dy_buf.resize(n_dy);
               dy_all = dy_buf.data();
               cpu::BnAct p{g.N, g.K, PQ, s->mean.data(), s->invstd.data(), gm, nullptr};
               p.count = M_all;
               cpu::bn_act_backward(p, dap, b, yp, dg, dbt, training, dy_all,
                                    need_r ? dr.data<float>() : nullptr);
             }
             auto dy_fill = [&](int, int n0, int gn, float* dyg) -> const float* {
               if (dy_all && gn == 1) return dy_all + int64_t(n0) * g.K * PQ;
               for (int j = 0; j < gn; ++j)
                 for (int k = 0; k < g.K; ++k) {
                   const int64_t i0 = (int64_t(n0 + j) * g.K + k) * PQ;
                   float* out = dyg + (int64_t(k) * gn + j) * PQ;
                   if (dy_all) {
                     std::memcpy(out, dy_all + i0, size_t(PQ) * sizeof(float));
                     continue;
                   }
                   const float sk = gm[k] * s->invstd[size_t(k)];
                   const float mdb = training ? dbt[k] * inv_m : 0.f,
                               mdg = training ? dg[k] * inv_m : 0.f;
                   cpu::bn_act_grad_row(dap + i0, b, i0, yp + i0, PQ, s->mean[size_t(k)],
                                        s->invstd[size_t(k)], sk, mdb, mdg, out, nullptr);
                 }
               return dyg;
             };
             if (need_x || need_w)
               cpu::conv2d_bprop(g, sx.data<float>(), sw.data<float>(), dy_fill,
                                 need_x ? dx.data<float>() : nullptr,
                                 need_w ? dw.data<float>() : nullptr);
           }
           return {dx, dw, dgamma, dbeta, dr};
         });
  return a;
}

}  // namespace senet
