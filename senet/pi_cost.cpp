// senet/pi_cost.cpp — see pi_cost.h (the constants' derivations are there).
#include "senet/pi_cost.h"

#include <cstdio>

#include "engine/core/error.h"

namespace senet {

using json = nlohmann::json;

const std::vector<PiProtocol>& pi_protocols() {
  static const std::vector<PiProtocol> protocols = {
      {"delphi",
       "DELPHI (Mishra et al., USENIX Security 2020): garbled-circuit ReLU, l = 41, 128-bit labels",
       656.0, 6560.0, 20e-6},
      {"cryptflow2",
       "CrypTFlow2 (Rathee et al., CCS 2020) SCI_OT: OT-based millionaires' ReLU, l = 32, IKNP OT",
       560.0, 0.0, 5e-6},
      {"spu-semi2k",
       "SecretFlow SPU 0.9.5 SEMI2K, FM64: measured by senet pi-measure (docs/results_pi.md)",
       144.0, 0.0, 144.0 * 8 / 1e9},
      {"spu-cheetah",
       "SecretFlow SPU 0.9.5 CHEETAH, FM64: measured by senet pi-measure (docs/results_pi.md)",
       98.5, 0.0, 98.5 * 8 / 1e9},
  };
  return protocols;
}

const PiProtocol& find_pi_protocol(const std::string& name) {
  std::string known;
  for (const auto& p : pi_protocols()) {
    if (p.name == name) return p;
    known += (known.empty() ? "" : ", ") + p.name;
  }
  fail("unknown PI protocol '", name, "' (known: ", known, ", or custom with its constants)");
}

std::vector<SiteRelus> site_relus(const models::Model& m, bool all_relu) {
  std::vector<SiteRelus> out;
  for (auto* s : m.sites())
    out.push_back({s->site_name, s->size(), all_relu || !s->counted ? s->size() : s->relu_count(),
                   s->counted});
  return out;
}

PiCost estimate_pi_cost(const std::vector<SiteRelus>& sites, int64_t macs, const PiProtocol& p) {
  PiCost c;
  c.protocol = p.name;
  c.macs = macs;
  for (const auto& s : sites) {
    double r = double(s.relus);
    SiteCost sc{s, r * p.online_bytes_per_relu, r * p.offline_bytes_per_relu,
                r * p.online_seconds_per_relu};
    c.relus += s.relus;
    c.online_bytes += sc.online_bytes;
    c.offline_bytes += sc.offline_bytes;
    c.online_seconds += sc.online_seconds;
    c.sites.push_back(sc);
  }
  return c;
}

json to_json(const PiCost& c) {
  json sites = json::array();
  for (const auto& s : c.sites)
    sites.push_back({{"site", s.relus.site},
                     {"size", s.relus.size},
                     {"relus", s.relus.relus},
                     {"counted", s.relus.counted},
                     {"online_bytes", s.online_bytes},
                     {"offline_bytes", s.offline_bytes},
                     {"online_seconds", s.online_seconds}});
  return json{{"protocol", c.protocol},
              {"relus", c.relus},
              {"macs", c.macs},
              {"online_bytes", c.online_bytes},
              {"offline_bytes", c.offline_bytes},
              {"online_seconds", c.online_seconds},
              {"sites", sites}};
}

static std::string mb(double bytes) {
  char b[32];
  std::snprintf(b, sizeof b, "%.3f MB", bytes * 1e-6);
  return b;
}

std::string format_pi_cost(const PiCost& m, const PiCost& all, const PiProtocol& p) {
  std::string out;
  char line[320];
  std::snprintf(line, sizeof line,
                "protocol %s: %s\nper ReLU: online %.0f B, preprocessing %.0f B, online %.1f µs "
                "(order-of-magnitude estimates; derivation in senet/pi_cost.h)\n\n",
                p.name.c_str(), p.description.c_str(), p.online_bytes_per_relu,
                p.offline_bytes_per_relu, p.online_seconds_per_relu * 1e6);
  out += line;
  std::snprintf(line, sizeof line, "%-4s %-22s %10s %10s %7s %12s %11s\n", "#", "site", "size",
                "ReLUs", "keep%", "online KB", "online ms");
  out += line;
  for (size_t i = 0; i < m.sites.size(); ++i) {
    const SiteCost& s = m.sites[i];
    std::snprintf(line, sizeof line, "%-4zu %-22s %10lld %10lld %6.2f%% %12.1f %11.3f%s\n", i,
                  s.relus.site.c_str(), (long long)s.relus.size, (long long)s.relus.relus,
                  100.0 * double(s.relus.relus) / double(s.relus.size), s.online_bytes * 1e-3,
                  s.online_seconds * 1e3, s.relus.counted ? "" : "  (fixed)");
    out += line;
  }
  auto total = [&](const char* what, const PiCost& c) {
    std::snprintf(line, sizeof line,
                  "%-10s ReLUs %11lld | online %14s, %10.4g s | preprocessing %14s | MACs %lld\n",
                  what, (long long)c.relus, mb(c.online_bytes).c_str(), c.online_seconds,
                  mb(c.offline_bytes).c_str(), (long long)c.macs);
    out += line;
  };
  out += "\n";
  total("this model", m);
  total("all-ReLU", all);
  char ratio[32] = "inf";
  if (m.relus > 0) std::snprintf(ratio, sizeof ratio, "%.2f", double(all.relus) / double(m.relus));
  std::snprintf(line, sizeof line,
                "the all-ReLU model has %s× the ReLUs, communication and online time of this one "
                "(linear layers unchanged: same MACs)\n",
                ratio);
  out += line;
  return out;
}

}  // namespace senet
