// tests/data/test_data_faults.cpp — single-bit flips in data files (issue 8, item 3): what each
// format can and cannot detect, shown flip by flip.
//   gzipped IDX: every bit of the .gz file is flipped in turn. zlib checks the deflate stream, the
//     CRC-32 and the length in the gzip trailer, so each flip is a senet::Error naming the file or
//     leaves the decoded bytes unchanged (gzip header fields nobody reads: FTEXT, MTIME, XFL, OS;
//     deflate bits that decode to the same bytes) — a flip never yields different data.
//   raw IDX: every bit of the magic and the dims is an error (the magic no longer matches, or the
//     size the dims promise no longer matches the file). A label byte flipped out of range is an
//     error; flipped to another valid class, or a pixel byte flipped, is undetectable — the format
//     has no checksum — and the test checks that exactly that byte changed, nothing else.
//   CIFAR-10/100: no header, no checksum: a label byte flipped out of range is an error naming the
//     file and record; any other flip (pixel, or label to a valid class) is undetectable.
#include <gtest/gtest.h>

#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "data_test_util.h"
#include "engine/data/cifar.h"
#include "engine/data/idx.h"

namespace senet::data {
namespace {

using testing::idx_images;
using testing::idx_labels;
using testing::TempDir;

bool same(const Dataset& a, const Dataset& b) {
  return a.n == b.n && a.c == b.c && a.h == b.h && a.w == b.w && a.pixels == b.pixels &&
         a.labels == b.labels;
}

// Loads and returns true, or catches a senet::Error (which must name `file`) and returns false.
template <class F>
bool loads(F&& load, const std::string& file, Dataset& out) {
  try {
    out = load();
    return true;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(file), std::string::npos) << e.what();
    return false;
  }
}

TEST(DataFaults, GzipIdxEveryBitFlipIsAnErrorOrChangesNothing) {
  TempDir dir;
  const int kClasses = 10;
  testing::write_gz(dir / "im.gz", idx_images(8, 5, 5));
  testing::write_gz(dir / "lb.gz", idx_labels(8, kClasses));
  const Dataset good = load_idx(dir / "im.gz", dir / "lb.gz", kClasses);
  for (const char* which : {"im.gz", "lb.gz"}) {
    const std::string victim = dir / which, flipped = dir / (std::string("flipped-") + which);
    const bool images = which[0] == 'i';
    const std::vector<uint8_t> gz = testing::read_all(victim);
    int errors = 0, unchanged = 0;
    std::set<size_t> unchanged_at;
    for (size_t pos = 0; pos < gz.size(); ++pos)
      for (int bit = 0; bit < 8; ++bit) {
        std::vector<uint8_t> b = gz;
        b[pos] ^= uint8_t(1u << bit);
        testing::write_file(flipped, b);
        Dataset d;
        const bool ok = loads(
            [&] {
              return images ? load_idx(flipped, dir / "lb.gz", kClasses)
                            : load_idx(dir / "im.gz", flipped, kClasses);
            },
            flipped, d);
        if (!ok) {
          ++errors;
          continue;
        }
        ++unchanged;
        EXPECT_TRUE(same(d, good)) << which << ": flip of byte " << pos << " bit " << bit
                                   << " loaded different data without an error";
        unchanged_at.insert(pos);
      }
    std::string at;
    for (size_t p : unchanged_at) {
      at += ' ';
      at += std::to_string(p);
    }
    std::printf("%s (%zu bytes): %d flips rejected, %d harmless (same data), at bytes%s\n", which,
                gz.size(), errors, unchanged, at.c_str());
    // Harmless flips are mostly header bytes 3–9 (FLG's FTEXT bit, MTIME, XFL, OS), plus the odd
    // deflate bit that decodes to the same bytes (padding, an extra empty block); the data is the
    // same in every case (checked above), which is all that matters.
    EXPECT_GT(errors, unchanged);
  }
}

TEST(DataFaults, RawIdxHeaderFlipsAreErrorsLabelAndPixelFlipsAreWhatTheFormatAllows) {
  TempDir dir;
  const int kClasses = 10;
  const std::vector<uint8_t> im = idx_images(12, 6, 5), lb = idx_labels(12, kClasses);
  testing::write_file(dir / "im", im);
  testing::write_file(dir / "lb", lb);
  const Dataset good = load_idx(dir / "im", dir / "lb", kClasses);
  const std::string fim = dir / "flipped-im", flb = dir / "flipped-lb";

  // Every bit of both headers (magic + dims): an error naming the file.
  for (size_t pos = 0; pos < 16; ++pos)
    for (int bit = 0; bit < 8; ++bit) {
      std::vector<uint8_t> b = im;
      b[pos] ^= uint8_t(1u << bit);
      testing::write_file(fim, b);
      Dataset d;
      EXPECT_FALSE(loads([&] { return load_idx(fim, dir / "lb", kClasses); }, fim, d))
          << "image header byte " << pos << " bit " << bit;
    }
  for (size_t pos = 0; pos < 8; ++pos)
    for (int bit = 0; bit < 8; ++bit) {
      std::vector<uint8_t> b = lb;
      b[pos] ^= uint8_t(1u << bit);
      testing::write_file(flb, b);
      Dataset d;
      EXPECT_FALSE(loads([&] { return load_idx(dir / "im", flb, kClasses); }, flb, d))
          << "label header byte " << pos << " bit " << bit;
    }

  // Every bit of every label: out of range → error; in range → that one label changed
  // (undetectable).
  int label_errors = 0, label_silent = 0;
  for (size_t i = 0; i < 12; ++i)
    for (int bit = 0; bit < 8; ++bit) {
      std::vector<uint8_t> b = lb;
      b[8 + i] ^= uint8_t(1u << bit);
      testing::write_file(flb, b);
      Dataset d;
      if (!loads([&] { return load_idx(dir / "im", flb, kClasses); }, flb, d)) {
        EXPECT_GE(b[8 + i], kClasses);
        ++label_errors;
        continue;
      }
      EXPECT_LT(b[8 + i], kClasses);
      Dataset want = good;
      want.labels[i] = b[8 + i];
      EXPECT_TRUE(same(d, want));
      ++label_silent;
    }
  // Every pixel byte, one bit each: loads, with exactly that pixel changed (undetectable).
  for (size_t p = 0; p < good.pixels.size(); ++p) {
    std::vector<uint8_t> b = im;
    b[16 + p] ^= uint8_t(1u << (p % 8));
    testing::write_file(fim, b);
    Dataset d;
    ASSERT_TRUE(loads([&] { return load_idx(fim, dir / "lb", kClasses); }, fim, d));
    Dataset want = good;
    want.pixels[p] = b[16 + p];
    EXPECT_TRUE(same(d, want));
  }
  std::printf(
      "raw idx: 192 header flips rejected; label flips: %d rejected (out of range), %d "
      "undetectable (another valid class); %zu pixel flips undetectable\n",
      label_errors, label_silent, good.pixels.size());
  EXPECT_EQ(label_errors + label_silent, 96);
  EXPECT_GT(label_errors, 0);
}

TEST(DataFaults, CifarLabelFlipsOutOfRangeAreErrorsTheRestUndetectable) {
  const int kRecord10 = 1 + 3072, kRecord100 = 2 + 3072;
  for (bool cifar100 : {false, true}) {
    TempDir dir;
    const int record = cifar100 ? kRecord100 : kRecord10, classes = cifar100 ? 100 : 10;
    std::vector<uint8_t> file;
    for (int r = 0; r < 4; ++r) {
      if (cifar100) file.push_back(uint8_t(r * 5 % 20));  // coarse label
      file.push_back(uint8_t(r * 3 % classes));           // the label load_cifar uses
      for (int p = 0; p < 3072; ++p) file.push_back(uint8_t(r * 13 + p));
    }
    const std::string path = dir / (cifar100 ? "test.bin" : "test_batch.bin");
    auto load = [&] {
      return cifar100 ? load_cifar100(dir.path.string(), false, true)
                      : load_cifar10(dir.path.string(), false);
    };
    testing::write_file(path, file);
    const Dataset good = load();
    int errors = 0, silent = 0;
    for (int r = 0; r < 4; ++r)
      for (int bit = 0; bit < 8; ++bit) {
        const size_t at = size_t(r * record + (cifar100 ? 1 : 0));
        std::vector<uint8_t> b = file;
        b[at] ^= uint8_t(1u << bit);
        testing::write_file(path, b);
        Dataset d;
        if (!loads(load, path, d)) {
          EXPECT_GE(b[at], classes);
          ++errors;
          continue;
        }
        EXPECT_LT(b[at], classes);
        Dataset want = good;
        want.labels[size_t(r)] = b[at];
        EXPECT_TRUE(same(d, want));
        ++silent;
      }
    // A pixel flip: loads, that pixel differs (the format cannot tell).
    std::vector<uint8_t> b = file;
    b[size_t(record + 100)] ^= 0x20;
    testing::write_file(path, b);
    const Dataset d = load();
    EXPECT_NE(d.pixels, good.pixels);
    EXPECT_EQ(d.labels, good.labels);
    std::printf(
        "%s label flips: %d rejected (out of range), %d undetectable; pixel flips undetectable\n",
        cifar100 ? "cifar-100 fine" : "cifar-10", errors, silent);
    EXPECT_GT(errors, 0);
  }
}

}  // namespace
}  // namespace senet::data
