// engine/io/crc32.h — CRC-32 (the zlib / PNG / Ethernet one) of a byte range.
// Used to detect corrupt tensor data in safetensors files written by senet. Same value as Python's
// zlib.crc32(data), so a file can be checked by hand. Reflected polynomial 0xEDB88320, initial value
// and final xor 0xFFFFFFFF; crc32("123456789") == 0xCBF43926. Computed by zlib (linked anyway for
// the data loaders), whose slicing-by-N tables run several bytes per step.
#pragma once
#include <cstddef>
#include <cstdint>

namespace senet::io {

// `crc` continues a previous result, so crc32(b, nb, crc32(a, na)) == crc32 of a followed by b.
uint32_t crc32(const void* data, size_t bytes, uint32_t crc = 0);

}  // namespace senet::io
