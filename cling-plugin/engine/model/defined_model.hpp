#pragma once
// The model-level engine for any definition (define/definition.hpp): flat
// parameter and gradient buffers laid out by the definition, an activation
// buffer and its adjoint per batch size, and the definition's Clad gradient.
// A steady-state loss_and_grad() allocates nothing.
#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "define/definition.hpp"
#include "optim/optimizers.hpp"

namespace torchclad {

// Parameters initialised as the definition declares (ParamSpec::init), in
// declaration order from one generator seeded with `seed`: a Linear/Conv1d
// declared with the default init gets torch.nn's values for the same seed as
// the built-in MLP and CNN.
torch::Tensor init_defined_params(const define::Definition& def, uint64_t seed);

class DefinedModel {
 public:
  DefinedModel(std::shared_ptr<const define::Definition> def, uint64_t seed);

  const define::Definition& definition() const { return *def_; }
  const std::shared_ptr<const define::Definition>& definition_ptr() const { return def_; }
  torch::Tensor& params() { return params_; }
  // The gradient of the last loss_and_grad. It may be changed (averaged over
  // ranks, frozen parameters zeroed) before the optimizer reads it; update()
  // leaves it zero. Its storage holds dist::kStepTail floats past its end
  // (dist::average_gradients with the step's loss).
  torch::Tensor& grads() { return grads_; }

  // Mean loss of the batch and its gradient in grads() (overwritten: cleared
  // first, unless update() left it zero). x is
  // [n, inputs] row-major, y [n, target_width]; w (may be null) one weight
  // factor per sample, which the loss blocks of torchclad/nn.h read
  // (define/batch_weights.hpp): the loss is then (1/n) sum_i w_i l_i.
  // With at::get_num_threads() > 1
  // and a loss that is a mean over the batch (Definition::mean_over_batch)
  // the batch is split into parts computed in parallel, each part's gradient
  // weighted by its share. Throws std::runtime_error when the definition was
  // replaced or unloaded, and what the loss throws (from any part).
  float loss_and_grad(const float* x, const float* y, int n, const float* w = nullptr);
  // The optimizer's step on params() from grads(), clearing grads() in the
  // same pass (FlatOptimizer::step_and_clear): the next loss_and_grad then
  // accumulates into zeros without a pass of its own that clears them.
  void update(FlatOptimizer& optimizer);
  // Whether fused_step() can take a batch of n: one sample, and a definition
  // whose weights only their own layer reads (Definition::weights_read_once)
  // and that did not fail fused_step's check of it.
  bool fuses(int n) const { return n == 1 && def_->weights_read_once && fused_ != Fused::kRefused; }
  // loss_and_grad() then update() for a batch of one sample, with each Linear
  // weight updated in its layer's pullback (define/fused_weight_update.hpp):
  // its gradient is never written and read back. The same loss, parameters
  // and optimizer state to the bit. For a step with nothing between the two
  // (no gradient averaged over ranks, none zeroed for frozen parameters).
  // The model's first call takes a plain step that checks the definition's
  // promise: each weight's whole gradient is its layer's dy ⊗ x. If not (a
  // weight read by two layers, a loss term on a weight), it says so on
  // stderr once and its steps stay plain. A term that is exactly zero at that
  // step passes the check. Throws c10::Error unless weights_read_once.
  float fused_step(const float* x, const float* y, const float* w, FlatOptimizer& optimizer);
  // The same in float64 from float64 copies of the parameters (check_gradients).
  double loss_and_grad_double(const double* params, const double* x, const double* y, int n, double* d_params,
                              const double* w = nullptr);
  double loss_double(const double* params, const double* x, const double* y, int n,
                     const double* w = nullptr);

  // The definition's loss (forward only) and its output activation [n, width]
  // into `outputs` (may be null). With per-event weights [n] (defined), the
  // weighted mean sum(w l) / sum(w): each sample's factor is its weight over
  // the mean weight (throws if the weights do not sum to a positive number).
  // Chunked; allocates.
  double loss_and_outputs(const torch::Tensor& x, const torch::Tensor& y, torch::Tensor* outputs,
                          const torch::Tensor& weights = torch::Tensor());
  // Outputs [n, output_width] for x [n, inputs].
  torch::Tensor forward(const torch::Tensor& x);

 private:
  struct Workspace {
    std::vector<float> acts, d_acts;
  };
  Workspace& workspace(int n, int part);
  void check_alive() const;

  std::shared_ptr<const define::Definition> def_;
  torch::Tensor params_, grads_;
  std::vector<std::vector<float>> part_grads_;
  std::map<std::pair<int, int>, Workspace> workspaces_;  // (batch part size, part)
  bool grads_zero_ = true;
  enum class Fused {
    kUnchecked,
    kChecked,
    kRefused
  } fused_ = Fused::kUnchecked;  // grads_ holds zeros (made so, or cleared by update())
};

}  // namespace torchclad
