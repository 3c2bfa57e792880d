// senet/config_choices.h — the string choices of a run's config as enums, each with its one
// spelling (engine/core/enum_names.h): the config reads and writes these names, the code compares
// enum values, and a misspelt choice is an error listing the names ("expected cpu or cuda").
#pragma once
#include <string_view>
#include <utility>

#include "engine/core/enum_names.h"

namespace senet {

enum class DatasetKind { FashionMnist, Cifar10, Cifar100, TinyImagenet, Synthetic };
enum class OptimizerKind { Sgd, Adam };
enum class Schedule { Cosine, Multistep, Constant };
// The pipeline's method: SENet or a baseline/ablation of docs/method.md §Baselines.
enum class Method { Senet, Snl, Uniform, RandomMasks, NoPram };
enum class Granularity { Pixel, Channel };  // a mask per position, or per channel
enum class StudentInit { Teacher, Random };
enum class PramSites { StageEnds, All };
enum class MaskLearner { Distance, Ste };  // top-r of Σ|A_T − A_S| | learned scores
enum class InitialMask { Random, HwPattern };
enum class SnlBinarize { Threshold, TopBudget };

template <>
struct EnumNames<DatasetKind> {
  static constexpr std::pair<DatasetKind, std::string_view> table[] = {
      {DatasetKind::FashionMnist, "fashion-mnist"},
      {DatasetKind::Cifar10, "cifar10"},
      {DatasetKind::Cifar100, "cifar100"},
      {DatasetKind::TinyImagenet, "tiny-imagenet"},
      {DatasetKind::Synthetic, "synthetic"}};
};
template <>
struct EnumNames<OptimizerKind> {
  static constexpr std::pair<OptimizerKind, std::string_view> table[] = {
      {OptimizerKind::Sgd, "sgd"}, {OptimizerKind::Adam, "adam"}};
};
template <>
struct EnumNames<Schedule> {
  static constexpr std::pair<Schedule, std::string_view> table[] = {
      {Schedule::Cosine, "cosine"},
      {Schedule::Multistep, "multistep"},
      {Schedule::Constant, "constant"}};
};
template <>
struct EnumNames<Method> {
  static constexpr std::pair<Method, std::string_view> table[] = {
      {Method::Senet, "senet"},
      {Method::Snl, "snl"},
      {Method::Uniform, "uniform"},
      {Method::RandomMasks, "random_masks"},
      {Method::NoPram, "no_pram"}};
};
template <>
struct EnumNames<Granularity> {
  static constexpr std::pair<Granularity, std::string_view> table[] = {
      {Granularity::Pixel, "pixel"}, {Granularity::Channel, "channel"}};
};
template <>
struct EnumNames<StudentInit> {
  static constexpr std::pair<StudentInit, std::string_view> table[] = {
      {StudentInit::Teacher, "teacher"}, {StudentInit::Random, "random"}};
};
template <>
struct EnumNames<PramSites> {
  static constexpr std::pair<PramSites, std::string_view> table[] = {
      {PramSites::StageEnds, "stage_ends"}, {PramSites::All, "all"}};
};
template <>
struct EnumNames<MaskLearner> {
  static constexpr std::pair<MaskLearner, std::string_view> table[] = {
      {MaskLearner::Distance, "distance"}, {MaskLearner::Ste, "ste"}};
};
template <>
struct EnumNames<InitialMask> {
  static constexpr std::pair<InitialMask, std::string_view> table[] = {
      {InitialMask::Random, "random"}, {InitialMask::HwPattern, "hw_pattern"}};
};
template <>
struct EnumNames<SnlBinarize> {
  static constexpr std::pair<SnlBinarize, std::string_view> table[] = {
      {SnlBinarize::Threshold, "threshold"}, {SnlBinarize::TopBudget, "top_budget"}};
};

}  // namespace senet
