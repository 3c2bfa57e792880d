// senet/checkpoint.h — a run's state as one safetensors file (readable by other tools, e.g.
// PyTorch's safetensors loader): every parameter and buffer of the model under its dotted name
// (ReLU masks are the "<site>.mask" buffers, u8), the optimizer state under "optim.<name>", and
// metadata strings: the run config (JSON), epoch, RNG state, best validation accuracy, format.
// Written atomically (temp file, fsync, rename). Loading checks every model tensor is present with
// the right dtype and shape, and names the file and tensor when one is not — except a width
// factor's BN set (models/width_switch.h), which a plain checkpoint lacks: it starts from the
// full-width set's first channels.
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

// Reads and validates the file; model tensors and optimizer state are applied by the calls below.
io::StFile read_checkpoint(const std::string& path);
// The same for a file's bytes already in memory (read_checkpoint = read_file + this;
// tests/fuzz/fuzz_checkpoint.cpp). `path` is only used in error messages.
io::StFile parse_checkpoint(const uint8_t* data, size_t size, const std::string& path);
void load_model_state(const io::StFile& f, models::Model& model);
void load_optimizer_state(const io::StFile& f, Optimizer& opt);
const std::string& metadata_at(const io::StFile& f, const std::string& key);  // error names file+key
// A metadata value that must be a decimal int / a number as std::to_string or %.17g write them
// (the resume state: epoch, best_val_accuracy, ...; "nan" is a number): anything else, trailing
// characters included, → error naming file+key (std::stoi said "stoi" and ignored trailing junk).
int metadata_int(const io::StFile& f, const std::string& key);
double metadata_number(const io::StFile& f, const std::string& key);

io::StTensor to_st(const std::string& name, const Tensor& t);
Tensor from_st(const io::StTensor& t, const std::string& file);

}  // namespace senet
