// engine/ops/batchnorm.cpp — batch_norm2d forward and backward side by side.
// Forward saves x, γ, μ and 1/σ; the backward recomputes x̂ = (x−μ)/σ from them.
#include "engine/ops/batchnorm.h"

#include <cmath>

#include "engine/core/autograd.h"
#include "engine/cpu/batchnorm.h"
#include "engine/dist/sync_bn.h"
#include "engine/ops/bn_act.h"
#include "engine/ops/dispatch.h"

namespace senet {

void batchnorm_check(const char* op, const Tensor& y, const Tensor& gamma, const Tensor& beta,
                     BatchNormState& st) {
  SENET_CHECK(y.ndim() == 4 || y.ndim() == 2, op, ": input ", y.shape(), " must be N×C×H×W or N×C");
  check_dtype(op, y, DType::F32, "input");
  const int64_t C = y.size(1);
  if (!st.running_mean.defined()) st.running_mean = Tensor::zeros({C}, DType::F32, y.device());
  if (!st.running_var.defined()) st.running_var = Tensor::full({C}, 1.f, y.device());
  const Tensor* per_channel[] = {&gamma, &beta, &st.running_mean, &st.running_var};
  const char* names[] = {"gamma", "beta", "running_mean", "running_var"};
  for (int i = 0; i < 4; ++i) {
    const Tensor& t = *per_channel[i];
    SENET_CHECK(t.defined(), op, ": ", names[i], " is undefined (input ", y.shape(), ")");
    check_dtype(op, t, DType::F32, names[i]);
    check_same_device(op, y, t);
    SENET_CHECK(t.shape() == Shape{C}, op, ": ", names[i], " ", t.shape(), " does not match input ",
                y.shape(), " (expected [", C, "])");
  }
  SENET_CHECK(y.numel() > 0, op, ": empty input ", y.shape());
}

std::shared_ptr<BnStats> batchnorm_finalize(BatchNormState& st, const float* mean, const float* var,
                                            int64_t M, bool training) {
  const int64_t C = st.running_mean.numel();
  auto s = std::make_shared<BnStats>();
  s->mean.resize(size_t(C));
  s->invstd.resize(size_t(C));
  float* rm = st.running_mean.data<float>();
  float* rv = st.running_var.data<float>();
  const double m = st.momentum, unbias = M > 1 ? double(M) / double(M - 1) : 1.0;
  for (int64_t c = 0; c < C; ++c) {
    if (training) {
      s->mean[size_t(c)] = mean[c];
      s->invstd[size_t(c)] = float(1.0 / std::sqrt(double(var[c]) + double(st.eps)));
      rm[c] = float((1 - m) * rm[c] + m * mean[c]);
      rv[c] = float((1 - m) * rv[c] + m * double(var[c]) * unbias);
    } else {
      s->mean[size_t(c)] = rm[c];
      s->invstd[size_t(c)] = float(1.0 / std::sqrt(double(rv[c]) + double(st.eps)));
    }
  }
  return s;
}

BnForwardStats batchnorm_statistics(const Tensor& y, BatchNormState& st, bool training) {
  const int64_t N = y.size(0), C = y.size(1), HW = y.numel() / (N * C);
  std::vector<float> mean(static_cast<size_t>(C)), var(static_cast<size_t>(C));
  BnForwardStats out;
  out.sync = training && dist::bn_synchronised();
  out.M = N * HW;
  if (training) {
    std::vector<cpu::MeanM2> acc(static_cast<size_t>(C));
    cpu::bn_stats_acc(y.data<float>(), N, C, HW, acc.data());
    if (out.sync) out.M = dist::sync_bn_statistics(acc.data(), C);
    cpu::mean_var(acc.data(), C, mean.data(), var.data());
  }
  out.stats = batchnorm_finalize(st, mean.data(), var.data(), out.M, training);
  return out;
}

BnDxSums bn_dx_sums(const Tensor& dgamma, const Tensor& dbeta, bool sync,
                    std::vector<float>& whole) {
  if (!sync) return {dgamma.data<float>(), dbeta.data<float>()};
  const int64_t C = dgamma.numel();
  whole.assign(dgamma.data<float>(), dgamma.data<float>() + C);
  whole.insert(whole.end(), dbeta.data<float>(), dbeta.data<float>() + C);
  dist::sync_bn_grad_sums(whole.data(), whole.data() + C, C);
  return {whole.data(), whole.data() + C};
}

Tensor batch_norm2d(const Tensor& x, const Tensor& gamma, const Tensor& beta, BatchNormState& st,
                    bool training) {
  batchnorm_check("batch_norm2d", x, gamma, beta, st);
  if (use_cuda("batch_norm2d", {&x, &gamma, &beta, &st.running_mean, &st.running_var}))
    return bn_act_cuda("batch_norm2d", x, Tensor(), gamma, beta, st, training, Act::None, Tensor());
  const int64_t N = x.size(0), C = x.size(1), HW = x.numel() / (N * C);
  const BnForwardStats fs = batchnorm_statistics(x, st, training);
  const std::shared_ptr<BnStats> s = fs.stats;
  const int64_t M = fs.M;
  const bool sync = fs.sync;

  Tensor y = Tensor::empty_like(x);
  cpu::BnAct p{N, C, HW, s->mean.data(), s->invstd.data(), gamma.data<float>(), beta.data<float>()};
  cpu::bn_act_forward(p, x.data<float>(), nullptr, y.data<float>(), nullptr);

  // Backward: dβ = Σdy, dγ = Σdy·x̂, dx = (γ/σ)(dy − dβ/M − x̂·dγ/M) (eval: (γ/σ)·dy).
  if (needs_grad({&x, &gamma, &beta})) {
    Tensor sx = x.detach(), sg = gamma.detach();
    record("batch_norm2d", {x, gamma, beta}, y,
           [sx, sg, s, N, C, HW, M, sync, training](const Tensor& dy) -> std::vector<Tensor> {
             Tensor dx = Tensor::empty_like(sx), dgamma = Tensor::empty({C}),
                    dbeta = Tensor::empty({C});
             cpu::BnAct p{N, C, HW, s->mean.data(), s->invstd.data(), sg.data<float>(), nullptr};
             p.count = M;
             cpu::bn_act_grad_reduce(p, dy.data<float>(), nullptr, sx.data<float>(),
                                     dgamma.data<float>(), dbeta.data<float>());
             std::vector<float> whole;
             const BnDxSums sums = bn_dx_sums(dgamma, dbeta, sync, whole);
             cpu::bn_act_backward(p, dy.data<float>(), nullptr, sx.data<float>(), sums.dgamma,
                                  sums.dbeta, training, dx.data<float>(), nullptr);
             return {dx, dgamma, dbeta};
           });
  }
  return y;
}

}  // namespace senet
