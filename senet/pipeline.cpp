// senet/pipeline.cpp — see pipeline.h.
// Each method is a path through the same stage helpers:
//   senet         teacher → sensitivity → allocate_relus → mask search → fine-tune (CE+KD+PRAM)
//   uniform       teacher → allocate_uniform            → mask search → fine-tune
//   random_masks  teacher → sensitivity → allocate_relus → random masks → fine-tune
//   no_pram       as senet, fine-tune with w_pram = 0
//   snl           teacher → SNL (α per ReLU, λ·Σ|α|, binarise)       → fine-tune (CE+KD)
#include "senet/pipeline.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>

#include "engine/io/atomic_file.h"
#include "engine/io/run_lock.h"
#include "senet/allocation.h"
#include "senet/checkpoint.h"
#include "senet/data_parallel.h"
#include "senet/distill.h"
#include "senet/masks.h"
#include "senet/sensitivity.h"
#include "senet/snl.h"
#include "senet/trainer.h"

namespace senet {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

json read_json_file(const std::string& path) {
  json j = json::parse(io::read_file(path), nullptr, false);
  SENET_CHECK(!j.is_discarded(), "'", path, "' is not valid JSON (delete it to redo that stage)");
  return j;
}

// A distillation stage's settings from its config section (optimizer as for training otherwise).
DistillConfig stage_config(const RunConfig& cfg, const SenetStageConfig& s, const char* name,
                           const models::Model& student) {
  DistillConfig dc;
  dc.stage = name;
  dc.epochs = s.epochs;
  dc.optim = cfg.train.optim;
  dc.optim.lr = s.lr;
  dc.optim.schedule = s.schedule;
  dc.optim.warmup_epochs = 0;
  dc.w_ce = s.ce;
  dc.w_kd = s.kd;
  dc.w_pram = s.pram;
  dc.temperature = s.temperature;
  dc.pram_sites = cfg.senet.pram_sites == PramSites::All ? all_counted_sites(student)
                                                         : stage_end_sites(student);
  return dc;
}

void banner(const char* what) { std::fprintf(stderr, "\n== %s ==\n", what); }

// What every stage of one run shares.
struct Run {
  const RunConfig& cfg;
  Method method;
  std::string out;
  bool progress;
  Device device;
  Granularity gran;
  DataBundle data;
  json stages = json::object();
};

// A fresh model with a checkpoint's weights and masks: no α or score parameters left over from an
// earlier stage, so the next stage's optimizer (and its resumable state) sees only the model's own.
std::shared_ptr<models::Model> model_from(const Run& run, const std::string& checkpoint,
                                          const RunConfig* cfg = nullptr) {
  auto m = models::make_model((cfg ? *cfg : run.cfg).model);
  load_model_state(read_model_file(checkpoint), *m);  // a teacher may come from another tool
  m->to(run.device);
  return m;
}

std::shared_ptr<models::Model> new_student(const Run& run, const std::string& teacher_path) {
  if (run.cfg.senet.student_init == StudentInit::Teacher) return model_from(run, teacher_path);
  auto m = models::make_model(run.cfg.model);
  m->to(run.device);
  return m;
}

// One resumable student stage: unless out/<dir>/result.safetensors exists, runs `body` on
// `student` (it returns the stage's report entry) and saves the student there with the entry
// (+ seconds) as metadata "report". Returns the student reloaded from the result; the entry lands
// in run.stages[name]. `cfg` (default run.cfg) is the config of the stage's model: stage 3's
// carries model.width_factors.
using StageBody = std::function<json(models::Model& student)>;
std::shared_ptr<models::Model> cached_stage(Run& run, const char* name, const char* dir,
                                            const char* title,
                                            std::shared_ptr<models::Model> student,
                                            const StageBody& body, const RunConfig* cfg = nullptr) {
  const RunConfig& stage_cfg = cfg ? *cfg : run.cfg;
  std::string result = run.out + "/" + dir + "/result.safetensors";
  if (!run_file_exists(result)) {
    banner(title);
    auto t0 = std::chrono::steady_clock::now();
    json entry = body(*student);
    entry["seconds"] = seconds_since(t0);
    save_checkpoint(result, *student, nullptr,
                    {{"config", to_json(stage_cfg).dump()},
                     {"stage", name},
                     {"method", std::string(enum_name(run.cfg.senet.method))},
                     {"report", entry.dump()}});
  }
  io::StFile f = read_checkpoint(result);
  auto it = f.metadata.find("report");
  if (it != f.metadata.end()) {
    json entry = json::parse(it->second, nullptr, /*allow_exceptions=*/false);
    SENET_CHECK(entry.is_object(), "'", result,
                "': metadata 'report' is not a JSON object (delete ", dir, "/ to redo that stage)");
    run.stages[name] = entry;
  } else {  // a result written before stages carried a report
    json entry{{"seconds", metadata_number(f, "seconds")}};
    if (f.metadata.count("val_accuracy"))
      entry["val_accuracy"] = metadata_number(f, "val_accuracy");
    run.stages[name] = entry;
  }
  return model_from(run, result, &stage_cfg);
}

// --- 0: the all-ReLU teacher (trained unless senet.teacher_checkpoint names one)
std::string teacher_stage(Run& run) {
  const RunConfig& cfg = run.cfg;
  if (!cfg.senet.teacher_checkpoint.empty()) return cfg.senet.teacher_checkpoint;
  std::string path = run.out + "/teacher/best.safetensors", done = run.out + "/teacher/done.json";
  if (!run_file_exists(done)) {
    banner("stage 0: teacher (all-ReLU) training");
    auto t0 = std::chrono::steady_clock::now();
    RunConfig tc = cfg;
    tc.out_dir = run.out + "/teacher";
    tc.progress = run.progress;
    auto teacher = models::make_model(cfg.model);
    TrainResult r = train_supervised(tc, *teacher, /*resume=*/true);
    io::write_file_atomic(done, json{{"val_accuracy", r.val.accuracy},
                                     {"test_accuracy", r.test.accuracy},
                                     {"seconds", seconds_since(t0)}}
                                        .dump() +
                                    "\n");
  }
  run.stages["teacher"] = read_json_file(done);
  return path;
}

// --- 1: per-site sensitivity η (sparse-momentum copy of the teacher)
std::vector<double> sensitivity_stage(Run& run, const std::string& teacher_path,
                                      const models::Model& teacher) {
  const SenetConfig& sn = run.cfg.senet;
  std::string path = run.out + "/sensitivity.json";
  if (!run_file_exists(path)) {
    banner("stage 1: ReLU sensitivity (sparse-momentum training)");
    auto t0 = std::chrono::steady_clock::now();
    auto sparse = model_from(run, teacher_path);
    SensitivityConfig sc;
    sc.density = sn.density;
    sc.epochs = sn.sensitivity_epochs;
    sc.prune_every = sn.prune_every;
    sc.prune_rate = sn.prune_rate;
    SensitivityResult r = run_sensitivity(run.cfg, sc, *sparse, run.data, run.cfg.seed + 101,
                                          run.progress, run.out + "/sensitivity");
    json j = to_json(r);
    j["seconds"] = seconds_since(t0);
    io::write_file_atomic(path, j.dump(2) + "\n");
  }
  json j = read_json_file(path);
  run.stages["sensitivity"] = {{"seconds", j.value("seconds", 0.0)}};
  return counted_eta(sensitivity_from_json(j, path), teacher);
}

// --- 2: ReLUs per counted site (cheap and deterministic: always recomputed, written for reference).
// eta stays empty for the uniform ablation (no stage 1).
struct Allocation {
  std::vector<double> eta;
  std::vector<int64_t> counts;
};

Allocation allocation_stage(Run& run, const std::string& teacher_path,
                            const models::Model& teacher) {
  std::vector<int64_t> sizes;
  for (auto* s : teacher.counted_sites()) sizes.push_back(s->size());
  Allocation a;
  if (run.method == Method::Uniform) {
    a.counts = allocate_uniform(sizes, run.cfg.senet.budget);
  } else {
    a.eta = sensitivity_stage(run, teacher_path, teacher);
    a.counts = allocate_relus(a.eta, sizes, run.cfg.senet.budget);
  }
  json sites = json::array();
  auto counted = teacher.counted_sites();
  for (size_t l = 0; l < counted.size(); ++l)
    sites.push_back({{"site", counted[l]->site_name},
                     {"size", sizes[l]},
                     {"eta", a.eta.empty() ? json(nullptr) : json(a.eta[l])},
                     {"allocated", a.counts[l]}});
  io::write_file_atomic(run.out + "/allocation.json",
                        json{{"method", enum_name(run.cfg.senet.method)},
                             {"budget", run.cfg.senet.budget},
                             {"sites", sites}}
                                .dump(2) +
                            "\n");
  return a;
}

// --- 3: stage 2, the mask search (distance top-r, or straight-through scores)
std::shared_ptr<models::Model> mask_search_stage(Run& run, models::Model& teacher,
                                                 std::shared_ptr<models::Model> student,
                                                 const std::vector<int64_t>& counts) {
  return cached_stage(
      run, "mask_search", "stage2", "stage 2: ReLU mask search (CE + KD, top-r of |A_T − A_S|)",
      student, [&](models::Model& s) {
        const RunConfig& cfg = run.cfg;
        if (cfg.senet.initial_mask == InitialMask::HwPattern)
          set_hw_pattern_masks(s, counts, cfg.seed + 202);
        else
          set_random_masks(s, counts, run.gran, cfg.seed + 202);
        bool ste = cfg.senet.mask_learner == MaskLearner::Ste;
        if (ste) {
          auto sites = s.counted_sites();
          for (size_t l = 0; l < sites.size(); ++l)
            sites[l]->set_learned(counts[l], cfg.seed + 303 + l);
        }
        DistillConfig dc = stage_config(cfg, cfg.senet.mask_search, "mask_search", s);
        dc.search_masks = !ste;
        dc.granularity = run.gran;
        dc.counts = counts;
        dc.bn_recompute_batches = cfg.senet.bn_recompute_batches;
        dc.settle_epochs = dc.search_masks ? cfg.senet.settle_epochs : 0;
        DistillResult r =
            run_distill(cfg, dc, teacher, s, run.data, run.out + "/stage2", true, run.progress);
        if (ste)  // loading the best checkpoint already fixed masked sites; freeze the rest
          for (auto* site : s.counted_sites())
            if (site->mode == models::SiteMode::Learned) site->freeze_learned();
        return json{{"val_accuracy", r.val.accuracy}};
      });
}

// --- the SNL baseline in place of stages 1–3's mask choice
std::shared_ptr<models::Model> snl_stage(Run& run, models::Model& teacher,
                                         std::shared_ptr<models::Model> student) {
  return cached_stage(
      run, "snl", "snl", "SNL: α per ReLU, CE + KD + λ·Σ|α|, binarised at the threshold", student,
      [&](models::Model& s) {
        SnlResult r = run_snl(run.cfg, teacher, s, run.data, run.out + "/snl", true, run.progress);
        EvalResult val = evaluate(s, run.data.val, run.data.norm, 256, run.device);
        return json{{"val_accuracy", val.accuracy},
                    {"epochs_run", r.epochs_run},
                    {"reached_budget", r.reached_budget},
                    {"final_lambda", r.lambda},
                    {"relu_count", r.relus}};
      });
}

// The stage-3 student of a width-switchable run (cfg.model.width_factors): the plain student's
// weights and masks in a model with one BN set per factor, each starting from the full-width
// set's first ⌊s·C⌋ channels (load_model_state).
std::shared_ptr<models::Model> switchable_student(const Run& run, models::Model& plain,
                                                  const RunConfig& cfg) {
  io::StFile f;
  f.path = "(the stage-2 student)";
  for (auto& [name, t] : plain.named_tensors()) f.tensors.push_back(to_st(name, *t));
  auto m = models::make_model(cfg.model);
  load_model_state(f, *m);
  m->to(run.device);
  return m;
}

// A finished stage 3 trained for other width factors than cfg's cannot stand in for this one.
void check_stage3_widths(const Run& run, const RunConfig& cfg) {
  std::string result = run.out + "/stage3/result.safetensors";
  if (!run_file_exists(result)) return;
  json was = json::parse(metadata_at(read_checkpoint(result), "config"), nullptr, false);
  json w = was.is_object() && was["model"].is_object() && was["model"].contains("width_factors")
               ? was["model"]["width_factors"]
               : json::array();
  SENET_CHECK(w == json(cfg.model.width_factors), "'", result,
              "' was trained for model.width_factors ", w.dump(), ", the config asks for ",
              json(cfg.model.width_factors).dump(), " (delete ", run.out,
              "/stage3 to redo stage 3)");
}

// --- 4: stage 3, fine-tuning with frozen masks (PRAM off for no_pram and for SNL's CE + KD); with
// model.width_factors the student trains at every factor (senet/distill.h). `cfg` is the run's
// own config (run.cfg has the width factors cleared for stages 0–2).
std::shared_ptr<models::Model> finetune_stage(Run& run, const RunConfig& cfg,
                                              models::Model& teacher,
                                              std::shared_ptr<models::Model> student) {
  bool pram = run.method != Method::NoPram && run.method != Method::Snl;
  check_stage3_widths(run, cfg);
  if (!cfg.model.width_factors.empty()) student = switchable_student(run, *student, cfg);
  return cached_stage(
      run, "finetune", "stage3",
      pram ? "stage 3: fine-tuning with frozen masks (CE + KD + PRAM)"
           : "stage 3: fine-tuning with frozen masks (CE + KD, no PRAM)",
      student,
      [&](models::Model& s) {
        DistillConfig dc = stage_config(run.cfg, run.cfg.senet.finetune, "finetune", s);
        if (!pram) dc.w_pram = 0;
        DistillResult r =
            run_distill(cfg, dc, teacher, s, run.data, run.out + "/stage3", true, run.progress);
        return json{{"val_accuracy", r.val.accuracy},
                    {"w_ce", dc.w_ce},
                    {"w_kd", dc.w_kd},
                    {"w_pram", dc.w_pram},
                    {"width_factors", cfg.model.width_factors}};
      },
      &cfg);
}

// An output directory belongs to one method: resuming it under another would mix their stages.
void claim_out_dir(const std::string& out, const std::string& method) {
  std::string path = out + "/method.json";
  if (run_file_exists(path)) {
    std::string was = read_json_file(path).value("method", "");
    SENET_CHECK(was == method, "out_dir '", out, "' holds a '", was, "' run; senet.method is '",
                method, "' (use another out_dir)");
    return;
  }
  io::write_file_atomic(path, json{{"method", method}}.dump() + "\n");
}

// Dynamic channel reduction: one row per width factor — ReLUs, MACs, validation and test accuracy,
// and the wall time of the test-set evaluation at that factor (one run, so the times compare).
// Appended to `text`; an empty array for a plain student.
json per_width_rows(models::Model& student, const DataBundle& data, Device device,
                    std::string& text) {
  json rows = json::array();
  if (student.width_factors().size() < 2) return rows;
  char line[256];
  std::snprintf(line, sizeof line, "%-6s %10s %14s %8s %8s %10s\n", "width", "ReLUs", "MACs",
                "val%", "test%", "test eval s");
  text += "dynamic channel reduction (stage 3 trained every width):\n";
  text += line;
  for (float w : student.width_factors()) {
    student.set_width(w);
    EvalResult val = evaluate(student, data.val, data.norm, 256, device);
    auto t0 = std::chrono::steady_clock::now();
    EvalResult test = evaluate(student, data.test, data.norm, 256, device);
    double secs = seconds_since(t0);
    std::snprintf(line, sizeof line, "%-6.2f %10lld %14lld %8.2f %8.2f %10.2f\n", double(w),
                  (long long)student.relu_count(), (long long)student.macs(), 100 * val.accuracy,
                  100 * test.accuracy, secs);
    text += line;
    rows.push_back({{"width", w},
                    {"relu_count", student.relu_count()},
                    {"macs", student.macs()},
                    {"val_accuracy", val.accuracy},
                    {"test_accuracy", test.accuracy},
                    {"test_eval_seconds", secs}});
  }
  student.set_width(1.f);
  return rows;
}

}  // namespace

