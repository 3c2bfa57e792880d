// engine/data/idx.cpp — IDX parsing (header checks before payload) and the Fashion-MNIST layout
// (file names, zero padding to pad_to, channel replication). See idx.h for the format.
#include "engine/data/idx.h"

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <vector>

#include "engine/data/file_bytes.h"

namespace senet::data {
namespace {

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "0x%08x", v);
  return buf;
}

uint32_t be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

// A parsed IDX file: its dims and the offset of the first payload byte in `bytes`.
struct IdxFile {
  std::vector<uint8_t> bytes;
  std::vector<int64_t> dims;
  size_t offset = 0;
};

IdxFile read_idx(const std::vector<uint8_t>& stored, const std::string& path, uint32_t magic,
                 const char* what) {
  IdxFile f;
  f.bytes = maybe_gunzip(stored, path);
  const int ndims = int(magic & 0xff);
  const size_t header = 4 + 4 * size_t(ndims);
  SENET_CHECK(f.bytes.size() >= 4, "load_idx: '", path, "' is truncated: expected at least ",
              header, " header bytes, found ", f.bytes.size());
  const uint32_t found = be32(f.bytes.data());
  SENET_CHECK(found == magic, "load_idx: '", path, "': wrong magic number: expected ", hex32(magic),
              " (", what, "), found ", hex32(found));
  SENET_CHECK(f.bytes.size() >= header, "load_idx: '", path, "' is truncated: expected ", header,
              " header bytes, found ", f.bytes.size());
  int64_t payload = 1;
  for (int k = 0; k < ndims; ++k) {
    f.dims.push_back(be32(f.bytes.data() + 4 + 4 * k));
    const int64_t dim = f.dims.back();  // saturate instead of overflowing on a garbage header
    payload = (dim != 0 && payload > INT64_MAX / dim) ? INT64_MAX : payload * dim;
  }
  f.offset = header;
  const int64_t have = int64_t(f.bytes.size() - header);
  SENET_CHECK(have >= payload, "load_idx: '", path, "' is truncated: the header promises ", payload,
              " data bytes, found ", have);
  SENET_CHECK(have == payload, "load_idx: '", path, "': expected ", payload,
              " data bytes after the header, found ", have, " (trailing bytes)");
  return f;
}

// dir/name, or dir/name.gz when only the gzipped file exists.
std::string raw_or_gz(const std::string& dir, const std::string& name) {
  namespace fs = std::filesystem;
  const fs::path raw = fs::path(dir) / name;
  if (fs::exists(raw)) return raw.string();
  const fs::path gz = fs::path(dir) / (name + ".gz");
  if (fs::exists(gz)) return gz.string();
  fail("load_fashion_mnist: missing file: expected '", raw.string(), "' or '", gz.string(), "'");
}

}  // namespace

Dataset load_idx(const std::string& images_path, const std::string& labels_path, int num_classes) {
  return parse_idx(read_file_raw(images_path), images_path, read_file_raw(labels_path), labels_path,
                   num_classes);
}

Dataset parse_idx(const std::vector<uint8_t>& images, const std::string& images_path,
                  const std::vector<uint8_t>& labels, const std::string& labels_path,
                  int num_classes) {
  SENET_CHECK(num_classes > 0, "load_idx: num_classes must be positive, got ", num_classes);
  IdxFile im = read_idx(images, images_path, 0x00000803u, "idx3 unsigned-byte images");
  IdxFile lb = read_idx(labels, labels_path, 0x00000801u, "idx1 unsigned-byte labels");
  SENET_CHECK(im.dims[0] == lb.dims[0], "load_idx: image/label count mismatch: '", images_path,
              "' has ", im.dims[0], " images, '", labels_path, "' has ", lb.dims[0], " labels");
  // The sides become ints (Dataset::h, w): bound them, or a header with no images (count 0) and
  // a side of 2^32-1 would pass every size check and give a negative width.
  constexpr int64_t kMaxSide = 65535;
  SENET_CHECK(im.dims[1] > 0 && im.dims[2] > 0 && im.dims[1] <= kMaxSide && im.dims[2] <= kMaxSide,
              "load_idx: '", images_path, "': expected image size between 1x1 and ", kMaxSide, "x",
              kMaxSide, ", found ", im.dims[1], "x", im.dims[2]);
  Dataset d;
  d.name = images_path;
  d.n = im.dims[0];
  d.c = 1;
  d.h = int(im.dims[1]);
  d.w = int(im.dims[2]);
  d.num_classes = num_classes;
  d.labels.resize(size_t(d.n));
  for (int64_t i = 0; i < d.n; ++i) {
    const int label = lb.bytes[lb.offset + size_t(i)];
    SENET_CHECK(label < num_classes, "load_idx: '", labels_path, "': label ", i,
                " is out of range: expected < ", num_classes, ", found ", label);
    d.labels[size_t(i)] = label;
  }
  d.pixels.assign(im.bytes.begin() + ptrdiff_t(im.offset), im.bytes.end());
  return d;
}

Dataset load_fashion_mnist(const std::string& dir, bool train, int pad_to, int channels) {
  SENET_CHECK(channels == 1 || channels == 3, "load_fashion_mnist: channels must be 1 or 3, got ",
              channels);
  const std::string prefix = train ? "train" : "t10k";
  const std::string images = raw_or_gz(dir, prefix + "-images-idx3-ubyte");
  const std::string labels = raw_or_gz(dir, prefix + "-labels-idx1-ubyte");
  Dataset src = load_idx(images, labels, 10);
  SENET_CHECK(pad_to >= src.h && pad_to >= src.w, "load_fashion_mnist: pad_to = ", pad_to,
              " is smaller than the ", src.h, "x", src.w, " images in '", dir, "'");
  Dataset d;
  d.name = std::string("fashion-mnist/") + (train ? "train" : "test");
  d.n = src.n;
  d.c = channels;
  d.h = d.w = pad_to;
  d.num_classes = 10;
  d.labels = std::move(src.labels);
  d.pixels.assign(size_t(d.n * image_size(d)), 0);
  const int top = (pad_to - src.h) / 2, left = (pad_to - src.w) / 2;  // extra row/col goes last
  for (int64_t i = 0; i < d.n; ++i) {
    const uint8_t* in = src.pixels.data() + i * src.h * src.w;
    for (int ch = 0; ch < channels; ++ch) {
      uint8_t* out = d.pixels.data() + (i * channels + ch) * pad_to * pad_to;
      for (int y = 0; y < src.h; ++y)
        std::memcpy(out + (y + top) * pad_to + left, in + y * src.w, size_t(src.w));
    }
  }
  return d;
}

}  // namespace senet::data
