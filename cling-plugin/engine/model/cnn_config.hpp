#pragma once
// The shape of a 1D convolutional binary classifier (the gravitational-wave
// workload): blocks of Conv1d (stride 1, no padding) -> ReLU -> MaxPool1d
// (kernel = stride = pool), then Linear -> ReLU -> Linear to one logit,
// trained with binary cross-entropy on that logit.
#include <cstdint>
#include <vector>

namespace torchclad {

struct ConvBlockConfig {
  int channels = 8;  // output channels of the block's Conv1d
  int kernel = 16;   // Conv1d kernel size
  int pool = 4;      // MaxPool1d kernel size and stride
};

struct CnnConfig {
  int input_length = 2048;  // samples per window (one input channel)
  std::vector<ConvBlockConfig> blocks{{8, 16, 4}, {16, 8, 4}, {32, 8, 4}};
  int hidden = 64;  // width of the hidden Linear layer
};

}  // namespace torchclad
