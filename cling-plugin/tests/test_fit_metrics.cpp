// The metrics files of fit (TrainOptions::metrics_json, metrics_csv: the
// field names of the commands' --metrics-json and --metrics-csv) for a model
// defined here and compiled with Clad (a classifier, a regression), the
// built-in Mlp (its Clad engine and LibTorch autograd), the Cnn (autograd)
// and a StreamDataset: one row per epoch holding the history's values;
// a regression model's RMSE is in history() and in the saved-and-loaded
// model; a path in a directory that does not exist is refused before
// training, naming the path.
#include <TFile.h>
#include <TTree.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "scratch_dir.hpp"
#include "torchclad/cnn.h"
#include "torchclad/model.h"
#include "torchclad/nn.h"
#include "torchclad/stream.h"
#include "torchclad/torchclad.h"

namespace nn = torchclad::nn;

// Four features, 16 tanh units, two classes.
struct MetricsClassifier : nn::Model {
  nn::Linear fc1{"fc1", 4, 16};
  nn::Act z1{16}, h1{16};
  nn::Linear fc2{"fc2", 16, 2};
  nn::Act logits{2};
  MetricsClassifier() {
    inputs(4);
    classes(2);
    output(logits);
  }
  template <class T>
  static T loss(const MetricsClassifier& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::linear(m.fc1, p, x, a, m.z1, n);
    nn::tanh(a, m.z1, m.h1, n);
    nn::linear(m.fc2, p, a, m.h1, m.logits, n);
    return nn::cross_entropy(a, m.logits, y, n);
  }
};
TORCHCLAD_MODEL(metrics_classifier, MetricsClassifier)

// Four features, 16 tanh units, one regression target.
struct MetricsRegression : nn::Model {
  nn::Linear fc1{"fc1", 4, 16};
  nn::Act z1{16}, h1{16};
  nn::Linear fc2{"fc2", 16, 1};
  nn::Act out{1};
  MetricsRegression() {
    inputs(4);
    regression(1);
    output(out);
  }
  template <class T>
  static T loss(const MetricsRegression& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::linear(m.fc1, p, x, a, m.z1, n);
    nn::tanh(a, m.z1, m.h1, n);
    nn::linear(m.fc2, p, a, m.h1, m.out, n);
    return nn::mse(a, m.out, y, n);
  }
};
TORCHCLAD_MODEL(metrics_regression, MetricsRegression)

// Two features, 8 tanh units, two classes (a stream's rows).
struct MetricsStream : nn::Model {
  nn::Linear fc1{"fc1", 2, 8};
  nn::Act z1{8}, h1{8};
  nn::Linear fc2{"fc2", 8, 2};
  nn::Act out{2};
  MetricsStream() {
    inputs(2);
    classes(2);
    output(out);
  }
  template <class T>
  static T loss(const MetricsStream& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::linear(m.fc1, p, x, a, m.z1, n);
    nn::tanh(a, m.z1, m.h1, n);
    nn::linear(m.fc2, p, a, m.h1, m.out, n);
    return nn::cross_entropy(a, m.out, y, n);
  }
};
TORCHCLAD_MODEL(metrics_stream, MetricsStream)

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

using torchclad::testing::tmp;

// Two overlapping Gaussian classes in 4 features.
torchclad::Dataset gaussians(int n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> gauss(0, 1);
  std::vector<float> x;
  std::vector<long long> labels;
  for (int i = 0; i < n; ++i) {
    const long long label = i % 2;
    for (int f = 0; f < 4; ++f) x.push_back(gauss(rng) + (label ? 0.6f : -0.6f));
    labels.push_back(label);
  }
  return torchclad::classification_dataset(x, 4, labels);
}

// y = 3 x0 - 2 x1 + 5 plus noise.
torchclad::Dataset linear_targets(int n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> gauss(0, 1);
  std::vector<float> x, y;
  for (int i = 0; i < n; ++i) {
    float row[4];
    for (float& v : row) v = gauss(rng);
    x.insert(x.end(), row, row + 4);
    y.push_back(3 * row[0] - 2 * row[1] + 5 + 0.1f * gauss(rng));
  }
  return torchclad::regression_dataset(x, 4, y);
}

