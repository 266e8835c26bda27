#pragma once
// Optimizers for the model-level engine: one fused loop over the flat
// parameter and gradient buffers, updating parameters in place, with the
// state allocated once at construction. Same arithmetic as torch.optim.SGD
// (dampening 0) and torch.optim.Adam, so engines stay comparable; the
// autograd-based engines use torch::optim itself (make_torch_optimizer).
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

namespace torchclad {

struct OptimizerConfig {
  std::string kind = "adam";  // "sgd" or "adam"
  double lr = 1e-3;
  double momentum = 0.9;                          // sgd
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;  // adam
  double weight_decay = 0.0;
};

// What a checkpoint keeps of an optimizer: its step count and its buffers
// (SGD: the momentum; Adam: the two moments), each of n values.
struct FlatOptimizerState {
  int64_t steps = 0;
  std::vector<std::vector<float>> buffers;
};

class FlatOptimizer {
 public:
  virtual ~FlatOptimizer() = default;
  // params[i] updated from grads[i], i < n (n as given at construction).
  virtual void step(float* params, const float* grads) = 0;
  virtual FlatOptimizerState state() const = 0;
  // Throws c10::Error when the state's buffers do not match this optimizer's.
  virtual void load_state(const FlatOptimizerState& state) = 0;
  // The same update, in the same pass writing grads[i] = 0 once read: a
  // gradient that is accumulated into (DefinedModel::loss_and_grad) then
  // needs no pass of its own to clear it before the next step. The
  // parameters and the state get exactly what step() gives them.
  virtual void step_and_clear(float* params, float* grads) = 0;

  // step_and_clear() in parts, for a step that updates some weights where
  // their gradient is made (DefinedModel::fused_step, batch 1): begin_step()
  // once, then update_outer() for each such weight and
  // update_range_and_clear() for the other ranges of parameters. Together
  // they give step_and_clear()'s parameters and state to the bit.
  virtual void begin_step() = 0;
  // Parameters [begin, end) from grads[begin, end), zeroed once read.
  virtual void update_range_and_clear(float* params, float* grads, int64_t begin, int64_t end) = 0;
  // The weight params[offset, offset + out·in), [out, in] row-major, whose
  // gradient is dy ⊗ x: row j's is dy[j]·x.
  virtual void update_outer(float* params, int64_t offset, const float* dy, const float* x, int out,
                            int in) = 0;
};

// Throws c10::Error for an unknown kind or a non-positive lr.
std::unique_ptr<FlatOptimizer> make_flat_optimizer(const OptimizerConfig& config, int64_t n);
std::unique_ptr<torch::optim::Optimizer> make_torch_optimizer(const OptimizerConfig& config,
                                                              std::vector<torch::Tensor> params);

}  // namespace torchclad
