// tests/io/test_io_bitflip.cpp — every single-bit flip of a safetensors file written by senet, in
// the length field, the JSON header or the data: the per-tensor CRC-32s catch data flips and the
// header CRC-32 ("senet.crc32.__metadata__") catches header flips that still parse (a digit of a
// shape or offset, a letter of a name, a metadata value). A flip that turns the header checksum's
// own key into an ordinary metadata key (it loaded before senet recorded the content checksum) is
// now caught by the content checksum, which covers that metadata. Any flip that would load must
// leave every tensor and metadata entry unchanged, and no flip may be reported as a rewrite by
// another tool (safetensors.h: a bit flip cannot move tensors consistently).
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "engine/io/safetensors.h"

namespace senet::io {
namespace {

StFile sample() {
  StFile f;
  auto add = [&](const std::string& name, StDType dt, std::vector<int64_t> shape) {
    StTensor t{name, dt, shape, std::vector<uint8_t>(st_nbytes(dt, shape))};
    for (size_t i = 0; i < t.bytes.size(); ++i) t.bytes[i] = uint8_t(i * 29 + name.size());
    f.tensors.push_back(t);
  };
  add("conv1.weight", StDType::F32, {4, 1, 3, 3});
  add("bn1.running_mean", StDType::F32, {4});
  add("relu1.mask", StDType::U8, {4, 2, 2});
  add("optim.conv1.weight.momentum_buffer", StDType::F32, {4, 1, 3, 3});
  f.metadata = {{"format", "senet-checkpoint-1"},
                {"epoch", "3"},
                {"best_val_accuracy", "0.8125"},
                {"config", R"({"train":{"epochs":10,"optim":{"lr":0.1}},"seed":0})"}};
  return f;
}

TEST(SafetensorsBitFlip, EveryFlipIsAnErrorOrLeavesTensorsAndMetadataUnchanged) {
  const StFile good = sample();
  const std::vector<uint8_t> bytes = serialize_safetensors(good);
  const std::string text(bytes.begin(), bytes.end());
  std::string key = st_checksum_key("__metadata__");
  key.insert(key.begin(), '"');
  key.push_back('"');
  const size_t key_at = text.find(key);
  ASSERT_NE(key_at, std::string::npos);
  int errors = 0, loaded = 0;
  for (size_t pos = 0; pos < bytes.size(); ++pos)
    for (int bit = 0; bit < 8; ++bit) {
      std::vector<uint8_t> b = bytes;
      b[pos] ^= uint8_t(1u << bit);
      try {
        const StFile f = parse_safetensors(b.data(), b.size(), "flip.safetensors");
        ++loaded;
        EXPECT_TRUE(pos > key_at && pos < key_at + key.size() - 1)
            << "byte " << pos << " bit " << bit << " loaded, outside the header checksum's key: …"
            << text.substr(pos > 30 ? pos - 30 : 0, 40) << "…";
        ASSERT_EQ(f.tensors.size(), good.tensors.size());
        for (size_t i = 0; i < f.tensors.size(); ++i) {
          EXPECT_EQ(f.tensors[i].name, good.tensors[i].name);
          EXPECT_EQ(f.tensors[i].shape, good.tensors[i].shape);
          EXPECT_EQ(f.tensors[i].bytes, good.tensors[i].bytes);
        }
        for (const auto& [k, v] : good.metadata) EXPECT_EQ(f.metadata.at(k), v) << k;
      } catch (const Error& e) {
        ++errors;
        EXPECT_NE(std::string(e.what()).find("flip.safetensors"), std::string::npos) << e.what();
        EXPECT_EQ(std::string(e.what()).find("rewritten"), std::string::npos)
            << "byte " << pos << " bit " << bit << ": " << e.what();
      }
    }
  std::printf("%zu bytes, %zu flips: %d rejected, %d loaded\n", bytes.size(), bytes.size() * 8,
              errors, loaded);
  EXPECT_EQ(loaded, 0);
}

}  // namespace
}  // namespace senet::io
