// senet/checkpoint.cpp — model/optimizer ↔ safetensors records, and the rules for files from
// other tools (checkpoint.h): which tensors they may lack or add, and errors that name the file,
// the tensor, what it is and what the model expects.
#include "senet/checkpoint.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <set>

#include "engine/core/error.h"
#include "engine/io/atomic_file.h"
#include "models/width_switch.h"

namespace senet {

namespace {

constexpr const char* kFormat = "senet-checkpoint-1";
constexpr const char* kBatchCounter = ".num_batches_tracked";  // PyTorch's BatchNorm buffer

// "F32 [8, 1, 3, 3]": a tensor as errors show it, in the file's dtype names.
std::string describe(io::StDType dt, const std::vector<int64_t>& shape) {
  std::string s = std::string(io::st_dtype_name(dt)) + " [";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

io::StDType st_dtype_of(DType t) {
  return t == DType::F32 ? io::StDType::F32 : t == DType::U8 ? io::StDType::U8 : io::StDType::I32;
}

// "'a', 'b', 'c' and 4 more": at most five names.
std::string name_list(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < 5; ++i) out += (i ? ", '" : "'") + names[i] + "'";
  if (names.size() > 5) out += " and " + std::to_string(names.size() - 5) + " more";
  return out;
}

// A file from another tool holds exactly the model's tensors, but for its ReLU masks (absent: all
// ReLU) and what is ignored (checkpoint.h): one error lists every missing and unexpected name, so a
// naming difference (PyTorch's "linear.weight" for our "fc.weight") shows both sides at once.
void check_foreign_names(const io::StFile& f, models::Model& model,
                         const std::map<std::string, models::ReluSite*>& site_by_mask) {
  std::set<std::string> wanted;
  std::vector<std::string> missing, unexpected;
  for (auto& [name, t] : model.named_tensors()) {
    wanted.insert(name);
    // A width factor's BN set may start from the full-width set (load_model_state checks that).
    if (!f.find(name) && !site_by_mask.count(name) && models::full_width_name(name).empty())
      missing.push_back(name);
  }
  for (const io::StTensor& t : f.tensors) {
    if (wanted.count(t.name) || t.name.starts_with("optim.")) continue;
    const bool counter = t.name.ends_with(kBatchCounter);
    const std::string bn =
        counter ? t.name.substr(0, t.name.size() - std::strlen(kBatchCounter)) : "";
    if (counter && wanted.count(bn + ".running_mean")) {
      SENET_CHECK(t.dtype == io::StDType::I64 && t.shape.empty(), "checkpoint '", f.path,
                  "': tensor '", t.name, "' is ", describe(t.dtype, t.shape),
                  "; PyTorch's BatchNorm counter is an I64 scalar []");
      continue;
    }
    unexpected.push_back(t.name);
  }
  if (missing.empty() && unexpected.empty()) return;
  fail("checkpoint '", f.path,
       "' (a file without senet's metadata, e.g. a PyTorch state_dict) does not hold the tensors "
       "of the model the config describes: ",
       missing.empty() ? "" : "missing " + name_list(missing),
       missing.empty() || unexpected.empty() ? "" : "; ",
       unexpected.empty() ? "" : "unexpected " + name_list(unexpected),
       ". The model comes from --config / --set (model.arch, model.width, model.in_channels, "
       "model.num_classes, ...); the tensor names are listed in docs/interop.md");
}

// A "<site>.mask" tensor into its site: U8 or BOOL (the same bytes), pixel-wise [C, H, W] or
// channel-wise [C], values 0/1. An all-ones pixel-wise mask leaves the site as it is (a fresh
// model's sites are all-ReLU).
void load_mask(const io::StFile& f, const io::StTensor& st, models::ReluSite& site) {
  const std::vector<int64_t> pixel{site.C, site.H, site.W}, channel{site.C};
  const bool dtype_ok = st.dtype == io::StDType::U8 || st.dtype == io::StDType::BOOL;
  SENET_CHECK(dtype_ok && (st.shape == pixel || st.shape == channel), "checkpoint '", f.path,
              "': tensor '", st.name, "' is ", describe(st.dtype, st.shape),
              "; a ReLU mask is U8 or BOOL (1 = ReLU, 0 = identity), ",
              describe(io::StDType::U8, pixel), " (pixel-wise) or [", site.C, "] (channel-wise)");
  for (uint8_t v : st.bytes)
    SENET_CHECK(v <= 1, "checkpoint '", f.path, "': tensor '", st.name,
                "': mask values must be 0 or 1, found ", int(v));
  const bool all_ones =
      std::all_of(st.bytes.begin(), st.bytes.end(), [](uint8_t b) { return b == 1; });
  if (all_ones && st.shape == pixel) return;
  Tensor m = Tensor::empty(Shape(st.shape), DType::U8);
  std::memcpy(m.raw(), st.bytes.data(), st.bytes.size());
  site.set_mask(m);
}

}  // namespace

io::StTensor to_st(const std::string& name, const Tensor& t) {
  io::StTensor s;
  s.name = name;
  s.dtype = st_dtype_of(t.dtype());
  s.shape = t.shape().vec();
  s.bytes.resize(t.nbytes());
  copy_bytes(s.bytes.data(), Device::CPU, t.raw_read(), t.device(),
             t.nbytes());  // x86: little-endian
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
  SENET_CHECK(s.shape.size() <= size_t(Shape::kMaxDims), "checkpoint '", file, "': tensor '",
              s.name, "' has ", s.shape.size(), " dims; at most ", Shape::kMaxDims,
              " are supported");
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
  f.metadata["format"] = kFormat;
  io::save_safetensors(path, f);
}

io::StFile read_checkpoint(const std::string& path) {
  const std::string bytes = io::read_file(path);
  return parse_checkpoint(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), path);
}

