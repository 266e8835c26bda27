#pragma once
// The settings every trainer takes from its caller (the cell-facing
// TrainOptions, the command lines): the optimizer and the epoch loop's. The
// trainers' configs (TrainConfig, BinaryTrainConfig, ModelTrainConfig)
// extend it, so one function fills them from TrainOptions and one names the
// run for the loop.
#include <cstdint>
#include <string>

#include "dist/communicator.hpp"
#include "optim/optimizers.hpp"
#include "train/metrics_files.hpp"
#include "train/run_loop.hpp"

namespace torchclad::train {

struct RunOptions {
  OptimizerConfig optimizer;
  int epochs = 5;
  int batch = 64;
  int threads = 1;
  uint64_t seed = 42;
  bool progress = true;  // progress bar on the log stream
  // Rewritten by rank 0 after every epoch with the epochs so far (status
  // "running"), so a stopped or killed run leaves them; the caller writes
  // them before the first epoch and with the run's status at the end.
  MetricsFiles metrics;
};

// The run as the epoch loop, the progress bar and the telemetry name it
// (samples and resume settings are the trainer's to fill).
inline RunSpec run_spec(const std::string& engine, const std::string& model, const RunOptions& o) {
  RunSpec spec;
  spec.engine = engine;
  spec.model = model;
  spec.optimizer = o.optimizer.kind;
  spec.lr = o.optimizer.lr;
  spec.epochs = o.epochs;
  spec.batch = o.batch;
  spec.threads = o.threads;
  spec.seed = o.seed;
  spec.progress = o.progress;
  if (!o.metrics.json.empty() || !o.metrics.csv.empty())
    spec.after_epoch_stats = [metrics = o.metrics](const std::vector<EpochResult>& epochs) {
      if (dist::is_root()) write_metrics(metrics, epochs, "running");
    };
  return spec;
}

}  // namespace torchclad::train
