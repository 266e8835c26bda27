#pragma once
// Fine-tuning with frozen layers (TrainOptions::frozen): the parameters
// named there keep their values, because their gradient slices are zeroed
// before every optimizer step (Adam's and SGD's states then stay zero for
// them, so nothing moves them).
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "define/definition.hpp"

namespace torchclad::train {

// [offset, offset + numel) of every parameter whose name is an entry of
// `frozen` or starts with an entry followed by '.' ("fc1" freezes fc1.weight
// and fc1.bias). Throws std::invalid_argument for an entry that names no
// parameter, listing the parameters.
std::vector<std::pair<int64_t, int64_t>> frozen_ranges(const define::Definition& def,
                                                       const std::vector<std::string>& frozen);

inline void zero_frozen(float* grads, const std::vector<std::pair<int64_t, int64_t>>& ranges) {
  for (const auto& [begin, end] : ranges)
    for (int64_t i = begin; i < end; ++i) grads[i] = 0.0f;
}

}  // namespace torchclad::train
