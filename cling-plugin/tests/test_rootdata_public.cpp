// The data API on public ntuples torchclad did not write: the files ROOT
// ships for its TMVA tutorials (tutorials/machine_learning/data), used as a
// physicist would. Higgs_data.root (sig_tree, bkg_tree: Float_t branches,
// one named "jet1_b-tag", and a Float_t class column "Type"),
// tmva_class_example.root (TreeS; TreeB with a "weight" branch TreeS lacks),
// tmva_multiclass_example.root (TreeS, TreeB0, TreeB1, TreeB2). The files
// come with ROOT; a missing one fails the test.
#include <ROOT/RDataFrame.hxx>
#include <TChain.h>
#include <TROOT.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "rootdata_util.hpp"
#include "src/dataset_impl.hpp"
#include "torchclad/model.h"
#include "torchclad/rdataframe.h"
#include "torchclad/stream.h"

using namespace torchclad::rootdata_testing;
using torchclad::DataLoader;

namespace {

// A file of ROOT's tutorial data; throws (failing the test) if ROOT has none.
std::string tutorial_file(const std::string& name) {
  const auto path =
      std::filesystem::path(gROOT->GetTutorialDir().Data()) / "machine_learning" / "data" / name;
  if (!std::filesystem::exists(path))
    throw std::runtime_error("ROOT's tutorial data file " + path.string() +
                             " is missing (it comes with ROOT's installation)");
  return path.string();
}

const std::string& higgs() {
  static const std::string f = tutorial_file("Higgs_data.root");
  return f;
}
const std::string& tmva_class() {
  static const std::string f = tutorial_file("tmva_class_example.root");
  return f;
}
const std::string& tmva_multiclass() {
  static const std::string f = tutorial_file("tmva_multiclass_example.root");
  return f;
}

const std::vector<std::string> kMasses = {"m_jj", "m_jjj", "m_lv", "m_jlv", "m_bb", "m_wbb", "m_wwbb"};
const std::vector<std::string> kVars = {"var1", "var2", "var3", "var4"};

const torch::Tensor& features(const torchclad::Dataset& d) { return d.impl()->split.images; }
const torch::Tensor& labels(const torchclad::Dataset& d) { return d.impl()->split.labels; }
const torch::Tensor& weights(const torchclad::Dataset& d) { return d.impl()->weights; }

torch::Tensor column(const std::string& file, const std::string& tree, const std::string& name) {
  auto v = ROOT::RDataFrame(tree, file).Take<float>(name).GetValue();
  return torch::tensor(v);
}

// The tree's columns side by side [entries, columns], each read on its own.
torch::Tensor columns(const std::string& file, const std::string& tree,
                      const std::vector<std::string>& names) {
  std::vector<torch::Tensor> c;
  for (const auto& n : names) c.push_back(column(file, tree, n));
  return torch::stack(c, 1);
}

torchclad::TrainOptions quick(int epochs) {
  torchclad::TrainOptions o;
  o.epochs = epochs;
  o.lr = 1e-2;  // two epochs at Adam's default 1e-3 reach an AUC of only 0.63
  o.batch = 64;
  o.progress = false;
  return o;
}

// ROC AUC (Mann-Whitney, ties counted half) of a two-output classifier's
// score out[1] - out[0], computed here independently of the library's
// metrics, which Model::evaluate and Model::roc use.
double two_class_auc(const torchclad::Model& m, const torchclad::Dataset& d) {
  const auto out = m.predict(d);
  const auto y = labels(d);
  std::vector<std::pair<float, int>> s;
  for (long long i = 0; i < d.size(); ++i)
    s.push_back({out[2 * i + 1] - out[2 * i], static_cast<int>(y[i].item<int64_t>())});
  std::sort(s.begin(), s.end());
  double rank_sum = 0, n_sig = 0;
  for (size_t i = 0; i < s.size();) {
    size_t j = i;
    while (j < s.size() && s[j].first == s[i].first) ++j;
    const double mid = (i + j + 1) / 2.0;  // average 1-based rank of the tie
    for (size_t k = i; k < j; ++k)
      if (s[k].second == 1) rank_sum += mid, n_sig += 1;
    i = j;
  }
  const double n_bkg = static_cast<double>(s.size()) - n_sig;
  return (rank_sum - n_sig * (n_sig + 1) / 2) / (n_sig * n_bkg);
}

}  // namespace

