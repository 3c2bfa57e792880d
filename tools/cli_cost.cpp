// tools/cli_cost.cpp — `senet cost CHECKPOINT --protocol NAME [--json]`: per-site and total ReLUs
// and the estimated PI online communication and latency (senet/pi_cost.h), next to the all-ReLU
// model of the same config.
#include <cstdio>

#include "senet/checkpoint.h"
#include "senet/pi_cost.h"
#include "tools/cli.h"

namespace senet::cli {

static const char* kCostUsage =
    "usage: senet cost CHECKPOINT [--protocol NAME] [--json]\n"
    "       senet cost CHECKPOINT --protocol custom --bytes-per-relu B --us-per-relu T [--offline-bytes-per-relu B]\n"
    "Prints each ReLU site's ReLUs and the estimated private-inference online communication and\n"
    "latency under a named protocol, the linear layers' MACs, and the same for the all-ReLU model\n"
    "of the checkpoint's config (the ratio). Protocols (per-ReLU constants and their sources in\n"
    "senet/pi_cost.h and docs/pi_cost.md):\n"
    "  delphi       DELPHI (Mishra et al., USENIX Security 2020), garbled-circuit ReLU (default; derived)\n"
    "  cryptflow2   CrypTFlow2 (Rathee et al., CCS 2020), OT-based ReLU (derived)\n"
    "  spu-semi2k   SecretFlow SPU SEMI2K, 144 B per ReLU (measured by senet pi-measure)\n"
    "  spu-cheetah  SecretFlow SPU CHEETAH, 98.5 B per ReLU (measured by senet pi-measure)\n"
    "  custom      your own constants (--bytes-per-relu, --us-per-relu, --offline-bytes-per-relu)\n"
    "  --json      print JSON instead of the table\n";

static double positive_number(const std::string& flag, const std::string& v) {
  double d = 0;
  try {
    size_t used = 0;
    d = std::stod(v, &used);
    SENET_CHECK(used == v.size(), "");
  } catch (...) {
    fail(flag, ": expected a number, got '", v, "'");
  }
  SENET_CHECK(d >= 0, flag, ": expected a number ≥ 0, got ", v);
  return d;
}

int cmd_cost(const std::vector<std::string>& args) {
  std::string ckpt, protocol = "delphi", bytes, us, offline;
  bool as_json = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kCostUsage, stdout);
      return 0;
    }
    if (a == "--json") {
      as_json = true;
      continue;
    }
    std::string* dst = a == "--protocol"                 ? &protocol
                       : a == "--bytes-per-relu"         ? &bytes
                       : a == "--us-per-relu"            ? &us
                       : a == "--offline-bytes-per-relu" ? &offline
                                                         : nullptr;
    if (dst) {
      SENET_CHECK(i + 1 < args.size(), "option ", a, " needs a value (see --help)");
      *dst = args[++i];
      continue;
    }
    SENET_CHECK(a.rfind("--", 0) != 0, "unknown option '", a, "' (see --help)");
    SENET_CHECK(ckpt.empty(), "one checkpoint only (got '", ckpt, "' and '", a, "')");
    ckpt = a;
  }
  SENET_CHECK(!ckpt.empty(), "senet cost needs a checkpoint (see --help)");
  PiProtocol p;
  if (protocol == "custom") {
    SENET_CHECK(!bytes.empty() && !us.empty(),
                "--protocol custom needs --bytes-per-relu and --us-per-relu");
    p = {"custom", "user-given constants", positive_number("--bytes-per-relu", bytes),
         offline.empty() ? 0.0 : positive_number("--offline-bytes-per-relu", offline),
         positive_number("--us-per-relu", us) * 1e-6};
  } else {
    SENET_CHECK(bytes.empty() && us.empty() && offline.empty(),
                "--bytes-per-relu, --us-per-relu and --offline-bytes-per-relu go with --protocol custom");
    p = find_pi_protocol(protocol);
  }

  io::StFile f = read_checkpoint(ckpt);
  auto j = nlohmann::json::parse(metadata_at(f, "config"), nullptr, false);
  SENET_CHECK(!j.is_discarded(), "checkpoint '", ckpt, "': metadata 'config' is not valid JSON");
  RunConfig cfg = from_json(j);
  auto model = models::make_model(cfg.model);
  load_model_state(f, *model);
  PiCost mine = estimate_pi_cost(site_relus(*model), model->macs(), p);
  PiCost all = estimate_pi_cost(site_relus(*model, /*all_relu=*/true), model->macs(), p);
  if (as_json) {
    nlohmann::json out{
        {"checkpoint", ckpt},
        {"protocol", {{"name", p.name}, {"description", p.description},
                      {"online_bytes_per_relu", p.online_bytes_per_relu},
                      {"offline_bytes_per_relu", p.offline_bytes_per_relu},
                      {"online_seconds_per_relu", p.online_seconds_per_relu},
                      {"note", "order-of-magnitude estimates; see senet/pi_cost.h"}}},
        {"model", to_json(mine)},
        {"all_relu", to_json(all)},
        {"relu_ratio", mine.relus > 0 ? nlohmann::json(double(all.relus) / double(mine.relus))
                                      : nlohmann::json(nullptr)}};
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    std::printf("%s\n%s", ckpt.c_str(), format_pi_cost(mine, all, p).c_str());
  }
  return 0;
}

}  // namespace senet::cli
