// engine/cuda/cuda_ops.h — the table of device operations the engine's ops call for CUDA tensors.
// Host C++ only (no CUDA header): senet_ops and senet_optim are built once and never link kernels.
// The CUDA glue (engine/cuda/*.cpp, built as senet_cuda_emu and senet_cuda_gpu) fills the table in
// senet::cuda::init(); until then cuda_ops() is null and a CUDA tensor reaching an op is an error.
// Rules of every entry:
//   * raw device pointers and plain integers; layouts are the engine's (NCHW, row-major, f32);
//   * every call is enqueued on the backend's one stream, in program order, so buffers may be
//     freed (returned to the caching allocator) as soon as the op that uses them has been called;
//   * a failing launch throws senet::Error naming file, line and the failing call (SENET_CUDA_CHECK);
//   * outputs are overwritten; a null output pointer means "not wanted" where the entry says so;
//   * scalar losses are written to a device float; their backward takes the upstream gradient as a
//     device scalar `grad_loss` (null: 1) times a host `scale`, so no host round trip is needed.
// Parameter structs are the CPU backend's (engine/cpu/conv2d.h, optim_update.h; header-only), so
// both backends take exactly the same numbers; the conv geometry and the activation kind are the
// kernels' own types (kernels/conv2d_geom.h, kernels/act.h), and so are the fused layer's tensor
// structs (kernels/conv_bn_mrelu_tensors.h), handed to the launchers unchanged.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>

#include "engine/cpu/conv2d.h"
#include "engine/cpu/optim_update.h"
#include "kernels/act.h"
#include "kernels/conv_bn_mrelu_tensors.h"

namespace senet {

// BatchNorm (per channel over N×C×HW, M = N·HW) → (+ residual) → activation.
struct CudaBnAct {
  int64_t N = 0, C = 0, HW = 0;
  float eps = 1e-5f, momentum = 0.1f;
  bool training = true;           // batch statistics (running stats updated) vs running stats
  Act act = Act::None;            // MaskedReLU needs the mask argument of the entry
  bool mask_per_channel = false;  // masked ReLU: mask of C bytes, else C·HW bytes (per image)
  // Data-parallel BN (engine/dist/sync_bn.h): training statistics and the backward's dβ, dγ sums
  // span every rank (through dist::device_world()); count = the whole batch's N·HW.
  bool sync = false;
  int64_t count = 0;
};

// One parameter tensor of an optimizer step on the device (engine/optim): its pointers and the
// scalars that differ per tensor.
struct CudaOptimTensor {
  float* p = nullptr;
  const float* g = nullptr;
  float* s0 = nullptr;  // SGD: the momentum buffer (null when momentum == 0); Adam: exp_avg
  float* s1 = nullptr;  // Adam: exp_avg_sq
  int64_t n = 0;
  float weight_decay = 0;
  bool first = false;                                // SGD: the buffer's first step
  float bias_correction1 = 1, bias_correction2 = 1;  // Adam: 1 − β₁ᵗ, 1 − β₂ᵗ at its step t
};

struct CudaOps {
  const char* device_name = "";  // e.g. "NVIDIA H100 80GB HBM3" or "CUDA emulated on the CPU"
  bool emulated = false;

  // --- element-wise and reductions
  void (*axpby)(float alpha, const float* a, float beta, const float* b, float* y, int64_t n);
  void (*mul)(const float* a, const float* b, float* y, int64_t n);
  void (*sum)(const float* x, int64_t n, float* out);  // out[0] = Σx (double accumulation)

  // --- activations. bits: the pass bits, (n+31)/32 uint32 words (kernels/kernel_params.h); the
  // mask is null (plain ReLU), L bytes per image (mask_hw = 0) or per channel (mask_hw = H·W).
  void (*masked_relu_forward)(const float* x, const uint8_t* mask, int64_t L, int64_t mask_hw,
                              int64_t n, float* y, uint32_t* bits /*may be null*/);
  void (*masked_relu_backward)(const float* dy, const uint32_t* bits, int64_t n, float* dx);
  void (*alpha_relu_forward)(const float* x, const float* alpha, float* y, int64_t N, int64_t P);
  void (*alpha_relu_backward)(const float* x, const float* alpha, const float* dy, float* dx,
                              float* dalpha, int64_t N, int64_t P);  // dx, dalpha may be null

