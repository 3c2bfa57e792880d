// senet/pipeline.h — `senet pipeline`: the whole SENet method in one resumable command.
//   0 teacher      train the all-ReLU model (or load senet.teacher_checkpoint)   out/teacher/
//   1 sensitivity  sparse-momentum copy → per-site η = 1 − density               out/sensitivity.json
//   2 allocation   water-filling of the budget R over η (Σ r_l = R exactly)      out/allocation.json
//   3 mask search  stage 2: student from the teacher, random masks, CE+KD, top-r  out/stage2/
//   4 fine-tune    stage 3: masks frozen, CE + KD + PRAM                          out/stage3/
// Each stage writes its result atomically; a rerun skips finished stages and resumes an unfinished
// one from its last per-epoch checkpoint. Outputs: out/student.safetensors (weights + masks),
// out/report.json and report.txt (per-site name, size, η, allocated, kept, keep %; accuracies),
// out/masks.json (per-site kept indices for a PI runtime).
// senet.method picks the baselines of docs/method.md §Baselines instead (report.json says which):
//   uniform       allocate_uniform (same keep fraction everywhere, no stage 1), then stages 2–3
//   random_masks  SENet's allocation with seeded random masks, no stage 2 (out/stage2 never made)
//   no_pram       SENet with the stage-3 PRAM weight forced to 0
//   snl           teacher → out/snl/ (senet/snl.h: α per ReLU, λ·Σ|α| until the count ≤ budget,
//                 binarised) → stage 3 with CE + KD only; its ReLU count is reported as reached,
//                 not forced to the budget
// An out_dir belongs to one method (out/method.json): rerunning it under another is an error.
// Dynamic channel reduction (model.width_factors, e.g. [0.5, 1]): stages 0–2 run plain models;
// stage 3 trains the student at every factor against the full-width teacher, and the report gains
// one row per factor ("widths": ReLU count, MACs, val/test accuracy, test-evaluation time). A
// finished stage 3 for other factors is an error (delete out/stage3 to redo it).
#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "senet/config.h"

namespace senet {

struct PipelineResult {
  nlohmann::json report;
  std::string text;  // the per-site table and accuracies, as printed
};

PipelineResult run_pipeline(const RunConfig& cfg, bool progress);

}  // namespace senet
