#pragma once
// Data-parallel gradients of LibTorch autograd engines (torch::optim over
// per-layer leaf tensors): the leaves' gradients are packed into one flat
// buffer, summed over the ranks with one allreduce (dist::average_gradients),
// and copied back, as DistributedDataParallel's single bucket would. So the
// autograd baseline pays one allreduce per step, as the model-level engine
// (the step's loss, this rank's mean over its share, rides along).
#include <torch/torch.h>

#include <vector>

namespace torchclad::dist {

class TensorGradients {
 public:
  // A leaf without a gradient (an empty share: no backward ran) gets zeros.
  // Nothing happens in a single process.
  void average(const std::vector<torch::Tensor>& leaves, float loss);

 private:
  std::vector<float> flat_;  // allocated at the first step, then reused
};

}  // namespace torchclad::dist
