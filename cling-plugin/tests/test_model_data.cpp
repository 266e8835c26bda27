// Models (torchclad/nn.h, compiled here with the Clad plugin) on ntuple data
// in real ROOT files written by the test: per-event weights through
// Model::fit/evaluate, feature standardisation (fitted, applied, saved and
// loaded; Mlp's too), regression target standardisation (a jet energy in
// GeV: trained standardised, predicted, evaluated, saved and applied as a
// column in GeV), and the trained model as an RDataFrame column (implicit MT
// off and on) against predict on the same rows.
#include <TFile.h>
#include <TTree.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

#include "root/src/dataset_impl.hpp"
#include "root/src/model_state.hpp"
#include "metrics/weighted.hpp"
#include "rootdata_util.hpp"
#include "torchclad/model.h"
#include "torchclad/model_column.h"
#include "torchclad/nn.h"
#include "torchclad/rdataframe.h"
#include "torchclad/torchclad.h"

namespace nn = torchclad::nn;

// A signal/background classifier of three scalar columns.
struct NtupleClassifier : nn::Model {
  nn::Linear fc1{"fc1", 3, 16}, fc2{"fc2", 16, 1};
  nn::Act z1{16}, t1{16}, logit{1};
  NtupleClassifier() {
    inputs(3);
    binary();
    output(logit);
  }
  template <class T>
  static T loss(const NtupleClassifier& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::linear(m.fc1, p, x, a, m.z1, n);
    nn::tanh(a, m.z1, m.t1, n);
    nn::linear(m.fc2, p, a, m.t1, m.logit, n);
    return nn::bce_with_logits(a, m.logit, y, n);
  }
};
TORCHCLAD_MODEL(ntuple_classifier, NtupleClassifier)

// A regression of one target (a jet energy, GeV) from two features.
struct EnergyRegression : nn::Model {
  nn::Linear fc1{"fc1", 2, 16}, fc2{"fc2", 16, 1};
  nn::Act z1{16}, t1{16}, energy{1};
  EnergyRegression() {
    inputs(2);
    regression(1);
    output(energy);
  }
  template <class T>
  static T loss(const EnergyRegression& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::linear(m.fc1, p, x, a, m.z1, n);
    nn::tanh(a, m.z1, m.t1, n);
    nn::linear(m.fc2, p, a, m.t1, m.energy, n);
    return nn::mse(a, m.energy, y, n);
  }
};
TORCHCLAD_MODEL(energy_regression, EnergyRegression)

