// senet/distill.h — the student–teacher loop of SENet stages 2 and 3 (docs/method.md).
// Per batch: the frozen teacher (eval mode, no grad) and the student run on the same images, both
// capturing their post-ReLU activations A at every site; the student minimises
//     L = w_ce·CE(zˢ, y) + w_kd·KD_T(zˢ, zᵀ) + w_pram·Σ_g PRAM(Aˢ_g, Aᵀ_g)
// with SGD. Stage 2 (search_masks): per site D_l[c,h,w] += Σ_batch |Aᵀ − Aˢ| (no gradient), and at
// each epoch end the mask becomes the exact top-r_l of D_l (channel-wise: top channels of Σ_hw D_l),
// then the student is validated with its new mask. With sites in Learned mode (straight-through
// scores, engine/nn/layers.h) the scores train with the weights instead (no weight decay on them).
// The student's BN running statistics were gathered under the previous mask, so with
// bn_recompute_batches > 0 they are recomputed under the new one before that validation
// (senet/bn_recalibration.h). With settle_epochs > 0, stage 2 ends with that many epochs of the
// same loss on the best searched mask, masks frozen. Each search epoch's metrics line has the new
// mask's overlap with the previous and the initial mask (fractions of its ReLUs) and the overlap
// two random masks of the same counts would have.
// Stage 3: masks frozen.
// Dynamic channel reduction (a student with model.width_factors, models/width_switch.h): each
// batch runs the student at every factor in turn (the teacher once, at full width), each factor's
// loss is back-propagated into the shared weights and its own BN set, and one optimizer step
// follows (slimmable-network training; the losses are summed). PRAM at factor s compares the
// student's ⌊s·C⌋ channels with the teacher's first ⌊s·C⌋ channels of the same site. The epoch's
// validation score, which picks the best epoch, is the mean validation accuracy over the factors.
// The mask search (search_masks) needs a plain student.
// The best validation accuracy's weights and masks are kept (dir/best.safetensors) and loaded into
// the student at the end; dir/last.safetensors after every epoch lets an interrupted stage resume
// (senet/run_dir.h). The loop is senet/epoch_loop.h: metrics.jsonl has the terms ce, kd, pram (as
// weighted in L) per epoch and their gradient norms and cosines on the epoch's first batch.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "senet/masks.h"
#include "senet/trainer.h"

namespace senet {

struct DistillConfig {
  std::string stage = "finetune";  // names the stage in logs and metrics
  int epochs = 1;
  OptimConfig optim;
  float w_ce = 0.1f, w_kd = 0.9f, w_pram = 1000.f, temperature = 4.f;
  std::vector<size_t> pram_sites;  // indices into model.sites()
  bool search_masks = false;
  Granularity granularity = Granularity::Pixel;
  std::vector<int64_t> counts;  // ReLUs per counted site (stage 2)
  // Stage 2: BN running statistics recomputed over this many training batches after each mask
  // switch, before the validation that picks the best epoch (senet/bn_recalibration.h; 0: off).
  int64_t bn_recompute_batches = 0;
  // Stage 2: after the search epochs, this many epochs on the best searched mask, masks frozen
  // (the weights learn the mask the search chose; the best epoch is picked over all epochs).
  int settle_epochs = 0;
};

struct DistillResult {
  double best_val = -1;
  int best_epoch = 0;
  int epochs_run = 0;
  EvalResult val, test;
};

// w_ce·CE(zˢ, y) + w_kd·KD_T(zˢ, zᵀ): the distillation loss both SENet's stages and SNL start from,
// and its two terms as weighted in it (kd undefined when w_kd = 0). host_labels: y on the host (the
// batch's), checked there, so that a CUDA step need not wait for the loss's own label check (and
// can be recorded as a CUDA graph: softmax_cross_entropy).
struct CeKd {
  Tensor ce, kd, total;
};
CeKd ce_kd_terms(const Tensor& zs, const Tensor& zt, const Tensor& y, float w_ce, float w_kd,
                 float temperature, const std::vector<int32_t>* host_labels = nullptr);
// The frozen teacher's logits for x (no graph).
Tensor teacher_logits(models::Model& teacher, const Tensor& x);
Tensor ce_kd_loss(const Tensor& zs, const Tensor& zt, const Tensor& y, float w_ce, float w_kd,
                  float temperature);
// The stage's loss for the student's logits zs (at its current width) after a step's forwards,
// both models capturing: ce_kd_terms(zs, zt, y) + w_pram·Σ_g PRAM(Aˢ_g, Aᵀ_g) over dc.pram_sites
// (the teacher's leading ⌊s·C⌋ channels at width factor s), and its terms as weighted in it
// ("ce", "kd", "pram"). host_y: see ce_kd_terms.
std::pair<Tensor, std::vector<std::pair<std::string, Tensor>>> distill_loss(
    const models::Model& teacher, const models::Model& student, const Tensor& zs, const Tensor& zt,
    const Tensor& y, const std::vector<int32_t>* host_y, const DistillConfig& dc);

// The last ReLU site of each stage (ResNet "layerL", WRN "groupG"): PRAM's default sites.
std::vector<size_t> stage_end_sites(const models::Model& m);
std::vector<size_t> all_counted_sites(const models::Model& m);

// The model evaluated at each of its width factors (one entry for a plain model); it is left at
// full width.
std::vector<EvalResult> evaluate_widths(models::Model& model, const data::Dataset& d,
                                        const data::Normalize& norm, Device device);

DistillResult run_distill(const RunConfig& cfg, const DistillConfig& dc, models::Model& teacher,
                          models::Model& student, const DataBundle& data, const std::string& dir,
                          bool resume, bool progress);

}  // namespace senet
