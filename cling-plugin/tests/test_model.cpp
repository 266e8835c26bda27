// The model-level engine (the built-in Mlp's definition in DefinedModel): a
// steady-state training step allocates nothing at any depth, and its fused
// optimizers follow torch::optim step for step.
#include "alloc_counter.hpp"
#include "model/defined_model.hpp"
#include "model/mlp_definition.hpp"
#include "optim/optimizers.hpp"
#include "test_util.hpp"

namespace torchclad {
namespace {

using support::AllocationCounter;

// The counter must see allocations, or the zero below would prove nothing.
TEST(AllocationCounter, CountsHeapAllocations) {
  AllocationCounter counter;
  auto* v = new std::vector<int>(100);
  delete v;
  void* p = malloc(16);
  free(p);
  auto t = torch::empty({10});
  EXPECT_GE(counter.count(), 4);
}

class ModelLevelStep
    : public ::testing::TestWithParam<std::tuple<int, std::string, int, std::vector<int64_t>>> {};

// Batches past 64 matter: Clad's tape keeps 64 entries inline and allocates
// beyond (CLAD-NOTES), and its restore_tracker allocates at any size.
TEST_P(ModelLevelStep, AllocatesNothingInSteadyState) {
  const auto [batch, optimizer, act, widths] = GetParam();
  DefinedModel model(mlp_definition({widths, static_cast<kernels::Activation>(act)}), 1);
  OptimizerConfig config;
  config.kind = optimizer;
  auto opt = make_flat_optimizer(config, model.params().numel());
  auto x = torch::randn({batch, widths.front()});
  auto labels = torch::randint(widths.back(), {batch}, torch::kFloat32);
  auto step = [&] {
    model.loss_and_grad(x.data_ptr<float>(), labels.data_ptr<float>(), batch);
    opt->step(model.params().data_ptr<float>(), model.grads().data_ptr<float>());
  };
  step();  // the first step at a batch size allocates its workspace
  AllocationCounter counter;
  for (int i = 0; i < 5; ++i) step();
  EXPECT_EQ(counter.count(), 0);
}

INSTANTIATE_TEST_SUITE_P(
    Batches, ModelLevelStep,
    ::testing::Combine(::testing::Values(1, 64, 65, 200), ::testing::Values("sgd", "adam"),
                       ::testing::Values(kernels::kRelu, kernels::kSigmoid),
                       ::testing::Values(std::vector<int64_t>{784, 256, 128, 10},
                                         std::vector<int64_t>{50, 40, 30, 20, 20, 20, 10})));

TEST(ModelLevel, LossAndGradientsMatchLibTorch) {
  DefinedModel model(mlp_definition({{20, 9, 4}, kernels::kTanh}), 3);
  auto x = torch::randn({6, 20});
  auto labels = torch::tensor({0, 1, 2, 3, 0, 1}, torch::kInt64);
  auto targets = labels.to(torch::kFloat32);
  const float loss = model.loss_and_grad(x.data_ptr<float>(), targets.data_ptr<float>(), 6);
  auto ref = model.params().detach().clone().requires_grad_();
  std::vector<torch::Tensor> views;
  for (const auto& p : model.definition().params)
    views.push_back(ref.narrow(0, p.offset, p.numel).view(p.shape));
  auto h = torch::tanh(torch::nn::functional::linear(x, views[0], views[1]));
  auto logits = torch::nn::functional::linear(h, views[2], views[3]);
  auto ref_loss = torch::nn::functional::cross_entropy(logits, labels);
  ref_loss.backward();
  EXPECT_NEAR(loss, ref_loss.item<float>(), 1e-5);
  EXPECT_TRUE(torch::allclose(model.grads(), ref.grad(), 1e-4, 1e-6));
  EXPECT_TRUE(torch::allclose(model.forward(x), logits.detach(), 1e-5, 1e-6));
}

// Parameters in torch.nn.Linear's order and initialisation from the seed:
// what the built-in MLP engine drew before it became a definition.
TEST(ModelLevel, StartsFromTorchNnLinearsInitialisationOfTheSeed) {
  const std::vector<int64_t> widths{12, 7, 5, 3};
  DefinedModel model(mlp_definition({widths, kernels::kRelu}), 11);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(11);
  std::vector<float> expected;
  for (size_t l = 0; l + 1 < widths.size(); ++l) {
    const double bound = 1.0 / std::sqrt(double(widths[l]));
    auto w = torch::empty({widths[l + 1] * widths[l]}).uniform_(-bound, bound, gen);
    auto b = torch::empty({widths[l + 1]}).uniform_(-bound, bound, gen);
    for (auto t : {w, b})
      expected.insert(expected.end(), t.data_ptr<float>(), t.data_ptr<float>() + t.numel());
  }
  ASSERT_EQ(model.params().numel(), static_cast<int64_t>(expected.size()));
  EXPECT_TRUE(torch::equal(model.params(), torch::tensor(expected)));
  std::vector<std::string> names;
  for (const auto& p : model.definition().params) names.push_back(p.name);
  EXPECT_EQ(names, (std::vector<std::string>{"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "fc3.weight",
                                             "fc3.bias"}));
  EXPECT_EQ(model.definition().name, "mlp-12-7-5-3");
  EXPECT_EQ(mlp_definition_name({widths, kernels::kTanh}), "mlp-12-7-5-3-tanh");
}

// The message of the std::exception (the definition registry's errors) that f throws.
std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

// Widths the Mlp cannot have; a name of the family that is malformed.
TEST(ModelLevel, MlpDefinitionRejectsBadWidthsByName) {
  EXPECT_NE(message_of([] {
              mlp_definition({{784}, kernels::kRelu});
            }).find("widths must list 2 to 65 sizes (input, hidden..., classes), found 1"),
            std::string::npos);
  EXPECT_NE(message_of([] {
              mlp_definition({{4, 0, 2}, kernels::kRelu});
            }).find("every width must be at least 1 (and below 2^30), found 0"),
            std::string::npos);
  EXPECT_NE(message_of([] { define::find_definition("mlp-4-x-2"); }).find("'x' is not a width >= 1"),
            std::string::npos);
  EXPECT_NE(message_of([] {
              define::find_definition("mlp-4-2-gelu");
            }).find("ends in widths or an activation (identity, relu, tanh, sigmoid), found 'gelu'"),
            std::string::npos);
  EXPECT_EQ(define::find_definition("mlp-4-3-2-sigmoid")->params.size(), 4u);
}

// Same start, same gradients: the flat optimizers must track torch::optim.
class FlatOptimizerMatchesTorch : public ::testing::TestWithParam<std::string> {};

TEST_P(FlatOptimizerMatchesTorch, OverTenSteps) {
  OptimizerConfig config;
  config.kind = GetParam();
  config.lr = 0.01;
  config.weight_decay = 0.001;
  auto p_flat = torch::randn({37});
  auto p_torch = p_flat.clone().requires_grad_();
  auto flat = make_flat_optimizer(config, 37);
  auto reference = make_torch_optimizer(config, {p_torch});
  for (int step = 0; step < 10; ++step) {
    auto g = torch::randn({37});
    flat->step(p_flat.data_ptr<float>(), g.data_ptr<float>());
    p_torch.mutable_grad() = g.clone();
    reference->step();
  }
  EXPECT_TRUE(torch::allclose(p_flat, p_torch.detach(), 1e-5, 1e-6))
      << (p_flat - p_torch.detach()).abs().max().item<float>();
}

INSTANTIATE_TEST_SUITE_P(Kinds, FlatOptimizerMatchesTorch, ::testing::Values("sgd", "adam"));

TEST(Optimizers, RejectUnknownKindAndBadLearningRate) {
  OptimizerConfig config;
  config.kind = "lbfgs";
  EXPECT_NE(message_of([&] { make_flat_optimizer(config, 3); }).find("'sgd' or 'adam', found 'lbfgs'"),
            std::string::npos);
  config.kind = "sgd";
  config.lr = -1;
  EXPECT_NE(message_of([&] { make_flat_optimizer(config, 3); }).find("positive, found -1"),
            std::string::npos);
}

}  // namespace
}  // namespace torchclad