  // --- convolution (bias may be null; backward: dx, dw, db may be null)
  void (*conv2d_forward)(const cpu::Conv2dGeom& g, const float* x, const float* w,
                         const float* bias, float* y);
  void (*conv2d_backward)(const cpu::Conv2dGeom& g, const float* x, const float* w, const float* dy,
                          float* dx, float* dw, float* db);
  // A conv whose input is act(scale·x + shift) of the previous BN (x_act, active; one process),
  // + residual (may be null): the pre-activation block's convs (kernels/conv2d_fprop_act.h). Its
  // backward: dx = dgrad(dy, w) (the gradient of the activation: the BN backward is the caller's),
  // dw = wgrad(act(scale·x + shift), dy); dx or dw may be null.
  void (*conv2d_act_forward)(const cpu::Conv2dGeom& g, const float* x, const conv_input_act& x_act,
                             const float* w, const float* residual, float* y);
  void (*conv2d_act_backward)(const cpu::Conv2dGeom& g, const float* x, const conv_input_act& x_act,
                              const float* w, const float* dy, float* dx, float* dw);

  // --- BN → (+ residual) → act, on y; the tensors are the kernels' own structs, the BN halves of
  // the fused layer's (kernels/conv_bn_mrelu_tensors.h). Forward writes t.a, the saved t.mean and
  // t.invstd (C each; running stats in eval), t.bits (null when no backward or no activation) and
  // updates the running stats in training; t.scale, t.shift: written when given (else scratch).
  void (*bn_act_forward)(const CudaBnAct& p, const float* y, const bn_act_fwd_tensors& t);
  // Backward: dz = da ⊙ p, dβ = Σdz, dγ = Σdz·x̂, t.dy, t.dresidual (= dz, may be null); t.workspace
  // is the table's scratch: leave it null. t.bits null with t.y_act active: the pass bits
  // recomputed from y (y_act: this BN's own scale, shift, mask and act; no residual), as
  // conv_bn_act_backward does.
  void (*bn_act_backward)(const CudaBnAct& p, const mrelu_bn_bwd_tensors& t);
  // Its statistics alone, for a next conv that applies the activation as it loads y (x_act): μ,
  // 1/σ and scale = γ/σ, shift = β − μ·scale (t.mean, t.invstd, t.scale, t.shift: C each), running
  // stats updated in training (t.a, t.bits, t.mask, t.residual are not read).
  void (*bn_scale_shift)(const CudaBnAct& p, const float* y, const bn_act_fwd_tensors& t);

  // --- fused conv → BN → (+ residual) → act (p.N, p.C, p.HW describe the conv OUTPUT: N, K, P·Q).
  // forward: y = conv(x, w) saved, then as bn_act_forward (training: the fused conv + BN-partials
  // epilogue; eval: conv, then the running-stats affine map).
  // The tensors are the kernels' own structs (kernels/conv_bn_mrelu_tensors.h); the table allocates
  // the scratch (t.workspace: leave it null; t.scale, t.shift too unless the caller keeps them).
  // t.bits null: no backward. Prologue fusion (training, one process): t.x_act applies the
  // previous layer's activation to x as it is loaded; t.lazy writes no activation (then give
  // t.scale, t.shift: the next layer's x_act).
  void (*conv_bn_act_forward)(const cpu::Conv2dGeom& g, const CudaBnAct& p,
                              const conv_bn_mrelu_fwd_tensors& t);
  // eval without gradients: BN folded into the conv — w' = w·s, b' = β − μ·s, s = γ/√(var + ε),
  // computed by conv_bn_fold and kept by the engine until the weights change
  // (engine/ops/conv_bn_fold_cache.h) — then one conv kernel with b', the residual (may be null)
  // and the activation in its epilogue.
  void (*conv_bn_fold)(const cpu::Conv2dGeom& g, float eps, const float* w, const float* gamma,
                       const float* beta, const float* running_mean, const float* running_var,
                       float* w_folded, float* b_folded);
  void (*conv_bn_act_infer)(const cpu::Conv2dGeom& g, const CudaBnAct& p, const float* x,
                            const float* w_folded, const float* b_folded, const uint8_t* mask,
                            const float* residual, float* a);
  // backward: BN/act backward into a scratch dy, then dx = dgrad(dy, w), dw = wgrad(x, dy)
  // (t.dx, t.dw may be null); dγ, dβ always written. Scratch (t.dy, t.workspace) is the table's:
  // leave them null. t.bits null: no activation, unless t.y_act recomputes the pass bits from y;
  // t.x_act: wgrad reads act(scale·x + shift) (prologue fusion; one process only).
  void (*conv_bn_act_backward)(const cpu::Conv2dGeom& g, const CudaBnAct& p,
                               const conv_bn_mrelu_bwd_tensors& t);

