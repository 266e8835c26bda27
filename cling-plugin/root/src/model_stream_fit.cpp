// Model::fit on a StreamDataset (torchclad/model.h, torchclad/stream.h): the
// definition's Clad gradient on batches streamed from TTrees, through the
// shared epoch loop's source steps (train/run_loop.hpp); the test set is an
// in-memory Dataset, evaluated per epoch as Model::fit does. Data-parallel
// (torchclad::Distributed, several ranks): each rank streams its own entry
// range and the ranks average their gradients per step (the rule:
// torchclad/distributed.h).
#include <algorithm>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "dataset_impl.hpp"
#include "define/definition.hpp"
#include "dist/communicator.hpp"
#include "dist/data_parallel.hpp"
#include "data/stream_ranks.hpp"
#include "model/defined_model.hpp"
#include "model_state.hpp"
#include "trained_model.hpp"
#include "plain_errors.hpp"
#include "stream_impl.hpp"
#include "torchclad/model.h"
#include "torchclad/stream.h"
#include "train/checkpoint.hpp"
#include "train/clad_step.hpp"
#include "train/event_weights.hpp"
#include "train/model_trainer.hpp"
#include "train/run_loop.hpp"

namespace torchclad {
namespace {

// The stream's rows fit the definition: as many features, the same kind
// and number of targets.
void check_stream(const define::Definition& def, const rootdata::ColumnStream& s) {
  const std::string model = "model '" + def.name + "'";
  if (s.features() != def.inputs)
    throw std::runtime_error(model + " takes " + std::to_string(def.inputs) +
                             " features per sample, but the stream's rows have " +
                             std::to_string(s.features()));
  const bool regression = def.targets == define::Targets::kRegression;
  if (regression && !s.regression())
    throw std::runtime_error(model + " is a regression model (" + std::to_string(def.target_width) +
                             " targets per sample), but the stream has class labels; use "
                             "StreamDataset::regression");
  if (!regression && s.regression())
    throw std::runtime_error(model + " is a classifier, but the stream holds regression targets");
  if (s.target_width() != def.target_width)
    throw std::runtime_error(model + " needs " + std::to_string(def.target_width) +
                             " target value(s) per sample; the stream's rows have " +
                             std::to_string(s.target_width()));
}

// Labels a classifier cannot take, found batch by batch (the stream is not
// read ahead to check them).
void check_labels(const define::Definition& def, const float* y, const long long* entries, int n) {
  for (int i = 0; i < n; ++i) {
    const float v = y[i];
    if (def.targets == define::Targets::kClassIndex && v >= def.classes)
      throw std::runtime_error("model '" + def.name + "' classifies into " + std::to_string(def.classes) +
                               " classes (labels 0.." + std::to_string(def.classes - 1) + "), but entry " +
                               std::to_string(entries[i]) + " has label " +
                               std::to_string(static_cast<long long>(v)));
    if (def.targets == define::Targets::kBinary && v != 0 && v != 1)
      throw std::runtime_error("model '" + def.name +
                               "' is a binary classifier: labels must be 0 or 1, "
                               "but entry " +
                               std::to_string(entries[i]) + " has label " +
                               std::to_string(static_cast<long long>(v)));
  }
}

train::ModelData test_data(const define::Definition& def, const Dataset& d) {
  const auto& impl = *d.impl();
  if (def.targets == define::Targets::kRegression) {
    if (!impl.targets.defined())
      throw std::runtime_error("model '" + def.name +
                               "' is a regression model, but the test dataset "
                               "has class labels, not regression targets");
    return {impl.split.images, impl.targets, impl.weights};
  }
  if (impl.targets.defined())
    throw std::runtime_error("model '" + def.name +
                             "' is a classifier, but the test dataset holds "
                             "regression targets");
  return {impl.split.images, impl.split.labels.to(torch::kFloat32).unsqueeze(1), impl.weights};
}

// Data-parallel: this rank's entries of the stream (data/stream_ranks.hpp),
// once the ranks agreed that they run the same fit on the same stream.
std::unique_ptr<rootdata::ColumnStream> rank_stream(const rootdata::ColumnStream& whole,
                                                    const std::string& model, const TrainOptions& o) {
  const auto& spec = whole.spec();
  dist::check_same_options(
      "fit of model " + model + " (optimizer " + o.optimizer + ", lr " + std::to_string(o.lr) + ", epochs " +
      std::to_string(o.epochs) + ") on a stream of " + std::to_string(whole.entries()) +
      " entries, chunk_entries " + std::to_string(spec.chunk_entries) + ", shuffle_buffer " +
      std::to_string(spec.shuffle_buffer) + ", shuffle " + std::to_string(spec.shuffle) + ", seed " +
      std::to_string(spec.seed) + ", batch per rank " + std::to_string(o.batch));
  return rootdata::rank_part(whole, "StreamDataset (" + dist::rank_label() + ")");
}

TrainResult fit_stream(Model::State& state, rootdata::ColumnStream& whole, const Dataset& test,
                       const TrainOptions& o) {
  DefinedModel& model = *state.model;
  const auto& def = model.definition();
  if (o.engine != "clad")
    throw std::runtime_error(
        "a defined model trains with its Clad gradient: engine must be \"clad\", "
        "found \"" +
        o.engine + "\"");
  if (o.epochs < 1) throw std::runtime_error("epochs must be at least 1, found " + std::to_string(o.epochs));
  if (o.batch < 1) throw std::runtime_error("batch must be at least 1, found " + std::to_string(o.batch));
  if (o.threads < 1)
    throw std::runtime_error("threads must be at least 1, found " + std::to_string(o.threads));
  const auto checkpoints = checkpoint_options(o, "Model::fit");
  check_stream(def, whole);
  // The stream's feature names (as StreamDataset::feature_names gives them)
  // are the model's, and the test set's must agree.
  record_model_features(state, whole.feature_names(), "Model::fit", "the stream");
  check_model_features(state, test.impl()->feature_names, "Model::fit", "the test set");
  const bool parallel = dist::distributed();
  const auto own = parallel ? rank_stream(whole, def.name, o) : nullptr;
  rootdata::ColumnStream& stream = own ? *own : whole;
  auto test_set = test_data(def, test);
  test_set.x = model_features(state, test_set.x);  // standardised, if the model is (Model::standardize)
  test_set.y = model_targets(state, test_set.y);   // regression targets too, if the model's are
  test_set.y_scale = state.target_scale;           // for the RMSE in the targets' units
  train::check_model_data(def, test_set, "test");
  if (o.weighted_sampling)
    throw std::runtime_error(
        "weighted sampling draws events at random from the whole training set; a "
        "stream reads its entries in chunks: train with the weights in the loss "
        "(weighted_sampling = false) or on an in-memory Dataset");
  // The first epoch's chunks are read from here on, while the fit sums the
  // weights and prepares its step (ColumnStream::prefetch); resuming, the
  // epoch the checkpoint resumes from, once it is read (below). Whatever
  // ends the fit early (an exception, a stopped run) cancels an epoch
  // prefetched and not begun: no reader thread reads on in the caller's
  // stream.
  const rootdata::CancelPrefetchOnExit cancel_prefetch(stream);
  if (!checkpoints.resume) stream.prefetch(1);
  const MetricsRun metrics{"Model::fit", "stream", "clad", def.name};
  start_metrics_files(o, metrics);
  // The weight rule of an in-memory fit (train/model_trainer.hpp): event i's
  // loss counts w_i / mean(w), the mean over every entry of the stream.
  // Data-parallel, each rank sums its entries' weights and the ranks add them.
  double weight_factor = 0;
  if (stream.weighted()) {
    if (o.progress && dist::is_root())
      training_log(true) << "summing the weights of " << whole.entries() << " entries\n";
    train::WeightSums sums;
    std::exception_ptr failure;
    try {
      sums = stream.weight_sums();
    } catch (...) {
      if (!parallel) throw;
      failure = std::current_exception();
    }
    if (parallel) {
      double v[2] = {sums.sum, sums.sum_abs};
      dist::sum_over_ranks(v, 2, failure, "sum the weights of their stream entries");
      sums.sum = v[0], sums.sum_abs = v[1];
    }
    train::check_weight_sums(sums, def.name);
    weight_factor = static_cast<double>(whole.entries()) / sums.sum;
  }
  train::RunOptions settings = run_options(o);
  at::set_num_threads(settings.threads);
  train::CladStep step(model, settings.optimizer, o.frozen);

  std::vector<float> xb(static_cast<size_t>(o.batch) * def.inputs),
      yb(static_cast<size_t>(o.batch) * def.target_width);
  std::vector<long long> entries(o.batch);
  std::vector<float> wb(weight_factor > 0 ? o.batch : 0);
  const float* mean = state.mean.defined() ? state.mean.data_ptr<float>() : nullptr;
  const float* scale = state.scale.defined() ? state.scale.data_ptr<float>() : nullptr;
  const float* target_mean = state.target_mean.defined() ? state.target_mean.data_ptr<float>() : nullptr;
  const float* target_scale = state.target_scale.defined() ? state.target_scale.data_ptr<float>() : nullptr;
  train::SourceSteps steps;
  // The epoch's last rows prefetch the next epoch's first chunks, read while
  // they train and the model is evaluated (next() gives 0 rows from there).
  steps.begin_epoch = [&](int e) { stream.begin_epoch(e, o.epochs); };
  steps.data_parallel = true;
  steps.next = [&](int& size) {
    std::exception_ptr failure;
    try {
      size = stream.next(o.batch, xb.data(), yb.data(), wb.empty() ? nullptr : wb.data(), entries.data());
      check_labels(def, yb.data(), entries.data(), size);
    } catch (...) {
      failure = std::current_exception();
      size = 0;
    }
    const int local = size;
    // The ranks' sum (0: every rank's entries ran out); a failure on any rank ends every rank.
    size = static_cast<int>(dist::source_step_batch(local, failure, "read their stream"));
    if (size == 0) return 0.0f;
    if (mean)  // the standardisation fitted on an in-memory sample (Model::standardize)
      for (int r = 0; r < local; ++r)
        for (int f = 0; f < def.inputs; ++f) {
          float& v = xb[static_cast<size_t>(r) * def.inputs + f];
          v = (v - mean[f]) / scale[f];
        }
    if (target_mean)  // regression targets standardised on the same sample
      for (int r = 0; r < local; ++r)
        for (int t = 0; t < def.target_width; ++t) {
          float& v = yb[static_cast<size_t>(r) * def.target_width + t];
          v = (v - target_mean[t]) / target_scale[t];
        }
    for (int r = 0; r < static_cast<int>(wb.size()) && r < local; ++r)
      wb[r] = static_cast<float>(wb[r] * weight_factor);
    // An empty local batch (this rank's entries ran out) adds a zero gradient.
    return step(xb.data(), yb.data(), wb.empty() ? nullptr : wb.data(), local);
  };
  settings.metrics = metrics_files(o, metrics);
  train::RunSpec spec = train::run_spec("clad", def.name, settings);
  spec.samples = whole.entries();  // every rank's: the loop's steps per epoch
  spec.seed = whole.spec().seed;
  // Checkpoints (TrainOptions::checkpoint, resume): the stream orders epoch
  // e's rows by (its seed, e) alone, so a resumed fit reads the rows the
  // uninterrupted one reads from the next epoch on.
  train::use_checkpoints(spec, checkpoints, model, train::access_of(step.optimizer()),
                         training_log(o.progress && dist::is_root()));
  stream.prefetch(spec.first_epoch);  // the prefetch(1) above, or the epoch a checkpoint resumes from
  const auto run = train::run_epochs(
      spec, steps, [&] { return train::evaluate_model(model, test_set); }, training_log(o.progress));

  TrainResult out = record_fit(state, run, o);
  write_metrics_files(o, metrics, run.epochs, out.status);
  return out;
}

}  // namespace

TrainResult Model::fit(const StreamDataset& train, const Dataset& test, const TrainOptions& o) {
  return rethrow_plain([&] { return fit_stream(*state(), *train.impl()->stream, test, o); });
}

}  // namespace torchclad
