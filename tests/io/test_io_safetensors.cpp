// tests/io/test_io_safetensors.cpp — safetensors writer and parser.
// Round trips (many dtypes, scalar [] and empty shapes, metadata, order), the layout on disk
// (8-byte aligned header, checksums), a hand-made file as another tool writes it (golden bytes),
// one test per malformed-input rule, a senet file rewritten by another tool told apart from a
// corrupt one, and a small fuzz: every truncation and every header bit flip must give a
// senet::Error or a valid file — never a crash or a foreign exception.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "engine/io/atomic_file.h"
#include "engine/io/crc32.h"
#include "engine/io/safetensors.h"
#include "temp_dir.h"
#include "tests/support/rewrite_safetensors.h"

namespace senet::io {
namespace {

using test::TempDir;

std::vector<uint8_t> iota_bytes(size_t n, uint8_t start = 1) {
  std::vector<uint8_t> b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(start + 7 * i);
  return b;
}

StTensor make(const std::string& name, StDType dt, std::vector<int64_t> shape, uint8_t seed = 1) {
  StTensor t{name, dt, shape, {}};
  t.bytes = iota_bytes(st_nbytes(dt, shape), seed);
  return t;
}

StFile sample_file() {
  StFile f;
  f.tensors.push_back(make("conv1.weight", StDType::F32, {2, 3}));
  f.tensors.push_back(make("bn.num_batches", StDType::I64, {}, 5));  // 0-dim scalar
  f.tensors.push_back(make("empty", StDType::U8, {0}));              // no bytes at all
  f.tensors.push_back(make("half", StDType::BF16, {2, 2}, 9));
  f.metadata = {{"format", "pt"}, {"epoch", "3"}};
  return f;
}

// u64 little-endian length + header text + data, exactly as given (no padding, no checksums).
std::vector<uint8_t> raw_file(const std::string& header, const std::vector<uint8_t>& data = {}) {
  std::vector<uint8_t> out(8 + header.size() + data.size());
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(uint64_t(header.size()) >> (8 * i));
  std::copy(header.begin(), header.end(), out.begin() + 8);
  std::copy(data.begin(), data.end(), out.begin() + 8 + static_cast<long>(header.size()));
  return out;
}

StFile parse(const std::vector<uint8_t>& b) {
  return parse_safetensors(b.data(), b.size(), "t.st");
}

// Expects a senet::Error whose message contains the file name and `needle`.
void expect_error(const std::vector<uint8_t>& b, const std::string& needle) {
  try {
    parse(b);
    ADD_FAILURE() << "expected an error containing \"" << needle << "\"";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("t.st"), std::string::npos) << msg;
    EXPECT_NE(msg.find(needle), std::string::npos) << "wanted \"" << needle << "\" in: " << msg;
  }
}

void expect_same_tensors(const StFile& a, const StFile& b) {
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    EXPECT_EQ(a.tensors[i].name, b.tensors[i].name);
    EXPECT_EQ(a.tensors[i].dtype, b.tensors[i].dtype);
    EXPECT_EQ(a.tensors[i].shape, b.tensors[i].shape);
    EXPECT_EQ(a.tensors[i].bytes, b.tensors[i].bytes);
  }
}

TEST(Crc32, KnownValues) {
  EXPECT_EQ(crc32("123456789", 9), 0xCBF43926u);
  EXPECT_EQ(crc32("", 0), 0u);
  EXPECT_EQ(crc32("56789", 5, crc32("1234", 4)), 0xCBF43926u);  // continues a previous value
}

TEST(SafetensorsDType, NamesSizesAndUnknown) {
  const StDType all[] = {StDType::F32,  StDType::F64, StDType::U8,  StDType::I8,  StDType::I32,
                         StDType::I64,  StDType::U32, StDType::U64, StDType::F16, StDType::BF16,
                         StDType::BOOL, StDType::U16, StDType::I16};
  for (StDType t : all) EXPECT_EQ(st_dtype_from_name(st_dtype_name(t)), t);
  EXPECT_EQ(st_dtype_size(StDType::BF16), 2u);
  EXPECT_EQ(st_dtype_size(StDType::F64), 8u);
  EXPECT_EQ(st_dtype_size(StDType::BOOL), 1u);
  EXPECT_THROW(st_dtype_from_name("F8_E4M3"), Error);
  EXPECT_THROW(st_dtype_from_name("f32"), Error);
  EXPECT_EQ(st_nbytes(StDType::F32, {}), 4u);
  EXPECT_EQ(st_nbytes(StDType::F32, {3, 0, 5}), 0u);
  EXPECT_THROW(st_nbytes(StDType::F32, {-1}), Error);
  EXPECT_THROW(st_nbytes(StDType::F64, {int64_t(1) << 40, int64_t(1) << 40}), Error);
}

