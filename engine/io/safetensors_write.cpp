// engine/io/safetensors_write.cpp — StFile → safetensors bytes → file (atomically).
// Rule: check everything the reader would reject before writing a byte, so we never produce a file
// we cannot load. Tensors are laid out back to back in the given order; the JSON header keeps that
// order (ordered_json), starts with __metadata__ (user keys + one CRC-32 per tensor + the three
// header checksums, see safetensors.h) and is padded with spaces so that 8 + header length is a
// multiple of 8 (data 8-byte aligned, as the spec allows).
#include <nlohmann/json.hpp>

#include <cstdio>
#include <set>

#include "engine/core/error.h"
#include "engine/io/atomic_file.h"
#include "engine/io/crc32.h"
#include "engine/io/safetensors.h"
#include "engine/io/safetensors_header.h"

namespace senet::io {

std::vector<uint8_t> serialize_safetensors(const StFile& f) {
  const std::string file = f.path.empty() ? std::string("safetensors") : f.path;

  // __metadata__ comes first in the header: a placeholder now, filled at the end once the
  // checksums are known (ordered_json keeps each key where it was first inserted).
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  header["__metadata__"] = nullptr;
  nlohmann::ordered_json meta = nlohmann::ordered_json::object();
  for (const auto& [k, v] : f.metadata) {
    SENET_CHECK(!st_is_checksum_key(k), file, ": metadata key \"", k,
                "\" is reserved for senet's checksums");
    meta[k] = v;
  }

  std::set<std::string> seen;
  uint64_t offset = 0;
  for (const StTensor& t : f.tensors) {
    SENET_CHECK(t.name != "__metadata__", file, ": a tensor may not be named __metadata__");
    SENET_CHECK(seen.insert(t.name).second, file, ": duplicate tensor name \"", t.name, "\"");
    size_t want = 0;
    try {
      want = st_nbytes(t.dtype, t.shape);
    } catch (const Error& e) {
      fail(file, ": tensor \"", t.name, "\": ", e.what());
    }
    SENET_CHECK(t.bytes.size() == want, file, ": tensor \"", t.name, "\" has ", t.bytes.size(),
                " bytes but dtype ", st_dtype_name(t.dtype), " and its shape need ", want);
    char crc[9];
    std::snprintf(crc, sizeof crc, "%08x", crc32(t.bytes.data(), t.bytes.size()));
    meta[st_checksum_key(t.name)] = crc;
    header[t.name] = {{"dtype", st_dtype_name(t.dtype)},
                      {"shape", t.shape},
                      {"data_offsets", {offset, offset + t.bytes.size()}}};
    offset += t.bytes.size();
  }
  header["__metadata__"] = std::move(meta);

  std::string text;
  try {
    // The header checksums (safetensors.h), each over a canonical sorted-key form that the reader
    // recomputes from what it parsed, whatever the key order in the file: first the layout, then
    // everything but the layout (the offsets checksum included), then everything.
    nlohmann::json sorted = nlohmann::json::parse(header.dump());  // dump: names must be UTF-8
    auto add = [&](const std::string& key, const std::string& canonical_form) {
      const std::string crc = st_header_checksum(canonical_form);
      header["__metadata__"][key] = crc;
      sorted["__metadata__"][key] = crc;
    };
    add(kStOffsetsChecksumKey, detail::st_offsets_form(sorted));
    add(kStContentChecksumKey, detail::st_content_form(sorted));
    add(st_checksum_key("__metadata__"), sorted.dump());
    text = header.dump();
  } catch (const nlohmann::json::exception& e) {
    fail(file, ": cannot encode header (tensor names and metadata must be UTF-8): ", e.what());
  }
  text.append((8 - text.size() % 8) % 8, ' ');

  std::vector<uint8_t> out;
  out.reserve(8 + text.size() + offset);
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(uint64_t(text.size()) >> (8 * i)));
  out.insert(out.end(), text.begin(), text.end());
  for (const StTensor& t : f.tensors) out.insert(out.end(), t.bytes.begin(), t.bytes.end());
  return out;
}

void save_safetensors(const std::string& path, const StFile& f) {
  std::vector<uint8_t> bytes;
  try {
    bytes = serialize_safetensors(f);
  } catch (const Error& e) {
    fail("cannot save ", path, ": ", e.what());
  }
  write_file_atomic(path, bytes.data(), bytes.size());
}

}  // namespace senet::io
