// engine/io/crc32.cpp — CRC-32 through zlib's crc32_z (size_t lengths, so a tensor over 4 GiB
// needs no chunking). The textbook form it replaces, for the reader: a 256-entry table where
// table[b] is the remainder of the single byte b (eight shift-and-conditionally-xor-0xEDB88320
// steps), then per byte crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8), with ~crc before and after.
#include "engine/io/crc32.h"

#include <zlib.h>

namespace senet::io {

uint32_t crc32(const void* data, size_t bytes, uint32_t crc) {
  if (bytes == 0) return crc;  // zlib returns 0 for a null buffer, whatever crc is
  return static_cast<uint32_t>(crc32_z(crc, static_cast<const Bytef*>(data), bytes));
}

}  // namespace senet::io
