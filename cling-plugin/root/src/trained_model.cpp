#include "trained_model.hpp"

#include <stdexcept>

#include "model_state.hpp"
#include "rank_zero_writes.hpp"
#include "train/metrics_files.hpp"

namespace torchclad {

Model trained_model(std::shared_ptr<const define::Definition> def, const torch::Tensor& params,
                    unsigned long long seed, const TrainOptions& options, std::vector<EpochResult> history) {
  auto s = std::make_shared<Model::State>();
  s->model = std::make_shared<DefinedModel>(std::move(def), seed);
  TORCH_CHECK(params.numel() == s->model->params().numel(), "trained_model: ", params.numel(),
              " parameters for model '", s->model->definition().name, "', which has ",
              s->model->params().numel());
  s->model->params().copy_(params.detach().reshape({-1}));
  s->seed = seed;
  s->options = options;
  s->history = std::move(history);
  s->trained = !s->history.empty();
  return Model(s);
}

train::RunOptions run_options(const TrainOptions& o) {
  train::RunOptions r;
  r.optimizer.kind = o.optimizer;
  r.optimizer.lr = o.lr;
  r.epochs = o.epochs;
  r.batch = o.batch;
  r.threads = o.threads;
  r.seed = o.seed;
  r.progress = o.progress;
  return r;
}

train::CheckpointOptions checkpoint_options(const TrainOptions& o, const std::string& where) {
  if (o.resume && o.checkpoint.empty())
    throw std::runtime_error(where +
                             ": options.resume needs options.checkpoint, the file to continue from "
                             "(and to write after every epoch)");
  train::CheckpointOptions c;
  c.path = o.checkpoint;
  c.resume = o.resume;
  c.epochs_name = "options.epochs";
  return c;
}

TrainResult train_result(const std::vector<EpochResult>& epochs, bool non_finite, bool stopped,
                         const std::string& message) {
  TrainResult out;
  out.epochs = epochs;
  out.status = non_finite ? "failed" : stopped ? "stopped" : "finished";
  out.message = message;
  return out;
}

train::MetricsFiles metrics_files(const TrainOptions& o, const MetricsRun& run) {
  train::MetricsFiles f;
  f.json = o.metrics_json;
  f.csv = o.metrics_csv;
  f.where = run.where;
  f.json_name = "options.metrics_json";
  f.csv_name = "options.metrics_csv";
  f.engine = run.engine;
  f.header = {{"dataset", train::json_string(run.dataset)},
              {"engine", train::json_string(run.engine)},
              {"model", train::json_string(run.model)},
              {"optimizer", train::json_string(o.optimizer)},
              {"lr", train::json_number(o.lr)},
              {"batch", std::to_string(o.batch)},
              {"threads", std::to_string(o.threads)},
              {"seed", std::to_string(o.seed)}};
  return f;
}

namespace {

void write_both(const TrainOptions& o, const MetricsRun& run, const std::vector<EpochResult>& epochs,
                const std::string& status) {
  if (o.metrics_json.empty() && o.metrics_csv.empty()) return;
  rank_zero_writes([&] { train::write_metrics(metrics_files(o, run), epochs, status); });
}

}  // namespace

void start_metrics_files(const TrainOptions& o, const MetricsRun& run) { write_both(o, run, {}, "running"); }

void write_metrics_files(const TrainOptions& o, const MetricsRun& run, const std::vector<EpochResult>& epochs,
                         const std::string& status) {
  write_both(o, run, epochs, status);
}

TrainResult record_fit(Model::State& state, const train::RunOutcome& run, const TrainOptions& options) {
  TrainResult out = train_result(run.epochs, run.non_finite, run.stopped, run.message);
  state.history.insert(state.history.end(), out.epochs.begin(), out.epochs.end());
  state.options = options;
  state.trained = state.trained || !run.epochs.empty();
  return out;
}

}  // namespace torchclad
