// The implementation of torchclad/model.h (save/load: model_io.cpp): a Model
// is a DefinedModel, the options of its last fit and its history.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <sstream>

#include "dataset_impl.hpp"
#include "dist/communicator.hpp"
#include "feature_names.hpp"
#include "metrics/weighted.hpp"
#include "define/definition.hpp"
#include "model/defined_model.hpp"
#include "model_state.hpp"
#include "standardization.hpp"
#include "trained_model.hpp"
#include "plain_errors.hpp"
#include "torchclad/model.h"
#include "train/model_trainer.hpp"

namespace torchclad {
namespace {

const define::Definition& def_of(const Model::State& s) { return s.model->definition(); }

// A model whose softmax has one class cannot learn anything (every label
// must be 0): refused when it is made, where a TMVA user's "one output"
// mlp-4-32-1 would otherwise fail only at fit.
void refuse_one_class(const define::Definition& def) {
  if (def.targets != define::Targets::kClassIndex || def.classes >= 2) return;
  const std::string head = "model '" + def.name + "' classifies into " + std::to_string(def.classes) +
                           " class (a softmax over " + std::to_string(def.classes) + " output)";
  if (def.name.rfind("mlp-", 0) == 0) {
    // The same widths with 2 outputs: the last number of the name.
    std::string two = def.name;
    const auto end = two.find_last_of("0123456789");
    const auto begin = two.find_last_not_of("0123456789", end);
    two.replace(begin + 1, end - begin, "2");
    throw std::runtime_error(head +
                             ": a built-in Mlp is a softmax classifier, its last width the number of "
                             "classes: use " +
                             two +
                             " for two classes (signal 1, background 0; its score log(p1/p0) is what roc() "
                             "and define_model_column give)");
  }
  throw std::runtime_error(head +
                           ": a softmax classifier needs at least 2 classes; for one output (a "
                           "logit) declare binary() and use nn::bce_with_logits");
}

}  // namespace

void check_model_features(const Model::State& s, const std::vector<std::string>& names,
                          const std::string& where, const std::string& what) {
  // Another number of features: the width checks say so in counts.
  if (names.size() != s.feature_names.size()) return;
  check_feature_names(s.feature_names, names, where, "model '" + def_of(s).name + "' takes the features",
                      what + " has the features",
                      "give the columns in the model's order (model.feature_names()), or, for the same "
                      "quantities under other names, model.set_feature_names(...)");
}

void record_model_features(Model::State& s, const std::vector<std::string>& names, const std::string& where,
                           const std::string& what) {
  check_model_features(s, names, where, what);
  if (s.feature_names.empty() && static_cast<int>(names.size()) == def_of(s).inputs) s.feature_names = names;
}

namespace {

// The dataset as the definition reads it; class labels become float targets.
train::ModelData model_data(const Model::State& s, const Dataset& d) {
  const auto& def = def_of(s);
  const auto& impl = *d.impl();
  if (def.targets == define::Targets::kRegression) {
    if (!impl.targets.defined())
      throw std::runtime_error("model '" + def.name + "' is a regression model (" +
                               std::to_string(def.target_width) +
                               " targets per sample), but the dataset has class labels, not "
                               "regression targets");
    // Standardised targets (if the model's are), with their stds for the RMSE
    // in the targets' own units.
    return {model_features(s, impl.split.images), model_targets(s, impl.targets), impl.weights,
            s.target_scale};
  }
  if (impl.targets.defined())
    throw std::runtime_error("model '" + def.name +
                             "' is a classifier, but the dataset holds regression targets");
  // Per-event weights: used by the loss, the metrics and (optionally) the
  // sampling (train/model_trainer.hpp).
  return {model_features(s, impl.split.images), impl.split.labels.to(torch::kFloat32).unsqueeze(1),
          impl.weights};
}

train::ModelData model_data(const Model::State& s, const BinaryDataset& d) {
  const auto& def = def_of(s);
  if (def.targets != define::Targets::kBinary)
    throw std::runtime_error("model '" + def.name +
                             "' is not a binary classifier (declare binary() in its constructor) "
                             "but was given a BinaryDataset");
  return {model_features(s, d.impl()->split.x), d.impl()->split.targets.to(torch::kFloat32).unsqueeze(1)};
}

train::ModelTrainConfig config_of(const TrainOptions& o) {
  if (o.engine != "clad")
    throw std::runtime_error(
        "a defined model trains with its Clad gradient: engine must be "
        "\"clad\", found \"" +
        o.engine + "\"");
  train::ModelTrainConfig c;
  static_cast<train::RunOptions&>(c) = run_options(o);
  c.weighted_sampling = o.weighted_sampling;
  c.frozen = o.frozen;
  return c;
}

Evaluation to_evaluation(const define::Definition& def, const train::Evaluation& e, long long n,
                         bool weighted) {
  Evaluation r;
  r.loss = e.test_loss;
  r.samples = n;
  r.weighted = weighted;
  if (def.targets == define::Targets::kRegression) {
    r.rmse = e.test_rmse;
  } else {
    r.accuracy = e.test_accuracy;
    r.auc = e.test_auc;
  }
  return r;
}

// A shard (Distributed::shard) is for training only: its weights are all rows'.
void check_whole(const Dataset& d, const char* what) {
  if (d.impl()->shard_total > 0)
    throw std::runtime_error(std::string(what) + ": the dataset is one rank's shard of a training set (" +
                             "Distributed::shard); evaluate, predict and standardize on whole datasets");
}

Evaluation evaluate_data(Model::State& s, const train::ModelData& data) {
  train::check_model_data(def_of(s), data, "evaluation");
  // Each process alone (no collective: any rank may call it).
  return to_evaluation(def_of(s), train::evaluate_model(*s.model, data, false), data.x.size(0),
                       data.w.defined());
}

TrainResult fit_data(Model::State& s, const train::ModelData& train, const train::ModelData& test,
                     const TrainOptions& o, int64_t shard_begin = 0, int64_t shard_total = 0) {
  auto config = config_of(o);
  config.shard_begin = shard_begin;
  config.shard_total = shard_total;
  const auto checkpoints = checkpoint_options(o, "Model::fit");
  const MetricsRun metrics{"Model::fit", "in-memory", "clad", def_of(s).name};
  config.metrics = metrics_files(o, metrics);
  start_metrics_files(o, metrics);
  const auto run = train::train_model(*s.model, train, test, config, training_log(o.progress), checkpoints);
  TrainResult out = record_fit(s, run, o);
  write_metrics_files(o, metrics, run.epochs, out.status);
  return out;
}

std::vector<float> predict_data(Model::State& s, const torch::Tensor& x) {
  const auto& def = def_of(s);
  if (x.dim() != 2 || x.size(1) != def.inputs)
    throw std::runtime_error("model '" + def.name + "' takes " + std::to_string(def.inputs) +
                             " features per sample, the data have " +
                             (x.dim() == 2 ? std::to_string(x.size(1)) : std::string("?")));
  auto out = original_targets(s, s.model->forward(model_features(s, x))).contiguous();
  return std::vector<float>(out.data_ptr<float>(), out.data_ptr<float>() + out.numel());
}

std::string format_row(const GradientCheck::Row& r) {
  char line[200];
  std::snprintf(line, sizeof line, "  %-28s %8lld %14.3e %14.3e\n", r.parameter.c_str(), r.checked,
                r.max_abs_error, r.max_rel_error);
  return line;
}

GradientCheck check_data(Model::State& s, const train::ModelData& data, int batch, int per_tensor, double h,
                         double tolerance) {
  const auto& def = def_of(s);
  if (batch < 1) throw std::runtime_error("check_gradients: batch must be at least 1");
  if (!(h > 0)) throw std::runtime_error("check_gradients: the step h must be positive");
  train::check_model_data(def, data, "check_gradients");
  const int n = static_cast<int>(std::min<int64_t>(batch, data.x.size(0)));
  const auto x = data.x.narrow(0, 0, n).to(torch::kFloat64).contiguous();
  const auto y = data.y.narrow(0, 0, n).to(torch::kFloat64).contiguous();
  // With per-event weights, the factors the training step uses: weight over
  // the dataset's mean weight.
  torch::Tensor w;
  if (data.w.defined())
    w = (data.w.narrow(0, 0, n).to(torch::kFloat64) *
         (double(data.w.numel()) / data.w.to(torch::kFloat64).sum()))
            .contiguous();
  const double* wv = w.defined() ? w.data_ptr<double>() : nullptr;
  auto p = s.model->params().to(torch::kFloat64).contiguous();
  double* pv = p.data_ptr<double>();
  std::vector<double> grad(p.numel(), 0.0);
  s.model->loss_and_grad_double(pv, x.data_ptr<double>(), y.data_ptr<double>(), n, grad.data(), wv);

  GradientCheck result;
  result.tolerance = tolerance;
  std::mt19937_64 rng(12345);
  for (const auto& spec : def.params) {
    GradientCheck::Row row;
    row.parameter = spec.name;
    // The element with the largest gradient, then random ones.
    std::vector<int64_t> picks;
    int64_t largest = 0;
    for (int64_t i = 1; i < spec.numel; ++i)
      if (std::abs(grad[spec.offset + i]) > std::abs(grad[spec.offset + largest])) largest = i;
    picks.push_back(largest);
    std::uniform_int_distribution<int64_t> pick(0, spec.numel - 1);
    while (static_cast<int64_t>(picks.size()) < std::min<int64_t>(per_tensor, spec.numel)) {
      const int64_t i = pick(rng);
      if (std::find(picks.begin(), picks.end(), i) == picks.end()) picks.push_back(i);
    }
    for (int64_t i : picks) {
      const int64_t k = spec.offset + i;
      const double saved = pv[k];
      pv[k] = saved + h;
      const double up = s.model->loss_double(pv, x.data_ptr<double>(), y.data_ptr<double>(), n, wv);
      pv[k] = saved - h;
      const double down = s.model->loss_double(pv, x.data_ptr<double>(), y.data_ptr<double>(), n, wv);
      pv[k] = saved;
      const double fd = (up - down) / (2 * h), err = std::abs(fd - grad[k]);
      // Relative to the gradient's scale, so a gradient of ~0 compares absolutely.
      const double rel = err / std::max({std::abs(fd), std::abs(grad[k]), 1e-3});
      row.max_abs_error = std::max(row.max_abs_error, err);
      row.max_rel_error = std::max(row.max_rel_error, rel);
      ++row.checked;
    }
    result.worst_rel_error = std::max(result.worst_rel_error, row.max_rel_error);
    result.rows.push_back(row);
  }
  result.passed = result.worst_rel_error < tolerance;
  std::ostringstream t;
  t << "check_gradients: model '" << def.name << "', Clad's float64 gradient vs central differences"
    << " (h = " << h << ", batch " << n << ")\n";
  char head[200];
  std::snprintf(head, sizeof head, "  %-28s %8s %14s %14s\n", "parameter", "checked", "max abs error",
                "max rel error");
  t << head;
  for (const auto& r : result.rows) t << format_row(r);
  // A parameter whose whole gradient is 0 passes the check, but the loss
  // does not depend on it: a layer whose output nothing reads, or a dead one.
  for (const auto& spec : def.params) {
    bool zero = true;
    for (int64_t i = 0; i < spec.numel && zero; ++i) zero = grad[spec.offset + i] == 0.0;
    if (zero)
      t << "  note: the gradient of '" << spec.name << "' is 0 everywhere on this batch: the loss does not "
        << "depend on it (is its layer's output used? are its units dead?)\n";
  }
  char tail[160];
  std::snprintf(tail, sizeof tail, "  worst relative error %.3e: %s (tolerance %.0e)\n",
                result.worst_rel_error, result.passed ? "passed" : "FAILED", tolerance);
  t << tail;
  result.table = t.str();
  std::fputs(result.table.c_str(), stdout);
  std::fflush(stdout);
  return result;
}

}  // namespace

Model::Model(const std::string& name, unsigned long long seed)
    : state_(rethrow_plain([&] {
        auto s = std::make_shared<State>();
        const auto def = define::find_definition(name);
        refuse_one_class(*def);
        s->model = std::make_shared<DefinedModel>(def, seed);
        s->seed = seed;
        return s;
      })) {}

namespace {
// Data-parallel, a training set every rank holds whole trains correctly
// (each rank takes its share of every global batch) but costs each rank the
// memory of all rows: said once, by rank 0, with the way out.
void note_unsharded(const Dataset& train) {
  static bool told = false;
  if (told || !dist::distributed() || train.impl()->shard_total > 0) return;
  told = true;
  if (dist::is_root())
    std::fprintf(stderr,
                 "torchclad: Model::fit: each of the %d ranks holds the whole training set (%lld rows): "
                 "it trains correctly, each rank taking its share of every batch; "
                 "Distributed::shard(train) keeps only a rank's part in its memory\n",
                 dist::world().size(), static_cast<long long>(train.size()));
}
}  // namespace

TrainResult Model::fit(const Dataset& train, const Dataset& test, const TrainOptions& o) {
  return rethrow_plain([&] {
    check_whole(test, "Model::fit's test set");
    note_unsharded(train);
    record_model_features(*state(), train.impl()->feature_names, "Model::fit", "the training set");
    check_model_features(*state(), test.impl()->feature_names, "Model::fit", "the test set");
    return fit_data(*state(), model_data(*state(), train), model_data(*state(), test), o,
                    train.impl()->shard_begin, train.impl()->shard_total);
  });
}
TrainResult Model::fit(const BinaryDataset& train, const BinaryDataset& test, const TrainOptions& o) {
  return rethrow_plain(
      [&] { return fit_data(*state(), model_data(*state(), train), model_data(*state(), test), o); });
}
Evaluation Model::evaluate(const Dataset& d) const {
  return rethrow_plain([&] {
    check_whole(d, "Model::evaluate");
    check_model_features(*state(), d.impl()->feature_names, "Model::evaluate", "the dataset");
    return evaluate_data(*state(), model_data(*state(), d));
  });
}
Evaluation Model::evaluate(const BinaryDataset& d) const {
  return rethrow_plain([&] { return evaluate_data(*state(), model_data(*state(), d)); });
}
std::vector<float> Model::predict(const Dataset& d) const {
  return rethrow_plain([&] {
    check_whole(d, "Model::predict");
    check_model_features(*state(), d.impl()->feature_names, "Model::predict", "the dataset");
    return predict_data(*state(), d.impl()->split.images);
  });
}
std::vector<float> Model::predict(const BinaryDataset& d) const {
  return rethrow_plain([&] { return predict_data(*state(), d.impl()->split.x); });
}
int Model::output_width() const { return def_of(*state()).output_width; }

RocCurve Model::roc(const Dataset& data) const {
  return rethrow_plain([&] {
    const auto& def = def_of(*state());
    if (!train::has_binary_scores(def))
      throw std::runtime_error("Model::roc: model '" + def.name + "' has " +
                               std::to_string(def.output_width) +
                               " outputs; the ROC curve needs one score per event (a binary classifier, "
                               "or a classifier of two classes)");
    check_whole(data, "Model::roc");
    check_model_features(*state(), data.impl()->feature_names, "Model::roc", "the dataset");
    const auto& impl = *data.impl();
    if (impl.targets.defined())
      throw std::runtime_error("Model::roc: model '" + def.name +
                               "' is a classifier, but the dataset holds regression targets");
    const auto x = impl.split.images;
    if (x.dim() != 2 || x.size(1) != def.inputs)
      throw std::runtime_error("Model::roc: model '" + def.name + "' takes " + std::to_string(def.inputs) +
                               " features per sample, the data have " +
                               (x.dim() == 2 ? std::to_string(x.size(1)) : std::string("?")));
    // The score rule of evaluate and fit (train::binary_scores).
    const auto s = train::binary_scores(def, state()->model->forward(model_features(*state(), x)));
    const std::vector<float> scores(s.data_ptr<float>(), s.data_ptr<float>() + s.numel());
    const auto labels64 = impl.split.labels.contiguous();
    std::vector<int> labels(labels64.data_ptr<int64_t>(), labels64.data_ptr<int64_t>() + labels64.numel());
    for (size_t i = 0; i < labels.size(); ++i)
      if (labels[i] != 0 && labels[i] != 1)
        throw std::runtime_error("Model::roc: the label of sample " + std::to_string(i) + " is " +
                                 std::to_string(labels[i]) +
                                 "; the ROC curve needs labels 0 (background) and 1 (signal) (for a "
                                 "dataset of more classes, read the two to compare, e.g. after a Filter)");
    std::vector<float> weights(labels.size(), 1.f);
    if (impl.weights.defined()) {
      const auto w = impl.weights.to(torch::kFloat32).contiguous();
      weights.assign(w.data_ptr<float>(), w.data_ptr<float>() + w.numel());
    }
    try {
      const auto c = metrics::weighted_roc_curve(scores, labels, weights);
      RocCurve r{c.false_positive_rate, c.true_positive_rate, c.threshold, 0};
      r.auc = metrics::weighted_roc_auc(scores, labels, weights);
      return r;
    } catch (const std::invalid_argument& e) {
      // The metric's own name ("weighted_roc_curve: ") means nothing to the user.
      std::string what = e.what();
      if (const auto colon = what.find(": ");
          colon != std::string::npos && what.rfind("weighted_roc", 0) == 0)
        what = what.substr(colon + 2);
      throw std::runtime_error("Model::roc: " + what);
    }
  });
}

void Model::standardize(const Dataset& train) {
  rethrow_plain([&] {
    const auto& def = def_of(*state());
    // Both fitted before either is kept: an error leaves the model as it was.
    check_model_features(*state(), train.impl()->feature_names, "Model::standardize", "the dataset");
    const auto features = fit_feature_standardization(def, train, "Model::standardize");
    Standardization targets;
    if (def.targets == define::Targets::kRegression)
      targets = fit_target_standardization(def, train, "Model::standardize");
    state()->mean = features.mean;
    state()->scale = features.scale;
    record_model_features(*state(), train.impl()->feature_names, "Model::standardize", "the dataset");
    if (targets.mean.defined()) {
      state()->target_mean = targets.mean;
      state()->target_scale = targets.scale;
    }
    return 0;
  });
}
void Model::standardize_features(const Dataset& train) {
  rethrow_plain([&] {
    check_model_features(*state(), train.impl()->feature_names, "Model::standardize_features", "the dataset");
    const auto features = fit_feature_standardization(def_of(*state()), train, "Model::standardize_features");
    state()->mean = features.mean;
    state()->scale = features.scale;
    record_model_features(*state(), train.impl()->feature_names, "Model::standardize_features",
                          "the dataset");
    return 0;
  });
}
void Model::standardize_targets(const Dataset& train) {
  rethrow_plain([&] {
    const auto targets = fit_target_standardization(def_of(*state()), train, "Model::standardize_targets");
    state()->target_mean = targets.mean;
    state()->target_scale = targets.scale;
    return 0;
  });
}
bool Model::standardized() const { return state()->mean.defined(); }
std::vector<float> Model::feature_means() const {
  if (!state()->mean.defined()) return {};
  return std::vector<float>(state()->mean.data_ptr<float>(),
                            state()->mean.data_ptr<float>() + state()->mean.numel());
}
std::vector<float> Model::feature_stds() const {
  if (!state()->scale.defined()) return {};
  return std::vector<float>(state()->scale.data_ptr<float>(),
                            state()->scale.data_ptr<float>() + state()->scale.numel());
}
bool Model::targets_standardized() const { return state()->target_mean.defined(); }
std::vector<float> Model::target_means() const {
  const auto& t = state()->target_mean;
  return t.defined() ? std::vector<float>(t.data_ptr<float>(), t.data_ptr<float>() + t.numel())
                     : std::vector<float>();
}
std::vector<float> Model::target_stds() const {
  const auto& t = state()->target_scale;
  return t.defined() ? std::vector<float>(t.data_ptr<float>(), t.data_ptr<float>() + t.numel())
                     : std::vector<float>();
}

GradientCheck Model::check_gradients(const Dataset& d, int batch, int per_tensor, double h,
                                     double tolerance) const {
  return rethrow_plain([&] {
    check_model_features(*state(), d.impl()->feature_names, "check_gradients", "the dataset");
    return check_data(*state(), model_data(*state(), d), batch, per_tensor, h, tolerance);
  });
}
GradientCheck Model::check_gradients(const BinaryDataset& d, int batch, int per_tensor, double h,
                                     double tolerance) const {
  return rethrow_plain(
      [&] { return check_data(*state(), model_data(*state(), d), batch, per_tensor, h, tolerance); });
}

std::string Model::name() const { return def_of(*state()).name; }
std::string Model::describe() const {
  std::ostringstream s;
  const auto& st = *state();
  s << def_of(st).describe() << "  ";
  if (st.trained)
    s << "trained";
  else if (!st.pretrained_from.empty())
    s << "pretrained (from " << st.pretrained_from << ")";
  else
    s << "untrained";
  s << ", seed " << st.seed << "\n";
  const auto values = [](const torch::Tensor& t) {  // the first 8 (784 pixels would fill the screen)
    std::ostringstream v;
    for (int64_t i = 0; i < std::min<int64_t>(t.numel(), 8); ++i) v << (i ? ", " : "") << t[i].item<float>();
    if (t.numel() > 8) v << ", ... (" << t.numel() << " values)";
    return v.str();
  };
  if (!st.feature_names.empty())
    s << "  features (" << st.feature_names.size() << "): " << feature_list(st.feature_names) << "\n";
  if (st.mean.defined())
    s << "  features standardised: mean [" << values(st.mean) << "], std [" << values(st.scale) << "]\n";
  if (st.target_mean.defined())
    s << "  targets standardised: mean [" << values(st.target_mean) << "], std [" << values(st.target_scale)
      << "] (trained on (y - mean) / std; predictions and RMSE in the targets' units)\n";
  return s.str();
}
std::vector<std::string> Model::parameter_names() const {
  std::vector<std::string> names;
  for (const auto& p : def_of(*state()).params) names.push_back(p.name);
  return names;
}
std::vector<float> Model::parameter(const std::string& name) const {
  const auto& spec = def_of(*state()).param(name);
  const float* p = state()->model->params().data_ptr<float>() + spec.offset;
  return std::vector<float>(p, p + spec.numel);
}
std::vector<std::string> Model::feature_names() const { return state()->feature_names; }
void Model::set_feature_names(const std::vector<std::string>& names) {
  rethrow_plain([&] {
    const auto& def = def_of(*state());
    if (!names.empty() && static_cast<int>(names.size()) != def.inputs)
      throw std::runtime_error("Model::set_feature_names: model '" + def.name + "' takes " +
                               std::to_string(def.inputs) + " features, found " +
                               std::to_string(names.size()) + " names (" + feature_list(names) + ")");
    for (size_t i = 0; i < names.size(); ++i)
      for (size_t j = 0; j < i; ++j)
        if (names[i] == names[j])  // no dataset would ever match: every later call would refuse
          throw std::runtime_error("Model::set_feature_names: '" + names[i] + "' is listed twice (names " +
                                   std::to_string(j) + " and " + std::to_string(i) + ")");
    state()->feature_names = names;
    return 0;
  });
}
long long Model::parameter_count() const { return def_of(*state()).param_count; }
const std::vector<EpochResult>& Model::history() const { return state()->history; }
TrainOptions Model::training_options() const { return state()->options; }

namespace {
torch::Tensor features_tensor(const std::vector<float>& x, int features, const char* what) {
  if (features < 1 || x.empty() || x.size() % features != 0)
    throw std::invalid_argument(std::string(what) + ": " + std::to_string(x.size()) +
                                " feature values are not a whole number of samples of " +
                                std::to_string(features));
  auto t = torch::tensor(x, torch::kFloat32).view({static_cast<int64_t>(x.size()) / features, features});
  if (!torch::isfinite(t).all().item<bool>())
    throw std::invalid_argument(std::string(what) + ": the features hold a non-finite value");
  return t;
}
}  // namespace

Dataset regression_dataset(const std::vector<float>& x, int features, const std::vector<float>& y,
                           int targets) {
  auto fx = features_tensor(x, features, "regression_dataset");
  const int64_t n = fx.size(0);
  if (targets < 1 || static_cast<int64_t>(y.size()) != n * targets)
    throw std::invalid_argument("regression_dataset: " + std::to_string(n) + " samples need " +
                                std::to_string(n * std::max(targets, 1)) + " target values (" +
                                std::to_string(targets) + " each), found " + std::to_string(y.size()));
  auto fy = torch::tensor(y, torch::kFloat32).view({n, targets});
  if (!torch::isfinite(fy).all().item<bool>())
    throw std::invalid_argument("regression_dataset: the targets hold a non-finite value");
  return Dataset(
      std::make_shared<Dataset::Impl>(Dataset::Impl{{fx, torch::zeros({n}, torch::kInt64)}, fy, {}}));
}

Dataset classification_dataset(const std::vector<float>& x, int features,
                               const std::vector<long long>& labels) {
  auto fx = features_tensor(x, features, "classification_dataset");
  const int64_t n = fx.size(0);
  if (static_cast<int64_t>(labels.size()) != n)
    throw std::invalid_argument("classification_dataset: " + std::to_string(n) +
                                " samples need as many labels, found " + std::to_string(labels.size()));
  for (size_t i = 0; i < labels.size(); ++i)
    if (labels[i] < 0)
      throw std::invalid_argument("classification_dataset: label " + std::to_string(i) + " is " +
                                  std::to_string(labels[i]) + "; labels are class indices >= 0");
  std::vector<int64_t> l(labels.begin(), labels.end());
  return Dataset(
      std::make_shared<Dataset::Impl>(Dataset::Impl{{fx, torch::tensor(l, torch::kInt64)}, {}, {}}));
}

Model model(const std::string& name, unsigned long long seed) { return Model(name, seed); }
std::vector<std::string> model_names() { return define::definition_names(); }
std::vector<std::string> take_model_errors() { return define::take_registration_errors(); }

}  // namespace torchclad
