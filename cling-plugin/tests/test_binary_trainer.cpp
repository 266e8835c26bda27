// The binary trainer (train/binary_trainer.hpp) on a small synthetic
// detection task: white noise windows, half of them with a sine-Gaussian
// pulse at a random time. Short windows and a small CNN keep it fast.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "train/binary_engines.hpp"
#include "train/binary_trainer.hpp"
#include "train/telemetry.hpp"

namespace {

using namespace torchclad;

data::BinarySplit pulses(int n, int length, float amplitude, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto x = torch::randn({n, length}, gen);
  auto targets = torch::zeros({n});
  auto snr = torch::zeros({n});
  auto centres = torch::randint(length / 4, 3 * length / 4, {n}, gen);
  for (int i = 0; i < n; i += 2) {
    const int64_t c = centres[i].item<int64_t>();
    for (int t = 0; t < length; ++t) {
      const double u = (t - c) / 6.0;
      x[i][t] += amplitude * std::exp(-u * u) * std::sin(0.9 * (t - c));
    }
    targets[i] = 1;
    snr[i] = amplitude;
  }
  return {x.contiguous(), targets, snr};
}

train::BinaryTrainConfig small_config(const std::string& engine) {
  train::BinaryTrainConfig c;
  c.engine = engine;
  c.model.input_length = 128;
  c.model.blocks = {{4, 9, 2}, {8, 5, 2}};
  c.model.hidden = 16;
  c.epochs = 3;
  c.batch = 16;
  c.progress = false;
  c.optimizer.lr = 3e-3;
  return c;
}

TEST(BinaryTrainer, LearnsToDetectPulsesWithEveryEngine) {
  const auto train = pulses(512, 128, 3.0f, 1), test = pulses(256, 128, 3.0f, 2);
  std::vector<double> accuracy;
  for (const auto& engine : train::binary_engine_names()) {
    std::ostringstream log;
    const auto r = train::train_binary(train, test, small_config(engine), log);
    ASSERT_EQ(r.epochs.size(), 3u) << engine;
    EXPECT_FALSE(r.non_finite || r.stopped) << engine;
    EXPECT_LT(r.epochs.back().train_loss, r.epochs.front().train_loss) << engine;
    EXPECT_GT(r.epochs.back().test_auc, 0.9) << engine << "\n" << log.str();
    EXPECT_NE(log.str().find("AUC"), std::string::npos) << log.str();
    accuracy.push_back(r.epochs.back().test_accuracy);
  }
  // Same seed, same data: the engines agree (they differ only in rounding).
  for (double a : accuracy) EXPECT_NEAR(a, accuracy.front(), 0.03);
}

TEST(BinaryTrainer, ReportsAucInTelemetry) {
  std::vector<telemetry::Event> events;
  telemetry::set_sink([&](const telemetry::Event& e) { events.push_back(e); });
  auto c = small_config("clad");
  c.epochs = 1;
  std::ostringstream log;
  train::train_binary(pulses(64, 128, 3, 3), pulses(32, 128, 3, 4), c, log);
  telemetry::set_sink({});
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events.front().kind, "start");
  EXPECT_EQ(events.front().model, "cnn-128-c4k9p2-c8k5p2-h16");
  EXPECT_EQ(events.back().kind, "end");
  EXPECT_EQ(events.back().status, "finished");
  const auto& epoch = events[events.size() - 2];
  EXPECT_EQ(epoch.kind, "epoch");
  EXPECT_GE(epoch.test_auc, 0.0);
  EXPECT_LE(epoch.test_auc, 1.0);
}

TEST(BinaryTrainer, RejectsDataThatDoNotFitTheModel) {
  std::ostringstream log;
  auto c = small_config("clad");
  auto good = pulses(8, 128, 1, 5);
  try {
    train::train_binary(pulses(8, 100, 1, 5), good, c, log);
    FAIL() << "no error for a wrong window length";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what()).find("model 'cnn-128-c4k9p2-c8k5p2-h16' takes 128 features per sample, "
                                         "but the training samples have 100"),
              std::string::npos)
        << e.what();
  }
  auto bad = good;
  bad.targets = bad.targets * 2;
  try {
    train::train_binary(bad, good, c, log);
    FAIL() << "no error for targets of 2";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what()).find("is a binary classifier: the training targets must be 0 or 1"),
              std::string::npos);
  }
  auto nan_window = good;
  nan_window.x = nan_window.x.clone();
  nan_window.x[3][17] = NAN;
  try {
    train::train_binary(nan_window, good, c, log);
    FAIL() << "no error for a NaN sample";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what()).find(
                  "the training features hold a non-finite value: sample 3, feature 17 is nan"),
              std::string::npos)
        << e.what();
  }
  c.engine = "tensorflow";
  EXPECT_THROW(train::train_binary(good, good, c, log), c10::Error);
}

TEST(BinaryTrainer, StopsWhenTheLossIsNotFinite) {
  std::ostringstream log;
  auto c = small_config("clad");
  c.optimizer.kind = "sgd";
  c.optimizer.lr = 1e12;
  const auto r = train::train_binary(pulses(256, 128, 3, 6), pulses(16, 128, 3, 7), c, log);
  EXPECT_TRUE(r.non_finite);
  EXPECT_NE(r.stop_message.find("try a lower learning rate"), std::string::npos);
}

}  // namespace
