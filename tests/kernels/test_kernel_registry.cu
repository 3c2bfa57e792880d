// tests/kernels/test_kernel_registry.cu — every entry of kernels/registry.h through its case in the
// kernel-case library (tools/bench/cases/cases.h), the cases bench_kernels checks and times:
//   KernelRegistry.EveryEntryHasACaseAndEveryCaseAnEntry   the registry and the cases name the same
//                  "name/version" keys, one case each
//   Entries/RegistryCase.PassesItsCheck/<name>_<version>    each entry that is not gpu_only, on
//                  every small layer shape of its domain (tools/bench/layer_shapes.h: channels ÷8,
//                  spatial ÷4) at N = 2 — what `bench_kernels_emu --check-only --small` runs — its
//                  first launch against the CPU backend, with the tolerance its case names
//   KernelRegistry.SplitVersionsReportTheirSlices   the split-K entries' slice counts (the
//                  bench's "splits=N"), their plans' on a layer that splits and one that does not
//   KernelBaselines.EachHasACaseOrAReasonAndNoneIsARegistryEntry   the bench's baseline rows
//                  (tools/bench/cases/baselines.h): runnable or saying why, none a registry key
//   KernelBaselines.UnfusedChainPassesItsCheck   the unfused chain (conv2d_fprop v5 → bn_stats →
//                  bn_finalize → scale_shift_mrelu) on every small conv shape at N = 2, its first
//                  launch against the CPU backend (the cuDNN baselines need the nvcc build)
// Built by g++ against the emulation only (senet_kernel_cases_emu; label registry, the default
// schedule): the per-kernel tests (test_kernels_*.cu) hold the edge shapes, schedules and bounds.
#include <gtest/gtest.h>

#include <cctype>
#include <set>
#include <string>
#include <vector>

#include "kernels/conv2d_dgrad.h"
#include "kernels/registry.h"
#include "tools/bench/cases/baselines.h"
#include "tools/bench/cases/cases.h"
#include "tools/bench/cases/kernel_case.h"
#include "tools/bench/layer_shapes.h"

using namespace senet;
using namespace senet::cases;

