// tools/bench/cases/cases.h — the case of every kernel registry entry (kernels/registry.h), keyed
// "name/version": the hooks of cases_conv.cu (conv2d fprop / dgrad / wgrad, the BatchNorm family,
// the fused conv → BN → masked ReLU forward, inference and backward) and cases_other.cu (elementwise,
// reductions, GEMM, FC head, losses, activations, optimizers, mask search).
// Rule: one case per registry entry and no case without one — test_kernel_registry checks both,
// runs every case that is not gpu_only on the small layer shapes, and bench_kernels reports an
// entry without a case as a FAIL row. Adding a kernel or a version: its registry entry in
// kernels/registry.cu, then its hook in the family's cases_*.cu.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "kernels/registry.h"
#include "tools/bench/cases/kernel_case.h"

namespace senet::cases {

std::string case_key(const kernel_entry& e);  // "name/version"
// The case of a registry entry, or nullptr when it has none.
const Hook* kernel_case(const kernel_entry& e);
const Hook* kernel_case(const std::string& key);
// Every case key, sorted.
std::vector<std::string> kernel_case_keys();

// The family files' hooks, added to the map kernel_case() looks up.
using HookMap = std::map<std::string, Hook>;
void add_conv_cases(HookMap& h);
void add_other_cases(HookMap& h);

}  // namespace senet::cases
