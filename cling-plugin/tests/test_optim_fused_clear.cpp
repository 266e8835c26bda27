// The optimizer step that clears the gradient as it reads it
// (FlatOptimizer::step_and_clear, DefinedModel::update), and the step at
// batch 1 that updates the Linear weights in their pullbacks
// (DefinedModel::fused_step): the same parameters
// and state as step() to the bit, a gradient left all zero, and a model
// trained with it takes the same steps as one whose gradient is cleared by a
// pass of its own.
#include <ATen/Parallel.h>

#include <cstring>
#include <tuple>
#include <vector>

#include "alloc_counter.hpp"
#include "model/defined_model.hpp"
#include "define/fused_weight_update.hpp"
#include "model/cnn_definition.hpp"
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

// A step in parts (begin_step, update_outer for a weight whose gradient is
// dy ⊗ x, update_range_and_clear for the rest, in any order) gives
// step_and_clear's parameters and state to the bit. The weight [7, 37] at
// offset 3 of 1003: rows that start and end inside a vector of 16, ranges
// before and after it with tails of their own.
TEST_P(StepAndClear, InPartsSameAsWhole) {
  const auto [kind, decay] = GetParam();
  OptimizerConfig config;
  config.kind = kind;
  config.lr = 0.01;
  config.weight_decay = decay;
  const int64_t n = 1003, offset = 3;
  const int out = 7, in = 37;
  auto p_whole = torch::randn({n});
  auto p_parts = p_whole.clone();
  auto whole = make_flat_optimizer(config, n), parts = make_flat_optimizer(config, n);
  for (int s = 0; s < 10; ++s) {
    auto dy = torch::randn({out}), x = torch::randn({in});
    x[4] = 0;  // a zero gradient in every row
    auto g = torch::randn({n});
    g.narrow(0, offset, out * in).copy_(torch::outer(dy, x).reshape({-1}));
    auto g_parts = g.clone();
    g_parts.narrow(0, offset, out * in).zero_();  // never written in a fused step
    whole->step_and_clear(p_whole.data_ptr<float>(), g.data_ptr<float>());
    parts->begin_step();
    parts->update_range_and_clear(p_parts.data_ptr<float>(), g_parts.data_ptr<float>(), offset + out * in, n);
    parts->update_outer(p_parts.data_ptr<float>(), offset, dy.data_ptr<float>(), x.data_ptr<float>(), out,
                        in);
    parts->update_range_and_clear(p_parts.data_ptr<float>(), g_parts.data_ptr<float>(), 0, offset);
    ASSERT_TRUE(same_bits(p_whole, p_parts))
        << "step " << s << ": max difference " << (p_whole - p_parts).abs().max().item<float>();
    ASSERT_EQ(g_parts.count_nonzero().item<int64_t>(), 0) << "step " << s;
  }
  const auto a = whole->state(), b = parts->state();
  EXPECT_EQ(a.steps, b.steps);
  EXPECT_EQ(a.buffers, b.buffers);
}

// DefinedModel::fused_step (batch 1, the Linear weights updated in their
// pullbacks) against loss_and_grad then update(): the same losses,
// parameters and optimizer state to the bit, the gradient left zero; for the
// built-in Mlp at several depths and the built-in Cnn (its fc layers), with
// per-sample weights.
class FusedStep : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

std::shared_ptr<define::Definition> definition_named(const std::string& which) {
  if (which == "cnn") return cnn_definition(CnnConfig{64, {{4, 5, 2}, {6, 3, 2}}, 8});
  if (which == "mlp-deep") return mlp_definition({{20, 16, 12, 9, 6, 4}, kernels::kTanh});
  return mlp_definition({{784, 128, 10}, kernels::kRelu});
}

