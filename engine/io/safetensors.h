// engine/io/safetensors.h — read and write the safetensors format (huggingface.co/docs/safetensors).
// File layout: u64 little-endian N | N bytes of JSON header | data buffer.
//   header = {"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...,
//             "__metadata__": {"key": "value", ...}}     (metadata values are strings only)
//   offsets are relative to the start of the data buffer; tensors may not overlap.
// Rules: records only (no engine Tensor), bytes little-endian as stored. The writer pads the header
// with spaces so the data starts 8-byte aligned and stores checksums in the metadata (CRC-32, 8
// lowercase hex digits each): one per tensor's bytes under "senet.crc32.<name>", and three of the
// header (st_header_checksum over canonical forms, see below). The reader verifies those present
// and hides them all from StFile::metadata. Files from other tools (no checksums) load fine.
//
// The header checksums, and how a file rewritten by another tool is told from a corrupt one:
//   "senet.crc32.__metadata__"  the whole header but this key: names, dtypes, shapes, offsets, and
//                               all metadata (tensor checksums and the two keys below included);
//   "senet.crc32-content"       the header without any "data_offsets" and without this key and the
//                               one above: everything but the layout (the offsets key included);
//   "senet.crc32-offsets"       the layout alone: {"<name>": [begin, end], ...}.
// Each is the CRC-32 of a JSON dump with sorted keys (nlohmann::json::dump()), so key order and
// padding in the file do not matter. Another tool that loads a senet file and saves it again with
// its metadata (safetensors' save_file(tensors, path, metadata)) keeps every name, dtype, shape and
// metadata entry but lays the tensors out in its own order: the first checksum fails, the content
// checksum holds and the offsets checksum fails. A corruption cannot do that: the content checksum
// vouches for the stored offsets checksum, so the offsets really differ from the recorded ones,
// and moving a tensor needs both its offsets changed consistently (a changed begin or end alone
// fails the span check, dtype × shape). So the reader calls that case "rewritten by another tool"
// — still an error, which says which tensors' bytes no longer match their checksums and which
// metadata key to drop to load it — and every other mismatch "corrupt", as before. A file without
// the header checksum but with the content checksum (a rewritten file whose header checksum the
// user dropped, as that error says) has its content checksum and tensor checksums verified.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace senet::io {

enum class StDType { F32, F64, U8, I8, I32, I64, U32, U64, F16, BF16, BOOL, U16, I16 };

size_t st_dtype_size(StDType t);                      // bytes per element
const char* st_dtype_name(StDType t);                 // "F32", "BF16", ... as in the file
StDType st_dtype_from_name(const std::string& name);  // unknown name → senet::Error

// numel(shape) · st_dtype_size(t); negative dims or a product that overflows → senet::Error.
// The empty shape [] is a scalar (1 element).
size_t st_nbytes(StDType t, const std::vector<int64_t>& shape);

// Metadata key holding the checksum of a tensor: "senet.crc32.<name>".
std::string st_checksum_key(const std::string& tensor_name);
// The keys of the header checksums (see above): st_checksum_key("__metadata__") (a name no tensor
// may have), and the content and offsets checksums. The latter two are outside the
// "senet.crc32." namespace of tensor checksums, so an older senet reader keeps them as ordinary
// metadata (covered by the header checksum) and loads the file.
inline constexpr const char* kStContentChecksumKey = "senet.crc32-content";
inline constexpr const char* kStOffsetsChecksumKey = "senet.crc32-offsets";
// Whether a metadata key is one of senet's checksums (the reader hides them, the writer reserves
// them): "senet.crc32.<anything>" or one of the two keys above. All of them start "senet.crc32".
bool st_is_checksum_key(const std::string& key);
// CRC-32 of a canonical header form (a compact sorted-key JSON dump), as 8 lowercase hex digits.
std::string st_header_checksum(const std::string& canonical_header);

struct StTensor {
  std::string name;
  StDType dtype = StDType::F32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;  // st_nbytes(dtype, shape) bytes, little-endian
};

struct StFile {
  std::vector<StTensor> tensors;  // loaded in data-offset order (= the order they were saved in)
  std::map<std::string, std::string> metadata;  // without senet's checksum keys (senet.crc32*)
  std::string path;                             // where it came from; used in error messages

  const StTensor* find(const std::string& name) const;  // nullptr when absent
  const StTensor& at(const std::string& name) const;    // absent → error naming file and tensor
};

// The bytes of a safetensors file: tensors in the given order, names unique and not "__metadata__",
// each tensor's byte count matching its dtype and shape; f.metadata may not use senet's checksum
// keys (senet.crc32.*, kStContentChecksumKey, kStOffsetsChecksumKey).
std::vector<uint8_t> serialize_safetensors(const StFile& f);
void save_safetensors(const std::string& path, const StFile& f);  // serialize + write_file_atomic

StFile load_safetensors(const std::string& path);  // read_file + parse_safetensors
// The parser on its own (and the thing to fuzz): checks every length and offset before using it,
// so any input, however malformed, gives either a valid StFile or a senet::Error naming
// `name_for_errors` and what was expected — never a read outside [data, data + size).
StFile parse_safetensors(const uint8_t* data, size_t size, const std::string& name_for_errors);

}  // namespace senet::io
