// tools/cli_pipeline.cpp — `senet pipeline`: teacher → sensitivity → allocation → mask search →
// fine-tuning, resumable, with the per-site report printed at the end.
#include <cstdio>

#include "senet/pipeline.h"
#include "senet/trainer.h"
#include "tools/cli.h"

namespace senet::cli {

static const char* kPipelineUsage =
    "usage: senet pipeline --config FILE --budget R [--teacher CKPT] [--set key=value]...\n"
    "Runs SENet end to end in <out_dir>; a rerun resumes at the first unfinished stage.\n"
    "  --budget R        ReLUs the student keeps in its counted sites (= senet.budget)\n"
    "  --teacher CKPT    use this all-ReLU checkpoint instead of training a teacher\n"
    "  --method M        senet (default) | snl | uniform | random_masks | no_pram (= senet.method)\n"
    "  --set KEY=VALUE   any config key, e.g. --set senet.finetune.epochs=3\n"
    "  shortcuts as for train: --epochs (teacher) --out --threads --device --seed ...\n"
    "Outputs: student.safetensors, masks.json (kept indices per site), report.json, report.txt.\n";

int cmd_pipeline(const std::vector<std::string>& args) {
  std::string config_path, budget, teacher, method;
  std::vector<std::string> overrides;
  bool print = false;
  if (!parse_run_flags(args, kPipelineUsage, config_path, overrides,
                       {{"--budget", &budget}, {"--teacher", &teacher}, {"--method", &method}},
                       {{"--print-config", &print}}))
    return 0;
  if (!budget.empty()) overrides.push_back("senet.budget=" + budget);
  if (!method.empty()) overrides.push_back("senet.method=" + method);
  if (!teacher.empty()) overrides.push_back("senet.teacher_checkpoint=\"" + teacher + "\"");
  auto j = load_config_json(config_path, overrides);
  if (print) {
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  RunConfig cfg = from_json(j);
  SENET_CHECK(!budget.empty() || cfg.senet.budget > 0,
              "senet pipeline needs a ReLU budget: --budget R (or senet.budget in the config)");
  apply_threads(cfg.threads);
  PipelineResult r = run_pipeline(cfg, cfg.progress);
  std::printf("\n%s", r.text.c_str());
  std::printf("outputs in %s: student.safetensors, masks.json, report.json, report.txt\n",
              cfg.out_dir.c_str());
  return 0;
}

}  // namespace senet::cli