namespace torchclad {
namespace {

namespace fs = std::filesystem;
using namespace torchclad::rootdata_testing;

constexpr int kSignal = 700, kBackground = 900;

// Trees "signal" and "background" (and "mixed": both, with a label column):
// m_jj (Float_t, around 100 GeV), m_jjj (Double_t, hundreds), n_jets
// (Int_t), flat (Float_t, always 5: zero variance), weight (Float_t, a
// tenth of the events negative), event (Int_t: the entry of "mixed").
const std::string& ntuple() {
  static const std::string file = [] {
    const std::string f = tmp("weights_ntuple.root");
    write_root(f, [](TFile&) {
      std::mt19937_64 rng(11);
      std::normal_distribution<double> g(0, 1);
      Float_t m_jj, flat = 5, weight;
      Double_t m_jjj;
      Int_t n_jets, label, event;
      auto branches = [&](TTree* t) {
        t->Branch("m_jj", &m_jj, "m_jj/F");
        t->Branch("m_jjj", &m_jjj, "m_jjj/D");
        t->Branch("n_jets", &n_jets, "n_jets/I");
        t->Branch("flat", &flat, "flat/F");
        t->Branch("weight", &weight, "weight/F");
        t->Branch("event", &event, "event/I");
        t->SetAutoFlush(200);  // several clusters: several tasks under implicit MT
      };
      auto* sig = new TTree("signal", "signal");
      auto* bkg = new TTree("background", "background");
      auto* mixed = new TTree("mixed", "signal and background");
      branches(sig);
      branches(bkg);
      branches(mixed);
      mixed->Branch("label", &label, "label/I");
      for (int e = 0; e < kSignal + kBackground; ++e) {
        const bool s = e < kSignal;
        m_jj = static_cast<float>((s ? 125 : 95) + 20 * g(rng));
        m_jjj = (s ? 420 : 330) + 80 * g(rng);
        n_jets = static_cast<int>(4 + (rng() % 3) + (s ? 1 : 0));
        weight = static_cast<float>(e % 10 == 3 ? -0.4 : 0.5 + (rng() % 100) / 100.0);
        label = s;
        event = e;
        (s ? sig : bkg)->Fill();
        mixed->Fill();
      }
    });
    return f;
  }();
  return file;
}

const std::vector<std::string> kFeatures = {"m_jj", "m_jjj", "n_jets"};

Dataset loaded() {
  DataLoader loader;
  loader.features(kFeatures)
      .add_signal(ntuple(), "signal", "", "weight")
      .add_background(ntuple(), "background", "", "weight");
  return loader.build();
}

TrainOptions quick(int epochs = 6) {
  TrainOptions o;
  o.epochs = epochs;
  o.batch = 32;
  o.lr = 1e-2;
  o.progress = false;
  return o;
}

// ---- Weights in Model::fit and evaluate.

TEST(ModelWeights, FitAndEvaluateUseTheDatasetsWeights) {
  auto [train, test] = loaded().split(0.3, 7);
  ASSERT_TRUE(train.has_weights());
  auto m = model("ntuple_classifier", 3);
  m.standardize(train);
  const auto r = m.fit(train, test, quick());
  ASSERT_EQ(r.status, "finished") << r.message;
  const auto e = m.evaluate(test);
  EXPECT_TRUE(e.weighted);
  EXPECT_GT(e.auc, 0.8);
  // The weighted accuracy, event by event from predict.
  const auto logits = m.predict(test);
  const auto& impl = *test.impl();
  double correct = 0, total = 0;
  for (long long i = 0; i < test.size(); ++i) {
    const float w = impl.weights[i].item<float>();
    const bool label = impl.split.labels[i].item<int64_t>() == 1;
    total += w;
    if ((logits[i] > 0) == label) correct += w;
  }
  EXPECT_NEAR(e.accuracy, correct / total, 1e-9);
  // The same events without weights: another (unweighted) accuracy.
  auto unweighted = Dataset(std::make_shared<Dataset::Impl>(Dataset::Impl{impl.split, {}, {}}));
  const auto u = m.evaluate(unweighted);
  EXPECT_FALSE(u.weighted);
  EXPECT_NE(u.accuracy, e.accuracy);
  // The weighted ROC curve: its area is the evaluation's AUC.
  const auto roc = m.roc(test);
  EXPECT_NEAR(roc.auc, e.auc, 1e-12);
  EXPECT_NEAR(roc.true_positive_rate.back(), 1.0, 1e-9);
  EXPECT_NEAR(roc.false_positive_rate.back(), 1.0, 1e-9);
  EXPECT_EQ(roc.threshold.size(), roc.true_positive_rate.size());
  // Weighted sampling runs from the API, by seed.
  auto again = model("ntuple_classifier", 3);
  auto o = quick(1);
  o.weighted_sampling = true;
  EXPECT_EQ(again.fit(train, test, o).status, "finished");
}

// ---- Standardisation.

TEST(ModelStandardize, FitsWeightedMeansAndStds) {
  const auto data = loaded();
  auto m = model("ntuple_classifier");
  EXPECT_FALSE(m.standardized());
  m.standardize(data);
  ASSERT_TRUE(m.standardized());
  const auto mean = m.feature_means(), stdv = m.feature_stds();
  ASSERT_EQ(mean.size(), 3u);
  const auto x = data.impl()->split.images.to(torch::kFloat64);
  const auto w = data.impl()->weights.to(torch::kFloat64);
  for (int f = 0; f < 3; ++f) {
    const auto col = x.select(1, f);
    const double mu = (col * w).sum().item<double>() / w.sum().item<double>();
    const double var = ((col - mu).pow(2) * w).sum().item<double>() / w.sum().item<double>();
    EXPECT_NEAR(mean[f], mu, 1e-4 * std::abs(mu)) << f;
    EXPECT_NEAR(stdv[f], std::sqrt(var), 1e-4 * std::sqrt(var)) << f;
  }
  // Features as the model sees them: weighted mean 0, weighted std 1.
  const auto z = (x - torch::tensor(mean).to(torch::kFloat64)) / torch::tensor(stdv).to(torch::kFloat64);
  const auto wz = (z * w.unsqueeze(1)).sum(0) / w.sum();
  EXPECT_LT(wz.abs().max().item<double>(), 1e-4);

  // A zero-variance feature gets std 1 (only centred).
  ROOT::RDataFrame df("signal", ntuple());
  const auto flat =
      dataset_from_columns(df.Define("label", [] { return 1; }), {"m_jj", "flat", "n_jets"}, "label");
  auto c = model("ntuple_classifier");
  c.standardize(flat);
  EXPECT_FLOAT_EQ(c.feature_stds()[1], 1.f);
  EXPECT_FLOAT_EQ(c.feature_means()[1], 5.f);

  // The wrong number of features is refused by name.
  const auto two = dataset_from_columns(df.Define("label", [] { return 1; }), {"m_jj", "flat"}, "label");
  EXPECT_TRUE(throws_with(
      [&] { c.standardize(two); },
      {"Model::standardize: model 'ntuple_classifier' takes 3 features per sample, the dataset has 2"}));
}

// Raw masses in the hundreds train badly in a few epochs; standardised they
// separate the classes.
TEST(ModelStandardize, IsAppliedByFitPredictAndEvaluate) {
  auto [train, test] = loaded().split(0.3, 7);
  auto raw = model("ntuple_classifier", 3);
  raw.fit(train, test, quick(3));
  auto std_model = model("ntuple_classifier", 3);
  std_model.standardize(train);
  std_model.fit(train, test, quick(3));
  const auto e = std_model.evaluate(test);
  EXPECT_GT(e.auc, 0.8);
  EXPECT_GT(e.auc, raw.evaluate(test).auc + 0.02);
  // predict standardises: the same as a model fed standardised features by hand.
  const auto& impl = *test.impl();
  const auto mean = torch::tensor(std_model.feature_means()), stdv = torch::tensor(std_model.feature_stds());
  auto by_hand = Dataset(std::make_shared<Dataset::Impl>(
      Dataset::Impl{{(impl.split.images - mean) / stdv, impl.split.labels}, {}, impl.weights}));
  auto plain = Model(std::make_shared<Model::State>(*std_model.state()));
  plain.state()->mean = torch::Tensor();
  plain.state()->scale = torch::Tensor();
  const auto a = std_model.predict(test), b = plain.predict(by_hand);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 1e-5) << i;
  EXPECT_NEAR(plain.evaluate(by_hand).loss, e.loss, 1e-6);
}

TEST(ModelStandardize, SaveAndLoadKeepIt) {
  auto [train, test] = loaded().split(0.3, 7);
  auto m = model("ntuple_classifier", 3);
  m.standardize(train);
  m.fit(train, test, quick(2));
  const std::string path = tmp("standardized_model.root");
  m.save(path);
  {
    TFile f(path.c_str());
    auto* st = dynamic_cast<TTree*>(f.Get("standardization"));
    ASSERT_NE(st, nullptr);
    EXPECT_EQ(st->GetEntries(), 1);
  }
  const auto again = Model::load(path);
  ASSERT_TRUE(again.standardized());
  EXPECT_EQ(again.feature_means(), m.feature_means());
  EXPECT_EQ(again.feature_stds(), m.feature_stds());
  EXPECT_EQ(again.predict(test), m.predict(test));
  EXPECT_EQ(again.evaluate(test).auc, m.evaluate(test).auc);
  // A model saved without standardisation loads without it.
  auto plain = model("ntuple_classifier", 3);
  plain.save(tmp("plain_model.root"));
  EXPECT_FALSE(Model::load(tmp("plain_model.root")).standardized());
}

// ---- The model as an RDataFrame column.

// The model's column on the "mixed" tree, by entry, against predict on the
// same rows read by dataset_from_columns.
void expect_column_equals_predict(const Model& m) {
  ROOT::RDataFrame df("mixed", ntuple());
  const auto rows = dataset_from_columns(df, kFeatures, "label", "weight");
  const auto expected = m.predict(rows);
  auto scored = define_model_column(df, "score", m, kFeatures);
  auto scores = scored.Take<float>("score");
  // Under implicit MT, rdfentry_ is not the tree's entry number: the event
  // number column says which row each value belongs to.
  auto entries = scored.Take<int>("event");
  auto m_jj = scored.Take<float>("m_jj");
  auto count = scored.Count();
  auto hist = scored.Histo1D({"h", "score", 50, -20, 20}, "score");
  auto passing = scored.Filter("score > 0").Count();
  ASSERT_EQ(scores->size(), expected.size());
  long long above = 0;
  for (size_t i = 0; i < scores->size(); ++i) {
    ASSERT_EQ((*m_jj)[i], rows.impl()->split.images[(*entries)[i]][0].item<float>())
        << "entry " << (*entries)[i];
    ASSERT_NEAR((*scores)[i], expected[(*entries)[i]],
                1e-5 * std::max(1.f, std::abs(expected[(*entries)[i]])))
        << "entry " << (*entries)[i];
    above += (*scores)[i] > 0;
  }
  EXPECT_EQ(*count, static_cast<ULong64_t>(kSignal + kBackground));
  EXPECT_EQ(hist->GetEntries(), kSignal + kBackground);
  EXPECT_EQ(static_cast<long long>(*passing), above);
  // Snapshot writes the column; reading it back gives the same values.
  const std::string out = tmp("scored.root");
  scored.Snapshot("scored", out, {"score", "label"});
  ROOT::RDataFrame back("scored", out);
  auto sum_back = back.Sum<float>("score");
  double sum = 0;
  for (float s : *scores) sum += s;
  EXPECT_NEAR(*sum_back, sum, 1e-3 * std::max(1.0, std::abs(sum)));
}

TEST(ModelColumn, EqualsPredictWithImplicitMtOff) {
  auto [train, test] = loaded().split(0.3, 7);
  auto m = model("ntuple_classifier", 3);
  m.standardize(train);
  m.fit(train, test, quick(2));
  expect_column_equals_predict(m);
}

TEST(ModelColumn, EqualsPredictWithImplicitMtOn) {
  auto [train, test] = loaded().split(0.3, 7);
  auto m = model("ntuple_classifier", 3);
  m.standardize(train);
  m.fit(train, test, quick(2));
  ImplicitMT mt;
  expect_column_equals_predict(m);
}

// The columns as the datasets take them: an array column's values in order,
// ranges ("name[k]", "name[:n]", padded with 0), scalars beside them; several model columns on
// one graph.
TEST(ModelColumn, TakesArrayColumnsAsTheDatasetsDo) {
  auto [train, test] = loaded().split(0.3, 7);
  auto m = model("ntuple_classifier", 3);
  m.fit(train, test, quick(2));
  // Other columns holding the same values: compared by value here, so the
  // model forgets the names it would check them against.
  m.set_feature_names({});
  ROOT::RDataFrame df("mixed", ntuple());
  // "pair": 2 values in every entry; "ragged": 0, 1 or 2 values.
  auto node = df.Define("pair", [](float a, double b) { return ROOT::RVecF{a, float(b)}; }, {"m_jj", "m_jjj"})
                  .Define("ragged",
                          [](int e, float a, double b) {
                            ROOT::RVecF v{a, float(b)};
                            v.resize(e % 3);
                            return v;
                          },
                          {"event", "m_jj", "m_jjj"});
  for (const std::vector<std::string>& spec : {std::vector<std::string>{"pair", "n_jets"},
                                               {"ragged[:2]", "n_jets"},
                                               {"m_jj", "pair[1]", "n_jets"}}) {
    const auto expected = m.predict(dataset_from_columns(node, spec, "label"));
    auto scored = define_model_column(node, "score", m, spec);
    scored = define_model_column(scored, "score2", m, kFeatures);  // a second model column on the graph
    auto scores = scored.Take<float>("score");
    auto entries = scored.Take<int>("event");
    auto also = scored.Count();
    ASSERT_EQ(scores->size(), expected.size()) << spec[0];
    for (size_t i = 0; i < scores->size(); ++i)
      ASSERT_NEAR((*scores)[i], expected[(*entries)[i]],
                  1e-5 * std::max(1.f, std::abs(expected[(*entries)[i]])))
          << spec[0] << ", entry " << (*entries)[i];
    EXPECT_EQ(*also, static_cast<ULong64_t>(kSignal + kBackground));
  }
  // Widths known before the event loop are checked at once ...
  EXPECT_TRUE(throws_with([&] { define_model_column(node, "score", m, {"pair[:2]", "ragged[:2]"}); },
                          {"define_model_column: model 'ntuple_classifier' takes 3 features per event, the "
                           "columns give 4 values (pair[:2], ragged[:2])"}));
  // ... a whole array of varying length when an entry has another width.
  auto bad = define_model_column(node, "score", m, {"ragged", "n_jets"});
  EXPECT_TRUE(throws_with([&] { *bad.Sum<float>("score"); },
                          {"define_model_column: the columns (ragged, n_jets) give", "values at entry",
                           "model 'ntuple_classifier' takes 3", "write 'name[:n]'"}));
  EXPECT_EQ(*df.Count(), static_cast<ULong64_t>(kSignal + kBackground));
}

TEST(ModelColumn, ClearErrors) {
  ROOT::RDataFrame df("mixed", ntuple());
  auto m = model("ntuple_classifier");
  EXPECT_TRUE(
      throws_with([&] { define_model_column(df, "score", m, {"m_jj", "m_jjj"}); },
                  {"define_model_column: model 'ntuple_classifier' takes 3 features per event, 2 columns "
                   "given (m_jj, m_jjj)"}));
  auto with_text = df.Define("text", [] { return std::string("x"); });
  EXPECT_TRUE(throws_with(
      [&] { define_model_column(with_text, "score", m, {"m_jj", "text", "n_jets"}); },
      {"define_model_column: feature column 'text' has type", "string", "expected one number per entry"}));
  EXPECT_TRUE(throws_with([&] { define_model_column(df, "score", m, {"m_jj", "m_bb", "n_jets"}); },
                          {"define_model_column: no feature column 'm_bb'; the columns are: ", "m_jjj"}));
  EXPECT_TRUE(throws_with([&] { define_model_column(df, "score", m, kFeatures, 1); },
                          {"output 1 is not one of model 'ntuple_classifier''s 1 outputs"}));
  // The graph stays usable after an error.
  EXPECT_EQ(*df.Count(), static_cast<ULong64_t>(kSignal + kBackground));
}

// ---- Feature names: recorded, saved, loaded, checked (a reordered column
// list scored silently before).

TEST(ModelFeatureNames, RecordedSavedLoadedAndCheckedAgainstTheColumns) {
  auto [train, test] = loaded().split(0.3, 7);
  ASSERT_EQ(train.feature_names(), kFeatures);
  auto m = model("ntuple_classifier", 3);
  EXPECT_TRUE(m.feature_names().empty());
  m.standardize(train);  // records them
  EXPECT_EQ(m.feature_names(), kFeatures);
  m.fit(train, test, quick(2));
  EXPECT_NE(m.describe().find("features (3): m_jj, m_jjj, n_jets"), std::string::npos) << m.describe();

  ROOT::RDataFrame df("mixed", ntuple());
  const std::vector<std::string> swapped = {"m_jj", "n_jets", "m_jjj"};
  const std::vector<std::string> expected_parts = {
      "define_model_column: the column list has the features (m_jj, n_jets, m_jjj), but model "
      "'ntuple_classifier' takes the features (m_jj, m_jjj, n_jets); feature 1 is 'n_jets' where 'm_jjj' is "
      "expected (the same features in another order)"};
  EXPECT_TRUE(throws_with([&] { define_model_column(df, "score", m, swapped); }, expected_parts));
  const auto swapped_rows = dataset_from_columns(df, swapped, "label");
  EXPECT_TRUE(throws_with([&] { m.predict(swapped_rows); },
                          {"Model::predict: the dataset has the features (m_jj, n_jets, m_jjj), but model"}));
  EXPECT_TRUE(throws_with([&] { m.evaluate(swapped_rows); }, {"Model::evaluate: the dataset has"}));
  EXPECT_TRUE(
      throws_with([&] { m.fit(swapped_rows, test, quick(1)); }, {"Model::fit: the training set has"}));
  // No column list: the model's own, in its order.
  auto own = define_model_column(df, "score", m).Take<float>("score");
  auto listed = define_model_column(df, "score", m, kFeatures).Take<float>("score");
  EXPECT_EQ(*own, *listed);

  // Saved and read back into a fresh model object: still refused.
  const std::string path = tmp("named_model.root");
  m.save(path);
  const auto again = Model::load(path);
  EXPECT_EQ(again.feature_names(), kFeatures);
  EXPECT_NE(again.describe().find("m_jj, m_jjj, n_jets"), std::string::npos);
  EXPECT_TRUE(throws_with([&] { define_model_column(df, "score", again, swapped); }, expected_parts));
  EXPECT_EQ(*define_model_column(df, "score", again).Take<float>("score"), *listed);

  // A file of the format before names (no "features" tree) loads with the names unknown.
  const std::string old = tmp("model_without_names.root");
  fs::copy_file(path, old, fs::copy_options::overwrite_existing);
  {
    TFile f(old.c_str(), "UPDATE");
    f.Delete("features;*");
    f.Close();
  }
  {
    TFile f(old.c_str());
    ASSERT_EQ(f.Get("features"), nullptr);
  }
  const auto unnamed = Model::load(old);
  EXPECT_TRUE(unnamed.feature_names().empty());
  EXPECT_EQ(unnamed.predict(test), m.predict(test));
  EXPECT_NO_THROW(define_model_column(df, "score", unnamed, swapped));  // nothing to check against
  EXPECT_TRUE(throws_with([&] { define_model_column(df, "score", unnamed); },
                          {"no columns given, and model 'ntuple_classifier' does not know the names of its "
                           "features"}));

  // Names given by hand: one per input.
  auto renamed = Model::load(old);
  EXPECT_TRUE(
      throws_with([&] { renamed.set_feature_names({"a", "b"}); },
                  {"Model::set_feature_names: model 'ntuple_classifier' takes 3 features, found 2 names"}));
  EXPECT_TRUE(throws_with([&] { renamed.set_feature_names({"a", "b", "a"}); },
                          {"Model::set_feature_names: 'a' is listed twice (names 0 and 2)"}));
  renamed.set_feature_names(swapped);
  EXPECT_NO_THROW(define_model_column(df, "score", renamed, swapped));
  EXPECT_TRUE(
      throws_with([&] { define_model_column(df, "score", renamed, kFeatures); }, {"the column list has"}));
}

// A two-class softmax model (every built-in Mlp): the default column is the
// score roc() and evaluate().auc use, log(p1/p0) = output 1 - output 0.
TEST(ModelColumn, DefaultIsTheScoreRocUses) {
  auto [train, test] = loaded().split(0.3, 7);
  auto m = model("mlp-3-8-2", 1);
  m.standardize(train);
  m.fit(train, test, quick(3));
  ROOT::RDataFrame df("mixed", ntuple());
  const auto rows = dataset_from_columns(df, kFeatures, "label", "weight");
  const auto roc = m.roc(rows);
  const auto logits = m.predict(rows);
  auto scored = define_model_column(df, "score", m, kFeatures);
  scored = define_model_column(scored, "background_logit", m, kFeatures, 0);
  auto score = scored.Take<float>("score");
  auto logit0 = scored.Take<float>("background_logit");
  auto event = scored.Take<int>("event");
  const size_t n = rows.size();
  ASSERT_EQ(score->size(), n);
  std::vector<float> by_entry(n);
  std::vector<int> labels(n);
  std::vector<float> weights(n);
  double signal = 0, background = 0;
  for (size_t i = 0; i < n; ++i) {
    const int e = (*event)[i];
    by_entry[e] = (*score)[i];
    ASSERT_NEAR((*score)[i], logits[2 * e + 1] - logits[2 * e], 1e-5) << "entry " << e;
    ASSERT_NEAR((*logit0)[i], logits[2 * e], 1e-5) << "entry " << e;
    labels[e] = rows.impl()->split.labels[e].item<int>();
    weights[e] = rows.impl()->weights[e].item<float>();
    (labels[e] ? signal : background) += (*score)[i];
  }
  // The ROC of the column's values is roc()'s (up to the order of events
  // whose scores differ by float rounding: batch 1 here, the whole set there).
  EXPECT_NEAR(metrics::weighted_roc_auc(by_entry, labels, weights), roc.auc, 1e-4);
  EXPECT_NEAR(m.evaluate(rows).auc, roc.auc, 1e-6);
  // "score > 0" selects what the model calls signal.
  EXPECT_GT(signal / kSignal, background / kBackground);
  EXPECT_GT(signal / kSignal, 0);
  // A model of more outputs names the choice.
  auto three = model("mlp-3-8-3");
  EXPECT_TRUE(throws_with([&] { define_model_column(df, "score", three, kFeatures); },
                          {"model 'mlp-3-8-3' has 3 outputs; the default, torchclad::kScore",
                           "pass the output you want, 0 to 2"}));
  EXPECT_NO_THROW(define_model_column(df, "score", three, kFeatures, 2));
  // roc() names the sample whose label is not 0 or 1.
  const auto nine = classification_dataset({1, 2, 3, 4, 5, 6, 7, 8, 9}, 3, {0, 1, 9});
  EXPECT_TRUE(
      throws_with([&] { m.roc(nine); },
                  {"Model::roc: the label of sample 2 is 9; the ROC curve needs labels 0 (background) "
                   "and 1 (signal)"}));
}

// What a TMVA user writes for one output: refused when the model is made.
TEST(ModelCreation, AOneClassMlpSaysToUseTwoOutputs) {
  EXPECT_TRUE(throws_with([] { model("mlp-4-32-1"); },
                          {"model 'mlp-4-32-1' classifies into 1 class",
                           "a built-in Mlp is a softmax classifier", "use mlp-4-32-2 for two classes"}));
  EXPECT_TRUE(throws_with([] { model("mlp-4-32-1-tanh"); }, {"use mlp-4-32-2-tanh for two classes"}));
  EXPECT_NO_THROW(model("mlp-4-32-2"));
}

// ---- Regression targets standardised (Model::standardize on a regression model).

constexpr int kJets = 2000;

// Tree "jets": x1, x2 (Float_t, N(0, 1)), E = 50 x1 + 100 + N(0, 2) GeV
// (Double_t), E2 (a second energy), E_const (91.2 in every event), w (a
// weight in [0.5, 1.5), higher for high E).
const std::string& jets() {
  static const std::string file = [] {
    const std::string f = tmp("jets.root");
    write_root(f, [](TFile&) {
      std::mt19937_64 rng(5);
      std::normal_distribution<double> g(0, 1);
      Float_t x1, x2, E_const = 91.2f, w;
      Double_t E, E2;
      auto* t = new TTree("jets", "jet energies");
      t->Branch("x1", &x1, "x1/F");
      t->Branch("x2", &x2, "x2/F");
      t->Branch("E", &E, "E/D");
      t->Branch("E2", &E2, "E2/D");
      t->Branch("E_const", &E_const, "E_const/F");
      t->Branch("w", &w, "w/F");
      for (int e = 0; e < kJets; ++e) {
        x1 = static_cast<float>(g(rng));
        x2 = static_cast<float>(g(rng));
        E = 50 * x1 + 100 + 2 * g(rng);
        E2 = 2 * E;
        w = static_cast<float>(0.5 + (E > 100 ? 0.5 : 0.0) + (rng() % 100) / 200.0);
        t->Fill();
      }
    });
    return f;
  }();
  return file;
}

Dataset jet_energies(const std::vector<std::string>& targets = {"E"}, const std::string& weight = "") {
  return regression_dataset_from_columns(ROOT::RDataFrame("jets", jets()), {"x1", "x2"}, targets, weight);
}

// Default options (Adam, lr 1e-3, batch 64) for more epochs than the default 5.
TrainOptions defaults(int epochs) {
  TrainOptions o;
  o.epochs = epochs;
  o.progress = false;
  return o;
}

// RMSE of predict against the targets, by hand.
double rmse_of(const std::vector<float>& predicted, const Dataset& data) {
  const auto y = data.impl()->targets.reshape({-1}).to(torch::kFloat64);
  double sum = 0;
  for (size_t i = 0; i < predicted.size(); ++i) sum += std::pow(predicted[i] - y[i].item<double>(), 2);
  return std::sqrt(sum / predicted.size());
}

// Targets around 100 GeV, spread 50: with the default learning rate the raw
// model is still far off after the fit; standardised, it reaches the noise
// (2 GeV) within a few GeV, and evaluate's RMSE is in GeV.
TEST(TargetStandardize, ARegressionOnTargetsOfHundredsReachesASmallRmseInTheirUnits) {
  auto [train, test] = jet_energies().split(0.25, 3);
  auto raw = model("energy_regression", 1);
  ASSERT_EQ(raw.fit(train, test, defaults(100)).status, "finished");
  const double raw_rmse = raw.evaluate(test).rmse;

  auto m = model("energy_regression", 1);
  EXPECT_FALSE(m.targets_standardized());
  m.standardize(train);
  ASSERT_TRUE(m.standardized());
  ASSERT_TRUE(m.targets_standardized());
  const auto y = train.impl()->targets.to(torch::kFloat64).reshape({-1});
  const double mu = y.mean().item<double>(), sd = std::sqrt(((y - mu).pow(2)).mean().item<double>());
  ASSERT_EQ(m.target_means().size(), 1u);
  EXPECT_NEAR(m.target_means()[0], mu, 1e-4 * mu);
  EXPECT_NEAR(m.target_stds()[0], sd, 1e-4 * sd);
  ASSERT_EQ(m.fit(train, test, defaults(100)).status, "finished");
  const auto e = m.evaluate(test);
  std::printf("[ measured ] test RMSE %.3f GeV standardised, %.3f GeV raw (target std %.1f GeV)\n", e.rmse,
              raw_rmse, sd);
  EXPECT_LT(e.rmse, 5.0);
  EXPECT_GT(raw_rmse, 30.0);
  // evaluate's RMSE is predict's, in GeV.
  const auto predicted = m.predict(test);
  ASSERT_EQ(predicted.size(), static_cast<size_t>(test.size()));
  EXPECT_NEAR(e.rmse, rmse_of(predicted, test), 1e-4 * e.rmse);
  double mean_prediction = 0;
  for (float v : predicted) mean_prediction += v / predicted.size();
  EXPECT_NEAR(mean_prediction, mu, 5.0);
  // The loss is the definition's on the standardised targets: about (RMSE / std)^2.
  EXPECT_NEAR(e.loss, std::pow(e.rmse / m.target_stds()[0], 2), 1e-3);
  EXPECT_NE(m.describe().find("targets standardised: mean ["), std::string::npos) << m.describe();
}

TEST(TargetStandardize, SaveLoadPredictAndTheModelColumnAreInTheTargetsUnits) {
  const auto all = jet_energies();
  auto [train, test] = all.split(0.25, 3);
  auto m = model("energy_regression", 1);
  m.standardize(train);
  ASSERT_EQ(m.fit(train, test, defaults(5)).status, "finished");
  const std::string path = tmp("energy_model.root");
  m.save(path);
  {
    TFile f(path.c_str());
    auto* st = dynamic_cast<TTree*>(f.Get("target_standardization"));
    ASSERT_NE(st, nullptr);
    EXPECT_EQ(st->GetEntries(), 1);
  }
  const auto again = Model::load(path);
  ASSERT_TRUE(again.targets_standardized());
  EXPECT_EQ(again.target_means(), m.target_means());
  EXPECT_EQ(again.target_stds(), m.target_stds());
  EXPECT_EQ(again.predict(test), m.predict(test));
  EXPECT_EQ(again.evaluate(test).rmse, m.evaluate(test).rmse);

  // The model column, entry by entry, is predict's value in GeV.
  ROOT::RDataFrame df("jets", jets());
  auto energies = define_model_column(df, "E_pred", again, {"x1", "x2"}).Take<float>("E_pred");
  const auto expected = m.predict(all);
  ASSERT_EQ(energies->size(), expected.size());
  double mean_column = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    ASSERT_NEAR((*energies)[i], expected[i], 1e-5 * std::max(1.f, std::abs(expected[i]))) << i;
    mean_column += (*energies)[i] / expected.size();
  }
  EXPECT_GT(mean_column, 50.0);  // GeV, not standard deviations around 0

