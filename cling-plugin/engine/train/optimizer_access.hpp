#pragma once
// How a checkpoint reads and restores an engine's optimizer state, whatever
// the optimizer: the flat optimizers (optim/optimizers.hpp) directly,
// torch::optim through train/torch_optim_state.hpp, both as FlatOptimizerState.
#include <functional>

#include "optim/optimizers.hpp"

namespace torchclad::train {

struct OptimizerAccess {
  std::function<FlatOptimizerState()> state;
  std::function<void(const FlatOptimizerState&)> load;
};

inline OptimizerAccess access_of(FlatOptimizer& opt) {
  return {[&opt] { return opt.state(); }, [&opt](const FlatOptimizerState& s) { opt.load_state(s); }};
}

}  // namespace torchclad::train
