// senet/config.cpp — the config schema: every key declared once, in config_schema(), with the
// member it reads and writes, its type and check and a one-line doc. to_json, from_json, the
// checks and the reference (`senet config --list`, docs/config.md) are all made from that list.
#include "senet/config.h"

#include <charconv>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>
#include <type_traits>

#include "engine/core/error.h"
#include "models/width_switch.h"

namespace senet {

using json = nlohmann::json;

namespace {

// A float as the shortest decimal that reads back as the same float, as a double: 0.1f is
// written 0.1 (json's own printing of the double 0.1f would give 0.10000000149011612).
double as_written(float f) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, f);
  return std::strtod(std::string(buf, r.ptr).c_str(), nullptr);
}

template <class T>
json value_to_json(const T& v) {
  if constexpr (std::is_same_v<T, float>) {
    return as_written(v);
  } else if constexpr (NamedEnum<T>) {
    return std::string(enum_name(v));
  } else if constexpr (std::is_same_v<T, std::vector<float>>) {
    json a = json::array();
    for (float f : v) a.push_back(as_written(f));
    return a;
  } else {
    return v;
  }
}

template <class T>
T value_from_json(const JsonReader& r, const NumberRule& rule) {
  if constexpr (std::is_same_v<T, bool>) {
    return r.boolean();
  } else if constexpr (std::is_same_v<T, std::string>) {
    return r.text();
  } else if constexpr (NamedEnum<T>) {
    return r.choice<T>();
  } else if constexpr (std::is_same_v<T, uint64_t>) {
    return r.unsigned_integer();
  } else if constexpr (std::is_integral_v<T>) {
    int64_t v = r.integer(rule);
    if (v < int64_t(std::numeric_limits<T>::min()) || v > int64_t(std::numeric_limits<T>::max()))
      r.fail_expected("an integer that fits in " + std::to_string(sizeof(T) * 8) + " bits");
    return T(v);
  } else if constexpr (std::is_same_v<T, float>) {
    double v = r.number(rule);
    if (std::fabs(v) > double(std::numeric_limits<float>::max()))
      r.fail_expected("a number a float can hold");
    return float(v);
  } else if constexpr (std::is_same_v<T, double>) {
    return r.number(rule);
  } else if constexpr (std::is_same_v<T, std::vector<int>> ||
                       std::is_same_v<T, std::vector<float>>) {
    T out;
    for (size_t i = 0; i < r.size(); ++i)
      out.push_back(value_from_json<typename T::value_type>(r[i], rule));
    return out;
  } else {
    static_assert(sizeof(T) == 0, "a config member of a type the schema does not know");
  }
}

template <class T>
std::string type_name(const NumberRule& rule) {
  const std::string words = rule.words.empty() ? "" : " " + rule.words;
  if constexpr (std::is_same_v<T, bool>) {
    return "bool";
  } else if constexpr (std::is_same_v<T, std::string>) {
    return "string";
  } else if constexpr (NamedEnum<T>) {
    std::string out = "one of: ";
    for (size_t i = 0; i < std::size(EnumNames<T>::table); ++i)
      out += (i ? " | " : "") + std::string(EnumNames<T>::table[i].second);
    return out;
  } else if constexpr (std::is_same_v<T, std::vector<int>>) {
    return "list of integers" + words;
  } else if constexpr (std::is_same_v<T, std::vector<float>>) {
    return "list of numbers" + words;
  } else if constexpr (std::is_integral_v<T>) {
    return std::is_unsigned_v<T> ? "integer ≥ 0" : "integer" + words;
  } else {
    return "number" + words;
  }
}

