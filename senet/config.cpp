// senet/config.cpp — JSON ↔ RunConfig with strict key and value checks.
#include "senet/config.h"

#include <fstream>
#include <sstream>

#include "engine/core/error.h"
#include "models/width_switch.h"

namespace senet {

using json = nlohmann::json;

static json stage_to_json(const SenetStageConfig& s) {
  return json{{"epochs", s.epochs}, {"lr", s.lr}, {"schedule", s.schedule}, {"ce", s.ce},
              {"kd", s.kd}, {"pram", s.pram}, {"temperature", s.temperature}};
}

static json snl_to_json(const SnlConfig& s) {
  return json{{"max_epochs", s.max_epochs}, {"lr", s.lr}, {"weight_decay", s.weight_decay},
              {"lambda", s.lambda}, {"lambda_growth", s.lambda_growth},
              {"lambda_from_epoch", s.lambda_from_epoch}, {"threshold", s.threshold}, {"check_every", s.check_every},
              {"binarize", s.binarize}, {"ce", s.ce},
              {"kd", s.kd}, {"temperature", s.temperature}};
}

static json senet_to_json(const SenetConfig& s) {
  return json{{"method", s.method},
              {"budget", s.budget},
              {"teacher_checkpoint", s.teacher_checkpoint},
              {"granularity", s.granularity},
              {"student_init", s.student_init},
              {"pram_sites", s.pram_sites},
              {"mask_learner", s.mask_learner},
              {"initial_mask", s.initial_mask},
              {"bn_recompute_batches", s.bn_recompute_batches},
              {"settle_epochs", s.settle_epochs},
              {"density", s.density},
              {"sensitivity_epochs", s.sensitivity_epochs},
              {"prune_every", s.prune_every},
              {"prune_rate", s.prune_rate},
              {"mask_search", stage_to_json(s.mask_search)},
              {"finetune", stage_to_json(s.finetune)},
              {"snl", snl_to_json(s.snl)}};
}

json to_json(const RunConfig& c) {
  const auto& m = c.model;
  const auto& d = c.data;
  const auto& o = c.train.optim;
  return json{
      {"model",
       {{"arch", m.arch}, {"num_classes", m.num_classes}, {"in_channels", m.in_channels},
        {"image_size", m.image_size}, {"width", m.width}, {"wrn_depth", m.wrn_depth},
        {"wrn_k", m.wrn_k}, {"stem_site", m.stem_site}, {"final_site", m.final_site},
        {"seed", m.seed}, {"width_factors", m.width_factors}}},
      {"data",
       {{"dataset", d.dataset}, {"root", d.root}, {"val_size", d.val_size},
        {"train_limit", d.train_limit}, {"test_limit", d.test_limit}, {"crop_pad", d.crop_pad},
        {"hflip", d.hflip}, {"synthetic_size", d.synthetic_size}}},
      {"train",
       {{"epochs", c.train.epochs},
        {"batch_size", c.train.batch_size},
        {"optim",
         {{"name", o.name}, {"lr", o.lr}, {"momentum", o.momentum}, {"nesterov", o.nesterov},
          {"weight_decay", o.weight_decay}, {"schedule", o.schedule}, {"milestones", o.milestones},
          {"gamma", o.gamma}, {"min_lr", o.min_lr}, {"warmup_epochs", o.warmup_epochs}}}}},
      {"senet", senet_to_json(c.senet)},
      {"seed", c.seed},
      {"threads", c.threads},
      {"device", c.device},
      {"out_dir", c.out_dir},
      {"progress", c.progress}};
}

namespace {

// Typed reads that name the key on error.
template <class T>
T get(const json& j, const std::string& key) {
  const json* p = &j;
  std::string part;
  std::istringstream in(key);
  while (std::getline(in, part, '.')) {
    SENET_CHECK(p->is_object() && p->contains(part), "config: missing key '", key, "'");
    p = &(*p)[part];
  }
  try {
    if constexpr (std::is_same_v<T, bool>) {
      SENET_CHECK(p->is_boolean(), "config key '", key, "': expected true or false, got ", p->dump());
    } else if constexpr (std::is_same_v<T, std::string>) {
      SENET_CHECK(p->is_string(), "config key '", key, "': expected a string, got ", p->dump());
    } else if constexpr (std::is_integral_v<T>) {
      SENET_CHECK(p->is_number_integer(), "config key '", key, "': expected an integer, got ",
                  p->dump());
      if constexpr (std::is_unsigned_v<T>)
        SENET_CHECK(p->get<int64_t>() >= 0 || p->is_number_unsigned(), "config key '", key,
                    "': expected a non-negative integer, got ", p->dump());
    } else if constexpr (std::is_floating_point_v<T>) {
      SENET_CHECK(p->is_number(), "config key '", key, "': expected a number, got ", p->dump());
    }
    return p->get<T>();
  } catch (const json::exception& e) {
    fail("config key '", key, "': ", e.what());
  }
}

void check(bool ok, const std::string& key, const std::string& what, const json& j) {
  if (ok) return;
  const json* p = &j;
  std::string part;
  std::istringstream in(key);
  while (std::getline(in, part, '.')) p = &(*p)[part];
  fail("config key '", key, "': expected ", what, ", got ", p->dump());
}

}  // namespace

RunConfig from_json(const json& j) {
  RunConfig defaults;
  json full = to_json(defaults);
  merge_strict(full, j, "config");
  RunConfig c;
  auto& m = c.model;
  m.arch = get<std::string>(full, "model.arch");
  m.num_classes = get<int>(full, "model.num_classes");
  m.in_channels = get<int>(full, "model.in_channels");
  m.image_size = get<int>(full, "model.image_size");
  m.width = get<float>(full, "model.width");
  m.wrn_depth = get<int>(full, "model.wrn_depth");
  m.wrn_k = get<int>(full, "model.wrn_k");
  m.stem_site = get<bool>(full, "model.stem_site");
  m.final_site = get<bool>(full, "model.final_site");
  m.seed = get<uint64_t>(full, "model.seed");
  SENET_CHECK(full["model"]["width_factors"].is_array(),
              "config key 'model.width_factors': expected a list of width factors, e.g. [0.5, 1]");
  m.width_factors.clear();
  for (const auto& v : full["model"]["width_factors"]) {
    SENET_CHECK(v.is_number(), "config key 'model.width_factors': expected numbers, got ", v.dump());
    m.width_factors.push_back(v.get<float>());
  }
  try {
    models::check_width_factors(m.width_factors, "config key 'model.width_factors'");
  } catch (const Error& e) {
    fail(e.what(), " (got ", full["model"]["width_factors"].dump(), ")");
  }
  auto& d = c.data;
  d.dataset = get<std::string>(full, "data.dataset");
  d.root = get<std::string>(full, "data.root");
  d.val_size = get<int64_t>(full, "data.val_size");
  d.train_limit = get<int64_t>(full, "data.train_limit");
  d.test_limit = get<int64_t>(full, "data.test_limit");
  d.crop_pad = get<int>(full, "data.crop_pad");
  d.hflip = get<bool>(full, "data.hflip");
  d.synthetic_size = get<int64_t>(full, "data.synthetic_size");
  c.train.epochs = get<int>(full, "train.epochs");
  c.train.batch_size = get<int64_t>(full, "train.batch_size");
  auto& o = c.train.optim;
  o.name = get<std::string>(full, "train.optim.name");
  o.lr = get<float>(full, "train.optim.lr");
  o.momentum = get<float>(full, "train.optim.momentum");
  o.nesterov = get<bool>(full, "train.optim.nesterov");
  o.weight_decay = get<float>(full, "train.optim.weight_decay");
  o.schedule = get<std::string>(full, "train.optim.schedule");
  SENET_CHECK(full["train"]["optim"]["milestones"].is_array(),
              "config key 'train.optim.milestones': expected a list of epochs");
  o.milestones.clear();
  for (const auto& v : full["train"]["optim"]["milestones"]) {
    SENET_CHECK(v.is_number_integer() && v.get<int>() >= 0,
                "config key 'train.optim.milestones': expected non-negative integers, got ", v.dump());
    o.milestones.push_back(v.get<int>());
  }
  o.gamma = get<float>(full, "train.optim.gamma");
  o.min_lr = get<float>(full, "train.optim.min_lr");
  o.warmup_epochs = get<int>(full, "train.optim.warmup_epochs");
  auto& sn = c.senet;
  sn.method = get<std::string>(full, "senet.method");
  sn.budget = get<int64_t>(full, "senet.budget");
  sn.teacher_checkpoint = get<std::string>(full, "senet.teacher_checkpoint");
  sn.granularity = get<std::string>(full, "senet.granularity");
  sn.student_init = get<std::string>(full, "senet.student_init");
  sn.pram_sites = get<std::string>(full, "senet.pram_sites");
  sn.mask_learner = get<std::string>(full, "senet.mask_learner");
  sn.initial_mask = get<std::string>(full, "senet.initial_mask");
  sn.bn_recompute_batches = get<int64_t>(full, "senet.bn_recompute_batches");
  sn.settle_epochs = get<int>(full, "senet.settle_epochs");
  check(sn.initial_mask == "random" || sn.initial_mask == "hw_pattern", "senet.initial_mask",
        "random or hw_pattern", full);
  check(sn.bn_recompute_batches >= 0, "senet.bn_recompute_batches", "an integer ≥ 0 (0: off)", full);
  check(sn.settle_epochs >= 0, "senet.settle_epochs", "an integer ≥ 0", full);
  sn.density = get<double>(full, "senet.density");
  sn.sensitivity_epochs = get<int>(full, "senet.sensitivity_epochs");
  sn.prune_every = get<int>(full, "senet.prune_every");
  sn.prune_rate = get<double>(full, "senet.prune_rate");
  for (auto [name, st] : {std::pair<const char*, SenetStageConfig*>{"mask_search", &sn.mask_search},
                          {"finetune", &sn.finetune}}) {
    std::string k = std::string("senet.") + name + ".";
    st->epochs = get<int>(full, k + "epochs");
    st->lr = get<float>(full, k + "lr");
    st->schedule = get<std::string>(full, k + "schedule");
    st->ce = get<float>(full, k + "ce");
    st->kd = get<float>(full, k + "kd");
    st->pram = get<float>(full, k + "pram");
    st->temperature = get<float>(full, k + "temperature");
    check(st->epochs >= 0, k + "epochs", "an integer ≥ 0", full);
    check(st->lr > 0, k + "lr", "a positive number", full);
    check(st->schedule == "cosine" || st->schedule == "constant" || st->schedule == "multistep",
          k + "schedule", "cosine, multistep or constant", full);
    check(st->ce >= 0, k + "ce", "a weight ≥ 0", full);
    check(st->kd >= 0, k + "kd", "a weight ≥ 0", full);
    check(st->pram >= 0, k + "pram", "a weight ≥ 0", full);
    check(st->temperature > 0, k + "temperature", "a positive number", full);
  }
  auto& snl = sn.snl;
  snl.max_epochs = get<int>(full, "senet.snl.max_epochs");
  snl.lr = get<float>(full, "senet.snl.lr");
  snl.weight_decay = get<float>(full, "senet.snl.weight_decay");
  snl.lambda = get<float>(full, "senet.snl.lambda");
  snl.lambda_growth = get<float>(full, "senet.snl.lambda_growth");
  snl.lambda_from_epoch = get<int>(full, "senet.snl.lambda_from_epoch");
  snl.threshold = get<float>(full, "senet.snl.threshold");
  snl.check_every = get<int>(full, "senet.snl.check_every");
  snl.binarize = get<std::string>(full, "senet.snl.binarize");
  check(snl.binarize == "threshold" || snl.binarize == "top_budget", "senet.snl.binarize",
        "threshold or top_budget", full);
  snl.ce = get<float>(full, "senet.snl.ce");
  snl.kd = get<float>(full, "senet.snl.kd");
  snl.temperature = get<float>(full, "senet.snl.temperature");
  check(snl.max_epochs >= 1, "senet.snl.max_epochs", "an integer ≥ 1", full);
  check(snl.lr > 0, "senet.snl.lr", "a positive number", full);
  check(snl.weight_decay >= 0, "senet.snl.weight_decay", "a number ≥ 0", full);
  check(snl.lambda >= 0, "senet.snl.lambda", "a number ≥ 0", full);
  check(snl.lambda_growth >= 1, "senet.snl.lambda_growth", "a number ≥ 1", full);
  check(snl.lambda_from_epoch >= 1, "senet.snl.lambda_from_epoch", "an integer ≥ 1 (epochs count from 1)",
        full);
  check(snl.threshold >= 0 && snl.threshold < 1, "senet.snl.threshold", "a number in [0, 1)", full);
  check(snl.check_every >= 0, "senet.snl.check_every", "an integer ≥ 0 (0: count at epoch ends only)", full);
  check(snl.ce >= 0, "senet.snl.ce", "a weight ≥ 0", full);
  check(snl.kd >= 0, "senet.snl.kd", "a weight ≥ 0", full);
  check(snl.temperature > 0, "senet.snl.temperature", "a positive number", full);
  check(sn.method == "senet" || sn.method == "snl" || sn.method == "uniform" ||
            sn.method == "random_masks" || sn.method == "no_pram",
        "senet.method", "one of senet, snl, uniform, random_masks, no_pram", full);
  check(sn.method != "snl" || sn.granularity == "pixel", "senet.method",
        "not snl when senet.granularity is channel (SNL's α is per pixel)", full);
  check(sn.budget >= 0, "senet.budget", "an integer ≥ 0", full);
  check(sn.granularity == "pixel" || sn.granularity == "channel", "senet.granularity",
        "pixel or channel", full);
  check(sn.student_init == "teacher" || sn.student_init == "random", "senet.student_init",
        "teacher or random", full);
  check(sn.pram_sites == "stage_ends" || sn.pram_sites == "all", "senet.pram_sites",
        "stage_ends or all", full);
  check(sn.mask_learner == "distance" || sn.mask_learner == "ste", "senet.mask_learner",
        "distance or ste", full);
  check(sn.initial_mask != "hw_pattern" || sn.granularity == "pixel", "senet.initial_mask",
        "random when senet.granularity is channel (an H×W pattern is pixel-wise)", full);
  check(sn.mask_learner != "ste" || sn.granularity == "pixel", "senet.mask_learner",
        "distance when senet.granularity is channel (ste is pixel-wise only)", full);
  check(sn.density > 0 && sn.density <= 1, "senet.density", "a number in (0, 1]", full);
  check(sn.sensitivity_epochs >= 1, "senet.sensitivity_epochs", "an integer ≥ 1", full);
  check(sn.prune_every >= 1, "senet.prune_every", "an integer ≥ 1", full);
  check(sn.prune_rate >= 0 && sn.prune_rate < 1, "senet.prune_rate", "a number in [0, 1)", full);
  c.seed = get<uint64_t>(full, "seed");
  c.threads = get<int>(full, "threads");
  c.device = get<std::string>(full, "device");
  c.out_dir = get<std::string>(full, "out_dir");
  c.progress = get<bool>(full, "progress");

  // Value checks, each naming its key.
  check(m.arch == "resnet18" || m.arch == "resnet34" || m.arch == "wrn", "model.arch",
        "one of resnet18, resnet34, wrn", full);
  check(m.num_classes >= 2, "model.num_classes", "an integer ≥ 2", full);
  check(m.in_channels >= 1, "model.in_channels", "an integer ≥ 1", full);
  check(m.image_size >= 8 && m.image_size % 8 == 0, "model.image_size", "a multiple of 8", full);
  check(m.width > 0 && m.width <= 16, "model.width", "a number in (0, 16]", full);
  check(m.width_factors.empty() || m.arch != "wrn", "model.width_factors",
        "[] for wrn (width switching is implemented for ResNet only)", full);
  check(d.dataset == "fashion-mnist" || d.dataset == "cifar10" || d.dataset == "cifar100" ||
            d.dataset == "tiny-imagenet" || d.dataset == "synthetic",
        "data.dataset", "one of fashion-mnist, cifar10, cifar100, tiny-imagenet, synthetic", full);
  check(d.val_size >= 0, "data.val_size", "an integer ≥ 0", full);
  check(d.train_limit >= 0, "data.train_limit", "an integer ≥ 0", full);
  check(d.test_limit >= 0, "data.test_limit", "an integer ≥ 0", full);
  check(d.crop_pad >= 0 && d.crop_pad <= 16, "data.crop_pad", "an integer in [0, 16]", full);
  check(d.synthetic_size >= 16, "data.synthetic_size", "an integer ≥ 16", full);
  check(c.train.epochs >= 0, "train.epochs", "an integer ≥ 0", full);
  check(c.train.batch_size >= 1, "train.batch_size", "an integer ≥ 1", full);
  check(o.name == "sgd" || o.name == "adam", "train.optim.name", "sgd or adam", full);
  check(o.lr > 0, "train.optim.lr", "a positive number", full);
  check(o.momentum >= 0 && o.momentum < 1, "train.optim.momentum", "a number in [0, 1)", full);
  check(o.weight_decay >= 0, "train.optim.weight_decay", "a number ≥ 0", full);
  check(o.schedule == "cosine" || o.schedule == "multistep" || o.schedule == "constant",
        "train.optim.schedule", "cosine, multistep or constant", full);
  check(o.gamma > 0, "train.optim.gamma", "a positive number", full);
  check(o.min_lr >= 0, "train.optim.min_lr", "a number ≥ 0", full);
  check(o.warmup_epochs >= 0, "train.optim.warmup_epochs", "an integer ≥ 0", full);
  check(c.threads >= 0, "threads", "an integer ≥ 0 (0: all cores)", full);
  check(c.device == "cpu" || c.device == "cuda", "device", "cpu or cuda", full);
  check(!c.out_dir.empty(), "out_dir", "a directory path", full);
  return c;
}

void merge_strict(json& base, const json& patch, const std::string& where) {
  SENET_CHECK(patch.is_object(), where, ": expected a JSON object, got ", patch.dump());
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    if (it.key().rfind("//", 0) == 0) continue;  // "//": a comment in a JSON config
    std::string key = where == "config" ? it.key() : where + "." + it.key();
    SENET_CHECK(base.contains(it.key()), "config: unknown key '", key, "'");
    json& dst = base[it.key()];
    if (dst.is_object())
      merge_strict(dst, it.value(), key);
    else
      dst = it.value();
  }
}

