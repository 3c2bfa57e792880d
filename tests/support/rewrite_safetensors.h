// tests/support/rewrite_safetensors.h — what another tool does to a senet safetensors file that it
// loads and saves again with its metadata (Python's safetensors save_file(tensors, path, metadata)):
// the same tensors and metadata strings, laid out in its own order (here: reversed) with its own
// key order and padding. `edit` may change the metadata (every key, senet's checksums included) or
// the tensors before the file is written. Used by the io and checkpoint tests of that case.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/io/safetensors.h"

namespace senet::test {

using StRewrite = std::function<void(nlohmann::json& meta, std::vector<io::StTensor>& tensors)>;

inline std::vector<uint8_t> rewrite_safetensors(const std::vector<uint8_t>& file,
                                                const StRewrite& edit = {}) {
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | file[size_t(i)];
  const nlohmann::json header = nlohmann::json::parse(file.begin() + 8, file.begin() + 8 + long(n));
  nlohmann::json meta = header.value("__metadata__", nlohmann::json::object());
  const io::StFile parsed = io::parse_safetensors(file.data(), file.size(), "original");
  std::vector<io::StTensor> tensors(parsed.tensors.rbegin(), parsed.tensors.rend());
  if (edit) edit(meta, tensors);
  nlohmann::json out = {{"__metadata__", meta}};
  std::vector<uint8_t> data;
  for (const io::StTensor& t : tensors) {
    out[t.name] = {{"dtype", io::st_dtype_name(t.dtype)},
                   {"shape", t.shape},
                   {"data_offsets", {data.size(), data.size() + t.bytes.size()}}};
    data.insert(data.end(), t.bytes.begin(), t.bytes.end());
  }
  std::string text = out.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::vector<uint8_t> bytes;
  bytes.reserve(8 + text.size() + data.size());
  for (int i = 0; i < 8; ++i) bytes.push_back(uint8_t(uint64_t(text.size()) >> (8 * i)));
  bytes.insert(bytes.end(), text.begin(), text.end());
  bytes.insert(bytes.end(), data.begin(), data.end());
  return bytes;
}

}  // namespace senet::test
