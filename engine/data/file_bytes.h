// engine/data/file_bytes.h — read a whole file into memory, inflating it if it is gzipped.
// A file is gzipped when it starts with the gzip magic bytes 1f 8b (the name does not matter).
// Every failure throws senet::Error naming the path: missing/unreadable file, corrupt gzip data,
// a gzip stream that ends early.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace senet::data {

// The file's bytes exactly as stored.
std::vector<uint8_t> read_file_raw(const std::string& path);

// The file's bytes, gunzipped when the file starts with 1f 8b.
std::vector<uint8_t> read_file_maybe_gzip(const std::string& path);

// The same on bytes already in memory (read_file_maybe_gzip = read_file_raw + this): `bytes`
// unchanged unless they start with 1f 8b; `name` is only used in error messages.
std::vector<uint8_t> maybe_gunzip(std::vector<uint8_t> bytes, const std::string& name);

}  // namespace senet::data
