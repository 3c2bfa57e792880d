// engine/io/safetensors_header.h — (internal to engine/io) the canonical forms of a header that the
// content and offsets checksums cover (safetensors.h), shared by the writer and the reader so that
// the two cannot disagree. `header` is a header as a JSON object (tensor entries and
// "__metadata__") holding exactly the checksum keys the form covers: the caller removes the others
// first. Both forms are compact dumps with sorted keys; like every dump they throw
// nlohmann::json::type_error on a string that is not UTF-8.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace senet::io::detail {

// Everything but the layout: the header with every tensor entry's "data_offsets" removed.
inline std::string st_content_form(const nlohmann::json& header) {
  nlohmann::json c = header;
  for (auto& [name, entry] : c.items())
    if (name != "__metadata__" && entry.is_object()) entry.erase("data_offsets");
  return c.dump();
}

// The layout alone: {"<name>": [begin, end], ...} (null for an entry without data_offsets).
inline std::string st_offsets_form(const nlohmann::json& header) {
  nlohmann::json o = nlohmann::json::object();
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") continue;
    const bool has = entry.is_object() && entry.contains("data_offsets");
    o[name] = has ? entry.at("data_offsets") : nlohmann::json();
  }
  return o.dump();
}

}  // namespace senet::io::detail
