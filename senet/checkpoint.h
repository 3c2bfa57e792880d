// senet/checkpoint.h — a run's state as one safetensors file (readable by other tools, e.g.
// PyTorch's safetensors loader; docs/interop.md): every parameter and buffer of the model under its
// dotted name (ReLU masks are the "<site>.mask" buffers, u8), the optimizer state under
// "optim.<name>", and metadata strings: the run config (JSON), epoch, RNG state, best validation
// accuracy, format. Written atomically (temp file, fsync, rename). Loading checks every model
// tensor is present with the right dtype and shape, and names the file and tensor when one is not
// — except a width factor's BN set (models/width_switch.h), which a plain checkpoint lacks: it
// starts from the full-width set's first channels.
// Files from other tools load as models too (read_model_file; docs/interop.md): a safetensors file
// without senet's "format" metadata, e.g. PyTorch's save_file(model.state_dict(), path) of a module
// with our tensor names, with the model given by the caller's config. For such a file a missing
// ReLU mask means all-ReLU (a teacher), PyTorch's "<bn>.num_batches_tracked" (an I64 scalar) and
// our optimizer state "optim.*" are ignored, and any other tensor the model has no use for is an
// error naming it, as is a missing weight. Masks may be U8 or BOOL in any file.
#pragma once
#include <map>
#include <string>

#include "engine/io/safetensors.h"
#include "engine/optim/optimizer.h"
#include "models/model.h"

namespace senet {

using Metadata = std::map<std::string, std::string>;

void save_checkpoint(const std::string& path, models::Model& model, const Optimizer* opt,
                     const Metadata& meta);

// Reads and validates the file, which must be a senet checkpoint (resume, a stage's result); model
// tensors and optimizer state are applied by the calls below.
io::StFile read_checkpoint(const std::string& path);
// A file to load as a model, not to resume from (eval, cost, summary --checkpoint, the pipeline's
// senet.teacher_checkpoint): a senet checkpoint, or a state_dict saved by another tool (above).
// A "format" of another senet file kind or version is an error.
io::StFile read_model_file(const std::string& path);
// The same two for a file's bytes already in memory (read_* = read_file + parse_*;
// tests/fuzz/fuzz_checkpoint.cpp). `path` is only used in error messages.
io::StFile parse_checkpoint(const uint8_t* data, size_t size, const std::string& path);
io::StFile parse_model_file(const uint8_t* data, size_t size, const std::string& path);
// Whether `f` is a senet checkpoint (metadata format = senet-checkpoint-1) rather than a file from
// another tool (no format, or another tool's such as "pt").
bool is_senet_checkpoint(const io::StFile& f);
void load_model_state(const io::StFile& f, models::Model& model);
void load_optimizer_state(const io::StFile& f, Optimizer& opt);
const std::string& metadata_at(const io::StFile& f,
                               const std::string& key);  // error names file+key
// A metadata value that must be a decimal int / a number as std::to_string or %.17g write them
// (the resume state: epoch, best_val_accuracy, ...; "nan" is a number): anything else, trailing
// characters included, → error naming file+key (std::stoi said "stoi" and ignored trailing junk).
int metadata_int(const io::StFile& f, const std::string& key);
double metadata_number(const io::StFile& f, const std::string& key);

io::StTensor to_st(const std::string& name, const Tensor& t);
Tensor from_st(const io::StTensor& t, const std::string& file);

}  // namespace senet
