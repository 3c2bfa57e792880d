// engine/core/error.h — the one exception type of the engine and a check macro.
// Every user-facing failure (bad shape, bad file, bad config) throws senet::Error with a message
// that names the thing (tensor shapes, file name, JSON key) and what was expected.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace senet {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// fail("conv2d: weight ", w.shape(), " does not match input ", x.shape()) — streams every argument.
template <class... Args>
[[noreturn]] void fail(const Args&... args) {
  std::ostringstream s;
  (s << ... << args);
  throw Error(s.str());
}

}  // namespace senet

// SENET_CHECK(cond, message parts...) — throws senet::Error when cond is false.
#define SENET_CHECK(cond, ...)               \
  do {                                       \
    if (!(cond)) ::senet::fail(__VA_ARGS__); \
  } while (0)
