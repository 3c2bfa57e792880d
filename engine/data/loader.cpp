// engine/data/loader.cpp — one worker thread, a mutex, a condition variable and a small queue.
// The worker makes batches in order next_to_make, next_to_make+1, ... while fewer than kDepth are
// ready. start_epoch bumps `generation`; a batch the worker finishes for an old generation is
// dropped, so a restart never mixes epochs. Batch contents depend only on (seed, epoch, batch).
#include "engine/data/loader.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <numeric>
#include <system_error>
#include <thread>
#include <utility>

#include "engine/core/error.h"
#include "engine/data/permutation.h"
#include "engine/data/streams.h"

namespace senet::data {
namespace {
constexpr size_t kDepth = 2;  // ready batches kept ahead of the caller
}

struct Loader::State {
  const Dataset& d;
  int64_t batch_size;
  bool shuffle, drop_last;
  int shard_rank = 0, shard_count = 1;  // this process's slice of every batch (set_shard)
  Augment aug;
  uint64_t seed;
  std::vector<float> scale, shift;  // per channel: byte*scale + shift = (byte/255 − mean)/std

  struct Slot {
    Batch batch;
    std::exception_ptr error;
  };
  std::mutex mu;
  std::condition_variable cv;
  bool stop = false, started = false;
  uint64_t generation = 0;
  int64_t epoch = 0, next_to_make = 0, next_to_take = 0, end = 0;
  std::shared_ptr<const std::vector<int64_t>> order;  // row of each position in this epoch
  std::deque<Slot> ready;
  std::vector<Batch> spare;  // buffers handed back by next(), reused by the worker
  std::thread worker;

  State(const Dataset& ds, int64_t bs, bool sh, bool dl, Augment a, uint64_t sd)
      : d(ds), batch_size(bs), shuffle(sh), drop_last(dl), aug(a), seed(sd) {}

  int64_t batches() const {
    return drop_last ? d.n / batch_size : (d.n + batch_size - 1) / batch_size;
  }

  void make_batch(int64_t e, int64_t b, const std::vector<int64_t>& rows, Batch& out) const {
    // The whole batch is positions [b·B, b·B + n) of the epoch's order; this process takes the
    // slice [n·r/K, n·(r+1)/K) of it. Position p keeps its augmentation draw (seed, e, p), so the K
    // slices together are exactly the batch one process would make.
    const int64_t whole = std::min(batch_size, d.n - b * batch_size);
    const int64_t first = b * batch_size + whole * shard_rank / shard_count;
    const int64_t n = b * batch_size + whole * (shard_rank + 1) / shard_count - first;
    const int64_t size = image_size(d);
    out.n = n;
    out.whole_n = whole;
    out.c = d.c;
    out.h = d.h;
    out.w = d.w;
    out.x.resize(size_t(n * size));
    out.y.resize(size_t(n));
    out.index.resize(size_t(n));
    for (int64_t j = 0; j < n; ++j) {
      const int64_t row = rows[size_t(first + j)];
      const int32_t label = d.labels[size_t(row)];
      SENET_CHECK(label >= 0 && label < d.num_classes, "Loader: dataset '", d.name, "' row ", row,
                  ": label ", label, " outside [0, ", d.num_classes, ")");
      const AugmentDraw draw = draw_augment(aug, seed, e, first + j);
      write_sample(d.pixels.data() + row * size, d.c, d.h, d.w, aug.crop_pad, draw, scale.data(),
                   shift.data(), out.x.data() + j * size);
      out.y[size_t(j)] = label;
      out.index[size_t(j)] = row;
    }
  }

