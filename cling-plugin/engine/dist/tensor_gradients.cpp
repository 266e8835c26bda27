#include "dist/tensor_gradients.hpp"

#include <cstring>

#include "dist/communicator.hpp"
#include "dist/data_parallel.hpp"

namespace torchclad::dist {

void TensorGradients::average(const std::vector<torch::Tensor>& leaves, float loss) {
  if (!distributed()) return;
  int64_t n = 0;
  for (const auto& p : leaves) n += p.numel();
  flat_.resize(n + kStepTail);
  int64_t at = 0;
  for (const auto& p : leaves) {
    auto& g = const_cast<torch::Tensor&>(p).mutable_grad();
    if (!g.defined()) g = torch::zeros_like(p);
    TORCH_CHECK(g.scalar_type() == torch::kFloat32 && g.is_contiguous(),
                "data-parallel gradients must be float32 and contiguous");
    std::memcpy(flat_.data() + at, g.data_ptr<float>(), sizeof(float) * p.numel());
    at += p.numel();
  }
  average_gradients(flat_.data(), n, loss);
  at = 0;
  for (const auto& p : leaves) {
    std::memcpy(p.grad().data_ptr<float>(), flat_.data() + at, sizeof(float) * p.numel());
    at += p.numel();
  }
}

}  // namespace torchclad::dist