TEST(RootDataPublic, TutorialFilesArePresent) {
  for (const auto& f : {higgs(), tmva_class(), tmva_multiclass()})
    EXPECT_TRUE(std::filesystem::exists(f)) << f;
}

// A column named "jet1_b-tag" is a feature like any other: columns are read
// by name, not through an expression.
TEST(RootDataPublic, HiggsColumnWithADashIsAFeature) {
  DataLoader loader;
  loader.features({"m_jj", "jet1_b-tag"}).add_signal(higgs(), "sig_tree").add_background(higgs(), "bkg_tree");
  const auto d = loader.build();
  ASSERT_EQ(d.size(), 20000);
  EXPECT_EQ(d.features(), 2);
  EXPECT_EQ(d.classes(), 2);
  const auto btag =
      torch::cat({column(higgs(), "sig_tree", "jet1_b-tag"), column(higgs(), "bkg_tree", "jet1_b-tag")});
  EXPECT_TRUE(torch::equal(features(d).select(1, 1), btag));
  EXPECT_EQ(labels(d).sum().item<int64_t>(), 10000);
}

// In a cut it is read as jet1_b - tag: the error names the unknown names,
// lists the columns and says how to use such a column (an Alias); the Alias
// way selects what the column says.
TEST(RootDataPublic, HiggsColumnWithADashInACutSaysHowToNameIt) {
  DataLoader bad;
  bad.features({"m_jj"})
      .add_signal(higgs(), "sig_tree", "jet1_b-tag > 0.5")
      .add_background(higgs(), "bkg_tree");
  EXPECT_TRUE(throws_with(
      [&] { bad.build(); },
      {"DataLoader::build: signal source 0", "Higgs_data.root' tree 'sig_tree'", "the cut 'jet1_b-tag > 0.5'",
       "not a column: 'jet1_b', 'tag'", "the columns are: Type, jet1_b-tag, jet1_eta,", "jet1_b-tag",
       "Alias(\"jet1_b_tag\", \"jet1_b-tag\")"}));

  auto with_alias = [](const std::string& tree) {
    return ROOT::RDF::RNode(ROOT::RDataFrame(tree, higgs()).Alias("jet1_b_tag", "jet1_b-tag"));
  };
  DataLoader good;
  good.features({"m_jj", "jet1_b-tag"})
      .add_signal(with_alias("sig_tree"), "jet1_b_tag > 0.5")
      .add_background(with_alias("bkg_tree"), "jet1_b_tag > 0.5");
  const auto d = good.build();
  const auto btag =
      torch::cat({column(higgs(), "sig_tree", "jet1_b-tag"), column(higgs(), "bkg_tree", "jet1_b-tag")});
  ASSERT_EQ(d.size(), (btag > 0.5).sum().item<int64_t>());
  EXPECT_GT(d.size(), 1000);
  EXPECT_TRUE(torch::equal(features(d).select(1, 1), btag.masked_select(btag > 0.5)));
}

// Higgs_data.root's class column "Type" is a Float_t (1 in sig_tree, 0 in
// bkg_tree): refused as a label with the way to make it one.
TEST(RootDataPublic, HiggsFloatTypeColumnAsLabel) {
  ROOT::RDataFrame sig("sig_tree", higgs());
  EXPECT_TRUE(throws_with(
      [&] { torchclad::dataset_from_columns(sig, {"m_jj"}, "Type"); },
      {"dataset_from_columns: label column 'Type' has type Float_t", "Define(\"label\", \"int(Type)\")"}));
  const auto d = torchclad::dataset_from_columns(sig.Define("label", "int(Type)"), {"m_jj"}, "label");
  EXPECT_EQ(d.size(), 10000);
  EXPECT_EQ(labels(d).min().item<int64_t>(), 1);
}