  // A file of an earlier version (no target statistics) still loads: its
  // features standardised, its outputs as the parameters give them.
  const std::string old_path = tmp("energy_model_old.root");
  std::filesystem::copy_file(path, old_path, std::filesystem::copy_options::overwrite_existing);
  {
    TFile f(old_path.c_str(), "UPDATE");
    f.Delete("target_standardization;*");
  }
  const auto old = Model::load(old_path);
  EXPECT_TRUE(old.standardized());
  EXPECT_FALSE(old.targets_standardized());
  EXPECT_TRUE(old.target_means().empty());
  const auto raw = old.predict(test), in_gev = m.predict(test);
  for (size_t i = 0; i < raw.size(); ++i)
    ASSERT_NEAR(raw[i] * m.target_stds()[0] + m.target_means()[0], in_gev[i], 1e-4 * std::abs(in_gev[i]));
}

TEST(TargetStandardize, WeightedMeansOneSideAtATimeAndClearErrors) {
  // Weighted, as the features: sum(w y) / sum(w) and the weighted variance.
  const auto weighted = jet_energies({"E"}, "w");
  ASSERT_TRUE(weighted.has_weights());
  auto m = model("energy_regression");
  m.standardize_targets(weighted);
  EXPECT_FALSE(m.standardized());  // the features are left as they are
  const auto y = weighted.impl()->targets.to(torch::kFloat64).reshape({-1});
  const auto w = weighted.impl()->weights.to(torch::kFloat64);
  const double mu = (w * y).sum().item<double>() / w.sum().item<double>();
  const double var = (w * (y - mu).pow(2)).sum().item<double>() / w.sum().item<double>();
  EXPECT_NEAR(m.target_means()[0], mu, 1e-4 * mu);
  EXPECT_GT(m.target_means()[0], y.mean().item<double>() + 5);  // high energies weigh more
  EXPECT_NEAR(m.target_stds()[0], std::sqrt(var), 1e-4 * std::sqrt(var));
  auto f = model("energy_regression");
  f.standardize_features(weighted);
  EXPECT_TRUE(f.standardized());
  EXPECT_FALSE(f.targets_standardized());

  // A classifier has no targets to standardise; standardize does its features only.
  auto c = model("ntuple_classifier");
  EXPECT_TRUE(throws_with([&] { c.standardize_targets(loaded()); },
                          {"Model::standardize_targets: model 'ntuple_classifier' is a classifier"}));
  c.standardize(loaded());
  EXPECT_TRUE(c.standardized());
  EXPECT_FALSE(c.targets_standardized());
  // Another number of targets, class labels, another number of features.
  auto r = model("energy_regression");
  EXPECT_TRUE(throws_with([&] { r.standardize_targets(jet_energies({"E", "E2"})); },
                          {"Model::standardize_targets: model 'energy_regression' has 1 regression target(s) "
                           "per sample, the dataset has 2"}));
  ROOT::RDataFrame df("jets", jets());
  const auto labelled = dataset_from_columns(df.Define("label", [] { return 1; }), {"x1", "x2"}, "label");
  EXPECT_TRUE(throws_with([&] { r.standardize(labelled); },
                          {"Model::standardize: model 'energy_regression' is a regression model",
                           "the dataset has class labels, not regression targets"}));
  EXPECT_FALSE(r.standardized());  // nothing is kept from a call that failed
  const auto three = regression_dataset_from_columns(df, {"x1", "x2", "E2"}, {"E"});
  EXPECT_TRUE(throws_with(
      [&] { r.standardize(three); },
      {"Model::standardize: model 'energy_regression' takes 2 features per sample, the dataset has 3"}));
  // A constant target: only centred (std 1), and said on stderr.
  ::testing::internal::CaptureStderr();
  r.standardize_targets(jet_energies({"E_const"}));
  const std::string said = ::testing::internal::GetCapturedStderr();
  EXPECT_FLOAT_EQ(r.target_means()[0], 91.2f);
  EXPECT_FLOAT_EQ(r.target_stds()[0], 1.f);
  EXPECT_NE(said.find("Model::standardize_targets: target 0 of model 'energy_regression' is 91.2 in every "
                      "training event (zero variance); it is only centred (std 1)"),
            std::string::npos)
      << said;
}