TEST(Safetensors, RoundTripThroughDisk) {
  TempDir d;
  const std::string p = d.file("model.safetensors");
  StFile f = sample_file();
  // one tensor of every dtype as well
  f.tensors.push_back(make("f64", StDType::F64, {3}));
  f.tensors.push_back(make("u8", StDType::U8, {5}));
  f.tensors.push_back(make("i8", StDType::I8, {1, 3}));
  f.tensors.push_back(make("i32", StDType::I32, {2}));
  f.tensors.push_back(make("u32", StDType::U32, {2, 1}));
  f.tensors.push_back(make("u64", StDType::U64, {1}));
  f.tensors.push_back(make("f16", StDType::F16, {3}));
  f.tensors.push_back(make("bool", StDType::BOOL, {4}));
  f.tensors.push_back(make("u16", StDType::U16, {2}));
  f.tensors.push_back(make("i16", StDType::I16, {1, 1, 1}));
  f.tensors.push_back(make("empty2d", StDType::F32, {4, 0}));
  save_safetensors(p, f);
  StFile g = load_safetensors(p);
  expect_same_tensors(f, g);          // same order as saved
  EXPECT_EQ(g.metadata, f.metadata);  // checksum keys are hidden
  EXPECT_EQ(g.path, p);
  EXPECT_EQ(g.at("bn.num_batches").shape, std::vector<int64_t>{});
  EXPECT_EQ(g.at("empty").bytes.size(), 0u);
  EXPECT_EQ(g.find("nope"), nullptr);
  EXPECT_EQ(d.entries(), std::vector<std::string>{"model.safetensors"});
}

TEST(Safetensors, EmptyFileRoundTrips) {
  StFile f;
  std::vector<uint8_t> b = serialize_safetensors(f);
  StFile g = parse(b);
  EXPECT_TRUE(g.tensors.empty());
  EXPECT_TRUE(g.metadata.empty());
}

TEST(Safetensors, AtNamesFileAndTensor) {
  StFile f = parse(serialize_safetensors(sample_file()));
  try {
    f.at("missing.weight");
    FAIL();
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("t.st"), std::string::npos) << msg;
    EXPECT_NE(msg.find("missing.weight"), std::string::npos) << msg;
  }
}

TEST(Safetensors, LayoutAlignedHeaderWithChecksums) {
  const StFile f = sample_file();
  const std::vector<uint8_t> b = serialize_safetensors(f);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | b[i];
  EXPECT_EQ((8 + n) % 8, 0u);
  const std::string header(b.begin() + 8, b.begin() + 8 + static_cast<long>(n));
  const auto j = nlohmann::json::parse(header);  // trailing spaces are valid JSON whitespace
  EXPECT_LT(header.size() - 1 - header.find_last_not_of(' '), 8u);  // at most 7 pad spaces
  EXPECT_EQ(j["conv1.weight"]["dtype"], "F32");
  EXPECT_EQ(j["conv1.weight"]["shape"], nlohmann::json({2, 3}));
  EXPECT_EQ(j["conv1.weight"]["data_offsets"], nlohmann::json({0, 24}));
  EXPECT_EQ(j["bn.num_batches"]["shape"], nlohmann::json::array());
  EXPECT_EQ(j["bn.num_batches"]["data_offsets"], nlohmann::json({24, 32}));
  EXPECT_EQ(j["empty"]["data_offsets"], nlohmann::json({32, 32}));
  EXPECT_EQ(j["__metadata__"]["format"], "pt");
  char crc[9];
  const auto& w = f.tensors[0].bytes;
  std::snprintf(crc, sizeof crc, "%08x", crc32(w.data(), w.size()));
  EXPECT_EQ(j["__metadata__"]["senet.crc32.conv1.weight"], crc);
  EXPECT_EQ(header.rfind("{\"__metadata__\"", 0), 0u) << "metadata first";
  EXPECT_EQ(b.size(), 8 + n + 24 + 8 + 0 + 8);
}

