// engine/core/tensor.h — an n-dimensional array (≤ 5 dims, contiguous, logical NCHW) on a device,
// with reverse-mode autograd.
// A Tensor is a handle: copies share the same TensorImpl. Views (reshape, slice along dim 0,
// detach) share the Storage. Data is always contiguous in row-major (NCHW) order.
// Autograd: a tensor produced by an op while grad mode is on and some input requires grad carries
// a grad_fn Node (engine/core/autograd.h); backward() walks those nodes in reverse topological order
// and accumulates (+=) into the .grad of leaf tensors that require grad.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "engine/core/shape.h"
#include "engine/core/storage.h"

namespace senet {

struct Node;
class Tensor;

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  size_t offset = 0;  // bytes from storage->ptr
  Shape shape;
  DType dtype = DType::F32;
  bool requires_grad = false;        // set on leaves (parameters, inputs under test)
  std::shared_ptr<TensorImpl> grad;  // accumulated gradient of a leaf (same shape, f32)
  std::shared_ptr<Node> grad_fn;     // the op that produced this tensor (non-leaf)
  std::string name;                  // parameter name, e.g. "layer1.0.conv1.weight"
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // --- creation (CPU unless a device is given)
  static Tensor empty(const Shape& shape, DType dtype = DType::F32, Device device = Device::CPU);
  static Tensor zeros(const Shape& shape, DType dtype = DType::F32, Device device = Device::CPU);
  static Tensor full(const Shape& shape, float value, Device device = Device::CPU);
  static Tensor from_vector(const std::vector<float>& v, const Shape& shape,
                            Device device = Device::CPU);
  static Tensor from_vector_u8(const std::vector<uint8_t>& v, const Shape& shape,
                               Device device = Device::CPU);
  static Tensor from_vector_i32(const std::vector<int32_t>& v, const Shape& shape,
                                Device device = Device::CPU);
  static Tensor scalar(float v, Device device = Device::CPU) {
    return from_vector({v}, {}, device);
  }
  static Tensor empty_like(const Tensor& t) { return empty(t.shape(), t.dtype(), t.device()); }
  static Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.dtype(), t.device()); }

  // --- properties
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl().shape; }
  int ndim() const { return shape().ndim(); }
  int64_t size(int i) const { return shape().size(i); }
  int64_t numel() const { return shape().numel(); }
  DType dtype() const { return impl().dtype; }
  Device device() const { return impl().storage->device; }
  bool is_cuda() const { return device() == Device::CUDA; }
  size_t nbytes() const { return size_t(numel()) * dtype_size(dtype()); }
  const std::string& name() const { return impl().name; }
  Tensor& set_name(const std::string& n) {
    impl().name = n;
    return *this;
  }

  // Raw pointer to the first element (device memory for CUDA tensors). Checks the dtype. Each call
  // counts as a possible write: it advances the storage's version (engine/core/storage.h).
  template <class T>
  T* data() const;
  void* raw() const {
    const TensorImpl& t = impl();
    t.storage->version.fetch_add(1, std::memory_order_relaxed);
    note_storage_use(t.storage, /*write=*/true);  // for a device graph being recorded
    return static_cast<char*>(t.storage->ptr) + t.offset;
  }
  // The same pointer for reading only, without advancing the version: for code that caches what
  // it derives from the data, keyed on (storage id, version) — engine/ops/conv_bn_fold_cache.h.
  template <class T>
  const T* read() const;
  const void* raw_read() const {
    note_storage_use(impl().storage, /*write=*/false);
    return static_cast<const char*>(impl().storage->ptr) + impl().offset;
  }
  uint64_t storage_id() const { return impl().storage->id; }
  uint64_t storage_version() const {
    return impl().storage->version.load(std::memory_order_relaxed);
  }

  // --- views and copies
  Tensor reshape(const Shape& shape) const;  // one dim may be -1 (inferred); records grad
  Tensor slice(int64_t begin,
               int64_t end) const;  // rows [begin, end) of dim 0; a view; records grad
  Tensor detach() const;            // same data, no autograd history
  Tensor clone() const;             // deep copy (no history)
  Tensor to(Device device) const;   // copy to another device (no-op view if same)
  void copy_(const Tensor& src);    // copy data in place (shapes must match)
  void zero_();
  void fill_(float value);
  std::vector<float> to_vector() const;  // f32 data copied to a host vector
  std::vector<uint8_t> to_vector_u8() const;
  std::vector<int32_t> to_vector_i32() const;
  float item() const;  // the single element of a 1-element f32 tensor

  // --- autograd
  bool requires_grad() const { return impl().requires_grad || impl().grad_fn != nullptr; }
  Tensor& set_requires_grad(bool r);
  bool is_leaf() const { return impl().grad_fn == nullptr; }
  Tensor grad() const { return Tensor(impl().grad); }  // undefined until a backward reached it
  void zero_grad() { impl().grad.reset(); }
  // Back-propagate from this tensor. A 1-element tensor uses gradient 1 when `grad` is undefined.
  void backward(const Tensor& grad = Tensor()) const;

  TensorImpl& impl() const {
    SENET_CHECK(impl_ != nullptr, "use of an undefined tensor");
    return *impl_;
  }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  bool same(const Tensor& o) const { return impl_ == o.impl_; }

 private:
  std::shared_ptr<TensorImpl> impl_;
};

template <class T>
inline constexpr DType dtype_of = DType::F32;
template <>
inline constexpr DType dtype_of<uint8_t> = DType::U8;
template <>
inline constexpr DType dtype_of<int32_t> = DType::I32;

template <class T>
T* Tensor::data() const {
  SENET_CHECK(dtype() == dtype_of<std::remove_const_t<T>>, "tensor of shape ", shape(),
              " has dtype ", dtype(), ", accessed as ",
              dtype_name(dtype_of<std::remove_const_t<T>>));
  return static_cast<T*>(raw());
}

template <class T>
const T* Tensor::read() const {
  SENET_CHECK(dtype() == dtype_of<T>, "tensor of shape ", shape(), " has dtype ", dtype(),
              ", read as ", dtype_name(dtype_of<T>));
  note_storage_use(impl().storage, /*write=*/false);
  return reinterpret_cast<const T*>(static_cast<const char*>(impl().storage->ptr) + impl().offset);
}

// --- checks shared by all ops; messages name both shapes
void check_same_shape(const char* op, const Tensor& a, const Tensor& b);
void check_same_device(const char* op, const Tensor& a, const Tensor& b);
void check_dtype(const char* op, const Tensor& t, DType dtype, const char* what);
void check_ndim(const char* op, const Tensor& t, int ndim, const char* what);

std::ostream& operator<<(std::ostream& os, const Tensor& t);  // "Tensor[f32 cpu [2, 3]]"

}  // namespace senet