// One key: `member` maps a RunConfig to the member the key names (a lambda returning a reference).
template <class F>
ConfigKey field(std::string key, F member, NumberRule rule, std::string doc) {
  using T = std::remove_reference_t<std::invoke_result_t<F, RunConfig&>>;
  ConfigKey k{std::move(key), type_name<T>(rule), std::move(doc), nullptr, nullptr};
  k.get = [member](const RunConfig& c) { return value_to_json(member(const_cast<RunConfig&>(c))); };
  k.set = [member, rule](RunConfig& c, const JsonReader& r) {
    member(c) = value_from_json<T>(r, rule);
  };
  return k;
}
template <class F>
ConfigKey field(std::string key, F member, std::string doc) {
  return field(std::move(key), member, any_number(), std::move(doc));
}

NumberRule multiple_of_8() {
  return {[](double x) { return x >= 8 && std::fmod(x, 8) == 0; }, "≥ 8, a multiple of 8"};
}

// The 7 keys of a SENet stage (mask search or fine-tuning).
template <class S>
void add_stage(std::vector<ConfigKey>& keys, const std::string& prefix, const std::string& what,
               S stage) {
  keys.push_back(field(
      prefix + "epochs", [stage](RunConfig & c) -> auto& { return stage(c).epochs; }, at_least(0),
      what + ": epochs"));
  keys.push_back(field(
      prefix + "lr", [stage](RunConfig & c) -> auto& { return stage(c).lr; }, positive(),
      what + ": learning rate (SGD, the teacher's momentum and weight decay)"));
  keys.push_back(field(
      prefix + "schedule", [stage](RunConfig & c) -> auto& { return stage(c).schedule; },
      what + ": learning-rate schedule over the stage's epochs"));
  keys.push_back(field(
      prefix + "ce", [stage](RunConfig & c) -> auto& { return stage(c).ce; }, at_least(0),
      what + ": weight of the cross-entropy with the labels"));
  keys.push_back(field(
      prefix + "kd", [stage](RunConfig & c) -> auto& { return stage(c).kd; }, at_least(0),
      what + ": weight of the distillation loss (KL to the teacher, ×T²)"));
  keys.push_back(field(
      prefix + "pram", [stage](RunConfig & c) -> auto& { return stage(c).pram; }, at_least(0),
      what + ": weight of PRAM, the post-ReLU activation matching loss"));
  keys.push_back(field(
      prefix + "temperature", [stage](RunConfig & c) -> auto& { return stage(c).temperature; },
      positive(), what + ": distillation temperature T"));
}

