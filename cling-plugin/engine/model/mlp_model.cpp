#include "model/mlp_model.hpp"

#include <cmath>
#include <cstring>

#include "gradients/gradients.hpp"
#include "kernels/mlp.hpp"

namespace torchclad {

torch::Tensor init_mlp_params(const MlpConfig& config, uint64_t seed) {
  const auto layout = model::MlpLayout::make(config.widths, 1);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto params = torch::empty({layout.param_count}, torch::kFloat32);
  for (int l = 0; l < layout.layers(); ++l) {
    const int in = layout.widths[l], out = layout.widths[l + 1];
    const double bound = 1.0 / std::sqrt(static_cast<double>(in));
    params.narrow(0, layout.weight[l], int64_t{out} * in).uniform_(-bound, bound, gen);
    params.narrow(0, layout.bias[l], out).uniform_(-bound, bound, gen);
  }
  return params;
}

MlpModel::MlpModel(MlpConfig config, uint64_t seed)
    : config_(std::move(config)),
      params_(init_mlp_params(config_, seed)),
      grads_(torch::zeros_like(params_)) {}

std::vector<torch::Tensor> MlpModel::parameter_views() {
  const auto layout = model::MlpLayout::make(config_.widths, 1);
  std::vector<torch::Tensor> views;
  for (int l = 0; l < layout.layers(); ++l) {
    const int in = layout.widths[l], out = layout.widths[l + 1];
    views.push_back(params_.narrow(0, layout.weight[l], int64_t{out} * in).view({out, in}));
    views.push_back(params_.narrow(0, layout.bias[l], out));
  }
  return views;
}

MlpModel::Workspace& MlpModel::workspace(int batch) {
  auto it = workspaces_.find(batch);
  if (it == workspaces_.end()) {
    Workspace ws{model::MlpLayout::make(config_.widths, batch), {}, {}};
    ws.acts.assign(ws.layout.act_count, 0.f);
    ws.d_acts.assign(ws.layout.act_count, 0.f);
    it = workspaces_.emplace(batch, std::move(ws)).first;
  }
  return it->second;
}

float MlpModel::loss_and_grad(const float* x, const int32_t* labels, int batch) {
  Workspace& ws = workspace(batch);
  const auto& L = ws.layout;
  float* d_params = grads_.data_ptr<float>();
  std::memset(d_params, 0, sizeof(float) * L.param_count);
  // d_acts needs no reset: every pullback consumes (zeroes) the adjoint of
  // the buffer it overwrote, so Clad's gradient leaves d_acts all zero
  // (tested: ModelLevel.ActivationAdjointsReturnToZero).
  grad::mlp_cross_entropy(x, labels, batch, L.layers(), L.widths.data(), L.weight.data(),
                          L.bias.data(), L.pre.data(), L.post.data(), config_.activation,
                          params_.data_ptr<float>(), ws.acts.data(), d_params, ws.d_acts.data());
  // The gradient's forward sweep left the logits in acts: the loss from them
  // costs one pass over [batch, classes].
  return kernels::softmax_cross_entropy(ws.acts.data() + L.pre[L.layers() - 1], labels, batch,
                                        L.widths.back());
}

torch::Tensor MlpModel::forward(const torch::Tensor& x) {
  TORCH_CHECK(x.dim() == 2 && x.size(1) == config_.widths.front(),
              "MlpModel.forward: input must be [batch, ", config_.widths.front(), "], found ",
              x.sizes());
  auto input = x.to(torch::kFloat32).contiguous();
  const auto L = model::MlpLayout::make(config_.widths, input.size(0));
  std::vector<float> acts(L.act_count);
  std::vector<int32_t> labels(L.batch, 0);  // the loss is not needed, only the logits
  kernels::mlp_cross_entropy(input.data_ptr<float>(), labels.data(), L.batch, L.layers(),
                             L.widths.data(), L.weight.data(), L.bias.data(), L.pre.data(),
                             L.post.data(), static_cast<int>(config_.activation),
                             params_.data_ptr<float>(), acts.data());
  return torch::from_blob(acts.data() + L.pre[L.layers() - 1], {L.batch, L.widths.back()},
                          torch::kFloat32)
      .clone();
}

}  // namespace torchclad
