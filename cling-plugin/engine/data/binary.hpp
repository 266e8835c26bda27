#pragma once
// A binary classification data set in memory (the gravitational-wave
// windows): one row of features per sample, a 0/1 target, and, where the
// data have it, the signal-to-noise ratio of each sample (0 for noise).
#include <torch/torch.h>

#include <vector>

namespace torchclad::data {

struct BinarySplit {
  torch::Tensor x;        // float32 [n, features], contiguous
  torch::Tensor targets;  // float32 [n], 0 or 1
  torch::Tensor snr;      // float32 [n], or undefined when the data have none
  // A rank's shard (data-parallel, dist/row_shards.hpp): the rows are
  // [begin, begin + n) of the first `total` of the split. total 0: the whole split.
  int64_t begin = 0, total = 0;
};

// The targets as the 0/1 labels the detection metrics take.
inline std::vector<int> binary_labels(const torch::Tensor& targets) {
  const auto t = targets.to(torch::kFloat32).contiguous();
  const float* v = t.data_ptr<float>();
  std::vector<int> labels(t.numel());
  for (size_t i = 0; i < labels.size(); ++i) labels[i] = v[i] > 0.5f;
  return labels;
}

}  // namespace torchclad::data
