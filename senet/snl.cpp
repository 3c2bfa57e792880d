// senet/snl.cpp — see snl.h.
#include "senet/snl.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "engine/core/autograd.h"
#include "engine/ops/count_correct.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/l1.h"
#include "senet/checkpoint.h"
#include "senet/distill.h"
#include "senet/progress.h"

namespace senet {

namespace fs = std::filesystem;
using json = nlohmann::json;

double snl_next_lambda(const SnlConfig& c, double lambda, int epoch, int64_t before, int64_t after) {
  return epoch >= c.lambda_from_epoch && after >= before ? lambda * double(c.lambda_growth) : lambda;
}

// λ as text that reads back to the same double (std::to_string keeps only 6 decimals: 1.1e-5 → 0.000011).
static std::string exact(double v) {
  char b[40];
  std::snprintf(b, sizeof b, "%.17g", v);
  return b;
}

// Σ_sites Σ|α| over the counted sites (a scalar with autograd to every α).
static Tensor alpha_l1(const std::vector<nn::ReluSite*>& sites) {
  Tensor total = l1(sites[0]->alpha);
  for (size_t l = 1; l < sites.size(); ++l) total = add(total, l1(sites[l]->alpha));
  return total;
}

SnlResult run_snl(const RunConfig& cfg, models::Model& teacher, models::Model& student,
                  const DataBundle& data, const std::string& dir, bool resume, bool progress) {
  const SnlConfig& c = cfg.senet.snl;
  const int64_t budget = cfg.senet.budget;
  Device device = parse_device(cfg.device);
  fs::create_directories(dir);
  auto sites = student.counted_sites();
  SENET_CHECK(!sites.empty(), "snl: the model has no counted ReLU sites");
  for (auto* s : sites) s->set_alpha(c.threshold);

  OptimConfig oc;
  oc.name = "adam";
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
  int start_epoch = 0;
  std::string last = dir + "/last.safetensors";
  if (resume && fs::exists(last)) {
    io::StFile f = read_checkpoint(last);
    load_model_state(f, student);
    load_optimizer_state(f, *opt);
    start_epoch = metadata_int(f, "epoch");
    lambda = metadata_number(f, "lambda");
    std::fprintf(stderr, "snl: resuming from %s at epoch %d (λ = %.4g)\n", last.c_str(), start_epoch,
                 lambda);
  }
  int64_t count = student.relu_count();  // α > threshold, over the counted sites

  teacher.eval();
  data::Loader loader(data.train, cfg.train.batch_size, true, true, data.aug, data.norm,
                      cfg.seed + 7919 * 5);
  const int64_t nb = loader.batches_per_epoch();
  SENET_CHECK(nb > 0, "snl: train.batch_size is larger than the training set");
  std::ofstream metrics(dir + "/metrics.jsonl", std::ios::app);

  int epoch = start_epoch;
  for (; epoch < c.max_epochs && count > budget; ++epoch) {
    student.train();
    loader.start_epoch(epoch);
    Progress bar("snl " + std::to_string(epoch + 1) + "/" + std::to_string(c.max_epochs), nb, progress);
    data::Batch b;
    double loss_sum = 0;
    int64_t correct = 0, seen = 0, step = 0;
    auto t0 = std::chrono::steady_clock::now();
    while (loader.next(b)) {
      Tensor x = batch_images(b, device), y = batch_labels(b, device);
      Tensor zt;
      {
        NoGradGuard no_grad;
        zt = teacher.forward(x);
      }
      Tensor zs = student.forward(x);
      Tensor loss = ce_kd_loss(zs, zt, y, c.ce, c.kd, c.temperature);
      if (lambda != 0) loss = add(loss, scale(alpha_l1(sites), float(lambda)));
      student.zero_grad();
      loss.backward();
      check_finite(loss, student, "snl epoch " + std::to_string(epoch + 1) + " step " +
                                      std::to_string(step + 1));
      opt->step();
      ++step;
      loss_sum += double(loss.item()) * double(b.n);
      correct += count_correct(zs.detach(), y);
      seen += b.n;
      bar.update(step, loss_sum / double(seen), double(correct) / double(seen), seen);
      // Adam moves every α by about lr per step, so the count can fall off a cliff within one epoch:
      // counting every check_every steps stops near the budget instead of far below it.
      if (c.check_every > 0 && step % c.check_every == 0 && step < nb && student.relu_count() <= budget) {
        std::fprintf(stderr, "\nsnl: the count reached the budget at step %lld of epoch %d\n",
                     (long long)step, epoch + 1);
        break;
      }
    }
    bar.finish();
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    int64_t before = count;
    count = student.relu_count();
    double next = snl_next_lambda(c, lambda, epoch + 1, before, count);
    EvalResult val = evaluate(student, data.val, data.norm, 256, device);
    SnlEpoch e{epoch + 1, lambda, count, next != lambda, loss_sum / double(seen), val.accuracy};
    res.history.push_back(e);
    save_checkpoint(last, student, opt.get(),
                    {{"config", to_json(cfg).dump()}, {"stage", "snl"},
                     {"epoch", std::to_string(epoch + 1)}, {"lambda", exact(next)}});
    metrics << json{{"stage", "snl"}, {"epoch", e.epoch}, {"lambda", e.lambda}, {"relus", e.relus},
                    {"budget", budget}, {"lambda_grew", e.lambda_grew}, {"train_loss", e.train_loss},
                    {"train_accuracy", double(correct) / double(seen)},
                    {"val_accuracy", e.val_accuracy}, {"seconds", secs}}
                   .dump()
            << "\n";
    metrics.flush();
    std::fprintf(stderr, "snl epoch %d: λ %.4g | ReLUs (α > %g) %lld → %lld (budget %lld)%s | val acc %.2f%%\n",
                 e.epoch, lambda, double(c.threshold), (long long)before, (long long)count,
                 (long long)budget, e.lambda_grew ? " | λ ×growth" : "", 100 * val.accuracy);
    lambda = next;
  }
  res.epochs_run = epoch;
  res.reached_budget = count <= budget;
  res.lambda = lambda;
  if (!res.reached_budget)
    std::fprintf(stderr, "snl: stopped at senet.snl.max_epochs = %d with %lld ReLUs, above the budget %lld\n",
                 c.max_epochs, (long long)count, (long long)budget);
  for (auto* s : sites) s->binarize_alpha();
  res.relus = student.relu_count();
  return res;
}

}  // namespace senet