// As written by another tool: no padding, no checksums, keys in any order, data back to back.
TEST(Safetensors, GoldenBytesFromAnotherTool) {
  const std::string header = R"({"b":{"dtype":"I8","shape":[],"data_offsets":[8,9]},)"
                             R"("__metadata__":{"format":"pt"},)"
                             R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  float a[2] = {1.5f, -2.0f};
  std::vector<uint8_t> data(9);
  std::memcpy(data.data(), a, 8);
  data[8] = 0xFE;  // -2 as int8
  const StFile f = parse(raw_file(header, data));
  ASSERT_EQ(f.tensors.size(), 2u);
  EXPECT_EQ(f.tensors[0].name, "a");  // data-offset order, not header order
  EXPECT_EQ(f.tensors[1].name, "b");
  float back[2];
  std::memcpy(back, f.at("a").bytes.data(), 8);
  EXPECT_EQ(back[0], 1.5f);
  EXPECT_EQ(back[1], -2.0f);
  EXPECT_EQ(f.at("b").dtype, StDType::I8);
  EXPECT_EQ(static_cast<int8_t>(f.at("b").bytes[0]), -2);
  EXPECT_EQ(f.metadata, (std::map<std::string, std::string>{{"format", "pt"}}));
}

TEST(Safetensors, HeaderOnlyHandWritten) {
  const StFile f = parse(raw_file("{}"));
  EXPECT_TRUE(f.tensors.empty());
  const StFile g = parse(raw_file(R"({"__metadata__":null})"));
  EXPECT_TRUE(g.metadata.empty());
}

TEST(SafetensorsMalformed, Lengths) {
  expect_error({}, "shorter than the 8-byte");
  expect_error({1, 0, 0}, "shorter than the 8-byte");
  std::vector<uint8_t> b = raw_file("{}");
  b[0] = 3;  // claims 3 bytes, 2 present
  expect_error(b, "larger than");
  b[0] = 0;
  b[4] = 1;  // 2^32 bytes: absurd
  expect_error(b, "absurd");
  b = raw_file("{}");
  b[7] = 0x80;  // 2^63: absurd, and no overflow in 8 + n
  expect_error(b, "absurd");
}

TEST(SafetensorsMalformed, HeaderJson) {
  expect_error(raw_file(""), "not valid JSON");
  expect_error(raw_file("{\"a\":"), "not valid JSON");
  expect_error(raw_file("{} x"), "not valid JSON");
  expect_error(raw_file("[1, 2]"), "must be a JSON object");
  expect_error(raw_file("\"s\""), "must be a JSON object");
  expect_error(raw_file("{\"a\":\"\xff\"}"), "not valid JSON");  // not UTF-8
}

TEST(SafetensorsMalformed, EntryFieldsAndTypes) {
  const std::vector<uint8_t> d(8);
  expect_error(raw_file(R"({"a":5})", d), "expected an object");
  expect_error(raw_file(R"({"a":{"shape":[2],"data_offsets":[0,8]}})", d), "missing \"dtype\"");
  expect_error(raw_file(R"({"a":{"dtype":"F32","data_offsets":[0,8]}})", d), "missing \"shape\"");
  expect_error(raw_file(R"({"a":{"dtype":"F32","shape":[2]}})", d), "missing \"data_offsets\"");
  expect_error(raw_file(R"({"a":{"dtype":1,"shape":[2],"data_offsets":[0,8]}})", d),
               "dtype must be a string");
  expect_error(raw_file(R"({"a":{"dtype":"F32","shape":2,"data_offsets":[0,8]}})", d),
               "shape must be an array");
  expect_error(raw_file(R"({"a":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})", d),
               "shape must hold integers");
  expect_error(raw_file(R"({"a":{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}})", d),
               "shape must hold integers");
  expect_error(raw_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", d),
               "data_offsets must be an array [begin, end]");
  expect_error(raw_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":{"b":0}}})", d),
               "data_offsets must be an array [begin, end]");
  expect_error(raw_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,-8]}})", d),
               "non-negative integers");
  expect_error(raw_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8.0]}})", d),
               "non-negative integers");
}

