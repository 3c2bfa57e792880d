// senet/data_parallel.h — what the tool's stages do on several ranks (engine/dist/comm.h).
// `mpirun -np K senet train|pipeline ...` runs the same stages on K processes: each takes slice r
// of every global batch (train.batch_size stays the global batch), the gradients are averaged in
// buckets during the backward (engine/dist/grad_reducer.h, run by the epoch loop), BatchNorm uses
// the whole batch's statistics (engine/dist/sync_bn.h; train.sync_batchnorm), the mask search's
// Σ|Aᵀ − Aˢ| and the loss/accuracy sums are summed over the ranks, and rank 0 alone prints and
// writes files (engine/io/atomic_file.h, run_lock.h, senet/run_dir.h). Everything else is already
// the same on every rank: the weights, the optimizer state, every mask and count derived from them.
#pragma once
#include <string>
#include <vector>

#include "engine/data/loader.h"
#include "models/model.h"
#include "senet/config.h"

namespace senet {

// At the start of a command on several ranks: refuses a config that differs between ranks (names
// the first rank that differs) and a batch size that the world size does not divide; applies
// train.sync_batchnorm. On one rank: nothing.
void start_data_parallel(const RunConfig& cfg);

// The first rank whose `bytes` (a command line, a config) differ from rank 0's, compared by CRC-32
// across the ranks; -1 when every rank has the same. On one rank: -1.
int first_rank_unlike_rank0(const std::string& bytes, const char* what);

// This rank's slice of every batch of `loader` (before its first epoch).
void shard_loader(data::Loader& loader);

// Whether a file of the run exists, as rank 0 sees it, on every rank. Every decision "skip this
// stage, its result is there" goes through it: a rank asking fs::exists itself could see a file
// rank 0 has just written and take another path than rank 0 (a collective missing on one side).
bool run_file_exists(const std::string& path);

// v ← Σ over ranks (every rank passes the same length).
void sum_over_ranks(std::vector<double>& v, const char* what);

// Every rank stops when any rank's loss is non-finite: the error names the first such rank and
// `where` (the epoch loop's "stage epoch e step t"). On one rank: nothing (check_finite reports).
void check_loss_on_all_ranks(float loss, const std::string& where);

// Several ranks must hold the same value (a ReLU count, a fingerprint of the weights): an error
// naming `what` and the two extremes when they do not. On one rank: nothing.
void check_same_on_all_ranks(int64_t value, const std::string& what);

// With per-rank BatchNorm statistics (train.sync_batchnorm = false) each rank's running statistics
// follow its own slices: every f32 buffer of the model is replaced by its mean over the ranks (at
// each epoch's end and after a BN recalibration, before anything evaluates or saves them).
// Nothing with whole-batch statistics or on one rank (the buffers are identical already).
void average_bn_buffers_over_ranks(models::Model& model);

// After an epoch on several ranks: the weights (every parameter and BN running statistic) must be
// bit-identical on every rank — they took the same steps from the same averaged gradients. A CRC-32
// of them, compared across the ranks; an error naming `where` if they drifted apart.
void check_weights_agree(const models::Model& model, const std::string& where);

}  // namespace senet
