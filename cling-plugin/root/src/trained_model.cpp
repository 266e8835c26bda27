#include "trained_model.hpp"

#include <cerrno>
#include <cstdio>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "model_state.hpp"
#include "rank_zero_writes.hpp"

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

EpochResult epoch_result(const train::EpochStats& e) {
  EpochResult r{e.epoch,   e.train_loss,        e.eval.test_loss, e.eval.test_accuracy,
                e.seconds, e.samples_per_second};
  r.test_auc = e.eval.test_auc;
  r.test_rmse = e.eval.test_rmse;
  r.steps = e.steps;
  r.steps_per_second = e.steps_per_second;
  return r;
}

std::vector<EpochResult> epoch_results(const std::vector<train::EpochStats>& epochs) {
  std::vector<EpochResult> out;
  for (const auto& e : epochs) out.push_back(epoch_result(e));
  return out;
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

TrainResult train_result(const std::vector<train::EpochStats>& epochs, bool non_finite, bool stopped,
                         const std::string& message) {
  TrainResult out;
  out.epochs = epoch_results(epochs);
  out.status = non_finite ? "failed" : stopped ? "stopped" : "finished";
  out.message = message;
  return out;
}

namespace {

// A number as JSON takes it (null for NaN and infinities) and CSV.
std::string number(double v, bool json) {
  if (!std::isfinite(v)) return json ? "null" : (std::isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
  std::ostringstream o;
  o.precision(std::numeric_limits<double>::max_digits10);
  o << v;
  return o.str();
}

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// The commands' --metrics-json (train::write_metrics_json): the run, then
// one object per epoch with the same field names, and test_auc, test_rmse.
std::string metrics_json(const TrainOptions& o, const MetricsRun& run, const TrainResult& r) {
  std::ostringstream out;
  out << "{\n  \"dataset\": " << quoted(run.dataset) << ",\n  \"engine\": " << quoted(run.engine)
      << ",\n  \"model\": " << quoted(run.model) << ",\n  \"optimizer\": " << quoted(o.optimizer)
      << ",\n  \"lr\": " << number(o.lr, true) << ",\n  \"batch\": " << o.batch
      << ",\n  \"threads\": " << o.threads << ",\n  \"seed\": " << o.seed
      << ",\n  \"non_finite\": " << (r.status == "failed" ? "true" : "false")
      << ",\n  \"status\": " << quoted(r.status.empty() ? "running" : r.status) << ",\n  \"epochs\": [";
  for (size_t i = 0; i < r.epochs.size(); ++i) {
    const auto& m = r.epochs[i];
    out << (i ? ",\n    " : "\n    ") << "{\"epoch\": " << m.epoch << ", \"steps\": " << m.steps
        << ", \"train_loss\": " << number(m.train_loss, true)
        << ", \"test_loss\": " << number(m.test_loss, true)
        << ", \"test_accuracy\": " << number(m.test_accuracy, true)
        << ", \"seconds\": " << number(m.seconds, true)
        << ", \"steps_per_second\": " << number(m.steps_per_second, true)
        << ", \"samples_per_second\": " << number(m.samples_per_second, true)
        << ", \"test_auc\": " << number(m.test_auc, true) << ", \"test_rmse\": " << number(m.test_rmse, true)
        << "}";
  }
  out << (r.epochs.empty() ? "]\n}\n" : "\n  ]\n}\n");
  return out.str();
}

// The commands' --metrics-csv (train::write_metrics_csv), with test_auc and
// test_rmse after its columns.
std::string metrics_csv(const MetricsRun& run, const TrainResult& r) {
  std::ostringstream out;
  out << "engine,epoch,steps,train_loss,test_loss,test_accuracy,seconds,steps_per_second,samples_per_second,"
         "test_auc,test_rmse\n";
  for (const auto& m : r.epochs)
    out << run.engine << ',' << m.epoch << ',' << m.steps << ',' << number(m.train_loss, false) << ','
        << number(m.test_loss, false) << ',' << number(m.test_accuracy, false) << ','
        << number(m.seconds, false) << ',' << number(m.steps_per_second, false) << ','
        << number(m.samples_per_second, false) << ',' << number(m.test_auc, false) << ','
        << number(m.test_rmse, false) << '\n';
  return out.str();
}

void write_file(const std::string& where, const char* option, const std::string& path,
                const std::string& text) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(path).parent_path();
  std::error_code ec;
  if (!dir.empty() && !fs::is_directory(dir, ec))
    throw std::runtime_error(where + ": options." + option + ": cannot write '" + path +
                             "': the directory '" + dir.string() + "' does not exist");
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out)
    throw std::runtime_error(where + ": options." + option + ": cannot write '" + path +
                             "': " + std::strerror(errno));
  out << text;
  out.close();
  if (!out)
    throw std::runtime_error(where + ": options." + option + ": could not finish writing '" + path + "'");
}

void write_both(const TrainOptions& o, const MetricsRun& run, const TrainResult& r) {
  if (o.metrics_json.empty() && o.metrics_csv.empty()) return;
  rank_zero_writes([&] {
    if (!o.metrics_json.empty())
      write_file(run.where, "metrics_json", o.metrics_json, metrics_json(o, run, r));
    if (!o.metrics_csv.empty()) write_file(run.where, "metrics_csv", o.metrics_csv, metrics_csv(run, r));
  });
}

}  // namespace

void start_metrics_files(const TrainOptions& o, const MetricsRun& run) { write_both(o, run, TrainResult{}); }

void write_metrics_files(const TrainOptions& o, const MetricsRun& run, const TrainResult& result) {
  write_both(o, run, result);
}

TrainResult record_fit(Model::State& state, const train::RunOutcome& run, const TrainOptions& options) {
  TrainResult out = train_result(run.epochs, run.non_finite, run.stopped, run.message);
  state.history.insert(state.history.end(), out.epochs.begin(), out.epochs.end());
  state.options = options;
  state.trained = state.trained || !run.epochs.empty();
  return out;
}

}  // namespace torchclad
