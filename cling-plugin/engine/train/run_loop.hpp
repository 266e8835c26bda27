#pragma once
// The loop every trainer shares: epochs of seeded-shuffled steps, stop
// requests, a loss that stops being finite, the progress bar and the
// telemetry events ("start", "step", "epoch", "end"). The trainers
// (trainer.cpp for classifiers of MNIST-format data, binary_trainer.cpp for
// the CNN) supply the step and the evaluation.
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "torchclad/epoch.h"  // EpochResult: the one epoch type, engine to cell

namespace torchclad::train {

struct RunSpec {
  std::string engine, model, optimizer;
  double lr = 0;
  int epochs = 1, batch = 1, threads = 1;
  int64_t samples = 0;  // training samples per epoch
  uint64_t seed = 0;    // the batch order of epoch e is a shuffle seeded by (seed, e)
  bool progress = true;
  // Resuming from a checkpoint: the first epoch to train (the batch order of
  // each epoch depends only on (seed, epoch), so a resumed run takes the
  // steps an uninterrupted one takes).
  int first_epoch = 1;
  // Called on every rank after each epoch's evaluation (checkpoints).
  std::function<void(int epoch)> after_epoch;
  // Called before after_epoch with the epochs so far (the metrics files).
  std::function<void(const std::vector<EpochResult>& epochs)> after_epoch_stats;
};

// What an epoch's evaluation on the test set reports.
struct Evaluation {
  double test_loss = 0, test_accuracy = 0;  // test_accuracy < 0: not a classifier
  double test_auc = -1;                     // < 0: not measured (multi-class models)
  double test_rmse = -1;                    // < 0: not measured (classifiers)
  std::string summary;                      // extra text for the epoch's log line, e.g. "AUC 0.981"
};

struct RunOutcome {
  std::vector<EpochResult> epochs;
  bool non_finite = false;  // stopped because the loss became NaN or infinite
  bool stopped = false;     // stopped on request (telemetry::request_stop)
  std::string message;
};

// step(order, start, size): one optimisation step on the training rows
// order[start .. start + size), returning the batch's mean loss.
// Data-parallel (dist::world() of several ranks, dist/data_parallel.hpp):
// spec.batch is the local batch, a step covers ranks x batch rows of the
// epoch's order and each rank's step gets its share of them (possibly none in
// the last step: size 0, whose gradient must still go through
// dist::average_gradients); the loss the loop reports is the global batch's.
// evaluate runs on every rank (a fit's evaluation shards the test set over
// the ranks: train::evaluate_model), and rank 0's result is every rank's;
// only rank 0 draws the progress bar and emits telemetry.
using StepFn = std::function<float(const std::vector<int64_t>& order, int64_t start, int size)>;
using EvaluateFn = std::function<Evaluation()>;

RunOutcome run_epochs(const RunSpec& spec, const StepFn& step, const EvaluateFn& evaluate, std::ostream& log);

// Steps whose batches come from a source (a stream of rows read while the
// model trains) instead of rows picked by index. begin_epoch(e) starts epoch
// e's batches (the source orders them, e.g. by (seed, e)); next(size) trains
// on the next batch, sets size to its number of samples and returns its mean
// loss, or sets size to 0 when the source has no batch left (the epoch ends
// early). An epoch has at most ceil(spec.samples / spec.batch) steps.
// With several ranks only a data_parallel source runs (else c10::Error): each
// rank's source reads its own rows, and its next() trains on its local batch
// with dist::set_step_share(local, global) set first, sets size to the global
// batch (the ranks' sum) and returns its local mean loss; the loop agrees on
// the global loss and on stop requests as for rows by index, and an epoch has
// at most ceil(spec.samples / (ranks x spec.batch)) steps (spec.samples: all
// ranks' rows).
struct SourceSteps {
  std::function<void(int epoch)> begin_epoch;
  std::function<float(int& size)> next;
  bool data_parallel = false;
};

RunOutcome run_epochs(const RunSpec& spec, const SourceSteps& steps, const EvaluateFn& evaluate,
                      std::ostream& log);

}  // namespace torchclad::train