// ---- Mlp::standardize: the features, by Model::standardize's code, for every engine.

TEST(MlpStandardize, FitsTheFeaturesAsAModelDoesForEveryEngine) {
  auto [train, test] = loaded().split(0.3, 7);
  auto reference = model("mlp-3-16-2");
  reference.standardize(train);
  for (const std::string engine : {"clad", "autograd"}) {
    Mlp mlp({3, 16, 2}, "tanh");
    mlp.standardize(train);
    EXPECT_NE(mlp.describe().find("standardised"), std::string::npos) << mlp.describe();
    auto o = quick(4);
    o.engine = engine;
    ASSERT_EQ(mlp.fit(train, test, o).status, "finished") << engine;
    ASSERT_TRUE(mlp.model().standardized()) << engine;
    EXPECT_EQ(mlp.model().feature_means(), reference.feature_means()) << engine;
    EXPECT_EQ(mlp.model().feature_stds(), reference.feature_stds()) << engine;
    // Trained on standardised masses, it separates the classes.
    EXPECT_GT(mlp.model().evaluate(test).auc, 0.8) << engine;
    EXPECT_GT(mlp.accuracy(test), 0.65) << engine;
    const std::string path = tmp("mlp_standardized_" + engine + ".root");
    mlp.save(path);
    const auto again = Model::load(path);
    EXPECT_EQ(again.feature_means(), reference.feature_means()) << engine;
    EXPECT_EQ(again.predict(test), mlp.model().predict(test)) << engine;
  }
  Mlp wide({4, 8, 2});
  EXPECT_TRUE(
      throws_with([&] { wide.standardize(train); },
                  {"Mlp::standardize: model 'mlp-4-8-2' takes 4 features per sample, the dataset has 3"}));
  EXPECT_TRUE(throws_with([&] { wide.model(); }, {"Mlp::model: the model is not trained yet"}));
  Mlp classifier({2, 8, 2});
  EXPECT_TRUE(
      throws_with([&] { classifier.standardize(jet_energies()); },
                  {"Mlp::standardize: Mlp is a classifier, but the dataset holds regression targets"}));
}

}  // namespace
}  // namespace torchclad
