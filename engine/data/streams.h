// engine/data/streams.h — which Philox stream each random decision of the data code uses.
// Every random choice is rand_*(seed, stream, index) from engine/core/rng.h, so it is a pure
// function of its address and never of thread timing. Streams are kept apart here, in one place:
//   shuffle of epoch e          stream e                index i of the Fisher–Yates step
//   augmentation of epoch e     kAugmentBit | e         3·position + {0: dy, 1: dx, 2: flip}
//   train/val split             kSplitStream            Fisher–Yates step
//   synthetic data              kSynthetic* streams     image / pixel counters
#pragma once
#include <cstdint>

namespace senet::data {

inline constexpr uint64_t kAugmentBit = uint64_t(1) << 62;
inline constexpr uint64_t kSplitStream = uint64_t(1) << 61;
inline constexpr uint64_t kSyntheticLabel = (uint64_t(1) << 60) + 0;
inline constexpr uint64_t kSyntheticJitter = (uint64_t(1) << 60) + 1;
inline constexpr uint64_t kSyntheticNoise = (uint64_t(1) << 60) + 2;
inline constexpr uint64_t kSyntheticTint = (uint64_t(1) << 60) + 3;

inline uint64_t shuffle_stream(int64_t epoch) { return uint64_t(epoch); }
inline uint64_t augment_stream(int64_t epoch) { return kAugmentBit | uint64_t(epoch); }

}  // namespace senet::data
