// engine/data/loader.h — mini-batches of a Dataset, prepared on a background thread.
// Double buffering: while the caller trains on batch b, the worker thread fills b+1 (at most two
// ready batches wait). Determinism rule: epoch e visits rows in seeded_permutation(n, seed, e)
// order (identity without shuffle) and the augmentation of position p is draw_augment(seed, e, p),
// so batch b of epoch e is the same whatever was read before, whatever the thread timing:
// start_epoch(e, b) resumes exactly. An exception on the worker is re-thrown by next().
// The Loader keeps a reference to the Dataset: it must outlive the Loader and not change while an
// epoch is being read.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "engine/core/tensor.h"
#include "engine/data/augment.h"
#include "engine/data/dataset.h"
#include "engine/data/normalize.h"

namespace senet::data {

struct Batch {
  int64_t n = 0;        // samples in this batch (this process's slice of it: Loader::set_shard)
  int64_t whole_n = 0;  // samples in the whole batch, over every process's slice
  int c = 0, h = 0, w = 0;
  std::vector<float> x;        // n×c×h×w (NCHW), normalised
  std::vector<int32_t> y;      // n labels
  std::vector<int64_t> index;  // n dataset rows the samples came from
  // Optional: x and y already on a device — fixed tensors refilled in place before each replay of
  // a training step recorded as a CUDA graph (senet/epoch_loop.h); the step bodies use them
  // instead of uploading x and y (senet/trainer.h batch_images). The loader leaves them empty.
  Tensor x_on_device, y_on_device;
};

class Loader {
 public:
  Loader(const Dataset& d, int64_t batch_size, bool shuffle, bool drop_last, Augment aug,
         Normalize norm, uint64_t seed);
  Loader(Dataset&&, int64_t, bool, bool, Augment, Normalize, uint64_t) = delete;  // would dangle
  ~Loader();  // stops and joins the worker, also mid-epoch
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  int64_t batches_per_epoch() const;
  // Data-parallel runs (engine/dist/comm.h): this process makes only slice `rank` of `count` of
  // every batch, [n·rank/count, n·(rank+1)/count) of its n positions; the slices of all ranks are
  // the batch a single process makes (same rows, same augmentation). Before the first epoch.
  void set_shard(int rank, int count);
  // Begin epoch `epoch` at batch `first_batch` (0 <= first_batch <= batches_per_epoch()).
  // Batches still queued from an earlier epoch are dropped.
  void start_epoch(int64_t epoch, int64_t first_batch = 0);
  // The next batch of the current epoch into `out` (its buffers are reused); false at the epoch
  // end. Calling next() before any start_epoch starts epoch 0. If preparing the batch threw, the
  // exception is re-thrown here and the epoch ends (later calls return false).
  bool next(Batch& out);

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace senet::data
