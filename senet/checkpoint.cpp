// senet/checkpoint.cpp — model/optimizer ↔ safetensors records.
#include "senet/checkpoint.h"

#include <algorithm>
#include <charconv>
#include <cstring>

#include "engine/core/error.h"
#include "models/width_switch.h"
#include "engine/io/atomic_file.h"

namespace senet {

io::StTensor to_st(const std::string& name, const Tensor& t) {
  io::StTensor s;
  s.name = name;
  s.dtype = t.dtype() == DType::F32 ? io::StDType::F32
            : t.dtype() == DType::U8 ? io::StDType::U8
                                     : io::StDType::I32;
  s.shape = t.shape().vec();
  s.bytes.resize(t.nbytes());
  copy_bytes(s.bytes.data(), Device::CPU, t.raw(), t.device(), t.nbytes());  // x86: little-endian
  return s;
}

Tensor from_st(const io::StTensor& s, const std::string& file) {
  DType dt;
  switch (s.dtype) {
    case io::StDType::F32: dt = DType::F32; break;
    case io::StDType::U8: dt = DType::U8; break;
    case io::StDType::I32: dt = DType::I32; break;
    default:
      fail("checkpoint '", file, "': tensor '", s.name, "' has dtype ", io::st_dtype_name(s.dtype),
           "; expected F32, U8 or I32");
  }
  SENET_CHECK(s.shape.size() <= size_t(Shape::kMaxDims), "checkpoint '", file, "': tensor '", s.name,
              "' has ", s.shape.size(), " dims; at most ", Shape::kMaxDims, " are supported");
  Tensor t = Tensor::empty(Shape(s.shape), dt);
  std::memcpy(t.raw(), s.bytes.data(), s.bytes.size());
  return t;
}

void save_checkpoint(const std::string& path, models::Model& model, const Optimizer* opt,
                     const Metadata& meta) {
  io::StFile f;
  for (auto& [name, t] : model.named_tensors()) f.tensors.push_back(to_st(name, *t));
  if (opt)
    for (auto& [name, t] : opt->state()) f.tensors.push_back(to_st("optim." + name, t));
  f.metadata = meta;
  f.metadata["format"] = "senet-checkpoint-1";
  io::save_safetensors(path, f);
}

io::StFile read_checkpoint(const std::string& path) {
  const std::string bytes = io::read_file(path);
  return parse_checkpoint(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), path);
}

io::StFile parse_checkpoint(const uint8_t* data, size_t size, const std::string& path) {
  io::StFile f = io::parse_safetensors(data, size, path);
  auto it = f.metadata.find("format");
  SENET_CHECK(it != f.metadata.end() && it->second == "senet-checkpoint-1", "checkpoint '", path,
              "': not a senet checkpoint (metadata 'format' is missing or not senet-checkpoint-1)");
  return f;
}

const std::string& metadata_at(const io::StFile& f, const std::string& key) {
  auto it = f.metadata.find(key);
  SENET_CHECK(it != f.metadata.end(), "checkpoint '", f.path, "': metadata key '", key, "' is missing");
  return it->second;
}

int metadata_int(const io::StFile& f, const std::string& key) {
  const std::string& s = metadata_at(f, key);
  int v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  SENET_CHECK(!s.empty() && ec == std::errc() && end == s.data() + s.size(), "checkpoint '", f.path,
              "': metadata '", key, "' = '", s, "': expected an integer");
  return v;
}

double metadata_number(const io::StFile& f, const std::string& key) {
  const std::string& s = metadata_at(f, key);
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  SENET_CHECK(!s.empty() && ec == std::errc() && end == s.data() + s.size(), "checkpoint '", f.path,
              "': metadata '", key, "' = '", s, "': expected a number");
  return v;
}

void load_model_state(const io::StFile& f, models::Model& model) {
  // Masks may be pixel-wise [C,H,W] or channel-wise [C]: they go through the site's validation.
  std::map<std::string, models::ReluSite*> site_by_mask;
  for (auto* s : model.sites()) site_by_mask[s->site_name + ".mask"] = s;
  for (auto& [name, t] : model.named_tensors()) {
    const io::StTensor* st = f.find(name);
    if (std::string full = models::full_width_name(name); !st && !full.empty()) {
      // A width factor's BN set missing (a plain checkpoint in a width-switchable model): it starts
      // from the full-width set's first ⌊s·C⌋ channels ("bn1.w050.weight" ← "bn1.weight"[:C']).
      const io::StTensor* fs = f.find(full);
      SENET_CHECK(fs, "checkpoint '", f.path, "' has neither '", name, "' nor '", full,
                  "' to start it from");
      Tensor loaded = from_st(*fs, f.path);
      SENET_CHECK(loaded.ndim() == 1 && t->ndim() == 1 && loaded.size(0) >= t->size(0) &&
                      loaded.dtype() == t->dtype(),
                  "checkpoint '", f.path, "': tensor '", full, "' ", loaded.shape(),
                  " cannot start the width set '", name, "' ", t->shape());
      t->copy_(loaded.slice(0, t->size(0)).to(t->device()));
      continue;
    }
    SENET_CHECK(st, "checkpoint '", f.path, "' has no tensor '", name,
                "' that the model needs (was it saved from a different architecture or width?)");
    Tensor loaded = from_st(*st, f.path);
    if (auto site = site_by_mask.find(name); site != site_by_mask.end()) {
      auto v = loaded.to_vector_u8();
      bool all_ones = loaded.shape() == t->shape() &&
                      std::all_of(v.begin(), v.end(), [](uint8_t b) { return b == 1; });
      if (!all_ones) site->second->set_mask(loaded);
      continue;
    }
    SENET_CHECK(loaded.shape() == t->shape() && loaded.dtype() == t->dtype(), "checkpoint '", f.path,
                "': tensor '", name, "' is ", loaded.dtype(), " ", loaded.shape(), ", the model expects ",
                t->dtype(), " ", t->shape());
    t->copy_(loaded.to(t->device()));
  }
}

void load_optimizer_state(const io::StFile& f, Optimizer& opt) {
  std::vector<std::pair<std::string, Tensor>> state;
  for (const auto& st : f.tensors)
    if (st.name.rfind("optim.", 0) == 0) state.emplace_back(st.name.substr(6), from_st(st, f.path));
  try {
    opt.load_state(state);
  } catch (const Error& e) {
    fail("checkpoint '", f.path, "': optimizer state: ", e.what());
  }
}

}  // namespace senet
