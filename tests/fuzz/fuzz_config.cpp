// tests/fuzz/fuzz_config.cpp — libFuzzer target: a run config as the user hands it to `senet`:
// the --config JSON file, then (after the part separator, fuzz_util.h) one `--set key=value`
// override per line, through parse_config_json (= load_config_json without the file read).
// An accepted config must convert to RunConfig and back to the same JSON, and dump as text.
#include "engine/core/error.h"
#include "senet/config.h"
#include "tests/fuzz/fuzz_util.h"

using namespace senet;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto parts = fuzz::split_parts(data, size, 2);
  std::vector<std::string> overrides;
  {
    const std::string sets = fuzz::as_string(parts[1]);
    size_t begin = 0;
    while (begin < sets.size()) {
      size_t end = sets.find('\n', begin);
      if (end == std::string::npos) end = sets.size();
      overrides.push_back(sets.substr(begin, end - begin));
      begin = end + 1;
    }
  }
  nlohmann::json j;
  try {
    j = parse_config_json(fuzz::as_string(parts[0]), "config.json", overrides);
  } catch (const Error& e) {
    fuzz::rejected(e);
    return 0;
  }
  const RunConfig c = from_json(j);  // validated already: must not throw now
  const nlohmann::json back = to_json(c);
  FUZZ_ASSERT(to_json(from_json(back)) == back);
  (void)back.dump();  // checkpoints store it as text: must not throw (e.g. invalid UTF-8)
  return 0;
}
