// tools/bench/cases/cases.cu — the lookup of cases.h over the hooks of the family files, built once.
#include "tools/bench/cases/cases.h"

namespace senet::cases {

namespace {

const HookMap& all_cases() {
  static const HookMap h = [] {
    HookMap m;
    add_conv_cases(m);
    add_other_cases(m);
    return m;
  }();
  return h;
}

}  // namespace

std::string case_key(const kernel_entry& e) { return std::string(e.name) + "/" + e.version; }

const Hook* kernel_case(const std::string& key) {
  const HookMap& h = all_cases();
  auto it = h.find(key);
  return it == h.end() ? nullptr : &it->second;
}

const Hook* kernel_case(const kernel_entry& e) { return kernel_case(case_key(e)); }

std::vector<std::string> kernel_case_keys() {
  std::vector<std::string> keys;
  for (const auto& [k, hook] : all_cases()) keys.push_back(k);
  return keys;
}

}  // namespace senet::cases