std::vector<ConfigKey> make_schema() {
  std::vector<ConfigKey> k;
  auto add = [&](ConfigKey key) { k.push_back(std::move(key)); };
  // model (models/model.h)
  add(field(
      "model.arch", [](RunConfig & c) -> auto& { return c.model.arch; },
      "the network: ResNet-18/34 or WRN-depth-k"));
  add(field(
      "model.num_classes", [](RunConfig & c) -> auto& { return c.model.num_classes; }, at_least(2),
      "classes of the classifier"));
  add(field(
      "model.in_channels", [](RunConfig & c) -> auto& { return c.model.in_channels; }, at_least(1),
      "input channels (1-channel data is replicated to them)"));
  add(field(
      "model.image_size", [](RunConfig & c) -> auto& { return c.model.image_size; },
      multiple_of_8(), "input height = width, after padding"));
  add(field(
      "model.width", [](RunConfig & c) -> auto& { return c.model.width; }, in_range_open_low(0, 16),
      "ResNet: multiplies the base widths 64/128/256/512"));
  add(field(
      "model.wrn_depth", [](RunConfig & c) -> auto& { return c.model.wrn_depth; }, at_least(10),
      "WRN-d-k: the depth d = 6n + 4"));
  add(field(
      "model.wrn_k", [](RunConfig & c) -> auto& { return c.model.wrn_k; }, at_least(1),
      "WRN-d-k: the widening factor k"));
  add(field(
      "model.stem_site", [](RunConfig & c) -> auto& { return c.model.stem_site; },
      "ResNet: the stem ReLU is a site in the budget (false: a full ReLU outside the count, as "
      "SNL)"));
  add(field(
      "model.final_site", [](RunConfig & c) -> auto& { return c.model.final_site; },
      "WRN: the final BN-ReLU is a site in the budget (false: outside the count, as SNL)"));
  add(field(
      "model.seed", [](RunConfig & c) -> auto& { return c.model.seed; },
      "seed of the weight initialisation"));
  add(field(
      "model.width_factors", [](RunConfig & c) -> auto& { return c.model.width_factors; },
      in_range_open_low(0, 1),
      "dynamic channel reduction: e.g. [0.5, 1], increasing, with 1 ([]: a plain model; ResNet "
      "only)"));
  // data (engine/data, senet/trainer.cpp load_data)
  add(field(
      "data.dataset", [](RunConfig & c) -> auto& { return c.data.dataset; }, "the data set"));
  add(field(
      "data.root", [](RunConfig & c) -> auto& { return c.data.root; },
      "directory of the data set's files"));
  add(field(
      "data.val_size", [](RunConfig & c) -> auto& { return c.data.val_size; }, at_least(0),
      "images held out of the training files (seeded) for selection; never the test set"));
  add(field(
      "data.train_limit", [](RunConfig & c) -> auto& { return c.data.train_limit; }, at_least(0),
      "use only the first N training images (0: all)"));
  add(field(
      "data.test_limit", [](RunConfig & c) -> auto& { return c.data.test_limit; }, at_least(0),
      "use only the first N test images (0: all)"));
  add(field(
      "data.crop_pad", [](RunConfig & c) -> auto& { return c.data.crop_pad; },
      in_range(0, 16, "in [0, 16]"), "random crop after padding by this many pixels (0: none)"));
  add(field(
      "data.hflip", [](RunConfig & c) -> auto& { return c.data.hflip; },
      "random horizontal flips"));
  add(field(
      "data.synthetic_size", [](RunConfig & c) -> auto& { return c.data.synthetic_size; },
      at_least(16), "synthetic data set: training images (the test split gets a quarter)"));
  // train (senet/trainer.h)
  add(field(
      "train.epochs", [](RunConfig & c) -> auto& { return c.train.epochs; }, at_least(0),
      "epochs of training (pipeline: the teacher's)"));
  add(field(
      "train.batch_size", [](RunConfig & c) -> auto& { return c.train.batch_size; }, at_least(1),
      "images per step (on several ranks: the whole batch; each rank takes an equal slice)"));
  add(field(
      "train.sync_batchnorm", [](RunConfig & c) -> auto& { return c.train.sync_batchnorm; },
      "on several ranks: BatchNorm statistics of the whole batch (false: each rank's own, faster, "
      "and the result then depends on the rank count)"));
  add(field(
      "train.optim.name", [](RunConfig & c) -> auto& { return c.train.optim.name; },
      "the optimizer"));
  add(field(
      "train.optim.lr", [](RunConfig & c) -> auto& { return c.train.optim.lr; }, positive(),
      "learning rate"));
  add(field(
      "train.optim.momentum", [](RunConfig & c) -> auto& { return c.train.optim.momentum; },
      in_range_open_high(0, 1), "SGD momentum (adam: β₁ = 0.9 always)"));
  add(field(
      "train.optim.nesterov", [](RunConfig & c) -> auto& { return c.train.optim.nesterov; },
      "SGD: Nesterov momentum"));
  add(field(
      "train.optim.weight_decay", [](RunConfig & c) -> auto& { return c.train.optim.weight_decay; },
      at_least(0), "L2 weight decay"));
  add(field(
      "train.optim.schedule", [](RunConfig & c) -> auto& { return c.train.optim.schedule; },
      "learning-rate schedule"));
  add(field(
      "train.optim.milestones", [](RunConfig & c) -> auto& { return c.train.optim.milestones; },
      at_least(0), "multistep: the epochs where lr ×= gamma"));
  add(field(
      "train.optim.gamma", [](RunConfig & c) -> auto& { return c.train.optim.gamma; }, positive(),
      "multistep: the factor at each milestone"));
  add(field(
      "train.optim.min_lr", [](RunConfig & c) -> auto& { return c.train.optim.min_lr; },
      at_least(0), "cosine: the learning rate at the end"));
  add(field(
      "train.optim.warmup_epochs",
      [](RunConfig & c) -> auto& { return c.train.optim.warmup_epochs; }, at_least(0),
      "linear warm-up epochs before the schedule"));
  // senet (docs/method.md)
  add(field(
      "senet.method", [](RunConfig & c) -> auto& { return c.senet.method; },
      "SENet, or a baseline/ablation: snl, uniform (no stage 1), random_masks (no stage 2), "
      "no_pram"));
  add(field(
      "senet.budget", [](RunConfig & c) -> auto& { return c.senet.budget; }, at_least(0),
      "ReLUs of the student over the counted sites (also --budget)"));
  add(field(
      "senet.teacher_checkpoint", [](RunConfig & c) -> auto& { return c.senet.teacher_checkpoint; },
      "use this teacher instead of training one (\"\": train it)"));
  add(field(
      "senet.granularity", [](RunConfig & c) -> auto& { return c.senet.granularity; },
      "a mask per position (pixel) or per channel"));
  add(field(
      "senet.student_init", [](RunConfig & c) -> auto& { return c.senet.student_init; },
      "the student starts from the teacher's weights, or from a fresh initialisation"));
  add(field(
      "senet.pram_sites", [](RunConfig & c) -> auto& { return c.senet.pram_sites; },
      "PRAM on the sites at the ends of the stages, or on all sites"));
  add(field(
      "senet.mask_learner", [](RunConfig & c) -> auto& { return c.senet.mask_learner; },
      "stage 2: top-r of Σ|A_T − A_S| (distance) or learned scores with a straight-through "
      "estimator (ste)"));
  add(field(
      "senet.initial_mask", [](RunConfig & c) -> auto& { return c.senet.initial_mask; },
      "stage 2's first mask: r random positions per site, or one random H×W pattern repeated over "
      "the channels"));
  add(field(
      "senet.bn_recompute_batches",
      [](RunConfig & c) -> auto& { return c.senet.bn_recompute_batches; }, at_least(0),
      "stage 2: batches over which BN statistics are recomputed after each mask switch (0: off)"));
  add(field(
      "senet.settle_epochs", [](RunConfig & c) -> auto& { return c.senet.settle_epochs; },
      at_least(0), "stage 2: epochs on the best searched mask, masks frozen"));
  add(field(
      "senet.density", [](RunConfig & c) -> auto& { return c.senet.density; },
      in_range_open_low(0, 1), "stage 1: global conv-weight density of the sparse copy"));
  add(field(
      "senet.sensitivity_epochs", [](RunConfig & c) -> auto& { return c.senet.sensitivity_epochs; },
      at_least(1), "stage 1: epochs of sparse-momentum training"));
  add(field(
      "senet.prune_every", [](RunConfig & c) -> auto& { return c.senet.prune_every; }, at_least(1),
      "stage 1: steps between prune-and-regrow rounds"));
  add(field(
      "senet.prune_rate", [](RunConfig & c) -> auto& { return c.senet.prune_rate; },
      in_range_open_high(0, 1), "stage 1: the fraction of weights pruned and regrown each round"));
  add_stage(
      k, "senet.mask_search.", "stage 2 (mask search)",
      [](RunConfig & c) -> auto& { return c.senet.mask_search; });
  add_stage(
      k, "senet.finetune.", "stage 3 (fine-tuning)",
      [](RunConfig & c) -> auto& { return c.senet.finetune; });
  // senet.snl (senet/snl.h)
  add(field(
      "senet.snl.max_epochs", [](RunConfig & c) -> auto& { return c.senet.snl.max_epochs; },
      at_least(1), "SNL: stop here if the count never reaches the budget (reported)"));
  add(field(
      "senet.snl.lr", [](RunConfig & c) -> auto& { return c.senet.snl.lr; }, positive(),
      "SNL: Adam's learning rate, constant"));
  add(field(
      "senet.snl.weight_decay", [](RunConfig & c) -> auto& { return c.senet.snl.weight_decay; },
      at_least(0), "SNL: weight decay on the weights (α gets none)"));
  add(field(
      "senet.snl.lambda", [](RunConfig & c) -> auto& { return c.senet.snl.lambda; }, at_least(0),
      "SNL: the initial λ of λ·Σ|α|"));
  add(field(
      "senet.snl.lambda_growth", [](RunConfig & c) -> auto& { return c.senet.snl.lambda_growth; },
      at_least(1), "SNL: λ ×= this after an epoch in which the count did not fall"));
  add(field(
      "senet.snl.lambda_from_epoch",
      [](RunConfig & c) -> auto& { return c.senet.snl.lambda_from_epoch; }, at_least(1),
      "SNL: λ grows from this epoch on (epochs count from 1)"));
  add(field(
      "senet.snl.threshold", [](RunConfig & c) -> auto& { return c.senet.snl.threshold; },
      in_range_open_high(0, 1), "SNL: a position is a ReLU while α > threshold"));
  add(field(
      "senet.snl.check_every", [](RunConfig & c) -> auto& { return c.senet.snl.check_every; },
      at_least(0),
      "SNL: also count every N steps and stop mid-epoch at ≤ budget (0: at epoch ends only)"));
  add(field(
      "senet.snl.binarize", [](RunConfig & c) -> auto& { return c.senet.snl.binarize; },
      "SNL's final mask: [α > threshold], or the top-budget α (exactly the budget)"));
  add(field(
      "senet.snl.ce", [](RunConfig & c) -> auto& { return c.senet.snl.ce; }, at_least(0),
      "SNL: weight of the cross-entropy"));
  add(field(
      "senet.snl.kd", [](RunConfig & c) -> auto& { return c.senet.snl.kd; }, at_least(0),
      "SNL: weight of the distillation loss"));
  add(field(
      "senet.snl.temperature", [](RunConfig & c) -> auto& { return c.senet.snl.temperature; },
      positive(), "SNL: distillation temperature"));
  // the run
  add(field(
      "seed", [](RunConfig & c) -> auto& { return c.seed; },
      "seed of the data split, order and augmentation"));
  add(field(
      "threads", [](RunConfig & c) -> auto& { return c.threads; }, at_least(0),
      "CPU threads (0: all cores)"));
  add(field(
      "device", [](RunConfig & c) -> auto& { return c.device; },
      "where tensors live and kernels run"));
  add(field(
      "allow_tf32", [](RunConfig & c) -> auto& { return c.allow_tf32; },
      "CUDA only: convolutions on TF32 tensor cores (operands rounded to 10 mantissa bits, "
      "~3e-4 relative; PyTorch's allow_tf32); the CPU always computes in FP32"));
  add(field(
      "cuda_graph", [](RunConfig & c) -> auto& { return c.cuda_graph; },
      "CUDA only, one process: every training loop (supervised, SENet's sensitivity, mask "
      "search and fine-tuning, SNL) records its step once as a CUDA graph and replays it for each "
      "later batch of the same shape (equal to the eager step bitwise on the emulator; "
      "senet/epoch_loop.h)"));
  add(field(
      "out_dir", [](RunConfig & c) -> auto& { return c.out_dir; },
      "the run directory (checkpoints, metrics, reports)"));
  add(field(
      "progress", [](RunConfig & c) -> auto& { return c.progress; },
      "print a progress line while training"));
  return k;
}

