// tools/cli11_helpers.h — CLI11 helpers shared by `senet` and the CPU benchmarks (tools/bench/):
// validators for typed options whose messages say what was expected ("--threads: expected an
// integer ≥ 0, got 'x'"), and parse_or_exit for a benchmark's command line.
// CLI11's own conversions are lenient where a user would not expect it (an integer is read with
// base 0, so "010" is 8 and "0x10" is 16; PositiveNumber's message prints DBL_MAX in full), so
// these validators parse with std::from_chars (decimal only, the whole text, no "inf"/"nan") and
// rewrite an integer to its canonical decimal form before CLI11 converts it. Header-only: the
// benchmarks use it without linking the `senet` binary's objects.
#pragma once
#include <CLI/CLI.hpp>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <system_error>
#include <vector>

#include "engine/core/enum_names.h"

namespace senet::cli {

// An integer ≥ `min`, written in decimal ("+5", "1e3", "0x10" and "3.0" are rejected). Add it with
// Option::transform, not check: CLI11 runs a check on a copy, and the rewrite must reach it.
inline CLI::Validator integer_at_least(int64_t min) {
  return CLI::Validator(
      [min](std::string& text) -> std::string {
        int64_t v = 0;
        const char* end = text.data() + text.size();
        auto [ptr, ec] = std::from_chars(text.data(), end, v);
        if (ec != std::errc() || ptr != end || v < min)
          return "expected an integer ≥ " + std::to_string(min) + ", got '" + text + "'";
        text = std::to_string(v);  // canonical: CLI11 reads integers with base 0 ("010" is 8)
        return std::string();
      },
      "", "integer ≥ " + std::to_string(min));
}

// A finite number ≥ `min` (or > `min` when `strict`), e.g. "0.1", "1e-3", ".5".
inline CLI::Validator number_at_least(double min, bool strict) {
  char bound[32];
  std::snprintf(bound, sizeof bound, "%s %g", strict ? ">" : "≥", min);
  const std::string what = std::string("a number ") + bound;
  return CLI::Validator(
      [min, strict, what](std::string& text) -> std::string {
        double v = 0;
        const char* end = text.data() + text.size();
        auto [ptr, ec] = std::from_chars(text.data(), end, v);
        if (ec != std::errc() || ptr != end || !std::isfinite(v) || v < min || (strict && v == min))
          return "expected " + what + ", got '" + text + "'";
        return std::string();
      },
      "", what);
}

// CLI::ExistingFile without its "FILE" tag in the help (the options' type names say FILE already).
// One of an enum's names, as the config spells them (engine/core/enum_names.h).
template <NamedEnum E>
CLI::Validator choice_of() {
  std::vector<std::string> names;
  for (const auto& [value, name] : EnumNames<E>::table) names.emplace_back(name);
  return CLI::IsMember(names);
}

inline CLI::Validator existing_file() { return CLI::Validator(CLI::ExistingFile).description(""); }

// Parses a benchmark's command line: --help prints the generated help and exits 0; a usage error
// prints "<program>: error: <what>" (CLI11's message naming the option, or the arguments no option
// took, in command-line order) and exits 2.
inline void parse_or_exit(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) std::exit(app.exit(e));
    std::string what = e.what();
    if (dynamic_cast<const CLI::ExtrasError*>(&e)) {
      what = "unexpected arguments:";
      for (const auto& a : app.remaining()) what += " " + a;
    }
    std::fprintf(stderr, "%s: error: %s\nRun '%s --help' for the options.\n",
                 app.get_name().c_str(), what.c_str(), app.get_name().c_str());
    std::exit(2);
  }
}

}  // namespace senet::cli
