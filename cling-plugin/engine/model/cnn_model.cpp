#include "model/cnn_model.hpp"

#include <ATen/Parallel.h>  // at::get_num_threads

#include <algorithm>
#include <cmath>
#include <cstring>

#include "gradients/gradients.hpp"
#include "kernels/blas.hpp"
#include "kernels/cnn.hpp"
#include "kernels/parallel.hpp"

namespace torchclad {
namespace k = torchclad::kernels;

std::vector<std::vector<int64_t>> cnn_param_shapes(const CnnConfig& config) {
  const auto L = model::CnnLayout::make(config, 1);  // validates
  std::vector<std::vector<int64_t>> shapes;
  for (int b = 0; b < L.blocks; ++b) {
    shapes.push_back({L.block(b, k::kCnnCout), L.block(b, k::kCnnCin), L.block(b, k::kCnnK)});
    shapes.push_back({L.block(b, k::kCnnCout)});
  }
  shapes.push_back({L.hidden, L.features});
  shapes.push_back({L.hidden});
  shapes.push_back({1, L.hidden});
  shapes.push_back({1});
  return shapes;
}

torch::Tensor init_cnn_params(const CnnConfig& config, uint64_t seed) {
  const auto shapes = cnn_param_shapes(config);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  int64_t total = 0;
  for (const auto& s : shapes) total += c10::multiply_integers(s);
  auto params = torch::empty({total}, torch::kFloat32);
  int64_t off = 0;
  for (size_t i = 0; i < shapes.size(); i += 2) {
    const auto& w = shapes[i];
    const int64_t fan_in = c10::multiply_integers(w.begin() + 1, w.end());
    const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
    const int64_t nw = c10::multiply_integers(w), nb = shapes[i + 1][0];
    params.narrow(0, off, nw).uniform_(-bound, bound, gen);
    params.narrow(0, off + nw, nb).uniform_(-bound, bound, gen);
    off += nw + nb;
  }
  return params;
}

CnnModel::CnnModel(CnnConfig config, uint64_t seed)
    : config_(std::move(config)),
      params_(init_cnn_params(config_, seed)),
      grads_(torch::zeros_like(params_)) {}

std::vector<torch::Tensor> CnnModel::parameter_views() {
  std::vector<torch::Tensor> views;
  int64_t off = 0;
  for (const auto& s : cnn_param_shapes(config_)) {
    const int64_t n = c10::multiply_integers(s);
    views.push_back(params_.narrow(0, off, n).view(s));
    off += n;
  }
  return views;
}

CnnModel::Workspace& CnnModel::workspace(int batch, int part) {
  auto it = workspaces_.find({batch, part});
  if (it == workspaces_.end()) {
    Workspace ws{model::CnnLayout::make(config_, batch), {}, {}};
    ws.acts.assign(ws.layout.act_count, 0.f);
    ws.d_acts.assign(ws.layout.act_count, 0.f);
    it = workspaces_.emplace(std::make_pair(batch, part), std::move(ws)).first;
  }
  return it->second;
}

// The mean loss of `batch` samples and its gradient into d_params (zeroed first).
float CnnModel::part_loss_and_grad(const float* x, const float* targets, int batch, int part,
                                   float* d_params) {
  Workspace& ws = workspace(batch, part);
  const auto& L = ws.layout;
  std::memset(d_params, 0, sizeof(float) * params_.numel());
  // d_acts needs no reset: every pullback consumes (zeroes) the adjoint of
  // the buffer it overwrote, and nothing writes the scratch's adjoint
  // (tested: CnnModelGradient.* checks d_acts is all zero after a gradient).
  grad::cnn_bce_with_logits(x, targets, batch, L.blocks, L.table.data(), params_.data_ptr<float>(),
                            ws.acts.data(), d_params, ws.d_acts.data());
  // The gradient's forward sweep left the logits in acts.
  return k::binary_cross_entropy_with_logits(ws.acts.data() + L.table[k::kCnnLogits], targets,
                                             batch);
}

float CnnModel::loss_and_grad(const float* x, const float* targets, int batch) {
  TORCH_CHECK(batch >= 1, "CnnModel.loss_and_grad: batch must be at least 1, found ", batch);
  constexpr int kMaxParts = 64;  // the per-part losses below live on the stack
  const int parts = std::min({at::get_num_threads(), batch / kMinSamplesPerThread, kMaxParts});
  float* d_params = grads_.data_ptr<float>();
  if (parts <= 1) {
    blas::SequentialScope sequential;  // the model parallelises over the batch itself
    return part_loss_and_grad(x, targets, batch, 0, d_params);
  }

  // Data parallel over the batch: part p takes samples [start(p), start(p+1)).
  const int64_t n = params_.numel();
  auto start = [&](int p) { return static_cast<int>(int64_t{batch} * p / parts); };
  if (static_cast<int>(part_grads_.size()) < parts) part_grads_.resize(parts);
  for (int p = 0; p < parts; ++p) {
    workspace(start(p + 1) - start(p), p);  // created here, not on the worker threads
    if (static_cast<int64_t>(part_grads_[p].size()) != n) part_grads_[p].assign(n, 0.f);
  }
  float losses[kMaxParts] = {};
  kernels::parallel_parts(parts, parts, [&](int p) {
    blas::SequentialScope sequential;  // the model parallelises over the batch itself
    const int b0 = start(p), nb = start(p + 1) - b0;
    losses[p] = part_loss_and_grad(x + int64_t{b0} * config_.input_length, targets + b0, nb, p,
                                   part_grads_[p].data());
  });
  // Each part's gradient is of its own mean: weight by its share of the batch.
  float loss = 0;
  std::memset(d_params, 0, sizeof(float) * n);
  for (int p = 0; p < parts; ++p) {
    const float share = float(start(p + 1) - start(p)) / float(batch);
    const float* g = part_grads_[p].data();
    for (int64_t i = 0; i < n; ++i) d_params[i] += share * g[i];
    loss += share * losses[p];
  }
  return loss;
}

torch::Tensor CnnModel::forward(const torch::Tensor& x) {
  TORCH_CHECK(x.dim() == 2 && x.size(1) == config_.input_length,
              "CnnModel.forward: input must be [batch, ", config_.input_length, "], found ",
              x.sizes());
  auto input = x.to(torch::kFloat32).contiguous();
  const int64_t n = input.size(0);
  auto out = torch::empty({n}, torch::kFloat32);
  constexpr int64_t kChunk = 256;
  std::vector<float> zeros(std::min(n, kChunk), 0.f);
  for (int64_t s = 0; s < n; s += kChunk) {
    const int m = static_cast<int>(std::min(kChunk, n - s));
    Workspace& ws = workspace(m, 0);
    k::cnn_bce_with_logits(input.data_ptr<float>() + s * config_.input_length, zeros.data(), m,
                           ws.layout.blocks, ws.layout.table.data(), params_.data_ptr<float>(),
                           ws.acts.data());
    std::memcpy(out.data_ptr<float>() + s, ws.acts.data() + ws.layout.table[k::kCnnLogits],
                sizeof(float) * m);
  }
  return out;
}

}  // namespace torchclad
