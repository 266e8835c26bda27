#pragma once
// A binary classification data set in memory (the gravitational-wave
// windows): one row of features per sample, a 0/1 target, and, where the
// data have it, the signal-to-noise ratio of each sample (0 for noise).
#include <torch/torch.h>

namespace torchclad::data {

struct BinarySplit {
  torch::Tensor x;        // float32 [n, features], contiguous
  torch::Tensor targets;  // float32 [n], 0 or 1
  torch::Tensor snr;      // float32 [n], or undefined when the data have none
};

}  // namespace torchclad::data