torchclad::TrainOptions options(int epochs, const std::string& name) {
  torchclad::TrainOptions o;
  o.epochs = epochs;
  o.batch = 32;
  o.lr = 1e-2;
  o.progress = false;
  o.metrics_json = tmp(name + ".json");
  o.metrics_csv = tmp(name + ".csv");
  return o;
}

json read_json(const std::string& path) {
  std::ifstream f(path);
  EXPECT_TRUE(f) << path;
  return json::parse(f);
}

std::vector<std::vector<std::string>> read_csv(const std::string& path) {
  std::ifstream f(path);
  EXPECT_TRUE(f) << path;
  std::vector<std::vector<std::string>> rows;
  for (std::string line; std::getline(f, line);) {
    std::vector<std::string> cells;
    std::stringstream s(line);
    for (std::string cell; std::getline(s, cell, ',');) cells.push_back(cell);
    rows.push_back(cells);
  }
  return rows;
}

void expect_near(double file, double history, const char* what) {
  EXPECT_NEAR(file, history, 1e-12 * std::max(1.0, std::abs(history))) << what;
}

// Both files: the commands' field names, one row per epoch of `history`
// with its values.
void expect_files(const torchclad::TrainOptions& o, const std::vector<torchclad::EpochResult>& history,
                  const std::string& engine, const std::string& model) {
  ASSERT_FALSE(history.empty());
  const json j = read_json(o.metrics_json);
  EXPECT_EQ(j["engine"], engine);
  EXPECT_EQ(j["model"], model);
  EXPECT_EQ(j["optimizer"], o.optimizer);
  EXPECT_EQ(j["batch"], o.batch);
  EXPECT_EQ(j["status"], "finished");
  EXPECT_EQ(j["non_finite"], false);
  ASSERT_EQ(j["epochs"].size(), history.size());
  for (size_t i = 0; i < history.size(); ++i) {
    const auto& e = j["epochs"][i];
    const auto& h = history[i];
    EXPECT_EQ(e["epoch"], h.epoch);
    EXPECT_EQ(e["steps"], h.steps);
    EXPECT_GT(h.steps, 0);
    expect_near(e["train_loss"], h.train_loss, "train_loss");
    expect_near(e["test_loss"], h.test_loss, "test_loss");
    expect_near(e["test_accuracy"], h.test_accuracy, "test_accuracy");
    expect_near(e["test_auc"], h.test_auc, "test_auc");
    expect_near(e["test_rmse"], h.test_rmse, "test_rmse");
    expect_near(e["seconds"], h.seconds, "seconds");
    expect_near(e["steps_per_second"], h.steps_per_second, "steps_per_second");
    expect_near(e["samples_per_second"], h.samples_per_second, "samples_per_second");
    expect_near(e["median_step_seconds"], h.median_step_seconds, "median_step_seconds");
    EXPECT_GT(h.median_step_seconds, 0);
  }
  const auto rows = read_csv(o.metrics_csv);
  ASSERT_EQ(rows.size(), history.size() + 1);
  const std::vector<std::string> header{"engine",
                                        "epoch",
                                        "steps",
                                        "train_loss",
                                        "test_loss",
                                        "test_accuracy",
                                        "seconds",
                                        "steps_per_second",
                                        "samples_per_second",
                                        "test_auc",
                                        "test_rmse",
                                        "median_step_seconds"};
  EXPECT_EQ(rows[0], header);
  for (size_t i = 0; i < history.size(); ++i) {
    const auto& r = rows[i + 1];
    const auto& h = history[i];
    ASSERT_EQ(r.size(), header.size());
    EXPECT_EQ(r[0], engine);
    EXPECT_EQ(std::stoi(r[1]), h.epoch);
    EXPECT_EQ(std::stoll(r[2]), h.steps);
    expect_near(std::stod(r[3]), h.train_loss, "csv train_loss");
    expect_near(std::stod(r[4]), h.test_loss, "csv test_loss");
    expect_near(std::stod(r[5]), h.test_accuracy, "csv test_accuracy");
    expect_near(std::stod(r[9]), h.test_auc, "csv test_auc");
    expect_near(std::stod(r[10]), h.test_rmse, "csv test_rmse");
    expect_near(std::stod(r[11]), h.median_step_seconds, "csv median_step_seconds");
  }
}

