#pragma once
// The one training loop: Model::fit's (train/model_trainer.hpp) and the
// built-in models' engines (train/engines.hpp for the Mlp,
// train/binary_engines.hpp for the Cnn) all train in train_engine: checks of
// the data against the model's definition, batches gathered from seeded
// shuffles (the same batch order for every engine), the shared epoch loop
// (train/run_loop.hpp: progress, telemetry, stop requests, a loss that
// stops being finite), and per epoch the definition's own evaluation of the
// engine's parameters (train/model_trainer.hpp: its loss, accuracy, AUC) -
// what Model::fit reports. EpochResult is the one epoch type.
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "data/mnist.hpp"
#include "model/defined_model.hpp"
#include "model/mlp_definition.hpp"
#include "optim/optimizers.hpp"
#include "train/model_trainer.hpp"
#include "train/run_loop.hpp"
#include "train/run_options.hpp"

namespace torchclad::train {

// One step of an engine on a gathered batch: x [n, inputs], y [n,
// target_width] as the definition reads them, w the events' loss factors
// [n] (train/event_weights.hpp) or nullptr without weights; returns the
// batch's mean loss. n is 0 for a rank's empty share of a data-parallel step.
using EngineStep = std::function<float(const float* x, const float* y, const float* w, int n)>;

// A training set sharded over the ranks (dist/row_shards.hpp): the rows
// given to train_engine are rows [begin, begin + rows) of `total`, the
// shard of this rank, which the ranks exchange per epoch as the steps need
// them. total 0: the rows given are the whole set (on every rank).
struct RowShard {
  int64_t begin = 0, total = 0;
};

// The loop every engine trains in, Model::fit's (train_model) included.
// `model` holds the parameters the engine updates (evaluated after each
// epoch); spec names the run (its samples are set here); the training
// split's weights, with or without weighted sampling, follow the rule of
// train/model_trainer.hpp. Throws c10::Error for bad options or data before
// any step. With a shard, train.x and train.y hold the shard's rows (the
// one dist::shard_of gives this rank: checked) while train.w, if defined,
// holds the weights of all `total` rows (weighted sampling draws from the
// whole set; 4 bytes per event on every rank).
RunOutcome train_engine(DefinedModel& model, const ModelData& train, const ModelData& test, RunSpec spec,
                        const EngineStep& step, std::ostream& log, bool weighted_sampling = false,
                        const RowShard& shard = {});

struct TrainConfig : RunOptions {
  std::string dataset = "fashion-mnist";  // a label for the outputs
  std::string engine = "clad";
  MlpConfig model{{784, 256, 128, 10}, kernels::kRelu};
  int64_t train_limit = 0;  // use the first N training samples (0: all)
  int64_t test_limit = 0;   // use the first N test samples (0: all)
  std::string checkpoint;   // write FILE after every epoch (any engine)
  bool resume = false;      // continue from checkpoint (train/checkpoint.hpp)
};

class MlpEngine;

struct TrainResult {
  std::vector<EpochResult> epochs;
  std::shared_ptr<MlpEngine> engine;  // the trained model (engine->model(): evaluation, prediction)
  bool non_finite = false;            // stopped because the loss became NaN or infinite
  bool stopped = false;               // stopped on request (telemetry::request_stop)
  std::string stop_message;
};

// The Mlp on an MNIST-format dataset with any engine of train/engines.hpp.
TrainResult train_mlp(const data::MnistDataset& data, const TrainConfig& config, std::ostream& log);

// The command's --metrics-json/--metrics-csv (train/metrics_files.hpp; a
// path may be empty): set as config.metrics, the epoch loop rewrites them
// after every epoch; write_metrics_json/csv write them with the run's end.
MetricsFiles command_metrics_files(const TrainConfig& config, const std::string& json,
                                   const std::string& csv);
void write_metrics_json(const std::string& path, const TrainConfig& config, const TrainResult& result);
void write_metrics_csv(const std::string& path, const TrainConfig& config, const TrainResult& result);

}  // namespace torchclad::train