void set_dotted(json& base, const std::string& assignment) {
  auto eq = assignment.find('=');
  SENET_CHECK(eq != std::string::npos && eq > 0, "override '", assignment,
              "': expected key=value, e.g. train.optim.lr=0.1");
  std::string key = assignment.substr(0, eq), text = assignment.substr(eq + 1);
  json value = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) {  // bare strings need no quotes, but must be UTF-8 like the file
    value = text;
    try {
      (void)value.dump();
    } catch (const json::exception&) {
      fail("override '", key, "': expected a UTF-8 value, found invalid bytes");
    }
  }
  json* p = &base;
  std::string part;
  std::istringstream in(key);
  std::vector<std::string> parts;
  while (std::getline(in, part, '.')) parts.push_back(part);
  for (size_t i = 0; i < parts.size(); ++i) {
    SENET_CHECK(p->is_object() && p->contains(parts[i]), "config: unknown key '", key, "'");
    p = &(*p)[parts[i]];
  }
  SENET_CHECK(!p->is_object(), "config key '", key, "' is a section; set one of its keys instead");
  *p = value;
}

json load_config_json(const std::string& path, const std::vector<std::string>& overrides) {
  if (path.empty()) return merge_config_layers({}, overrides);
  return merge_config_layers({read_config_layer(path)}, overrides);
}

