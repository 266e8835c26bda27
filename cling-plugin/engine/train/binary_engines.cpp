#include "train/binary_engines.hpp"

#include "dist/data_parallel.hpp"
#include "dist/tensor_gradients.hpp"
#include "model/defined_model.hpp"
#include "ops/cnn_ops.hpp"
#include "ops/ops.hpp"
#include "train/clad_step.hpp"
#include "train/torch_optim_state.hpp"

namespace torchclad::train {
namespace {

torch::Tensor input_tensor(const float* x, int batch, int length) {
  return torch::from_blob(const_cast<float*>(x), {batch, length}, torch::kFloat32);
}
torch::Tensor target_tensor(const float* t, int batch) {
  return torch::from_blob(const_cast<float*>(t), {batch}, torch::kFloat32);
}

// Every engine holds the Cnn's definition (model/cnn_definition.hpp) in a
// DefinedModel: its flat parameters are the engine's.
class DefinitionCnnEngine : public BinaryEngine {
 public:
  DefinitionCnnEngine(const CnnConfig& m, uint64_t seed) : config_(m), model_(cnn_definition(m), seed) {}
  torch::Tensor params() override { return model_.params(); }
  const define::Definition& definition() const override { return model_.definition(); }
  DefinedModel& model() override { return model_; }

 protected:
  CnnConfig config_;
  DefinedModel model_;
};

// Model level: Clad's gradient of the whole definition + loss, fused flat optimizer.
class CladCnnEngine final : public DefinitionCnnEngine {
 public:
  CladCnnEngine(const CnnConfig& m, const OptimizerConfig& o, uint64_t seed)
      : DefinitionCnnEngine(m, seed), step_(model_, o) {}
  const char* name() const override { return "clad"; }
  float step(const float* x, const float* targets, int batch) override {
    return step_(x, targets, nullptr, batch);
  }
  torch::Tensor logits(const torch::Tensor& x) override { return model_.forward(x).reshape({-1}); }
  OptimizerAccess optimizer_access() override { return access_of(step_.optimizer()); }

 private:
  CladStep step_;
};

// Per-layer engines: leaf tensors that are views of the definition's flat
// parameters, updated by torch::optim.
class LayeredCnnEngine : public DefinitionCnnEngine {
 public:
  LayeredCnnEngine(const CnnConfig& m, const OptimizerConfig& o, uint64_t seed)
      : DefinitionCnnEngine(m, seed) {
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
  float step(const float* x, const float* targets, int batch) override {
    opt_->zero_grad();
    float value = 0;
    if (batch) {
      auto loss =
          loss_of(forward(input_tensor(x, batch, config_.input_length)), target_tensor(targets, batch));
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
    TORCH_CHECK(x.dim() == 2 && x.size(1) == config_.input_length, name(), ".logits: input must be [batch, ",
                config_.input_length, "], found ", x.sizes());
    return forward(x.to(torch::kFloat32).contiguous());
  }

 protected:
  // [batch, length] -> logits [batch].
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
  virtual torch::Tensor loss_of(const torch::Tensor& logits, const torch::Tensor& targets) = 0;
  std::vector<torch::Tensor> params_;  // conv1.weight, conv1.bias, ..., fc1.*, fc2.*

 private:
  std::unique_ptr<torch::optim::Optimizer> opt_;
  dist::TensorGradients reducer_;
  std::string kind_;   // sgd or adam
  int64_t steps_ = 0;  // for checkpoints
};

// LibTorch's own ops and autograd (the baseline): conv1d, relu, max_pool1d,
// linear and binary_cross_entropy_with_logits, as torch.nn's modules run them.
class AutogradCnnEngine final : public LayeredCnnEngine {
 public:
  using LayeredCnnEngine::LayeredCnnEngine;
  const char* name() const override { return "autograd"; }

 protected:
  torch::Tensor forward(const torch::Tensor& x) override {
    auto h = x.unsqueeze(1);
    const size_t blocks = config_.blocks.size();
    for (size_t b = 0; b < blocks; ++b) {
      h = torch::conv1d(h, params_[2 * b], params_[2 * b + 1]);
      h = torch::relu(h);
      h = torch::max_pool1d(h, config_.blocks[b].pool);
    }
    h = h.flatten(1);
    h = torch::relu(torch::nn::functional::linear(h, params_[2 * blocks], params_[2 * blocks + 1]));
    h = torch::nn::functional::linear(h, params_[2 * blocks + 2], params_[2 * blocks + 3]);
    return h.squeeze(1);
  }
  torch::Tensor loss_of(const torch::Tensor& logits, const torch::Tensor& targets) override {
    return torch::binary_cross_entropy_with_logits(logits, targets);
  }
};

// Op level: torchclad's conv1d / max_pool1d / linear / activation /
// bce_with_logits operators (autograd nodes with hand-written or Clad
// backward passes) composed by LibTorch's autograd, updated by torch::optim.
class CladOpsCnnEngine final : public LayeredCnnEngine {
 public:
  using LayeredCnnEngine::LayeredCnnEngine;
  const char* name() const override { return "clad-ops"; }

 protected:
  torch::Tensor forward(const torch::Tensor& x) override {
    auto h = x.unsqueeze(1);
    const size_t blocks = config_.blocks.size();
    for (size_t b = 0; b < blocks; ++b) {
      h = torchclad::conv1d(h, params_[2 * b], params_[2 * b + 1]);
      h = torchclad::relu(h);
      h = torchclad::max_pool1d(h, config_.blocks[b].pool);
    }
    h = h.flatten(1);
    h = torchclad::relu(torchclad::linear(h, params_[2 * blocks], params_[2 * blocks + 1]));
    h = torchclad::linear(h, params_[2 * blocks + 2], params_[2 * blocks + 3]);
    return h.squeeze(1);
  }
  torch::Tensor loss_of(const torch::Tensor& logits, const torch::Tensor& targets) override {
    return torchclad::bce_with_logits(logits, targets);
  }
};

}  // namespace

const std::vector<std::string>& binary_engine_names() {
  static const std::vector<std::string> names{"clad", "clad-ops", "autograd"};
  return names;
}

std::unique_ptr<BinaryEngine> make_binary_engine(const std::string& name, const CnnConfig& model,
                                                 const OptimizerConfig& optimizer, uint64_t seed) {
  TORCH_CHECK(name == "clad" || name == "clad-model" || name == "clad-ops" || name == "autograd" ||
                  name == "libtorch-autograd",
              "unknown engine '", name, "': expected clad (model level), clad-ops or autograd");
  try {
    if (name == "clad" || name == "clad-model")
      return std::make_unique<CladCnnEngine>(model, optimizer, seed);
    if (name == "clad-ops") return std::make_unique<CladOpsCnnEngine>(model, optimizer, seed);
    return std::make_unique<AutogradCnnEngine>(model, optimizer, seed);
  } catch (const c10::Error&) {
    throw;
  } catch (const std::exception& e) {  // the definition's checks of the shape
    TORCH_CHECK(false, e.what());
  }
}

}  // namespace torchclad::train
