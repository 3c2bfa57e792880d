// senet/config.h — every hyper-parameter of a run, as one JSON document.
// The defaults below are the schema: a user's JSON file and each `--set key=value` override are
// merged onto them, and a key that is not in the schema, or a value of the wrong type or range, is
// rejected with the key's dotted name ("train.lr: expected a positive number, got -1").
// Keys starting with "//" are comments and ignored.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/model.h"

namespace senet {

struct DataConfig {
  std::string dataset = "fashion-mnist";  // fashion-mnist | cifar10 | cifar100 | tiny-imagenet | synthetic
  std::string root = "/usr/share/datasets/fashion-mnist";
  int64_t val_size = 5000;      // held out of the training files (seeded); selection uses it, never test
  int64_t train_limit = 0;      // use only the first N training images (0: all) — quick runs
  int64_t test_limit = 0;
  int crop_pad = 0;             // random crop with this padding
  bool hflip = false;
  int64_t synthetic_size = 2048;  // synthetic data set: images in train (test gets a quarter)
};

struct OptimConfig {
  std::string name = "sgd";     // sgd | adam
  float lr = 0.05f;
  float momentum = 0.9f;
  bool nesterov = false;
  float weight_decay = 5e-4f;
  std::string schedule = "cosine";  // cosine | multistep | constant
  std::vector<int> milestones;      // multistep: epochs where lr ×= gamma
  float gamma = 0.1f;
  float min_lr = 0.f;
  int warmup_epochs = 0;
};

struct TrainConfig {
  int epochs = 10;
  int64_t batch_size = 128;
  OptimConfig optim;
};

// SENet pipeline (docs/method.md): stage 1 sensitivity, allocation, stage 2 mask search, stage 3
// fine-tuning. Every number of the method is here, never a constant in the code.
struct SenetStageConfig {
  int epochs = 1;
  float lr = 0.05f;
  std::string schedule = "constant";
  float ce = 0.5f, kd = 0.5f, pram = 0.f, temperature = 4.f;
};

// The SNL baseline (Cho et al., ICML 2022; senet/snl.h): one α per ReLU, Adam, CE + KD + λ·Σ|α|.
struct SnlConfig {
  int max_epochs = 100;         // stop here if the count never reaches the budget (reported)
  float lr = 1e-3f;             // Adam, constant
  float weight_decay = 0.f;     // on the weights (α gets none: its regulariser is λ·Σ|α|)
  float lambda = 1e-5f;         // initial λ
  float lambda_growth = 1.1f;   // λ ×= this after an epoch in which the count did not fall ...
  int lambda_from_epoch = 5;    // ... from this (1-based) epoch on
  float threshold = 0.01f;      // a position is a ReLU while α > threshold; binarisation uses it too
  int check_every = 0;          // also count every N steps and stop mid-epoch at ≤ budget (0: epoch ends only)
  std::string binarize = "threshold";  // threshold: mask = [α > threshold] | top_budget: top-R α, exactly R
  float ce = 0.5f, kd = 0.5f, temperature = 4.f;
};

struct SenetConfig {
  // senet | snl (baseline) | uniform (allocate_uniform, no stage 1) | random_masks (no stage 2) |
  // no_pram (stage 3 without PRAM): the ablations of docs/method.md §Baselines
  std::string method = "senet";
  int64_t budget = 0;                 // ReLUs of the student (counted sites); also --budget
  std::string teacher_checkpoint;     // use this teacher instead of training one
  std::string granularity = "pixel";  // pixel | channel
  std::string student_init = "teacher";  // teacher | random
  std::string pram_sites = "stage_ends";  // stage_ends | all
  std::string mask_learner = "distance";  // distance (top-r of Σ|A_T − A_S|) | ste (learned scores)
  // Stage 2's initial mask per site: random (r_l random positions) | hw_pattern (one random H×W
  // pattern of ⌊r_l/C⌋ or ⌈r_l/C⌉ positions repeated over the channels; pixel granularity)
  std::string initial_mask = "random";
  int64_t bn_recompute_batches = 50;  // stage 2: BN statistics recomputed after each mask switch (0: off)
  int settle_epochs = 0;        // stage 2: epochs on the best searched mask after the search
  double density = 0.1;               // stage 1: global conv-weight density of the sparse copy
  int sensitivity_epochs = 1;
  int prune_every = 100;
  double prune_rate = 0.5;
  SenetStageConfig mask_search{1, 0.05f, "constant", 0.5f, 0.5f, 0.f, 4.f};
  SenetStageConfig finetune{1, 0.01f, "cosine", 0.1f, 0.9f, 1000.f, 4.f};
  SnlConfig snl;
};

// model.width_factors (models/model.h): [] (default) = a plain model; e.g. [0.5, 1] = dynamic
// channel reduction: `senet pipeline` trains the teacher and stages 1–2 as plain models, and stage 3
// trains the student at every factor on each batch against the full-width teacher (senet/distill.h),
// then reports each factor. Factors: multiples of 0.01 in (0, 1], increasing, including 1; ResNet only.
struct RunConfig {
  models::ModelConfig model;
  DataConfig data;
  TrainConfig train;
  SenetConfig senet;
  uint64_t seed = 1;
  int threads = 0;              // 0: all cores
  std::string device = "cpu";   // cpu | cuda
  std::string out_dir = "runs/default";
  bool progress = true;
};

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