PipelineResult run_pipeline(const RunConfig& cfg, bool progress) {
  const SenetConfig& sn = cfg.senet;
  const std::string out = cfg.out_dir;
  start_data_parallel(cfg);
  io::RunLock lock(out);  // creates `out`; removes it again if we fail before writing anything
  const Method method = sn.method;
  const std::string method_name(enum_name(method));

  // Check the budget against the model and load the data before any work is written.
  auto probe = models::make_model(cfg.model);
  SENET_CHECK(sn.budget <= probe->relu_capacity(), "senet.budget ", sn.budget, " exceeds the ",
              probe->relu_capacity(), " ReLUs of the model's counted sites");
  RunConfig plain = cfg;  // the teacher and stages 1–2 are plain models; stage 3 gets the widths
  plain.model.width_factors.clear();
  Run run{plain, method, out, progress, activate_device(cfg), sn.granularity, load_data(cfg)};
  claim_out_dir(out, method_name);

  std::string teacher_path = teacher_stage(run);
  auto teacher = model_from(run, teacher_path);
  EvalResult t_val = evaluate(*teacher, run.data.val, run.data.norm, 256, run.device);
  EvalResult t_test = evaluate(*teacher, run.data.test, run.data.norm, 256, run.device);
  std::fprintf(stderr, "teacher: val %.2f%% test %.2f%% (%s)\n", 100 * t_val.accuracy,
               100 * t_test.accuracy, teacher_path.c_str());

  auto student = new_student(run, teacher_path);
  Allocation alloc;  // stays empty for SNL: it allocates nothing, its α decide
  if (method == Method::Snl) {
    student = snl_stage(run, *teacher, student);
  } else {
    alloc = allocation_stage(run, teacher_path, *teacher);
    if (method == Method::RandomMasks) {  // deterministic (seeded): nothing to cache
      set_random_masks(*student, alloc.counts, run.gran, cfg.seed + 202);
      run.stages["mask_search"] = {
          {"skipped", "random_masks: seeded random masks at the allocated counts"}};
    } else {
      student = mask_search_stage(run, *teacher, student, alloc.counts);
    }
  }
  student = finetune_stage(run, cfg, *teacher, student);

  // --- outputs
  const auto& data = run.data;
  Granularity gran = run.gran;
  EvalResult s_val = evaluate(*student, data.val, data.norm, 256, run.device);
  EvalResult s_test = evaluate(*student, data.test, data.norm, 256, run.device);
  int64_t relus = student->relu_count();
  if (gran == Granularity::Pixel && method != Method::Snl)  // SNL's count is what its α gave
    SENET_CHECK(relus == sn.budget, "internal error: the student has ", relus,
                " ReLUs, the budget is ", sn.budget);
  save_checkpoint(out + "/student.safetensors", *student, nullptr,
                  {{"config", to_json(cfg).dump()},
                   {"stage", "final"},
                   {"method", method_name},
                   {"budget", std::to_string(sn.budget)},
                   {"relu_count", std::to_string(relus)}});
  write_mask_export(out + "/masks.json", *student, gran);

  auto counted = student->counted_sites();
  json sites = json::array();
  char line[256];
  std::string text = "method: " + method_name + "\n";
  std::snprintf(line, sizeof line, "%-4s %-18s %-14s %9s %7s %10s %9s %7s\n", "#", "site", "C×H×W",
                "size", "eta", "allocated", "kept", "keep%");
  text += line;
  for (size_t l = 0; l < counted.size(); ++l) {
    auto* s = counted[l];
    std::string shape =
        std::to_string(s->C) + "×" + std::to_string(s->H) + "×" + std::to_string(s->W);
    char eta[32] = "-";
    if (!alloc.eta.empty()) std::snprintf(eta, sizeof eta, "%.3f", alloc.eta[l]);
    std::string allocated = alloc.counts.empty() ? "-" : std::to_string(alloc.counts[l]);
    int64_t kept = s->relu_count();
    double keep = 100.0 * double(kept) / double(s->size());
    std::snprintf(line, sizeof line, "%-4zu %-18s %-14s %9lld %7s %10s %9lld %6.2f%%\n", l,
                  s->site_name.c_str(), shape.c_str(), (long long)s->size(), eta, allocated.c_str(),
                  (long long)kept, keep);
    text += line;
    sites.push_back({{"site", s->site_name},
                     {"shape", {s->C, s->H, s->W}},
                     {"size", s->size()},
                     {"eta", alloc.eta.empty() ? json(nullptr) : json(alloc.eta[l])},
                     {"allocated", alloc.counts.empty() ? json(nullptr) : json(alloc.counts[l])},
                     {"kept", kept},
                     {"keep_percent", keep}});
  }
  std::snprintf(line, sizeof line,
                "ReLUs: %lld of %lld (budget %lld, %s-wise) + %lld fixed outside the count\n"
                "teacher: val %.2f%%  test %.2f%%   |   student: val %.2f%%  test %.2f%%\n",
                (long long)relus, (long long)student->relu_capacity(), (long long)sn.budget,
                std::string(enum_name(gran)).c_str(), (long long)student->fixed_relus(),
                100 * t_val.accuracy, 100 * t_test.accuracy, 100 * s_val.accuracy,
                100 * s_test.accuracy);
  text += line;
  json widths = per_width_rows(*student, data, run.device, text);
  json report{{"method", method_name},
              {"budget", sn.budget},
              {"relu_count", relus},
              {"relu_capacity", student->relu_capacity()},
              {"fixed_relus", student->fixed_relus()},
              {"granularity", enum_name(gran)},
              {"teacher",
               {{"checkpoint", teacher_path},
                {"val_accuracy", t_val.accuracy},
                {"test_accuracy", t_test.accuracy},
                {"relu_count", teacher->relu_count()}}},
              {"student",
               {{"checkpoint", out + "/student.safetensors"},
                {"val_accuracy", s_val.accuracy},
                {"test_accuracy", s_test.accuracy}}},
              {"stages", run.stages},
              {"sites", sites}};
  if (!widths.empty()) report["widths"] = widths;
  io::write_file_atomic(out + "/report.json", report.dump(2) + "\n");
  io::write_file_atomic(out + "/report.txt", text);
  return {report, text};
}

}  // namespace senet
