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
#include "engine/ops/count_correct.h"
#include "engine/ops/cross_entropy.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/kd_loss.h"
#include "engine/ops/leading_block.h"
#include "engine/ops/pram_loss.h"
#include "senet/checkpoint.h"
#include "senet/progress.h"

namespace senet {

namespace fs = std::filesystem;
using json = nlohmann::json;

Tensor ce_kd_loss(const Tensor& zs, const Tensor& zt, const Tensor& y, float w_ce, float w_kd,
                  float temperature) {
  Tensor loss = scale(softmax_cross_entropy(zs, y), w_ce);
  if (w_kd != 0) loss = add(loss, scale(kd_loss(zs, zt, temperature), w_kd));
  return loss;
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
      for (int64_t i = b0; i < b1; ++i) D[size_t(i)] += std::abs(double(t[b * n + i]) - double(s[b * n + i]));
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

DistillResult run_distill(const RunConfig& cfg, const DistillConfig& dc, models::Model& teacher,
                          models::Model& student, const DataBundle& data, const std::string& dir,
                          bool resume, bool progress) {
  Device device = parse_device(cfg.device);
  fs::create_directories(dir);
  auto counted = student.counted_sites();
  if (dc.search_masks)
    SENET_CHECK(dc.counts.size() == counted.size(), dc.stage, ": ", dc.counts.size(),
                " ReLU counts for ", counted.size(), " sites");
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
  auto sched = make_schedule(dc.optim, dc.epochs);
  std::string last = dir + "/last.safetensors", best_path = dir + "/best.safetensors";
  DistillResult res;
  int start_epoch = 0;
  if (resume && fs::exists(last)) {
    io::StFile f = read_checkpoint(last);
    load_model_state(f, student);
    load_optimizer_state(f, *opt);
    start_epoch = metadata_int(f, "epoch");
    res.best_val = metadata_number(f, "best_val_accuracy");
    res.best_epoch = metadata_int(f, "best_epoch");
    std::fprintf(stderr, "%s: resuming from %s at epoch %d\n", dc.stage.c_str(), last.c_str(),
                 start_epoch);
  }

  teacher.eval();
  teacher.set_capture(true);
  student.set_capture(true);
  std::vector<size_t> counted_index;  // position of each counted site in the full site list
  for (auto* s : counted)
    counted_index.push_back(size_t(std::find(student.sites().begin(), student.sites().end(), s) -
                                   student.sites().begin()));
  data::Loader loader(data.train, cfg.train.batch_size, true, true, data.aug, data.norm,
                      cfg.seed + 7919 * (dc.search_masks ? 2 : 3));
  int64_t nb = loader.batches_per_epoch();
  SENET_CHECK(nb > 0, dc.stage, ": train.batch_size is larger than the training set");
  std::ofstream metrics(dir + "/metrics.jsonl", std::ios::app);

  for (int epoch = start_epoch; epoch < dc.epochs; ++epoch) {
    student.train();
    loader.start_epoch(epoch);
    std::vector<std::vector<double>> D;
    std::vector<Tensor> D_cuda;  // device == CUDA: the distances stay on the device
    if (dc.search_masks)
      for (auto* s : counted) {
        if (device == Device::CUDA)
          D_cuda.push_back(Tensor::zeros({s->size()}, DType::F32, Device::CUDA));
        else
          D.emplace_back(size_t(s->size()), 0.0);
      }
    Progress bar(dc.stage + " " + std::to_string(epoch + 1) + "/" + std::to_string(dc.epochs), nb,
                 progress);
    data::Batch b;
    double loss_sum = 0;
    int64_t correct = 0, seen = 0, step = 0;
    auto t0 = std::chrono::steady_clock::now();
    while (loader.next(b)) {
      opt->set_lr(sched->lr_at(epoch, double(step) / double(nb)));
      Tensor x = batch_images(b, device), y = batch_labels(b, device);
      Tensor zt;
      {
        NoGradGuard no_grad;
        zt = teacher.forward(x);
      }
      // Every width factor in increasing order (a plain student: width 1 only), gradients summed;
      // the full width comes last, so zs and the captured activations are its own afterwards.
      student.zero_grad();
      Tensor zs;
      double step_loss = 0;
      for (float w : widths) {
        student.set_width(w);
        zs = student.forward(x);
        Tensor loss = ce_kd_loss(zs, zt, y, dc.w_ce, dc.w_kd, dc.temperature);
        if (dc.w_pram != 0)
          for (size_t g : dc.pram_sites) {
            const Tensor& as = student.sites()[g]->captured;  // B×⌊s·C⌋×H×W
            Tensor at = leading_block(teacher.sites()[g]->captured, as.size(0), as.size(1));
            loss = add(loss, scale(pram_loss(as, at), dc.w_pram));
          }
        loss.backward();
        check_finite(loss, student, dc.stage + " epoch " + std::to_string(epoch + 1) + " step " +
                                        std::to_string(step + 1) +
                                        (widths.size() > 1 ? " width " + std::to_string(w) : ""));
        step_loss += double(loss.item());
      }
      opt->step();
      if (dc.search_masks) {
        NoGradGuard no_grad;
        for (size_t l = 0; l < counted.size(); ++l) {  // teacher and student share the site list
          const Tensor& at = teacher.sites()[counted_index[l]]->captured;
          if (device == Device::CUDA)
            accumulate_distance_cuda(D_cuda[l], at, counted[l]->captured);
          else
            accumulate_distance(D[l], at, counted[l]->captured);
        }
      }
      ++step;
      loss_sum += step_loss * double(b.n);
      correct += count_correct(zs.detach(), y);
      seen += b.n;
      bar.update(step, loss_sum / double(seen), double(correct) / double(seen), seen);
    }
    bar.finish();
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (dc.search_masks) {
      if (device == Device::CUDA)
        update_masks_cuda(student, D_cuda, dc);
      else
        update_masks(student, D, dc);
    }
    student.set_capture(false);
    std::vector<EvalResult> val_w = evaluate_widths(student, data.val, data.norm, device);
    student.set_capture(true);
    EvalResult val = val_w.back();  // full width
    val.accuracy = 0;  // the selection score: mean over the width factors
    for (const auto& v : val_w) val.accuracy += v.accuracy / double(val_w.size());
    bool is_best = val.accuracy > res.best_val;
    if (is_best) {
      res.best_val = val.accuracy;
      res.best_epoch = epoch + 1;
    }
    Metadata meta{{"config", to_json(cfg).dump()},
                  {"stage", dc.stage},
                  {"epoch", std::to_string(epoch + 1)},
                  {"best_val_accuracy", std::to_string(res.best_val)},
                  {"best_epoch", std::to_string(res.best_epoch)}};
    if (is_best) save_checkpoint(best_path, student, nullptr, meta);
    save_checkpoint(last, student, opt.get(), meta);
    json line{{"stage", dc.stage}, {"epoch", epoch + 1}, {"lr", opt->lr()},
              {"train_loss", loss_sum / double(seen)}, {"train_accuracy", double(correct) / double(seen)},
              {"val_accuracy", val.accuracy}, {"val_loss", val.loss}, {"relus", student.relu_count()},
              {"w_ce", dc.w_ce}, {"w_kd", dc.w_kd}, {"w_pram", dc.w_pram},
              {"seconds", secs}, {"images_per_second", double(seen) / secs}};
    if (widths.size() > 1) {  // val_accuracy above is the mean over these
      json per = json::array();
      for (size_t i = 0; i < widths.size(); ++i) {
        student.set_width(widths[i]);
        per.push_back({{"width", widths[i]}, {"val_accuracy", val_w[i].accuracy},
                       {"relus", student.relu_count()}});
      }
      student.set_width(1.f);
      line["widths"] = per;
    }
    metrics << line.dump() << "\n";
    metrics.flush();
    std::fprintf(stderr, "%s epoch %d: loss %.4f train acc %.2f%% | val acc %.2f%%%s | ReLUs %lld | %.0f img/s\n",
                 dc.stage.c_str(), epoch + 1, loss_sum / double(seen),
                 100.0 * double(correct) / double(seen), 100 * val.accuracy,
                 widths.size() > 1 ? " (mean over widths)" : "", (long long)student.relu_count(),
                 double(seen) / secs);
    if (widths.size() > 1)
      for (size_t i = 0; i < widths.size(); ++i)
        std::fprintf(stderr, "  width %.2f: val acc %.2f%%\n", double(widths[i]),
                     100 * val_w[i].accuracy);
    res.epochs_run++;
  }
  teacher.set_capture(false);
  student.set_capture(false);
  if (fs::exists(best_path)) load_model_state(read_checkpoint(best_path), student);
  res.val = evaluate(student, data.val, data.norm, 256, device);
  res.test = evaluate(student, data.test, data.norm, 256, device);
  return res;
}

}  // namespace senet
