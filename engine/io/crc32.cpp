// engine/io/crc32.cpp — table-driven CRC-32: table[b] is the CRC remainder of the single byte b,
// built at compile time by eight shift-and-conditionally-xor steps; then each input byte costs one
// table lookup: crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8).
#include "engine/io/crc32.h"

#include <array>

namespace senet::io {
namespace {

constexpr std::array<uint32_t, 256> make_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t b = 0; b < 256; ++b) {
    uint32_t c = b;
    for (int k = 0; k < 8; ++k) c = (c & 1u) ? (0xEDB88320u ^ (c >> 1)) : (c >> 1);
    t[b] = c;
  }
  return t;
}

constexpr std::array<uint32_t, 256> kTable = make_table();

}  // namespace

uint32_t crc32(const void* data, size_t bytes, uint32_t crc) {
  const auto* p = static_cast<const uint8_t*>(data);
  crc = ~crc;
  for (size_t i = 0; i < bytes; ++i) crc = kTable[(crc ^ p[i]) & 0xFFu] ^ (crc >> 8);
  return ~crc;
}

}  // namespace senet::io
