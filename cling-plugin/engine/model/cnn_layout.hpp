#pragma once
// Where each layer's parameters and activations live in the CNN model-level
// engine's flat buffers: the offset table that kernels/cnn.hpp reads
// (kCnnTableSize ints), computed once per batch size.
#include <cstdint>
#include <vector>

#include "model/cnn_config.hpp"

namespace torchclad::model {

struct CnnLayout {
  std::vector<int> table;  // kernels::kCnnTableSize entries (kernels/cnn.hpp)
  int blocks = 0;
  int batch = 0;
  int input_length = 0;
  int features = 0;  // flattened width after the last block
  int hidden = 0;
  int64_t param_count = 0;
  int64_t act_count = 0;

  // Field f (kernels::kCnn*) of block b.
  int block(int b, int f) const;
  // Throws c10::Error for 0 or more than kMaxCnnBlocks blocks, a non-positive
  // size, blocks that shrink the signal to nothing, a batch < 1, or buffers
  // past the int range the kernels index with.
  static CnnLayout make(const CnnConfig& config, int64_t batch);
};

}  // namespace torchclad::model
