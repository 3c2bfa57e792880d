// engine/io/safetensors_read.cpp — parse a safetensors byte string into an StFile.
// Rule: validate before use. Every length and offset from the file is checked against the real
// buffer size before any byte is read through it, and every JSON value's type is checked before it
// is read, so a corrupt or hostile file gives a senet::Error ("<file>: <what was expected>") and
// never a crash. Order: header length → JSON → header checksum → each entry → offsets/overlap →
// tensor checksums → copy.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <limits>

#include "engine/core/error.h"
#include "engine/io/atomic_file.h"
#include "engine/io/crc32.h"
#include "engine/io/safetensors.h"

namespace senet::io {
namespace {

using nlohmann::json;

constexpr uint64_t kMaxHeaderBytes = 100ull * 1000 * 1000;  // larger headers are surely corrupt

uint64_t read_u64_le(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// A tensor entry after validation, before its bytes are copied.
struct Entry {
  std::string name;
  StDType dtype;
  std::vector<int64_t> shape;
  uint64_t begin, end;
};

// Non-negative JSON integer, else an error naming `what`.
uint64_t as_offset(const std::string& file, const std::string& tname, const json& v) {
  SENET_CHECK(v.is_number_unsigned(), file, ": tensor \"", tname,
              "\": data_offsets must hold non-negative integers, got ", v.dump());
  return v.get<uint64_t>();
}

Entry parse_entry(const std::string& file, const std::string& name, const json& e,
                  uint64_t buffer_size) {
  const std::string where = file + ": tensor \"" + name + "\"";
  SENET_CHECK(e.is_object(), where, ": expected an object {dtype, shape, data_offsets}, got ",
              e.type_name());
  for (const char* key : {"dtype", "shape", "data_offsets"})
    SENET_CHECK(e.contains(key), where, ": missing \"", key, "\"");

  const json& jd = e.at("dtype");
  SENET_CHECK(jd.is_string(), where, ": dtype must be a string, got ", jd.type_name());
  Entry out{name, StDType::F32, {}, 0, 0};
  try {
    out.dtype = st_dtype_from_name(jd.get<std::string>());
  } catch (const Error& err) {
    fail(where, ": ", err.what());
  }

  const json& js = e.at("shape");
  SENET_CHECK(js.is_array(), where, ": shape must be an array of integers, got ", js.type_name());
  for (const json& d : js) {
    SENET_CHECK(d.is_number_integer(), where, ": shape must hold integers, got ", d.dump());
    SENET_CHECK(!d.is_number_unsigned() ||
                    d.get<uint64_t>() <= uint64_t(std::numeric_limits<int64_t>::max()),
                where, ": dimension ", d.dump(), " is too large");
    const int64_t dim = d.get<int64_t>();
    SENET_CHECK(dim >= 0, where, ": negative dimension ", dim);
    out.shape.push_back(dim);
  }
  size_t nbytes = 0;
  try {
    nbytes = st_nbytes(out.dtype, out.shape);
  } catch (const Error& err) {
    fail(where, ": ", err.what());
  }

  const json& jo = e.at("data_offsets");
  SENET_CHECK(jo.is_array() && jo.size() == 2, where,
              ": data_offsets must be an array [begin, end], got ", jo.dump());
  out.begin = as_offset(file, name, jo[0]);
  out.end = as_offset(file, name, jo[1]);
  SENET_CHECK(out.begin <= out.end && out.end <= buffer_size, where, ": data_offsets [", out.begin,
              ", ", out.end, "] must satisfy begin <= end <= ", buffer_size,
              " (the data buffer size; is the file truncated?)");
  SENET_CHECK(out.end - out.begin == nbytes, where, ": data_offsets span ", out.end - out.begin,
              " bytes but dtype ", st_dtype_name(out.dtype), " and shape ", js.dump(), " need ",
              nbytes);
  return out;
}

// "__metadata__": an object of strings (null is accepted as "no metadata").
std::map<std::string, std::string> parse_metadata(const std::string& file, const json& m) {
  std::map<std::string, std::string> out;
  if (m.is_null()) return out;
  SENET_CHECK(m.is_object(), file, ": __metadata__ must be an object, got ", m.type_name());
  for (const auto& [k, v] : m.items()) {
    SENET_CHECK(v.is_string(), file, ": __metadata__ value for \"", k,
                "\" must be a string, got ", v.dump());
    out[k] = v.get<std::string>();
  }
  return out;
}

// Checks each "senet.crc32.<name>" against the tensor's bytes and removes it from the metadata.
void verify_checksums(StFile& f, const uint8_t* buffer, const std::vector<Entry>& entries) {
  const std::string prefix = st_checksum_key("");
  for (auto it = f.metadata.begin(); it != f.metadata.end();) {
    if (it->first.compare(0, prefix.size(), prefix) != 0) {
      ++it;
      continue;
    }
    const std::string tname = it->first.substr(prefix.size());
    auto e = std::find_if(entries.begin(), entries.end(),
                          [&](const Entry& x) { return x.name == tname; });
    SENET_CHECK(e != entries.end(), f.path, ": checksum recorded for tensor \"", tname,
                "\" but the file has no such tensor; the file is corrupt");
    char want[9];
    std::snprintf(want, sizeof want, "%08x", crc32(buffer + e->begin, e->end - e->begin));
    SENET_CHECK(it->second == want, f.path, ": tensor \"", tname, "\": checksum mismatch (stored ",
                it->second, ", computed ", want, "), the file is corrupt");
    it = f.metadata.erase(it);
  }
}

// A header written by senet carries its own CRC-32 (safetensors.h): any change to a tensor's name,
// dtype, shape or offsets, or to any metadata key or value, is caught here. The key is removed
// from the parsed header, so verify_checksums sees only the tensors' checksums.
void verify_header_checksum(const std::string& file, json& header) {
  auto meta = header.find("__metadata__");
  if (meta == header.end() || !meta->is_object()) return;
  const std::string key = st_checksum_key("__metadata__");
  auto it = meta->find(key);
  if (it == meta->end()) return;  // written by another tool or an older senet
  SENET_CHECK(it->is_string(), file, ": __metadata__ value for \"", key,
              "\" must be a string, got ", it->dump());
  const std::string stored = it->get<std::string>();
  meta->erase(it);
  std::string computed;
  try {
    computed = st_header_checksum(header.dump());
  } catch (const json::exception& e) {
    fail(file, ": malformed header: ", e.what());
  }
  SENET_CHECK(stored == computed, file, ": header checksum mismatch (stored ", stored,
              ", computed ", computed,
              "): a tensor name, dtype, shape, offset or metadata entry is corrupt");
}

}  // namespace

StFile parse_safetensors(const uint8_t* data, size_t size, const std::string& name_for_errors) {
  const std::string& file = name_for_errors;
  StFile f;
  f.path = file;
  SENET_CHECK(size >= 8, file, ": not a safetensors file: ", size,
              " bytes, shorter than the 8-byte header length");
  const uint64_t n = read_u64_le(data);
  SENET_CHECK(n <= kMaxHeaderBytes, file, ": header length ", n,
              " is absurd (more than 100 MB); not a safetensors file or corrupt");
  SENET_CHECK(n <= size - 8, file, ": header length ", n, " is larger than the ", size - 8,
              " bytes after the length field; the file is truncated or corrupt");
  const char* hbegin = reinterpret_cast<const char*>(data + 8);
  const uint8_t* buffer = data + 8 + n;
  const uint64_t buffer_size = size - 8 - n;

  // nlohmann's parser stops at a NUL byte, so a NUL in the space padding would go unnoticed.
  SENET_CHECK(std::memchr(hbegin, 0, n) == nullptr, file,
              ": header contains a NUL byte (expected JSON padded with spaces); the file is corrupt");
  json header;
  try {
    header = json::parse(hbegin, hbegin + n);
  } catch (const json::exception& e) {
    fail(file, ": header is not valid JSON: ", e.what());
  }
  SENET_CHECK(header.is_object(), file, ": header must be a JSON object, got ", header.type_name());
  verify_header_checksum(file, header);

  std::vector<Entry> entries;
  try {
    for (const auto& [name, value] : header.items()) {
      if (name == "__metadata__")
        f.metadata = parse_metadata(file, value);
      else
        entries.push_back(parse_entry(file, name, value, buffer_size));
    }
  } catch (const json::exception& e) {  // not expected after the type checks; kept as a safety net
    fail(file, ": malformed header: ", e.what());
  }

  // Tensors must not overlap (the spec forbids it). Sorted by (begin, end), each must start at or
  // after the end of the one before. This is also the order they were written in.
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  for (size_t i = 1; i < entries.size(); ++i) {
    const Entry &a = entries[i - 1], &b = entries[i];
    SENET_CHECK(b.begin >= a.end, file, ": tensors \"", a.name, "\" [", a.begin, ", ", a.end,
                ") and \"", b.name, "\" [", b.begin, ", ", b.end, ") overlap");
  }

  verify_checksums(f, buffer, entries);

  f.tensors.reserve(entries.size());
  for (Entry& e : entries) {
    StTensor t;
    t.name = std::move(e.name);
    t.dtype = e.dtype;
    t.shape = std::move(e.shape);
    t.bytes.assign(buffer + e.begin, buffer + e.end);
    f.tensors.push_back(std::move(t));
  }
  return f;
}

StFile load_safetensors(const std::string& path) {
  const std::string bytes = read_file(path);
  return parse_safetensors(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), path);
}

}  // namespace senet::io
