// engine/data/file_bytes.cpp — whole-file reads; gzip inflated in memory with zlib's inflate
// (windowBits 15+16 = gzip only), concatenated gzip members included. Reading all bytes first and
// inflating into a growing buffer is much faster than many small gzread calls.
#include "engine/data/file_bytes.h"

#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "engine/core/error.h"

namespace senet::data {

std::vector<uint8_t> read_file_raw(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) fail("cannot open '", path, "': ", std::strerror(errno));
  std::vector<uint8_t> bytes;
  uint8_t chunk[1 << 16];
  size_t got;
  while ((got = std::fread(chunk, 1, sizeof(chunk), f.get())) > 0)
    bytes.insert(bytes.end(), chunk, chunk + got);
  if (std::ferror(f.get())) fail("error while reading '", path, "': ", std::strerror(errno));
  return bytes;
}

static std::vector<uint8_t> gunzip(const std::vector<uint8_t>& in, const std::string& path) {
  SENET_CHECK(in.size() < (size_t(1) << 32), "gunzip '", path,
              "': expected a gzip file below 4 GiB, found ", in.size(), " bytes");
  z_stream s{};
  if (inflateInit2(&s, 15 + 16) != Z_OK) fail("gunzip '", path, "': zlib inflateInit2 failed");
  std::vector<uint8_t> out(in.size() * 4 + 1024);
  s.next_in = const_cast<Bytef*>(in.data());
  s.avail_in = uInt(in.size());
  size_t produced = 0;
  int rc = Z_OK;
  while (true) {
    if (produced == out.size()) out.resize(out.size() * 2);
    s.next_out = out.data() + produced;
    s.avail_out = uInt(out.size() - produced);
    rc = inflate(&s, Z_NO_FLUSH);
    produced = out.size() - s.avail_out;
    if (rc == Z_STREAM_END) {
      if (s.avail_in == 0) break;
      inflateReset(&s);  // another gzip member follows
      continue;
    }
    if (rc != Z_OK) break;  // Z_BUF_ERROR: input ended before the stream did; else corrupt
  }
  std::string msg = s.msg ? s.msg : "";
  inflateEnd(&s);
  if (rc != Z_STREAM_END) {
    if (rc == Z_BUF_ERROR)
      fail("bad gzip file '", path, "': stream truncated (expected the gzip end marker, found end",
           " of file after ", in.size(), " compressed bytes)");
    fail("bad gzip file '", path, "': expected valid deflate data, found error ", rc,
         msg.empty() ? "" : " (", msg, msg.empty() ? "" : ")");
  }
  out.resize(produced);
  return out;
}

std::vector<uint8_t> maybe_gunzip(std::vector<uint8_t> bytes, const std::string& name) {
  if (bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b) return gunzip(bytes, name);
  return bytes;
}

std::vector<uint8_t> read_file_maybe_gzip(const std::string& path) {
  return maybe_gunzip(read_file_raw(path), path);
}

}  // namespace senet::data