TEST(SafetensorsMalformed, DTypeAndShape) {
  const std::vector<uint8_t> d(8);
  expect_error(raw_file(R"({"a":{"dtype":"F8_E5M2","shape":[8],"data_offsets":[0,8]}})", d),
               "unknown safetensors dtype \"F8_E5M2\"");
  expect_error(raw_file(R"({"a":{"dtype":"U8","shape":[-8],"data_offsets":[0,8]}})", d),
               "negative dimension");
  expect_error(raw_file(R"({"a":{"dtype":"U8","shape":[4294967296,4294967296],)"
                        R"("data_offsets":[0,8]}})",
                        d),
               "overflows");
  expect_error(raw_file(R"({"a":{"dtype":"U8","shape":[18446744073709551615],)"
                        R"("data_offsets":[0,8]}})",
                        d),
               "too large");
}

TEST(SafetensorsMalformed, Offsets) {
  const std::vector<uint8_t> d(8);
  expect_error(raw_file(R"({"a":{"dtype":"U8","shape":[0],"data_offsets":[5,4]}})", d),
               "begin <= end");
  expect_error(raw_file(R"({"a":{"dtype":"U8","shape":[9],"data_offsets":[0,9]}})", d),
               "begin <= end <= 8");
  expect_error(raw_file(R"({"a":{"dtype":"U8","shape":[1],)"
                        R"("data_offsets":[18446744073709551615,18446744073709551615]}})",
                        d),
               "begin <= end");
  expect_error(raw_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,8]}})", d),
               "span 8 bytes");
  expect_error(raw_file(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
                        R"("b":{"dtype":"U8","shape":[4],"data_offsets":[3,7]}})",
                        d),
               "overlap");
  // an empty tensor inside another one also overlaps it
  expect_error(raw_file(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
                        R"("b":{"dtype":"U8","shape":[0],"data_offsets":[2,2]}})",
                        d),
               "overlap");
  // gaps and empty tensors at a boundary are fine
  const StFile ok = parse(raw_file(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},)"
                                   R"("e":{"dtype":"U8","shape":[0],"data_offsets":[2,2]},)"
                                   R"("b":{"dtype":"U8","shape":[2],"data_offsets":[5,7]}})",
                                   d));
  ASSERT_EQ(ok.tensors.size(), 3u);
  EXPECT_EQ(ok.tensors[2].name, "b");
}

TEST(SafetensorsMalformed, Metadata) {
  expect_error(raw_file(R"({"__metadata__":{"k":1}})"), "must be a string");
  expect_error(raw_file(R"({"__metadata__":{"k":{"x":"y"}}})"), "must be a string");
  expect_error(raw_file(R"({"__metadata__":["k"]})"), "__metadata__ must be an object");
}

TEST(SafetensorsIntegrity, FlippedDataByteIsChecksumError) {
  const std::vector<uint8_t> good = serialize_safetensors(sample_file());
  const size_t data_start = good.size() - (24 + 8 + 0 + 8);
  for (size_t i = data_start; i < good.size(); ++i) {
    std::vector<uint8_t> b = good;
    b[i] ^= 0x10;
    expect_error(b, "checksum mismatch");
  }
}

TEST(SafetensorsIntegrity, BadOrOrphanChecksumEntries) {
  const std::vector<uint8_t> d(4);
  expect_error(raw_file(R"({"__metadata__":{"senet.crc32.a":"00000000"},)"
                        R"("a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})",
                        d),
               "checksum mismatch");
  expect_error(raw_file(R"({"__metadata__":{"senet.crc32.zz":"00000000"}})"), "no such tensor");
}

// A senet file as another tool saves it again with its metadata (tests/support).
using senet::test::rewrite_safetensors;

