// tools/senet_main.cpp — `senet <command> [options]`: the project's one binary.
// Errors (bad files, configs, budgets, shapes) print "senet: error: <message>" and exit 1.
#include <cstdio>
#include <cstring>
#include <exception>

#include "engine/core/error.h"
#include "engine/cuda/cuda_backend.h"
#include "engine/cuda/cuda_ops.h"
#include "tools/cli.h"
#include "tools/out_of_memory.h"

static const char* kUsage =
    "usage: senet <command> [options]\n"
    "commands:\n"
    "  train     train a model (the all-ReLU teacher) from a JSON config\n"
    "  pipeline  SENet: teacher → sensitivity → allocation → mask search → fine-tuning\n"
    "  cost      ReLUs and estimated PI communication/latency of a checkpoint (delphi, cryptflow2)\n"
    "  eval      evaluate a checkpoint on the validation or test split\n"
    "  pi-measure  measured 2PC cost under SecretFlow SPU (needs tools/pi/setup_pi.sh)\n"
    "  summary   print a model's ReLU sites (C×H×W, ReLUs), parameters and MACs\n"
    "  info      print the CPU/BLAS configuration the engine uses\n"
    "Run 'senet <command> --help' for the options of a command.\n";

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  // `--device cuda` brings up the CUDA glue this binary links (tools/CMakeLists.txt) on first use.
  senet::set_cuda_initializer([] {
    if (senet::cuda::init().emulated)
      std::fputs("senet: warning: device 'cuda' is emulated on the CPU in this build (no nvcc); "
                 "results are exact but ~100x slower than --device cpu\n", stderr);
  });
  std::string cmd = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  try {
    if (cmd == "train") return senet::cli::cmd_train(args);
    if (cmd == "pipeline") return senet::cli::cmd_pipeline(args);
    if (cmd == "cost") return senet::cli::cmd_cost(args);
    if (cmd == "eval") return senet::cli::cmd_eval(args);
    if (cmd == "summary") return senet::cli::cmd_summary(args);
    if (cmd == "info") return senet::cli::cmd_info(args);
    if (cmd == "pi-measure") return senet::cli::cmd_pi_measure(args);
    std::fprintf(stderr, "senet: error: unknown command '%s'\n%s", cmd.c_str(), kUsage);
    return 2;
  } catch (const senet::Error& e) {
    std::fprintf(stderr, "\nsenet: error: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    size_t bytes = senet::cli::last_failed_allocation();
    if (bytes)
      std::fprintf(stderr,
                   "\nsenet: error: out of host memory: an allocation of %zu bytes (%.1f MiB) "
                   "failed; reduce train.batch_size or model.width, or raise the memory limit "
                   "(ulimit -v)\n",
                   bytes, double(bytes) / (1 << 20));
    else
      std::fprintf(stderr, "\nsenet: error: out of host memory; reduce train.batch_size or "
                   "model.width, or raise the memory limit (ulimit -v)\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "\nsenet: error: %s\n", e.what());
    return 1;
  }
}
