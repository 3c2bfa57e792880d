// tests/data/test_data_tiny_imagenet.cpp — Tiny-ImageNet's folder layout with tiny JPEGs that the
// test encodes itself with libjpeg: solid-colour 64×64 RGB images (JPEG is lossy, so pixels are
// compared within ±3) and one grayscale JPEG that must come back with R = G = B. Errors: missing
// wnids.txt, unknown wnid (val annotation and train folder), undecodable / truncated / wrong-size
// JPEG, missing image file.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
// jpeglib.h needs size_t and FILE declared first.
#include <jpeglib.h>

#include "data_test_util.h"
#include "engine/data/tiny_imagenet.h"

namespace senet::data {
namespace {

using testing::expect_error;
using testing::TempDir;

struct Rgb {
  int r, g, b;
};

// A side×side JPEG of one colour (gray = true: a 1-component JPEG of value rgb.r).
std::vector<uint8_t> encode_jpeg(Rgb rgb, bool gray = false, int side = 64) {
  jpeg_compress_struct cinfo;
  jpeg_error_mgr jerr;
  cinfo.err = jpeg_std_error(&jerr);
  jpeg_create_compress(&cinfo);
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&cinfo, &buf, &size);
  cinfo.image_width = JDIMENSION(side);
  cinfo.image_height = JDIMENSION(side);
  cinfo.input_components = gray ? 1 : 3;
  cinfo.in_color_space = gray ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, 95, TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  std::vector<uint8_t> row(size_t(side) * cinfo.input_components);
  for (int x = 0; x < side; ++x) {
    if (gray) {
      row[size_t(x)] = uint8_t(rgb.r);
    } else {
      row[size_t(3 * x)] = uint8_t(rgb.r);
      row[size_t(3 * x + 1)] = uint8_t(rgb.g);
      row[size_t(3 * x + 2)] = uint8_t(rgb.b);
    }
  }
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW rows[1] = {row.data()};
    jpeg_write_scanlines(&cinfo, rows, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  std::vector<uint8_t> out(buf, buf + size);
  std::free(buf);
  return out;
}

const Rgb kColours[] = {{200, 30, 40}, {20, 180, 60}, {10, 40, 220}};
const char* kWnids[] = {"n01443537", "n01629819", "n01641577"};

// 3 classes × 2 training images (class k: colour k; the second image of class 1 is grayscale 128),
// 4 val images.
void write_tiny(const TempDir& dir) {
  testing::write_text(dir / "wnids.txt", "n01443537\nn01629819\nn01641577\n");
  for (int k = 0; k < 3; ++k) {
    const std::string images = dir / ("train/" + std::string(kWnids[k]) + "/images/");
    testing::write_file(images + kWnids[k] + "_0.JPEG", encode_jpeg(kColours[k]));
    testing::write_file(images + kWnids[k] + "_1.JPEG",
                        k == 1 ? encode_jpeg({128, 0, 0}, true) : encode_jpeg(kColours[k]));
    testing::write_text(dir / ("train/" + std::string(kWnids[k]) + "/" + kWnids[k] + "_boxes.txt"),
                        "ignored\n");
  }
  const int val_class[] = {2, 0, 1, 2};
  std::string ann;
  for (int i = 0; i < 4; ++i) {
    const std::string file = "val_" + std::to_string(i) + ".JPEG";
    testing::write_file(dir / ("val/images/" + file), encode_jpeg(kColours[val_class[i]]));
    ann += file + "\t" + kWnids[val_class[i]] + "\t0\t0\t63\t63\n";
  }
  testing::write_text(dir / "val/val_annotations.txt", ann);
}

void expect_colour(const Dataset& d, int64_t i, Rgb want) {
  const int plane = 64 * 64;
  const int c[3] = {want.r, want.g, want.b};
  for (int ch = 0; ch < 3; ++ch)
    for (int p = 0; p < plane; ++p) {
      const int got = d.pixels[size_t((i * 3 + ch) * plane + p)];
      ASSERT_LE(std::abs(got - c[ch]), 3) << "image " << i << " channel " << ch << " pixel " << p;
    }
}

TEST(DataTinyImageNet, TrainAndVal) {
  TempDir dir;
  write_tiny(dir);
  Dataset d = load_tiny_imagenet(dir.path.string(), true);
  EXPECT_EQ(d.name, "tiny-imagenet/train");
  EXPECT_EQ(d.num_classes, 3);
  EXPECT_EQ(d.c, 3);
  EXPECT_EQ(d.h, 64);
  EXPECT_EQ(d.w, 64);
  ASSERT_EQ(d.n, 6);
  EXPECT_EQ(d.labels, (std::vector<int32_t>{0, 0, 1, 1, 2, 2}));
  expect_colour(d, 0, kColours[0]);
  expect_colour(d, 1, kColours[0]);
  expect_colour(d, 2, kColours[1]);
  expect_colour(d, 3, {128, 128, 128});  // grayscale JPEG → R = G = B
  expect_colour(d, 5, kColours[2]);
  Dataset v = load_tiny_imagenet(dir.path.string(), false);
  EXPECT_EQ(v.name, "tiny-imagenet/val");
  ASSERT_EQ(v.n, 4);
  EXPECT_EQ(v.labels, (std::vector<int32_t>{2, 0, 1, 2}));
  for (int i = 0; i < 4; ++i) expect_colour(v, i, kColours[v.labels[size_t(i)]]);
}

TEST(DataTinyImageNet, MissingWnids) {
  TempDir dir;
  write_tiny(dir);
  std::filesystem::remove(dir / "wnids.txt");
  expect_error([&] { load_tiny_imagenet(dir.path.string(), true); },
               {dir / "wnids.txt", "missing"});
}

TEST(DataTinyImageNet, UnknownWnid) {
  TempDir dir;
  write_tiny(dir);
  testing::write_text(dir / "val/val_annotations.txt",
                      "val_0.JPEG\tn01641577\t0\t0\t1\t1\nval_1.JPEG\tn99999999\t0\t0\t1\t1\n");
  expect_error([&] { load_tiny_imagenet(dir.path.string(), false); },
               {dir / "val/val_annotations.txt", "line 2", "unknown wnid", "n99999999"});
  std::filesystem::create_directories(dir / "train/n12345678/images");
  expect_error([&] { load_tiny_imagenet(dir.path.string(), true); },
               {"unknown wnid", "n12345678", "wnids.txt"});
}

TEST(DataTinyImageNet, BadJpegs) {
  TempDir dir;
  write_tiny(dir);
  const std::string bad = dir / "val/images/val_2.JPEG";
  // Not a JPEG at all.
  testing::write_text(bad, "this is not a jpeg");
  expect_error([&] { load_tiny_imagenet(dir.path.string(), false); }, {bad, "cannot decode JPEG"});
  // A JPEG cut short: libjpeg would pad it with gray; we refuse it.
  auto jpg = encode_jpeg(kColours[0]);
  jpg.resize(jpg.size() - 12);  // keeps every header, loses the end of the entropy data
  testing::write_file(bad, jpg);
  expect_error([&] { load_tiny_imagenet(dir.path.string(), false); }, {bad, "truncated"});
  // Wrong size.
  testing::write_file(bad, encode_jpeg(kColours[0], false, 32));
  expect_error([&] { load_tiny_imagenet(dir.path.string(), false); }, {bad, "64x64", "32x32"});
  // Empty file.
  testing::write_file(bad, {});
  expect_error([&] { load_tiny_imagenet(dir.path.string(), false); }, {bad, "empty"});
  // Listed in the annotations but missing.
  std::filesystem::remove(bad);
  expect_error([&] { load_tiny_imagenet(dir.path.string(), false); }, {bad, "cannot open"});
}

TEST(DataTinyImageNet, MissingFolders) {
  TempDir dir;
  write_tiny(dir);
  std::filesystem::remove_all(dir / "train/n01629819");
  expect_error([&] { load_tiny_imagenet(dir.path.string(), true); },
               {dir / "train/n01629819/images", "n01629819"});
  std::filesystem::remove(dir / "val/val_annotations.txt");
  expect_error([&] { load_tiny_imagenet(dir.path.string(), false); },
               {dir / "val/val_annotations.txt", "missing"});
}

}  // namespace
}  // namespace senet::data
