// senet/snl.cpp — see snl.h.
#include "senet/snl.h"

#include <algorithm>
#include <cstdio>

#include "engine/core/autograd.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/l1.h"
#include "senet/checkpoint.h"
#include "senet/data_parallel.h"
#include "senet/distill.h"
#include "senet/epoch_loop.h"
#include "senet/run_dir.h"

namespace senet {

using json = nlohmann::json;

double snl_next_lambda(const SnlConfig& c, double lambda, int epoch, int64_t before,
                       int64_t after) {
  return epoch >= c.lambda_from_epoch && after >= before ? lambda * double(c.lambda_growth)
                                                         : lambda;
}

// λ as text that reads back to the same double (std::to_string keeps only 6 decimals: 1.1e-5 → 0.000011).
static std::string exact(double v) {
  char b[40];
  std::snprintf(b, sizeof b, "%.17g", v);
  return b;
}

// Σ_sites Σ|α| over the counted sites (a scalar with autograd to every α).
static Tensor alpha_l1(const std::vector<models::ReluSite*>& sites) {
  Tensor total = l1(sites[0]->alpha);
  for (size_t l = 1; l < sites.size(); ++l) total = add(total, l1(sites[l]->alpha));
  return total;
}

void binarize_top_alpha(const std::vector<models::ReluSite*>& sites, int64_t budget) {
  struct Pos {
    float alpha;
    int64_t index;  // global position: sites in order, then C·H·W
  };
  std::vector<Pos> all;
  std::vector<std::vector<float>> alphas;
  for (auto* s : sites) {
    SENET_CHECK(s->mode == models::SiteMode::Alpha, "snl: site ", s->site_name,
                " is not in alpha mode");
    alphas.push_back(s->alpha.to_vector());
    for (float a : alphas.back()) all.push_back({a, int64_t(all.size())});
  }
  SENET_CHECK(budget >= 0 && budget <= int64_t(all.size()), "snl: cannot keep ", budget, " of ",
              all.size(), " ReLUs");
  // Larger α first; ties: lower global index (the same rule as senet/masks.h's topk_mask).
  std::nth_element(all.begin(), all.begin() + budget, all.end(), [](const Pos& a, const Pos& b) {
    return a.alpha != b.alpha ? a.alpha > b.alpha : a.index < b.index;
  });
  std::vector<uint8_t> keep(all.size(), 0);
  for (int64_t i = 0; i < budget; ++i) keep[size_t(all[size_t(i)].index)] = 1;
  size_t offset = 0;
  for (auto* s : sites) {
    std::vector<uint8_t> m(keep.begin() + int64_t(offset),
                           keep.begin() + int64_t(offset) + s->size());
    offset += size_t(s->size());
    s->set_mask(Tensor::from_vector_u8(m, {s->C, s->H, s->W}));
  }
}

SnlResult run_snl(const RunConfig& cfg, models::Model& teacher, models::Model& student,
                  const DataBundle& data, const std::string& dir, bool resume, bool progress) {
  const SnlConfig& c = cfg.senet.snl;
  const int64_t budget = cfg.senet.budget;
  Device device = activate_device(cfg);
  auto sites = student.counted_sites();
  SENET_CHECK(!sites.empty(), "snl: the model has no counted ReLU sites");
  for (auto* s : sites) s->set_alpha(c.threshold);

  OptimConfig oc;
  oc.name = OptimizerKind::Adam;
  oc.lr = c.lr;
  oc.weight_decay = c.weight_decay;
  auto opt = make_optimizer(oc, student);
  opt->set_weight_decay_where(
      [](const ParamRef& p) {
        return p.name.size() > 6 && p.name.compare(p.name.size() - 6, 6, ".alpha") == 0;
      },
      0.f);

  SnlResult res;
  double lambda = c.lambda;
  RunDir run(dir, "snl", cfg);
  const int start_epoch = resume ? run.resume(student, opt.get()) : 0;
  if (run.resumed()) lambda = metadata_number(*run.resumed(), "lambda");
  int64_t count = student.relu_count();  // α > threshold, over the counted sites

  teacher.eval();
  data::Loader loader(data.train, cfg.train.batch_size, true, true, data.aug, data.norm,
                      cfg.seed + 7919 * 5);
  shard_loader(loader);
  const int64_t nb = loader.batches_per_epoch();
  SENET_CHECK(nb > 0, "snl: train.batch_size is larger than the training set");
  EpochLoop loop{student, *opt, nullptr, "snl", c.max_epochs, progress};
  // The step depends on the batch, the weights and this epoch's λ (a new loop.run, a new graph):
  // on CUDA it is recorded and replayed (senet/epoch_loop.h); after_step only reads the count.
  loop.cuda_graph = cfg.cuda_graph;
  auto body = [&](const data::Batch& b, int64_t) {
    StepOut out;
    Tensor x = batch_images(b, device);
    out.labels = batch_labels(b, device);
    const Tensor zt = teacher_logits(teacher, x);
    out.logits = student.forward(x);
    CeKd ck = ce_kd_terms(out.logits, zt, out.labels, c.ce, c.kd, c.temperature, &b.y);
    out.loss = ck.total;
    out.terms = {{"ce", ck.ce}};
    if (ck.kd.defined()) out.terms.emplace_back("kd", ck.kd);
    if (lambda != 0) {
      Tensor l1_term = scale(alpha_l1(sites), float(lambda));
      out.loss = add(out.loss, l1_term);
      out.terms.emplace_back("l1", l1_term);
    }
    return out;
  };
  // Adam moves every α by about lr per step, so the count can fall off a cliff within one epoch:
  // counting every check_every steps stops near the budget instead of far below it.
  auto after_step = [&](const StepOut&, int64_t step) {
    if (c.check_every > 0 && (step + 1) % c.check_every == 0 && step + 1 < nb &&
        student.relu_count() <= budget) {
      std::fprintf(stderr, "\nsnl: the count reached the budget at step %lld\n",
                   (long long)(step + 1));
      return true;
    }
    return false;
  };

  int epoch = start_epoch;
  for (; epoch < c.max_epochs && count > budget; ++epoch) {
    EpochStats st = loop.run(loader, epoch, body, after_step);
    int64_t before = count;
    count = student.relu_count();
    check_same_on_all_ranks(count, "SNL's ReLU count");
    double next = snl_next_lambda(c, lambda, epoch + 1, before, count);
    EvalResult val = evaluate(student, data.val, data.norm, 256, device);
    SnlEpoch e{epoch + 1, lambda, count, next != lambda, st.loss(), val.accuracy};
    res.history.push_back(e);
    run.save_epoch(student, opt.get(), epoch + 1, validation_score(val.accuracy, data.val.n),
                   {{"lambda", exact(next)}});
    json line = st.to_json();
    line["lambda"] = e.lambda;
    line["relus"] = e.relus;
    line["budget"] = budget;
    line["lambda_grew"] = e.lambda_grew;
    line["val_accuracy"] = val.accuracy;
    line["val_loss"] = val.loss;
    run.log(line);
    std::fprintf(
        stderr,
        "snl epoch %d: λ %.4g | ReLUs (α > %g) %lld → %lld (budget %lld)%s | val acc %.2f%%\n",
        e.epoch, lambda, double(c.threshold), (long long)before, (long long)count,
        (long long)budget, e.lambda_grew ? " | λ ×growth" : "", 100 * val.accuracy);
    lambda = next;
  }
  res.epochs_run = epoch;
  res.reached_budget = count <= budget;
  res.lambda = lambda;
  if (!res.reached_budget)
    std::fprintf(
        stderr,
        "snl: stopped at senet.snl.max_epochs = %d with %lld ReLUs, above the budget %lld\n",
        c.max_epochs, (long long)count, (long long)budget);
  if (c.binarize == SnlBinarize::TopBudget) {
    binarize_top_alpha(sites, std::min<int64_t>(budget, student.relu_capacity()));
    std::fprintf(stderr,
                 "snl: binarised to the top %lld α over all sites (the count at α > %g was %lld)\n",
                 (long long)budget, double(c.threshold), (long long)count);
  } else {
    for (auto* s : sites) s->binarize_alpha();
  }
  res.relus = student.relu_count();
  return res;
}

}  // namespace senet
