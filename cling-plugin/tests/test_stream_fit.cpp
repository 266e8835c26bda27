// Model::fit on a StreamDataset (torchclad/stream.h): a classifier defined
// here (compiled with Clad, as a user's program is) trains on a ROOT file the
// test writes, read in chunks through the shuffle buffer; the loss falls,
// the same seed gives the same run, and rows that do not fit the model are
// refused with the reason.
#include <ROOT/RDataFrame.hxx>
#include <TFile.h>
#include <TTree.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "scratch_dir.hpp"
#include "stream_corrupt_files.hpp"
#include "torchclad/model.h"
#include "torchclad/nn.h"
#include "torchclad/rdataframe.h"
#include "torchclad/stream.h"

namespace nn = torchclad::nn;

// Two features, 16 tanh units, two classes.
struct StreamClassifier : nn::Model {
  nn::Linear fc1{"fc1", 2, 16};
  nn::Act z1{16}, t1{16};
  nn::Linear fc2{"fc2", 16, 2};
  nn::Act out{2};
  StreamClassifier() {
    inputs(2);
    classes(2);
    output(out);
  }
  template <class T>
  static T loss(const StreamClassifier& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::linear(m.fc1, p, x, a, m.z1, n);
    nn::tanh(a, m.z1, m.t1, n);
    nn::linear(m.fc2, p, a, m.t1, m.out, n);
    return nn::cross_entropy(a, m.out, y, n);
  }
};
TORCHCLAD_MODEL(stream_classifier, StreamClassifier)

// Two features, 16 tanh units, one regression target.
struct StreamRegression : nn::Model {
  nn::Linear fc1{"fc1", 2, 16};
  nn::Act z1{16}, t1{16};
  nn::Linear fc2{"fc2", 16, 1};
  nn::Act out{1};
  StreamRegression() {
    inputs(2);
    regression(1);
    output(out);
  }
  template <class T>
  static T loss(const StreamRegression& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::linear(m.fc1, p, x, a, m.z1, n);
    nn::tanh(a, m.z1, m.t1, n);
    nn::linear(m.fc2, p, a, m.t1, m.out, n);
    return nn::mse(a, m.out, y, n);
  }
};
TORCHCLAD_MODEL(stream_regression, StreamRegression)

namespace {

using torchclad::testing::tmp;

// Tree "events": a, b uniform in [-1, 1]; label = (a + b > 0), class 2 at `bad_entry`.
// a and b uniform in [-1, 1] (stored as a * scale + shift); label a + b > 0.
// Baskets of `flush` entries (0: ROOT's default), zlib-compressed (a
// flipped byte fails its checksum: stream_corrupt_files.hpp).
std::string write_events(const std::string& name, int n, unsigned seed, int bad_entry = -1, float scale = 1,
                         float shift = 0, int flush = 0) {
  const std::string file = tmp(name);
  TFile f(file.c_str(), "RECREATE", "", 101);
  TTree t("events", "events");
  if (flush > 0) t.SetAutoFlush(flush);
  Float_t a, b, extra = 0;
  Int_t label;
  t.Branch("a", &a, "a/F");
  t.Branch("b", &b, "b/F");
  t.Branch("extra", &extra, "extra/F");
  t.Branch("label", &label, "label/I");
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1, 1);
  for (int i = 0; i < n; ++i) {
    a = u(rng), b = u(rng);
    label = i == bad_entry ? 2 : (a + b > 0);
    a = a * scale + shift, b = b * scale + shift;
    t.Fill();
  }
  t.Write();
  f.Close();
  return file;
}

// As write_events, with a weight column "w": positive weights between 0.2
// and 3, larger for signal, and every 25th event's weight negative.
// Events whose weight i is weight(i, label, a random factor in [0.2, 1.5)).
template <class WeightOf>
std::string write_events_weighted_by(const std::string& name, int n, unsigned seed, WeightOf weight) {
  const std::string file = tmp(name);
  TFile f(file.c_str(), "RECREATE");
  TTree t("events", "events");
  Float_t a, b, w;
  Int_t label;
  t.Branch("a", &a, "a/F");
  t.Branch("b", &b, "b/F");
  t.Branch("label", &label, "label/I");
  t.Branch("w", &w, "w/F");
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1, 1), uw(0.2f, 1.5f);
  for (int i = 0; i < n; ++i) {
    a = u(rng), b = u(rng);
    label = a + b > 0;
    w = weight(i, label, uw(rng));
    t.Fill();
  }
  t.Write();
  f.Close();
  return file;
}

