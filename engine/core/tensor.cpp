// engine/core/tensor.cpp — creation, views and copies of tensors; the view ops record their grads.
#include "engine/core/tensor.h"

#include <cstring>

#include "engine/core/autograd.h"

namespace senet {

static std::shared_ptr<TensorImpl> make_impl(const Shape& shape, DType dtype, Device device) {
  for (int i = 0; i < shape.ndim(); ++i)
    SENET_CHECK(shape[i] >= 0, "cannot create a tensor of shape ", shape, ": negative dimension");
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(size_t(shape.numel()) * dtype_size(dtype), device);
  impl->shape = shape;
  impl->dtype = dtype;
  return impl;
}

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  return Tensor(make_impl(shape, dtype, device));
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  t.zero_();
  return t;
}

Tensor Tensor::full(const Shape& shape, float value, Device device) {
  Tensor t = empty(shape, DType::F32, device);
  t.fill_(value);
  return t;
}

template <class T>
static Tensor from_host(const std::vector<T>& v, const Shape& shape, Device device) {
  SENET_CHECK(int64_t(v.size()) == shape.numel(), "from_vector: ", v.size(),
              " values do not fill shape ", shape, " (", shape.numel(), " elements)");
  Tensor t = Tensor::empty(shape, dtype_of<T>, device);
  copy_bytes(t.raw(), device, v.data(), Device::CPU, v.size() * sizeof(T), /*dst_is_new=*/true);
  return t;
}
Tensor Tensor::from_vector(const std::vector<float>& v, const Shape& s, Device d) {
  return from_host(v, s, d);
}
Tensor Tensor::from_vector_u8(const std::vector<uint8_t>& v, const Shape& s, Device d) {
  return from_host(v, s, d);
}
Tensor Tensor::from_vector_i32(const std::vector<int32_t>& v, const Shape& s, Device d) {
  return from_host(v, s, d);
}

// A new impl that shares this tensor's storage (no autograd history).
static std::shared_ptr<TensorImpl> alias(const TensorImpl& src, const Shape& shape, size_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = src.storage;
  impl->offset = offset;
  impl->shape = shape;
  impl->dtype = src.dtype;
  return impl;
}

Tensor Tensor::reshape(const Shape& requested) const {
  Shape s = requested;
  int infer = -1;
  int64_t known = 1;
  for (int i = 0; i < s.ndim(); ++i) {
    if (s[i] == -1) {
      SENET_CHECK(infer < 0, "reshape: more than one -1 in ", requested);
      infer = i;
    } else {
      known *= s[i];
    }
  }
  if (infer >= 0) {
    SENET_CHECK(known > 0 && numel() % known == 0, "reshape: cannot reshape ", shape(), " to ",
                requested);
    s[infer] = numel() / known;
  }
  SENET_CHECK(s.numel() == numel(), "reshape: cannot reshape ", shape(), " (", numel(),
              " elements) to ", s, " (", s.numel(), " elements)");
  Tensor out(alias(impl(), s, impl().offset));
  if (needs_grad({this})) {
    Shape in_shape = shape();
    record("reshape", {*this}, out,
           [in_shape](const Tensor& dy) -> std::vector<Tensor> { return {dy.reshape(in_shape)}; });
  }
  return out;
}

Tensor Tensor::slice(int64_t begin, int64_t end) const {
  SENET_CHECK(ndim() >= 1, "slice: a 0-dim tensor has no rows");
  SENET_CHECK(0 <= begin && begin <= end && end <= size(0), "slice: rows [", begin, ", ", end,
              ") out of range for shape ", shape());
  Shape s = shape();
  size_t row_bytes = size(0) ? nbytes() / size_t(size(0)) : 0;
  s[0] = end - begin;
  Tensor out(alias(impl(), s, impl().offset + size_t(begin) * row_bytes));
  if (needs_grad({this})) {
    Shape in_shape = shape();
    record("slice", {*this}, out, [in_shape, begin, end](const Tensor& dy) -> std::vector<Tensor> {
      Tensor dx = Tensor::zeros(in_shape, DType::F32, dy.device());
      dx.slice(begin, end).copy_(dy);
      return {dx};
    });
  }
  return out;
}