// Signal vs background with the invariant masses, standardised, a small MLP
// (a built-in definition) trained two epochs: the ROC AUC on the held-out
// half is well above chance (TMVA's tutorials report about 0.7-0.8).
TEST(RootDataPublic, HiggsSignalVersusBackgroundLearns) {
  DataLoader loader;
  loader.features(kMasses).add_signal(higgs(), "sig_tree").add_background(higgs(), "bkg_tree");
  auto [train, test] = loader.build().split(0.5);
  ASSERT_EQ(test.size(), 10000);
  auto m = torchclad::model("mlp-7-32-2-tanh");
  m.standardize(train);
  const auto r = m.fit(train, test, quick(2));
  ASSERT_EQ(r.status, "finished") << r.message;
  const double auc = two_class_auc(m, test);
  std::printf("[ measured ] Higgs m_* features, 2 epochs: test AUC %.3f\n", auc);
  EXPECT_GT(auc, 0.65);
  const auto e = m.evaluate(test);
  EXPECT_GT(e.accuracy, 0.6);
  // A two-class classifier gets its AUC from evaluate, fit and roc, scored by
  // the difference of its logits.
  EXPECT_NEAR(e.auc, auc, 1e-6);
  EXPECT_NEAR(r.epochs.back().test_auc, auc, 1e-6);
  const auto roc = m.roc(test);
  EXPECT_NEAR(roc.auc, auc, 1e-6);
  EXPECT_FALSE(roc.false_positive_rate.empty());
}

// tmva_class_example.root: the weight only the background tree has. Signal
// without a weight expression (or with "1") weighs 1; background rows carry
// TreeB's weights.
TEST(RootDataPublic, TmvaClassWeightOnlyInTheBackgroundTree) {
  for (const std::string signal_weight : {"", "1"}) {
    SCOPED_TRACE("signal weight '" + signal_weight + "'");
    DataLoader loader;
    loader.features(kVars)
        .add_signal(tmva_class(), "TreeS", "", signal_weight)
        .add_background(tmva_class(), "TreeB", "", "weight");
    const auto d = loader.build();
    ASSERT_EQ(d.size(), 12000);
    ASSERT_TRUE(d.has_weights());
    EXPECT_TRUE(torch::equal(weights(d).slice(0, 0, 6000), torch::ones({6000})));
    const auto w = column(tmva_class(), "TreeB", "weight");
    EXPECT_TRUE(torch::equal(weights(d).slice(0, 6000), w));
    EXPECT_GT(w.max().item<float>(), w.min().item<float>());  // not all 1
  }
}

// Columns named var1..var4 are read as written: ROOT 6.40's jitted
// expressions rename columns var0, var1, ... in turn, so an expression
// "{var1, var2, var3}" reads var1 twice; the readers copy each column alone.
TEST(RootDataPublic, TmvaColumnsNamedVarNReadAsWritten) {
  DataLoader loader;
  loader.features({"var4", "var3", "var2", "var1"})
      .add_signal(tmva_class(), "TreeS")
      .add_background(tmva_class(), "TreeB", "", "weight");
  const auto d = loader.build();
  const std::vector<std::string> reversed = {"var4", "var3", "var2", "var1"};
  EXPECT_TRUE(torch::equal(features(d), torch::cat({columns(tmva_class(), "TreeS", reversed),
                                                    columns(tmva_class(), "TreeB", reversed)})));
  const auto r = torchclad::regression_dataset_from_columns(ROOT::RDataFrame("TreeB", tmva_class()),
                                                            {"var1", "var2"}, {"var3"}, "weight");
  EXPECT_TRUE(torch::equal(features(r), columns(tmva_class(), "TreeB", {"var1", "var2"})));
  EXPECT_TRUE(torch::equal(r.impl()->targets.squeeze(1), column(tmva_class(), "TreeB", "var3")));

  // Cuts and weight expressions of such columns select and weigh as written
  // (ROOT alone kept 2776 of TreeS's entries for this cut instead of 2214).
  DataLoader cut;
  cut.features({"var1"})
      .add_signal(tmva_class(), "TreeS", "var1 > 0 && var2 > 0 && var3 > 0", "var1 * var2 + var3")
      .add_background(tmva_class(), "TreeB", "var3>0&&var1<0", "weight * var2");
  const auto c = cut.build();
  const auto s = columns(tmva_class(), "TreeS", kVars), b = columns(tmva_class(), "TreeB", kVars);
  const auto s_pass = (s.select(1, 0) > 0).logical_and(s.select(1, 1) > 0).logical_and(s.select(1, 2) > 0);
  const auto b_pass = (b.select(1, 2) > 0).logical_and(b.select(1, 0) < 0);
  const int64_t ns = s_pass.sum().item<int64_t>(), nb = b_pass.sum().item<int64_t>();
  EXPECT_EQ(ns, 2214);
  ASSERT_EQ(c.size(), ns + nb);
  const auto sp = s.index({s_pass}), bp = b.index({b_pass});
  const auto bw = column(tmva_class(), "TreeB", "weight").index({b_pass});
  EXPECT_TRUE(torch::equal(features(c).select(1, 0), torch::cat({sp.select(1, 0), bp.select(1, 0)})));
  const auto expected_w =
      torch::cat({(sp.select(1, 0).to(torch::kDouble) * sp.select(1, 1) + sp.select(1, 2)),
                  bw.to(torch::kDouble) * bp.select(1, 1)});
  EXPECT_TRUE(torch::allclose(weights(c).to(torch::kDouble), expected_w, 1e-5, 1e-6));
}

