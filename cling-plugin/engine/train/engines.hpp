#pragma once
// The four ways torchclad can take one MLP training step, behind one
// interface so the trainer and the benchmark drive them alike:
//   clad-model       the Mlp's definition (model/mlp_definition.hpp) in DefinedModel:
//                    Clad's gradient of the whole model + fused flat optimizer
//   clad-model-node  the same gradient through its autograd node (torchclad::model_loss)
//   clad-ops         op-level: torchclad::linear/activation/cross_entropy nodes + torch::optim
//   autograd         LibTorch's own ops and autograd + torch::optim (the baseline)
// Each keeps its parameters in one flat buffer laid out by the definition,
// initialised as the definition declares from the seed: a seed gives every
// engine the same initial weights, and any engine's result is the
// definition's parameters (for Model, save, predict). Any depth.
// Data-parallel (train/run_loop.hpp), every engine sums its gradients over
// the ranks (dist::average_gradients, one allreduce over one flat buffer)
// between backward and the optimizer step, and takes a batch of 0 samples
// (a rank's empty share of a last, partial global batch).
#include <torch/torch.h>

#include "model/defined_model.hpp"

#include <memory>
#include <string>
#include <vector>

#include "model/mlp_definition.hpp"
#include "ops/activation.hpp"  // parse_activation, activation_name for the engines' users
#include "optim/optimizers.hpp"
#include "train/optimizer_access.hpp"

namespace torchclad::train {

// One batch, as every engine reads it: x [batch, in] float32 contiguous,
// labels both as int32 (for the kernels) and int64 (for LibTorch).
struct Batch {
  const float* x = nullptr;
  const int32_t* labels32 = nullptr;
  const int64_t* labels64 = nullptr;
  int size = 0;
};

class MlpEngine {
 public:
  virtual ~MlpEngine() = default;
  virtual const char* name() const = 0;
  // forward + loss + backward + optimizer update; returns the batch's mean loss.
  virtual float step(const Batch& batch) = 0;
  // Logits [n, out] for x [n, in], without gradient.
  virtual torch::Tensor logits(const torch::Tensor& x) = 0;
  // The parameters, flat in the definition's layout (ParamSpec::offset).
  virtual torch::Tensor params() = 0;
  virtual const define::Definition& definition() const = 0;
  // The definition's model holding those parameters (evaluation, prediction).
  virtual DefinedModel& model() = 0;
  // The optimizer's state, for checkpoints (train/checkpoint.hpp).
  virtual OptimizerAccess optimizer_access() = 0;
};

// The engine names accepted by make_engine, in display order.
const std::vector<std::string>& engine_names();
// Throws c10::Error naming the valid engines for an unknown name.
std::unique_ptr<MlpEngine> make_engine(const std::string& name, const MlpConfig& model,
                                       const OptimizerConfig& optimizer, uint64_t seed);

}  // namespace torchclad::train
