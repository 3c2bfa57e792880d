// senet/epoch_loop.cpp — see epoch_loop.h.
#include "senet/epoch_loop.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>

#include "engine/cuda/cuda_ops.h"
#include "engine/dist/comm.h"
#include "engine/dist/grad_reducer.h"
#include "engine/ops/check_labels.h"
#include "engine/ops/count_correct.h"
#include "senet/data_parallel.h"
#include "senet/progress.h"
#include "senet/step_metrics.h"
#include "senet/trainer.h"

namespace senet {

using json = nlohmann::json;

json EpochStats::to_json() const {
  json terms = json::object(), norms = json::object(), cosines = json::object();
  for (const auto& [name, sum] : term_sums) terms[name] = images ? sum / double(images) : 0.0;
  for (const auto& [name, v] : grad_norms) norms[name] = v;
  for (const auto& [name, v] : grad_cosines) cosines[name] = v;
  return json{{"epoch", epoch},
              {"lr", lr},
              {"train_loss", loss()},
              {"train_accuracy", accuracy()},
              {"seconds", seconds},
              {"images_per_second", images_per_second()},
              {"terms", terms},
              {"grad_norms", norms},
              {"grad_cosines", cosines},
              {"allreduce_wait_seconds", comm_wait_seconds},
              {"collective_seconds", collective_seconds}};
}

void probe_term_gradients(models::Model& model,
                          const std::vector<std::pair<std::string, Tensor>>& terms,
                          std::map<std::string, double>& norms,
                          std::map<std::string, double>& cosines) {
  const auto params = model.named_parameters();
  // grads[i][p]: term i's gradient of parameter p, on the host (empty where none reached p).
  std::vector<std::vector<std::vector<float>>> grads(terms.size());
  for (size_t i = 0; i < terms.size(); ++i) {
    model.zero_grad();
    if (!terms[i].second.requires_grad()) continue;  // e.g. a term of constants: no gradient
    terms[i].second.backward();
    for (const auto& [name, p] : params) {
      Tensor g = p.grad();
      grads[i].push_back(g.defined() ? g.to_vector() : std::vector<float>{});
    }
  }
  model.zero_grad();
  auto dot = [&](size_t a, size_t b) {
    double s = 0;
    if (grads[a].empty() || grads[b].empty()) return s;
    for (size_t p = 0; p < params.size(); ++p) {
      const auto &ga = grads[a][p], &gb = grads[b][p];
      if (ga.empty() || gb.empty()) continue;
      for (size_t k = 0; k < ga.size(); ++k) s += double(ga[k]) * double(gb[k]);
    }
    return s;
  };
  std::vector<double> n(terms.size());
  for (size_t i = 0; i < terms.size(); ++i) {
    n[i] = std::sqrt(dot(i, i));
    norms[terms[i].first] = n[i];
  }
  for (size_t a = 0; a < terms.size(); ++a)
    for (size_t b = a + 1; b < terms.size(); ++b)
      cosines[terms[a].first + "·" + terms[b].first] =
          n[a] > 0 && n[b] > 0 ? dot(a, b) / (n[a] * n[b]) : 0.0;
}

namespace {

// The recorded step of EpochLoop::run: its graph, its fixed input batch and its outputs.
struct GraphedStep {
  void* graph = nullptr;  // CudaOps::graph_record's handle
  data::Batch in;         // n, c, h, w; the device tensors the replays refill; host labels
  StepOut out;            // the recording's outputs (rewritten by every replay)
  Optimizer* opt = nullptr;

  GraphedStep() = default;
  GraphedStep(const GraphedStep&) = delete;
  GraphedStep& operator=(const GraphedStep&) = delete;
  ~GraphedStep() {
    if (graph) cuda_ops()->graph_destroy(graph);  // waits for the replays
    if (opt) opt->use_device_scalars(false);
  }

