#include "optim/optimizers.hpp"

#include <cmath>

namespace torchclad {
namespace {

void check_config(const OptimizerConfig& c) {
  TORCH_CHECK(c.kind == "sgd" || c.kind == "adam", "optimizer must be 'sgd' or 'adam', found '",
              c.kind, "'");
  TORCH_CHECK(c.lr > 0, "optimizer: learning rate must be positive, found ", c.lr);
}

void check_state(const FlatOptimizerState& s, size_t buffers, int64_t n, const char* kind) {
  TORCH_CHECK(s.buffers.size() == buffers, "optimizer state: ", kind, " keeps ", buffers,
              " buffer(s), the state has ", s.buffers.size(), " (saved by another optimizer?)");
  for (const auto& b : s.buffers)
    TORCH_CHECK(static_cast<int64_t>(b.size()) == n, "optimizer state: ", kind, " buffers hold ", n,
                " values (one per parameter), the state's hold ", b.size());
  TORCH_CHECK(s.steps >= 0, "optimizer state: negative step count ", s.steps);
}

// torch.optim.SGD with momentum, dampening 0: buf = m*buf + g; p -= lr*buf.
class FlatSgd final : public FlatOptimizer {
 public:
  FlatSgd(const OptimizerConfig& c, int64_t n) : c_(c), n_(n), buf_(n, 0.f) {}
  void step(float* p, const float* g) override {
    ++steps_;
    const float lr = c_.lr, mom = c_.momentum, wd = c_.weight_decay;
    float* buf = buf_.data();
    for (int64_t i = 0; i < n_; ++i) {
      const float grad = g[i] + wd * p[i];
      buf[i] = mom * buf[i] + grad;
      p[i] -= lr * buf[i];
    }
  }
  FlatOptimizerState state() const override { return {steps_, {buf_}}; }
  void load_state(const FlatOptimizerState& s) override {
    check_state(s, 1, n_, "sgd");
    steps_ = s.steps;
    buf_ = s.buffers[0];
  }

 private:
  OptimizerConfig c_;
  int64_t n_;
  int64_t steps_ = 0;  // kept for checkpoints (SGD's update does not use it)
  std::vector<float> buf_;
};

// torch.optim.Adam (no amsgrad): the same bias corrections and eps placement.
class FlatAdam final : public FlatOptimizer {
 public:
  FlatAdam(const OptimizerConfig& c, int64_t n) : c_(c), n_(n), m_(n, 0.f), v_(n, 0.f) {}
  void step(float* p, const float* g) override {
    ++t_;
    const double bc1 = 1 - std::pow(c_.beta1, t_), bc2 = 1 - std::pow(c_.beta2, t_);
    const float step_size = c_.lr / bc1, inv_sqrt_bc2 = 1 / std::sqrt(bc2);
    const float b1 = c_.beta1, b2 = c_.beta2, eps = c_.eps, wd = c_.weight_decay;
    float *m = m_.data(), *v = v_.data();
    for (int64_t i = 0; i < n_; ++i) {
      const float grad = g[i] + wd * p[i];
      m[i] = b1 * m[i] + (1 - b1) * grad;
      v[i] = b2 * v[i] + (1 - b2) * grad * grad;
      p[i] -= step_size * m[i] / (std::sqrt(v[i]) * inv_sqrt_bc2 + eps);
    }
  }
  FlatOptimizerState state() const override { return {t_, {m_, v_}}; }
  void load_state(const FlatOptimizerState& s) override {
    check_state(s, 2, n_, "adam");
    t_ = s.steps;
    m_ = s.buffers[0];
    v_ = s.buffers[1];
  }

 private:
  OptimizerConfig c_;
  int64_t n_;
  int64_t t_ = 0;
  std::vector<float> m_, v_;
};

}  // namespace

std::unique_ptr<FlatOptimizer> make_flat_optimizer(const OptimizerConfig& config, int64_t n) {
  check_config(config);
  if (config.kind == "sgd") return std::make_unique<FlatSgd>(config, n);
  return std::make_unique<FlatAdam>(config, n);
}

std::unique_ptr<torch::optim::Optimizer> make_torch_optimizer(const OptimizerConfig& config,
                                                              std::vector<torch::Tensor> params) {
  check_config(config);
  if (config.kind == "sgd")
    return std::make_unique<torch::optim::SGD>(
        params, torch::optim::SGDOptions(config.lr)
                    .momentum(config.momentum)
                    .weight_decay(config.weight_decay));
  return std::make_unique<torch::optim::Adam>(
      params, torch::optim::AdamOptions(config.lr)
                  .betas({config.beta1, config.beta2})
                  .eps(config.eps)
                  .weight_decay(config.weight_decay));
}

}  // namespace torchclad