json parse_config_json(const std::string& text, const std::string& path,
                       const std::vector<std::string>& overrides) {
  return merge_config_layers({parse_config_layer(text, path)}, overrides);
}

ConfigLayer parse_config_layer(const std::string& text, const std::string& name) {
  json user = json::parse(text, nullptr, false, /*ignore_comments=*/true);
  SENET_CHECK(!user.is_discarded(), "config file '", name, "' is not valid JSON");
  return {std::move(user), "config file '" + name + "'"};
}

ConfigLayer read_config_layer(const std::string& path) {
  std::ifstream f(path);
  SENET_CHECK(f.good(), "config file '", path, "' cannot be opened");
  std::stringstream ss;
  ss << f.rdbuf();
  return parse_config_layer(ss.str(), path);
}

json merge_config_layers(const std::vector<ConfigLayer>& layers, const std::vector<std::string>& overrides) {
  json full = to_json(RunConfig{});
  for (const ConfigLayer& layer : layers) {
    try {
      merge_strict(full, layer.json, "config");
    } catch (const Error& e) {
      fail(layer.name, ": ", e.what());
    }
  }
  for (const auto& o : overrides) set_dotted(full, o);
  from_json(full);  // validate now so errors surface before any work starts
  return full;
}

}  // namespace senet
