#include "train/clad_step.hpp"

#include "dist/communicator.hpp"
#include "dist/data_parallel.hpp"
#include "train/frozen_parameters.hpp"

namespace torchclad::train {

CladStep::CladStep(DefinedModel& model, const OptimizerConfig& optimizer,
                   const std::vector<std::string>& frozen)
    : model_(model),
      optimizer_(make_flat_optimizer(optimizer, model.params().numel())),
      frozen_(frozen_ranges(model.definition(), frozen)) {}

float CladStep::operator()(const float* x, const float* y, const float* w, int n) {
  // One sample in one process with nothing frozen: the weights updated in their pullbacks.
  if (model_.fuses(n) && frozen_.empty() && !dist::distributed())
    return model_.fused_step(x, y, w, *optimizer_);
  const float loss = n ? model_.loss_and_grad(x, y, n, w) : 0.0f;
  float* grads = model_.grads().data_ptr<float>();
  dist::average_gradients(grads, model_.grads().numel(), loss);  // grads() has the tail for the loss
  zero_frozen(grads, frozen_);
  model_.update(*optimizer_);  // the step, and the gradient cleared for the next
  return loss;
}

}  // namespace torchclad::train
