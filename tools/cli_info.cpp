// tools/cli_info.cpp — `senet summary` (per-site ReLU table) and `senet info` (CPU/BLAS setup).
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "engine/core/parallel.h"
#include "engine/cpu/blas.h"
#include "engine/io/safetensors.h"
#include "senet/checkpoint.h"
#include "tools/cli.h"

namespace senet::cli {

static const char* kSummaryUsage =
    "usage: senet summary [MODEL] [--config FILE] [--set key=value]... [--checkpoint FILE]\n"
    "Prints the ReLU sites (name, C×H×W, ReLUs, keep %), parameter count and MACs.\n"
    "MODEL is a shortcut: resnet18, resnet34, wrn-22-8, wrn-16-4 (CIFAR shapes, 32×32×3).\n"
    "With --checkpoint, the model and masks come from the checkpoint.\n";

int cmd_summary(const std::vector<std::string>& all) {
  std::vector<std::string> args = all, overrides;
  if (!args.empty() && args[0].rfind("--", 0) != 0) {
    std::string m = args[0];
    args.erase(args.begin());
    if (m == "resnet18" || m == "resnet34") {
      overrides = {"model.arch=" + m};
    } else if (m.rfind("wrn-", 0) == 0) {
      auto dash = m.find('-', 4);
      SENET_CHECK(dash != std::string::npos, "model '", m, "': expected wrn-DEPTH-K, e.g. wrn-22-8");
      overrides = {"model.arch=wrn", "model.wrn_depth=" + m.substr(4, dash - 4),
                   "model.wrn_k=" + m.substr(dash + 1)};
    } else {
      fail("unknown model '", m, "' (expected resnet18, resnet34 or wrn-D-K)");
    }
    overrides.insert(overrides.end(), {"model.in_channels=3", "model.image_size=32"});
  }
  std::string config_path, ckpt;
  std::vector<std::string> more;
  if (!parse_run_flags(args, kSummaryUsage, config_path, more, {{"--checkpoint", &ckpt}}, {}))
    return 0;
  overrides.insert(overrides.end(), more.begin(), more.end());
  nlohmann::json j;
  io::StFile f;
  if (!ckpt.empty()) {
    f = read_checkpoint(ckpt);
    j = nlohmann::json::parse(metadata_at(f, "config"), nullptr, false);
    SENET_CHECK(!j.is_discarded(), "checkpoint '", ckpt, "': metadata 'config' is not valid JSON");
    for (const auto& o : overrides) set_dotted(j, o);
  } else {
    j = load_config_json(config_path, overrides);
  }
  RunConfig cfg = from_json(j);
  auto model = models::make_model(cfg.model);
  if (!ckpt.empty()) load_model_state(f, *model);
  std::printf("%s (width %.3g, input %d×%d×%d, %d classes)\n",
              cfg.model.arch == "wrn" ? ("WRN-" + std::to_string(cfg.model.wrn_depth) + "-" +
                                         std::to_string(cfg.model.wrn_k)).c_str()
                                      : cfg.model.arch.c_str(),
              cfg.model.width, cfg.model.in_channels, cfg.model.image_size, cfg.model.image_size,
              cfg.model.num_classes);
  std::fputs(model->summary().c_str(), stdout);
  return 0;
}

int cmd_info(const std::vector<std::string>& args) {
  for (const auto& a : args)
    if (a == "--help" || a == "-h") {
      std::puts("usage: senet info\nPrints the threads, CPU features, the OpenBLAS configuration and the address space\nthe process holds at start.");
      return 0;
    }
  const auto& b = cpu::blas_info();
  std::printf("threads: %d\ncpu features: %s\nopenblas library: %s\nopenblas config: %s\n"
              "openblas core: %s\nOPENBLAS_CORETYPE: %s (%s)\n",
              num_threads(), b.cpu_features.c_str(), b.library.c_str(), b.config.c_str(),
              b.core.c_str(), b.coretype.empty() ? "(library default)" : b.coretype.c_str(),
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

}  // namespace senet::cli
