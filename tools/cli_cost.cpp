// tools/cli_cost.cpp — `senet cost CHECKPOINT [--protocol NAME] [--json]`: per-site and total ReLUs
// and the estimated PI online communication and latency (senet/pi_cost.h), next to the all-ReLU
// model of the same config; its options (a CLI11 subcommand, tools/cli.h) and what it runs. The
// model's config is the checkpoint's, or --config / --set for a file from another tool.
#include <cstdio>
#include <memory>

#include "senet/checkpoint.h"
#include "senet/pi_cost.h"
#include "tools/cli.h"
#include "tools/cli11_helpers.h"

namespace senet::cli {

namespace {

struct CostOptions {
  RunOptions run;
  std::string checkpoint, protocol = "delphi";
  bool json = false;
  double bytes_per_relu = -1, us_per_relu = -1, offline_bytes_per_relu = -1;  // -1: not given
};

int run_cost(const CostOptions& o) {
  PiProtocol p = o.protocol == "custom"
                     ? PiProtocol{"custom", "user-given constants", o.bytes_per_relu,
                                  o.offline_bytes_per_relu < 0 ? 0.0 : o.offline_bytes_per_relu,
                                  o.us_per_relu * 1e-6}
                     : find_pi_protocol(o.protocol);
  io::StFile f = read_model_file(o.checkpoint);
  RunConfig cfg = from_json(checkpoint_config(f, o.checkpoint, o.run));
  auto model = models::make_model(cfg.model);
  load_model_state(f, *model);
  PiCost mine = estimate_pi_cost(site_relus(*model), model->macs(), p);
  PiCost all = estimate_pi_cost(site_relus(*model, /*all_relu=*/true), model->macs(), p);
  if (o.json) {
    nlohmann::json out{
        {"checkpoint", o.checkpoint},
        {"protocol",
         {{"name", p.name},
          {"description", p.description},
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
    std::printf("%s\n%s", o.checkpoint.c_str(), format_pi_cost(mine, all, p).c_str());
  }
  return 0;
}

}  // namespace

Command add_cost(CLI::App& senet) {
  auto o = std::make_shared<CostOptions>();
  CLI::App* sub = senet.add_subcommand(
      "cost", "ReLUs and estimated PI communication/latency of a checkpoint (delphi, cryptflow2)");
  sub->footer(
      "Prints each ReLU site's ReLUs and the estimated private-inference online communication and\n"
      "latency under a named protocol, the linear layers' MACs, and the same for the all-ReLU "
      "model\n"
      "of the checkpoint's config (the ratio). Protocols (per-ReLU constants and their sources in\n"
      "senet/pi_cost.h and docs/pi_cost.md):\n"
      "  delphi       DELPHI (Mishra et al., USENIX Security 2020), garbled-circuit ReLU "
      "(derived)\n"
      "  cryptflow2   CrypTFlow2 (Rathee et al., CCS 2020), OT-based ReLU (derived)\n"
      "  spu-semi2k   SecretFlow SPU SEMI2K, 144 B per ReLU (measured by senet pi-measure)\n"
      "  spu-cheetah  SecretFlow SPU CHEETAH, 98.5 B per ReLU (measured by senet pi-measure)\n"
      "  custom       your own constants: --bytes-per-relu B --us-per-relu T "
      "[--offline-bytes-per-relu B]\n"
      "Config: defaults <- the checkpoint's stored config <- --config FILE <- --set (a file from\n"
      "another tool, without a stored config, needs --config or --set model.*: docs/interop.md).");
  sub->add_option("CHECKPOINT", o->checkpoint, "the checkpoint (.safetensors)")
      ->type_name("")
      ->required()
      ->check(existing_file());
  std::vector<std::string> protocols;
  for (const auto& p : pi_protocols()) protocols.push_back(p.name);
  protocols.push_back("custom");
  sub->add_option("--protocol", o->protocol, "the PI protocol whose per-ReLU costs are used")
      ->type_name("NAME")
      ->check(CLI::IsMember(protocols))
      ->capture_default_str();
  sub->add_flag("--json", o->json, "print JSON instead of the table");
  add_config_options(*sub, o->run,
                     "JSON config merged over the checkpoint's stored config (a file from another "
                     "tool has none: its model keys)");
  auto* bytes = sub->add_option("--bytes-per-relu", o->bytes_per_relu,
                                "custom: online bytes per ReLU (both parties)")
                    ->type_name("B")
                    ->check(number_at_least(0, /*strict=*/false));
  auto* us =
      sub->add_option("--us-per-relu", o->us_per_relu, "custom: online microseconds per ReLU")
          ->type_name("T")
          ->check(number_at_least(0, /*strict=*/false));
  auto* offline = sub->add_option("--offline-bytes-per-relu", o->offline_bytes_per_relu,
                                  "custom: offline (preprocessing) bytes per ReLU (default 0)")
                      ->type_name("B")
                      ->check(number_at_least(0, /*strict=*/false));
  // The constants go with --protocol custom, and custom needs the two online ones: checked once
  // parsed, as usage errors.
  sub->callback([o, bytes, us, offline] {
    bool any = bytes->count() + us->count() + offline->count() > 0;
    if (o->protocol == "custom" && (!bytes->count() || !us->count()))
      throw CLI::ValidationError("--protocol custom", "needs --bytes-per-relu and --us-per-relu");
    if (o->protocol != "custom" && any)
      throw CLI::ValidationError("--bytes-per-relu, --us-per-relu, --offline-bytes-per-relu",
                                 "go with --protocol custom");
  });
  return {sub, [o] { return run_cost(*o); }};
}

}  // namespace senet::cli