std::string write_weighted_events(const std::string& name, int n, unsigned seed) {
  return write_events_weighted_by(name, n, seed, [](int i, int label, float r) {
    return r * (label ? 2.0f : 1.0f) * (i % 25 == 7 ? -0.5f : 1.0f);
  });
}

// The largest difference between two models' parameters.
float max_difference(const torchclad::Model& p, const torchclad::Model& q) {
  float d = 0;
  for (const auto& name : p.parameter_names()) {
    const auto a = p.parameter(name), b = q.parameter(name);
    for (size_t i = 0; i < a.size(); ++i) d = std::max(d, std::abs(a[i] - b[i]));
  }
  return d;
}

torchclad::Dataset test_set(float scale = 1, float shift = 0) {
  std::mt19937 rng(99);
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> x;
  std::vector<long long> y;
  for (int i = 0; i < 500; ++i) {
    const float a = u(rng), b = u(rng);
    x.push_back(a * scale + shift), x.push_back(b * scale + shift), y.push_back(a + b > 0);
  }
  return torchclad::classification_dataset(x, 2, y);
}

torchclad::StreamOptions stream_options() {
  torchclad::StreamOptions o;
  o.chunk_entries = 300;
  o.shuffle_buffer = 500;
  return o;
}

torchclad::TrainOptions train_options() {
  torchclad::TrainOptions o;
  o.epochs = 3;
  o.batch = 64;
  o.lr = 1e-2;
  o.progress = false;
  return o;
}

TEST(StreamFit, TheLossFallsAndTheSameSeedGivesTheSameRun) {
  const std::string file = write_events("train.root", 4000, 1);
  torchclad::StreamDataset train({file}, "events", {"a", "b"}, "label", "", stream_options());
  const auto test = test_set();
  auto model = torchclad::model("stream_classifier");
  const double before = model.evaluate(test).loss;
  const auto r = model.fit(train, test, train_options());
  ASSERT_EQ(r.status, "finished") << r.message;
  ASSERT_EQ(r.epochs.size(), 3u);
  EXPECT_LT(r.epochs.back().train_loss, r.epochs.front().train_loss);
  EXPECT_LT(r.epochs.back().test_loss, 0.6 * before);
  EXPECT_GT(r.epochs.back().test_accuracy, 0.9);
  EXPECT_LE(train.peak_rows_held(), train.rows_bound());
  EXPECT_EQ(model.history().size(), 3u);

  // A new model and stream from the same seeds: the same batches, the same losses.
  torchclad::StreamDataset again({file}, "events", {"a", "b"}, "label", "", stream_options());
  auto twin = torchclad::model("stream_classifier");
  const auto r2 = twin.fit(again, test, train_options());
  for (size_t e = 0; e < 3; ++e) EXPECT_EQ(r2.epochs[e].train_loss, r.epochs[e].train_loss) << e;
  EXPECT_EQ(twin.parameter("fc1.weight"), model.parameter("fc1.weight"));
}

