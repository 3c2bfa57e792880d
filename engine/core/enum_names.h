// engine/core/enum_names.h — one spelling per enum value, for configs, checkpoints and messages.
// An enum gets names by specialising EnumNames<E> with a table of (value, name) pairs:
//   template <> struct EnumNames<Device> {
//     static constexpr std::pair<Device, std::string_view> table[] = {{Device::CPU, "cpu"}, ...};
//   };
// then enum_name(Device::CPU) == "cpu", enum_from_name<Device>("cuda") == Device::CUDA, and
// enum_choices<Device>() == "cpu or cuda" (for "expected cpu or cuda, got ..." messages).
#pragma once
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>

namespace senet {

template <class E>
struct EnumNames;  // specialised next to each enum

template <class E>
concept NamedEnum = requires {
  EnumNames<E>::table;
};

template <NamedEnum E>
std::string_view enum_name(E e) {
  for (const auto& [v, name] : EnumNames<E>::table)
    if (v == e) return name;
  return "?";  // unreachable when the table lists every value
}

template <NamedEnum E>
std::optional<E> enum_from_name(std::string_view s) {
  for (const auto& [v, name] : EnumNames<E>::table)
    if (name == s) return v;
  return std::nullopt;
}

// "a", "a or b", "a, b or c".
template <NamedEnum E>
std::string enum_choices() {
  constexpr size_t n = std::size(EnumNames<E>::table);
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    if (i > 0) out += i + 1 == n ? " or " : ", ";
    out += EnumNames<E>::table[i].second;
  }
  return out;
}

// Prints the name (GoogleTest's failure messages, error messages built with <<). Found by
// argument-dependent lookup for enums of namespace senet; a nested namespace's enum adds its own.
template <NamedEnum E>
std::ostream& operator<<(std::ostream& os, E e) {
  return os << enum_name(e);
}

}  // namespace senet
