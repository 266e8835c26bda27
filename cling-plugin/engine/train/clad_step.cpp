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
  const torch::Tensor& g = model_.grads();
  // The allreduce writes the loss and stop request past the gradients: their
  // storage must hold the tail (DefinedModel makes it so; a grads() replaced
  // by other code would not).
  TORCH_CHECK(!dist::distributed() ||
                  g.storage().nbytes() >=
                      static_cast<size_t>(g.storage_offset() + g.numel() + dist::kStepTail) * sizeof(float),
              "CladStep: the gradient buffer of model '", model_.definition().name, "' has no room for the ",
              dist::kStepTail, " floats the data-parallel allreduce carries after its ", g.numel(),
              " gradients");
  float* grads = g.data_ptr<float>();
  dist::average_gradients(grads, g.numel(), loss);
  zero_frozen(grads, frozen_);
  model_.update(*optimizer_);  // the step, and the gradient cleared for the next
  return loss;
}

}  // namespace torchclad::train