io::StFile parse_checkpoint(const uint8_t* data, size_t size, const std::string& path) {
  io::StFile f = io::parse_safetensors(data, size, path);
  SENET_CHECK(is_senet_checkpoint(f), "checkpoint '", path,
              "': not a senet checkpoint (metadata 'format' is missing or not ", kFormat, ")");
  return f;
}

io::StFile read_model_file(const std::string& path) {
  const std::string bytes = io::read_file(path);
  return parse_model_file(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), path);
}

io::StFile parse_model_file(const uint8_t* data, size_t size, const std::string& path) {
  io::StFile f = io::parse_safetensors(data, size, path);
  auto it = f.metadata.find("format");
  if (it != f.metadata.end() && it->second != kFormat && it->second.rfind("senet-", 0) == 0)
    fail("checkpoint '", path, "': metadata 'format' is '", it->second, "', not ", kFormat,
         " (another kind of senet file, or one from a newer senet)");
  return f;
}

bool is_senet_checkpoint(const io::StFile& f) {
  auto it = f.metadata.find("format");
  return it != f.metadata.end() && it->second == kFormat;
}

const std::string& metadata_at(const io::StFile& f, const std::string& key) {
  auto it = f.metadata.find(key);
  SENET_CHECK(it != f.metadata.end(), "checkpoint '", f.path, "': metadata key '", key,
              "' is missing");
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
  const bool foreign = !is_senet_checkpoint(f);
  // Masks may be pixel-wise [C,H,W] or channel-wise [C]: load_mask checks them against the site.
  std::map<std::string, models::ReluSite*> site_by_mask;
  for (auto* s : model.sites()) site_by_mask[s->site_name + ".mask"] = s;
  if (foreign) check_foreign_names(f, model, site_by_mask);
  for (auto& [name, t] : model.named_tensors()) {
    const io::StTensor* st = f.find(name);
    if (auto site = site_by_mask.find(name); site != site_by_mask.end()) {
      if (!st && foreign) continue;  // a file from another tool without masks: all-ReLU
      SENET_CHECK(st, "checkpoint '", f.path, "' has no tensor '", name,
                  "' that the model needs (was it saved from a different architecture or width?)");
      load_mask(f, *st, *site->second);
      continue;
    }
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
    const io::StDType want = st_dtype_of(t->dtype());
    SENET_CHECK(
        st->dtype == want && st->shape == t->shape().vec(), "checkpoint '", f.path, "': tensor '",
        name, "' is ", describe(st->dtype, st->shape), ", the model expects ",
        describe(want, t->shape().vec()),
        foreign ? " (are the model keys of --config / --set those of the file's model?)" : "");
    t->copy_(from_st(*st, f.path).to(t->device()));
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
