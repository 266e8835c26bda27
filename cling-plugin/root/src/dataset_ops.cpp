// torchclad.h's Dataset: what it holds beyond features and labels, concat
// and the seeded train/test split (neither takes a rank's shard,
// Distributed::shard: split the whole set first, then shard its training side).
#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <stdexcept>

#include "dataset_impl.hpp"
#include "feature_names.hpp"
#include "torchclad/torchclad.h"

namespace torchclad {
namespace {

std::string describe_targets(const Dataset& d) {
  return d.targets() == 0 ? "class labels" : std::to_string(d.targets()) + " regression targets";
}

Dataset rows_of(const Dataset::Impl& d, const std::vector<int64_t>& rows) {
  const auto index = torch::tensor(rows, torch::kInt64);
  Dataset::Impl out{{d.split.images.index_select(0, index), d.split.labels.index_select(0, index)},
                    d.targets.defined() ? d.targets.index_select(0, index) : torch::Tensor(),
                    d.weights.defined() ? d.weights.index_select(0, index) : torch::Tensor()};
  out.feature_names = d.feature_names;
  return Dataset(std::make_shared<Dataset::Impl>(std::move(out)));
}

// An unbiased index in [0, n) from a 64-bit draw (the same on every platform,
// unlike std::uniform_int_distribution).
uint64_t below(std::mt19937_64& rng, uint64_t n) {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(rng()) * n) >> 64);
}

// A rank's shard (torchclad/distributed.h) is one rank's rows of a training
// set: splitting it would give each rank a test set of its own, and
// concatenating shards would mix rows of different ranks' sets.
void refuse_shard(const Dataset::Impl& d, const std::string& where, const std::string& what) {
  if (d.shard_total == 0) return;
  throw std::runtime_error(
      where + ": " + what + " is a rank's shard (rows [" + std::to_string(d.shard_begin) + ", " +
      std::to_string(d.shard_begin + d.split.images.size(0)) + ") of " + std::to_string(d.shard_total) +
      ", from Distributed::shard), which only Model::fit takes as its training set; " +
      "concat and split the whole dataset first, then shard the training side: " +
      "auto [train, test] = whole.split(0.2); model.fit(mpi.shard(train), test, o)");
}

}  // namespace

int Dataset::targets() const {
  return impl()->targets.defined() ? static_cast<int>(impl()->targets.size(1)) : 0;
}

bool Dataset::has_weights() const { return impl()->weights.defined(); }

std::vector<std::string> Dataset::feature_names() const { return impl()->feature_names; }

Dataset Dataset::concat(const std::vector<Dataset>& datasets) {
  const std::string where = "Dataset::concat";
  if (datasets.empty()) throw std::runtime_error(where + ": no datasets given; expected at least one");
  const Dataset& first = datasets.front();
  bool weighted = false;
  for (size_t i = 0; i < datasets.size(); ++i) {
    const Dataset& d = datasets[i];
    if (!d.impl()) throw std::runtime_error(where + ": dataset " + std::to_string(i) + " is empty (no data)");
    refuse_shard(*d.impl(), where, "dataset " + std::to_string(i));
    if (d.features() != first.features())
      throw std::runtime_error(where + ": dataset " + std::to_string(i) + " has " +
                               std::to_string(d.features()) + " features per row; expected " +
                               std::to_string(first.features()) + " as dataset 0");
    if (d.targets() != first.targets())
      throw std::runtime_error(where + ": dataset " + std::to_string(i) + " has " + describe_targets(d) +
                               "; expected " + describe_targets(first) + " as dataset 0");
    weighted = weighted || d.has_weights();
  }
  // Names where known; two known lists must agree (jet_pt[:2] rows below
  // trk_pt[:2] rows would train on neither).
  std::vector<std::string> names;
  size_t named = 0;
  for (size_t i = 0; i < datasets.size(); ++i) {
    const auto& n = datasets[i].impl()->feature_names;
    if (n.empty()) continue;
    if (names.empty()) {
      names = n;
      named = i;
      continue;
    }
    check_feature_names(names, n, where, "dataset " + std::to_string(named) + " has the features",
                        "dataset " + std::to_string(i) + " has the features",
                        "concatenate datasets of the same columns in the same order");
  }
  std::vector<torch::Tensor> images, labels, targets, weights;
  for (const Dataset& d : datasets) {
    const Impl& p = *d.impl();
    images.push_back(p.split.images);
    labels.push_back(p.split.labels);
    if (p.targets.defined()) targets.push_back(p.targets);
    // Rows without weights weigh 1 (what undefined weights mean).
    if (weighted)
      weights.push_back(p.weights.defined() ? p.weights : torch::ones({d.size()}, torch::kFloat32));
  }
  Impl out{{torch::cat(images), torch::cat(labels)},
           targets.empty() ? torch::Tensor() : torch::cat(targets),
           weighted ? torch::cat(weights) : torch::Tensor()};
  out.feature_names = names;
  return Dataset(std::make_shared<Impl>(std::move(out)));
}

std::pair<Dataset, Dataset> Dataset::split(double test_fraction, unsigned long long seed,
                                           bool stratify) const {
  const std::string where = "Dataset::split";
  if (!(test_fraction > 0 && test_fraction < 1))
    throw std::runtime_error(where + ": test_fraction must lie in (0, 1), found " +
                             std::to_string(test_fraction));
  refuse_shard(*impl(), where, "the dataset");
  // Groups of rows that are split separately: one per class when stratified.
  std::map<int64_t, std::vector<int64_t>> groups;
  const auto labels = impl()->split.labels.contiguous();
  const int64_t* y = labels.data_ptr<int64_t>();
  const bool by_class = stratify && targets() == 0;
  for (int64_t i = 0; i < size(); ++i) groups[by_class ? y[i] : 0].push_back(i);

  std::mt19937_64 rng(seed);
  std::vector<int64_t> train, test;
  for (auto& [label, rows] : groups) {
    for (size_t i = rows.size(); i > 1; --i) std::swap(rows[i - 1], rows[below(rng, i)]);
    const auto n_test = static_cast<size_t>(std::llround(test_fraction * static_cast<double>(rows.size())));
    test.insert(test.end(), rows.begin(), rows.begin() + n_test);
    train.insert(train.end(), rows.begin() + n_test, rows.end());
  }
  if (test.empty() || train.empty())
    throw std::runtime_error(where + ": a test fraction of " + std::to_string(test_fraction) + " of " +
                             std::to_string(size()) + " rows leaves the " +
                             (test.empty() ? "test" : "training") + " set empty");
  // Rows keep their order within each side (training shuffles per epoch anyway).
  std::sort(train.begin(), train.end());
  std::sort(test.begin(), test.end());
  return {rows_of(*impl(), train), rows_of(*impl(), test)};
}

}  // namespace torchclad
