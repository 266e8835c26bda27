// The built-in Cnn as a definition (model/cnn_definition.hpp) in the
// model-level engine, and the binary engines: a steady-state step allocates
// nothing, and every engine, from one seed, follows the same losses.
#include "alloc_counter.hpp"
#include "model/cnn_definition.hpp"
#include "model/defined_model.hpp"
#include "optim/optimizers.hpp"
#include "test_util.hpp"
#include "train/binary_engines.hpp"

namespace torchclad {
namespace {

using support::AllocationCounter;
using namespace torchclad::testing;

// Sets LibTorch's (and so the model's) thread count for a scope.
// The Cnn of `config` as the model-level engine trains it.
DefinedModel cnn(const CnnConfig& config, uint64_t seed) {
  return DefinedModel(cnn_definition(config), seed);
}

// Views of the flat parameters in the definition's order and shapes.
std::vector<torch::Tensor> views_of(DefinedModel& m) {
  std::vector<torch::Tensor> views;
  for (const auto& p : m.definition().params)
    views.push_back(m.params().narrow(0, p.offset, p.numel).view(p.shape));
  return views;
}

struct ThreadsGuard {
  int saved = at::get_num_threads();
  explicit ThreadsGuard(int n) { at::set_num_threads(n); }
  ~ThreadsGuard() { at::set_num_threads(saved); }
};

class CnnModelLevelStep : public ::testing::TestWithParam<std::tuple<int, std::string, int>> {};

// Batches past 64 matter: Clad's tape keeps 64 entries inline and allocates
// beyond. Two threads: the batch is split across threads (at::parallel_for).
TEST_P(CnnModelLevelStep, AllocatesNothingInSteadyState) {
  const auto [batch, optimizer, threads] = GetParam();
  ThreadsGuard guard(threads);
  auto engine = train::make_binary_engine("clad", CnnConfig{}, {optimizer}, 1);
  auto x = torch::randn({batch, CnnConfig{}.input_length});
  auto targets = torch::randint(2, {batch}).to(torch::kFloat32);
  auto step = [&] { engine->step(x.data_ptr<float>(), targets.data_ptr<float>(), batch); };
  step();  // the first step at a batch size allocates its workspace
  AllocationCounter counter;
  for (int i = 0; i < 3; ++i) step();
  EXPECT_EQ(counter.count(), 0);
}

INSTANTIATE_TEST_SUITE_P(Batches, CnnModelLevelStep,
                         ::testing::Combine(::testing::Values(1, 8, 65, 256),
                                            ::testing::Values("sgd", "adam"), ::testing::Values(1, 2)));

// The split batch gives the single-thread loss and gradient (up to float
// rounding), for even and odd batches.
TEST(CnnModel, TwoThreadsMatchOneThread) {
  const CnnConfig config{500, {{4, 9, 2}, {6, 5, 3}}, 12};
  for (int batch : {8, 9, 33}) {
    auto x = torch::randn({batch, 500});
    auto targets = torch::randint(2, {batch}).to(torch::kFloat32);
    auto one = cnn(config, 4), two = cnn(config, 4);
    float l1, l2;
    {
      ThreadsGuard guard(1);
      l1 = one.loss_and_grad(x.data_ptr<float>(), targets.data_ptr<float>(), batch);
    }
    {
      ThreadsGuard guard(2);
      l2 = two.loss_and_grad(x.data_ptr<float>(), targets.data_ptr<float>(), batch);
    }
    EXPECT_NEAR(l1, l2, 1e-5) << batch;
    EXPECT_TRUE(torch::allclose(one.grads(), two.grads(), 1e-4, 1e-6)) << batch;
  }
}

TEST(CnnModel, LossAndLogitsMatchLibTorch) {
  CnnConfig config{300, {{4, 9, 3}, {6, 5, 2}}, 16};
  auto model = cnn(config, 3);
  const int batch = 7;
  auto x = torch::randn({batch, 300});
  auto targets = torch::tensor({0.f, 1.f, 1.f, 0.f, 1.f, 0.f, 0.f});
  const float loss = model.loss_and_grad(x.data_ptr<float>(), targets.data_ptr<float>(), batch);
  auto views = views_of(model);
  auto h = x.unsqueeze(1);
  for (size_t b = 0; b < config.blocks.size(); ++b)
    h = torch::max_pool1d(torch::relu(torch::conv1d(h, views[2 * b], views[2 * b + 1])),
                          config.blocks[b].pool);
  h = torch::relu(torch::nn::functional::linear(h.flatten(1), views[4], views[5]));
  auto logits = torch::nn::functional::linear(h, views[6], views[7]).squeeze(1);
  EXPECT_NEAR(loss, torch::binary_cross_entropy_with_logits(logits, targets).item<float>(), 1e-5);
  EXPECT_TRUE(torch::allclose(model.forward(x).squeeze(1), logits, 1e-5, 1e-6));
  // More samples than one evaluation chunk (256).
  auto many = torch::randn({300, 300});
  auto expect = torch::cat({model.forward(many.narrow(0, 0, 100)), model.forward(many.narrow(0, 100, 200))});
  EXPECT_TRUE(torch::allclose(model.forward(many), expect, 1e-5, 1e-6));
}

TEST(CnnModel, InitialisesLikeTorchModules) {
  const CnnConfig config;
  auto a = cnn(config, 7), b = cnn(config, 7), c = cnn(config, 8);
  EXPECT_TRUE(torch::equal(a.params(), b.params()));
  EXPECT_FALSE(torch::equal(a.params(), c.params()));
  EXPECT_EQ(a.definition().name, "cnn-2048-c8k16p4-c16k8p4-c32k8p4-h64");
  auto views = views_of(a);
  ASSERT_EQ(views.size(), 10u);
  EXPECT_EQ(views[0].sizes(), (std::vector<int64_t>{8, 1, 16}));
  EXPECT_EQ(views[2].sizes(), (std::vector<int64_t>{16, 8, 8}));
  EXPECT_EQ(views[6].sizes(), (std::vector<int64_t>{64, 32 * 29}));
  EXPECT_EQ(views[8].sizes(), (std::vector<int64_t>{1, 64}));
  // uniform in ±1/sqrt(fan_in)
  const double fan_ins[] = {16, 16, 64, 64, 128, 128, 928, 928, 64, 64};
  for (size_t i = 0; i < views.size(); ++i) {
    const double bound = 1 / std::sqrt(fan_ins[i]);
    EXPECT_LE(views[i].abs().max().item<double>(), bound) << i;
    if (views[i].numel() > 100) EXPECT_GT(views[i].abs().max().item<double>(), 0.9 * bound) << i;
  }
}

class BinaryEnginesAgree : public ::testing::TestWithParam<std::string> {};

TEST_P(BinaryEnginesAgree, SameFirstLossAndCloseAfterAFewSteps) {
  OptimizerConfig opt;
  opt.kind = GetParam();
  opt.lr = opt.kind == "sgd" ? 0.05 : 1e-3;
  const CnnConfig config;
  const int batch = 16;
  torch::manual_seed(5);
  std::vector<torch::Tensor> xs, ts;
  for (int s = 0; s < 6; ++s) {
    xs.push_back(torch::randn({batch, config.input_length}));
    ts.push_back(torch::randint(2, {batch}).to(torch::kFloat32));
  }
  std::vector<std::vector<float>> losses;
  std::vector<torch::Tensor> final_logits;
  for (const auto& name : train::binary_engine_names()) {
    auto engine = train::make_binary_engine(name, config, opt, 42);
    EXPECT_STREQ(engine->name(), name.c_str());
    losses.emplace_back();
    for (int s = 0; s < 6; ++s)
      losses.back().push_back(engine->step(xs[s].data_ptr<float>(), ts[s].data_ptr<float>(), batch));
    final_logits.push_back(engine->logits(xs[0]));
  }
  for (size_t e = 1; e < losses.size(); ++e) {
    const auto& name = train::binary_engine_names()[e];
    EXPECT_NEAR(losses[e][0], losses[0][0], 1e-5) << name << " first step";
    for (int s = 1; s < 6; ++s)
      EXPECT_NEAR(losses[e][s], losses[0][s], 2e-3 * std::max(1.f, losses[0][s])) << name << " step " << s;
    EXPECT_TRUE(torch::allclose(final_logits[e], final_logits[0], 1e-3, 1e-3)) << name;
  }
}

INSTANTIATE_TEST_SUITE_P(Optimizers, BinaryEnginesAgree, ::testing::Values("sgd", "adam"));

TEST(BinaryEngines, RejectUnknownNamesAndEmptySignals) {
  EXPECT_NE(
      error_of([] { train::make_binary_engine("bogus", CnnConfig{}, {}, 1); }).find("unknown engine 'bogus'"),
      std::string::npos);
  CnnConfig tiny{8, {{2, 9, 1}}, 4};
  for (const auto& name : train::binary_engine_names())
    EXPECT_NE(error_of([&] { train::make_binary_engine(name, tiny, {}, 1); }).find("shrinks to nothing"),
              std::string::npos)
        << name;
}

}  // namespace
}  // namespace torchclad
