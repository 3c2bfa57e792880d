// tests/data/test_data_parse_bytes.cpp — the from-bytes parsers the fuzz targets call (parse_idx,
// parse_cifar10/100, parse_tiny_imagenet_wnids/_val, maybe_gunzip) agree with the path loaders'
// rules, and the inputs fuzzing found are refused with a message naming the file and field:
// an IDX header with no images and a side of 2^32-1 (became a negative width), a val annotation
// naming an absolute path (left val/images).
#include <gtest/gtest.h>

#include "data_test_util.h"
#include "engine/data/cifar.h"
#include "engine/data/file_bytes.h"
#include "engine/data/idx.h"
#include "engine/data/tiny_imagenet.h"

namespace senet::data {
namespace {

using testing::expect_error;

std::vector<uint8_t> gzip_bytes(const std::vector<uint8_t>& raw) {
  testing::TempDir dir;
  testing::write_gz(dir / "x.gz", raw);
  return testing::read_all(dir / "x.gz");
}

void put_be32(std::vector<uint8_t>& v, uint32_t x) {
  for (int s = 24; s >= 0; s -= 8) v.push_back(uint8_t(x >> s));
}

std::vector<uint8_t> idx_header(uint32_t magic, std::initializer_list<uint32_t> dims) {
  std::vector<uint8_t> v;
  put_be32(v, magic);
  for (uint32_t d : dims) put_be32(v, d);
  return v;
}

TEST(ParseBytes, IdxFromMemoryRawAndGzipped) {
  std::vector<uint8_t> im = idx_header(0x803, {2, 2, 3});
  for (int i = 0; i < 12; ++i) im.push_back(uint8_t(i * 5));
  std::vector<uint8_t> lb = idx_header(0x801, {2});
  lb.push_back(7);
  lb.push_back(1);
  for (bool gz : {false, true}) {
    const Dataset d = parse_idx(gz ? gzip_bytes(im) : im, "im", lb, "lb", 10);
    EXPECT_EQ(d.n, 2);
    EXPECT_EQ(d.h, 2);
    EXPECT_EQ(d.w, 3);
    EXPECT_EQ(d.labels, (std::vector<int32_t>{7, 1}));
    EXPECT_EQ(d.pixels, std::vector<uint8_t>(im.begin() + 16, im.end()));
  }
}

TEST(ParseBytes, IdxImageSideMustFitAnInt) {
  // No images, so the payload check (0 bytes) passes; the side used to become int(-1).
  expect_error(
      [] {
        parse_idx(idx_header(0x803, {0, 28, 0xffffffffu}), "im", idx_header(0x801, {0}), "lb", 10);
      },
      {"'im'", "expected image size between 1x1 and 65535x65535", "found 28x4294967295"});
}

TEST(ParseBytes, CifarFromMemory) {
  std::vector<uint8_t> rec(3074, 9);
  rec[0] = 19;  // coarse
  rec[1] = 99;  // fine
  EXPECT_EQ(parse_cifar100(rec, "train.bin", true).labels, std::vector<int32_t>{99});
  EXPECT_EQ(parse_cifar100(rec, "train.bin", false).labels, std::vector<int32_t>{19});
  expect_error([&] { parse_cifar10(rec, "data_batch_1.bin"); },
               {"'data_batch_1.bin'", "3073-byte records"});
}

TEST(ParseBytes, TinyImagenetText) {
  const auto ids = parse_tiny_imagenet_wnids("n01\r\n\nn02\n", "wnids.txt");
  EXPECT_EQ(ids.at("n01"), 0);
  EXPECT_EQ(ids.at("n02"), 1);
  const auto val = parse_tiny_imagenet_val("a.JPEG\tn02\t1\t2\t3\t4\n\nb.JPEG\tn01\n", "ann.txt",
                                           ids, "v/images");
  ASSERT_EQ(val.size(), 2u);
  EXPECT_EQ(val[0].first, "v/images/a.JPEG");
  EXPECT_EQ(val[0].second, 1);
  EXPECT_EQ(val[1].second, 0);
  for (const char* bad : {"/etc/x.JPEG\tn01\n", "../x.JPEG\tn01\n", "..\tn01\n"})
    expect_error([&] { parse_tiny_imagenet_val(bad, "ann.txt", ids, "v/images"); },
                 {"'ann.txt' line 1", "expected a file name in val/images"});
}

TEST(ParseBytes, MaybeGunzipLeavesOtherBytesAlone) {
  const std::vector<uint8_t> plain{1, 2, 3};
  EXPECT_EQ(maybe_gunzip(plain, "x"), plain);
  EXPECT_EQ(maybe_gunzip(gzip_bytes(plain), "x"), plain);
  expect_error([] { maybe_gunzip({0x1f, 0x8b, 8, 0}, "x.gz"); }, {"'x.gz'"});
}

}  // namespace
}  // namespace senet::data
