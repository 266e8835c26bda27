#pragma once
// The scaffold of the tests of definitions compiled with Clad
// (test_user_models.cpp, test_nn_blocks_onnx.cpp): finding a definition or
// its registration error, float64 inputs for it, its parameters viewed by
// name, and the checks every definition gets: Clad's gradient against
// LibTorch autograd and central finite differences, the float step against
// float64 with the activations' adjoint cleared, a steady-state step that
// allocates nothing.
#include <algorithm>
#include <functional>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "alloc_counter.hpp"
#include "model/defined_model.hpp"
#include "test_util.hpp"

namespace torchclad::testing {

inline std::shared_ptr<const define::Definition> def(const std::string& name) {
  return define::find_definition(name);
}

// The message registering `name` fails with, "" if it registers.
inline std::string registration_error(const std::string& name) {
  try {
    define::find_definition(name);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

// Parameter `name` of the flat parameters of d, in its shape.
inline torch::Tensor view(const torch::Tensor& flat, const define::Definition& d, const std::string& name) {
  const auto& p = d.param(name);
  return flat.narrow(0, p.offset, p.numel).view(p.shape);
}

// Float64 inputs for a definition: parameters as it initialises them (plus
// `jitter` times a normal draw, to move them off initial values such as
// BatchNorm's gamma 1 and beta 0), x normal, y valid targets for its kind.
struct Sample {
  std::vector<double> params, x, y;
};

inline Sample sample(const define::Definition& d, int n, uint64_t seed, double jitter = 0) {
  Sample s;
  s.params = to_vector(init_defined_params(d, seed).to(torch::kFloat64));
  if (jitter != 0) {
    const auto noise = random_vector(d.param_count, seed + 3);
    for (size_t i = 0; i < s.params.size(); ++i) s.params[i] += jitter * noise[i];
  }
  s.x = random_vector(int64_t{n} * d.inputs, seed + 1);
  std::mt19937_64 rng(seed + 2);
  s.y.resize(int64_t{n} * d.target_width);
  for (auto& v : s.y) {
    if (d.targets == define::Targets::kClassIndex)
      v = static_cast<double>(rng() % d.classes);
    else if (d.targets == define::Targets::kBinary)
      v = static_cast<double>(rng() % 2);
    else
      v = std::normal_distribution<double>(0, 1.5)(rng);
  }
  return s;
}

// The loss LibTorch computes for the flat parameters p (float64, requires
// grad), x [n, inputs] and y [n, target_width].
using TwinLoss =
    std::function<torch::Tensor(const torch::Tensor& p, const torch::Tensor& x, const torch::Tensor& y)>;

// Clad's float64 loss and gradient against autograd of `twin` (relative
// 1e-9) and against central finite differences of the definition's own loss.
inline void expect_gradient_matches(const std::string& name, DefinedModel& model, const Sample& sample_in,
                                    int n, const TwinLoss& twin) {
  const auto& d = *def(name);
  Sample s = sample_in;
  std::vector<double> grad(d.param_count, 0.0);
  const double loss = model.loss_and_grad_double(s.params.data(), s.x.data(), s.y.data(), n, grad.data());
  auto p = to_tensor(s.params, {d.param_count}).requires_grad_();
  auto ref = twin(p, to_tensor(s.x, {n, d.inputs}), to_tensor(s.y, {n, d.target_width}));
  ref.backward();
  EXPECT_NEAR(loss, ref.item<double>(), 1e-12 * std::max(1.0, std::abs(loss))) << name;
  EXPECT_TRUE(close(grad, to_vector(p.grad()), 1e-9, 1e-12)) << name << " vs autograd";

  const auto idx = all_indices(d.param_count, 150);
  const auto fd = finite_differences(
      [&] { return model.loss_double(s.params.data(), s.x.data(), s.y.data(), n); }, s.params.data(), idx);
  EXPECT_TRUE(close(pick(grad, idx), fd, 1e-5, 1e-7)) << name << " vs finite differences";
}

// One float step (batch 5) leaves the activations' adjoint all zero (each
// pullback clears what its block wrote); its loss and gradient match float64
// (the gradient within rtol of the largest component). jitter: as sample's.
inline void expect_float_step_clears_adjoints(const std::string& name, double rtol, double jitter = 0) {
  const auto d = def(name);
  const int n = 5;
  auto s = sample(*d, n, 3, jitter);
  std::vector<float> p(s.params.begin(), s.params.end()), x(s.x.begin(), s.x.end()),
      y(s.y.begin(), s.y.end()), a(d->acts_per_sample * n), da(a.size()), g(d->param_count);
  const float loss =
      d->grad_f(d->instance.get(), p.data(), a.data(), x.data(), y.data(), n, g.data(), da.data());
  for (float v : da) ASSERT_EQ(v, 0.f) << name;
  std::vector<double> gd(d->param_count, 0.0);
  DefinedModel model(d, 0);
  const double loss_d = model.loss_and_grad_double(s.params.data(), s.x.data(), s.y.data(), n, gd.data());
  EXPECT_NEAR(loss, loss_d, 1e-4 * std::max(1.0, std::abs(loss_d))) << name;
  double scale = 0, worst = 0;
  for (size_t i = 0; i < gd.size(); ++i) scale = std::max(scale, std::abs(gd[i]));
  for (size_t i = 0; i < gd.size(); ++i) worst = std::max(worst, std::abs(g[i] - gd[i]));
  EXPECT_LT(worst, rtol * std::max(scale, 1e-6)) << name;
}

// Allocations of three steps after a first one (which allocates the
// workspace for the batch size); w: per-sample weights or null.
inline int64_t steady_state_allocations(DefinedModel& model, const std::vector<float>& x,
                                        const std::vector<float>& y, int n, const float* w = nullptr) {
  model.loss_and_grad(x.data(), y.data(), n, w);
  support::AllocationCounter counter;
  for (int i = 0; i < 3; ++i) model.loss_and_grad(x.data(), y.data(), n, w);
  return counter.count();
}

}  // namespace torchclad::testing
