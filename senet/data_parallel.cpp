// senet/data_parallel.cpp — see data_parallel.h.
#include "senet/data_parallel.h"

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "engine/core/error.h"
#include "engine/dist/comm.h"
#include "engine/dist/sync_bn.h"
#include "engine/io/crc32.h"

namespace senet {

void start_data_parallel(const RunConfig& cfg) {
  dist::set_sync_batchnorm(cfg.train.sync_batchnorm);
  dist::Comm& w = dist::world();
  const int K = w.size();
  if (K == 1) return;
  const int r = first_rank_unlike_rank0(to_json(cfg).dump(), "the config check at start");
  SENET_CHECK(r < 0, "rank ", r, " of ", K,
              " runs a different config than rank 0: every rank must run the same command with "
              "the same config files");
  SENET_CHECK(cfg.train.batch_size % K == 0, "train.batch_size ", cfg.train.batch_size,
              " is not divisible by the ", K,
              " ranks of this run: each rank takes an equal slice of every batch");
  if (dist::is_writer())
    std::fprintf(stderr,
                 "data-parallel: %d ranks (%s), %lld images per rank per step, %s BatchNorm\n", K,
                 w.backend(), (long long)(cfg.train.batch_size / K),
                 cfg.train.sync_batchnorm ? "whole-batch" : "per-rank");
}

int first_rank_unlike_rank0(const std::string& bytes, const char* what) {
  const int K = dist::world_size();
  if (K == 1) return -1;
  const int64_t mine = int64_t(io::crc32(bytes.data(), bytes.size()));
  std::vector<int64_t> all(static_cast<size_t>(K));
  dist::world().allgather(&mine, sizeof mine, all.data(), what);
  for (int r = 1; r < K; ++r)
    if (all[size_t(r)] != all[0]) return r;
  return -1;
}

bool run_file_exists(const std::string& path) {
  char there = std::filesystem::exists(path) ? 1 : 0;
  if (dist::world_size() > 1) dist::world().broadcast(&there, 1, 0, "checking for a run's file");
  return there != 0;
}

void shard_loader(data::Loader& loader) { loader.set_shard(dist::rank(), dist::world_size()); }

void sum_over_ranks(std::vector<double>& v, const char* what) {
  if (dist::world_size() > 1) dist::world().allreduce_sum(v.data(), int64_t(v.size()), what);
}

void check_loss_on_all_ranks(float loss, const std::string& where) {
  const int K = dist::world_size();
  if (K == 1) return;
  int64_t first_bad = std::isfinite(loss) ? K : dist::rank();
  dist::world().allreduce_min(&first_bad, 1, "the loss check");
  if (first_bad < K)
    fail(where, ": rank ", first_bad, " of ", K,
         " has a non-finite loss; stopping every rank (the last checkpoint is kept)");
}

void check_same_on_all_ranks(int64_t value, const std::string& what) {
  if (dist::world_size() == 1) return;
  int64_t v[2] = {value, -value};  // min and −max in one all-reduce
  dist::world().allreduce_min(v, 2, what.c_str());
  SENET_CHECK(v[0] == -v[1], "the ranks disagree on ", what, ": from ", v[0], " to ", -v[1],
              " (they should compute it from identical weights)");
}

void average_bn_buffers_over_ranks(models::Model& model) {
  const int K = dist::world_size();
  if (K == 1 || dist::sync_batchnorm()) return;
  for (const auto& [name, t] : model.named_buffers()) {
    if (!t.defined() || t.dtype() != DType::F32) continue;
    const std::vector<float> f = t.to_vector();
    std::vector<double> v(f.begin(), f.end());
    sum_over_ranks(v, "averaging the BatchNorm running statistics");
    std::vector<float> mean(v.size());
    for (size_t i = 0; i < v.size(); ++i) mean[i] = float(v[i] / K);
    Tensor(t).copy_(Tensor::from_vector(mean, t.shape()).to(t.device()));
  }
}

void check_weights_agree(const models::Model& model, const std::string& where) {
  if (dist::world_size() == 1) return;
  uint32_t crc = 0;
  auto add = [&](const std::vector<std::pair<std::string, Tensor>>& tensors) {
    for (const auto& [name, t] : tensors) {
      if (!t.defined() || t.dtype() != DType::F32) continue;
      const std::vector<float> v = t.to_vector();
      crc = io::crc32(v.data(), v.size() * sizeof(float), crc);
    }
  };
  add(model.named_parameters());
  add(model.named_buffers());
  check_same_on_all_ranks(int64_t(crc), "the weights' CRC-32 after " + where);
}

}  // namespace senet
