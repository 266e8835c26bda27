// The op-level engine from C++: torchclad operators inside LibTorch autograd
// graphs, mixed with LibTorch ops, and their argument errors; the built-in
// Mlp and Cnn as operators (mlp_cross_entropy, model_loss of a Cnn's name).
#include <string>
#include <thread>
#include <tuple>

#include "model/cnn_definition.hpp"
#include "ops/model_ops.hpp"
#include "ops/ops.hpp"
#include "test_util.hpp"

namespace torchclad {
namespace {

using testing::error_of;

// x -> torch matmul -> torchclad linear -> torch sin -> torchclad tanh ->
// torchclad linear -> torchclad cross_entropy, against the same graph built
// from LibTorch ops only (float64).
TEST(OpLevel, MixesWithLibTorchOpsInOneGraph) {
  torch::manual_seed(0);
  auto x = torch::randn({5, 6}, torch::kFloat64);
  auto a = torch::randn({6, 7}, torch::kFloat64).requires_grad_();
  auto w1 = torch::randn({4, 7}, torch::kFloat64).requires_grad_();
  auto b1 = torch::randn({4}, torch::kFloat64).requires_grad_();
  auto w2 = torch::randn({3, 4}, torch::kFloat64).requires_grad_();
  auto b2 = torch::randn({3}, torch::kFloat64).requires_grad_();
  auto target = torch::tensor({0, 2, 1, 1, 0});
  auto run = [&](bool clad) {
    auto h = x.matmul(a);
    h = clad ? torchclad::linear(h, w1, b1) : torch::nn::functional::linear(h, w1, b1);
    h = torch::sin(h);
    h = clad ? torchclad::tanh(h) : torch::tanh(h);
    h = clad ? torchclad::linear(h, w2, b2) : torch::nn::functional::linear(h, w2, b2);
    auto loss = clad ? torchclad::cross_entropy(h, target) : torch::nn::functional::cross_entropy(h, target);
    auto grads = torch::autograd::grad({loss}, {a, w1, b1, w2, b2});
    grads.insert(grads.begin(), loss);
    return grads;
  };
  auto with_clad = run(true), reference = run(false);
  for (size_t i = 0; i < reference.size(); ++i)
    EXPECT_TRUE(torch::allclose(with_clad[i], reference[i], 1e-10, 1e-12)) << "output " << i;
}

TEST(OpLevel, MseAndSigmoidGradients) {
  auto x = torch::randn({4, 3}, torch::kFloat64).requires_grad_();
  auto t = torch::randn({4, 3}, torch::kFloat64);
  auto g = torch::autograd::grad({torchclad::mse_loss(torchclad::sigmoid(x), t)}, {x})[0];
  auto r = torch::autograd::grad({torch::nn::functional::mse_loss(torch::sigmoid(x), t)}, {x})[0];
  EXPECT_TRUE(torch::allclose(g, r, 1e-10, 1e-12));
}

TEST(OpLevel, ModelLevelNodeGivesTheParametersGradient) {
  const std::vector<int64_t> widths{8, 6, 3};
  auto params = (0.3 * torch::randn({8 * 6 + 6 + 6 * 3 + 3}, torch::kFloat64)).requires_grad_();
  auto x = torch::randn({4, 8}, torch::kFloat64);
  auto target = torch::tensor({0, 1, 2, 1});
  auto loss = torchclad::mlp_cross_entropy(x, target, params, widths, kernels::kRelu);
  auto g = torch::autograd::grad({2 * loss}, {params})[0];  // upstream gradient 2
  auto p = params.detach().requires_grad_();
  auto h = torch::relu(torch::nn::functional::linear(x, p.narrow(0, 0, 48).view({6, 8}), p.narrow(0, 48, 6)));
  h = torch::nn::functional::linear(h, p.narrow(0, 54, 18).view({3, 6}), p.narrow(0, 72, 3));
  auto ref_loss = torch::nn::functional::cross_entropy(h, target);
  auto r = torch::autograd::grad({2 * ref_loss}, {p})[0];
  EXPECT_NEAR(loss.item<double>(), ref_loss.item<double>(), 1e-12);
  EXPECT_TRUE(torch::allclose(g, r, 1e-10, 1e-12));
}

// Any depth through the operator (it runs the built-in Mlp definition of
// its widths): a 6-layer MLP's gradient from torchclad::mlp_cross_entropy
// against LibTorch autograd of the same network on views of the flat
// parameters (float64, relative 1e-9) and against central differences of the
// operator's own loss, at batch 1 and 37.
class SixLayerMlpOp : public ::testing::TestWithParam<std::tuple<int, int>> {};  // batch, activation

const std::vector<int64_t> kSixLayers{11, 9, 8, 7, 6, 5, 4};

int64_t mlp_param_count(const std::vector<int64_t>& widths) {
  int64_t count = 0;
  for (size_t l = 0; l + 1 < widths.size(); ++l) count += widths[l + 1] * (widths[l] + 1);
  return count;
}

// Linear, act, ..., Linear on views (W_0, b_0, W_1, b_1, ...) of p, and the
// mean cross-entropy: LibTorch ops only.
torch::Tensor libtorch_mlp_loss(const torch::Tensor& x, const torch::Tensor& target, const torch::Tensor& p,
                                const std::vector<int64_t>& widths, Activation act) {
  torch::Tensor h = x;
  int64_t offset = 0;
  for (size_t l = 0; l + 1 < widths.size(); ++l) {
    const int64_t in = widths[l], out = widths[l + 1];
    auto w = p.narrow(0, offset, out * in).view({out, in});
    auto b = p.narrow(0, offset + out * in, out);
    offset += out * (in + 1);
    h = torch::nn::functional::linear(h, w, b);
    if (l + 2 < widths.size())
      h = act == kernels::kRelu      ? torch::relu(h)
          : act == kernels::kTanh    ? torch::tanh(h)
          : act == kernels::kSigmoid ? torch::sigmoid(h)
                                     : h;
  }
  return torch::nn::functional::cross_entropy(h, target);
}

TEST_P(SixLayerMlpOp, GradientMatchesAutogradAndFiniteDifferences) {
  const auto [batch, kind] = GetParam();
  const auto act = static_cast<Activation>(kind);
  const int64_t count = mlp_param_count(kSixLayers);
  auto values = testing::random_vector(count, 21);
  for (auto& v : values) v *= 0.5;
  auto x = testing::to_tensor(testing::random_vector(batch * kSixLayers[0], 22), {batch, kSixLayers[0]});
  std::vector<int64_t> labels(batch);
  for (int i = 0; i < batch; ++i) labels[i] = (3 * i + 1) % kSixLayers.back();
  auto target = torch::tensor(labels);

  auto params = testing::to_tensor(values, {count}).requires_grad_();
  auto loss = torchclad::mlp_cross_entropy(x, target, params, kSixLayers, act);
  const auto g = testing::to_vector(torch::autograd::grad({loss}, {params})[0]);

  auto p = params.detach().clone().requires_grad_();
  auto ref = libtorch_mlp_loss(x, target, p, kSixLayers, act);
  const auto r = testing::to_vector(torch::autograd::grad({ref}, {p})[0]);
  EXPECT_NEAR(loss.item<double>(), ref.item<double>(), 1e-12 * std::max(1.0, std::abs(ref.item<double>())));
  EXPECT_TRUE(testing::close(g, r, 1e-9, 1e-12));

  // The _with_grad operator (the autograd node's forward) gives the same.
  auto [loss2, g2] = torchclad::mlp_cross_entropy_with_grad(x, target, params.detach(), kSixLayers, act);
  EXPECT_EQ(loss2.item<double>(), loss.item<double>());
  EXPECT_TRUE(testing::close(testing::to_vector(g2), g, 0, 0));

  // Central differences of the operator's forward pass (no autograd node).
  auto f = [&] {
    torch::NoGradGuard no_grad;
    auto p_now = torch::from_blob(values.data(), {count}, torch::kFloat64);
    return torchclad::mlp_cross_entropy(x, target, p_now, kSixLayers, act).item<double>();
  };
  auto idx = testing::all_indices(count, 200);
  EXPECT_TRUE(
      testing::close(testing::pick(g, idx), testing::finite_differences(f, values.data(), idx), 1e-5, 1e-7));
}

INSTANTIATE_TEST_SUITE_P(Batches, SixLayerMlpOp,
                         ::testing::Combine(::testing::Values(1, 37),
                                            ::testing::Values(int(kernels::kRelu), int(kernels::kTanh))));

// Float32 through the operator, against the float64 reference (1e-4
// relative, as the definition's float32 gradient is documented).
TEST(OpLevel, SixLayerMlpFloat32) {
  const int64_t count = mlp_param_count(kSixLayers);
  auto p64 = 0.5 * torch::randn({count}, torch::kFloat64);
  auto x64 = torch::randn({9, kSixLayers[0]}, torch::kFloat64);
  auto target = torch::randint(kSixLayers.back(), {9});
  auto p32 = p64.to(torch::kFloat32).requires_grad_();
  auto loss = torchclad::mlp_cross_entropy(x64.to(torch::kFloat32), target, p32, kSixLayers, kernels::kTanh);
  EXPECT_EQ(loss.scalar_type(), torch::kFloat32);
  auto g = torch::autograd::grad({loss}, {p32})[0];
  auto p = p32.detach().to(torch::kFloat64).requires_grad_();
  auto ref =
      libtorch_mlp_loss(x64.to(torch::kFloat32).to(torch::kFloat64), target, p, kSixLayers, kernels::kTanh);
  auto r = torch::autograd::grad({ref}, {p})[0];
  EXPECT_NEAR(loss.item<double>(), ref.item<double>(), 1e-5);
  EXPECT_TRUE(testing::close(testing::to_vector(g), testing::to_vector(r), 1e-4, 1e-6));
}

// Calls from several threads at once, each depth and activation new to the
// process (the first call of each makes its definition), give what one
// thread computes alone.
TEST(OpLevel, MlpOpFromManyThreadsAtOnce) {
  struct Case {
    std::vector<int64_t> widths;
    Activation act;
    torch::Tensor x, target, params, loss, grad;
  };
  std::vector<Case> cases;
  for (int depth = 1; depth <= 8; ++depth) {
    std::vector<int64_t> widths{5};
    for (int l = 1; l < depth; ++l) widths.push_back(3 + l);
    widths.push_back(3);
    Case c{widths, depth % 2 ? kernels::kSigmoid : kernels::kIdentity};
    c.x = torch::randn({4, 5}, torch::kFloat64);
    c.target = torch::randint(3, {4});
    c.params = 0.5 * torch::randn({mlp_param_count(widths)}, torch::kFloat64);
    cases.push_back(std::move(c));
  }
  std::vector<std::thread> threads;
  for (auto& c : cases)
    threads.emplace_back([&c] {
      for (int repeat = 0; repeat < 20; ++repeat)
        std::tie(c.loss, c.grad) =
            torchclad::mlp_cross_entropy_with_grad(c.x, c.target, c.params, c.widths, c.act);
    });
  for (auto& t : threads) t.join();
  for (auto& c : cases) {
    auto p = c.params.clone().requires_grad_();
    auto ref = libtorch_mlp_loss(c.x, c.target, p, c.widths, c.act);
    auto r = torch::autograd::grad({ref}, {p})[0];
    EXPECT_NEAR(c.loss.item<double>(), ref.item<double>(), 1e-12) << c.widths.size() - 1 << " layers";
    EXPECT_TRUE(testing::close(testing::to_vector(c.grad), testing::to_vector(r), 1e-9, 1e-12))
        << c.widths.size() - 1 << " layers";
  }
}

// The built-in Cnn as an operator: torchclad::model_loss of the Cnn's name
// (cnn_definition_name: "cnn-<length>-c<channels>k<kernel>p<pool>-...-h<hidden>")
// runs the Cnn definition of that configuration (models/cnn_of_blocks.h) and
// its Clad gradient, on one flat parameter tensor in torch.nn's order.
struct CnnOpCase {
  CnnConfig config;
  int batch;
  std::string name;
};

// Conv1d -> ReLU -> MaxPool1d per block, flatten, Linear -> ReLU -> Linear to
// one logit, mean BCE with logits, on views of p taken in torch.nn's order
// (conv1.weight [channels, in, kernel], conv1.bias, ..., fc1.weight
// [hidden, features], fc1.bias, fc2.weight [1, hidden], fc2.bias): LibTorch
// ops only. Checks that p holds exactly these parameters.
torch::Tensor libtorch_cnn_loss(const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& p,
                                const CnnConfig& c) {
  int64_t offset = 0;
  auto take = [&](std::vector<int64_t> shape) {
    int64_t numel = 1;
    for (int64_t s : shape) numel *= s;
    auto t = p.narrow(0, offset, numel).view(shape);
    offset += numel;
    return t;
  };
  auto h = x.unsqueeze(1);
  int64_t in = 1;
  for (const auto& b : c.blocks) {
    auto w = take({b.channels, in, b.kernel});
    auto bias = take({b.channels});
    h = torch::max_pool1d(torch::relu(torch::conv1d(h, w, bias)), b.pool);
    in = b.channels;
  }
  h = h.flatten(1);
  auto w1 = take({c.hidden, h.size(1)});
  auto b1 = take({c.hidden});
  h = torch::relu(torch::nn::functional::linear(h, w1, b1));
  auto w2 = take({1, c.hidden});
  auto b2 = take({1});
  auto logits = torch::nn::functional::linear(h, w2, b2).squeeze(1);
  EXPECT_EQ(offset, p.numel()) << "the parameters are not torch.nn's of this Cnn";
  return torch::binary_cross_entropy_with_logits(logits, y);
}

int64_t cnn_param_count(const CnnConfig& c) {
  int64_t count = 0, in = 1, length = c.input_length;
  for (const auto& b : c.blocks) {
    count += int64_t{b.channels} * (in * b.kernel + 1);
    in = b.channels;
    length = (length - b.kernel + 1) / b.pool;
  }
  return count + c.hidden * (in * length + 1) + c.hidden + 1;
}

// Targets 0 and 1 alternating, as float64.
torch::Tensor binary_targets(int batch) {
  std::vector<double> y(batch);
  for (int i = 0; i < batch; ++i) y[i] = (3 * i + 1) % 2;
  return testing::to_tensor(y, {batch});
}

// The gradient through the operator's autograd node against LibTorch
// autograd of the same network (float64, relative 1e-9) and against central
// differences of the operator's own loss, at batch 1 and more, one to four
// blocks, odd lengths and pools that leave a partial window.
class CnnOp : public ::testing::TestWithParam<CnnOpCase> {};

TEST_P(CnnOp, GradientMatchesAutogradAndFiniteDifferences) {
  const auto& c = GetParam();
  const std::string name = cnn_definition_name(c.config);
  const int64_t count = cnn_param_count(c.config);
  auto values = testing::random_vector(count, 31);
  for (auto& v : values) v *= 0.3;
  auto x = testing::to_tensor(testing::random_vector(int64_t{c.batch} * c.config.input_length, 32),
                              {c.batch, c.config.input_length});
  auto y = binary_targets(c.batch);

  auto params = testing::to_tensor(values, {count}).requires_grad_();
  auto loss = torchclad::model_loss(name, params, x, y);
  const auto g = testing::to_vector(torch::autograd::grad({loss}, {params})[0]);

  auto p = params.detach().clone().requires_grad_();
  auto ref = libtorch_cnn_loss(x, y, p, c.config);
  const auto r = testing::to_vector(torch::autograd::grad({ref}, {p})[0]);
  EXPECT_NEAR(loss.item<double>(), ref.item<double>(), 1e-12 * std::max(1.0, std::abs(ref.item<double>())));
  EXPECT_TRUE(testing::close(g, r, 1e-9, 1e-12));

  // An upstream gradient scales it.
  auto params2 = params.detach().clone().requires_grad_();
  auto g3 = torch::autograd::grad({3 * torchclad::model_loss(name, params2, x, y)}, {params2})[0];
  EXPECT_TRUE(testing::close(testing::to_vector(g3 / 3), g, 1e-15, 0));

  // Central differences of the operator's forward pass (no autograd node).
  auto f = [&] {
    torch::NoGradGuard no_grad;
    auto p_now = torch::from_blob(values.data(), {count}, torch::kFloat64);
    return torchclad::model_loss(name, p_now, x, y).item<double>();
  };
  auto idx = testing::all_indices(count, 150);
  EXPECT_TRUE(
      testing::close(testing::pick(g, idx), testing::finite_differences(f, values.data(), idx), 1e-5, 1e-7));
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, CnnOp,
    ::testing::Values(CnnOpCase{{23, {{2, 4, 4}}, 3}, 1, "one_block_b1"},
                      CnnOpCase{{41, {{3, 5, 2}, {4, 3, 3}}, 6}, 1, "two_blocks_b1"},
                      CnnOpCase{{41, {{3, 5, 2}, {4, 3, 3}}, 6}, 5, "two_blocks_b5"},
                      CnnOpCase{{97, {{3, 4, 2}, {5, 3, 2}, {2, 3, 2}, {3, 2, 2}}, 5}, 3, "four_blocks_b3"},
                      CnnOpCase{{}, 1, "gw_default_b1"}),
    [](const auto& info) { return info.param.name; });

// Float32 through the operator (the gravitational-wave default), against the
// float64 reference of the same values (1e-4 relative).
TEST(OpLevel, CnnFloat32) {
  const CnnConfig config;
  const int64_t count = cnn_param_count(config);
  auto p32 = (0.1 * torch::randn({count}, torch::kFloat64)).to(torch::kFloat32).requires_grad_();
  auto x32 = torch::randn({4, config.input_length});
  auto y = binary_targets(4);
  auto loss = torchclad::model_loss(cnn_definition_name(config), p32, x32, y.to(torch::kFloat32));
  EXPECT_EQ(loss.scalar_type(), torch::kFloat32);
  auto g = torch::autograd::grad({loss}, {p32})[0];
  auto p = p32.detach().to(torch::kFloat64).requires_grad_();
  auto ref = libtorch_cnn_loss(x32.to(torch::kFloat64), y, p, config);
  auto r = torch::autograd::grad({ref}, {p})[0];
  EXPECT_NEAR(loss.item<double>(), ref.item<double>(), 1e-5);
  EXPECT_TRUE(testing::close(testing::to_vector(g), testing::to_vector(r), 1e-4, 1e-6));
}

// Calls from several threads at once, each configuration new to the process
// (the first call of each makes its definition), give what LibTorch computes.
TEST(OpLevel, CnnOpFromManyThreadsAtOnce) {
  struct Case {
    CnnConfig config;
    torch::Tensor x, y, params, loss, grad;
  };
  std::vector<Case> cases;
  for (int i = 0; i < 8; ++i) {
    CnnConfig config{50 + 7 * i, {}, 3 + i};
    for (int b = 0; b <= i % 4; ++b) config.blocks.push_back({2 + (i + b) % 3, 2 + b % 2, 2});
    Case c{config};
    c.x = torch::randn({3, config.input_length}, torch::kFloat64);
    c.y = binary_targets(3);
    c.params = 0.5 * torch::randn({cnn_param_count(config)}, torch::kFloat64);
    cases.push_back(std::move(c));
  }
  std::vector<std::thread> threads;
  for (auto& c : cases)
    threads.emplace_back([&c] {
      const std::string name = cnn_definition_name(c.config);
      for (int repeat = 0; repeat < 20; ++repeat) {
        auto p = c.params.clone().requires_grad_();
        c.loss = torchclad::model_loss(name, p, c.x, c.y);
        c.grad = torch::autograd::grad({c.loss}, {p})[0];
      }
    });
  for (auto& t : threads) t.join();
  for (auto& c : cases) {
    const std::string name = cnn_definition_name(c.config);
    auto p = c.params.clone().requires_grad_();
    auto ref = libtorch_cnn_loss(c.x, c.y, p, c.config);
    auto r = torch::autograd::grad({ref}, {p})[0];
    EXPECT_NEAR(c.loss.item<double>(), ref.item<double>(), 1e-12) << name;
    EXPECT_TRUE(testing::close(testing::to_vector(c.grad), testing::to_vector(r), 1e-9, 1e-12)) << name;
  }
}

// The Cnn operator's errors name what was expected and what was found.
TEST(OpLevel, CnnOpErrors) {
  const CnnConfig config{41, {{3, 5, 2}, {4, 3, 3}}, 6};
  const std::string name = cnn_definition_name(config);
  const int64_t count = cnn_param_count(config);
  auto p = torch::randn({count}), x = torch::randn({2, 41}), y = torch::ones({2});
  EXPECT_NE(error_of([&] {
              torchclad::model_loss(name, p.narrow(0, 0, count - 1), x, y);
            }).find("params size(0) must be " + std::to_string(count)),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              torchclad::model_loss(name, p, torch::randn({2, 40}), y);
            }).find("input size(1) must be 41"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              torchclad::model_loss(name, p, x, torch::ones({3}));
            }).find("target must hold 1 value(s) per sample (2 values), found 3"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              torchclad::model_loss(name, p, torch::randn({0, 41}), torch::ones({0}));
            }).find("empty batch"),
            std::string::npos);
  EXPECT_NE(error_of([&] { torchclad::model_loss("cnn-10-c2k11p1-h4", torch::randn({4}), x, y); })
                .find("torchclad::model_loss: model 'cnn-10-c2k11p1-h4': Cnn: block 0 (kernel 11, pool 1) on "
                      "10 samples: the signal "
                      "shrinks to nothing"),
            std::string::npos);
  // The operator still works after the errors.
  EXPECT_EQ(torchclad::model_loss(name, p, x, y).dim(), 0);
}

