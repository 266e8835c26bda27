#pragma once
// Trains an MLP classifier on an MNIST-format dataset with any engine:
// seeded shuffling (the same batch order for every engine), a progress bar,
// test loss and accuracy per epoch, metrics to JSON and CSV, and a clean
// stop when the loss stops being finite.
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "data/mnist.hpp"
#include "model/mlp_definition.hpp"
#include "optim/optimizers.hpp"

namespace torchclad::train {

struct TrainConfig {
  std::string dataset = "fashion-mnist";  // a label for the outputs
  std::string engine = "clad";
  MlpConfig model{{784, 256, 128, 10}, kernels::kRelu};
  OptimizerConfig optimizer;
  int epochs = 5;
  int batch = 64;
  int threads = 1;
  uint64_t seed = 42;
  int64_t train_limit = 0;  // use the first N training samples (0: all)
  int64_t test_limit = 0;   // use the first N test samples (0: all)
  bool progress = true;     // progress bar on the log stream
};

struct EpochMetrics {
  int epoch = 0;
  int64_t steps = 0;
  double train_loss = 0;     // mean over the epoch's steps
  double test_loss = 0;
  double test_accuracy = 0;  // fraction in [0, 1]
  double seconds = 0;        // training time of the epoch (steps only)
  double steps_per_second = 0;
  double samples_per_second = 0;
};

class MlpEngine;

struct TrainResult {
  std::vector<EpochMetrics> epochs;
  std::shared_ptr<MlpEngine> engine;  // the trained model (for evaluation, prediction)
  bool non_finite = false;  // stopped because the loss became NaN or infinite
  bool stopped = false;     // stopped on request (telemetry::request_stop)
  std::string stop_message;
};

// Throws c10::Error / std::runtime_error for invalid configurations or data
// (shape, class count, unknown engine), before any training step. Reports
// the run to the telemetry sink (train/telemetry.hpp) and stops between
// steps when a stop is requested.
TrainResult train_mlp(const data::MnistDataset& data, const TrainConfig& config, std::ostream& log);

void write_metrics_json(const std::string& path, const TrainConfig& config, const TrainResult& result);
void write_metrics_csv(const std::string& path, const TrainConfig& config, const TrainResult& result);

}  // namespace torchclad::train