// weight "weight" for both: TreeS has no such column; the error names the
// source (tree and file), the name and the tree's columns.
TEST(RootDataPublic, TmvaClassWeightMissingFromTheSignalTree) {
  DataLoader loader;
  loader.features(kVars)
      .add_signal(tmva_class(), "TreeS", "", "weight")
      .add_background(tmva_class(), "TreeB", "", "weight");
  EXPECT_TRUE(throws_with([&] { loader.build(); },
                          {"DataLoader::build: signal source 0", "tmva_class_example.root' tree 'TreeS'",
                           "the weight expression 'weight'", "not a column: 'weight'",
                           "the columns are: var1, var2, var3, var4"}));
  // A typo in a longer expression: only the unknown name is listed.
  DataLoader typo;
  typo.features(kVars)
      .add_signal(tmva_class(), "TreeS")
      .add_background(tmva_class(), "TreeB", "var1 > 0", "2 * wieght");
  EXPECT_TRUE(throws_with([&] { typo.build(); }, {"background source 0", "TreeB", "not a column: 'wieght';",
                                                  "the columns are: var1, var2, var3, var4, weight"}));
}

// Four classes from four trees: DataLoader is binary; a labelled dataset per
// tree (a Define'd constant label) concatenated is the way. An MLP learns it.
TEST(RootDataPublic, TmvaMulticlassFourTreesIntoOneDataset) {
  std::vector<torchclad::Dataset> parts;
  const std::vector<std::string> trees = {"TreeS", "TreeB0", "TreeB1", "TreeB2"};
  for (int k = 0; k < 4; ++k) {
    auto df = ROOT::RDataFrame(trees[k], tmva_multiclass()).Define("label", [k] { return k; });
    parts.push_back(torchclad::dataset_from_columns(df, kVars, "label"));
  }
  const auto d = torchclad::Dataset::concat(parts);
  ASSERT_EQ(d.size(), 8000);
  EXPECT_EQ(d.classes(), 4);
  for (int k = 0; k < 4; ++k) {
    EXPECT_TRUE(
        torch::equal(labels(d).slice(0, 2000 * k, 2000 * (k + 1)), torch::full({2000}, k, torch::kInt64)));
    EXPECT_TRUE(torch::equal(features(d).slice(0, 2000 * k, 2000 * (k + 1)),
                             columns(tmva_multiclass(), trees[k], kVars)))
        << trees[k];
  }
  auto [train, test] = d.split(0.25);
  auto m = torchclad::model("mlp-4-32-4-tanh");
  m.standardize(train);
  const auto r = m.fit(train, test, quick(3));
  ASSERT_EQ(r.status, "finished") << r.message;
  const double accuracy = m.evaluate(test).accuracy;
  std::printf("[ measured ] tmva_multiclass 4 classes, 3 epochs: test accuracy %.3f\n", accuracy);
  EXPECT_GT(accuracy, 0.5);  // chance: 0.25
}

