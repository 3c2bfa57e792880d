// tests/support/error_of.h — the message of the senet::Error that f throws, or "(no error)" when it
// throws none; tests check that messages name the key, file or shape at fault.
#pragma once
#include <functional>
#include <string>

#include "engine/core/error.h"

namespace senet::test {

inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace senet::test
