// engine/io/safetensors_read.cpp — parse a safetensors byte string into an StFile.
// Rule: validate before use. Every length and offset from the file is checked against the real
// buffer size before any byte is read through it, and every JSON value's type is checked before it
// is read, so a corrupt or hostile file gives a senet::Error ("<file>: <what was expected>") and
// never a crash. Order: header length → JSON → header checksums → each entry → offsets/overlap →
// tensor checksums → copy. A header checksum failure is "corrupt", except the one pattern of a file
// rewritten by another tool (safetensors.h), reported as such once the tensors' bytes are checked.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <limits>

#include "engine/core/error.h"
#include "engine/io/atomic_file.h"
#include "engine/io/crc32.h"
#include "engine/io/safetensors.h"
#include "engine/io/safetensors_header.h"

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
    SENET_CHECK(v.is_string(), file, ": __metadata__ value for \"", k, "\" must be a string, got ",
                v.dump());
    out[k] = v.get<std::string>();
  }
  return out;
}

// A tensor whose bytes do not match the checksum recorded for it.
struct ChecksumMismatch {
  std::string tensor, stored, computed;
};

// Checks each "senet.crc32.<name>" against the tensor's bytes and removes it from the metadata;
// returns the tensors that fail, in metadata (name) order. A checksum naming no tensor is an error.
std::vector<ChecksumMismatch> verify_checksums(StFile& f, const uint8_t* buffer,
                                               const std::vector<Entry>& entries) {
  const std::string prefix = st_checksum_key("");
  std::vector<ChecksumMismatch> bad;
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
    if (it->second != want) bad.push_back({tname, it->second, want});
    it = f.metadata.erase(it);
  }
  return bad;
}

// Removes `key` from the metadata object `meta`; returns whether it was there (its value: `value`).
bool take_checksum(const std::string& file, json& meta, const std::string& key,
                   std::string& value) {
  auto it = meta.find(key);
  if (it == meta.end()) return false;
  SENET_CHECK(it->is_string(), file, ": __metadata__ value for \"", key,
              "\" must be a string, got ", it->dump());
  value = it->get<std::string>();
  meta.erase(it);
  return true;
}

// Verifies the header checksums of `header` (safetensors.h) and removes their keys, so that
// verify_checksums sees only the tensors' checksums and StFile::metadata none of senet's. Each key
// is taken out before its canonical form is computed, as the writer computed each before adding it:
//   header checksum: all that is left (the content and offsets checksums included);
//   content checksum: that without the data offsets (the offsets checksum included);
//   offsets checksum: the offsets alone.
// The rule: the header checksum holds → fine. It fails → corrupt, unless the content checksum
// holds and the offsets checksum fails: then the tensors were moved by another tool, and this
// returns true (the caller reports it once it knows whose bytes still match). No header checksum
// but a content checksum (a rewritten file whose header checksum the user dropped, as that report
// says) → the content checksum must hold; the layout is not checked (the tensor checksums check
// the bytes wherever they are).
bool verify_header_checksums(const std::string& file, json& header) {
  auto meta = header.find("__metadata__");
  if (meta == header.end() || !meta->is_object()) return false;
  std::string full, content, offsets;
  try {
    const bool has_full = take_checksum(file, *meta, st_checksum_key("__metadata__"), full);
    const std::string full_now = has_full ? st_header_checksum(header.dump()) : "";
    const bool has_content = take_checksum(file, *meta, kStContentChecksumKey, content);
    const std::string content_now = st_header_checksum(detail::st_content_form(header));
    const bool has_offsets = take_checksum(file, *meta, kStOffsetsChecksumKey, offsets);
    const bool content_ok = !has_content || content == content_now;
    const bool moved =
        has_offsets && offsets != st_header_checksum(detail::st_offsets_form(header));
    if (has_full && full != full_now) {
      if (has_content && content_ok && moved) return true;
      fail(file, ": header checksum mismatch (stored ", full, ", computed ", full_now,
           "): a tensor name, dtype, shape, offset or metadata entry is corrupt",
           has_content ? std::string()
                       : " (or, for a file saved before senet recorded '" +
                             std::string(kStContentChecksumKey) +
                             "', re-saved by another tool with its metadata: then drop the "
                             "metadata key '" +
                             st_checksum_key("__metadata__") + "' to load it)");
    }
    SENET_CHECK(content_ok, file, ": header content checksum mismatch (stored ", content,
                ", computed ", content_now,
                "): a tensor name, dtype, shape or metadata entry is corrupt");
  } catch (const json::exception& e) {  // a dump of a string that is not UTF-8
    fail(file, ": malformed header: ", e.what());
  }
  return false;
}

// The error for a file rewritten by another tool (verify_header_checksums returned true), once its
// tensors' bytes are checked against the checksums senet recorded.
[[noreturn]] void fail_rewritten(const std::string& file,
                                 const std::vector<ChecksumMismatch>& bad) {
  const std::string what =
      ": rewritten by another tool (e.g. loaded and saved again with its metadata by Python's "
      "safetensors): its tensor names, dtypes, shapes and metadata are as senet saved them, but "
      "the tensors were moved (their data_offsets differ from the recorded ones), so the header "
      "checksum no longer matches";
  if (bad.empty())
    fail(file, what, ". Every tensor's bytes still match their checksums: drop the metadata key '",
         st_checksum_key("__metadata__"), "' to load it (the other checksums still check it)");
  fail(file, what, "; and the bytes of tensor \"", bad[0].tensor, "\"",
       bad.size() > 1 ? " and " + std::to_string(bad.size() - 1) + " more" : std::string(),
       " differ from what senet saved (changed by that tool, or corrupt). To load it unchecked, "
       "drop every metadata key that starts with 'senet.crc32'");
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
  SENET_CHECK(
      std::memchr(hbegin, 0, n) == nullptr, file,
      ": header contains a NUL byte (expected JSON padded with spaces); the file is corrupt");
  json header;
  try {
    header = json::parse(hbegin, hbegin + n);
  } catch (const json::exception& e) {
    fail(file, ": header is not valid JSON: ", e.what());
  }
  SENET_CHECK(header.is_object(), file, ": header must be a JSON object, got ", header.type_name());
  const bool rewritten = verify_header_checksums(file, header);

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

  const std::vector<ChecksumMismatch> bad = verify_checksums(f, buffer, entries);
  if (rewritten) fail_rewritten(file, bad);
  if (!bad.empty())
    fail(file, ": tensor \"", bad[0].tensor, "\": checksum mismatch (stored ", bad[0].stored,
         ", computed ", bad[0].computed, "), the file is corrupt");

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