// A stream over one Higgs tree (one class): the '-' column streams by name;
// "Type" is refused as a label with the way to make it one.
TEST(RootDataPublic, StreamOverOneHiggsTree) {
  torchclad::StreamOptions o;
  o.chunk_entries = 3000;
  o.shuffle_buffer = 2000;
  torchclad::StreamDataset s({higgs()}, "sig_tree", {"m_jj", "jet1_b-tag"}, "", "", o);
  ASSERT_EQ(s.size(), 10000);
  EXPECT_EQ(s.features(), 2);
  s.begin_epoch(1);
  std::vector<float> x, y;
  double sum = 0;
  long long n = 0, k;
  while ((k = s.next_batch(512, x, y)) > 0) {
    for (long long i = 0; i < k; ++i) sum += x[2 * i + 1];
    n += k;
  }
  EXPECT_EQ(n, 10000);
  EXPECT_NEAR(sum, column(higgs(), "sig_tree", "jet1_b-tag").to(torch::kDouble).sum().item<double>(), 1e-2);
  EXPECT_TRUE(throws_with([&] { torchclad::StreamDataset({higgs()}, "sig_tree", {"m_jj"}, "Type"); },
                          {"StreamDataset: label column 'Type' has type Float_t", "int(Type)", "Snapshot"}));
}

// Signal and background live in two trees of different names: a stream
// chains one tree name, and friends add columns, not entries. The way: a
// TChain of both trees ("file/tree"), an integer label Defined from Type,
// Snapshot to one tree, streamed. Half the entries stream for training,
// the other half is the in-memory test set.
TEST(RootDataPublic, StreamSignalAndBackgroundThroughASnapshot) {
  TChain chain("higgs");
  chain.Add((higgs() + "/sig_tree").c_str());
  chain.Add((higgs() + "/bkg_tree").c_str());
  ROOT::RDataFrame df(chain);
  auto labelled = df.Define("label", "int(Type)");
  std::vector<std::string> columns = kMasses;
  columns.push_back("label");
  const std::string file = tmp("higgs_train.root");
  labelled.Filter("rdfentry_ % 2 == 0").Snapshot("events", file, columns);
  const auto test = torchclad::dataset_from_columns(labelled.Filter("rdfentry_ % 2 == 1"), kMasses, "label");
  ASSERT_EQ(test.size(), 10000);

  torchclad::StreamOptions o;
  o.chunk_entries = 2500;
  o.shuffle_buffer = 5000;
  torchclad::StreamDataset train({file}, "events", kMasses, "label", "", o);
  ASSERT_EQ(train.size(), 10000);
  auto m = torchclad::model("mlp-7-32-2-tanh");
  m.standardize(torchclad::dataset_from_columns(ROOT::RDataFrame("events", file), kMasses, "label"));
  const auto r = m.fit(train, test, quick(2));
  ASSERT_EQ(r.status, "finished") << r.message;
  const double auc = two_class_auc(m, test);
  std::printf("[ measured ] Higgs m_* features streamed, 2 epochs: test AUC %.3f\n", auc);
  EXPECT_GT(auc, 0.65);
}

// A weighted stream over TreeB: its weights as written; TreeS has no weight
// column, and the error names the tree and the file.
TEST(RootDataPublic, WeightedStreamOverTheBackgroundTree) {
  torchclad::StreamOptions o;
  o.chunk_entries = 1000;
  o.shuffle_buffer = 1500;
  torchclad::StreamDataset s({tmva_class()}, "TreeB", kVars, "", "weight", o);
  ASSERT_EQ(s.size(), 6000);
  ASSERT_TRUE(s.has_weights());
  s.begin_epoch(1);
  std::vector<float> x, y, w;
  std::vector<long long> entries;
  const auto expected = column(tmva_class(), "TreeB", "weight");
  long long n = 0, k;
  while ((k = s.next_batch(256, x, y, &w, &entries)) > 0) {
    for (long long i = 0; i < k; ++i) ASSERT_EQ(w[i], expected[entries[i]].item<float>()) << entries[i];
    n += k;
  }
  EXPECT_EQ(n, 6000);
  EXPECT_TRUE(
      throws_with([&] { torchclad::StreamDataset({tmva_class()}, "TreeS", kVars, "", "weight"); },
                  {"StreamDataset: no weight column 'weight'; the columns are: var1, var2, var3, var4",
                   "(tree 'TreeS' in '", "tmva_class_example.root')"}));
}