TEST(OpLevel, ErrorsNameTheArgumentTheExpectationAndWhatWasFound) {
  auto x = torch::randn({4, 3}), w = torch::randn({2, 3}), b = torch::randn({2});
  EXPECT_NE(error_of([&] {
              torchclad::linear(x.to(torch::kInt32), w, b);
            }).find("torchclad::linear: input must be float32 or float64, found Int"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              torchclad::linear(x.view({12}), w, b);
            }).find("input must be 2-D [batch, in_features], found 1-D"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              torchclad::linear(x, torch::randn({2, 5}), b);
            }).find("weight size(1) must be 3 (in_features of the input), found 5"),
            std::string::npos);
  EXPECT_NE(
      error_of([&] { torchclad::linear(torch::randn({3, 4}).t(), w, b); }).find("input must be contiguous"),
      std::string::npos);
  EXPECT_NE(error_of([&] { torchclad::linear(torch::randn({0, 3}), w, b); }).find("empty batch"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              torchclad::linear(x, w.to(torch::kFloat64), b);
            }).find("weight must have the dtype of input (Float), found Double"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              torchclad::cross_entropy(x, torch::tensor({0, 1, 3, 2}));
            }).find("target[2] = 3 is out of range; expected a class index in [0, 3)"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              torchclad::cross_entropy(x, torch::zeros({4}));
            }).find("target must be int64 class indices, found Float"),
            std::string::npos);
  EXPECT_NE(
      error_of([&] {
        torchclad::activation(x, static_cast<Activation>(9));
      }).find("torchclad::activation: kind must be 0 (identity), 1 (relu), 2 (tanh) or 3 (sigmoid), found 9"),
      std::string::npos);
  EXPECT_NE(error_of([&] {
              torchclad::mlp_cross_entropy(x, torch::tensor({0, 1, 1, 0}), torch::randn({5}),
                                           std::vector<int64_t>{3, 2}, kernels::kRelu);
            }).find("params size(0) must be 8"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              torchclad::mlp_cross_entropy(x, torch::tensor({0, 1, 1, 0}), torch::randn({8}),
                                           std::vector<int64_t>(67, 3), kernels::kRelu);
            }).find("widths must list 2 to 65 sizes (input, hidden..., output), found 67"),
            std::string::npos);
  // The operators still work after the errors.
  EXPECT_EQ(torchclad::linear(x, w, b).sizes(), (std::vector<int64_t>{4, 2}));
}