TEST_P(FusedStep, SameStepsAsLossAndGradThenUpdate) {
  const auto [which, kind] = GetParam();
  const auto def = definition_named(which);
  ASSERT_TRUE(def->weights_read_once);
  DefinedModel plain(def, 9), fused(def, 9);
  ASSERT_TRUE(fused.fuses(1));
  ASSERT_FALSE(fused.fuses(2));
  OptimizerConfig config;
  config.kind = kind;
  config.lr = 0.01;
  config.weight_decay = 1e-4;
  auto opt_plain = make_flat_optimizer(config, plain.params().numel());
  auto opt_fused = make_flat_optimizer(config, fused.params().numel());
  const bool binary = which == "cnn";
  for (int s = 0; s < 6; ++s) {
    auto x = torch::randn({1, def->inputs});
    auto y = binary ? torch::randint(2, {1, 1}, torch::kFloat32)
                    : torch::randint(def->classes, {1}, torch::kFloat32);
    auto w = torch::full({1}, 0.5f + s);
    const float* wp = s % 2 ? w.data_ptr<float>() : nullptr;
    const float a = plain.loss_and_grad(x.data_ptr<float>(), y.data_ptr<float>(), 1, wp);
    plain.update(*opt_plain);
    const float b = fused.fused_step(x.data_ptr<float>(), y.data_ptr<float>(), wp, *opt_fused);
    ASSERT_EQ(a, b) << "step " << s;
    ASSERT_TRUE(same_bits(plain.params(), fused.params()))
        << "step " << s << ": max difference " << (plain.params() - fused.params()).abs().max().item<float>();
    ASSERT_EQ(fused.grads().count_nonzero().item<int64_t>(), 0) << "step " << s;
  }
  EXPECT_EQ(opt_plain->state().buffers, opt_fused->state().buffers);
  // The steps moved the parameters (else the comparison would prove little).
  EXPECT_FALSE(same_bits(plain.params(), DefinedModel(def, 9).params()));
}

INSTANTIATE_TEST_SUITE_P(Definitions, FusedStep,
                         ::testing::Combine(::testing::Values("mlp", "mlp-deep", "cnn"),
                                            ::testing::Values("sgd", "adam")));

// The Linear pullbacks of torchclad/nn.h offer each weight to the thread's
// fused update at batch 1, with dy and x whose outer product is the weight's
// gradient, and leave the gradient slot alone when it is taken; at batch 2
// they do not ask. (Without this the fused steps above could be plain ones.)
struct Recorder final : define::FusedWeightUpdate {
  const float* grads = nullptr;
  std::vector<std::tuple<int64_t, int, int, torch::Tensor>> seen;  // offset, out, in, dy ⊗ x
  bool apply(float* d_w, const float* dy, const float* x, int out, int in) override {
    auto outer = torch::outer(torch::from_blob(const_cast<float*>(dy), {out}).clone(),
                              torch::from_blob(const_cast<float*>(x), {in}).clone());
    seen.emplace_back(d_w - grads, out, in, outer.reshape({-1}));
    return true;
  }
};

