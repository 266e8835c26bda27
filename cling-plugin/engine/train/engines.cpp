#include "train/engines.hpp"

#include "dist/data_parallel.hpp"
#include "dist/tensor_gradients.hpp"
#include "model/defined_model.hpp"
#include "ops/model_ops.hpp"
#include "ops/ops.hpp"
#include "train/clad_step.hpp"
#include "train/torch_optim_state.hpp"

namespace torchclad::train {
namespace {

torch::Tensor as_tensor(const float* x, int batch, int64_t in) {
  return torch::from_blob(const_cast<float*>(x), {batch, in}, torch::kFloat32);
}
torch::Tensor as_tensor(const int64_t* labels, int batch) {
  return torch::from_blob(const_cast<int64_t*>(labels), {batch}, torch::kInt64);
}

// Every engine holds the definition's model: its flat parameters are the
// engine's (the per-layer engines train views of them).
class DefinitionEngine : public MlpEngine {
 public:
  DefinitionEngine(const MlpConfig& m, uint64_t seed) : config_(m), model_(mlp_definition(m), seed) {}
  torch::Tensor params() override { return model_.params(); }
  const define::Definition& definition() const override { return model_.definition(); }
  DefinedModel& model() override { return model_; }

 protected:
  MlpConfig config_;
  DefinedModel model_;
};

class CladModelEngine final : public DefinitionEngine {
 public:
  CladModelEngine(const MlpConfig& m, const OptimizerConfig& o, uint64_t seed)
      : DefinitionEngine(m, seed), step_(model_, o) {}
  const char* name() const override { return "clad-model"; }
  float step(const Batch& b) override {
    if (static_cast<int>(targets_.size()) < b.size) targets_.resize(b.size);  // grows, then reused
    for (int i = 0; i < b.size; ++i) targets_[i] = static_cast<float>(b.labels32[i]);
    return step_(b.x, targets_.data(), nullptr, b.size);
  }
  torch::Tensor logits(const torch::Tensor& x) override { return model_.forward(x); }
  OptimizerAccess optimizer_access() override { return access_of(step_.optimizer()); }

 private:
  CladStep step_;
  std::vector<float> targets_;  // the labels as the definition reads them
};

class CladModelNodeEngine final : public DefinitionEngine {
 public:
  CladModelNodeEngine(const MlpConfig& m, const OptimizerConfig& o, uint64_t seed)
      : DefinitionEngine(m, seed),
        leaf_(model_.params().detach().requires_grad_()),
        opt_(make_flat_optimizer(o, leaf_.numel())) {}
  const char* name() const override { return "clad-model-node"; }
  float step(const Batch& b) override {
    leaf_.mutable_grad() = torch::Tensor();
    float value = 0;
    if (b.size) {
      auto target = as_tensor(b.labels64, b.size).to(torch::kFloat32);
      auto loss = torchclad::model_loss(model_.definition().name, leaf_,
                                        as_tensor(b.x, b.size, config_.widths[0]), target);
      loss.backward();
      value = loss.item<float>();
    }
    reducer_.average({leaf_}, value);
    opt_->step(leaf_.data_ptr<float>(), leaf_.grad().data_ptr<float>());
    return value;
  }
  torch::Tensor logits(const torch::Tensor& x) override { return model_.forward(x); }
  OptimizerAccess optimizer_access() override { return access_of(*opt_); }

 private:
  torch::Tensor leaf_;  // the flat parameters as an autograd leaf (same storage)
  std::unique_ptr<FlatOptimizer> opt_;
  dist::TensorGradients reducer_;
};

// Shared by the two per-layer engines: leaf tensors W_l, b_l that are views
// of the definition's flat parameters, updated by torch::optim.
class LayeredEngine : public DefinitionEngine {
 public:
  LayeredEngine(const MlpConfig& m, const OptimizerConfig& o, uint64_t seed) : DefinitionEngine(m, seed) {
    for (const auto& spec : model_.definition().params)
      params_.push_back(
          model_.params().narrow(0, spec.offset, spec.numel).view(spec.shape).detach().requires_grad_());
    opt_ = make_torch_optimizer(o, params_);
    kind_ = o.kind;
  }
  OptimizerAccess optimizer_access() override {
    return {[this] { return torch_optimizer_state(*opt_, params_, kind_, steps_); },
            [this](const FlatOptimizerState& s) {
              load_torch_optimizer_state(*opt_, params_, kind_, s);
              steps_ = s.steps;
            }};
  }
  float step(const Batch& b) override {
    opt_->zero_grad();
    float value = 0;
    if (b.size) {
      auto loss = loss_of(forward(as_tensor(b.x, b.size, config_.widths[0])), as_tensor(b.labels64, b.size));
      loss.backward();
      value = loss.item<float>();
    }
    reducer_.average(params_, value);
    opt_->step();
    ++steps_;
    return value;
  }
  torch::Tensor logits(const torch::Tensor& x) override {
    torch::NoGradGuard no_grad;
    return forward(x);
  }

 protected:
  virtual torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) = 0;
  virtual torch::Tensor activate(const torch::Tensor& x) = 0;
  virtual torch::Tensor loss_of(const torch::Tensor& logits, const torch::Tensor& target) = 0;

 private:
  torch::Tensor forward(torch::Tensor h) {
    for (size_t l = 0; l < params_.size(); l += 2) {
      h = linear(h, params_[l], params_[l + 1]);
      if (l + 2 < params_.size()) h = activate(h);
    }
    return h;
  }
  std::vector<torch::Tensor> params_;  // fc1.weight, fc1.bias, fc2.weight, ...
  std::unique_ptr<torch::optim::Optimizer> opt_;
  dist::TensorGradients reducer_;
  std::string kind_;   // sgd or adam
  int64_t steps_ = 0;  // for checkpoints
};

class CladOpsEngine final : public LayeredEngine {
 public:
  using LayeredEngine::LayeredEngine;
  const char* name() const override { return "clad-ops"; }

 protected:
  torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) override {
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
  torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) override {
    return torch::nn::functional::linear(x, w, b);
  }
  torch::Tensor activate(const torch::Tensor& x) override {
    switch (config_.activation) {
      case kernels::kRelu:
        return torch::relu(x);
      case kernels::kTanh:
        return torch::tanh(x);
      case kernels::kSigmoid:
        return torch::sigmoid(x);
      default:
        return x;
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
  TORCH_CHECK(name == "clad" || name == "clad-model" || name == "clad-model-node" || name == "clad-ops" ||
                  name == "autograd" || name == "libtorch-autograd",
              "unknown engine '", name,
              "': expected clad (model level), clad-model-node, clad-ops or autograd");
  std::unique_ptr<MlpEngine> engine;
  try {
    if (name == "clad" || name == "clad-model")
      engine = std::make_unique<CladModelEngine>(model, optimizer, seed);
    else if (name == "clad-model-node")
      engine = std::make_unique<CladModelNodeEngine>(model, optimizer, seed);
    else if (name == "clad-ops")
      engine = std::make_unique<CladOpsEngine>(model, optimizer, seed);
    else
      engine = std::make_unique<AutogradEngine>(model, optimizer, seed);
  } catch (const c10::Error&) {
    throw;
  } catch (const std::exception& e) {  // the definition's checks (widths)
    TORCH_CHECK(false, e.what());
  }
  return engine;
}

}  // namespace torchclad::train