TEST(OpLevel, NanAndInfPropagateAsInLibTorch) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  auto x = torch::tensor({1.0, nan, 2.0, inf, 0.5, -1.0}, torch::kFloat64).view({2, 3}).requires_grad_();
  auto target = torch::tensor({0, 2});
  auto loss = torchclad::cross_entropy(torchclad::tanh(x), target);
  auto ref = torch::nn::functional::cross_entropy(torch::tanh(x), target);
  EXPECT_TRUE(std::isnan(loss.item<double>()) && std::isnan(ref.item<double>()));
  auto y = torchclad::relu(x), ry = torch::relu(x);
  EXPECT_TRUE(torch::allclose(y, ry, 0, 0, /*equal_nan=*/true));
  auto g = torch::autograd::grad({torchclad::tanh(x).sum()}, {x})[0];
  auto rg = torch::autograd::grad({torch::tanh(x).sum()}, {x})[0];
  EXPECT_TRUE(torch::allclose(g, rg, 1e-12, 0, /*equal_nan=*/true)) << g << rg;
}

TEST(OpLevel, MetaTensorsGiveShapesWithoutData) {
  auto x = torch::empty({5, 3}, torch::kMeta), w = torch::empty({2, 3}, torch::kMeta),
       b = torch::empty({2}, torch::kMeta);
  auto y = torchclad::linear(x, w, b);
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{5, 2}));
  EXPECT_TRUE(y.is_meta());
  EXPECT_EQ(
      torchclad::cross_entropy(y, torch::empty({5}, torch::dtype(torch::kLong).device(torch::kMeta))).dim(),
      0);
}

}  // namespace
}  // namespace torchclad
