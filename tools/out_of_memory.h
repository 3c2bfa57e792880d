// tools/out_of_memory.h — how many bytes the allocation that threw std::bad_alloc asked for.
// The `senet` binary replaces the global operator new (out_of_memory.cpp) to record the size of a
// failed request, so "out of memory" can say how much was asked; the engine's own tensor and
// scratch allocations already throw senet::Error with their size.
#pragma once
#include <cstddef>

namespace senet::cli {

size_t last_failed_allocation();  // bytes of the last operator new that failed; 0 if none/unknown

}  // namespace senet::cli