// The checks that involve more than one key, each reported under the first key it names.
struct CrossCheck {
  const char* key;
  std::function<bool(const RunConfig&)> ok;
  const char* expected;
};

const std::vector<CrossCheck>& cross_checks() {
  static const std::vector<CrossCheck> all = {
      {"model.width_factors",
       [](const RunConfig& c) {
         return c.model.width_factors.empty() || c.model.arch != models::Arch::WRN;
       },
       "[] for wrn (width switching is implemented for ResNet only)"},
      {"senet.method",
       [](const RunConfig& c) {
         return c.senet.method != Method::Snl || c.senet.granularity == Granularity::Pixel;
       },
       "not snl when senet.granularity is channel (SNL's α is per pixel)"},
      {"senet.initial_mask",
       [](const RunConfig& c) {
         return c.senet.initial_mask != InitialMask::HwPattern ||
                c.senet.granularity == Granularity::Pixel;
       },
       "random when senet.granularity is channel (an H×W pattern is pixel-wise)"},
      {"senet.mask_learner",
       [](const RunConfig& c) {
         return c.senet.mask_learner != MaskLearner::Ste ||
                c.senet.granularity == Granularity::Pixel;
       },
       "distance when senet.granularity is channel (ste is pixel-wise only)"},
      {"out_dir", [](const RunConfig& c) { return !c.out_dir.empty(); }, "a directory path"},
  };
  return all;
}

