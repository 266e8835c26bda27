// The optimizer step that clears the gradient as it reads it
// (FlatOptimizer::step_and_clear, DefinedModel::update): the same parameters
// and state as step() to the bit, a gradient left all zero, and a model
// trained with it takes the same steps as one whose gradient is cleared by a
// pass of its own.
#include <ATen/Parallel.h>

#include <cstring>
#include <vector>

#include "alloc_counter.hpp"
#include "model/defined_model.hpp"
#include "model/mlp_definition.hpp"
#include "optim/optimizers.hpp"
#include "test_util.hpp"

namespace torchclad {
namespace {

bool same_bits(const torch::Tensor& a, const torch::Tensor& b) {
  return a.numel() == b.numel() &&
         std::memcmp(a.data_ptr<float>(), b.data_ptr<float>(), sizeof(float) * a.numel()) == 0;
}

class StepAndClear : public ::testing::TestWithParam<std::tuple<std::string, double>> {};

// 1003 parameters: the vector loop and its scalar tail. With and without
// weight decay (the update leaves out the decay term when it is 0).
TEST_P(StepAndClear, SameUpdateAsStepAndGradientLeftZero) {
  const auto [kind, decay] = GetParam();
  OptimizerConfig config;
  config.kind = kind;
  config.lr = 0.01;
  config.weight_decay = decay;
  const int64_t n = 1003;
  auto p_step = torch::randn({n});
  auto p_clear = p_step.clone();
  auto one = make_flat_optimizer(config, n), two = make_flat_optimizer(config, n);
  for (int s = 0; s < 10; ++s) {
    auto g = torch::randn({n});
    g[5] = 0;  // a zero gradient (Adam's second moment can stay 0 there)
    auto g_clear = g.clone();
    one->step(p_step.data_ptr<float>(), g.data_ptr<float>());
    two->step_and_clear(p_clear.data_ptr<float>(), g_clear.data_ptr<float>());
    ASSERT_TRUE(same_bits(p_step, p_clear))
        << "step " << s << ": max difference " << (p_step - p_clear).abs().max().item<float>();
    ASSERT_EQ(g_clear.count_nonzero().item<int64_t>(), 0) << "step " << s;
  }
  const auto a = one->state(), b = two->state();
  EXPECT_EQ(a.steps, b.steps);
  EXPECT_EQ(a.buffers, b.buffers);
}

INSTANTIATE_TEST_SUITE_P(Kinds, StepAndClear,
                         ::testing::Combine(::testing::Values("sgd", "adam"), ::testing::Values(0.0, 1e-3)));

// One model steps with update() (no clearing pass), the other with step()
// and the clearing pass in loss_and_grad: the same losses, gradients and
// parameters to the bit, one thread and two (the batch split in parts,
// whose sum is written over the gradient).
class ModelUpdate : public ::testing::TestWithParam<std::tuple<std::string, int, int>> {};

TEST_P(ModelUpdate, SameStepsAsAClearingPass) {
  const auto [kind, batch, threads] = GetParam();
  const int saved_threads = at::get_num_threads();
  at::set_num_threads(threads);
  const MlpConfig mlp{{30, 16, 5}, kernels::kRelu};
  DefinedModel cleared(mlp_definition(mlp), 4), updated(mlp_definition(mlp), 4);
  OptimizerConfig config;
  config.kind = kind;
  auto opt_cleared = make_flat_optimizer(config, cleared.params().numel());
  auto opt_updated = make_flat_optimizer(config, updated.params().numel());
  auto x = torch::randn({batch, 30});
  auto y = torch::randint(5, {batch}, torch::kFloat32);
  for (int s = 0; s < 6; ++s) {
    const float a = cleared.loss_and_grad(x.data_ptr<float>(), y.data_ptr<float>(), batch);
    const float b = updated.loss_and_grad(x.data_ptr<float>(), y.data_ptr<float>(), batch);
    ASSERT_EQ(a, b) << "step " << s;
    ASSERT_TRUE(same_bits(cleared.grads(), updated.grads())) << "step " << s;
    ASSERT_GT(updated.grads().abs().max().item<float>(), 0.f);
    opt_cleared->step(cleared.params().data_ptr<float>(), cleared.grads().data_ptr<float>());
    updated.update(*opt_updated);
    ASSERT_EQ(updated.grads().count_nonzero().item<int64_t>(), 0);
    ASSERT_TRUE(same_bits(cleared.params(), updated.params())) << "step " << s;
  }
  at::set_num_threads(saved_threads);
}

INSTANTIATE_TEST_SUITE_P(Steps, ModelUpdate,
                         ::testing::Combine(::testing::Values("sgd", "adam"), ::testing::Values(1, 40),
                                            ::testing::Values(1, 2)));

// A gradient computed after a plain step() (not cleared) is still the
// batch's own: loss_and_grad clears what update() did not.
TEST(ModelUpdate, GradientAfterAPlainStepIsTheBatchsOwn) {
  const MlpConfig mlp{{12, 8, 3}, kernels::kTanh};
  DefinedModel model(mlp_definition(mlp), 2);
  auto opt = make_flat_optimizer(OptimizerConfig{}, model.params().numel());
  auto x = torch::randn({4, 12});
  auto y = torch::randint(3, {4}, torch::kFloat32);
  model.loss_and_grad(x.data_ptr<float>(), y.data_ptr<float>(), 4);
  opt->step(model.params().data_ptr<float>(), model.grads().data_ptr<float>());  // grads kept
  model.loss_and_grad(x.data_ptr<float>(), y.data_ptr<float>(), 4);
  DefinedModel fresh(mlp_definition(mlp), 2);
  fresh.params().copy_(model.params());
  fresh.loss_and_grad(x.data_ptr<float>(), y.data_ptr<float>(), 4);
  EXPECT_TRUE(same_bits(model.grads(), fresh.grads()));
}

TEST(ModelUpdate, AllocatesNothingInSteadyState) {
  DefinedModel model(mlp_definition({{784, 128, 10}, kernels::kRelu}), 1);
  auto opt = make_flat_optimizer(OptimizerConfig{}, model.params().numel());
  auto x = torch::randn({1, 784});
  auto y = torch::zeros({1});
  auto step = [&] {
    model.loss_and_grad(x.data_ptr<float>(), y.data_ptr<float>(), 1);
    model.update(*opt);
  };
  step();  // the first step at a batch size allocates its workspace
  support::AllocationCounter counter;
  for (int i = 0; i < 5; ++i) step();
  EXPECT_EQ(counter.count(), 0);
}

}  // namespace
}  // namespace torchclad
