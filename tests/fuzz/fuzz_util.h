// tests/fuzz/fuzz_util.h — what the fuzz targets share.
//   split_parts: one fuzz input → the several files a format consists of, cut at kPartSeparator
//                (missing parts are empty; the last part keeps any further separators).
//   rejected:    called with each expected error; prints it when SENET_FUZZ_VERBOSE is set (to see
//                why a corpus file is refused: SENET_FUZZ_VERBOSE=1 fuzz_<format>_replay FILE).
//   FUZZ_ASSERT: an invariant of a successfully parsed result; a violation is a finding (abort),
//                like a sanitizer report: the parser accepted the input but returned nonsense.
// The one expected failure is senet::Error, which every parser promises for bad input, with a
// message naming the file and field: each target catches exactly that. Anything else escaping
// (a nlohmann::json type error, std::out_of_range, ...) is a finding, like a sanitizer report.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

namespace senet::fuzz {

inline constexpr const char* kPartSeparator = "\n--8<--\n";

inline std::vector<std::vector<uint8_t>> split_parts(const uint8_t* data, size_t size, size_t n) {
  const std::string sep = kPartSeparator;
  std::vector<std::vector<uint8_t>> parts(n);
  size_t begin = 0;
  for (size_t p = 0; p < n; ++p) {
    size_t end = size;
    if (p + 1 < n) {
      const std::string_view all(reinterpret_cast<const char*>(data), size);
      const size_t at = begin <= size ? all.find(sep, begin) : std::string_view::npos;
      if (at != std::string_view::npos) end = at;
    }
    if (begin < size) parts[p].assign(data + begin, data + end);
    begin = end + sep.size();
  }
  return parts;
}

inline void rejected(const std::exception& e) {
  static const bool verbose = std::getenv("SENET_FUZZ_VERBOSE") != nullptr;
  if (verbose) std::fprintf(stderr, "rejected: %s\n", e.what());
}

inline std::string as_string(const std::vector<uint8_t>& b) {
  return std::string(b.begin(), b.end());
}

}  // namespace senet::fuzz

#define FUZZ_ASSERT(cond)                                                                      \
  do {                                                                                         \
    if (!(cond)) {                                                                             \
      std::fprintf(stderr, "%s:%d: fuzz invariant violated: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                            \
    }                                                                                          \
  } while (0)