template <class F>
std::string error_of(F&& fn) {
  try {
    fn();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

TEST(FitMetrics, ModelClassifierWritesOneRowPerEpoch) {
  const auto train = gaussians(500, 1), test = gaussians(200, 2);
  auto m = torchclad::model("metrics_classifier");
  const auto o = options(3, "classifier");
  const auto r = m.fit(train, test, o);
  ASSERT_EQ(r.status, "finished") << r.message;
  ASSERT_EQ(r.epochs.size(), 3u);
  EXPECT_GE(r.epochs[0].test_accuracy, 0);
  EXPECT_EQ(r.epochs[0].test_rmse, -1);
  EXPECT_EQ(r.epochs[0].steps, 16);  // ceil(500 / 32)
  expect_files(o, m.history(), "clad", "metrics_classifier");
}

TEST(FitMetrics, RegressionRmseInHistoryFilesAndSavedModel) {
  const auto train = linear_targets(600, 3), test = linear_targets(200, 4);
  auto m = torchclad::model("metrics_regression");
  m.standardize(train);
  const auto o = options(3, "regression");
  const auto r = m.fit(train, test, o);
  ASSERT_EQ(r.status, "finished") << r.message;
  const auto& history = m.history();
  ASSERT_EQ(history.size(), 3u);
  for (const auto& e : history) {
    EXPECT_EQ(e.test_accuracy, -1);
    EXPECT_GT(e.test_rmse, 0);
    EXPECT_GT(e.steps_per_second, 0);
  }
  // The last epoch's RMSE is evaluate's on the test set.
  EXPECT_NEAR(history.back().test_rmse, m.evaluate(test).rmse, 1e-4 * m.evaluate(test).rmse);
  expect_files(o, history, "clad", "metrics_regression");

  m.save(tmp("regression.root"));
  const auto loaded = torchclad::Model::load(tmp("regression.root"));
  for (const auto& saved : {m.training_options(), loaded.training_options()}) {
    EXPECT_EQ(saved.epochs, o.epochs);
    EXPECT_EQ(saved.batch, o.batch);
    EXPECT_EQ(saved.optimizer, o.optimizer);
    EXPECT_EQ(saved.engine, o.engine);
    EXPECT_DOUBLE_EQ(saved.lr, o.lr);
    EXPECT_EQ(saved.seed, o.seed);
  }
  EXPECT_EQ(torchclad::model("metrics_regression").training_options().epochs,
            torchclad::TrainOptions{}.epochs);
  ASSERT_EQ(loaded.history().size(), history.size());
  for (size_t i = 0; i < history.size(); ++i) {
    EXPECT_EQ(loaded.history()[i].test_rmse, history[i].test_rmse);
    EXPECT_EQ(loaded.history()[i].steps, history[i].steps);
    EXPECT_EQ(loaded.history()[i].steps_per_second, history[i].steps_per_second);
    EXPECT_EQ(loaded.history()[i].train_loss, history[i].train_loss);
  }
}

TEST(FitMetrics, MlpEveryEngine) {
  const auto train = gaussians(400, 5), test = gaussians(100, 6);
  for (const std::string engine : {"clad", "autograd"}) {
    SCOPED_TRACE(engine);
    torchclad::Mlp mlp({4, 8, 2});
    auto o = options(2, "mlp-" + engine);
    o.engine = engine;
    const auto r = mlp.fit(train, test, o);
    ASSERT_EQ(r.status, "finished") << r.message;
    expect_files(o, mlp.model().history(), engine, "mlp-4-8-2");
  }
}

// 64 windows of 32 samples: signals carry a bump.
std::string windows_file() {
  const std::string file = tmp("windows.root");
  TFile f(file.c_str(), "RECREATE");
  TTree t("w", "windows");
  float strain[32];
  int label = 0;
  t.Branch("strain", strain, "strain[32]/F");
  t.Branch("label", &label, "label/I");
  std::mt19937 rng(9);
  std::normal_distribution<float> gauss(0, 1);
  for (int i = 0; i < 64; ++i) {
    label = i % 2;
    for (int k = 0; k < 32; ++k) strain[k] = gauss(rng) + (label && k > 12 && k < 20 ? 2.f : 0.f);
    t.Fill();
  }
  t.Write();
  f.Close();
  return file;
}

TEST(FitMetrics, CnnComparisonEngine) {
  const std::string file = windows_file();
  const auto train = torchclad::BinaryDataset::from_tree(file, "w", "strain", "label", "", 0, 48);
  const auto test = torchclad::BinaryDataset::from_tree(file, "w", "strain", "label", "", 48, 16);
  torchclad::Cnn cnn(32, {{4, 5, 2}}, 8);
  auto o = options(2, "cnn");
  o.engine = "autograd";
  o.batch = 16;
  const auto r = cnn.fit(train, test, o);
  ASSERT_EQ(r.status, "finished") << r.message;
  expect_files(o, cnn.model().history(), "autograd", cnn.model().name());
}

TEST(FitMetrics, StreamedFit) {
  const std::string file = tmp("events.root");
  {
    TFile f(file.c_str(), "RECREATE");
    TTree t("events", "events");
    Float_t a, b;
    Int_t label;
    t.Branch("a", &a, "a/F");
    t.Branch("b", &b, "b/F");
    t.Branch("label", &label, "label/I");
    std::mt19937 rng(11);
    std::uniform_real_distribution<float> u(-1, 1);
    for (int i = 0; i < 600; ++i) {
      a = u(rng), b = u(rng), label = a + b > 0;
      t.Fill();
    }
    t.Write();
    f.Close();
  }
  std::vector<float> x;
  std::vector<long long> y;
  for (int i = 0; i < 100; ++i)
    x.push_back(i % 7 * 0.1f - 0.3f), x.push_back(i % 5 * 0.2f - 0.4f), y.push_back(i % 2);
  const auto test = torchclad::classification_dataset(x, 2, y);
  auto m = torchclad::model("metrics_stream");
  const auto o = options(2, "stream");
  const auto r = m.fit(torchclad::StreamDataset({file}, "events", {"a", "b"}, "label"), test, o);
  ASSERT_EQ(r.status, "finished") << r.message;
  expect_files(o, m.history(), "clad", "metrics_stream");
  EXPECT_EQ(read_json(o.metrics_json)["dataset"], "stream");
}

TEST(FitMetrics, AMissingDirectoryIsRefusedBeforeTraining) {
  const auto train = gaussians(200, 7), test = gaussians(50, 8);
  const std::string bad = tmp("no-such-dir/m.json");
  for (const bool csv : {false, true}) {
    SCOPED_TRACE(csv);
    auto m = torchclad::model("metrics_classifier");
    const auto before = m.parameter("fc1.weight");
    auto o = options(1, "unused");
    (csv ? o.metrics_csv : o.metrics_json) = bad;
    const std::string e = error_of([&] { m.fit(train, test, o); });
    EXPECT_NE(e.find(bad), std::string::npos) << e;
    EXPECT_NE(e.find(csv ? "metrics_csv" : "metrics_json"), std::string::npos) << e;
    EXPECT_NE(e.find("does not exist"), std::string::npos) << e;
    // Nothing trained.
    EXPECT_TRUE(m.history().empty());
    EXPECT_EQ(m.parameter("fc1.weight"), before);
  }
  // The Mlp's comparison engines too.
  torchclad::Mlp mlp({4, 8, 2});
  auto o = options(1, "unused");
  o.engine = "autograd";
  o.metrics_json = bad;
  const std::string e = error_of([&] { mlp.fit(train, test, o); });
  EXPECT_NE(e.find(bad), std::string::npos) << e;
}

}  // namespace