// The model takes the stream's feature names (StreamDataset::feature_names)
// and refuses a test set, or a later stream, of the columns in another order.
TEST(StreamFit, TheModelRecordsTheStreamsFeatureNames) {
  const std::string file = write_events("names.root", 1000, 1);
  torchclad::StreamDataset train({file}, "events", {"a", "b"}, "label", "", stream_options());
  auto model = torchclad::model("stream_classifier");
  auto o = train_options();
  o.epochs = 1;
  ASSERT_EQ(model.fit(train, test_set(), o).status, "finished");
  EXPECT_EQ(model.feature_names(), (std::vector<std::string>{"a", "b"}));
  const auto swapped = torchclad::dataset_from_columns(ROOT::RDataFrame("events", file), {"b", "a"}, "label");
  auto message = [](const std::function<void()>& f) {
    try {
      f();
    } catch (const std::runtime_error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(
      message([&] { model.fit(train, swapped, o); })
          .find("Model::fit: the test set has the features (b, a), but model 'stream_classifier' takes the "
                "features (a, b)"),
      std::string::npos);
  torchclad::StreamDataset other({file}, "events", {"b", "a"}, "label", "", stream_options());
  EXPECT_NE(message([&] {
              model.fit(other, test_set(), o);
            }).find("Model::fit: the stream has the features (b, a)"),
            std::string::npos);
}

TEST(StreamFit, AStandardisedModelGetsStandardisedRows) {
  // Features around 500 +- 1000: standardised (fitted on an in-memory sample
  // of the same columns) they train as the plain ones do.
  const std::string file = write_events("scaled.root", 4000, 3, -1, 1000, 500);
  torchclad::StreamDataset train({file}, "events", {"a", "b"}, "label", "", stream_options());
  const auto test = test_set(1000, 500);
  auto model = torchclad::model("stream_classifier");
  model.standardize(test_set(1000, 500));
  const auto r = model.fit(train, test, train_options());
  ASSERT_EQ(r.status, "finished") << r.message;
  EXPECT_GT(r.epochs.back().test_accuracy, 0.9);
  EXPECT_NEAR(model.feature_means()[0], 500, 60);
}

// Targets of ~100 (E = 50 a + 100 + 30 b, a and b in [-1, 1]): standardised
// on an in-memory sample (Model::standardize), the streamed rows' targets
// train standardised, and the RMSE is in the targets' units.
TEST(StreamFit, StandardisedTargetsTrainStandardisedAndScoreInTheirUnits) {
  const std::string file = tmp("energies.root");
  {
    TFile f(file.c_str(), "RECREATE");
    TTree t("events", "events");
    Float_t a, b, energy;
    t.Branch("a", &a, "a/F");
    t.Branch("b", &b, "b/F");
    t.Branch("E", &energy, "E/F");
    std::mt19937 rng(4);
    std::uniform_real_distribution<float> u(-1, 1);
    for (int i = 0; i < 3000; ++i) {
      a = u(rng), b = u(rng);
      energy = 50 * a + 100 + 30 * b;
      t.Fill();
    }
    t.Write();
  }
  torchclad::StreamDataset train =
      torchclad::StreamDataset::regression({file}, "events", {"a", "b"}, {"E"}, "", stream_options());
  const auto test = torchclad::regression_dataset_from_columns(ROOT::RDataFrame("events", file).Range(500),
                                                               {"a", "b"}, {"E"});
  auto model = torchclad::model("stream_regression");
  model.standardize(test);
  ASSERT_TRUE(model.targets_standardized());
  EXPECT_NEAR(model.target_means()[0], 100, 5);
  auto o = train_options();
  o.epochs = 4;
  const auto r = model.fit(train, test, o);
  ASSERT_EQ(r.status, "finished") << r.message;
  // The loss is on standardised targets (std ~34): well under 1 once trained.
  EXPECT_LT(r.epochs.back().test_loss, 0.05);
  const auto e = model.evaluate(test);
  EXPECT_NEAR(e.loss, r.epochs.back().test_loss, 1e-6);
  EXPECT_LT(e.rmse, 8.0);  // in the targets' units
  EXPECT_NEAR(e.rmse, model.target_stds()[0] * std::sqrt(e.loss), 1e-3 * e.rmse);
}

// The stream's weights weigh the loss as an in-memory fit's do (mean(w) over
// every entry): one full-batch SGD step from the same start gives the same
// parameters, and an unweighted step does not.
TEST(StreamFit, WeightsWeighTheLossAsInMemory) {
  const int n = 600;
  const std::string file = write_weighted_events("weighted.root", n, 11);
  torchclad::StreamOptions so;
  so.shuffle = false;
  so.chunk_entries = 250;
  torchclad::StreamDataset stream({file}, "events", {"a", "b"}, "label", "w", so);
  ASSERT_TRUE(stream.has_weights());
  const auto memory =
      torchclad::dataset_from_columns(ROOT::RDataFrame("events", file), {"a", "b"}, "label", "w");
  auto options = train_options();
  options.epochs = 1;
  options.batch = n;
  options.optimizer = "sgd";
  options.lr = 0.5;
  const auto test = test_set();
  auto streamed = torchclad::model("stream_classifier"), in_memory = torchclad::model("stream_classifier");
  ASSERT_EQ(max_difference(streamed, in_memory), 0.0f);    // the same initial parameters
  const auto run = streamed.fit(stream, memory, options);  // a weighted test set
  ASSERT_EQ(run.status, "finished");
  ASSERT_EQ(in_memory.fit(memory, test, options).status, "finished");
  EXPECT_LT(max_difference(streamed, in_memory), 2e-6f);
  // The test set's weights count in the epoch's evaluation, as in evaluate().
  EXPECT_NEAR(run.epochs.back().test_loss, streamed.evaluate(memory).loss, 1e-6);

  torchclad::StreamDataset plain({file}, "events", {"a", "b"}, "label", "", so);
  auto unweighted = torchclad::model("stream_classifier");
  unweighted.fit(plain, test, options);
  EXPECT_GT(max_difference(unweighted, in_memory), 1e-3f);

  options.weighted_sampling = true;
  try {
    streamed.fit(stream, test, options);
    ADD_FAILURE() << "no error for weighted sampling on a stream";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("weighted sampling draws events at random"), std::string::npos)
        << e.what();
  }
}

// Each event's factor is w / mean(w) over the whole stream, not over its
// batch: with the weights constant within each batch (3 in the first, 1 in
// the second), a per-batch mean would make the run unweighted. Scaling every
// weight by one factor changes nothing.
TEST(StreamFit, WeightsAreNormalisedOverTheWholeStreamNotPerBatch) {
  const int n = 400;
  torchclad::StreamOptions so;
  so.shuffle = false;
  so.chunk_entries = n / 2;
  auto options = train_options();
  options.epochs = 1;
  options.batch = n / 2;
  options.optimizer = "sgd";
  options.lr = 0.5;
  auto fit = [&](const std::string& file, const std::string& weight) {
    auto m = torchclad::model("stream_classifier");
    torchclad::StreamDataset s({file}, "events", {"a", "b"}, "label", weight, so);
    EXPECT_EQ(m.fit(s, test_set(), options).status, "finished");
    return m;
  };
  const auto halves = write_events_weighted_by("halves.root", n, 3,
                                               [&](int i, int, float) { return i < n / 2 ? 3.0f : 1.0f; });
  const auto scaled = write_events_weighted_by("halves7.root", n, 3,
                                               [&](int i, int, float) { return i < n / 2 ? 21.0f : 7.0f; });
  const auto weighted = fit(halves, "w"), unweighted = fit(halves, "");
  EXPECT_GT(max_difference(weighted, unweighted), 1e-3f);
  EXPECT_LT(max_difference(weighted, fit(scaled, "w")), 1e-6f);
}

// Weights that nearly cancel are refused by the rule of an in-memory fit
// (train::check_weight_sums), before any step.
TEST(StreamFit, WeightsThatNearlyCancelAreRefused) {
  const auto file =
      write_events_weighted_by("cancel.root", 300, 5, [](int i, int, float) { return i % 2 ? -1.0f : 1.0f; });
  auto model = torchclad::model("stream_classifier");
  const auto before = model.parameter("fc1.weight");
  try {
    model.fit(torchclad::StreamDataset({file}, "events", {"a", "b"}, "label", "w"), test_set(),
              train_options());
    ADD_FAILURE() << "no error for weights summing to 0";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("model 'stream_classifier': the training weights sum to 0 while their absolute "
                        "values sum to 300"),
              std::string::npos)
        << what;
    EXPECT_NE(what.find("nearly cancel"), std::string::npos) << what;
  }
  EXPECT_EQ(model.parameter("fc1.weight"), before);
}

