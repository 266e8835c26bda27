// Models (torchclad/nn.h, compiled here with the Clad plugin) on ntuple data
// in real ROOT files written by the test: per-event weights through
// Model::fit/evaluate, feature standardisation (fitted, applied, saved and
// loaded), and the trained model as an RDataFrame column (implicit MT off
// and on) against predict on the same rows.
#include <TFile.h>
#include <TTree.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

#include "root/src/dataset_impl.hpp"
#include "root/src/model_state.hpp"
#include "rootdata_util.hpp"
#include "torchclad/model.h"
#include "torchclad/model_column.h"
#include "torchclad/nn.h"
#include "torchclad/rdataframe.h"

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

namespace torchclad {
namespace {

namespace fs = std::filesystem;
using namespace torchclad::rootdata_testing;

struct RemoveTmpDir : ::testing::Environment {
  void TearDown() override { fs::remove_all(tmp_dir()); }
};
const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new RemoveTmpDir);

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

}  // namespace
}  // namespace torchclad
