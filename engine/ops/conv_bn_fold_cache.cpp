// engine/ops/conv_bn_fold_cache.cpp — see conv_bn_fold_cache.h.
#include "engine/ops/conv_bn_fold_cache.h"

#include <cstring>
#include <map>
#include <mutex>
#include <vector>

namespace senet {
namespace {

constexpr size_t kMaxEntries = 4096;

// (storage id, byte offset, numel, version) of each input, and ε's bits.
std::vector<uint64_t> versions_of(const Tensor& w, const Tensor& gamma, const Tensor& beta,
                                  const BatchNormState& st) {
  std::vector<uint64_t> key;
  for (const Tensor* t : {&w, &gamma, &beta, &st.running_mean, &st.running_var}) {
    key.push_back(t->storage_id());
    key.push_back(uint64_t(t->impl().offset));
    key.push_back(uint64_t(t->numel()));
    key.push_back(t->storage_version());
  }
  uint32_t eps_bits;
  std::memcpy(&eps_bits, &st.eps, sizeof eps_bits);
  key.push_back(eps_bits);
  return key;
}

struct Entry {
  std::vector<uint64_t> versions;
  FoldedConvBn folded;
};

struct Cache {
  std::mutex mu;
  std::map<std::pair<uint64_t, uint64_t>, Entry> entries;  // (w's storage id, offset) → entry
  FoldCacheStats stats;
};
Cache& cache() {
  static Cache* c = new Cache;  // never destroyed: CUDA tensors may outlive static destructors
  return *c;
}

}  // namespace

FoldedConvBn folded_conv_bn(const Tensor& w, const Tensor& gamma, const Tensor& beta,
                            const BatchNormState& st, const std::function<FoldedConvBn()>& fold) {
  const std::vector<uint64_t> key = versions_of(w, gamma, beta, st);
  const std::pair<uint64_t, uint64_t> layer{w.storage_id(), uint64_t(w.impl().offset)};
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mu);
    auto it = c.entries.find(layer);
    if (it != c.entries.end() && it->second.versions == key) {
      ++c.stats.hits;
      return it->second.folded;
    }
  }
  FoldedConvBn f = fold();  // outside the lock: it may launch kernels
  std::lock_guard<std::mutex> lock(c.mu);
  ++c.stats.misses;
  if (c.entries.size() >= kMaxEntries && !c.entries.count(layer)) c.entries.clear();
  c.entries[layer] = Entry{key, f};
  return f;
}

FoldCacheStats fold_cache_stats() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  FoldCacheStats s = c.stats;
  s.entries = int64_t(c.entries.size());
  return s;
}

void clear_fold_cache() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.entries.clear();
}

}  // namespace senet
