// tests/data/data_test_util.h — helpers shared by the data tests (header only, inline).
// TempDir: a fresh folder under the system temp dir, removed with everything in it at scope end.
// write_file / write_gz: put bytes on disk raw or gzipped (zlib gzopen), the way the official
// data files are stored. expect_error: run f, require a senet::Error whose message contains every
// given fragment (the tests check that messages name the file and what was expected/found).
// idx_images / idx_labels: small idx files (big-endian header), pixel (i, y, x) =
// (i*31 + y*7 + x) mod 256 and label i = 3i mod num_classes.
#pragma once
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <vector>

#include "engine/core/error.h"

namespace senet::data::testing {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "senet-data-XXXXXX").string();
    char* made = mkdtemp(tmpl.data());
    if (!made) throw std::runtime_error("mkdtemp failed");
    path = made;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

inline void write_file(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

inline void write_text(const std::string& path, const std::string& text) {
  write_file(path, std::vector<uint8_t>(text.begin(), text.end()));
}

inline void write_gz(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  gzFile f = gzopen(path.c_str(), "wb");
  if (!f) throw std::runtime_error("gzopen failed for " + path);
  if (!bytes.empty()) gzwrite(f, bytes.data(), unsigned(bytes.size()));
  gzclose(f);
}

inline std::vector<uint8_t> read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

template <class F>
void expect_error(F&& f, std::initializer_list<std::string> fragments) {
  try {
    f();
    ADD_FAILURE() << "expected senet::Error, nothing was thrown";
  } catch (const senet::Error& e) {
    const std::string msg = e.what();
    for (const auto& frag : fragments)
      EXPECT_NE(msg.find(frag), std::string::npos)
          << "message '" << msg << "' lacks '" << frag << "'";
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected senet::Error, got another exception: " << e.what();
  }
}

inline void put_be32(std::vector<uint8_t>& v, uint32_t x) {
  for (int s = 24; s >= 0; s -= 8) v.push_back(uint8_t(x >> s));
}

inline std::vector<uint8_t> idx_images(uint32_t n, uint32_t rows, uint32_t cols) {
  std::vector<uint8_t> v;
  put_be32(v, 0x803);
  put_be32(v, n);
  put_be32(v, rows);
  put_be32(v, cols);
  for (uint32_t i = 0; i < n; ++i)
    for (uint32_t y = 0; y < rows; ++y)
      for (uint32_t x = 0; x < cols; ++x) v.push_back(uint8_t((i * 31 + y * 7 + x) % 256));
  return v;
}

inline std::vector<uint8_t> idx_labels(uint32_t n, int num_classes) {
  std::vector<uint8_t> v;
  put_be32(v, 0x801);
  put_be32(v, n);
  for (uint32_t i = 0; i < n; ++i) v.push_back(uint8_t(i * 3 % num_classes));
  return v;
}

}  // namespace senet::data::testing
