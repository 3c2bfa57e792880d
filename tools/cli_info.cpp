// tools/cli_info.cpp — `senet summary` (per-site ReLU table) and `senet info` (CPU/BLAS setup):
// their options (CLI11 subcommands, tools/cli.h) and what they run.
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>

#include "engine/core/parallel.h"
#include "engine/cpu/blas.h"
#include "engine/cpu/cpu_isa.h"
#include "engine/io/safetensors.h"
#include "senet/checkpoint.h"
#include "tools/cli.h"
#include "tools/cli11_helpers.h"

namespace senet::cli {

namespace {

struct SummaryOptions {
  RunOptions run;
  std::string model, checkpoint;  // MODEL shortcut; --checkpoint FILE
};

bool all_digits(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

// The overrides a MODEL shortcut stands for; empty when it is none of resnet18, resnet34, wrn-D-K.
std::vector<std::string> model_overrides(const std::string& m) {
  std::vector<std::string> out;
  if (m == "resnet18" || m == "resnet34") {
    out = {"model.arch=\"" + m + "\""};
  } else if (m.rfind("wrn-", 0) == 0) {
    auto dash = m.find('-', 4);
    if (dash == std::string::npos) return {};
    std::string depth = m.substr(4, dash - 4), k = m.substr(dash + 1);
    if (!all_digits(depth) || !all_digits(k)) return {};
    out = {"model.arch=\"wrn\"", "model.wrn_depth=" + depth, "model.wrn_k=" + k};
  } else {
    return {};
  }
  out.insert(out.end(), {"model.in_channels=3", "model.image_size=32"});  // CIFAR shapes
  return out;
}

int run_summary(const SummaryOptions& o) {
  nlohmann::json j;
  io::StFile f;
  if (!o.checkpoint.empty()) {
    f = read_model_file(o.checkpoint);
    j = checkpoint_config(f, o.checkpoint, o.run);
  } else {
    // defaults ← --config FILE ← MODEL ← --set, in that order.
    std::vector<std::string> overrides = model_overrides(o.model);
    overrides.insert(overrides.end(), o.run.overrides.begin(), o.run.overrides.end());
    j = load_config_json(o.run.config_path, overrides);
  }
  RunConfig cfg = from_json(j);
  auto model = models::make_model(cfg.model);
  if (!o.checkpoint.empty()) load_model_state(f, *model);
  std::printf("%s (width %.3g, input %d×%d×%d, %d classes)\n",
              cfg.model.arch == models::Arch::WRN ? ("WRN-" + std::to_string(cfg.model.wrn_depth) +
                                                     "-" + std::to_string(cfg.model.wrn_k))
                                                        .c_str()
                                                  : std::string(enum_name(cfg.model.arch)).c_str(),
              cfg.model.width, cfg.model.in_channels, cfg.model.image_size, cfg.model.image_size,
              cfg.model.num_classes);
  std::fputs(model->summary().c_str(), stdout);
  return 0;
}

int run_info() {
  const auto& b = cpu::blas_info();
  std::printf(
      "threads: %d\ncpu features: %s\ncpu kernels: %s (AVX-512 ones %s)\nopenblas library: %s\n"
      "openblas config: %s\nopenblas core: %s\nOPENBLAS_CORETYPE: %s (%s)\n",
      num_threads(), b.cpu_features.c_str(), cpu::isa_name(cpu::cpu_isa()),
      cpu::avx512_kernels_built() ? "built" : "not in this build: SENET_CPU_AVX512=OFF",
      b.library.c_str(), b.config.c_str(), b.core.c_str(),
      b.coretype.empty() ? "(library default)" : b.coretype.c_str(),
      b.coretype_from_user ? "set by the user" : "chosen by the engine from CPUID");
  // The address space the process already holds (shared libraries: OpenBLAS, and cuBLAS/cudart in
  // an nvcc build, reserve hundreds of MiB): what a `ulimit -v` must leave room above.
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmSize:", 0) == 0) {
      std::printf("address space at start: %lld MiB (VmSize)\n",
                  std::atoll(line.c_str() + 7) / 1024);
      break;
    }
  return 0;
}

}  // namespace

Command add_summary(CLI::App& senet) {
  auto o = std::make_shared<SummaryOptions>();
  CLI::App* sub = senet.add_subcommand(
      "summary", "print a model's ReLU sites (C×H×W, ReLUs), parameters and MACs");
  sub->footer(
      "Prints the ReLU sites (name, C×H×W, ReLUs, keep %), parameter count and MACs.\n"
      "Config: defaults <- --config FILE <- MODEL <- --set; with --checkpoint, the model and "
      "masks\n"
      "come from the checkpoint: defaults <- its stored config <- --config FILE <- --set (a file\n"
      "from another tool, without a stored config, needs --config or --set model.*:\n"
      "docs/interop.md).\n"
      "Examples: senet summary resnet18;  senet summary wrn-22-8 --set model.final_site=false");
  auto* model =
      sub->add_option("MODEL", o->model,
                      "a model with CIFAR shapes (32×32×3): resnet18, resnet34 or wrn-DEPTH-K "
                      "(e.g. wrn-22-8)")
          ->type_name("")
          ->check(CLI::Validator(
              [](std::string& m) -> std::string {
                if (!model_overrides(m).empty()) return std::string();
                return "expected resnet18, resnet34 or wrn-DEPTH-K (e.g. wrn-22-8), got '" + m +
                       "'";
              },
              "", "MODEL"));
  sub->add_option("--checkpoint", o->checkpoint, "summarise this checkpoint (its model and masks)")
      ->type_name("FILE")
      ->check(existing_file())
      ->excludes(model);
  add_config_options(*sub, o->run,
                     "JSON config (with --checkpoint: merged over its stored config)");
  return {sub, [o] { return run_summary(*o); }};
}

Command add_info(CLI::App& senet) {
  CLI::App* sub = senet.add_subcommand("info", "print the CPU/BLAS configuration the engine uses");
  sub->footer(
      "Prints the threads, CPU features, the OpenBLAS configuration and the address space the\n"
      "process holds at start.");
  return {sub, [] { return run_info(); }};
}

}  // namespace senet::cli
