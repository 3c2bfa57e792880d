// engine/cuda/ops_table.cpp — the CudaOps table (engine/cuda/cuda_ops.h): each entry maps the
// engine's raw pointers and sizes onto the kernels' *_params launchers (kernels/*.h), allocates
// workspaces from the caching allocator, and checks every launch (SENET_CUDA_CHECK).
// Kernel choice: the FP32 implicit GEMMs of the 128×128 SIMT loop (fprop v5, or v6 split-K on small
// grids; dgrad v4, or v7 split-K on small grids, or v5 without zero taps when strided; wgrad v4
// split-K; all deterministic), or with cuda_allow_tf32() their TF32 tensor-core twins (fprop v4,
// or v8 split-K on small grids; dgrad v3, or v8, or v10's phases when strided; wgrad v3; with
// cuda_tf32_wgmma() Hopper's fprop v7 or v9, dgrad v6, v9 or v11, wgrad v5), the fused
// conv-BN-mReLU kernels (every math), and cuBLAS for linear in the GPU build. The SIMT choice rests on the static evidence (tools/gpu/sass_report.py: FFMA 49–61 % of
// the main loop against v3's 10–15 %) until a GPU day measures it (tools/gpu/gpu_day.sh).
#include <algorithm>
#include <climits>
#include <optional>

#include "engine/cuda/glue.h"
#include "engine/cuda/graph.h"
#include "engine/dist/comm.h"
#include "kernels/bn_finalize.h"
#include "kernels/bn_stats.h"
#include "kernels/conv2d_dgrad.h"
#include "kernels/conv2d_fprop.h"
#include "kernels/conv2d_fprop_act.h"
#include "kernels/conv2d_wgrad.h"
#include "kernels/conv_bn_mrelu_fwd.h"
#include "kernels/elementwise.h"
#include "kernels/global_avg_pool.h"
#include "kernels/kd_loss.h"
#include "kernels/l1.h"
#include "kernels/linear.h"
#include "kernels/mask_search.h"
#include "kernels/masked_relu.h"
#include "kernels/mrelu_bn_bwd.h"
#include "kernels/optim_update.h"
#include "kernels/pram_loss.h"
#include "kernels/reduce.h"
#include "kernels/scale_shift_mrelu.h"
#include "kernels/softmax_xent.h"
#include "kernels/straight_through.h"

