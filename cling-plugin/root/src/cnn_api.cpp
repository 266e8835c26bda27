// The implementation of torchclad/cnn.h: the cell-facing CNN wraps the
// engine's binary trainer, detection metrics and report.
#include <iostream>
#include <sstream>

#include "data/binary_dataset.hpp"
#include "dataset_impl.hpp"
#include "metrics/detection.hpp"
#include "plain_errors.hpp"
#include "report/detection_report.hpp"
#include "torchclad/cnn.h"
#include "torchclad/rdataframe.h"
#include "model/cnn_definition.hpp"
#include "torchclad/model.h"
#include "train/binary_engines.hpp"
#include "train/binary_trainer.hpp"
#include "trained_model.hpp"

namespace torchclad {

// The trained Cnn is a Model of its definition (model/cnn_definition.hpp),
// whichever engine trained it.
struct Cnn::State {
  std::shared_ptr<Model> model;
};

BinaryDataset::BinaryDataset(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

BinaryDataset BinaryDataset::from_tree(const std::string& file, const std::string& tree,
                                       const std::string& features_column, const std::string& label_column,
                                       const std::string& snr_column, long long first, long long count) {
  return BinaryDataset(std::make_shared<Impl>(Impl{
      rootdata::read_binary_tree(file, tree, {features_column, label_column, snr_column}, first, count)}));
}

BinaryDataset binary_dataset_from_rdataframe(ROOT::RDF::RNode df, const std::string& features_column,
                                             const std::string& label_column, const std::string& snr_column) {
  return BinaryDataset(std::make_shared<BinaryDataset::Impl>(BinaryDataset::Impl{
      rootdata::read_binary_rdataframe(df, {features_column, label_column, snr_column})}));
}

long long BinaryDataset::size() const { return impl()->split.x.size(0); }
int BinaryDataset::length() const { return impl()->split.x.size(1); }
long long BinaryDataset::signals() const {
  return static_cast<long long>(impl()->split.targets.sum().item<double>());
}

namespace {

CnnConfig config_of(int input_length, const std::vector<ConvBlock>& blocks, int hidden) {
  CnnConfig c;
  c.input_length = input_length;
  c.blocks.clear();
  for (const auto& b : blocks) c.blocks.push_back({b.channels, b.kernel, b.pool});
  c.hidden = hidden;
  return c;
}

}  // namespace

Cnn::Cnn(int input_length, std::vector<ConvBlock> blocks, int hidden)
    : input_length_(input_length), blocks_(std::move(blocks)), hidden_(hidden) {
  if (input_length_ < 1 || hidden_ < 1 || blocks_.empty()) {
    const std::string found = describe();
    made_.value = 0;  // the members were made before this throw: a variable left with them is not
    throw std::runtime_error("Cnn: needs input_length >= 1, hidden >= 1 and at least one block; found " +
                             found);
  }
}

TrainResult Cnn::fit(const BinaryDataset& train, const BinaryDataset& test, const TrainOptions& o) {
  check_made();
  return rethrow_plain([&] {
    const auto config = config_of(input_length_, blocks_, hidden_);
    const auto def = cnn_definition(config);
    engine_ = o.engine;
    if (o.engine == "clad" || o.engine == "clad-model") {
      // Clad's gradient of the definition, through the same trainer as every Model.
      TrainOptions clad = o;
      clad.engine = "clad";
      auto model = std::make_shared<Model>(def->name, o.seed);
      auto result = model->fit(train, test, clad);
      state_ = std::make_shared<State>(State{model});
      return result;
    }
    if (!o.frozen.empty())
      throw std::runtime_error(
          "Cnn::fit: frozen parameters need engine \"clad\" (the one that trains "
          "the model's definition with its optimizer), found engine \"" +
          o.engine + "\"");
    // The comparison engines (clad-ops, autograd) train the definition's
    // parameters with their own backward passes.
    train::BinaryTrainConfig c;
    c.dataset = "in-memory";
    c.engine = o.engine;
    c.model = config;
    static_cast<train::RunOptions&>(c) = run_options(o);
    // The commands' checkpoints, of this engine's optimizer state.
    const auto checkpoints = checkpoint_options(o, "Cnn::fit");
    c.checkpoint = checkpoints.path;
    c.resume = checkpoints.resume;
    const MetricsRun metrics{"Cnn::fit", "in-memory", o.engine, def->name};
    c.metrics = metrics_files(o, metrics);
    start_metrics_files(o, metrics);
    auto r = train::train_binary(train.impl()->split, test.impl()->split, c, training_log(o.progress));
    TrainResult out = train_result(r.epochs, r.non_finite, r.stopped, r.stop_message);
    write_metrics_files(o, metrics, r.epochs, out.status);
    state_ = std::make_shared<State>(
        State{std::make_shared<Model>(trained_model(def, r.engine->params(), o.seed, o, out.epochs))});
    return out;
  });
}

std::vector<float> Cnn::scores(const BinaryDataset& d) const {
  check_made();
  if (!state_) throw std::runtime_error("Cnn::scores: the model is not trained yet (call fit)");
  if (d.length() != input_length_)
    throw std::runtime_error("Cnn::scores: the model takes windows of " + std::to_string(input_length_) +
                             " samples, the data have " + std::to_string(d.length()));
  return state_->model->predict(d);  // one logit per window
}

void Cnn::save(const std::string& path) const {
  check_made();
  if (!state_) throw std::runtime_error("Cnn::save: the model is not trained yet (call fit)");
  state_->model->save(path);
}

const Model& Cnn::model() const {
  check_made();
  if (!state_) throw std::runtime_error("Cnn::model: the model is not trained yet (call fit)");
  return *state_->model;
}

namespace {
// `who` names the caller in errors.
DetectionResult detection(const char* who, const std::vector<float>& scores, const BinaryDataset& test,
                          double false_alarm, const std::string& report_prefix, const std::string& title) {
  const auto& split = test.impl()->split;
  if (!split.snr.defined())
    throw std::runtime_error(std::string(who) +
                             ": the data have no SNR column (read them with snr_column set)");
  if (static_cast<long long>(scores.size()) != test.size())
    throw std::runtime_error(std::string(who) + ": expected one score per window (" +
                             std::to_string(test.size()) + "), found " + std::to_string(scores.size()));
  const std::vector<int> labels = data::binary_labels(split.targets);
  const auto snr = split.snr.contiguous();
  const auto m =
      metrics::detection_metrics(scores, labels, {snr.data_ptr<float>(), size_t(snr.numel())}, false_alarm);
  DetectionResult r;
  r.accuracy = m.accuracy;
  r.auc = m.auc;
  r.auc_snr_ge_8 = m.auc_snr_ge_8;
  r.false_alarm = m.false_alarm;
  r.threshold = m.threshold;
  r.efficiency_snr10 = m.efficiency_snr10;
  r.signals_snr10 = m.signals_snr10;
  for (const auto& b : m.efficiency)
    if (b.signals > 0)
      r.snr_bins.push_back(0.5 * (b.snr_low + b.snr_high)), r.efficiency.push_back(b.efficiency);
  r.summary = report::summary_line(m);
  if (!report_prefix.empty()) {
    const auto files = report::write_detection_report(m, scores, labels, report_prefix, title);
    r.files.push_back(files.root_file);
    r.files.insert(r.files.end(), files.pngs.begin(), files.pngs.end());
  }
  return r;
}
}  // namespace

DetectionResult detect(const std::vector<float>& scores, const BinaryDataset& test, double false_alarm,
                       const std::string& report_prefix, const std::string& title) {
  return detection("detect", scores, test, false_alarm, report_prefix, title);
}

DetectionResult Cnn::evaluate(const BinaryDataset& test, double false_alarm,
                              const std::string& report_prefix) const {
  check_made();
  return detection("Cnn::evaluate", scores(test), test, false_alarm, report_prefix,
                   (engine_.empty() ? "" : engine_ + ", ") + describe());
}

std::string Cnn::describe() const {
  check_made();
  std::ostringstream s;
  s << "Cnn(" << input_length_;
  for (const auto& b : blocks_) s << ", conv" << b.channels << "k" << b.kernel << "/pool" << b.pool;
  s << ", hidden " << hidden_ << (state_ ? ", trained" : ", untrained") << ")";
  return s.str();
}

}  // namespace torchclad