std::string error_text(const std::vector<uint8_t>& b) {
  try {
    parse(b);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// Rewritten by another tool: every name, dtype, shape and metadata entry as senet wrote them, the
// tensors moved. Reported as that (never "corrupt"), with the key to drop; dropping it loads the
// file with the content and tensor checksums still checked.
TEST(SafetensorsIntegrity, RewrittenByAnotherToolIsToldApartFromCorrupt) {
  const StFile original = sample_file();
  const std::vector<uint8_t> good = serialize_safetensors(original);
  const std::string key = st_checksum_key("__metadata__");

  std::string e = error_text(rewrite_safetensors(good));
  EXPECT_NE(e.find("t.st: rewritten by another tool"), std::string::npos) << e;
  EXPECT_NE(e.find("Every tensor's bytes still match"), std::string::npos) << e;
  EXPECT_NE(e.find("drop the metadata key '" + key + "'"), std::string::npos) << e;
  EXPECT_EQ(e.find("corrupt"), std::string::npos) << e;

  const StFile loaded =
      parse(rewrite_safetensors(good, [&](nlohmann::json& meta, auto&) { meta.erase(key); }));
  EXPECT_EQ(loaded.metadata, original.metadata);
  ASSERT_EQ(loaded.tensors.size(), original.tensors.size());
  for (const StTensor& t : original.tensors) EXPECT_EQ(loaded.at(t.name).bytes, t.bytes) << t.name;

  // ...and a tensor's bytes changed by that tool too: named, with how to load it unchecked.
  auto change_half = [](nlohmann::json&, std::vector<StTensor>& ts) {
    for (StTensor& t : ts)
      if (t.name == "half") t.bytes[0] ^= 1;
  };
  e = error_text(rewrite_safetensors(good, change_half));
  EXPECT_NE(e.find("rewritten by another tool"), std::string::npos) << e;
  EXPECT_NE(e.find("the bytes of tensor \"half\" differ"), std::string::npos) << e;
  EXPECT_NE(e.find("drop every metadata key that starts with 'senet.crc32'"), std::string::npos)
      << e;
  const StFile unchecked =
      parse(rewrite_safetensors(good, [&](nlohmann::json& meta, std::vector<StTensor>& ts) {
        change_half(meta, ts);
        for (auto it = meta.begin(); it != meta.end();)
          it = it.key().rfind("senet.crc32", 0) == 0 ? meta.erase(it) : std::next(it);
      }));
  EXPECT_EQ(unchecked.metadata, original.metadata);
  // Dropping only the header checksum leaves the tensor checksum to catch the change.
  expect_error(rewrite_safetensors(good,
                                   [&](nlohmann::json& meta, std::vector<StTensor>& ts) {
                                     change_half(meta, ts);
                                     meta.erase(key);
                                   }),
               "\"half\": checksum mismatch");

  // Not a mere move: a metadata value, a shape or a dtype differs from what senet wrote → corrupt,
  // whether or not the tensors moved.
  expect_error(rewrite_safetensors(good, [](nlohmann::json& meta, auto&) { meta["epoch"] = "4"; }),
               "header checksum mismatch");
  expect_error(rewrite_safetensors(good,
                                   [](nlohmann::json&, std::vector<StTensor>& ts) {
                                     for (StTensor& t : ts)
                                       if (t.name == "conv1.weight") t.shape = {3, 2};
                                   }),
               "is corrupt");
  expect_error(rewrite_safetensors(good,
                                   [&](nlohmann::json& meta, std::vector<StTensor>& ts) {
                                     meta.erase(key);
                                     for (StTensor& t : ts)
                                       if (t.name == "half") t.dtype = StDType::F16;
                                   }),
               "header content checksum mismatch");
  // A file senet wrote before it recorded the content checksum cannot be told apart: corrupt, with
  // a hint for the rewritten case.
  e = error_text(rewrite_safetensors(good, [](nlohmann::json& meta, auto&) {
    meta.erase(kStContentChecksumKey);
    meta.erase(kStOffsetsChecksumKey);
  }));
  EXPECT_NE(e.find("header checksum mismatch"), std::string::npos) << e;
  EXPECT_NE(e.find("re-saved by another tool"), std::string::npos) << e;
}

// The two newer header checksums are senet's like the others: hidden from the metadata, reserved
// for the writer, and their canonical forms are what the writer stored.
TEST(SafetensorsIntegrity, ContentAndOffsetsChecksumsAreSenets) {
  const std::vector<uint8_t> b = serialize_safetensors(sample_file());
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | b[size_t(i)];
  const auto j = nlohmann::json::parse(b.begin() + 8, b.begin() + 8 + long(n));
  EXPECT_TRUE(j["__metadata__"].contains(kStContentChecksumKey));
  EXPECT_TRUE(j["__metadata__"].contains(kStOffsetsChecksumKey));
  EXPECT_EQ(parse(b).metadata, sample_file().metadata);
  for (const char* k : {kStContentChecksumKey, kStOffsetsChecksumKey, "senet.crc32.x"}) {
    EXPECT_TRUE(st_is_checksum_key(k)) << k;
    StFile f;
    f.metadata[k] = "0";
    EXPECT_THROW(serialize_safetensors(f), Error) << k;
  }
  EXPECT_FALSE(st_is_checksum_key("senet.crc"));
  EXPECT_FALSE(st_is_checksum_key("format"));
}

TEST(SafetensorsWriter, RejectsBadInput) {
  StFile dup;
  dup.tensors = {make("w", StDType::F32, {1}), make("w", StDType::F32, {1})};
  EXPECT_THROW(serialize_safetensors(dup), Error);
  StFile wrong_size;
  wrong_size.tensors = {make("w", StDType::F32, {2})};
  wrong_size.tensors[0].bytes.pop_back();
  EXPECT_THROW(serialize_safetensors(wrong_size), Error);
  StFile reserved_name;
  reserved_name.tensors = {make("__metadata__", StDType::U8, {1})};
  EXPECT_THROW(serialize_safetensors(reserved_name), Error);
  StFile reserved_key;
  reserved_key.metadata = {{"senet.crc32.w", "0"}};
  EXPECT_THROW(serialize_safetensors(reserved_key), Error);
  StFile negative;
  negative.tensors = {StTensor{"n", StDType::U8, {-1}, {}}};
  EXPECT_THROW(serialize_safetensors(negative), Error);
  StFile not_utf8;
  not_utf8.tensors = {make("bad\xff", StDType::U8, {1})};
  EXPECT_THROW(serialize_safetensors(not_utf8), Error);

  TempDir d;
  const std::string p = d.file("m.safetensors");
  write_file_atomic(p, std::string("old"));
  try {
    save_safetensors(p, dup);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("duplicate"), std::string::npos) << e.what();
  }
  EXPECT_EQ(read_file(p), "old");
}

TEST(SafetensorsLoad, MissingFileNamesPath) {
  TempDir d;
  const std::string p = d.file("none.safetensors");
  try {
    load_safetensors(p);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
  }
}

// Each prefix is copied into its own exact-size heap buffer, so a read past its end is caught by
// AddressSanitizer builds; in plain builds we check that it is always a senet::Error.
TEST(SafetensorsFuzz, EveryTruncationIsAnError) {
  const std::vector<uint8_t> good = serialize_safetensors(sample_file());
  ASSERT_NO_THROW(parse(good));
  for (size_t k = 0; k < good.size(); ++k) {
    const std::vector<uint8_t> b(good.begin(), good.begin() + static_cast<long>(k));
    EXPECT_THROW(parse_safetensors(b.data(), b.size(), "trunc"), Error) << "prefix of " << k;
  }
}

// Flipping any bit of the length field or the header: an error or a valid file, nothing else
// (an exception of another type fails the test; a crash fails the whole executable).
TEST(SafetensorsFuzz, EveryHeaderBitFlipIsHandled) {
  const std::vector<uint8_t> good = serialize_safetensors(sample_file());
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | good[i];
  int errors = 0, parsed = 0;
  for (size_t i = 0; i < 8 + n; ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::vector<uint8_t> b = good;
      b[i] ^= static_cast<uint8_t>(1u << bit);
      try {
        StFile f = parse_safetensors(b.data(), b.size(), "flip");
        for (const StTensor& t : f.tensors) EXPECT_EQ(t.bytes.size(), st_nbytes(t.dtype, t.shape));
        ++parsed;
      } catch (const Error&) {
        ++errors;
      } catch (const std::exception& e) {
        ADD_FAILURE() << "byte " << i << " bit " << bit << ": foreign exception " << e.what();
      }
    }
  }
  EXPECT_GT(errors, 0);
  RecordProperty("parsed_after_flip", parsed);
}

}  // namespace
}  // namespace senet::io
