// The trainer and its engines on slices of the real Fashion-MNIST files
// (Debian's dataset-fashion-mnist, installed by the setup command).
#include <filesystem>
#include <fstream>
#include <sstream>

#include "data/mnist.hpp"
#include "test_util.hpp"
#include "train/engines.hpp"
#include "train/telemetry.hpp"
#include "train/trainer.hpp"

namespace torchclad {
namespace {

const data::MnistDataset& fashion_mnist() {
  static const auto data = data::load_mnist(data::default_fashion_mnist_dir());
  return data;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Same seed, same batches: every engine computes the same training
// trajectory up to float32 rounding.
// Any depth: the 4-layer limit of the hand-unrolled engine is gone (6 layers here).
class Engines : public ::testing::TestWithParam<std::vector<int64_t>> {};

TEST_P(Engines, FollowTheSameTrajectoryFromTheSameSeed) {
  const auto& data = fashion_mnist();
  const MlpConfig model{GetParam(), kernels::kRelu};
  OptimizerConfig opt;
  opt.kind = "sgd";
  opt.lr = 0.05;
  const int batch = 70;
  auto x = data.train.images.narrow(0, 0, 20 * batch).contiguous();
  auto y64 = data.train.labels.narrow(0, 0, 20 * batch).contiguous();
  auto y32 = y64.to(torch::kInt32);
  std::map<std::string, std::vector<double>> losses;
  for (const auto& name : train::engine_names()) {
    auto engine = train::make_engine(name, model, opt, 9);
    for (int s = 0; s < 20; ++s) {
      train::Batch b{x.data_ptr<float>() + s * batch * 784, y32.data_ptr<int32_t>() + s * batch,
                     y64.data_ptr<int64_t>() + s * batch, batch};
      losses[name].push_back(engine->step(b));
    }
  }
  for (const auto& name : train::engine_names())
    EXPECT_TRUE(testing::close(losses[name], losses["autograd"], 1e-4, 1e-6)) << name;
  // (20 SGD steps move a 6-layer net from torch.nn's init too little to
  // tell; Trainer.TrainsASixLayerMlp shows it learning.)
  if (GetParam().size() <= 4) EXPECT_LT(losses["clad"].back(), losses["clad"].front());
}

INSTANTIATE_TEST_SUITE_P(Depths, Engines,
                         ::testing::Values(std::vector<int64_t>{784, 64, 32, 10},
                                           std::vector<int64_t>{784, 64, 64, 48, 32, 32, 10}));

// Six layers through the trainer: the loss falls and the model learns.
TEST(Trainer, TrainsASixLayerMlp) {
  train::TrainConfig config;
  config.model = {{784, 64, 64, 48, 32, 32, 10}, kernels::kRelu};
  config.epochs = 2;
  config.train_limit = 4000;
  config.test_limit = 500;
  config.progress = false;
  std::ostringstream log;
  const auto result = train::train_mlp(fashion_mnist(), config, log);
  ASSERT_EQ(result.epochs.size(), 2u);
  EXPECT_LT(result.epochs[1].train_loss, result.epochs[0].train_loss);
  EXPECT_GT(result.epochs[1].test_accuracy, 0.6);
  EXPECT_EQ(result.engine->definition().name, "mlp-784-64-64-48-32-32-10");
}

TEST(Trainer, LearnsOnASliceAndWritesMetrics) {
  train::TrainConfig config;
  config.engine = "clad";
  config.model = {{784, 64, 10}, kernels::kRelu};
  config.epochs = 2;
  config.train_limit = 6000;
  config.test_limit = 1000;
  config.progress = false;
  std::ostringstream log;
  const auto result = train::train_mlp(fashion_mnist(), config, log);
  ASSERT_EQ(result.epochs.size(), 2u);
  EXPECT_FALSE(result.non_finite);
  EXPECT_GT(result.epochs[1].test_accuracy, 0.75);
  EXPECT_LT(result.epochs[1].train_loss, result.epochs[0].train_loss);
  EXPECT_EQ(result.epochs[0].steps, 94);  // 6000 / 64, the last batch partial
  EXPECT_NE(log.str().find("epoch 2/2  train loss"), std::string::npos) << log.str();

  const auto dir = std::filesystem::temp_directory_path() / ("torchclad-trainer-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  train::write_metrics_json((dir / "m.json").string(), config, result);
  train::write_metrics_csv((dir / "m.csv").string(), config, result);
  const auto json = read_file((dir / "m.json").string()), csv = read_file((dir / "m.csv").string());
  EXPECT_NE(json.find("\"engine\": \"clad\""), std::string::npos);
  EXPECT_NE(json.find("\"test_accuracy\": "), std::string::npos);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 3);  // header + 2 epochs
  std::filesystem::remove_all(dir);
}

// A learning rate far too large makes the loss overflow; the trainer must
// stop and say so.
TEST(Trainer, StopsWithAClearMessageWhenTheLossIsNotFinite) {
  train::TrainConfig config;
  config.train_limit = 3000;
  config.model = {{784, 32, 10}, kernels::kRelu};
  config.optimizer.kind = "sgd";
  config.optimizer.lr = 1e9;
  config.epochs = 1;
  config.test_limit = 100;
  config.progress = false;
  config.seed = 1;
  std::ostringstream log;
  const auto result = train::train_mlp(fashion_mnist(), config, log);
  EXPECT_TRUE(result.non_finite);
  EXPECT_NE(result.stop_message.find("training stopped: the loss became"), std::string::npos);
  EXPECT_NE(result.stop_message.find("try a lower learning rate"), std::string::npos);
}

// A NaN pixel is refused before any step (as Model::fit refuses it), naming where it is.
TEST(Trainer, RefusesNonFiniteFeaturesNamingTheSample) {
  auto data = fashion_mnist();
  data.train.images = data.train.images.narrow(0, 0, 3000).clone();
  data.train.labels = data.train.labels.narrow(0, 0, 3000);
  data.train.images[200][300] = std::numeric_limits<float>::quiet_NaN();
  train::TrainConfig config;
  config.model = {{784, 32, 10}, kernels::kRelu};
  config.epochs = 1;
  config.progress = false;
  std::ostringstream log;
  const std::string error = testing::error_of([&] { train::train_mlp(data, config, log); });
  EXPECT_NE(error.find("the training features hold a non-finite value: sample 200, feature 300 is nan"),
            std::string::npos)
      << error;
}

TEST(Trainer, RejectsConfigurationsThatDoNotFitTheData) {
  std::ostringstream log;
  train::TrainConfig config;
  config.model = {{100, 10}, kernels::kRelu};
  EXPECT_NE(testing::error_of([&] {
              train::train_mlp(fashion_mnist(), config, log);
            }).find("model 'mlp-100-10' takes 100 features per sample, but the training samples have 784"),
            std::string::npos);
  config.model = {{784, 10}, kernels::kRelu};
  config.engine = "tensorflow";
  EXPECT_NE(testing::error_of([&] {
              train::train_mlp(fashion_mnist(), config, log);
            }).find("unknown engine 'tensorflow'"),
            std::string::npos);
  config.engine = "clad";
  config.batch = 0;
  EXPECT_NE(testing::error_of([&] {
              train::train_mlp(fashion_mnist(), config, log);
            }).find("batch must be at least 1, found 0"),
            std::string::npos);
}

}  // namespace
}  // namespace torchclad

namespace torchclad {
namespace {

struct EventLog {
  std::vector<telemetry::Event> events;
  int count(const std::string& kind) const {
    return std::count_if(events.begin(), events.end(), [&](auto& e) { return e.kind == kind; });
  }
};

train::TrainConfig small_run() {
  train::TrainConfig config;
  config.model = {{784, 32, 10}, kernels::kRelu};
  config.epochs = 2;
  config.train_limit = 2000;
  config.test_limit = 200;
  config.progress = false;
  return config;
}

TEST(Telemetry, ReportsARunAsStartStepsEpochsAndEnd) {
  EventLog log;
  telemetry::set_sink([&](const telemetry::Event& e) { log.events.push_back(e); });
  std::ostringstream out;
  const auto result = train::train_mlp(fashion_mnist(), small_run(), out);
  telemetry::set_sink({});
  ASSERT_GE(log.events.size(), 5u);
  EXPECT_EQ(log.events.front().kind, "start");
  EXPECT_EQ(log.events.front().total_steps, 2 * 32);  // ceil(2000 / 64) per epoch
  EXPECT_EQ(log.events.back().kind, "end");
  EXPECT_EQ(log.events.back().status, "finished");
  EXPECT_EQ(log.count("epoch"), 2);
  EXPECT_GE(log.count("step"), 2);  // at least the last step of each epoch
  const auto& last_epoch =
      *std::find_if(log.events.rbegin(), log.events.rend(), [](auto& e) { return e.kind == "epoch"; });
  EXPECT_DOUBLE_EQ(last_epoch.test_accuracy, result.epochs.back().test_accuracy);
  for (const auto& e : log.events) EXPECT_EQ(e.run_id, log.events.front().run_id);
}

TEST(Telemetry, AStopRequestEndsTheRunBetweenSteps) {
  EventLog log;
  telemetry::set_sink([&](const telemetry::Event& e) {
    log.events.push_back(e);
    if (e.kind == "step") telemetry::request_stop();
  });
  std::ostringstream out;
  const auto result = train::train_mlp(fashion_mnist(), small_run(), out);
  telemetry::set_sink({});
  EXPECT_TRUE(result.stopped);
  EXPECT_TRUE(result.epochs.empty());
  EXPECT_EQ(log.events.back().kind, "end");
  EXPECT_EQ(log.events.back().status, "stopped");
  EXPECT_FALSE(telemetry::stop_requested()) << "the request is consumed";
}

}  // namespace
}  // namespace torchclad
