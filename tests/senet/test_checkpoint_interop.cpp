// tests/senet/test_checkpoint_interop.cpp — files from other tools loaded as models
// (senet/checkpoint.h, docs/interop.md). A plain state_dict as PyTorch's save_file writes it —
// here with the engine's writer: no metadata, BOOL masks, an I64 num_batches_tracked per
// BatchNorm, the masks of all-ReLU sites left out — loads with exactly the tensors it holds, and
// the model then computes what the original computes. Every error names the file, the tensor and
// what was expected (a float mask used to fail with "accessed as u8", naming neither); a senet
// checkpoint that another tool saved again with its metadata is reported as rewritten.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <functional>

#include "engine/core/autograd.h"
#include "engine/io/atomic_file.h"
#include "senet/checkpoint.h"
#include "tests/support/error_of.h"
#include "tests/support/rewrite_safetensors.h"

namespace senet {
namespace {

namespace fs = std::filesystem;
using test::error_of;

std::string temp_dir(const std::string& name) {
  const std::string d =
      (fs::temp_directory_path() / ("senet_interop_" + name + "_" + std::to_string(getpid())))
          .string();
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// ResNet-18 at width 1/16 (4/8/16/32 channels) on 1×8×8 inputs, 4 classes.
models::ModelConfig tiny() {
  models::ModelConfig c;
  c.width = 0.0625f;
  c.in_channels = 1;
  c.image_size = 8;
  c.num_classes = 4;
  c.seed = 3;
  return c;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The tiny model with BN statistics that are not the defaults, a pixel-wise mask at site 1 and a
// channel-wise one at site 3; every other site all-ReLU.
std::shared_ptr<models::Model> masked_model() {
  auto m = models::make_model(tiny());
  for (auto& [name, t] : m->named_tensors())
    if (ends_with(name, ".running_mean") || ends_with(name, ".running_var")) {
      std::vector<float> v(size_t(t->numel()));
      for (size_t i = 0; i < v.size(); ++i) v[i] = 0.5f + 0.125f * float(i % 5);
      t->copy_(Tensor::from_vector(v, t->shape()));
    }
  auto* s1 = m->sites()[1];
  std::vector<uint8_t> pixel(size_t(s1->size()));
  for (size_t i = 0; i < pixel.size(); ++i) pixel[i] = uint8_t(i % 3 == 0);
  s1->set_mask(Tensor::from_vector_u8(pixel, {s1->C, s1->H, s1->W}));
  auto* s3 = m->sites()[3];
  std::vector<uint8_t> channel(size_t(s3->C));
  for (size_t i = 0; i < channel.size(); ++i) channel[i] = uint8_t(i % 2);
  s3->set_mask(Tensor::from_vector_u8(channel, {s3->C}));
  return m;
}

// What PyTorch's save_file(model.state_dict(), path) of the same network writes: every parameter
// and buffer under our names, masks as BOOL, an I64 scalar num_batches_tracked after each BN's
// running_var, and only the masks of sites 1 and 3 (the all-ReLU sites' left out).
io::StFile state_dict(models::Model& m) {
  io::StFile f;
  for (auto& [name, t] : m.named_tensors()) {
    io::StTensor s = to_st(name, *t);
    if (ends_with(name, ".mask")) {
      if (name != m.sites()[1]->site_name + ".mask" && name != m.sites()[3]->site_name + ".mask")
        continue;
      s.dtype = io::StDType::BOOL;
    }
    f.tensors.push_back(s);
    if (ends_with(name, ".running_var")) {
      const std::string bn = name.substr(0, name.size() - std::strlen(".running_var"));
      f.tensors.push_back(
          {bn + ".num_batches_tracked", io::StDType::I64, {}, std::vector<uint8_t>(8, 7)});
    }
  }
  return f;
}

io::StTensor* tensor(io::StFile& f, const std::string& name) {
  for (auto& t : f.tensors)
    if (t.name == name) return &t;
  ADD_FAILURE() << "no tensor " << name;
  return nullptr;
}

Tensor logits(models::Model& m, const Tensor& x) {
  NoGradGuard no_grad;
  m.eval();
  return m.forward(x);
}

TEST(CheckpointInterop, PlainStateDictLoadsAsTheSameModel) {
  const std::string d = temp_dir("plain");
  auto a = masked_model();
  io::save_safetensors(d + "/sd.safetensors", state_dict(*a));
  const io::StFile f = read_model_file(d + "/sd.safetensors");
  EXPECT_TRUE(f.metadata.empty());
  EXPECT_FALSE(is_senet_checkpoint(f));
  // A resume needs a senet checkpoint: the strict reader still refuses it.
  EXPECT_NE(
      error_of([&] { read_checkpoint(d + "/sd.safetensors"); }).find("not a senet checkpoint"),
      std::string::npos);

  auto b = models::make_model(tiny());
  load_model_state(f, *b);
  auto ta = a->named_tensors(), tb = b->named_tensors();
  ASSERT_EQ(ta.size(), tb.size());
  for (size_t i = 0; i < ta.size(); ++i) {
    EXPECT_EQ(ta[i].first, tb[i].first);
    EXPECT_EQ(to_st(ta[i].first, *ta[i].second).bytes, to_st(tb[i].first, *tb[i].second).bytes)
        << ta[i].first;
  }
  for (size_t i = 0; i < b->sites().size(); ++i)
    EXPECT_EQ(b->sites()[i]->mode,
              i == 1 || i == 3 ? models::SiteMode::Masked : models::SiteMode::ReLU)
        << b->sites()[i]->site_name;
  EXPECT_EQ(b->relu_count(), a->relu_count());
  std::vector<float> x(2 * 8 * 8);
  for (size_t i = 0; i < x.size(); ++i) x[i] = float(int(i * 37 % 17) - 8) / 4.f;
  const Tensor input = Tensor::from_vector(x, {2, 1, 8, 8});
  EXPECT_EQ(logits(*a, input).to_vector(), logits(*b, input).to_vector());
}

// Writes `f` and returns the error of loading it into a fresh tiny model ("(no error)" if none).
std::string load_error(const std::string& path, const io::StFile& f) {
  io::save_safetensors(path, f);
  return error_of([&] {
    auto m = models::make_model(tiny());
    load_model_state(read_model_file(path), *m);
  });
}

void expect_all(const std::string& msg, std::initializer_list<std::string> parts) {
  for (const std::string& p : parts)
    EXPECT_NE(msg.find(p), std::string::npos) << "no '" << p << "' in: " << msg;
}

TEST(CheckpointInterop, ErrorsNameTheFileTheTensorAndWhatWasExpected) {
  const std::string d = temp_dir("errors");
  const std::string p = d + "/sd.safetensors";
  auto a = masked_model();
  const std::string mask1 = a->sites()[1]->site_name + ".mask";  // [4, 8, 8]

  io::StFile f = state_dict(*a);  // a float mask, as `mask.float()` would save it
  io::StTensor* m = tensor(f, mask1);
  std::vector<float> ones(m->bytes.size(), 1.f);
  m->dtype = io::StDType::F32;
  m->bytes.assign(reinterpret_cast<uint8_t*>(ones.data()),
                  reinterpret_cast<uint8_t*>(ones.data() + ones.size()));
  expect_all(load_error(p, f), {p, "'" + mask1 + "'", "is F32 [4, 8, 8]", "U8 or BOOL",
                                "U8 [4, 8, 8] (pixel-wise) or [4] (channel-wise)"});

  f = state_dict(*a);  // a mask of another shape
  m = tensor(f, mask1);
  m->shape = {4, 64};
  expect_all(load_error(p, f),
             {p, "'" + mask1 + "'", "is BOOL [4, 64]", "U8 [4, 8, 8] (pixel-wise)"});

  f = state_dict(*a);  // a mask value that is not 0 or 1
  tensor(f, mask1)->bytes[5] = 2;
  expect_all(load_error(p, f), {p, "'" + mask1 + "'", "0 or 1, found 2"});

  f = state_dict(*a);                           // a weight of another shape: both shapes named
  io::StTensor* w = tensor(f, "conv1.weight");  // [4, 1, 3, 3]
  w->shape = {4, 1, 1, 9};
  expect_all(load_error(p, f),
             {p, "'conv1.weight' is F32 [4, 1, 1, 9], the model expects F32 [4, 1, 3, 3]"});

  f = state_dict(*a);  // float64 weights
  w = tensor(f, "fc.bias");
  w->dtype = io::StDType::F64;
  w->bytes.resize(w->bytes.size() * 2);
  expect_all(load_error(p, f), {p, "'fc.bias' is F64 [4], the model expects F32 [4]"});

  f = state_dict(*a);  // PyTorch's name for our fc: both sides in one message
  for (auto& t : f.tensors)
    if (t.name.rfind("fc.", 0) == 0) t.name = "linear." + t.name.substr(3);
  expect_all(load_error(p, f), {p, "missing 'fc.weight', 'fc.bias'",
                                "unexpected 'linear.weight', 'linear.bias'", "docs/interop.md"});

  f = state_dict(*a);  // one tensor too many; optim.* is ignored, not unexpected
  f.tensors.push_back({"head.extra", io::StDType::F32, {1}, std::vector<uint8_t>(4, 0)});
  f.tensors.push_back(
      {"optim.fc.bias.momentum_buffer", io::StDType::F32, {4}, std::vector<uint8_t>(16, 0)});
  std::string e = load_error(p, f);
  expect_all(e, {p, "unexpected 'head.extra'"});
  EXPECT_EQ(e.find("optim."), std::string::npos) << e;

  f = state_dict(*a);                      // a missing weight
  f.tensors.erase(f.tensors.begin() + 1);  // bn1.weight
  expect_all(load_error(p, f), {p, "missing 'bn1.weight'"});

  f = state_dict(*a);  // num_batches_tracked must be PyTorch's I64 scalar
  io::StTensor* nbt = tensor(f, "bn1.num_batches_tracked");
  nbt->dtype = io::StDType::F32;
  nbt->shape = {2};
  expect_all(load_error(p, f), {p, "'bn1.num_batches_tracked' is F32 [2]", "I64 scalar"});

  f = state_dict(*a);  // another kind or version of senet file
  f.metadata["format"] = "senet-checkpoint-9";
  expect_all(load_error(p, f), {p, "senet-checkpoint-9", "senet-checkpoint-1"});
  f.metadata["format"] = "pt";  // another tool's format tag: a file from that tool
  EXPECT_EQ(load_error(p, f), "(no error)");
}

// A senet checkpoint keeps its strict rules (every mask present), with the same clear messages.
TEST(CheckpointInterop, SenetCheckpointsStayStrict) {
  const std::string d = temp_dir("strict");
  auto a = masked_model();
  save_checkpoint(d + "/c.safetensors", *a, nullptr, {{"config", "{}"}});
  io::StFile f = read_checkpoint(d + "/c.safetensors");
  const std::string mask0 = a->sites()[0]->site_name + ".mask";
  f.tensors.erase(f.tensors.begin() + long(tensor(f, mask0) - f.tensors.data()));
  const std::string p = d + "/no_mask.safetensors";
  expect_all(load_error(p, f), {p, "has no tensor '" + mask0 + "'"});
  f = read_checkpoint(d + "/c.safetensors");
  tensor(f, a->sites()[1]->site_name + ".mask")->dtype = io::StDType::I8;
  expect_all(load_error(p, f), {p, "is I8 [4, 8, 8]", "U8 or BOOL"});
}

// A senet checkpoint loaded and saved again with its metadata by another tool (the tensors laid
// out in its own order): eval, cost and summary say so, and which key to drop.
TEST(CheckpointInterop, RewrittenCheckpointIsReportedAsSuch) {
  const std::string d = temp_dir("rewritten");
  auto a = masked_model();
  save_checkpoint(d + "/c.safetensors", *a, nullptr, {{"config", "{}"}});
  const std::string bytes = io::read_file(d + "/c.safetensors");
  const std::string p = d + "/resaved.safetensors";
  const auto resaved = test::rewrite_safetensors(std::vector<uint8_t>(bytes.begin(), bytes.end()));
  io::write_file_atomic(p, resaved.data(), resaved.size());
  expect_all(error_of([&] { read_model_file(p); }),
             {p, "rewritten by another tool", "drop the metadata key 'senet.crc32.__metadata__'"});
  // Dropped as the message says: it loads, and is the same model.
  const auto dropped = test::rewrite_safetensors(
      std::vector<uint8_t>(bytes.begin(), bytes.end()),
      [](nlohmann::json& meta, auto&) { meta.erase("senet.crc32.__metadata__"); });
  io::write_file_atomic(p, dropped.data(), dropped.size());
  auto b = models::make_model(tiny());
  load_model_state(read_model_file(p), *b);
  EXPECT_EQ(b->relu_count(), a->relu_count());
  EXPECT_EQ(to_st("w", *b->named_tensors()[0].second).bytes,
            to_st("w", *a->named_tensors()[0].second).bytes);
}

}  // namespace
}  // namespace senet
