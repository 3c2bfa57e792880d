// engine/io/safetensors.h — read and write the safetensors format (huggingface.co/docs/safetensors).
// File layout: u64 little-endian N | N bytes of JSON header | data buffer.
//   header = {"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...,
//             "__metadata__": {"key": "value", ...}}     (metadata values are strings only)
//   offsets are relative to the start of the data buffer; tensors may not overlap.
// Rules: records only (no engine Tensor), bytes little-endian as stored. The writer pads the header
// with spaces so the data starts 8-byte aligned and stores a CRC-32 of each tensor's bytes in the
// metadata under "senet.crc32.<name>" (8 lowercase hex digits), and a CRC-32 of the header itself
// under "senet.crc32.__metadata__" (see st_header_checksum); the reader verifies those when present
// and hides them from StFile::metadata. Files from other tools (no checksums) load fine.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace senet::io {

enum class StDType { F32, F64, U8, I8, I32, I64, U32, U64, F16, BF16, BOOL, U16, I16 };

size_t st_dtype_size(StDType t);                       // bytes per element
const char* st_dtype_name(StDType t);                  // "F32", "BF16", ... as in the file
StDType st_dtype_from_name(const std::string& name);   // unknown name → senet::Error

// numel(shape) · st_dtype_size(t); negative dims or a product that overflows → senet::Error.
// The empty shape [] is a scalar (1 element).
size_t st_nbytes(StDType t, const std::vector<int64_t>& shape);

// Metadata key holding the checksum of a tensor: "senet.crc32.<name>".
std::string st_checksum_key(const std::string& tensor_name);
// The header checksum (key st_checksum_key("__metadata__"), a name no tensor may have) covers the
// tensor table and all metadata, tensor checksums included: CRC-32 of `canonical_header`, the
// header JSON without that key dumped compactly with sorted keys (nlohmann::json::dump()).
std::string st_header_checksum(const std::string& canonical_header);  // 8 lowercase hex digits

struct StTensor {
  std::string name;
  StDType dtype = StDType::F32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;  // st_nbytes(dtype, shape) bytes, little-endian
};

struct StFile {
  std::vector<StTensor> tensors;  // loaded in data-offset order (= the order they were saved in)
  std::map<std::string, std::string> metadata;  // without the senet.crc32.* checksum keys
  std::string path;                              // where it came from; used in error messages

  const StTensor* find(const std::string& name) const;  // nullptr when absent
  const StTensor& at(const std::string& name) const;    // absent → error naming file and tensor
};

// The bytes of a safetensors file: tensors in the given order, names unique and not "__metadata__",
// each tensor's byte count matching its dtype and shape; f.metadata may not use senet.crc32.* keys.
std::vector<uint8_t> serialize_safetensors(const StFile& f);
void save_safetensors(const std::string& path, const StFile& f);  // serialize + write_file_atomic

StFile load_safetensors(const std::string& path);  // read_file + parse_safetensors
// The parser on its own (and the thing to fuzz): checks every length and offset before using it,
// so any input, however malformed, gives either a valid StFile or a senet::Error naming
// `name_for_errors` and what was expected — never a read outside [data, data + size).
StFile parse_safetensors(const uint8_t* data, size_t size, const std::string& name_for_errors);

}  // namespace senet::io
