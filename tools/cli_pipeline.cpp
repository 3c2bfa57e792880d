// tools/cli_pipeline.cpp — `senet pipeline`: teacher → sensitivity → allocation → mask search →
// fine-tuning, resumable, with the per-site report printed at the end; its options (a CLI11
// subcommand, tools/cli.h) and what it runs.
#include <cstdio>
#include <memory>

#include "engine/dist/comm.h"
#include "senet/pipeline.h"
#include "senet/trainer.h"
#include "tools/cli.h"
#include "tools/cli11_helpers.h"

namespace senet::cli {

namespace {

struct PipelineOptions {
  RunOptions run;  // --budget, --teacher and --method are overrides too (senet.*)
  bool print = false;
  bool no_plots = false;
};

int run_pipeline_command(const PipelineOptions& o) {
  auto j = load_config_json(o.run.config_path, o.run.overrides);
  if (o.print) {
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  RunConfig cfg = from_json(j);
  // A budget of 0 (a student without ReLUs) must be asked for; an unset one is a forgotten option.
  bool budget_given = false;
  for (const auto& kv : o.run.overrides) budget_given |= kv.rfind("senet.budget=", 0) == 0;
  SENET_CHECK(budget_given || cfg.senet.budget > 0,
              "senet pipeline needs a ReLU budget: --budget R (or senet.budget in the config)");
  apply_threads(cfg.threads);
  PipelineResult r = run_pipeline(cfg, cfg.progress);
  std::printf("\n%s", r.text.c_str());
  std::printf("outputs in %s: student.safetensors, masks.json, report.json, report.txt\n",
              cfg.out_dir.c_str());
  if (o.no_plots || !dist::is_writer()) return 0;  // rank 0 draws for a data-parallel run
  switch (draw_run_pictures(cfg.out_dir)) {        // the run is complete whatever happens here
    case PlotOutcome::Drawn: break;
    case PlotOutcome::NotInstalled:
      std::fprintf(stderr,
                   "pictures not drawn: they need python3-matplotlib (apt-get install "
                   "python3-matplotlib, then: senet plot %s)\n",
                   cfg.out_dir.c_str());
      break;
    case PlotOutcome::Failed:
      std::fprintf(stderr,
                   "pictures not drawn (the reason is above); the run itself is complete\n");
      break;
  }
  return 0;
}

}  // namespace

Command add_pipeline(CLI::App& senet) {
  auto o = std::make_shared<PipelineOptions>();
  CLI::App* sub = senet.add_subcommand(
      "pipeline", "SENet: teacher → sensitivity → allocation → mask search → fine-tuning");
  sub->footer(
      "Runs SENet end to end in <out_dir>; a rerun resumes at the first unfinished stage.\n"
      "Outputs: student.safetensors, masks.json (kept indices per site), report.json, report.txt,\n"
      "and its pictures allocation.png, training.png (senet plot; needs python3-matplotlib).\n"
      "Config: defaults <- --config FILE <- --set, the shortcuts, --budget, --teacher and "
      "--method,\n"
      "in command-line order.\n"
      "Example: senet pipeline --config configs/fmnist_senet.json --budget 4000 --out runs/x");
  add_key_option(*sub, o->run, "--budget", "senet.budget", KeyValue::integer, "R",
                 "ReLUs the student keeps in its counted sites", integer_at_least(0));
  add_key_option(*sub, o->run, "--teacher", "senet.teacher_checkpoint", KeyValue::text, "CKPT",
                 "use this all-ReLU checkpoint instead of training a teacher", existing_file());
  add_key_option(*sub, o->run, "--method", "senet.method", KeyValue::text, "METHOD",
                 "senet, the SNL baseline, or an ablation (docs/method.md)", choice_of<Method>());
  sub->add_flag("--print-config", o->print, "print the full config and exit");
  sub->add_flag("--no-plots", o->no_plots, "do not draw the run's pictures at the end");
  add_config_options(*sub, o->run,
                     "JSON config (keys as in configs/*.json; defaults fill the rest)");
  add_all_shortcuts(*sub, o->run);
  return {sub, [o] { return run_pipeline_command(*o); }};
}

}  // namespace senet::cli
