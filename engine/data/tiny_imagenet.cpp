// engine/data/tiny_imagenet.cpp — list (file, label) pairs from the folder layout, then decode the
// JPEGs in parallel: thread t handles a fixed contiguous chunk, and on failure the error of the
// lowest-numbered bad file is reported, so the outcome is the same for any thread count.
#include "engine/data/tiny_imagenet.h"

#include <algorithm>
#include <cctype>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <utility>
#include <vector>

#include "engine/core/parallel.h"
#include "engine/data/file_bytes.h"
#include "engine/data/jpeg_decode.h"

namespace senet::data {
namespace {

namespace fs = std::filesystem;
constexpr int kSide = 64;

using Listing = std::vector<std::pair<std::string, int32_t>>;  // (path, label)

std::string trim(const std::string& s) {
  const char* ws = " \t\r\n";
  const size_t b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

// The whole text file, or an error naming it and what it should hold.
std::string read_text(const fs::path& file, const char* expected) {
  std::ifstream in(file, std::ios::binary);
  SENET_CHECK(in, "load_tiny_imagenet: missing file '", file.string(), "' (expected ", expected,
              ")");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool is_jpeg_name(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char ch) { return char(std::tolower(ch)); });
  return ext == ".jpeg" || ext == ".jpg";
}

Listing list_train(const fs::path& root, const std::map<std::string, int32_t>& ids) {
  const fs::path train = root / "train";
  SENET_CHECK(fs::is_directory(train), "load_tiny_imagenet: missing folder '", train.string(),
              "' (expected train/<wnid>/images/*.JPEG)");
  for (const auto& entry : fs::directory_iterator(train)) {
    if (!entry.is_directory()) continue;
    const std::string wnid = entry.path().filename().string();
    SENET_CHECK(ids.count(wnid), "load_tiny_imagenet: unknown wnid: folder '",
                entry.path().string(), "' is not a class listed in '",
                (root / "wnids.txt").string(), "'");
  }
  // Classes in label order, files sorted by name within a class.
  std::vector<std::pair<int32_t, std::string>> by_label;
  for (const auto& [wnid, label] : ids) by_label.push_back({label, wnid});
  std::sort(by_label.begin(), by_label.end());
  Listing out;
  for (const auto& [label, wnid] : by_label) {
    const fs::path images = train / wnid / "images";
    SENET_CHECK(fs::is_directory(images), "load_tiny_imagenet: missing folder '", images.string(),
                "' for wnid '", wnid, "' listed in wnids.txt");
    std::vector<std::string> files;
    for (const auto& entry : fs::directory_iterator(images))
      if (entry.is_regular_file() && is_jpeg_name(entry.path()))
        files.push_back(entry.path().string());
    std::sort(files.begin(), files.end());
    for (auto& f : files) out.push_back({std::move(f), label});
  }
  return out;
}

Listing list_val(const fs::path& root, const std::map<std::string, int32_t>& ids) {
  const fs::path ann = root / "val" / "val_annotations.txt";
  return parse_tiny_imagenet_val(read_text(ann, "lines 'file<TAB>wnid<TAB>bbox'"), ann.string(),
                                 ids, (root / "val" / "images").string());
}

// Decodes every listed file into d.pixels on the engine's thread pool (num_threads(), so --threads
// holds here too), one contiguous chunk of files per thread; the first failing file in file order
// is the error reported.
void decode_all(const Listing& files, Dataset& d) {
  const int64_t n = int64_t(files.size());
  const int64_t plane = 3 * kSide * kSide;
  std::vector<std::exception_ptr> errors(static_cast<size_t>(n));
  parallel_for(0, n, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      try {
        const std::vector<uint8_t> bytes = read_file_raw(files[size_t(i)].first);
        decode_jpeg_rgb(bytes.data(), bytes.size(), kSide, kSide, d.pixels.data() + i * plane,
                        files[size_t(i)].first);
      } catch (...) {
        errors[size_t(i)] = std::current_exception();
        return;  // this chunk stops at its first bad file
      }
    }
  });
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace

std::map<std::string, int32_t> parse_tiny_imagenet_wnids(const std::string& text,
                                                         const std::string& name) {
  std::istringstream in(text);
  std::map<std::string, int32_t> ids;
  std::string line;
  while (std::getline(in, line)) {
    const std::string id = trim(line);
    if (id.empty()) continue;
    SENET_CHECK(!ids.count(id), "load_tiny_imagenet: '", name, "': wnid '", id,
                "' is listed twice");
    const int32_t label = int32_t(ids.size());
    ids[id] = label;
  }
  SENET_CHECK(!ids.empty(), "load_tiny_imagenet: '", name,
              "': expected at least one wnid, found none");
  return ids;
}

std::vector<std::pair<std::string, int32_t>> parse_tiny_imagenet_val(
    const std::string& text, const std::string& name, const std::map<std::string, int32_t>& ids,
    const std::string& images_dir) {
  std::istringstream in(text);
  Listing out;
  std::string line;
  for (int64_t line_no = 1; std::getline(in, line); ++line_no) {
    if (trim(line).empty()) continue;
    std::istringstream fields(line);
    std::string file, wnid;
    std::getline(fields, file, '\t');
    std::getline(fields, wnid, '\t');
    file = trim(file);
    wnid = trim(wnid);
    SENET_CHECK(!file.empty() && !wnid.empty(), "load_tiny_imagenet: '", name, "' line ", line_no,
                ": expected 'file<TAB>wnid...', found '", line, "'");
    // A plain file name inside val/images: "/x" would replace the folder in the path, "../x" leave it.
    SENET_CHECK(file.find('/') == std::string::npos && file != "." && file != "..",
                "load_tiny_imagenet: '", name, "' line ", line_no,
                ": expected a file name in val/images, found '", file, "'");
    auto it = ids.find(wnid);
    SENET_CHECK(it != ids.end(), "load_tiny_imagenet: '", name, "' line ", line_no,
                ": unknown wnid '", wnid, "' (expected one listed in wnids.txt)");
    out.push_back({(fs::path(images_dir) / file).string(), it->second});
  }
  return out;
}

Dataset load_tiny_imagenet(const std::string& dir, bool train) {
  const fs::path root(dir);
  const fs::path wnids = root / "wnids.txt";
  const auto ids = parse_tiny_imagenet_wnids(
      read_text(wnids, "the list of class ids, one wnid per line"), wnids.string());
  const Listing files = train ? list_train(root, ids) : list_val(root, ids);
  Dataset d;
  d.name = std::string("tiny-imagenet/") + (train ? "train" : "val");
  d.n = int64_t(files.size());
  d.c = 3;
  d.h = d.w = kSide;
  d.num_classes = int(ids.size());
  d.labels.resize(files.size());
  for (size_t i = 0; i < files.size(); ++i) d.labels[i] = files[i].second;
  d.pixels.assign(size_t(d.n * image_size(d)), 0);
  decode_all(files, d);
  return d;
}

}  // namespace senet::data
