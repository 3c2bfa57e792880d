// tests/fuzz/replay_main.cpp — main() for a fuzz target in the normal (non-libFuzzer) build: runs
// LLVMFuzzerTestOneInput once on every file named on the command line or found (sorted, not
// recursively) in a folder named there. CTest runs it over corpus/<format>/ and
// regressions/<format>/, so every input that once crashed a parser keeps being replayed in CI.
// A folder that does not exist is skipped (a format with no regressions yet); no input at all is
// an error. A finding aborts the process, which fails the test.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  std::vector<fs::path> files;
  for (int a = 1; a < argc; ++a) {
    const fs::path p(argv[a]);
    if (fs::is_directory(p)) {
      std::vector<fs::path> in_dir;
      for (const auto& e : fs::directory_iterator(p))
        if (e.is_regular_file() && e.path().filename().string()[0] != '.')
          in_dir.push_back(e.path());
      std::sort(in_dir.begin(), in_dir.end());
      files.insert(files.end(), in_dir.begin(), in_dir.end());
    } else if (fs::is_regular_file(p)) {
      files.push_back(p);
    } else {
      std::printf("replay: %s: not present, skipped\n", p.c_str());
    }
  }
  if (files.empty()) {
    std::fprintf(stderr, "replay: no input files (expected corpus files in the folders given)\n");
    return 1;
  }
  for (const auto& p : files) {
    std::ifstream in(p, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "replay: cannot read '%s'\n", p.c_str());
      return 1;
    }
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                  std::istreambuf_iterator<char>());
    // A real buffer even for an empty file, so the target never sees a null pointer.
    std::vector<uint8_t> buf(bytes.begin(), bytes.end());
    buf.reserve(1);
    LLVMFuzzerTestOneInput(buf.data(), buf.size());
  }
  std::printf("replay: %zu inputs, no finding\n", files.size());
  return 0;
}
