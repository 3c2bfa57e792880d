// senet/pi_cost.h — what a model would cost in two-party private inference (PI), per named protocol.
// ReLUs dominate the online cost of hybrid PI protocols (linear layers run on secret shares with
// HE-prepared correlations, cheap online), so the estimate is linear in the ReLU count:
//     online bytes  = R · b_on      preprocessing bytes = R · b_off      online time = R · t_on
// with R the ReLUs evaluated: every site, counted (masked) and fixed (outside the budget) alike.
// The linear layers are reported as their MAC count only (no per-MAC cost model).
// The delphi and cryptflow2 constants are ORDER-OF-MAGNITUDE estimates derived below from each
// protocol's construction, not numbers copied from a table of the papers; the spu-* constants are
// measured here; a `custom` protocol takes user-given constants.
//
// delphi — DELPHI (Mishra et al., "Delphi: A Cryptographic Inference Service for Neural Networks",
//   USENIX Security 2020): ReLU as a Yao garbled circuit over ℓ = 41-bit shares (DELPHI's prime
//   field), κ = 128-bit wire labels (16 B), half-gates garbling (2 ciphertexts = 32 B per AND gate).
//   The circuit (add the two shares mod p, take the sign, ReLU, re-share) has ≈ 5ℓ = 205 AND gates
//   → preprocessing (garbled tables sent before the input is known) ≈ 205 · 32 B = 6,560 B.
//   Online the server sends the labels of its ℓ share bits: ℓ · 16 B = 656 B.
//   Online time ≈ 20 µs per ReLU: ~205 AND evaluations at ~50 ns (2 AES-NI calls) ≈ 10 µs plus
//   656 B at 1 Gbit/s ≈ 5 µs, rounded up: the order docs/method.md §Why ReLUs gives (about 20 µs
//   and a few KB per ReLU).
// cryptflow2 — CrypTFlow2 (Rathee et al., "CrypTFlow2: Practical 2-Party Secure Inference",
//   ACM CCS 2020), SCI_OT: ReLU(x) = x · DReLU(x) on ℓ = 32-bit shares with IKNP OT extension,
//   λ = 128. DReLU is the millionaires' protocol with 4-bit leaves: on the order of λ bits per input
//   bit, ≈ λ·ℓ bits = 512 B; the multiplexer is two 1-of-2 OTs of ℓ-bit strings, ≈ 2(λ + 2ℓ) bits
//   = 48 B → 560 B online, no input-independent preprocessing beyond once-per-session base OTs.
//   Online time ≈ 5 µs: communication-bound, 560 B at 1 Gbit/s ≈ 4.5 µs (LAN).
// spu-semi2k, spu-cheetah — MEASURED, not derived: SecretFlow SPU 0.9.5 (ring 2⁶⁴, 18 fractional
//   bits), two parties, batch 1, under `senet pi-measure` (tools/pi/, docs/results_pi.md): every
//   site's steady-state traffic is exactly 144 B per ReLU under SEMI2K (72 B each way; Beaver
//   triples from a trusted first party, so no preprocessing traffic between the two) and 98.5 B
//   per ReLU under CHEETAH (k ≥ 1,024; small sites add 0.2–0.3 kB each), independent of the model.
//   Time: those bytes at 1 Gbit/s (the measured local times on the project's shared 2-core VM do
//   not separate ReLU cost from scheduling noise). Only valid when each site is evaluated compacted
//   (one batched ReLU over the kept positions): a public `where` mask costs the all-ReLU bytes.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/model.h"

namespace senet {

struct PiProtocol {
  std::string name, description;
  double online_bytes_per_relu = 0, offline_bytes_per_relu = 0, online_seconds_per_relu = 0;
};

const std::vector<PiProtocol>& pi_protocols();  // delphi, cryptflow2, spu-semi2k, spu-cheetah
const PiProtocol& find_pi_protocol(const std::string& name);  // error lists the known names

// One site's ReLUs as PI evaluates them.
struct SiteRelus {
  std::string site;
  int64_t size = 0;     // C·H·W
  int64_t relus = 0;    // ReLUs evaluated (kept positions; size() for a fixed or all-ReLU site)
  bool counted = true;  // in the budget (else a fixed full ReLU)
};
std::vector<SiteRelus> site_relus(const models::Model& m, bool all_relu = false);

struct SiteCost {
  SiteRelus relus;
  double online_bytes = 0, offline_bytes = 0, online_seconds = 0;
};
struct PiCost {
  std::string protocol;
  std::vector<SiteCost> sites;
  int64_t relus = 0, macs = 0;
  double online_bytes = 0, offline_bytes = 0, online_seconds = 0;
};

PiCost estimate_pi_cost(const std::vector<SiteRelus>& sites, int64_t macs, const PiProtocol& p);
nlohmann::json to_json(const PiCost& c);

// The per-site table of `model` and its totals next to the all-ReLU model's, with the ratio.
std::string format_pi_cost(const PiCost& model, const PiCost& all_relu, const PiProtocol& p);

}  // namespace senet
