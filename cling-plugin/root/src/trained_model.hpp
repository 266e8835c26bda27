#pragma once
// A cell-facing Model (torchclad/model.h) from parameters that an engine
// trained (the built-ins' comparison engines, the command-line trainers), so
// that every engine's result predicts, evaluates and saves as a Model does.
// (A header under root/, the engine's side of the API: the apps include it
// as "src/trained_model.hpp".)
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "define/definition.hpp"
#include "torchclad/model.h"
#include "train/metrics_files.hpp"
#include "train/checkpoint.hpp"
#include "train/run_loop.hpp"
#include "train/run_options.hpp"

namespace torchclad {

// A Model of `def` holding a copy of `params` (float32, the definition's
// flat layout), as if it had been fitted with `options` from `seed`.
Model trained_model(std::shared_ptr<const define::Definition> def, const torch::Tensor& params,
                    unsigned long long seed, const TrainOptions& options, std::vector<EpochResult> history);

// The optimizer and loop settings of options, as every trainer takes them.
train::RunOptions run_options(const TrainOptions& options);

// TrainOptions::checkpoint and resume as every trainer takes them (the
// commands' checkpoints, train/checkpoint.hpp). Throws std::runtime_error
// for resume without a checkpoint path, naming `where` (e.g. "Model::fit").
train::CheckpointOptions checkpoint_options(const TrainOptions& options, const std::string& where);

// What a fit returns for an engine's run: its epochs, and its status
// ("failed" on a non-finite loss, "stopped" on a stop request, else
// "finished") with the engine's message.
TrainResult train_result(const std::vector<EpochResult>& epochs, bool non_finite, bool stopped,
                         const std::string& message);

// TrainOptions::metrics_json and metrics_csv of a fit: what their header
// names (the epochs are the fit's).
struct MetricsRun {
  std::string where;    // e.g. "Model::fit", for errors
  std::string dataset;  // "in-memory" or "stream"
  std::string engine, model;
};

// The options' files as train::write_metrics writes them (one format with
// the commands'), the header naming this run: set as the trainer's
// RunOptions::metrics, the epoch loop rewrites them after every epoch.
train::MetricsFiles metrics_files(const TrainOptions& options, const MetricsRun& run);
// Writes the files with no epochs yet (rank 0; a collective under mpirun),
// before a fit trains: throws std::runtime_error naming the option and the
// path if one cannot be written.
void start_metrics_files(const TrainOptions& options, const MetricsRun& run);
// Writes them with the fit's epochs and status (rank 0; a collective).
void write_metrics_files(const TrainOptions& options, const MetricsRun& run,
                         const std::vector<EpochResult>& epochs, const std::string& status);

// What a Model's fit returns, with the run recorded in the model: its
// epochs appended to the history, the options kept, trained if any epoch ran.
TrainResult record_fit(Model::State& state, const train::RunOutcome& run, const TrainOptions& options);

}  // namespace torchclad
