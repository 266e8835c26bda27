#include "ops/model_ops.hpp"

#include "ops/find_op.hpp"

namespace torchclad {

at::Tensor model_loss(const std::string& name, const at::Tensor& params, const at::Tensor& input,
                      const at::Tensor& target) {
  static const auto op = detail::find_op<at::Tensor(const std::string&, const at::Tensor&, const at::Tensor&,
                                                    const at::Tensor&)>("torchclad::model_loss");
  return op.call(name, params, input, target);
}

}  // namespace torchclad
