#include "train/engines.hpp"

#include "ops/ops.hpp"

namespace torchclad::train {
namespace {

torch::Tensor as_tensor(const float* x, int batch, int64_t in) {
  return torch::from_blob(const_cast<float*>(x), {batch, in}, torch::kFloat32);
}
torch::Tensor as_tensor(const int64_t* labels, int batch) {
  return torch::from_blob(const_cast<int64_t*>(labels), {batch}, torch::kInt64);
}

class CladModelEngine final : public MlpEngine {
 public:
  CladModelEngine(const MlpConfig& m, const OptimizerConfig& o, uint64_t seed)
      : model_(m, seed), opt_(make_flat_optimizer(o, model_.params().numel())) {}
  const char* name() const override { return "clad-model"; }
  float step(const Batch& b) override {
    const float loss = model_.loss_and_grad(b.x, b.labels32, b.size);
    opt_->step(model_.params().data_ptr<float>(), model_.grads().data_ptr<float>());
    return loss;
  }
  torch::Tensor logits(const torch::Tensor& x) override { return model_.forward(x); }

 private:
  MlpModel model_;
  std::unique_ptr<FlatOptimizer> opt_;
};

class CladModelNodeEngine final : public MlpEngine {
 public:
  CladModelNodeEngine(const MlpConfig& m, const OptimizerConfig& o, uint64_t seed)
      : config_(m),
        params_(init_mlp_params(m, seed).requires_grad_()),
        opt_(make_flat_optimizer(o, params_.numel())) {}
  const char* name() const override { return "clad-model-node"; }
  float step(const Batch& b) override {
    params_.mutable_grad() = torch::Tensor();
    auto loss = torchclad::mlp_cross_entropy(as_tensor(b.x, b.size, config_.widths[0]),
                                             as_tensor(b.labels64, b.size), params_,
                                             config_.widths, config_.activation);
    loss.backward();
    opt_->step(params_.data_ptr<float>(), params_.grad().data_ptr<float>());
    return loss.item<float>();
  }
  torch::Tensor logits(const torch::Tensor& x) override {
    torch::NoGradGuard no_grad;
    auto views = split_params();
    auto h = x;
    for (size_t l = 0; l < views.size(); l += 2) {
      h = torchclad::linear(h, views[l], views[l + 1]);
      if (l + 2 < views.size()) h = torchclad::activation(h, config_.activation);
    }
    return h;
  }

 private:
  std::vector<torch::Tensor> split_params() {
    std::vector<torch::Tensor> views;
    int64_t off = 0;
    for (size_t l = 0; l + 1 < config_.widths.size(); ++l) {
      const int64_t in = config_.widths[l], out = config_.widths[l + 1];
      views.push_back(params_.detach().narrow(0, off, out * in).view({out, in}));
      off += out * in;
      views.push_back(params_.detach().narrow(0, off, out));
      off += out;
    }
    return views;
  }

  MlpConfig config_;
  torch::Tensor params_;
  std::unique_ptr<FlatOptimizer> opt_;
};

// Shared by the two per-layer engines: separate leaf tensors W_l, b_l copied
// from the flat initial parameters, updated by torch::optim.
class LayeredEngine : public MlpEngine {
 public:
  LayeredEngine(const MlpConfig& m, const OptimizerConfig& o, uint64_t seed) : config_(m) {
    MlpModel init(m, seed);
    for (auto& v : init.parameter_views()) params_.push_back(v.clone().requires_grad_());
    opt_ = make_torch_optimizer(o, params_);
  }
  float step(const Batch& b) override {
    opt_->zero_grad();
    auto loss = loss_of(forward(as_tensor(b.x, b.size, config_.widths[0])),
                        as_tensor(b.labels64, b.size));
    loss.backward();
    opt_->step();
    return loss.item<float>();
  }
  torch::Tensor logits(const torch::Tensor& x) override {
    torch::NoGradGuard no_grad;
    return forward(x);
  }

 protected:
  virtual torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& w,
                               const torch::Tensor& b) = 0;
  virtual torch::Tensor activate(const torch::Tensor& x) = 0;
  virtual torch::Tensor loss_of(const torch::Tensor& logits, const torch::Tensor& target) = 0;
  MlpConfig config_;

 private:
  torch::Tensor forward(torch::Tensor h) {
    for (size_t l = 0; l < params_.size(); l += 2) {
      h = linear(h, params_[l], params_[l + 1]);
      if (l + 2 < params_.size()) h = activate(h);
    }
    return h;
  }
  std::vector<torch::Tensor> params_;
  std::unique_ptr<torch::optim::Optimizer> opt_;
};

class CladOpsEngine final : public LayeredEngine {
 public:
  using LayeredEngine::LayeredEngine;
  const char* name() const override { return "clad-ops"; }

 protected:
  torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& w,
                       const torch::Tensor& b) override {
    return torchclad::linear(x, w, b);
  }
  torch::Tensor activate(const torch::Tensor& x) override {
    return torchclad::activation(x, config_.activation);
  }
  torch::Tensor loss_of(const torch::Tensor& logits, const torch::Tensor& target) override {
    return torchclad::cross_entropy(logits, target);
  }
};

class AutogradEngine final : public LayeredEngine {
 public:
  using LayeredEngine::LayeredEngine;
  const char* name() const override { return "autograd"; }

 protected:
  torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& w,
                       const torch::Tensor& b) override {
    return torch::nn::functional::linear(x, w, b);
  }
  torch::Tensor activate(const torch::Tensor& x) override {
    switch (config_.activation) {
      case kernels::kRelu: return torch::relu(x);
      case kernels::kTanh: return torch::tanh(x);
      case kernels::kSigmoid: return torch::sigmoid(x);
      default: return x;
    }
  }
  torch::Tensor loss_of(const torch::Tensor& logits, const torch::Tensor& target) override {
    return torch::nn::functional::cross_entropy(logits, target);
  }
};

}  // namespace

const std::vector<std::string>& engine_names() {
  static const std::vector<std::string> names{"clad", "clad-model-node", "clad-ops", "autograd"};
  return names;
}

std::unique_ptr<MlpEngine> make_engine(const std::string& name, const MlpConfig& model,
                                       const OptimizerConfig& optimizer, uint64_t seed) {
  if (name == "clad" || name == "clad-model")
    return std::make_unique<CladModelEngine>(model, optimizer, seed);
  if (name == "clad-model-node") return std::make_unique<CladModelNodeEngine>(model, optimizer, seed);
  if (name == "clad-ops") return std::make_unique<CladOpsEngine>(model, optimizer, seed);
  if (name == "autograd" || name == "libtorch-autograd")
    return std::make_unique<AutogradEngine>(model, optimizer, seed);
  TORCH_CHECK(false, "unknown engine '", name,
              "': expected clad (model level), clad-model-node, clad-ops or autograd");
}

}  // namespace torchclad::train
