// senet/pipeline.cpp — see pipeline.h.
#include "senet/pipeline.h"

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "engine/io/atomic_file.h"
#include "engine/io/run_lock.h"
#include "senet/allocation.h"
#include "senet/checkpoint.h"
#include "senet/distill.h"
#include "senet/masks.h"
#include "senet/sensitivity.h"
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

OptimConfig stage_optim(const RunConfig& cfg, const SenetStageConfig& s) {
  OptimConfig o = cfg.train.optim;
  o.lr = s.lr;
  o.schedule = s.schedule;
  o.warmup_epochs = 0;
  return o;
}

void banner(const char* what) { std::fprintf(stderr, "\n== %s ==\n", what); }

}  // namespace

PipelineResult run_pipeline(const RunConfig& cfg, bool progress) {
  const SenetConfig& sn = cfg.senet;
  const std::string out = cfg.out_dir;
  fs::create_directories(out);
  io::RunLock lock(out);
  Granularity gran = parse_granularity(sn.granularity);
  Device device = parse_device(cfg.device);
  json stages = json::object();

  // Check the budget against the model before any work.
  auto probe = models::make_model(cfg.model);
  SENET_CHECK(sn.budget <= probe->relu_capacity(), "senet.budget ", sn.budget, " exceeds the ",
              probe->relu_capacity(), " ReLUs of the model's counted sites");
  DataBundle data = load_data(cfg);

  // --- 0: teacher
  std::string teacher_path = sn.teacher_checkpoint;
  if (teacher_path.empty()) {
    teacher_path = out + "/teacher/best.safetensors";
    std::string done = out + "/teacher/done.json";
    if (!fs::exists(done)) {
      banner("stage 0: teacher (all-ReLU) training");
      auto t0 = std::chrono::steady_clock::now();
      RunConfig tc = cfg;
      tc.out_dir = out + "/teacher";
      tc.progress = progress;
      auto teacher = models::make_model(cfg.model);
      TrainResult r = train_supervised(tc, *teacher, /*resume=*/true);
      io::write_file_atomic(done, json{{"val_accuracy", r.val.accuracy}, {"test_accuracy", r.test.accuracy},
                                       {"seconds", seconds_since(t0)}}.dump() + "\n");
    }
    stages["teacher"] = read_json_file(done);
  }
  auto teacher = models::make_model(cfg.model);
  load_model_state(read_checkpoint(teacher_path), *teacher);
  teacher->to(device);
  EvalResult t_val = evaluate(*teacher, data.val, data.norm, 256, device);
  EvalResult t_test = evaluate(*teacher, data.test, data.norm, 256, device);
  std::fprintf(stderr, "teacher: val %.2f%% test %.2f%% (%s)\n", 100 * t_val.accuracy,
               100 * t_test.accuracy, teacher_path.c_str());

  // --- 1: sensitivity
  std::string sens_path = out + "/sensitivity.json";
  if (!fs::exists(sens_path)) {
    banner("stage 1: ReLU sensitivity (sparse-momentum training)");
    auto t0 = std::chrono::steady_clock::now();
    auto sparse = models::make_model(cfg.model);
    load_model_state(read_checkpoint(teacher_path), *sparse);
    sparse->to(device);
    SensitivityConfig sc;
    sc.density = sn.density;
    sc.epochs = sn.sensitivity_epochs;
    sc.prune_every = sn.prune_every;
    sc.prune_rate = sn.prune_rate;
    SensitivityResult r = run_sensitivity(cfg, sc, *sparse, data, cfg.seed + 101, progress);
    json j = to_json(r);
    j["seconds"] = seconds_since(t0);
    io::write_file_atomic(sens_path, j.dump(2) + "\n");
  }
  json sens_json = read_json_file(sens_path);
  SensitivityResult sens = sensitivity_from_json(sens_json, sens_path);
  stages["sensitivity"] = {{"seconds", sens_json.value("seconds", 0.0)}};

  // --- 2: allocation (cheap and deterministic: always recomputed, written for reference)
  auto counted = teacher->counted_sites();
  std::vector<int64_t> sizes;
  for (auto* s : counted) sizes.push_back(s->size());
  std::vector<double> eta = counted_eta(sens, *teacher);
  std::vector<int64_t> counts = allocate_relus(eta, sizes, sn.budget);
  {
    json a = json::array();
    for (size_t l = 0; l < counted.size(); ++l)
      a.push_back({{"site", counted[l]->site_name}, {"size", sizes[l]}, {"eta", eta[l]},
                   {"allocated", counts[l]}});
    io::write_file_atomic(out + "/allocation.json",
                          json{{"budget", sn.budget}, {"sites", a}}.dump(2) + "\n");
  }

  // --- 3: mask search (stage 2)
  auto student = models::make_model(cfg.model);
  if (sn.student_init == "teacher") load_model_state(read_checkpoint(teacher_path), *student);
  student->to(device);
  std::string s2 = out + "/stage2/result.safetensors";
  if (!fs::exists(s2)) {
    banner("stage 2: ReLU mask search (CE + KD, top-r of |A_T − A_S|)");
    auto t0 = std::chrono::steady_clock::now();
    set_random_masks(*student, counts, gran, cfg.seed + 202);
    DistillConfig dc;
    dc.stage = "mask_search";
    dc.epochs = sn.mask_search.epochs;
    dc.optim = stage_optim(cfg, sn.mask_search);
    dc.w_ce = sn.mask_search.ce;
    dc.w_kd = sn.mask_search.kd;
    dc.w_pram = sn.mask_search.pram;
    dc.temperature = sn.mask_search.temperature;
    dc.pram_sites = sn.pram_sites == "all" ? all_counted_sites(*student) : stage_end_sites(*student);
    dc.search_masks = true;
    dc.granularity = gran;
    dc.counts = counts;
    DistillResult r = run_distill(cfg, dc, *teacher, *student, data, out + "/stage2", true, progress);
    save_checkpoint(s2, *student, nullptr,
                    {{"config", to_json(cfg).dump()}, {"stage", "mask_search"},
                     {"val_accuracy", std::to_string(r.val.accuracy)},
                     {"seconds", std::to_string(seconds_since(t0))}});
  }
  io::StFile s2f = read_checkpoint(s2);
  load_model_state(s2f, *student);
  stages["mask_search"] = {{"seconds", std::stod(metadata_at(s2f, "seconds"))},
                           {"val_accuracy", std::stod(metadata_at(s2f, "val_accuracy"))}};

  // --- 4: fine-tuning (stage 3)
  std::string s3 = out + "/stage3/result.safetensors";
  if (!fs::exists(s3)) {
    banner("stage 3: fine-tuning with frozen masks (CE + KD + PRAM)");
    auto t0 = std::chrono::steady_clock::now();
    DistillConfig dc;
    dc.stage = "finetune";
    dc.epochs = sn.finetune.epochs;
    dc.optim = stage_optim(cfg, sn.finetune);
    dc.w_ce = sn.finetune.ce;
    dc.w_kd = sn.finetune.kd;
    dc.w_pram = sn.finetune.pram;
    dc.temperature = sn.finetune.temperature;
    dc.pram_sites = sn.pram_sites == "all" ? all_counted_sites(*student) : stage_end_sites(*student);
    DistillResult r = run_distill(cfg, dc, *teacher, *student, data, out + "/stage3", true, progress);
    save_checkpoint(s3, *student, nullptr,
                    {{"config", to_json(cfg).dump()}, {"stage", "finetune"},
                     {"val_accuracy", std::to_string(r.val.accuracy)},
                     {"seconds", std::to_string(seconds_since(t0))}});
  }
  io::StFile s3f = read_checkpoint(s3);
  load_model_state(s3f, *student);
  stages["finetune"] = {{"seconds", std::stod(metadata_at(s3f, "seconds"))}};

  // --- outputs
  EvalResult s_val = evaluate(*student, data.val, data.norm, 256, device);
  EvalResult s_test = evaluate(*student, data.test, data.norm, 256, device);
  int64_t relus = student->relu_count();
  if (gran == Granularity::Pixel)
    SENET_CHECK(relus == sn.budget, "internal error: the student has ", relus,
                " ReLUs, the budget is ", sn.budget);
  save_checkpoint(out + "/student.safetensors", *student, nullptr,
                  {{"config", to_json(cfg).dump()}, {"stage", "final"},
                   {"budget", std::to_string(sn.budget)}, {"relu_count", std::to_string(relus)}});
  write_mask_export(out + "/masks.json", *student, gran);

  json sites = json::array();
  char line[256];
  std::string text;
  std::snprintf(line, sizeof line, "%-4s %-18s %-14s %9s %7s %10s %9s %7s\n", "#", "site", "C×H×W",
                "size", "eta", "allocated", "kept", "keep%");
  text += line;
  for (size_t l = 0; l < counted.size(); ++l) {
    auto* s = student->counted_sites()[l];
    std::string shape = std::to_string(s->C) + "×" + std::to_string(s->H) + "×" + std::to_string(s->W);
    int64_t kept = s->relu_count();
    std::snprintf(line, sizeof line, "%-4zu %-18s %-14s %9lld %7.3f %10lld %9lld %6.2f%%\n", l,
                  s->site_name.c_str(), shape.c_str(), (long long)s->size(), eta[l],
                  (long long)counts[l], (long long)kept, 100.0 * double(kept) / double(s->size()));
    text += line;
    sites.push_back({{"site", s->site_name}, {"shape", {s->C, s->H, s->W}}, {"size", s->size()},
                     {"eta", eta[l]}, {"allocated", counts[l]}, {"kept", kept},
                     {"keep_percent", 100.0 * double(kept) / double(s->size())}});
  }
  std::snprintf(line, sizeof line,
                "ReLUs: %lld of %lld (budget %lld, %s-wise) + %lld fixed outside the count\n"
                "teacher: val %.2f%%  test %.2f%%   |   student: val %.2f%%  test %.2f%%\n",
                (long long)relus, (long long)student->relu_capacity(), (long long)sn.budget,
                granularity_name(gran), (long long)student->fixed_relus(), 100 * t_val.accuracy,
                100 * t_test.accuracy, 100 * s_val.accuracy, 100 * s_test.accuracy);
  text += line;
  json report{{"budget", sn.budget},
              {"relu_count", relus},
              {"relu_capacity", student->relu_capacity()},
              {"fixed_relus", student->fixed_relus()},
              {"granularity", granularity_name(gran)},
              {"teacher", {{"checkpoint", teacher_path}, {"val_accuracy", t_val.accuracy},
                           {"test_accuracy", t_test.accuracy}, {"relu_count", teacher->relu_count()}}},
              {"student", {{"checkpoint", out + "/student.safetensors"}, {"val_accuracy", s_val.accuracy},
                           {"test_accuracy", s_test.accuracy}}},
              {"stages", stages},
              {"sites", sites}};
  io::write_file_atomic(out + "/report.json", report.dump(2) + "\n");
  io::write_file_atomic(out + "/report.txt", text);
  return {report, text};
}

}  // namespace senet
