// tests/fuzz/fuzz_checkpoint.cpp — libFuzzer target: any bytes as a checkpoint, as handed to
// `senet eval|cost|summary --checkpoint` or found in a run folder on resume (senet/checkpoint.h):
// parse as eval does (parse_model_file: a senet checkpoint or a state_dict from another tool; what
// a resume accepts is a subset); the "config" metadata through from_json as the CLI does; the
// resume metadata (epoch, best_val_accuracy, ...); then the model state and SGD state applied to a
// fresh tiny ResNet-18 (tiny_model.h). The model is the tiny one whatever the config says: a
// checkpoint may ask for any width, and building that is not parsing.
#include "engine/core/error.h"
#include "senet/checkpoint.h"
#include "senet/config.h"
#include "senet/optimizer_config.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/fuzz/tiny_model.h"

using namespace senet;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  io::StFile f;
  try {
    f = parse_model_file(data, size, "fuzz.ckpt.safetensors");
  } catch (const Error& e) {
    fuzz::rejected(e);
    return 0;
  }
  try {
    auto j = nlohmann::json::parse(metadata_at(f, "config"), nullptr, false);
    SENET_CHECK(!j.is_discarded(), "metadata 'config' is not valid JSON");
    (void)from_json(j);
  } catch (const Error& e) {
    fuzz::rejected(e);
  }
  // The resume state that trainer/distill/snl read back (senet/checkpoint.h).
  for (const char* key : {"epoch", "best_epoch"}) {
    try {
      if (f.metadata.count(key)) (void)metadata_int(f, key);
    } catch (const Error& e) {
      fuzz::rejected(e);
    }
  }
  for (const char* key : {"best_val_accuracy", "lambda", "seconds", "val_accuracy"}) {
    try {
      if (f.metadata.count(key)) (void)metadata_number(f, key);
    } catch (const Error& e) {
      fuzz::rejected(e);
    }
  }
  RunConfig cfg;
  cfg.model = fuzz::tiny_model_config();
  auto model = models::make_model(cfg.model);
  try {
    load_model_state(f, *model);
  } catch (const Error& e) {
    fuzz::rejected(e);
  }
  for (auto* s : model->sites()) {
    const auto mask = s->mask.to_vector_u8();
    for (uint8_t v : mask) FUZZ_ASSERT(v == 0 || v == 1);
  }
  auto opt = make_optimizer(cfg.train.optim, *model);
  try {
    load_optimizer_state(f, *opt);
  } catch (const Error& e) {
    fuzz::rejected(e);
  }
  return 0;
}
