// senet/checkpoint.h — a run's state as one safetensors file (readable by other tools, e.g.
// PyTorch's safetensors loader): every parameter and buffer of the model under its dotted name
// (ReLU masks are the "<site>.mask" buffers, u8), the optimizer state under "optim.<name>", and
// metadata strings: the run config (JSON), epoch, RNG state, best validation accuracy, format.
// Written atomically (temp file, fsync, rename). Loading checks every model tensor is present with
// the right dtype and shape, and names the file and tensor when one is not.
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
void load_model_state(const io::StFile& f, models::Model& model);
void load_optimizer_state(const io::StFile& f, Optimizer& opt);
const std::string& metadata_at(const io::StFile& f, const std::string& key);  // error names file+key

io::StTensor to_st(const std::string& name, const Tensor& t);
Tensor from_st(const io::StTensor& t, const std::string& file);

}  // namespace senet