TEST(FusedStep, LinearPullbacksOfferTheirWeightsAtBatchOne) {
  const auto def = mlp_definition({{30, 16, 5}, kernels::kRelu});
  DefinedModel model(def, 5), plain(def, 5);
  for (const int n : {1, 2}) {
    auto x = torch::randn({n, 30});
    auto y = torch::randint(5, {n}, torch::kFloat32);
    plain.loss_and_grad(x.data_ptr<float>(), y.data_ptr<float>(), n);
    Recorder recorder;
    recorder.grads = model.grads().data_ptr<float>();
    {
      define::FusedWeightUpdateScope scope(&recorder);
      model.loss_and_grad(x.data_ptr<float>(), y.data_ptr<float>(), n);
    }
    if (n == 2) {
      EXPECT_TRUE(recorder.seen.empty());
      EXPECT_TRUE(same_bits(model.grads(), plain.grads()));
      continue;
    }
    ASSERT_EQ(recorder.seen.size(), 2u);  // fc2 first (the reverse pass), then fc1
    for (const auto& [offset, out, in, outer] : recorder.seen) {
      const auto& w = def->param(offset == def->param("fc1.weight").offset ? "fc1.weight" : "fc2.weight");
      EXPECT_EQ(offset, w.offset);
      EXPECT_EQ(int64_t{out} * in, w.numel);
      EXPECT_TRUE(torch::equal(outer, plain.grads().narrow(0, w.offset, w.numel))) << w.name;
      EXPECT_EQ(model.grads().narrow(0, w.offset, w.numel).count_nonzero().item<int64_t>(), 0) << w.name;
    }
    const auto& b1 = def->param("fc1.bias");  // biases accumulate as before
    EXPECT_TRUE(torch::equal(model.grads().narrow(0, b1.offset, b1.numel),
                             plain.grads().narrow(0, b1.offset, b1.numel)));
    EXPECT_GT(plain.grads().narrow(0, b1.offset, b1.numel).abs().max().item<float>(), 0.f);
  }
}

// A fused step then a plain one, and back: each path leaves the gradient as
// the other expects (zero), so the steps are those of plain steps throughout.
TEST(FusedStep, MixedWithPlainSteps) {
  const auto def = mlp_definition({{30, 16, 5}, kernels::kRelu});
  DefinedModel plain(def, 3), mixed(def, 3);
  auto opt_plain = make_flat_optimizer(OptimizerConfig{}, plain.params().numel());
  auto opt_mixed = make_flat_optimizer(OptimizerConfig{}, mixed.params().numel());
  for (int s = 0; s < 6; ++s) {
    const int n = s % 2 ? 3 : 1;
    auto x = torch::randn({n, 30});
    auto y = torch::randint(5, {n}, torch::kFloat32);
    plain.loss_and_grad(x.data_ptr<float>(), y.data_ptr<float>(), n);
    plain.update(*opt_plain);
    if (n == 1) {
      mixed.fused_step(x.data_ptr<float>(), y.data_ptr<float>(), nullptr, *opt_mixed);
    } else {
      mixed.loss_and_grad(x.data_ptr<float>(), y.data_ptr<float>(), n);
      mixed.update(*opt_mixed);
    }
    ASSERT_TRUE(same_bits(plain.params(), mixed.params())) << "step " << s;
  }
}

// A definition that does not say only its own layers read its weights (any
// user's) is not fused: fuses() is false and fused_step refuses.
TEST(FusedStep, OnlyForDefinitionsWhoseWeightsAreReadOnce) {
  auto def = std::make_shared<define::Definition>(*mlp_definition({{30, 16, 5}, kernels::kRelu}));
  def->weights_read_once = false;
  DefinedModel model(def, 1);
  EXPECT_FALSE(model.fuses(1));
  auto opt = make_flat_optimizer(OptimizerConfig{}, model.params().numel());
  auto x = torch::randn({1, 30});
  auto y = torch::zeros({1});
  EXPECT_THROW(model.fused_step(x.data_ptr<float>(), y.data_ptr<float>(), nullptr, *opt), c10::Error);
}

TEST(FusedStep, AllocatesNothingInSteadyState) {
  DefinedModel model(mlp_definition({{784, 128, 10}, kernels::kRelu}), 1);
  auto opt = make_flat_optimizer(OptimizerConfig{}, model.params().numel());
  auto x = torch::randn({1, 784});
  auto y = torch::zeros({1});
  model.fused_step(x.data_ptr<float>(), y.data_ptr<float>(), nullptr, *opt);  // makes the workspace
  support::AllocationCounter counter;
  for (int i = 0; i < 5; ++i) model.fused_step(x.data_ptr<float>(), y.data_ptr<float>(), nullptr, *opt);
  EXPECT_EQ(counter.count(), 0);
}

}  // namespace
}  // namespace torchclad
