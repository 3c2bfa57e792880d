// models/width_switch.cpp — factor names and checks of width-switchable models (width_switch.h).
#include "models/width_switch.h"

#include <cctype>
#include <cmath>
#include <cstdio>

#include "engine/core/error.h"

namespace senet::models {

int width_percent(float s, const std::string& where) {
  double p = double(s) * 100.0;
  long r = std::lround(p);
  SENET_CHECK(s > 0 && s <= 1 && std::abs(p - double(r)) < 1e-3, where, ": width factor ", s,
              " must be a multiple of 0.01 in (0, 1]");
  return int(r);
}

std::string width_set_name(int percent) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "w%03d", percent);
  return buf;
}

std::string full_width_name(const std::string& name) {
  for (size_t i = name.find(".w"); i != std::string::npos; i = name.find(".w", i + 1))
    if (i + 6 <= name.size() && std::isdigit((unsigned char)name[i + 2]) &&
        std::isdigit((unsigned char)name[i + 3]) && std::isdigit((unsigned char)name[i + 4]) &&
        name[i + 5] == '.')
      return name.substr(0, i) + name.substr(i + 5);
  return "";
}

void check_width_factors(const std::vector<float>& factors, const std::string& where) {
  if (factors.empty()) return;
  int prev = 0;
  for (float s : factors) {
    int p = width_percent(s, where);
    SENET_CHECK(p > prev, where, ": width factors must be strictly increasing, got ", s, " after ",
                prev / 100.0);
    prev = p;
  }
  SENET_CHECK(prev == 100, where, ": the width factors must include 1 (the full-width model)");
}

}  // namespace senet::models
