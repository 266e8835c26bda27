#pragma once
// One training step of a definition with its Clad gradient, as every Clad
// engine and fit takes it (the built-in engines of torchclad-train and
// torchclad-train-gw, Model::fit in memory and streamed): the batch's loss
// and gradient, the data-parallel average (dist::average_gradients; nothing
// in one process), frozen parameters' gradients zeroed, the fused
// optimizer's update of the flat parameters. A batch of one sample in one
// process with nothing frozen takes DefinedModel::fused_step when the
// definition allows it: the same step, its Linear weights updated in their
// pullbacks.
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "model/defined_model.hpp"
#include "optim/optimizers.hpp"

namespace torchclad::train {

class CladStep {
 public:
  // frozen: parameter names or layer prefixes (frozen_parameters.hpp).
  CladStep(DefinedModel& model, const OptimizerConfig& optimizer,
           const std::vector<std::string>& frozen = {});
  // x [n, inputs], y [n, target_width], w [n] loss factors or null; n may be
  // 0 (an empty data-parallel share). Returns the batch's loss.
  float operator()(const float* x, const float* y, const float* w, int n);
  FlatOptimizer& optimizer() { return *optimizer_; }

 private:
  DefinedModel& model_;
  std::unique_ptr<FlatOptimizer> optimizer_;
  std::vector<std::pair<int64_t, int64_t>> frozen_;
};

}  // namespace torchclad::train