Tensor Tensor::detach() const { return Tensor(alias(impl(), shape(), impl().offset)); }

Tensor Tensor::clone() const {
  Tensor t = empty(shape(), dtype(), device());
  copy_bytes(t.raw(), device(), raw_read(), device(), nbytes());  // the source is only read
  return t;
}

Tensor Tensor::to(Device d) const {
  if (d == device()) return *this;
  Tensor t = empty(shape(), dtype(), d);
  copy_bytes(t.raw(), d, raw_read(), device(), nbytes(), /*dst_is_new=*/true);
  return t;
}

void Tensor::copy_(const Tensor& src) {
  SENET_CHECK(src.shape() == shape() && src.dtype() == dtype(), "copy_: source ", src.shape(), " ",
              src.dtype(), " does not match destination ", shape(), " ", dtype());
  copy_bytes(raw(), device(), src.raw_read(), src.device(), nbytes());
}

void Tensor::zero_() {
  if (device() == Device::CPU)
    std::memset(raw(), 0, nbytes());
  else
    device_backend(device()).memset_zero(raw(), nbytes());
}

void Tensor::fill_(float value) {
  check_dtype("fill_", *this, DType::F32, "tensor");
  if (device() == Device::CPU) {
    float* p = data<float>();
    for (int64_t i = 0, n = numel(); i < n; ++i) p[i] = value;
  } else {
    device_backend(device()).fill(data<float>(), value, numel());
  }
}

template <class T>
static std::vector<T> to_host(const Tensor& t) {
  std::vector<T> v(size_t(t.numel()));
  copy_bytes(v.data(), Device::CPU, t.read<T>(), t.device(), v.size() * sizeof(T));
  return v;
}
std::vector<float> Tensor::to_vector() const { return to_host<float>(*this); }
std::vector<uint8_t> Tensor::to_vector_u8() const { return to_host<uint8_t>(*this); }
std::vector<int32_t> Tensor::to_vector_i32() const { return to_host<int32_t>(*this); }

float Tensor::item() const {
  SENET_CHECK(numel() == 1, "item(): tensor of shape ", shape(), " has ", numel(),
              " elements, expected 1");
  return to_vector()[0];
}

Tensor& Tensor::set_requires_grad(bool r) {
  SENET_CHECK(!r || dtype() == DType::F32, "only f32 tensors can require grad (got ", dtype(), ")");
  SENET_CHECK(is_leaf(), "set_requires_grad: only leaf tensors (not op outputs) can be changed");
  impl().requires_grad = r;
  return *this;
}

void check_same_shape(const char* op, const Tensor& a, const Tensor& b) {
  SENET_CHECK(a.shape() == b.shape(), op, ": shape mismatch: ", a.shape(), " vs ", b.shape());
}
void check_same_device(const char* op, const Tensor& a, const Tensor& b) {
  SENET_CHECK(a.device() == b.device(), op, ": device mismatch: tensor ", a.shape(), " on ",
              a.device(), " vs tensor ", b.shape(), " on ", b.device());
}
void check_dtype(const char* op, const Tensor& t, DType dtype, const char* what) {
  SENET_CHECK(t.dtype() == dtype, op, ": ", what, " ", t.shape(), " has dtype ", t.dtype(),
              ", expected ", dtype_name(dtype));
}
void check_ndim(const char* op, const Tensor& t, int nd, const char* what) {
  SENET_CHECK(t.ndim() == nd, op, ": ", what, " must have ", nd, " dims, got shape ", t.shape());
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) {
  if (!t.defined()) return os << "Tensor[undefined]";
  return os << "Tensor[" << t.dtype() << " " << t.device() << " " << t.shape() << "]";
}

}  // namespace senet
