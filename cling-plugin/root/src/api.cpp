// The implementation of torchclad/torchclad.h: the cell-facing types wrap the
// engine's tensors and trainer.
#include <ROOT/RVersion.hxx>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iostream>
#include <sstream>

#include "data/mnist.hpp"
#include "data/tree_dataset.hpp"
#include "dataset_impl.hpp"
#include "feature_names.hpp"
#include "plain_errors.hpp"
#include "model/mlp_definition.hpp"
#include "model_state.hpp"
#include "standardization.hpp"
#include "torchclad/model.h"
#include "torchclad/rdataframe.h"
#include "torchclad/torchclad.h"
#include "train/engines.hpp"
#include "train/trainer.hpp"
#include "trained_model.hpp"

namespace torchclad {

// The trained Mlp is a Model of its definition (model/mlp_definition.hpp),
// whichever engine trained it; standardize's statistics wait here for the
// next fit, which gives them to its Model.
struct Mlp::State {
  std::shared_ptr<Model> model;            // null until fit
  Standardization features;                // undefined unless standardize was called
  std::vector<std::string> feature_names;  // the features standardize fitted on (empty: unknown)
};

Dataset::Dataset(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

void detail::never_made(const char* type) {
  throw std::runtime_error(std::string("this ") + type +
                           " was never made: the statement that should have made it failed (in a notebook, "
                           "its cell's error); fix it and run it again");
}

Dataset Dataset::from_idx(const std::string& dir, const std::string& split) {
  if (split != "train" && split != "test")
    throw std::runtime_error("Dataset::from_idx: split must be \"train\" or \"test\", found \"" + split +
                             "\"");
  auto ds = data::load_mnist(dir);
  return Dataset(std::make_shared<Impl>(Impl{split == "train" ? ds.train : ds.test, {}, {}}));
}

Dataset Dataset::from_tree(const std::string& file, const std::string& tree, const std::string& image_column,
                           const std::string& label_column, long long first, long long count) {
  auto impl = std::make_shared<Impl>(
      Impl{rootdata::read_tree(file, tree, image_column, label_column, first, count), {}, {}});
  impl->feature_names = array_feature_names(image_column, impl->split.images.size(1));
  return Dataset(impl);
}

Dataset dataset_from_rdataframe(ROOT::RDF::RNode df, const std::string& image_column,
                                const std::string& label_column) {
  auto impl = std::make_shared<Dataset::Impl>(Dataset::Impl{
      rootdata::read_rdataframe(df, image_column, label_column, "dataset_from_rdataframe"), {}, {}});
  impl->feature_names = array_feature_names(image_column, impl->split.images.size(1));
  return Dataset(impl);
}

long long Dataset::size() const { return impl()->split.images.size(0); }
int Dataset::features() const { return impl()->split.images.size(1); }
int Dataset::classes() const {
  if (impl()->targets.defined()) return 0;  // regression: no classes
  return size() ? 1 + impl()->split.labels.max().item<int64_t>() : 0;
}

long long convert_idx_to_root(const std::string& idx_dir, const std::string& root_file) {
  const auto dir = idx_dir.empty() ? data::default_fashion_mnist_dir() : idx_dir;
  return rootdata::write_mnist_root(data::load_mnist(dir), root_file);
}

Mlp::Mlp(std::vector<long long> widths, const std::string& activation)
    : widths_(std::move(widths)), activation_(activation) {
  rethrow_plain([&] { return parse_activation(activation_); });
}

namespace {
void check_classes(const Dataset& d, const char* where) {
  if (d.impl()->targets.defined())
    throw std::runtime_error(std::string(where) +
                             ": Mlp is a classifier, but the dataset holds regression "
                             "targets; define a regression model (torchclad/nn.h, regression())");
}
// Mlp's engines other than clad do not go through Model::fit's checks: a
// dataset whose columns come in another order is refused here too.
void check_mlp_features(const std::vector<std::string>& expected, const std::vector<std::string>& found,
                        const std::string& what_expected, const std::string& what_found) {
  if (expected.size() != found.size()) return;  // the width checks say so in counts
  check_feature_names(expected, found, "Mlp::fit", what_expected, what_found,
                      "give every dataset the same columns in the same order");
}
}  // namespace

void Mlp::standardize(const Dataset& train) {
  check_made();
  check_classes(train, "Mlp::standardize");
  rethrow_plain([&] {
    const MlpConfig config{std::vector<int64_t>(widths_.begin(), widths_.end()),
                           parse_activation(activation_)};
    auto features = fit_feature_standardization(*mlp_definition(config), train, "Mlp::standardize");
    if (!state_) state_ = std::make_shared<State>();
    state_->features = std::move(features);
    state_->feature_names = train.impl()->feature_names;
    return 0;
  });
}

TrainResult Mlp::fit(const Dataset& train, const Dataset& test, const TrainOptions& o) {
  check_made();
  for (const Dataset* d : {&train, &test}) check_classes(*d, "Mlp::fit");
  return rethrow_plain([&] {
    const MlpConfig config{std::vector<int64_t>(widths_.begin(), widths_.end()),
                           parse_activation(activation_)};
    const auto def = mlp_definition(config);
    const Standardization features = state_ ? state_->features : Standardization{};
    std::vector<std::string> names = state_ ? state_->feature_names : std::vector<std::string>{};
    check_mlp_features(names, train.impl()->feature_names, "standardize was fitted on the features",
                       "the training set has the features");
    if (names.empty()) names = train.impl()->feature_names;
    check_mlp_features(names, test.impl()->feature_names, "the model trains on the features",
                       "the test set has the features");
    // The fit's Model standardises as Model::standardize would have, and
    // knows the features it was trained on.
    const auto standardized = [&features, &names](const std::shared_ptr<Model>& m) {
      m->state()->mean = features.mean;
      m->state()->scale = features.scale;
      m->state()->feature_names = names;
      return m;
    };
    if (o.engine == "clad" || o.engine == "clad-model") {
      // Clad's gradient of the definition, through the same trainer as every Model.
      TrainOptions clad = o;
      clad.engine = "clad";
      auto model = standardized(std::make_shared<Model>(def->name, o.seed));
      auto result = model->fit(train, test, clad);
      state_ = std::make_shared<State>(State{model, features, names});
      return result;
    }
    if (train.impl()->shard_total > 0 || test.impl()->shard_total > 0)
      throw std::runtime_error(
          "Mlp::fit: a shard of a training set (Distributed::shard) trains with engine "
          "\"clad\" only; found engine \"" +
          o.engine + "\" (give it the whole Dataset)");
    if (!o.frozen.empty())
      throw std::runtime_error(
          "Mlp::fit: frozen parameters need engine \"clad\" (the one that trains "
          "the model's definition with its optimizer), found engine \"" +
          o.engine + "\"");
    // The comparison engines (clad-model-node, clad-ops, autograd) train the
    // definition's parameters with their own backward passes.
    data::MnistDataset ds;
    ds.train = train.impl()->split;
    ds.test = test.impl()->split;
    if (features.mean.defined()) {  // the features as the Model reads them (model_state.hpp)
      Model::State as_read;
      as_read.mean = features.mean;
      as_read.scale = features.scale;
      ds.train.images = model_features(as_read, ds.train.images);
      ds.test.images = model_features(as_read, ds.test.images);
    }
    ds.rows = 1;
    ds.cols = train.features();
    train::TrainConfig c;
    c.dataset = "in-memory";
    c.engine = o.engine;
    c.model = config;
    static_cast<train::RunOptions&>(c) = run_options(o);
    // The commands' checkpoints, of this engine's optimizer state.
    const auto checkpoints = checkpoint_options(o, "Mlp::fit");
    c.checkpoint = checkpoints.path;
    c.resume = checkpoints.resume;
    const MetricsRun metrics{"Mlp::fit", "in-memory", o.engine, def->name};
    c.metrics = metrics_files(o, metrics);
    start_metrics_files(o, metrics);
    auto r = train::train_mlp(ds, c, training_log(o.progress));
    TrainResult out = train_result(r.epochs, r.non_finite, r.stopped, r.stop_message);
    write_metrics_files(o, metrics, r.epochs, out.status);
    state_ = std::make_shared<State>(State{
        standardized(std::make_shared<Model>(trained_model(def, r.engine->params(), o.seed, o, out.epochs))),
        features, names});
    return out;
  });
}

std::vector<long long> Mlp::predict(const Dataset& d) const {
  check_made();
  if (!state_ || !state_->model)
    throw std::runtime_error("Mlp::predict: the model is not trained yet (call fit)");
  const auto logits = state_->model->predict(d);
  const size_t classes = static_cast<size_t>(state_->model->output_width());
  std::vector<long long> out(classes ? logits.size() / classes : 0);
  for (size_t i = 0; i < out.size(); ++i) {
    const float* row = logits.data() + i * classes;
    out[i] = std::max_element(row, row + classes) - row;
  }
  return out;
}

double Mlp::accuracy(const Dataset& d) const {
  check_made();
  const auto predicted = predict(d);
  const auto labels = d.impl()->split.labels.contiguous();
  const int64_t* y = labels.data_ptr<int64_t>();
  long long correct = 0;
  for (size_t i = 0; i < predicted.size(); ++i) correct += predicted[i] == y[i];
  return predicted.empty() ? 0 : double(correct) / predicted.size();
}

void Mlp::save(const std::string& path) const {
  check_made();
  if (!state_ || !state_->model)
    throw std::runtime_error("Mlp::save: the model is not trained yet (call fit)");
  state_->model->save(path);
}

const Model& Mlp::model() const {
  check_made();
  if (!state_ || !state_->model)
    throw std::runtime_error("Mlp::model: the model is not trained yet (call fit)");
  return *state_->model;
}

std::string Mlp::describe() const {
  check_made();
  std::ostringstream s;
  s << "Mlp(";
  for (size_t i = 0; i < widths_.size(); ++i) s << (i ? "-" : "") << widths_[i];
  s << ", " << activation_ << (state_ && state_->features.mean.defined() ? ", standardised" : "")
    << (state_ && state_->model ? ", trained" : ", untrained") << ")";
  return s.str();
}

bool show(const std::string& image_file) {
  const auto dot = image_file.rfind('.');
  std::string ext = dot == std::string::npos ? "" : image_file.substr(dot + 1);
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const char* mime = ext == "png"                    ? "image/png"
                     : ext == "jpg" || ext == "jpeg" ? "image/jpeg"
                     : ext == "svg"                  ? "image/svg+xml"
                                                     : nullptr;
  if (!mime) throw std::runtime_error("show: '" + image_file + "' is not a .png, .jpg or .svg file");
  std::ifstream in(image_file, std::ios::binary);
  if (!in) throw std::runtime_error("show: cannot read '" + image_file + "'");
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return telemetry::display(mime, bytes.str());
}

std::string versions() {
  std::ostringstream s;
  s << "torchclad " << TORCHCLAD_VERSION << "; LibTorch " << TORCH_VERSION << "; ROOT " << ROOT_RELEASE
    << "; Clad plugin " << TORCHCLAD_CLAD_PLUGIN;
  return s.str();
}

}  // namespace torchclad
