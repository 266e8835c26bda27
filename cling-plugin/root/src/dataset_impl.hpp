#pragma once
// What the cell-facing datasets (torchclad.h's Dataset, cnn.h's
// BinaryDataset) hold: the engine's tensors. Private to libtorchclad_root;
// every part of the API that reads a dataset includes this.
#include <string>
#include <vector>

#include "data/binary.hpp"
#include "data/mnist.hpp"
#include "torchclad/cnn.h"
#include "torchclad/torchclad.h"

namespace torchclad {

struct Dataset::Impl {
  // split.images: features float32 [N, F]; split.labels: class labels int64 [N]
  // (for a regression dataset: zeros).
  data::MnistSplit split;
  // Regression targets float32 [N, T], or undefined for class labels.
  torch::Tensor targets;
  // Per-event weights float32 [N], or undefined (every weight 1).
  torch::Tensor weights;
  // A rank's shard of a training set (Distributed::shard): split and targets
  // hold rows [shard_begin, shard_begin + rows) of shard_total, weights (if
  // any) the weights of all shard_total rows. shard_total 0: a whole set.
  int64_t shard_begin = 0, shard_total = 0;
  // One name per feature ("m_jj", "jet_pt[2]", src/feature_names.hpp), from
  // the reader; empty: unknown (IDX files, datasets from C++ vectors).
  std::vector<std::string> feature_names;
};

struct BinaryDataset::Impl {
  data::BinarySplit split;
};

}  // namespace torchclad