// Puts `value` at the dotted `key` of `out`, making the sections on the way.
void put_dotted(json& out, const std::string& key, json value) {
  json* p = &out;
  size_t begin = 0;
  for (size_t dot; (dot = key.find('.', begin)) != std::string::npos; begin = dot + 1)
    p = &(*p)[key.substr(begin, dot - begin)];
  (*p)[key.substr(begin)] = std::move(value);
}

// A table cell: a '|' would end the cell.
std::string markdown_cell(const std::string& text) {
  std::string out;
  for (char ch : text) out += ch == '|' ? std::string("\\|") : std::string(1, ch);
  return out;
}

}  // namespace

const std::vector<ConfigKey>& config_schema() {
  static const std::vector<ConfigKey> schema = make_schema();
  return schema;
}

json to_json(const RunConfig& c) {
  json out = json::object();
  for (const ConfigKey& k : config_schema()) put_dotted(out, k.key, k.get(c));
  return out;
}

RunConfig from_json(const json& j) {
  json full = to_json(RunConfig{});
  merge_strict(full, j, "config");
  RunConfig c;
  const JsonReader root(full, "config");
  for (const ConfigKey& k : config_schema()) k.set(c, root.at_dotted(k.key));
  try {
    models::check_width_factors(c.model.width_factors, "config: model.width_factors");
  } catch (const Error& e) {
    fail(e.what(), " (got ", full["model"]["width_factors"].dump(), ")");
  }
  for (const CrossCheck& x : cross_checks())
    if (!x.ok(c)) root.at_dotted(x.key).fail_expected(x.expected);
  return c;
}

std::string config_reference(ReferenceFormat format) {
  const RunConfig defaults;
  std::ostringstream out;
  if (format == ReferenceFormat::Markdown) {
    out << "# Config keys\n\n"
        << "Every key of a run's config (`--config FILE`, `--set KEY=VALUE`), its type, default "
           "and\n"
        << "meaning. Generated by `senet config --list --markdown` from the schema in\n"
        << "senet/config.cpp; a test keeps this file equal to that output.\n\n"
        << "| key | type | default | meaning |\n|---|---|---|---|\n";
    for (const ConfigKey& k : config_schema())
      out << "| `" << k.key << "` | " << markdown_cell(k.type) << " | `" << k.get(defaults).dump()
          << "` | " << markdown_cell(k.doc) << " |\n";
    return out.str();
  }
  for (const ConfigKey& k : config_schema())
    out << k.key << "  (" << k.type << ", default " << k.get(defaults).dump() << ")\n    " << k.doc
        << "\n";
  return out.str();
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

json merge_config_layers(const std::vector<ConfigLayer>& layers,
                         const std::vector<std::string>& overrides) {
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