  // --- pooling and the fully connected layer (y = x·wᵀ + b; b, dx, dw, db may be null)
  void (*global_avg_pool_forward)(const float* x, float* y, int64_t NC, int64_t HW);
  void (*global_avg_pool_backward)(const float* dy, float* dx, int64_t NC, int64_t HW);
  void (*linear_forward)(const float* x, const float* w, const float* b, float* y, int64_t N,
                         int64_t F, int64_t O);
  void (*linear_backward)(const float* dy, const float* x, const float* w, float* dx, float* dw,
                          float* db, int64_t N, int64_t F, int64_t O);

  // --- losses. softmax_xent_forward returns the lowest row whose label is outside [0, K), or −1
  // (with check_labels it waits for the device: the op turns a bad label into a clear error;
  // without, the caller checked the labels on the host and nothing waits).
  int64_t (*softmax_xent_forward)(const float* logits, const int32_t* labels, int64_t N, int64_t K,
                                  float* probs, float* loss, bool check_labels);
  void (*softmax_xent_backward)(const float* probs, const int32_t* labels, int64_t N, int64_t K,
                                const float* grad_loss, float scale, float* dz);
  void (*kd_forward)(const float* zs, const float* zt, int64_t N, int64_t K, float T, float* ps,
                     float* pt, float* loss);
  void (*kd_backward)(const float* ps, const float* pt, int64_t N, int64_t K, float T,
                      const float* grad_loss, float scale, float* dzs);
  void (*pram_forward)(const float* a_s, const float* a_t, int64_t B, int64_t C, int64_t HW,
                       float* qs, float* qt, float* norm_s, float* norm_t, float* loss);
  void (*pram_backward)(const float* a_s, const float* qs, const float* norm_s, const float* qt,
                        int64_t B, int64_t C, int64_t HW, const float* grad_loss, float scale,
                        float* da);
  void (*l1_forward)(const float* x, int64_t n, float* loss);
  void (*l1_backward)(const float* x, const float* grad_loss, float scale, float* dx, int64_t n);
  int64_t (*count_correct)(const float* logits, const int32_t* labels, int64_t N, int64_t K);
  // *counter (one device int) += the count; no host wait.
  void (*count_correct_add)(const float* logits, const int32_t* labels, int64_t N, int64_t K,
                            int32_t* counter);

  // --- optimizer updates (in place), every parameter tensor of a step in one call: one launch
  // per 64 tensors (kernels/optim_update.h, v2). `u` holds the scalars all tensors share (lr,
  // momentum, dampening, Nesterov; lr, β₁, β₂, ε, decoupled); each tensor brings its own weight
  // decay and step (SGD: `first`; Adam: bias corrections), so u's per-tensor fields are ignored.
  // device_scalars (may be null): device memory holding η (Adam: η, bc1, bc2) for this step,
  // replacing u.lr and the tensors' bias corrections (a step recorded in a CUDA graph).
  void (*sgd_update_multi)(const CudaOptimTensor* t, size_t count, const cpu::SgdUpdate& u,
                           const float* device_scalars);
  void (*adam_update_multi)(const CudaOptimTensor* t, size_t count, const cpu::AdamUpdate& u,
                            const float* device_scalars);

  // --- SENet mask search: D[l] += Σ_b |a_t − a_s| (a: B×L); scores[c] = Σ_hw D[c,hw];
  // mask = exactly k ones at the k largest scores (ties → lower index), n bytes.
  void (*mask_accumulate)(const float* a_t, const float* a_s, float* D, int64_t B, int64_t L);
  void (*channel_scores)(const float* D, float* scores, int64_t C, int64_t HW);
  void (*topk_mask)(const float* scores, int64_t n, int64_t k, uint8_t* mask);
  // A learned site's mask (kernels/straight_through.h): mask = exactly k ones at the k largest
  // |s| (ties → lower index), y = mask as 0/1 floats; backward ds = dy·sign(s) (may alias dy).
  void (*straight_through_forward)(const float* s, int64_t n, int64_t k, uint8_t* mask, float* y);
  void (*straight_through_backward)(const float* s, const float* dy, float* ds, int64_t n);

