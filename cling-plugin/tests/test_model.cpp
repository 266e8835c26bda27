// The model-level engine: a steady-state training step allocates nothing,
// and its fused optimizers follow torch::optim step for step.
#include "alloc_counter.hpp"
#include "model/mlp_model.hpp"
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

class ModelLevelStep : public ::testing::TestWithParam<std::tuple<int, std::string, int>> {};

// Batches past 64 matter: Clad's tape keeps 64 entries inline and allocates
// beyond (CLAD-NOTES), and its restore_tracker allocates at any size.
TEST_P(ModelLevelStep, AllocatesNothingInSteadyState) {
  const auto [batch, optimizer, act] = GetParam();
  MlpModel model({{784, 256, 128, 10}, static_cast<Activation>(act)}, 1);
  OptimizerConfig config;
  config.kind = optimizer;
  auto opt = make_flat_optimizer(config, model.params().numel());
  auto x = torch::randn({batch, 784});
  auto labels = torch::randint(10, {batch}, torch::kInt32);
  auto step = [&] {
    model.loss_and_grad(x.data_ptr<float>(), labels.data_ptr<int32_t>(), batch);
    opt->step(model.params().data_ptr<float>(), model.grads().data_ptr<float>());
  };
  step();  // the first step at a batch size allocates its workspace
  AllocationCounter counter;
  for (int i = 0; i < 5; ++i) step();
  EXPECT_EQ(counter.count(), 0);
}

INSTANTIATE_TEST_SUITE_P(Batches, ModelLevelStep,
                         ::testing::Combine(::testing::Values(1, 64, 65, 200),
                                            ::testing::Values("sgd", "adam"),
                                            ::testing::Values(kernels::kRelu, kernels::kSigmoid)));

TEST(ModelLevel, LossAndGradientsMatchTheOperator) {
  MlpModel model({{20, 9, 4}, kernels::kTanh}, 3);
  auto x = torch::randn({6, 20});
  auto labels = torch::tensor({0, 1, 2, 3, 0, 1}, torch::kInt32);
  const float loss = model.loss_and_grad(x.data_ptr<float>(), labels.data_ptr<int32_t>(), 6);
  auto ref = model.params().detach().clone().requires_grad_();
  auto h = x;
  auto views = model.parameter_views();
  h = torch::tanh(torch::nn::functional::linear(h, views[0], views[1]));
  auto logits = torch::nn::functional::linear(h, views[2], views[3]);
  auto ref_loss = torch::nn::functional::cross_entropy(logits, labels.to(torch::kLong));
  EXPECT_NEAR(loss, ref_loss.item<float>(), 1e-5);
  EXPECT_TRUE(torch::allclose(model.forward(x), logits, 1e-5, 1e-6));
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
  EXPECT_NE(testing::error_of([&] { make_flat_optimizer(config, 3); }).find("'sgd' or 'adam', found 'lbfgs'"),
            std::string::npos);
  config.kind = "sgd";
  config.lr = -1;
  EXPECT_NE(testing::error_of([&] { make_flat_optimizer(config, 3); }).find("positive, found -1"),
            std::string::npos);
}

TEST(MlpLayout, RejectsBadShapes) {
  using model::MlpLayout;
  EXPECT_NE(testing::error_of([] { MlpLayout::make({784}, 1); }).find("found 1"), std::string::npos);
  EXPECT_NE(testing::error_of([] { MlpLayout::make({4, 4, 4, 4, 4, 4}, 1); }).find("found 6"),
            std::string::npos);
  EXPECT_NE(testing::error_of([] { MlpLayout::make({4, 0, 2}, 1); }).find("at least 1, found 0"),
            std::string::npos);
  EXPECT_NE(testing::error_of([] { MlpLayout::make({4, 2}, 0); }).find("batch must be at least 1"),
            std::string::npos);
}

}  // namespace
}  // namespace torchclad
