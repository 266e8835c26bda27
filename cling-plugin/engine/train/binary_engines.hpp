#pragma once
// The ways torchclad can take one training step of a binary classifier (the
// 1D CNN of the gravitational-wave workload), behind one interface so the
// trainer and the benchmark drive them alike:
//   clad       model level: the Cnn's definition (model/cnn_definition.hpp) in
//              DefinedModel: Clad's gradient of the whole CNN + loss, flat
//              buffers, preallocated workspace, fused optimizer (0 allocations)
//   clad-ops   op level: torchclad conv1d / max_pool1d / linear / activation /
//              bce_with_logits autograd nodes + torch::optim
//   autograd   LibTorch's own modules and autograd + torch::optim (the baseline)
// Each keeps its parameters in one flat buffer laid out by the definition,
// initialised from the seed as the definition declares: the same initial
// parameters for every engine, and any engine's result is the definition's.
// Data-parallel, each sums its gradients over the ranks with one allreduce
// before the optimizer step and takes empty batches, as train/engines.hpp.
#include <torch/torch.h>

#include "model/defined_model.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model/cnn_definition.hpp"
#include "optim/optimizers.hpp"
#include "train/optimizer_access.hpp"

namespace torchclad::train {

class BinaryEngine {
 public:
  virtual ~BinaryEngine() = default;
  virtual const char* name() const = 0;
  // forward + mean binary cross-entropy (with logits) + backward + optimizer
  // update on x [batch, input_length] float32 row-major and targets [batch]
  // in {0, 1}; returns the batch's mean loss.
  virtual float step(const float* x, const float* targets, int batch) = 0;
  // Logits [n] for x [n, input_length] float32, without gradient.
  virtual torch::Tensor logits(const torch::Tensor& x) = 0;
  // The parameters, flat in the definition's layout (ParamSpec::offset).
  virtual torch::Tensor params() = 0;
  virtual const define::Definition& definition() const = 0;
  // The definition's model holding those parameters (evaluation, prediction).
  virtual DefinedModel& model() = 0;
  // The optimizer's state, for checkpoints (train/checkpoint.hpp).
  virtual OptimizerAccess optimizer_access() = 0;
};

// The engine names accepted by make_binary_engine, in display order.
const std::vector<std::string>& binary_engine_names();
// Throws c10::Error naming the valid engines for an unknown name, and for a
// configuration whose blocks shrink the signal to nothing.
std::unique_ptr<BinaryEngine> make_binary_engine(const std::string& name, const CnnConfig& model,
                                                 const OptimizerConfig& optimizer, uint64_t seed);

}  // namespace torchclad::train
