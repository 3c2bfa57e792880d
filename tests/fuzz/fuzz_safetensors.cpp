// tests/fuzz/fuzz_safetensors.cpp — libFuzzer target: any bytes as a .safetensors file
// (engine/io/safetensors.h: u64 header length, JSON header with dtype/shape/data_offsets, data).
// Accepted files must hold exactly st_nbytes(dtype, shape) bytes per tensor and survive a
// serialize → parse round trip unchanged.
#include "engine/core/error.h"
#include "engine/io/safetensors.h"
#include "tests/fuzz/fuzz_util.h"

using namespace senet;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  io::StFile f;
  try {
    f = io::parse_safetensors(data, size, "fuzz.safetensors");
  } catch (const Error& e) {
    fuzz::rejected(e);
    return 0;
  }
  for (const auto& t : f.tensors) FUZZ_ASSERT(t.bytes.size() == io::st_nbytes(t.dtype, t.shape));
  std::vector<uint8_t> again;
  try {
    again = io::serialize_safetensors(f);
  } catch (const Error& e) {
    fuzz::rejected(e);
    return 0;  // e.g. a metadata key the writer reserves: the writer refuses, with a message
  }
  const io::StFile g = io::parse_safetensors(again.data(), again.size(), "round-trip");
  FUZZ_ASSERT(g.metadata == f.metadata);
  FUZZ_ASSERT(g.tensors.size() == f.tensors.size());
  for (size_t i = 0; i < f.tensors.size(); ++i) {
    FUZZ_ASSERT(g.tensors[i].name == f.tensors[i].name);
    FUZZ_ASSERT(g.tensors[i].dtype == f.tensors[i].dtype);
    FUZZ_ASSERT(g.tensors[i].shape == f.tensors[i].shape);
    FUZZ_ASSERT(g.tensors[i].bytes == f.tensors[i].bytes);
  }
  return 0;
}