namespace senet::cuda::detail {
namespace {

// The kernels index with int: sizes must fit (the checks name what did not).
int to_int(int64_t v, const char* what) {
  SENET_CHECK(v >= 0 && v <= INT_MAX, "CUDA backend: ", what, " = ", v,
              " does not fit the kernels' 32-bit index range");
  return int(v);
}

// The conv kernels take the engine's geometry as it is (one struct, kernels/conv2d_geom.h); this
// names the geometry when it is outside their limits, instead of a bare cudaErrorInvalidValue.
void check_conv_geom(const cpu::Conv2dGeom& g) {
  SENET_CHECK(conv2d_geom_valid(g), "CUDA conv2d: geometry N=", g.N, " C=", g.C, " H=", g.H,
              " W=", g.W, " K=", g.K, " R=", g.R, " S=", g.S, " stride=", g.stride, " pad=", g.pad,
              " is outside the kernels' limits (tensors below 2^31 elements)");
}

// --- element-wise and reductions

void axpby(float alpha, const float* a, float beta, const float* b, float* y, int64_t n) {
  SENET_CUDA_CHECK(axpby_launch({a, b, y, alpha, beta, n}, stream()));
}
void mul(const float* a, const float* b, float* y, int64_t n) {
  SENET_CUDA_CHECK(mul_launch({a, b, y, n}, stream()));
}
void sum(const float* x, int64_t n, float* out) {
  Scratch<double> partials(sum_partials_count(n));
  sum_params p;
  p.x = x, p.n = n, p.out = out, p.partials = partials;
  SENET_CUDA_CHECK(sum_launch(p, stream()));
}

// --- activations

void masked_relu_forward(const float* x, const uint8_t* mask, int64_t L, int64_t mask_hw, int64_t n,
                         float* y, uint32_t* bits) {
  SENET_CUDA_CHECK(masked_relu_forward_launch({x, y, bits, mask, n, L, mask_hw}, stream()));
}
void masked_relu_backward(const float* dy, const uint32_t* bits, int64_t n, float* dx) {
  SENET_CUDA_CHECK(masked_relu_backward_launch({dy, bits, dx, n}, stream()));
}
void alpha_relu_forward(const float* x, const float* alpha, float* y, int64_t N, int64_t P) {
  alpha_relu_params p;
  p.x = x, p.alpha = alpha, p.y = y, p.N = N, p.P = P;
  SENET_CUDA_CHECK(alpha_relu_forward_launch(p, stream()));
}
void alpha_relu_backward(const float* x, const float* alpha, const float* dy, float* dx,
                         float* dalpha, int64_t N, int64_t P) {
  alpha_relu_params p;
  p.x = x, p.alpha = alpha, p.dy = dy, p.dx = dx, p.dalpha = dalpha, p.N = N, p.P = P;
  SENET_CUDA_CHECK(alpha_relu_backward_launch(p, stream()));
}

// --- convolution

// The fprop kernel for the current math (engine/cuda/cuda_ops.h cuda_allow_tf32): its split-K
// version — v6 (FP32), v8 (TF32), v9 (TF32 on wgmma) — which is v5, v4 or v7 itself unless the
// grid would leave SMs idle (the one the fused forwards split like).
cudaError_t fprop(const cpu::Conv2dGeom& g, const float* x, const float* w, const float* bias,
                  float* y) {
  const conv2d_fprop_version v =
      conv2d_fprop_split_k_version(cuda_allow_tf32(), cuda_allow_tf32() && cuda_tf32_wgmma());
  const int64_t ws = conv2d_fprop_workspace_floats(v, g);
  std::optional<Scratch<float>> workspace;
  if (ws > 0) workspace.emplace(ws);
  return conv2d_fprop(v, g, x, w, bias, y, stream(), workspace ? workspace->get() : nullptr);
}

void conv2d_forward(const cpu::Conv2dGeom& g, const float* x, const float* w, const float* bias,
                    float* y) {
  check_conv_geom(g);
  SENET_CUDA_CHECK(fprop(g, x, w, bias, y));
}

// db[k] = Σ_{n,p,q} dy: per-(n,k) means over P·Q (global_avg_pool), column sums over n
// (bias_grad, fixed order), times P·Q.
void conv_bias_grad(const cpu::Conv2dGeom& g, const float* dy, float* db) {
  const int64_t PQ = g.PQ();
  Scratch<float> means(int64_t(g.N) * g.K);
  SENET_CUDA_CHECK(global_avg_pool_forward_launch({dy, means, int64_t(g.N) * g.K, PQ}, stream()));
  SENET_CUDA_CHECK(bias_grad_launch({means, db, g.N, g.K, false}, stream()));
  SENET_CUDA_CHECK(scale_launch(db, float(PQ), db, g.K, stream()));
}

// The dgrad kernel for the current math, dy or its fold dy_bn. FP32: strided convs through v5 (no
// zero taps), the others v4, or v7 (split-K) where v4's grid would leave SMs idle; TF32: v8 (v9
// on wgmma), which is v3 (v6) itself unless the grid would leave SMs idle, and v10's (v11's)
// phases when strided.
cudaError_t dgrad(const cpu::Conv2dGeom& g, const float* dy, const float* w, float* dx,
                  const conv_dy_bn& dy_bn) {
  using V = conv2d_dgrad_version;
  const V v = !cuda_allow_tf32()  ? V::v7_simt_split_k
              : cuda_tf32_wgmma() ? V::v9_tf32_wgmma_split_k
                                  : V::v8_tf32_split_k;
  const int64_t ws = conv2d_dgrad_workspace_floats(v, g);
  std::optional<Scratch<float>> workspace;
  if (ws > 0) workspace.emplace(ws);
  return conv2d_dgrad(v, g, dy, w, dx, stream(), workspace ? workspace->get() : nullptr, dy_bn);
}

// x_act (prologue fusion): wgrad reads act(scale·x + shift) instead of x (kernels/conv_input_act.h).
// dy_bn (the folded BN backward, kernels/conv_dy_bn.h): dy is null, and dgrad and wgrad compute it
// from the layer's da and y as they load it.
void conv2d_backward_act(const cpu::Conv2dGeom& g, const float* x, const conv_input_act& x_act,
                         const float* w, const float* dy, const conv_dy_bn& dy_bn, float* dx,
                         float* dw, float* db) {
  check_conv_geom(g);
  const bool tf32 = cuda_allow_tf32(), wgmma = tf32 && cuda_tf32_wgmma();
  if (dx) SENET_CUDA_CHECK(dgrad(g, dy, w, dx, dy_bn));
  if (dw) {
    Scratch<float> ws(conv2d_wgrad_v2_workspace_floats(g));  // v2 … v5 split alike
    SENET_CUDA_CHECK(wgmma ? conv2d_wgrad_v5_tf32_wgmma(g, x, dy, dw, ws, stream(), x_act, dy_bn)
                     : tf32
                         ? conv2d_wgrad_v3_tf32_split_k(g, x, dy, dw, ws, stream(), x_act, dy_bn)
                         : conv2d_wgrad_v4_simt_split_k(g, x, dy, dw, ws, stream(), x_act, dy_bn));
  }
  if (db) {
    SENET_CHECK(dy, "conv2d backward: a bias gradient needs dy itself");
    conv_bias_grad(g, dy, db);
  }
}
void conv2d_backward(const cpu::Conv2dGeom& g, const float* x, const float* w, const float* dy,
                     float* dx, float* dw, float* db) {
  conv2d_backward_act(g, x, {}, w, dy, {}, dx, dw, db);
}

// The prologue conv (kernels/conv2d_fprop_act.h) and its backward, on the current math.
void conv2d_act_forward(const cpu::Conv2dGeom& g, const float* x, const conv_input_act& x_act,
                        const float* w, const float* residual, float* y) {
  check_conv_geom(g);
  conv2d_fprop_act_params p;
  p.conv = g, p.tf32 = cuda_allow_tf32(), p.wgmma = p.tf32 && cuda_tf32_wgmma();
  Scratch<float> ws(conv2d_fprop_act_workspace_floats(p));
  SENET_CUDA_CHECK(conv2d_fprop_act(p, x, x_act, w, residual, y, ws, stream()));
}
void conv2d_act_backward(const cpu::Conv2dGeom& g, const float* x, const conv_input_act& x_act,
                         const float* w, const float* dy, float* dx, float* dw) {
  conv2d_backward_act(g, x, x_act, w, dy, {}, dx, dw, nullptr);
}

// --- BatchNorm → (+ residual) → activation

void bn_scale_shift(const CudaBnAct& p, const float* y, const bn_act_fwd_tensors& t) {
  const int N = to_int(p.N, "N"), K = to_int(p.C, "C"), PQ = to_int(p.HW, "H·W");
  to_int(p.N * p.C * p.HW, "N·C·H·W");
  SENET_CHECK(t.mean && t.invstd && t.scale && t.shift,
              "bn_scale_shift: mean, invstd, scale and shift are its outputs (all four wanted)");
  bn_finalize_params fp;
  fp.K = K, fp.eps = p.eps, fp.momentum = p.momentum;
  const bn_channel_affine out{t.mean, t.invstd, t.scale, t.shift};
  if (p.training) {
    bn_stats_params sp;
    sp.N = N, sp.K = K, sp.PQ = PQ;
    const int64_t parts = bn_stats_num_partials(sp);
    Scratch<float> part(3 * parts * K);
    const bn_partials bp{part, part + parts * K, part + 2 * parts * K};
    fp.num_partials = to_int(parts, "BN partials");
    SENET_CUDA_CHECK(bn_stats_partials(sp, y, bp, stream()));
    if (p.sync) {  // every rank's tiles, rank after rank: the whole batch's partials, merged in order
      dist::Comm& dc = dist::comm_for(1, "BatchNorm statistics");
      const int ranks = dc.size();
      Scratch<float> all(3 * parts * K * ranks);
      const bn_partials ap{all, all + parts * K * ranks, all + 2 * parts * K * ranks};
      const int64_t bytes = parts * K * int64_t(sizeof(float));
      dc.allgather(bp.count, bytes, ap.count, "BatchNorm statistics (counts)");
      dc.allgather(bp.mean, bytes, ap.mean, "BatchNorm statistics (means)");
      dc.allgather(bp.m2, bytes, ap.m2, "BatchNorm statistics (M2)");
      fp.num_partials = to_int(parts * ranks, "BN partials");
      SENET_CUDA_CHECK(
          bn_finalize_train(fp, ap, t.gamma, t.beta, t.running_mean, t.running_var, out, stream()));
    } else {
      SENET_CUDA_CHECK(
          bn_finalize_train(fp, bp, t.gamma, t.beta, t.running_mean, t.running_var, out, stream()));
    }
  } else {
    SENET_CUDA_CHECK(
        bn_finalize_eval(fp, t.gamma, t.beta, t.running_mean, t.running_var, out, stream()));
  }
}
void bn_act_forward(const CudaBnAct& p, const float* y, const bn_act_fwd_tensors& t) {
  const int N = to_int(p.N, "N"), K = to_int(p.C, "C"), PQ = to_int(p.HW, "H·W");
  std::optional<Scratch<float>> scale, shift;  // the constants, unless the caller keeps them
  bn_act_fwd_tensors s = t;
  if (!s.scale) s.scale = scale.emplace(K).get();
  if (!s.shift) s.shift = shift.emplace(K).get();
  bn_scale_shift(p, y, s);
  scale_shift_mrelu_params sp;
  sp.N = N, sp.K = K, sp.PQ = PQ, sp.act = p.act, sp.mask_per_channel = p.mask_per_channel;
  SENET_CUDA_CHECK(
      scale_shift_mrelu(sp, y, s.scale, s.shift, t.residual, t.mask, t.a, t.bits, stream()));
}

mrelu_bn_bwd_params bn_bwd_params(const CudaBnAct& p) {
  mrelu_bn_bwd_params bp;
  bp.N = to_int(p.N, "N"), bp.K = to_int(p.C, "C"), bp.PQ = to_int(p.HW, "H·W");
  bp.training = p.training;
  if (p.sync) bp.count = p.count;  // dy divides by the whole batch's count
  return bp;
}
// t: every tensor but the workspace, ws: mrelu_bn_bwd_workspace_floats floats. t.y_act recomputes
// the pass bits from y. t.dy null: the folded BN backward — stops after the per-channel constants
// (in ws) and returns dy as dgrad's and wgrad's prologue.
conv_dy_bn bn_act_backward_t(const CudaBnAct& p, mrelu_bn_bwd_tensors t, float* ws) {
  const mrelu_bn_bwd_params bp = bn_bwd_params(p);
  t.workspace = ws;
  SENET_CUDA_CHECK(mrelu_bn_bwd_reduce(bp, t, stream()));
  const float* dbeta = t.dbeta;
  const float* dgamma = t.dgamma;
  std::optional<Scratch<float>> sums;  // [dβ | dγ] of every rank
  if (p.sync) {
    // Statistics over every rank: dy needs the whole batch's Σdz, Σdz·x̂; dγ, dβ stay this rank's.
    float* s = sums.emplace(2 * p.C).get();
    const size_t bytes = size_t(p.C) * sizeof(float);
    SENET_CUDA_CHECK(cudaMemcpyAsync(s, t.dbeta, bytes, cudaMemcpyDeviceToDevice, stream()));
    SENET_CUDA_CHECK(cudaMemcpyAsync(s + p.C, t.dgamma, bytes, cudaMemcpyDeviceToDevice, stream()));
    dist::comm_for(1, "BatchNorm gradient sums")
        .allreduce_sum(s, 2 * p.C, "BatchNorm gradient sums");
    dbeta = s, dgamma = s + p.C;
  }
  if (t.dy) {
    SENET_CUDA_CHECK(mrelu_bn_bwd_apply(bp, t, dbeta, dgamma, stream()));
    return {};
  }
  SENET_CUDA_CHECK(mrelu_bn_bwd_coefficients(bp, t, dbeta, dgamma, stream()));
  return mrelu_bn_bwd_folded_dy(bp, t);
}
void bn_act_backward(const CudaBnAct& p, const mrelu_bn_bwd_tensors& t) {
  SENET_CHECK(t.dy && !t.workspace,
              "bn_act: dy is its output (wanted), the workspace the table's (leave it null)");
  SENET_CHECK(!p.sync || !t.y_act.active(),
              "bn_act: pass bits recomputed from y with BN statistics over several ranks");
  SENET_CHECK(!(t.y_act.active() && t.dresidual),
              "bn_act: pass bits recomputed from y for a BN with a residual");
  Scratch<float> ws(mrelu_bn_bwd_workspace_floats(bn_bwd_params(p)));
  bn_act_backward_t(p, t, ws);
}

// --- fused conv → BN → activation

conv_bn_mrelu_fwd_params fused_params(const cpu::Conv2dGeom& g, const CudaBnAct& p) {
  check_conv_geom(g);
  conv_bn_mrelu_fwd_params fp;
  fp.conv = g;
  fp.act = p.act;
  fp.mask_per_channel = p.mask_per_channel;
  fp.eps = p.eps;
  fp.momentum = p.momentum;
  fp.tf32 = cuda_allow_tf32();
  fp.wgmma = fp.tf32 && cuda_tf32_wgmma();
  return fp;
}

void conv_bn_act_forward(const cpu::Conv2dGeom& g, const CudaBnAct& p,
                         const conv_bn_mrelu_fwd_tensors& in) {
  SENET_CHECK(!in.workspace, "conv_bn_act: the workspace is the table's scratch (leave it null)");
  const conv_bn_mrelu_fwd_params fp = fused_params(g, p);
  // Running statistics, or statistics over several ranks (their partials are gathered between the
  // conv and the finalize): the conv, then bn_act_forward.
  if (!p.training || p.sync) {
    SENET_CHECK(!in.x_act.active() && !in.lazy,
                "conv_bn_act: prologue fusion is for training statistics on one process");
    SENET_CUDA_CHECK(fprop(fp.conv, in.x, in.w, nullptr, in.y));
    bn_act_forward(p, in.y, in);  // the BN half of the fused layer's tensors
    return;
  }
  Scratch<float> scale(g.K), shift(g.K), ws(conv_bn_mrelu_fwd_workspace_floats(fp.conv, fp.tf32));
  conv_bn_mrelu_fwd_tensors t = in;
  if (!t.scale) t.scale = scale, t.shift = shift;  // wanted by the caller (prologue fusion) or not
  t.workspace = ws;
  SENET_CUDA_CHECK(conv_bn_mrelu_fwd_train(fp, t, stream()));
}

void bn_fold(const cpu::Conv2dGeom& g, float eps, const float* w, const float* gamma,
             const float* beta, const float* running_mean, const float* running_var,
             float* w_folded, float* b_folded) {
  SENET_CUDA_CHECK(conv_bn_fold(g, eps, w, gamma, beta, running_mean, running_var, w_folded,
                                b_folded, stream()));
}
void conv_bn_act_infer(const cpu::Conv2dGeom& g, const CudaBnAct& p, const float* x,
                       const float* w_folded, const float* b_folded, const uint8_t* mask,
                       const float* residual, float* a) {
  SENET_CUDA_CHECK(
      conv_bn_mrelu_infer(fused_params(g, p), x, w_folded, b_folded, mask, a, stream(), residual));
}

// Prologue fusion (t.x_act, t.y_act; one process only): the BN backward recomputes its pass bits
// from y (y_act), wgrad applies the previous layer's activation to x as it loads it (x_act).
// With cuda_fold_bn_backward(), where dz is a function of da and y alone (no stored bits:
// recomputed, or no activation; no residual to hand dz to), the BN backward is folded into dgrad
// and wgrad (kernels/conv_dy_bn.h): no dy tensor, one memory pass fewer.
void conv_bn_act_backward(const cpu::Conv2dGeom& g, const CudaBnAct& p,
                          const conv_bn_mrelu_bwd_tensors& t) {
  SENET_CHECK(!t.dy && !t.workspace,
              "conv_bn_act: dy and the workspace are the table's scratch (leave them null)");
  SENET_CHECK(!p.sync || (!t.x_act.active() && !t.y_act.active()),
              "conv_bn_act: prologue fusion with BN statistics over several ranks");
  SENET_CHECK(!(t.y_act.active() && t.dresidual),
              "conv_bn_act: pass bits recomputed from y for a layer with a residual");
  SENET_CHECK(t.bits || t.y_act.active() || p.act == Act::None,
              "conv_bn_act: an activation's backward needs its pass bits, stored or recomputed");
  const bool fold = !t.bits && !t.dresidual && cuda_fold_bn_backward();
  Scratch<float> ws(mrelu_bn_bwd_workspace_floats(bn_bwd_params(p)));
  std::optional<Scratch<float>> dy;  // none when folded
  if (!fold) dy.emplace(int64_t(g.N) * g.K * g.PQ());
  mrelu_bn_bwd_tensors bt = t;  // the BN half, into the scratch dy (none when folded)
  bt.dy = dy ? dy->get() : nullptr;
  const conv_dy_bn dy_bn = bn_act_backward_t(p, bt, ws);
  conv2d_backward_act(g, t.x, t.x_act, t.w, bt.dy, dy_bn, t.dx, t.dw, nullptr);
}

// --- pooling, linear

void gap_forward(const float* x, float* y, int64_t NC, int64_t HW) {
  SENET_CUDA_CHECK(global_avg_pool_forward_launch({x, y, NC, HW}, stream()));
}
void gap_backward(const float* dy, float* dx, int64_t NC, int64_t HW) {
  SENET_CUDA_CHECK(global_avg_pool_backward_launch({dy, dx, NC, HW}, stream()));
}
void linear_forward(const float* x, const float* w, const float* b, float* y, int64_t N, int64_t F,
                    int64_t O) {
  linear_params p;
  p.x = x, p.w = w, p.b = b, p.y = y;
  p.N = to_int(N, "linear N"), p.F = to_int(F, "linear F"), p.O = to_int(O, "linear O");
  SENET_CUDA_CHECK(linear_forward_launch(p, stream()));
}
void linear_backward(const float* dy, const float* x, const float* w, float* dx, float* dw,
                     float* db, int64_t N, int64_t F, int64_t O) {
  linear_params p;
  p.x = x, p.w = w, p.dy = dy, p.dx = dx, p.dw = dw, p.db = db;
  p.N = to_int(N, "linear N"), p.F = to_int(F, "linear F"), p.O = to_int(O, "linear O");
  SENET_CUDA_CHECK(linear_backward_launch(p, stream()));
}

// --- losses

int64_t softmax_xent_forward(const float* logits, const int32_t* labels, int64_t N, int64_t K,
                             float* probs, float* loss, bool check_labels) {
  Scratch<float> row_loss(N);
  Scratch<uint32_t> bad_row(1);
  softmax_xent_params p;
  p.logits = logits, p.labels = labels, p.N = N, p.K = K, p.probs = probs, p.row_loss = row_loss;
  p.loss = loss, p.bad_row = bad_row, p.check_labels = check_labels;
  int64_t bad = -1;
  const cudaError_t e = softmax_xent_forward_launch(p, stream(), &bad);
  if (e == cudaErrorInvalidValue && bad >= 0) return bad;
  SENET_CUDA_CHECK(e);
  return -1;
}
void softmax_xent_backward(const float* probs, const int32_t* labels, int64_t N, int64_t K,
                           const float* grad_loss, float scale, float* dz) {
  SENET_CUDA_CHECK(
      softmax_xent_backward_launch({probs, labels, N, K, grad_loss, scale, dz}, stream()));
}
void kd_forward(const float* zs, const float* zt, int64_t N, int64_t K, float T, float* ps,
                float* pt, float* loss) {
  Scratch<float> row_kl(N);
  SENET_CUDA_CHECK(kd_forward_launch({zs, zt, N, K, T, ps, pt, row_kl, loss}, stream()));
}
void kd_backward(const float* ps, const float* pt, int64_t N, int64_t K, float T,
                 const float* grad_loss, float scale, float* dzs) {
  SENET_CUDA_CHECK(kd_backward_launch({ps, pt, N, K, T, grad_loss, scale, dzs}, stream()));
}
void pram_forward(const float* a_s, const float* a_t, int64_t B, int64_t C, int64_t HW, float* qs,
                  float* qt, float* norm_s, float* norm_t, float* loss) {
  Scratch<float> row_dist(B);
  SENET_CUDA_CHECK(
      pram_forward_launch({a_s, a_t, B, C, HW, qs, qt, norm_s, norm_t, row_dist, loss}, stream()));
}
void pram_backward(const float* a_s, const float* qs, const float* norm_s, const float* qt,
                   int64_t B, int64_t C, int64_t HW, const float* grad_loss, float scale,
                   float* da) {
  Scratch<float> dq(B * HW);
  SENET_CUDA_CHECK(
      pram_backward_launch({a_s, qs, norm_s, qt, B, C, HW, grad_loss, scale, dq, da}, stream()));
}
void l1_forward(const float* x, int64_t n, float* loss) {
  Scratch<double> partials(sum_partials_count(n));
  SENET_CUDA_CHECK(l1_forward_launch({x, n, loss, nullptr, partials}, stream()));
}
void l1_backward(const float* x, const float* grad_loss, float scale, float* dx, int64_t n) {
  SENET_CUDA_CHECK(l1_backward_launch({x, grad_loss, scale, dx, n}, stream()));
}
int64_t count_correct(const float* logits, const int32_t* labels, int64_t N, int64_t K) {
  Scratch<int> correct(1);
  SENET_CUDA_CHECK(count_correct_launch({logits, labels, N, K, correct}, stream()));
  int host = 0;
  SENET_CUDA_CHECK(
      cudaMemcpyAsync(&host, correct.get(), sizeof host, cudaMemcpyDeviceToHost, stream()));
  SENET_CUDA_CHECK(cudaStreamSynchronize(stream()));
  return host;
}
void count_correct_add(const float* logits, const int32_t* labels, int64_t N, int64_t K,
                       int32_t* counter) {
  count_correct_params p{logits, labels, N, K, counter};
  p.accumulate = true;
  SENET_CUDA_CHECK(count_correct_launch(p, stream()));
}

// --- optimizers

// Lists longer than one launch holds go in groups of kOptimMultiMaxTensors, in order.
void sgd_update_multi(const CudaOptimTensor* t, size_t count, const cpu::SgdUpdate& u,
                      const float* device_scalars) {
  for (size_t first = 0; first < count; first += kOptimMultiMaxTensors) {
    sgd_update_multi_params q;
    q.count = int(std::min<size_t>(count - first, kOptimMultiMaxTensors));
    q.lr = u.lr, q.momentum = u.momentum, q.dampening = u.dampening, q.nesterov = u.nesterov;
    q.device_scalars = device_scalars;
    for (int i = 0; i < q.count; ++i) {
      const CudaOptimTensor& x = t[first + size_t(i)];
      q.t[i] = sgd_tensor{x.p, x.g, x.s0, x.n, x.weight_decay, x.first};
    }
    SENET_CUDA_CHECK(sgd_update_multi_launch(q, stream()));
  }
}
void adam_update_multi(const CudaOptimTensor* t, size_t count, const cpu::AdamUpdate& u,
                       const float* device_scalars) {
  for (size_t first = 0; first < count; first += kOptimMultiMaxTensors) {
    adam_update_multi_params q;
    q.count = int(std::min<size_t>(count - first, kOptimMultiMaxTensors));
    q.lr = u.lr, q.beta1 = u.beta1, q.beta2 = u.beta2, q.eps = u.eps, q.decoupled = u.decoupled;
    q.device_scalars = device_scalars;
    for (int i = 0; i < q.count; ++i) {
      const CudaOptimTensor& x = t[first + size_t(i)];
      q.t[i] = adam_tensor{
          x.p, x.g, x.s0, x.s1, x.n, x.weight_decay, x.bias_correction1, x.bias_correction2};
    }
    SENET_CUDA_CHECK(adam_update_multi_launch(q, stream()));
  }
}

// --- graphs

void* graph_record(const char* name, const std::function<void()>& record) {
  return new Graph(name, record);
}
void graph_replay(void* graph) { static_cast<Graph*>(graph)->replay(); }
void graph_destroy(void* graph) { delete static_cast<Graph*>(graph); }

// --- mask search

void mask_accumulate(const float* a_t, const float* a_s, float* D, int64_t B, int64_t L) {
  SENET_CUDA_CHECK(mask_accumulate_absdiff_launch({a_t, a_s, D, B, L}, stream()));
}
void channel_scores(const float* D, float* scores, int64_t C, int64_t HW) {
  SENET_CUDA_CHECK(channel_scores_launch({D, scores, C, HW}, stream()));
}
void topk_mask(const float* scores, int64_t n, int64_t k, uint8_t* mask) {
  const size_t bytes = topk_mask_workspace_bytes(n);
  Scratch<unsigned char> ws{int64_t(bytes)};
  topk_mask_params p;
  p.scores = scores, p.n = n, p.k = k, p.mask = mask, p.workspace = ws.get();
  p.workspace_bytes = bytes;
  SENET_CUDA_CHECK(topk_mask_launch(p, stream()));
}
void straight_through_forward(const float* s, int64_t n, int64_t k, uint8_t* mask, float* y) {
  const size_t bytes = topk_mask_workspace_bytes(n);
  Scratch<unsigned char> ws{int64_t(bytes)};
  straight_through_params p;
  p.s = s, p.n = n, p.k = k, p.mask = mask, p.y = y, p.workspace = ws.get();
  p.workspace_bytes = bytes;
  SENET_CUDA_CHECK(straight_through_forward_launch(p, stream()));
}
void straight_through_backward(const float* s, const float* dy, float* ds, int64_t n) {
  straight_through_params p;
  p.s = s, p.n = n, p.dy = dy, p.ds = ds;
  SENET_CUDA_CHECK(straight_through_backward_launch(p, stream()));
}

}  // namespace

CudaOps make_ops_table() {
  CudaOps o{};
  o.axpby = axpby;
  o.mul = mul;
  o.sum = sum;
  o.masked_relu_forward = masked_relu_forward;
  o.masked_relu_backward = masked_relu_backward;
  o.alpha_relu_forward = alpha_relu_forward;
  o.alpha_relu_backward = alpha_relu_backward;
  o.conv2d_forward = conv2d_forward;
  o.conv2d_backward = conv2d_backward;
  o.bn_act_forward = bn_act_forward;
  o.conv2d_act_forward = conv2d_act_forward;
  o.conv2d_act_backward = conv2d_act_backward;
  o.bn_act_backward = bn_act_backward;
  o.bn_scale_shift = bn_scale_shift;
  o.conv_bn_act_forward = conv_bn_act_forward;
  o.conv_bn_fold = bn_fold;
  o.conv_bn_act_infer = conv_bn_act_infer;
  o.conv_bn_act_backward = conv_bn_act_backward;
  o.global_avg_pool_forward = gap_forward;
  o.global_avg_pool_backward = gap_backward;
  o.linear_forward = linear_forward;
  o.linear_backward = linear_backward;
  o.softmax_xent_forward = softmax_xent_forward;
  o.softmax_xent_backward = softmax_xent_backward;
  o.kd_forward = kd_forward;
  o.kd_backward = kd_backward;
  o.pram_forward = pram_forward;
  o.pram_backward = pram_backward;
  o.l1_forward = l1_forward;
  o.l1_backward = l1_backward;
  o.count_correct = count_correct;
  o.count_correct_add = count_correct_add;
  o.sgd_update_multi = sgd_update_multi;
  o.adam_update_multi = adam_update_multi;
  o.mask_accumulate = mask_accumulate;
  o.channel_scores = channel_scores;
  o.topk_mask = topk_mask;
  o.straight_through_forward = straight_through_forward;
  o.straight_through_backward = straight_through_backward;
  o.graph_record = graph_record;
  o.graph_replay = graph_replay;
  o.graph_destroy = graph_destroy;
  o.readback_create = readback_create;
  o.readback_enqueue = readback_enqueue;
  o.readback_poll = readback_poll;
  o.readback_destroy = readback_destroy;
  return o;
}

}  // namespace senet::cuda::detail