namespace {

std::vector<const kernel_entry*> emulated_entries() {
  size_t n = 0;
  const kernel_entry* reg = kernel_registry(&n);
  std::vector<const kernel_entry*> v;
  for (size_t i = 0; i < n; ++i)
    if (!reg[i].gpu_only) v.push_back(&reg[i]);
  return v;
}

TEST(KernelRegistry, EveryEntryHasACaseAndEveryCaseAnEntry) {
  size_t n = 0;
  const kernel_entry* reg = kernel_registry(&n);
  ASSERT_GT(n, 0u);
  std::set<std::string> entries;
  for (size_t i = 0; i < n; ++i) {
    const std::string key = case_key(reg[i]);
    EXPECT_TRUE(entries.insert(key).second) << key << ": two registry entries";
    EXPECT_NE(kernel_case(reg[i]), nullptr) << key << ": no case in tools/bench/cases/";
  }
  const std::vector<std::string> keys = kernel_case_keys();
  for (const std::string& k : keys)
    EXPECT_EQ(entries.count(k), 1u) << k << ": a case that names no registry entry";
  EXPECT_EQ(keys.size(), entries.size());
}

// The split-K versions (and only they) say how many slices they run: each its own plan's count
// (conv2d_fprop_splits / conv2d_dgrad_splits for its version). ResNet-18's layer4 at N = 128 (64
// blocks of 128×128 for 132 SMs) splits in both passes, layer1 (1,024 blocks) in neither, and the
// strided layer4.0.conv1 splits fprop but not dgrad (strided dgrad runs the phases, unsplit).
TEST(KernelRegistry, SplitVersionsReportTheirSlices) {
  size_t n = 0;
  const kernel_entry* reg = kernel_registry(&n);
  const Conv2dGeom layer4 = conv2d_geom(128, 512, 4, 4, 512, 3, 3, 1, 1);
  const Conv2dGeom layer1 = conv2d_geom(128, 64, 32, 32, 64, 3, 3, 1, 1);
  const Conv2dGeom layer4_0 = conv2d_geom(128, 256, 8, 8, 512, 3, 3, 2, 1);
  int split_versions = 0;
  for (size_t i = 0; i < n; ++i) {
    const std::string name = reg[i].name, version = reg[i].version;
    const bool fprop = name == "conv2d_fprop", dgrad = name == "conv2d_dgrad";
    const bool split = version.find("split_k") != std::string::npos && (fprop || dgrad);
    EXPECT_EQ(reg[i].splits != nullptr, split) << case_key(reg[i]);
    if (!reg[i].splits) continue;
    ++split_versions;
    for (const Conv2dGeom& p : {layer4, layer1, layer4_0}) {
      int own = -1;  // the version's own plan
      if (fprop)
        for (conv2d_fprop_version v : kConv2dFpropVersions)
          if (version == conv2d_fprop_version_name(v)) own = conv2d_fprop_splits(p, v);
      if (dgrad)
        for (conv2d_dgrad_version v : kConv2dDgradVersions)
          if (version == conv2d_dgrad_version_name(v)) own = conv2d_dgrad_splits(p, v);
      EXPECT_EQ(reg[i].splits(p), own) << case_key(reg[i]);
    }
    EXPECT_GT(reg[i].splits(layer4), 1) << case_key(reg[i]);
    EXPECT_EQ(reg[i].splits(layer1), 1) << case_key(reg[i]);
    EXPECT_EQ(reg[i].splits(layer4_0) > 1, fprop) << case_key(reg[i]);
  }
  EXPECT_EQ(split_versions, 6);  // fprop v6, v8, v9; dgrad v7, v8, v9
}

TEST(KernelBaselines, EachHasACaseOrAReasonAndNoneIsARegistryEntry) {
  const std::vector<std::string> keys = kernel_case_keys();
  const std::set<std::string> registry(keys.begin(), keys.end());
  ASSERT_FALSE(conv_baselines().empty());
  for (const Baseline& b : conv_baselines()) {
    const std::string key = b.name + "/" + b.version;
    EXPECT_EQ(baseline_case(key), &b) << key << ": two baselines";
    EXPECT_EQ(registry.count(key), 0u) << key << ": a baseline that is a registry entry";
    EXPECT_NE(bool(b.hook), !b.unavailable.empty()) << key << ": a case, or why none";
  }
}

TEST(KernelBaselines, UnfusedChainPassesItsCheck) {
  const Baseline* b = baseline_case("unfused_chain/fprop_v5+bn_stats+bn_finalize+scale_shift");
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(b->hook) << b->unavailable;
  int shapes = 0;
  for (const bench::layer_shape& s : bench::small_layer_shapes()) {
    if (s.fc()) continue;
    SCOPED_TRACE(s.label());
    ++shapes;
    const Conv2dGeom p = s.params(2);
    Arena arena;  // outlives c (declared first)
    const Case c = b->hook(p, arena);
    ASSERT_EQ(c.launch(), cudaSuccess);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    Check chk;
    c.check(chk);
    EXPECT_TRUE(chk.ok) << chk.detail;
    EXPECT_GT(b->flops(p), 0.0);
    EXPECT_GT(b->bytes(p), 0.0);
  }
  EXPECT_GT(shapes, 0);
}

class RegistryCase : public testing::TestWithParam<const kernel_entry*> {};

TEST_P(RegistryCase, PassesItsCheck) {
  const kernel_entry& e = *GetParam();
  const Hook* hook = kernel_case(e);
  ASSERT_NE(hook, nullptr) << case_key(e) << ": no case in tools/bench/cases/";
  int shapes = 0;
  for (const bench::layer_shape& s : bench::small_layer_shapes()) {
    if ((e.domain == kernel_domain::head) != s.fc()) continue;
    SCOPED_TRACE(s.label());
    ++shapes;
    const Conv2dGeom p = s.params(2);
    Arena arena;  // outlives c (declared first)
    const Case c = (*hook)(p, arena);
    ASSERT_EQ(c.launch(), cudaSuccess);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    Check chk;
    c.check(chk);
    EXPECT_TRUE(chk.ok) << chk.detail;
  }
  EXPECT_GT(shapes, 0) << "no small layer shape of domain " << kernel_domain_name(e.domain);
}

INSTANTIATE_TEST_SUITE_P(Entries, RegistryCase, testing::ValuesIn(emulated_entries()),
                         [](const testing::TestParamInfo<const kernel_entry*>& info) {
                           std::string s = case_key(*info.param);
                           for (char& ch : s)
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return s;
                         });

}  // namespace
