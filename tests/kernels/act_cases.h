// tests/kernels/act_cases.h — the activations every test of the BN → act family iterates: none,
// ReLU, and masked ReLU with a per-element (C·H·W) and a per-channel (C) mask.
#pragma once
#include "kernels/act.h"

namespace senet::cudatest {

struct ActCase {
  const char* name;
  Act act;
  bool per_channel;  // masked ReLU: a mask of C bytes instead of C·H·W
};
inline constexpr ActCase kActs[] = {{"none", Act::None, false},
                                    {"relu", Act::ReLU, false},
                                    {"masked_per_element", Act::MaskedReLU, false},
                                    {"masked_per_channel", Act::MaskedReLU, true}};

}  // namespace senet::cudatest
