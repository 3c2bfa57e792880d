// senet/distill.cpp — see distill.h.
#include "senet/distill.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "engine/core/autograd.h"
#include "engine/core/parallel.h"
#include "engine/cuda/cuda_ops.h"
#include "engine/dist/comm.h"
#include "engine/ops/count_correct.h"
#include "engine/ops/cross_entropy.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/kd_loss.h"
#include "engine/ops/leading_block.h"
#include "engine/ops/pram_loss.h"
#include "senet/bn_recalibration.h"
#include "senet/checkpoint.h"
#include "senet/data_parallel.h"
#include "senet/epoch_loop.h"
#include "senet/run_dir.h"

namespace senet {

namespace fs = std::filesystem;
using json = nlohmann::json;

CeKd ce_kd_terms(const Tensor& zs, const Tensor& zt, const Tensor& y, float w_ce, float w_kd,
                 float temperature, const std::vector<int32_t>* host_labels) {
  CeKd r;
  r.ce = scale(softmax_cross_entropy(zs, y, host_labels), w_ce);
  r.total = r.ce;
  if (w_kd != 0) {
    r.kd = scale(kd_loss(zs, zt, temperature), w_kd);
    r.total = add(r.total, r.kd);
  }
  return r;
}

Tensor teacher_logits(models::Model& teacher, const Tensor& x) {
  NoGradGuard no_grad;
  return teacher.forward(x);
}

Tensor ce_kd_loss(const Tensor& zs, const Tensor& zt, const Tensor& y, float w_ce, float w_kd,
                  float temperature) {
  return ce_kd_terms(zs, zt, y, w_ce, w_kd, temperature).total;
}

std::pair<Tensor, std::vector<std::pair<std::string, Tensor>>> distill_loss(
    const models::Model& teacher, const models::Model& student, const Tensor& zs, const Tensor& zt,
    const Tensor& y, const std::vector<int32_t>* host_y, const DistillConfig& dc) {
  CeKd ck = ce_kd_terms(zs, zt, y, dc.w_ce, dc.w_kd, dc.temperature, host_y);
  Tensor loss = ck.total, pram;
  if (dc.w_pram != 0)
    for (size_t g : dc.pram_sites) {
      const Tensor& as = student.sites()[g]->captured;  // B×⌊s·C⌋×H×W
      Tensor at = leading_block(teacher.sites()[g]->captured, as.size(0), as.size(1));
      Tensor p = scale(pram_loss(as, at), dc.w_pram);
      loss = add(loss, p);
      pram = pram.defined() ? add(pram, p) : p;
    }
  std::vector<std::pair<std::string, Tensor>> terms;
  terms.emplace_back("ce", ck.ce);
  if (ck.kd.defined()) terms.emplace_back("kd", ck.kd);
  if (pram.defined()) terms.emplace_back("pram", pram);
  return {loss, terms};
}

std::vector<size_t> stage_end_sites(const models::Model& m) {
  std::map<std::string, size_t> last;  // stage prefix ("layer3") → index of its last site
  std::vector<std::string> order;
  for (size_t i = 0; i < m.sites().size(); ++i) {
    const std::string& n = m.sites()[i]->site_name;
    std::string stage = n.substr(0, n.find('.'));
    if (stage.rfind("layer", 0) != 0 && stage.rfind("group", 0) != 0) continue;
    if (!last.count(stage)) order.push_back(stage);
    last[stage] = i;
  }
  std::vector<size_t> out;
  for (const auto& s : order) out.push_back(last[s]);
  return out;
}

std::vector<size_t> all_counted_sites(const models::Model& m) {
  std::vector<size_t> out;
  for (size_t i = 0; i < m.sites().size(); ++i)
    if (m.sites()[i]->counted) out.push_back(i);
  return out;
}

std::vector<EvalResult> evaluate_widths(models::Model& model, const data::Dataset& d,
                                        const data::Normalize& norm, Device device) {
  std::vector<EvalResult> out;
  for (float s : model.width_factors()) {
    model.set_width(s);
    out.push_back(evaluate(model, d, norm, 256, device));
  }
  model.set_width(1.f);
  return out;
}

// D += Σ_b |Aᵀ − Aˢ| over the batch, per position of the site (threads split the positions).
static void accumulate_distance(std::vector<double>& D, const Tensor& at, const Tensor& as) {
  const float* t = at.data<float>();
  const float* s = as.data<float>();
  int64_t B = at.size(0), n = int64_t(D.size());
  parallel_for(0, n, 1024, [&](int64_t b0, int64_t b1) {
    for (int64_t b = 0; b < B; ++b)
      for (int64_t i = b0; i < b1; ++i)
        D[size_t(i)] += std::abs(double(t[b * n + i]) - double(s[b * n + i]));
  });
}

// New masks: exact top-r of the accumulated distances (channel-wise: top channels of Σ_hw D).
static void update_masks(models::Model& student, const std::vector<std::vector<double>>& D,
                         const DistillConfig& dc) {
  auto sites = student.counted_sites();
  for (size_t l = 0; l < sites.size(); ++l) {
    auto* s = sites[l];
    if (dc.granularity == Granularity::Pixel) {
      s->set_mask(Tensor::from_vector_u8(topk_mask(D[l], dc.counts[l]), {s->C, s->H, s->W}));
    } else {
      int64_t hw = int64_t(s->H) * s->W;
      std::vector<double> ch(size_t(s->C), 0.0);
      for (int64_t c = 0; c < s->C; ++c)
        for (int64_t i = 0; i < hw; ++i) ch[size_t(c)] += D[l][size_t(c * hw + i)];
      s->set_mask(Tensor::from_vector_u8(topk_mask(ch, channels_for_budget(dc.counts[l], hw, s->C)),
                                         {s->C}));
    }
  }
}

// The same on the device (CUDA tensors, through the CudaOps table): D stays on the device in fp32
// (summed over each batch in batch order by mask_accumulate), and the exact top-k runs there
// (channel_scores + topk_mask, same tie rule: lower index). No activation is copied to the host.
static void accumulate_distance_cuda(Tensor& D, const Tensor& at, const Tensor& as) {
  cuda_ops()->mask_accumulate(at.data<float>(), as.data<float>(), D.data<float>(), at.size(0),
                              D.numel());
}

static void update_masks_cuda(models::Model& student, const std::vector<Tensor>& D,
                              const DistillConfig& dc) {
  auto sites = student.counted_sites();
  for (size_t l = 0; l < sites.size(); ++l) {
    auto* s = sites[l];
    const int64_t hw = int64_t(s->H) * s->W;
    const bool pixel = dc.granularity == Granularity::Pixel;
    const int64_t n = pixel ? s->size() : s->C;
    const int64_t k = pixel ? dc.counts[l] : channels_for_budget(dc.counts[l], hw, s->C);
    SENET_CHECK(0 <= k && k <= n, "topk_mask: cannot keep ", k, " of ", n, " positions");
    Tensor scores = D[l];
    if (!pixel) {
      scores = Tensor::empty({s->C}, DType::F32, Device::CUDA);
      cuda_ops()->channel_scores(D[l].data<float>(), scores.data<float>(), s->C, hw);
    }
    Tensor m = pixel ? Tensor::empty({s->C, s->H, s->W}, DType::U8, Device::CUDA)
                     : Tensor::empty({s->C}, DType::U8, Device::CUDA);
    cuda_ops()->topk_mask(scores.data<float>(), n, k, m.data<uint8_t>());
    s->set_mask(m);
  }
}

// The counted sites' masks, on the host (the mask-overlap figures of stage 2).
static std::vector<std::vector<uint8_t>> masks_of(const std::vector<models::ReluSite*>& sites) {
  std::vector<std::vector<uint8_t>> m;
  for (auto* s : sites) m.push_back(s->mask.to_vector_u8());
  return m;
}

// Σ|a ∧ b| / Σ|a| over the counted sites, in ReLUs (a channel-wise mask's entry counts H·W).
static double mask_overlap(const std::vector<models::ReluSite*>& sites,
                           const std::vector<std::vector<uint8_t>>& a,
                           const std::vector<std::vector<uint8_t>>& b) {
  double both = 0, kept = 0;
  for (size_t l = 0; l < sites.size(); ++l) {
    if (a[l].size() != b[l].size()) return 0;  // pixel vs channel masks: not comparable
    const double w = sites[l]->channel_wise() ? double(sites[l]->H) * sites[l]->W : 1.0;
    for (size_t i = 0; i < a[l].size(); ++i) {
      kept += w * a[l][i];
      both += w * double(a[l][i] & b[l][i]);
    }
  }
  return kept > 0 ? both / kept : 0;
}

// The overlap two independent random masks of the same per-site counts have on average:
// Σ_l r_l²/n_l / Σ_l r_l (the "chance" column).
static double chance_overlap(const std::vector<models::ReluSite*>& sites) {
  double num = 0, kept = 0;
  for (auto* s : sites) {
    const double r = double(s->relu_count()), n = double(s->size());
    num += r * r / n;
    kept += r;
  }
  return kept > 0 ? num / kept : 0;
}

DistillResult run_distill(const RunConfig& cfg, const DistillConfig& dc, models::Model& teacher,
                          models::Model& student, const DataBundle& data, const std::string& dir,
                          bool resume, bool progress) {
  Device device = activate_device(cfg);
  auto counted = student.counted_sites();
  if (dc.search_masks)
    SENET_CHECK(dc.counts.size() == counted.size(), dc.stage, ": ", dc.counts.size(),
                " ReLU counts for ", counted.size(), " sites");
  SENET_CHECK(dc.settle_epochs == 0 || dc.search_masks, dc.stage,
              ": settle epochs follow a mask search (search_masks)");
  for (size_t g : dc.pram_sites)
    SENET_CHECK(g < student.sites().size(), dc.stage, ": PRAM site index ", g, " out of range");
  const std::vector<float> widths = student.width_factors();  // {1} for a plain student
  SENET_CHECK(!dc.search_masks || widths.size() == 1, dc.stage,
              ": the mask search needs a plain student (model.width_factors is for stage 3)");

  auto opt = make_optimizer(dc.optim, student);
  opt->set_weight_decay_where(
      [](const ParamRef& p) {
        return p.name.size() > 6 && p.name.compare(p.name.size() - 6, 6, ".score") == 0;
      },
      0.f);
  const int total_epochs = dc.epochs + dc.settle_epochs;
  auto sched = make_schedule(dc.optim, total_epochs);
  // The masks the student came with (stage 2: the initial masks its weights were trained under),
  // taken before a resume replaces them.
  const auto initial_masks = masks_of(counted);
  RunDir run(dir, dc.stage, cfg);
  const int start_epoch = resume ? run.resume(student, opt.get()) : 0;
  DistillResult res;

  teacher.eval();
  teacher.set_capture(true);
  student.set_capture(true);
  std::vector<size_t> counted_index;  // position of each counted site in the full site list
  for (auto* s : counted)
    counted_index.push_back(size_t(std::find(student.sites().begin(), student.sites().end(), s) -
                                   student.sites().begin()));
  data::Loader loader(data.train, cfg.train.batch_size, true, true, data.aug, data.norm,
                      cfg.seed + 7919 * (dc.search_masks ? 2 : 3));
  shard_loader(loader);
  SENET_CHECK(loader.batches_per_epoch() > 0, dc.stage,
              ": train.batch_size is larger than the training set");
  std::unique_ptr<data::Loader> bn_loader;  // BN recomputation after a mask switch: its own order
  if (dc.search_masks && dc.bn_recompute_batches > 0)
    bn_loader = std::make_unique<data::Loader>(data.train, cfg.train.batch_size, true, true,
                                               data.aug, data.norm, cfg.seed + 7919 * 4);
  if (bn_loader) shard_loader(*bn_loader);
  EpochLoop loop{student, *opt, sched.get(), dc.stage, total_epochs, progress};
  // The step's device work depends on the batch and the weights only (the distances below add into
  // tensors fixed for the epoch; a learned site's top-k runs on the device: engine/ops/
  // straight_through.h), so on CUDA it is recorded once and replayed (senet/epoch_loop.h).
  loop.cuda_graph = cfg.cuda_graph;

  // Stage 2's search epochs: per counted site, D_l += Σ_batch |Aᵀ − Aˢ| of the step's captured
  // activations — part of the step (no gradient), so a replayed step adds its own batch.
  bool searching = false;
  std::vector<std::vector<double>> D;
  std::vector<Tensor> D_cuda;  // device == CUDA: the distances stay on the device
  auto accumulate_distances = [&] {
    NoGradGuard no_grad;
    for (size_t l = 0; l < counted.size(); ++l) {  // teacher and student share the site list
      const Tensor& at = teacher.sites()[counted_index[l]]->captured;
      if (device == Device::CUDA)
        accumulate_distance_cuda(D_cuda[l], at, counted[l]->captured);
      else
        accumulate_distance(D[l], at, counted[l]->captured);
    }
  };

  // One step: the frozen teacher, then the student at every width factor in increasing order (a
  // plain student: width 1 only). Several widths back-propagate one by one (the gradients sum) so
  // only one width's graph is alive; the full width comes last, so zs and the captured activations
  // are its own afterwards.
  auto body = [&](const data::Batch& b, int64_t) {
    StepOut out;
    Tensor x = batch_images(b, device);
    out.labels = batch_labels(b, device);
    const Tensor zt = teacher_logits(teacher, x);
    std::map<std::string, Tensor> sums;  // several widths: the terms' values summed over widths
    for (float w : widths) {
      student.set_width(w);
      Tensor zs = student.forward(x);
      auto [loss, terms] = distill_loss(teacher, student, zs, zt, out.labels, &b.y, dc);
      out.logits = zs;
      if (widths.size() == 1) {
        out.loss = loss;
        out.terms = std::move(terms);
        if (searching) accumulate_distances();
        return out;
      }
      loss.backward();
      out.loss = out.loss.defined() ? add(out.loss, loss.detach()) : loss.detach();
      for (auto& [name, t] : terms)
        sums[name] = sums.count(name) ? add(sums[name], t.detach()) : t.detach();
    }
    out.backward_done = true;
    for (auto& [name, t] : sums) out.terms.emplace_back(name, t);
    return out;
  };

  for (int epoch = start_epoch; epoch < total_epochs; ++epoch) {
    searching = dc.search_masks && epoch < dc.epochs;
    if (dc.search_masks && !searching && epoch == dc.epochs) {
      // Settle epochs: train on the best searched mask (weights and masks of the best search epoch).
      load_model_state(read_checkpoint(run.best_path()), student);
      std::fprintf(stderr, "%s: settle epochs on the mask of search epoch %d\n", dc.stage.c_str(),
                   run.best_epoch());
    }
    D.clear();
    D_cuda.clear();
    if (searching)
      for (auto* s : counted) {
        if (device == Device::CUDA)
          D_cuda.push_back(Tensor::zeros({s->size()}, DType::F32, Device::CUDA));
        else
          D.emplace_back(size_t(s->size()), 0.0);
      }
    EpochStats st = loop.run(loader, epoch, body);
    json line = st.to_json();
    student.set_capture(false);
    if (searching) {
      const auto previous = masks_of(counted);
      // Several ranks: each saw its slices of the batches; the search ranks the whole data's sums.
      const char* what = "the mask search's sums of |Aᵀ − Aˢ|";
      for (auto& d : D) sum_over_ranks(d, what);
      if (dist::world_size() > 1)
        for (Tensor& d : D_cuda)
          dist::comm_for(1, what).allreduce_sum(d.data<float>(), d.numel(), what);
      if (device == Device::CUDA)
        update_masks_cuda(student, D_cuda, dc);
      else
        update_masks(student, D, dc);
      const auto now = masks_of(counted);
      line["mask_overlap_previous"] = mask_overlap(counted, now, previous);
      line["mask_overlap_initial"] = mask_overlap(counted, now, initial_masks);
      line["mask_overlap_chance"] = chance_overlap(counted);
      if (bn_loader)
        line["bn_recompute_batches"] =
            recompute_bn_statistics(student, *bn_loader, epoch, dc.bn_recompute_batches);
    }
    std::vector<EvalResult> val_w = evaluate_widths(student, data.val, data.norm, device);
    student.set_capture(true);
    EvalResult val = val_w.back();  // full width
    val.accuracy = 0;               // the selection score: mean over the width factors
    for (const auto& v : val_w) val.accuracy += v.accuracy / double(val_w.size());
    run.save_epoch(student, opt.get(), epoch + 1, validation_score(val.accuracy, data.val.n));
    line["val_accuracy"] = val.accuracy;
    line["val_loss"] = val.loss;
    line["relus"] = student.relu_count();
    line["w_ce"] = dc.w_ce;
    line["w_kd"] = dc.w_kd;
    line["w_pram"] = dc.w_pram;
    line["phase"] = searching ? "search" : dc.search_masks ? "settle" : "train";
    if (widths.size() > 1) {  // val_accuracy above is the mean over these
      json per = json::array();
      for (size_t i = 0; i < widths.size(); ++i) {
        student.set_width(widths[i]);
        per.push_back({{"width", widths[i]},
                       {"val_accuracy", val_w[i].accuracy},
                       {"relus", student.relu_count()}});
      }
      student.set_width(1.f);
      line["widths"] = per;
    }
    run.log(line);
    std::fprintf(
        stderr,
        "%s epoch %d: loss %.4f train acc %.2f%% | val acc %.2f%%%s | ReLUs %lld | %.0f img/s\n",
        dc.stage.c_str(), epoch + 1, st.loss(), 100.0 * st.accuracy(), 100 * val.accuracy,
        widths.size() > 1 ? " (mean over widths)" : "", (long long)student.relu_count(),
        st.images_per_second());
    if (searching)
      std::fprintf(stderr,
                   "  new mask: %.1f %% of it in the previous mask, %.1f %% in the initial one "
                   "(random masks: %.1f %%)\n",
                   100 * line["mask_overlap_previous"].get<double>(),
                   100 * line["mask_overlap_initial"].get<double>(),
                   100 * line["mask_overlap_chance"].get<double>());
    if (widths.size() > 1)
      for (size_t i = 0; i < widths.size(); ++i)
        std::fprintf(stderr, "  width %.2f: val acc %.2f%%\n", double(widths[i]),
                     100 * val_w[i].accuracy);
    res.epochs_run++;
  }
  res.best_val = run.best_val();
  res.best_epoch = run.best_epoch();
  teacher.set_capture(false);
  student.set_capture(false);
  if (run_file_exists(run.best_path())) load_model_state(read_checkpoint(run.best_path()), student);
  res.val = evaluate(student, data.val, data.norm, 256, device);
  res.test = evaluate(student, data.test, data.norm, 256, device);
  return res;
}

}  // namespace senet
