// engine/io/safetensors.cpp — the pieces shared by the reader and the writer: the dtype table
// (name and element size per dtype, in the same order as the enum), byte counts with overflow
// checks, the checksum key names, and looking tensors up by name.
#include "engine/io/safetensors.h"

#include <cstdio>
#include <limits>

#include "engine/core/error.h"
#include "engine/io/crc32.h"

namespace senet::io {
namespace {

struct DTypeInfo {
  StDType dtype;
  const char* name;
  size_t size;
};

constexpr DTypeInfo kDTypes[] = {
    {StDType::F32, "F32", 4},   {StDType::F64, "F64", 8},   {StDType::U8, "U8", 1},
    {StDType::I8, "I8", 1},     {StDType::I32, "I32", 4},   {StDType::I64, "I64", 8},
    {StDType::U32, "U32", 4},   {StDType::U64, "U64", 8},   {StDType::F16, "F16", 2},
    {StDType::BF16, "BF16", 2}, {StDType::BOOL, "BOOL", 1}, {StDType::U16, "U16", 2},
    {StDType::I16, "I16", 2},
};

const DTypeInfo& info(StDType t) {
  for (const DTypeInfo& d : kDTypes)
    if (d.dtype == t) return d;
  fail("safetensors: invalid StDType value ", static_cast<int>(t));
}

}  // namespace

size_t st_dtype_size(StDType t) { return info(t).size; }
const char* st_dtype_name(StDType t) { return info(t).name; }

StDType st_dtype_from_name(const std::string& name) {
  for (const DTypeInfo& d : kDTypes)
    if (name == d.name) return d.dtype;
  fail("unknown safetensors dtype \"", name,
       "\" (expected one of F32 F64 F16 BF16 U8 I8 U16 I16 U32 I32 U64 I64 BOOL)");
}

size_t st_nbytes(StDType t, const std::vector<int64_t>& shape) {
  size_t n = st_dtype_size(t);
  for (int64_t d : shape) {
    SENET_CHECK(d >= 0, "negative dimension ", d, " in a safetensors shape");
    const auto ud = static_cast<uint64_t>(d);
    SENET_CHECK(ud == 0 || n <= std::numeric_limits<size_t>::max() / ud,
                "safetensors shape is too large (its byte count overflows)");
    n *= static_cast<size_t>(ud);
  }
  return n;
}

std::string st_checksum_key(const std::string& tensor_name) { return "senet.crc32." + tensor_name; }

bool st_is_checksum_key(const std::string& key) {
  return key.rfind(st_checksum_key(""), 0) == 0 || key == kStContentChecksumKey ||
         key == kStOffsetsChecksumKey;
}

std::string st_header_checksum(const std::string& canonical_header) {
  char crc[9];
  std::snprintf(crc, sizeof crc, "%08x", crc32(canonical_header.data(), canonical_header.size()));
  return crc;
}

const StTensor* StFile::find(const std::string& name) const {
  for (const StTensor& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

const StTensor& StFile::at(const std::string& name) const {
  const StTensor* t = find(name);
  if (!t) fail(path.empty() ? "safetensors" : path, ": no tensor named \"", name, "\"");
  return *t;
}

}  // namespace senet::io