  // --- CUDA graphs (engine/cuda/graph.h) for library code that does not link the glue
  // (senet/epoch_loop.cpp): graph_record returns an owning handle to a cuda::Graph (throws as its
  // constructor does), graph_replay launches it, graph_destroy deletes it.
  void* (*graph_record)(const char* name, const std::function<void()>& record);
  void (*graph_replay)(void* graph);
  void (*graph_destroy)(void* graph);

  // --- device → host reads without a host wait (engine/cuda/readback.cpp; wrapped by
  // engine/ops/async_readback.h): a page-locked mirror of up to `bytes`; enqueue copies src into it
  // after everything enqueued so far (never inside a graph recording); poll returns the mirror
  // once that copy has landed (once per copy), else null — it never waits. Enqueue only after a
  // poll saw the previous copy land or before any: the mirror is then never read while written.
  void* (*readback_create)(size_t bytes);
  void (*readback_enqueue)(void* readback, const void* src, size_t bytes);
  const void* (*readback_poll)(void* readback);
  void (*readback_destroy)(void* readback);
};

// The registered table, or null when no CUDA backend is registered in this process.
const CudaOps* cuda_ops();
void register_cuda_ops(const CudaOps& ops);

// A binary that links a CUDA glue library can install its initializer (e.g. senet::cuda::init),
// so that library code asked for device "cuda" (senet/trainer.cpp parse_device) can bring the
// backend up lazily without linking the glue itself. init_cuda_backend() runs it once if the CUDA
// device has no backend yet; returns whether the device is available afterwards.
void set_cuda_initializer(void (*init)());
bool init_cuda_backend();

// The math of the CUDA convolutions (conv2d, the fused conv-BN-act; forward and backward), like
// PyTorch's torch.backends.cudnn.allow_tf32: false (the default here) runs the FP32 kernels, true
// the TF32 tensor-core kernels (kernels/implicit_gemm_mma.cuh: operands rounded to TF32, sums in
// fp32, ~3e-4 relative). Read at every call; the CPU backend always computes in FP32.
void set_cuda_allow_tf32(bool on);
bool cuda_allow_tf32();

// With allow_tf32: whether the TF32 convolutions run Hopper's warpgroup MMA (wgmma: conv2d_fprop
// v9, conv2d_dgrad v9 — v7 and v6 split on small grids; v11's phases when strided —, conv2d_wgrad
// v5 and the fused conv-BN on their tiles) where it can run (kernels/wgmma_available.h: sm_90a
// code on an sm_90 device; always under the emulation), instead of the mma.sync kernels (fprop v8,
// dgrad v8 — v4 and v3 split on small grids; v10's phases when strided —, wgrad v3). Each falls back to its mma.sync twin where wgmma does not apply. The static estimate favours wgmma (fewer main-loop instructions
// for the same products: kernels/README.md, step 18), but no GPU has timed it yet, so false by
// default until one does (tools/gpu/gpu_day.sh times both). The same math: bitwise equal on small
// integers, within the TF32 bound of each other on other data (the tensor cores' sum order).
void set_cuda_tf32_wgmma(bool on);
bool cuda_tf32_wgmma();

// Whether a fused conv-BN-act layer's backward folds the BN backward into dgrad and wgrad where
// it can (no stored pass bits, no residual: kernels/conv_dy_bn.h) — one memory pass and the dy
// buffer fewer, for ~10 % more main-loop instructions in dgrad and ~7 % in wgrad
// (tools/gpu/sass_report.py). The static estimate (kernels/README.md, step 9) has the extra
// instructions costing more than the pass saves on an H100/H200-class GPU, so false by default
// until a GPU measures it (tools/gpu/gpu_day.sh times both). The results are bitwise the same
// either way.
void set_cuda_fold_bn_backward(bool on);
bool cuda_fold_bn_backward();

}  // namespace senet
