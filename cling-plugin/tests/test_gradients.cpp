// Every Clad-differentiated kernel against LibTorch autograd (float64,
// relative error <= 1e-9) and central finite differences, at several shapes
// including batch 1 and sizes that are not multiples of 8 or 16.
#include "gradients/gradients.hpp"
#include "kernels/activations.hpp"
#include "kernels/linear.hpp"
#include "kernels/losses.hpp"
#include "model/mlp_definition.hpp"
#include "test_util.hpp"

namespace torchclad {
namespace {

using namespace torchclad::testing;
constexpr double kRtol = 1e-9, kAtol = 1e-12;     // Clad vs autograd, float64
constexpr double kFdRtol = 1e-5, kFdAtol = 1e-7;  // vs central differences, h = 1e-6

torch::Tensor torch_activation(const torch::Tensor& x, int act) {
  switch (act) {
    case kernels::kRelu:
      return torch::relu(x);
    case kernels::kTanh:
      return torch::tanh(x);
    case kernels::kSigmoid:
      return torch::sigmoid(x);
    default:
      return x.clone();
  }
}

class ActivationGradient : public ::testing::TestWithParam<std::tuple<int, int>> {};

TEST_P(ActivationGradient, MatchesAutogradAndFiniteDifferences) {
  const auto [act, n] = GetParam();
  auto x = random_vector(n, 1, 0.05), dy = random_vector(n, 2);
  std::vector<double> y(n), dx(n, 0.0), seed = dy;
  grad::activation(act, x.data(), y.data(), n, dx.data(), seed.data());
  EXPECT_TRUE(close(seed, std::vector<double>(n, 0.0), 0, 0)) << "the adjoint of y is consumed";

  auto xt = to_tensor(x, {n}).requires_grad_();
  torch_activation(xt, act).backward(to_tensor(dy, {n}));
  EXPECT_TRUE(close(dx, to_vector(xt.grad()), kRtol, kAtol));

  auto f = [&] {
    std::vector<double> out(n);
    kernels::activation_forward(act, x.data(), out.data(), n);
    double s = 0;
    for (int i = 0; i < n; ++i) s += dy[i] * out[i];
    return s;
  };
  auto idx = all_indices(n);
  EXPECT_TRUE(close(pick(dx, idx), finite_differences(f, x.data(), idx), kFdRtol, kFdAtol));
}

INSTANTIATE_TEST_SUITE_P(AllKinds, ActivationGradient,
                         ::testing::Combine(::testing::Values(kernels::kIdentity, kernels::kRelu,
                                                              kernels::kTanh, kernels::kSigmoid),
                                            ::testing::Values(1, 7, 130)));

class CrossEntropyGradient : public ::testing::TestWithParam<std::tuple<int, int>> {};

TEST_P(CrossEntropyGradient, MatchesAutogradAndFiniteDifferences) {
  const auto [m, n] = GetParam();
  auto logits = random_vector(int64_t{m} * n, 3);
  std::vector<int> labels(m);
  for (int i = 0; i < m; ++i) labels[i] = (7 * i + 3) % n;
  std::vector<double> d(logits.size(), 0.0);
  grad::softmax_cross_entropy(logits.data(), labels.data(), m, n, d.data());

  auto lt = to_tensor(logits, {m, n}).requires_grad_();
  auto target = torch::tensor(std::vector<int64_t>(labels.begin(), labels.end()));
  auto loss = torch::nn::functional::cross_entropy(lt, target);
  loss.backward();
  EXPECT_TRUE(close(d, to_vector(lt.grad()), kRtol, kAtol));
  EXPECT_NEAR(kernels::softmax_cross_entropy(logits.data(), labels.data(), m, n), loss.item<double>(), 1e-12);

  auto f = [&] { return kernels::softmax_cross_entropy(logits.data(), labels.data(), m, n); };
  auto idx = all_indices(logits.size());
  EXPECT_TRUE(close(pick(d, idx), finite_differences(f, logits.data(), idx), kFdRtol, kFdAtol));
}

// (65, 10) and (130, 3): past Clad's 64-entry inline tape, where a per-row
// loop that recorded values would start allocating (CLAD-NOTES).
INSTANTIATE_TEST_SUITE_P(Shapes, CrossEntropyGradient,
                         ::testing::Values(std::make_tuple(1, 10), std::make_tuple(1, 1),
                                           std::make_tuple(3, 7), std::make_tuple(65, 10),
                                           std::make_tuple(130, 3)));

class MseGradient : public ::testing::TestWithParam<int> {};

TEST_P(MseGradient, MatchesAutogradAndFiniteDifferences) {
  const int n = GetParam();
  auto pred = random_vector(n, 4), target = random_vector(n, 5);
  std::vector<double> dp(n, 0.0), dt(n, 0.0);
  grad::mse(pred.data(), target.data(), n, dp.data(), dt.data());

  auto pt = to_tensor(pred, {n}).requires_grad_(), tt = to_tensor(target, {n}).requires_grad_();
  torch::nn::functional::mse_loss(pt, tt).backward();
  EXPECT_TRUE(close(dp, to_vector(pt.grad()), kRtol, kAtol));
  EXPECT_TRUE(close(dt, to_vector(tt.grad()), kRtol, kAtol));

  auto f = [&] { return kernels::mse(pred.data(), target.data(), n); };
  auto idx = all_indices(n);
  EXPECT_TRUE(close(pick(dp, idx), finite_differences(f, pred.data(), idx), kFdRtol, kFdAtol));
}

INSTANTIATE_TEST_SUITE_P(Sizes, MseGradient, ::testing::Values(1, 5, 130));

// The Linear layer's hand-written pullbacks (kernels/linear.hpp).
class LinearPullback : public ::testing::TestWithParam<std::tuple<int, int, int>> {};

TEST_P(LinearPullback, MatchesAutogradAndFiniteDifferences) {
  const auto [m, k, n] = GetParam();  // x [m, k], w [n, k], y [m, n]
  auto x = random_vector(int64_t{m} * k, 6), w = random_vector(int64_t{n} * k, 7), b = random_vector(n, 8),
       dy = random_vector(int64_t{m} * n, 9);
  std::vector<double> y(int64_t{m} * n);
  kernels::linear_forward(x.data(), w.data(), b.data(), y.data(), m, n, k);

  auto xt = to_tensor(x, {m, k}).requires_grad_(), wt = to_tensor(w, {n, k}).requires_grad_(),
       bt = to_tensor(b, {n}).requires_grad_();
  auto yt = torch::nn::functional::linear(xt, wt, bt);
  EXPECT_TRUE(close(y, to_vector(yt), kRtol, kAtol));
  yt.backward(to_tensor(dy, {m, n}));

  namespace cd = clad::custom_derivatives::torchclad::kernels;
  std::vector<double> dx(x.size(), 0.0), dw(w.size(), 0.0), db(n, 0.0), seed = dy;
  cd::linear_forward_pullback(x.data(), w.data(), b.data(), y.data(), m, n, k, dx.data(), dw.data(),
                              db.data(), seed.data(), nullptr, nullptr, nullptr);
  EXPECT_TRUE(close(dx, to_vector(xt.grad()), kRtol, kAtol));
  EXPECT_TRUE(close(dw, to_vector(wt.grad()), kRtol, kAtol));
  EXPECT_TRUE(close(db, to_vector(bt.grad()), kRtol, kAtol));
  EXPECT_TRUE(close(seed, std::vector<double>(seed.size(), 0.0), 0, 0));

  std::vector<double> dw2(w.size(), 0.0), db2(n, 0.0);
  seed = dy;
  cd::linear_forward_const_input_pullback(x.data(), w.data(), b.data(), y.data(), m, n, k, dw2.data(),
                                          db2.data(), seed.data(), nullptr, nullptr, nullptr);
  EXPECT_TRUE(close(dw2, dw, 0, 0));
  EXPECT_TRUE(close(db2, db, 0, 0));

  auto f = [&] {
    std::vector<double> out(int64_t{m} * n);
    kernels::linear_forward(x.data(), w.data(), b.data(), out.data(), m, n, k);
    double s = 0;
    for (size_t i = 0; i < out.size(); ++i) s += dy[i] * out[i];
    return s;
  };
  auto iw = all_indices(w.size()), ix = all_indices(x.size());
  EXPECT_TRUE(close(pick(dw, iw), finite_differences(f, w.data(), iw), kFdRtol, kFdAtol));
  EXPECT_TRUE(close(pick(dx, ix), finite_differences(f, x.data(), ix), kFdRtol, kFdAtol));
}

INSTANTIATE_TEST_SUITE_P(Shapes, LinearPullback,
                         ::testing::Values(std::make_tuple(1, 1, 1), std::make_tuple(1, 784, 10),
                                           std::make_tuple(3, 5, 7), std::make_tuple(65, 17, 13),
                                           std::make_tuple(130, 9, 11)));

// Regression: Clad v2.4 dropped the GEMM pullback call of a function that it
// differentiated once with an active and once with an inactive input (the
// hidden layers' weights got no gradient). The built-in Mlp's first layer
// reads the input batch, the others activations; this checks the hidden
// weights' gradient directly.
TEST(CladPitfalls, HiddenLayerWeightsGetTheirGradient) {
  const auto def = mlp_definition({{6, 5, 4, 3}, kernels::kTanh});
  auto params = random_vector(def->param_count, 12), x = random_vector(12, 13);
  std::vector<double> y{0, 2};
  std::vector<double> acts(def->acts_per_sample * 2, 0.0), d_acts(acts.size(), 0.0),
      d_params(def->param_count, 0.0);
  def->grad_d(def->instance.get(), params.data(), acts.data(), x.data(), y.data(), 2, d_params.data(),
              d_acts.data());
  for (int l = 1; l < 3; ++l) {
    const auto& w = def->params[2 * l];  // fc<l+1>.weight
    double norm = 0;
    for (int64_t i = w.offset; i < w.offset + w.numel; ++i) norm += std::abs(d_params[i]);
    EXPECT_GT(norm, 1e-6) << w.name << " got no gradient";
  }
}

// Float32, the engine's working precision, against a float64 reference.
// Documented tolerance: 1e-4 relative (+1e-6 absolute) for sums of up to ~800 terms.
TEST(MlpGradientFloat32, WithinTolerance) {
  const auto def = mlp_definition({{784, 256, 128, 10}, kernels::kRelu});
  const int batch = 33;
  auto params64 = random_vector(def->param_count, 14);
  for (auto& p : params64) p *= 0.05;
  auto x64 = random_vector(int64_t{batch} * 784, 15);
  std::vector<double> y64(batch);
  for (int i = 0; i < batch; ++i) y64[i] = i % 10;
  std::vector<float> params(params64.begin(), params64.end()), x(x64.begin(), x64.end()),
      y(y64.begin(), y64.end());
  std::vector<float> acts(def->acts_per_sample * batch), d_acts(acts.size()), d_params(def->param_count);
  def->grad_f(def->instance.get(), params.data(), acts.data(), x.data(), y.data(), batch, d_params.data(),
              d_acts.data());
  std::vector<double> acts64(acts.size()), d_acts64(acts.size()), d_params64(def->param_count);
  std::vector<double> params_as_f64(params.begin(), params.end()), x_as_f64(x.begin(), x.end());
  def->grad_d(def->instance.get(), params_as_f64.data(), acts64.data(), x_as_f64.data(), y64.data(), batch,
              d_params64.data(), d_acts64.data());
  EXPECT_TRUE(close(std::vector<double>(d_params.begin(), d_params.end()), d_params64, 1e-4, 1e-6));
}

// The built-in Mlp as a definition configured at run time (any depth, the
// activation chosen at run time): Clad's float64 gradient of the whole
// definition against LibTorch autograd of the same network and central
// differences.
class MlpDefinitionGradient : public ::testing::TestWithParam<std::tuple<std::vector<int64_t>, int, int>> {};

TEST_P(MlpDefinitionGradient, MatchesAutogradAndFiniteDifferences) {
  const auto [widths, act, n] = GetParam();
  const auto def = mlp_definition({widths, static_cast<kernels::Activation>(act)});
  const int64_t in = widths.front(), classes = widths.back();
  auto params = random_vector(def->param_count, 5);
  for (auto& v : params) v *= 0.5;
  auto x = random_vector(int64_t{n} * in, 6);
  std::vector<double> y(n);
  for (int i = 0; i < n; ++i) y[i] = (5 * i + 2) % classes;
  std::vector<double> acts(def->acts_per_sample * n, 0.0), d_acts(acts.size(), 0.0),
      d_params(def->param_count, 0.0);
  const double loss = def->grad_d(def->instance.get(), params.data(), acts.data(), x.data(), y.data(), n,
                                  d_params.data(), d_acts.data());
  EXPECT_TRUE(close(d_acts, std::vector<double>(d_acts.size(), 0.0), 0, 0))
      << "every block consumes the adjoint of what it wrote";

  auto p = to_tensor(params, {def->param_count}).requires_grad_();
  auto h = to_tensor(x, {n, in});
  for (size_t l = 0; l + 1 < widths.size(); ++l) {
    const auto& w = def->params[2 * l];
    const auto& b = def->params[2 * l + 1];
    h = torch::nn::functional::linear(h, p.narrow(0, w.offset, w.numel).view(w.shape),
                                      p.narrow(0, b.offset, b.numel));
    if (l + 2 < widths.size()) h = torch_activation(h, act);
  }
  auto labels = torch::tensor(y, torch::kFloat64).to(torch::kInt64);
  auto ref = torch::nn::functional::cross_entropy(h, labels);
  ref.backward();
  EXPECT_NEAR(loss, ref.item<double>(), 1e-12 * std::max(1.0, std::abs(loss)));
  EXPECT_TRUE(close(d_params, to_vector(p.grad()), kRtol, kAtol));

  auto f = [&] {
    std::vector<double> a(def->acts_per_sample * n, 0.0);
    return def->loss_d(def->instance.get(), params.data(), a.data(), x.data(), y.data(), n);
  };
  auto idx = all_indices(def->param_count, 150);
  EXPECT_TRUE(close(pick(d_params, idx), finite_differences(f, params.data(), idx), kFdRtol, kFdAtol));
}

INSTANTIATE_TEST_SUITE_P(
    DepthsActivationsBatches, MlpDefinitionGradient,
    ::testing::Values(std::make_tuple(std::vector<int64_t>{7, 3}, int(kernels::kRelu), 1),
                      std::make_tuple(std::vector<int64_t>{9, 6, 4}, int(kernels::kTanh), 1),
                      std::make_tuple(std::vector<int64_t>{9, 6, 4}, int(kernels::kSigmoid), 13),
                      std::make_tuple(std::vector<int64_t>{9, 6, 4}, int(kernels::kIdentity), 5),
                      std::make_tuple(std::vector<int64_t>{11, 8, 7, 6, 5, 5, 3}, int(kernels::kRelu), 1),
                      std::make_tuple(std::vector<int64_t>{11, 8, 7, 6, 5, 5, 3}, int(kernels::kTanh), 70),
                      std::make_tuple(std::vector<int64_t>{11, 8, 7, 6, 5, 5, 3}, int(kernels::kSigmoid), 17),
                      // The shapes the hand-unrolled 4-layer kernel was tested at.
                      std::make_tuple(std::vector<int64_t>{7, 5, 3}, int(kernels::kRelu), 67),
                      std::make_tuple(std::vector<int64_t>{13, 11, 9, 3}, int(kernels::kTanh), 5),
                      std::make_tuple(std::vector<int64_t>{9, 6, 5, 4, 3}, int(kernels::kSigmoid), 67),
                      std::make_tuple(std::vector<int64_t>{9, 6, 5, 4, 3}, int(kernels::kIdentity), 1),
                      std::make_tuple(std::vector<int64_t>{784, 128, 10}, int(kernels::kRelu), 3)));

}  // namespace
}  // namespace torchclad