TEST(StreamFit, RowsThatDoNotFitTheModelAreRefused) {
  const std::string file = write_events("bad.root", 1000, 2, 700);
  const auto test = test_set();
  auto model = torchclad::model("stream_classifier");
  auto expect_error = [&](const torchclad::StreamDataset& s, const std::string& part) {
    try {
      model.fit(s, test, train_options());
      ADD_FAILURE() << "no error, expected: " << part;
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  };
  expect_error(torchclad::StreamDataset({file}, "events", {"a", "b", "extra"}, "label"),
               "model 'stream_classifier' takes 2 features per sample, but the stream's rows have 3");
  expect_error(torchclad::StreamDataset::regression({file}, "events", {"a", "b"}, {"extra"}),
               "model 'stream_classifier' is a classifier, but the stream holds regression targets");
  expect_error(torchclad::StreamDataset({file}, "events", {"a", "b"}, "label", "", stream_options()),
               "classifies into 2 classes (labels 0..1), but entry 700 has label 2");
  auto options = train_options();
  options.engine = "autograd";
  try {
    model.fit(torchclad::StreamDataset({file}, "events", {"a", "b"}, "label"), test, options);
    ADD_FAILURE() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("engine must be \"clad\""), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(StreamFit, FrozenLayersStayAsTheyWere) {
  const std::string file = write_events("frozen.root", 2000, 5);
  torchclad::StreamDataset train({file}, "events", {"a", "b"}, "label", "", stream_options());
  auto model = torchclad::model("stream_classifier");
  const auto fc1 = model.parameter("fc1.weight");
  const auto last = model.parameter_names().back();
  const auto head = model.parameter(last);
  auto options = train_options();
  options.epochs = 1;
  options.frozen = {"fc1"};
  const auto r = model.fit(train, test_set(), options);
  ASSERT_EQ(r.status, "finished") << r.message;
  EXPECT_EQ(model.parameter("fc1.weight"), fc1);
  EXPECT_NE(model.parameter(last), head) << last;
  options.frozen = {"no_such_layer"};
  torchclad::StreamDataset again({file}, "events", {"a", "b"}, "label", "", stream_options());
  try {
    model.fit(again, test_set(), options);
    ADD_FAILURE() << "no error for a frozen name that names nothing";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("frozen: 'no_such_layer' names no parameter"), std::string::npos)
        << e.what();
  }
}

// A test set held out of the training stream (StreamDataset::split): the fit
// never trains on its entries and scores on them (trial 2: no split existed).
TEST(StreamFit, AHeldOutPartOfTheStreamIsTheTestSet) {
  const std::string file = write_events("split.root", 5000, 4);
  torchclad::StreamDataset all({file}, "events", {"a", "b"}, "label", "", stream_options());
  auto [train, held_out] = all.split(0.2, 9);
  EXPECT_EQ(train.size() + held_out.size(), 5000);
  const auto test = held_out.to_dataset();
  EXPECT_EQ(test.size(), held_out.size());
  auto model = torchclad::model("stream_classifier");
  const double before = model.evaluate(test).loss;
  const auto r = model.fit(train, test, train_options());
  ASSERT_EQ(r.status, "finished") << r.message;
  EXPECT_LT(r.epochs.back().test_loss, 0.6 * before);
  EXPECT_GT(r.epochs.back().test_accuracy, 0.9);
}

// A basket that does not inflate (trial 2, finding 2: the reader thread
// crashed, or the fit waited forever): the fit throws on the caller's thread,
// naming the column, the entry and the file; the process goes on, and the
// same model then fits a good stream.
TEST(StreamFit, ACorruptBasketEndsTheFitWithTheReason) {
  const std::string good = write_events("corrupt_source.root", 3000, 5, -1, 1, 0, 500);
  const std::string bad = tmp("corrupt.root");
  const long long entry = torchclad::stream_testing::corrupt_basket(good, bad, "events", "b", 3);
  ASSERT_EQ(entry, 1500);
  const auto test = test_set();
  auto model = torchclad::model("stream_classifier");
  for (bool shuffle : {false, true}) {
    auto o = stream_options();
    o.shuffle = shuffle;
    torchclad::StreamDataset s({bad}, "events", {"a", "b"}, "label", "", o);
    try {
      torchclad::stream_testing::within(120, [&] { model.fit(s, test, train_options()); });
      ADD_FAILURE() << "no error";
    } catch (const std::runtime_error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("StreamDataset: reading feature column 'b' at entry 1"), std::string::npos) << msg;
      EXPECT_NE(msg.find("of file '" + bad + "') failed: ROOT could not read its basket"), std::string::npos)
          << msg;
    }
  }
  torchclad::StreamDataset s({good}, "events", {"a", "b"}, "label", "", stream_options());
  const auto r = model.fit(s, test, train_options());
  EXPECT_EQ(r.status, "finished") << r.message;
  EXPECT_GT(r.epochs.back().test_accuracy, 0.9);
}