  bool fits(const data::Batch& b) const {
    return graph && b.n == in.n && b.c == in.c && b.h == in.h && b.w == in.w;
  }
  // The batch into the fixed tensors. Each upload goes to a fresh block (engine/cuda/upload.cpp:
  // its copy waits only for that block's earlier users, so it overlaps the replay still running),
  // then a device-to-device copy on the compute stream puts it in place, after that replay. (An
  // upload straight into the fixed tensor would wait for the replay before copying.)
  void stage(const data::Batch& b) {
    if (!in.x_on_device.defined()) {
      in.n = b.n, in.whole_n = b.whole_n, in.c = b.c, in.h = b.h, in.w = b.w;
      in.x_on_device = Tensor::empty({b.n, b.c, b.h, b.w}, DType::F32, Device::CUDA);
      in.y_on_device = Tensor::empty({b.n}, DType::I32, Device::CUDA);
    }
    in.x_on_device.copy_(Tensor::from_vector(b.x, {b.n, b.c, b.h, b.w}, Device::CUDA));
    in.y_on_device.copy_(Tensor::from_vector_i32(b.y, {b.n}, Device::CUDA));
    in.y = b.y;  // the host copy the loss checks at the recording
  }
};

// Whether the step after this one can be recorded: every optimized parameter is on CUDA and got a
// gradient in this (eager) step, so the optimizer's state exists and the recording sees the set
// of updates every later step makes; and one set of device scalars serves them all.
bool can_record(const Optimizer& opt) {
  for (const ParamRef& p : opt.params())
    if (!p.param.is_cuda() || !p.param.grad().defined()) return false;
  return opt.device_scalars_shared();
}

}  // namespace

EpochStats EpochLoop::run(data::Loader& loader, int epoch, const StepBody& body,
                          const AfterStep& after_step) {
  EpochStats st;
  st.epoch = epoch + 1;
  const int64_t nb = loader.batches_per_epoch();
  model.train();
  loader.start_epoch(epoch);
  Progress bar(label + " " + std::to_string(epoch + 1) + "/" + std::to_string(epochs), nb,
               progress && dist::is_writer());
  // Several ranks: the gradients are averaged over the ranks during the backward.
  std::unique_ptr<dist::GradReducer> reducer;
  if (dist::world_size() > 1) {
    std::vector<Tensor> params;
    for (auto& [name, p] : model.named_parameters())
      if (p.requires_grad()) params.push_back(p);
    reducer = std::make_unique<dist::GradReducer>(std::move(params));
  }
  // One process on CUDA: the per-step sums and finite checks stay on the device, read every
  // StepMetrics::kDefaultEvery steps (no host round trip in a steady-state step).
  std::unique_ptr<StepMetrics> metrics;
  auto flush = [&] {
    if (!metrics || metrics->pending() == 0) return;
    metrics->flush(st);
    bar.update(st.steps, st.loss(), st.accuracy(), st.images);
  };
  // One process on CUDA with cuda_graph: steps after the first replay a graph (see the header).
  bool graphs = cuda_graph && !graph_failed && !reducer && cuda_ops() != nullptr;
  std::unique_ptr<GraphedStep> graphed;
  // after_step, on the host after every step (eager or replayed); true ends the epoch.
  auto ends_epoch = [&](const StepOut& out, int64_t step) {
    if (!after_step || !after_step(out, step)) return false;
    st.ended_early = st.steps < nb;
    return true;
  };
  bool record_next = false;  // the last step was eager and left what a recording needs
  data::Batch b;
  auto t0 = std::chrono::steady_clock::now();
  const double collective0 = dist::collective_seconds();
  while (loader.next(b)) {
    const int64_t step = st.steps;
    const std::string where =
        label + " epoch " + std::to_string(epoch + 1) + " step " + std::to_string(step + 1);
    dist::set_step(where);
    if (schedule) opt.set_lr(schedule->lr_at(epoch, double(step) / double(nb)));
    // A batch of another shape (a partial last batch): the graph goes (its pool would otherwise
    // hold a second set of activations), this step runs eagerly, a later one may record again.
    if (graphed && !graphed->fits(b)) graphed.reset();
    if (graphs && (record_next || graphed)) {
      if (!graphed) {  // record this step (the recording runs nothing: replay it after)
        graphed = std::make_unique<GraphedStep>();
        graphed->stage(b);
        opt.use_device_scalars(true);
        graphed->opt = &opt;
        opt.stage_device_scalars();
        const int64_t n = b.n;
        GraphedStep& g = *graphed;
        const std::vector<int64_t> counts = opt.step_counts();
        try {
          g.graph = cuda_ops()->graph_record((label + " step").c_str(), [&] {
            model.zero_grad();
            g.out = body(g.in, step);
            SENET_CHECK(metrics && metrics->ready_for(g.out),
                        "the step body changed its loss terms");
            if (!g.out.backward_done) g.out.loss.backward();
            metrics->record(g.out, n);
            opt.step();  // its host bookkeeping runs now, for the replay just below
          });
        } catch (const Error& e) {
          // Nothing of the recorded step ran: undo its counting and train on eagerly (this
          // EpochLoop does not try again).
          opt.restore_step_counts(counts);
          graphed.reset();
          graphs = false, graph_failed = true;
          std::fprintf(stderr,
                       "%s: recording the training step as a CUDA graph failed, training on "
                       "without (set cuda_graph to false to skip the attempt): %s\n",
                       label.c_str(), e.what());
        }
      } else {  // the checks the recorded code made on the host, made on this batch
        if (graphed->out.logits.defined())
          check_label_values(where.c_str(), graphed->out.logits, b.y.data(), b.n);
        graphed->stage(b);
        opt.stage_device_scalars();
        opt.replayed_step();
      }
      if (graphed) {
        cuda_ops()->graph_replay(graphed->graph);
        record_next = false;
        metrics->commit(where);  // after the replay: the row it wrote
        st.steps++;
        st.images += b.n;
        if (metrics->due()) flush();
        if (ends_epoch(graphed->out, step)) break;
        continue;
      }
    }
    model.zero_grad();
    StepOut out = body(b, step);
    if (!out.backward_done) {
      if (step == 0 && probe_gradients && !out.terms.empty())
        probe_term_gradients(model, out.terms, st.grad_norms, st.grad_cosines);
      if (reducer) reducer->arm();
      out.loss.backward();
    }
    if (!reducer && out.loss.is_cuda()) {
      if (!metrics)
        metrics = std::make_unique<StepMetrics>(
            model, Device::CUDA, metrics_every > 0 ? metrics_every : StepMetrics::kDefaultEvery);
      if (!metrics->accepts(out)) flush();
      metrics->add(out, b.n, where);
      opt.step();
      record_next = graphs && metrics->ready_for(out) && can_record(opt);
      st.steps++;
      st.images += b.n;
      if (metrics->due()) flush();
    } else {
      const float loss = out.loss.item();  // read once (a device→host copy on CUDA)
      if (reducer) {
        reducer->finish();
        check_loss_on_all_ranks(loss, where);
      }
      check_finite(out.loss, model, where);
      opt.step();
      st.steps++;
      st.loss_sum += double(loss) * double(b.n);
      for (const auto& [name, t] : out.terms) st.term_sums[name] += double(t.item()) * double(b.n);
      if (out.logits.defined()) st.correct += count_correct(out.logits.detach(), out.labels);
      st.images += b.n;
      bar.update(st.steps, st.loss(), st.accuracy(), st.images);
    }
    if (ends_epoch(out, step)) break;
  }
  flush();
  bar.finish();
  if (reducer) {  // the epoch's sums over every rank's slices
    std::vector<double> v{st.loss_sum, double(st.correct), double(st.images)};
    for (const auto& [name, sum] : st.term_sums) v.push_back(sum);
    sum_over_ranks(v, "the epoch's loss and accuracy sums");
    st.loss_sum = v[0], st.correct = int64_t(v[1]), st.images = int64_t(v[2]);
    size_t i = 3;
    for (auto& [name, sum] : st.term_sums) sum = v[i++];
    st.comm_wait_seconds = reducer->wait_seconds();
    st.collective_seconds = dist::collective_seconds() - collective0;
    average_bn_buffers_over_ranks(model);  // per-rank BN statistics: their mean
    check_weights_agree(model, label + " epoch " + std::to_string(epoch + 1));
  }
  st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  st.lr = opt.lr();
  return st;
}

}  // namespace senet