  void run() {
    std::unique_lock<std::mutex> lock(mu);
    while (true) {
      cv.wait(lock, [&] { return stop || (next_to_make < end && ready.size() < kDepth); });
      if (stop) return;
      const int64_t b = next_to_make++, e = epoch;
      const uint64_t gen = generation;
      const auto rows = order;
      Slot slot;
      if (!spare.empty()) {
        slot.batch = std::move(spare.back());
        spare.pop_back();
      }
      lock.unlock();
      try {
        make_batch(e, b, *rows, slot.batch);
      } catch (...) {
        slot.error = std::current_exception();
      }
      lock.lock();
      if (gen != generation) continue;  // the epoch was restarted meanwhile: drop this batch
      if (slot.error) next_to_make = end;
      ready.push_back(std::move(slot));
      cv.notify_all();
    }
  }
};

Loader::Loader(const Dataset& d, int64_t batch_size, bool shuffle, bool drop_last, Augment aug,
               Normalize norm, uint64_t seed)
    : s_(std::make_unique<State>(d, batch_size, shuffle, drop_last, aug, seed)) {
  check_dataset(d);
  SENET_CHECK(batch_size > 0, "Loader: batch_size must be positive, got ", batch_size);
  SENET_CHECK(aug.crop_pad >= 0, "Loader: crop_pad must be >= 0, got ", aug.crop_pad);
  s_->scale.resize(size_t(d.c));
  s_->shift.resize(size_t(d.c));
  normalize_affine(norm, d.c, s_->scale.data(), s_->shift.data());
  try {
    s_->worker = std::thread([s = s_.get()] { s->run(); });
  } catch (const std::system_error& e) {  // e.g. no address space left for the thread's stack
    fail("Loader: cannot start the data loading thread for '", d.name, "': ", e.what(),
         " (out of memory or over the thread limit: raise ulimit -v / -u)");
  }
}

Loader::~Loader() {
  {
    std::lock_guard<std::mutex> lock(s_->mu);
    s_->stop = true;
  }
  s_->cv.notify_all();
  s_->worker.join();
}

int64_t Loader::batches_per_epoch() const { return s_->batches(); }

void Loader::set_shard(int rank, int count) {
  SENET_CHECK(count >= 1 && rank >= 0 && rank < count, "Loader::set_shard: rank ", rank,
              " outside [0, ", count, ")");
  std::lock_guard<std::mutex> lock(s_->mu);
  SENET_CHECK(!s_->started, "Loader::set_shard: call it before the first epoch starts");
  s_->shard_rank = rank;
  s_->shard_count = count;
}

void Loader::start_epoch(int64_t epoch, int64_t first_batch) {
  State& s = *s_;
  const int64_t total = s.batches();
  SENET_CHECK(epoch >= 0, "Loader::start_epoch: epoch must be >= 0, got ", epoch);
  SENET_CHECK(first_batch >= 0 && first_batch <= total,
              "Loader::start_epoch: first_batch = ", first_batch, " outside [0, ", total, "] for '",
              s.d.name, "'");
  std::shared_ptr<const std::vector<int64_t>> rows;
  if (s.shuffle) {
    rows = std::make_shared<const std::vector<int64_t>>(
        seeded_permutation(s.d.n, s.seed, shuffle_stream(epoch)));
  } else {
    auto identity = std::make_shared<std::vector<int64_t>>(size_t(s.d.n));
    std::iota(identity->begin(), identity->end(), int64_t(0));
    rows = std::move(identity);
  }
  {
    std::lock_guard<std::mutex> lock(s.mu);
    ++s.generation;
    s.started = true;
    s.epoch = epoch;
    s.order = std::move(rows);
    s.next_to_make = s.next_to_take = first_batch;
    s.end = total;
    for (auto& slot : s.ready) s.spare.push_back(std::move(slot.batch));
    s.ready.clear();
  }
  s.cv.notify_all();
}

bool Loader::next(Batch& out) {
  State& s = *s_;
  bool started;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    started = s.started;
  }
  if (!started) start_epoch(0);
  std::unique_lock<std::mutex> lock(s.mu);
  if (s.next_to_take >= s.end) return false;
  s.cv.wait(lock, [&] { return !s.ready.empty(); });
  State::Slot slot = std::move(s.ready.front());
  s.ready.pop_front();
  ++s.next_to_take;
  if (slot.error) {  // end the epoch, then hand the worker's exception to the caller
    s.next_to_take = s.next_to_make = s.end;
    s.ready.clear();
    lock.unlock();
    s.cv.notify_all();
    std::rethrow_exception(slot.error);
  }
  std::swap(out, slot.batch);
  if (s.spare.size() < kDepth) s.spare.push_back(std::move(slot.batch));
  lock.unlock();
  s.cv.notify_all();
  return true;
}

}  // namespace senet::data
