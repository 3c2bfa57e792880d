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
