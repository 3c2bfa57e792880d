// senet/config.h — every hyper-parameter of a run, as one JSON document.
// The structs below hold the values and their defaults; senet/config.cpp declares each key ONCE
// (dotted name, the member it reads and writes, its type and check, a one-line doc) in
// config_schema(), and everything else is made from that list: to_json, from_json, the checks,
// `senet config --list` and docs/config.md. A user's JSON file and each `--set key=value` override
// are merged onto the defaults; a key that is not in the schema, or a value of the wrong type or
// range, is rejected with the key's dotted name ("config: train.optim.lr: expected a number > 0,
// got -1"). String choices are enums (senet/config_choices.h). Numbers print as written: a float
// member holding 0.1 is written 0.1, not 0.10000000149011612. Keys starting with "//" are comments.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/model.h"
#include "senet/config_choices.h"
#include "senet/json_reader.h"

namespace senet {

struct DataConfig {
  DatasetKind dataset = DatasetKind::FashionMnist;
  std::string root = "/usr/share/datasets/fashion-mnist";
  int64_t val_size = 5000;
  int64_t train_limit = 0;
  int64_t test_limit = 0;
  int crop_pad = 0;
  bool hflip = false;
  int64_t synthetic_size = 2048;
};

struct OptimConfig {
  OptimizerKind name = OptimizerKind::Sgd;
  float lr = 0.05f;
  float momentum = 0.9f;
  bool nesterov = false;
  float weight_decay = 5e-4f;
  Schedule schedule = Schedule::Cosine;
  std::vector<int> milestones;
  float gamma = 0.1f;
  float min_lr = 0.f;
  int warmup_epochs = 0;
};

struct TrainConfig {
  int epochs = 10;
  int64_t batch_size = 128;    // the global batch: on K ranks each takes batch_size / K
  bool sync_batchnorm = true;  // several ranks: BN over the whole batch (senet/data_parallel.h)
  OptimConfig optim;
};

// SENet pipeline (docs/method.md): stage 1 sensitivity, allocation, stage 2 mask search, stage 3
// fine-tuning. Every number of the method is here, never a constant in the code.
struct SenetStageConfig {
  int epochs = 1;
  float lr = 0.05f;
  Schedule schedule = Schedule::Constant;
  float ce = 0.5f, kd = 0.5f, pram = 0.f, temperature = 4.f;
};

// The SNL baseline (Cho et al., ICML 2022; senet/snl.h): one α per ReLU, Adam, CE + KD + λ·Σ|α|.
struct SnlConfig {
  int max_epochs = 100;
  float lr = 1e-3f;
  float weight_decay = 0.f;
  float lambda = 1e-5f;
  float lambda_growth = 1.1f;
  int lambda_from_epoch = 5;
  float threshold = 0.01f;
  int check_every = 0;
  SnlBinarize binarize = SnlBinarize::Threshold;
  float ce = 0.5f, kd = 0.5f, temperature = 4.f;
};

struct SenetConfig {
  Method method = Method::Senet;
  int64_t budget = 0;
  std::string teacher_checkpoint;
  Granularity granularity = Granularity::Pixel;
  StudentInit student_init = StudentInit::Teacher;
  PramSites pram_sites = PramSites::StageEnds;
  MaskLearner mask_learner = MaskLearner::Distance;
  InitialMask initial_mask = InitialMask::Random;
  int64_t bn_recompute_batches = 50;
  int settle_epochs = 0;
  double density = 0.1;
  int sensitivity_epochs = 1;
  int prune_every = 100;
  double prune_rate = 0.5;
  SenetStageConfig mask_search{1, 0.05f, Schedule::Constant, 0.5f, 0.5f, 0.f, 4.f};
  SenetStageConfig finetune{1, 0.01f, Schedule::Cosine, 0.1f, 0.9f, 1000.f, 4.f};
  SnlConfig snl;
};

// model.width_factors (models/model.h): [] (default) = a plain model; e.g. [0.5, 1] = dynamic
// channel reduction: `senet pipeline` trains the teacher and stages 1–2 as plain models, and stage 3
// trains the student at every factor on each batch against the full-width teacher (senet/distill.h),
// then reports each factor.
struct RunConfig {
  models::ModelConfig model;
  DataConfig data;
  TrainConfig train;
  SenetConfig senet;
  uint64_t seed = 1;
  int threads = 0;
  Device device = Device::CPU;
  bool allow_tf32 = false;  // CUDA convolutions on TF32 tensor cores (PyTorch's allow_tf32)
  bool cuda_graph = true;   // CUDA: every training loop replays its step as a CUDA graph
  std::string out_dir = "runs/default";
  bool progress = true;
};

// One key of the schema. `get` writes the member as JSON; `set` reads it from the key's JSON value
// with its type and check (errors name the key); `type` and `doc` are what `senet config --list` shows.
struct ConfigKey {
  std::string key;   // dotted, e.g. "train.optim.lr"
  std::string type;  // e.g. "number > 0", "one of: cosine | multistep | constant"
  std::string doc;
  std::function<nlohmann::json(const RunConfig&)> get;
  std::function<void(RunConfig&, const JsonReader&)> set;
};
// Every key, in the order docs/config.md lists them.
const std::vector<ConfigKey>& config_schema();
// The schema as a table for people: `text` (senet config --list) or `markdown` (docs/config.md,
// which a test keeps equal to this output).
enum class ReferenceFormat { Text, Markdown };
std::string config_reference(ReferenceFormat format);

nlohmann::json to_json(const RunConfig& c);
RunConfig from_json(const nlohmann::json& j);  // strict: every key checked

// defaults ← file (if any) ← overrides ("train.lr=0.1"; the value is parsed as JSON when it can
// be, else taken as a string). Errors name the file or the key.
nlohmann::json load_config_json(const std::string& path, const std::vector<std::string>& overrides);
// The same for a config file's text already in memory (load_config_json reads the file and calls
// this; tests/fuzz/fuzz_config.cpp). `name` is only used in error messages.
nlohmann::json parse_config_json(const std::string& text, const std::string& name,
                                 const std::vector<std::string>& overrides);

// The general form of the two above: a config in layers. `json` is a JSON object of config keys
// (any subset) and `name` prefixes its errors ("config file 'x.json'", "checkpoint 'c.safetensors'").
struct ConfigLayer {
  nlohmann::json json;
  std::string name;
};
// defaults ← each layer in order ← overrides, checked (from_json) before it is returned; e.g.
// `senet eval`: defaults ← the checkpoint's stored config ← --config FILE ← --set.
nlohmann::json merge_config_layers(const std::vector<ConfigLayer>& layers,
                                   const std::vector<std::string>& overrides);
// A config file's text as a layer named "config file '<name>'" (comments allowed); invalid JSON →
// error naming it. read_config_layer reads the file first (unreadable → error naming it).
ConfigLayer parse_config_layer(const std::string& text, const std::string& name);
ConfigLayer read_config_layer(const std::string& path);
void merge_strict(nlohmann::json& base, const nlohmann::json& patch, const std::string& where);
void set_dotted(nlohmann::json& base, const std::string& assignment);

}  // namespace senet
