// engine/core/shape.h — dtypes, devices and shapes (up to 5 dims, logical NCHW order).
// A Shape prints as [N, C, H, W]; every shape-mismatch message in the engine shows both shapes.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <string>
#include <vector>

#include "engine/core/enum_names.h"
#include "engine/core/error.h"

namespace senet {

enum class DType : uint8_t { F32, U8, I32 };
enum class Device : uint8_t { CPU, CUDA };

inline size_t dtype_size(DType t) { return t == DType::U8 ? 1 : 4; }
inline const char* dtype_name(DType t) {
  return t == DType::F32 ? "f32" : t == DType::U8 ? "u8" : "i32";
}
inline const char* device_name(Device d) { return d == Device::CPU ? "cpu" : "cuda"; }
template <>
struct EnumNames<Device> {
  static constexpr std::pair<Device, std::string_view> table[] = {{Device::CPU, "cpu"},
                                                                  {Device::CUDA, "cuda"}};
};

class Shape {
 public:
  static constexpr int kMaxDims = 5;
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims) { assign(dims.begin(), dims.end()); }
  explicit Shape(const std::vector<int64_t>& dims) { assign(dims.begin(), dims.end()); }

  int ndim() const { return ndim_; }
  int64_t operator[](int i) const { return d_[i]; }
  int64_t& operator[](int i) { return d_[i]; }
  // Size of dimension i; negative i counts from the end (size(-1) is the last dimension).
  int64_t size(int i) const {
    int j = i < 0 ? i + ndim_ : i;
    SENET_CHECK(j >= 0 && j < ndim_, "dimension ", i, " out of range for shape ", str());
    return d_[j];
  }
  int64_t numel() const {
    int64_t n = 1;
    for (int i = 0; i < ndim_; ++i) n *= d_[i];
    return n;
  }
  std::vector<int64_t> vec() const { return {d_.begin(), d_.begin() + ndim_}; }
  bool operator==(const Shape& o) const {
    if (ndim_ != o.ndim_) return false;
    for (int i = 0; i < ndim_; ++i)
      if (d_[i] != o.d_[i]) return false;
    return true;
  }
  bool operator!=(const Shape& o) const { return !(*this == o); }
  std::string str() const {
    std::string s = "[";
    for (int i = 0; i < ndim_; ++i) s += (i ? ", " : "") + std::to_string(d_[i]);
    return s + "]";
  }

 private:
  template <class It>
  void assign(It b, It e) {
    SENET_CHECK(e - b <= kMaxDims, "a shape has at most ", kMaxDims, " dims, got ", e - b);
    ndim_ = 0;
    for (It it = b; it != e; ++it) {
      SENET_CHECK(*it >= -1, "negative dimension ", *it, " in a shape");  // -1: reshape's "infer"
      d_[ndim_++] = *it;
    }
  }
  std::array<int64_t, kMaxDims> d_{};
  int ndim_ = 0;
};

inline std::ostream& operator<<(std::ostream& os, const Shape& s) { return os << s.str(); }
inline std::ostream& operator<<(std::ostream& os, DType t) { return os << dtype_name(t); }
inline std::ostream& operator<<(std::ostream& os, Device d) { return os << device_name(d); }

}  // namespace senet
