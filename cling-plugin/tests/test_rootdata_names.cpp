// Feature names of the datasets (Dataset::feature_names, from every reader
// that has them; concat refuses datasets of other names) and errors in the
// user's terms: the function the user called, no helper column names, the
// sample a ROC label belongs to; DataLoader's "file.root/tree" paths; the
// range syntax that only the column readers take. On ROOT files written here.
#include <ROOT/RDataFrame.hxx>
#include <TFile.h>
#include <TTree.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "rootdata_ntuple.hpp"
#include "rootdata_util.hpp"
#include "src/dataset_impl.hpp"
#include "torchclad/model.h"
#include "torchclad/rdataframe.h"

using namespace torchclad::rootdata_testing;
using torchclad::DataLoader;
using torchclad::Dataset;
using Names = std::vector<std::string>;

namespace {

// "events": x, y (Float_t), label (Int_t, 0/1), 20000 entries in many zlib
// baskets; the copy "corrupt.root" has the compression headers of the
// baskets in its middle spoiled (the file still opens; baskets fail to inflate).
const std::string& corrupt_file() {
  static const std::string file = [] {
    const std::string good = tmp("names_big.root");
    {
      TDirectory::TContext keep;
      TFile f(good.c_str(), "RECREATE", "", 101);  // zlib: "ZL" basket headers
      auto* t = new TTree("events", "events");
      Float_t x, y;
      Int_t label;
      t->Branch("x", &x, "x/F");
      t->Branch("y", &y, "y/F");
      t->Branch("label", &label, "label/I");
      t->SetAutoFlush(500);
      for (int e = 0; e < 20000; ++e) {
        x = static_cast<float>(e % 97) * 0.37f;
        y = static_cast<float>((e * 7919) % 1013);
        label = e % 2;
        t->Fill();
      }
      f.Write();
      f.Close();
    }
    std::ifstream in(good, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    int spoiled = 0;
    for (size_t i = bytes.size() / 4; i + 3 < bytes.size() / 2; ++i)
      if (bytes[i] == 'Z' && bytes[i + 1] == 'L' && bytes[i + 2] == 8)
        bytes[i] = bytes[i + 1] = 'Q', ++spoiled;
    EXPECT_GT(spoiled, 3);
    const std::string bad = tmp("corrupt.root");
    std::ofstream(bad, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return bad;
  }();
  return file;
}

::testing::AssertionResult lacks_helper_names(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    const std::string msg = e.what();
    if (msg.find("__torchclad") != std::string::npos)
      return ::testing::AssertionFailure() << "message names a helper column: " << msg;
    return ::testing::AssertionSuccess() << msg;
  }
  return ::testing::AssertionFailure() << "no exception";
}

}  // namespace

TEST(RootDataNames, EveryReaderNamesItsFeatures) {
  const auto& f = ntuple_file();
  ROOT::RDataFrame df("signal", f);
  const auto d = torchclad::dataset_from_columns(df, {"i", "fa[:2]", "d", "va[1]"}, "cls");
  EXPECT_EQ(d.feature_names(), (Names{"i", "fa[0]", "fa[1]", "d", "va[1]"}));
  // A whole array: one name per value.
  EXPECT_EQ(torchclad::dataset_from_columns(df, {"fa", "f"}, "cls").feature_names(),
            (Names{"fa[0]", "fa[1]", "fa[2]", "f"}));
  EXPECT_EQ(torchclad::regression_dataset_from_columns(df, {"f", "vi"}, {"d"}).feature_names(),
            (Names{"f", "vi[0]", "vi[1]"}));
  DataLoader loader;
  loader.features({"d", "fa[2]"}).add_signal(f, "signal").add_background(f, "background");
  EXPECT_EQ(loader.build().feature_names(), (Names{"d", "fa[2]"}));
  // An image reader: the array column's values.
  EXPECT_EQ(torchclad::dataset_from_rdataframe(df, "fa", "cls").feature_names(),
            (Names{"fa[0]", "fa[1]", "fa[2]"}));
  // Split keeps them; concat of the same names keeps them.
  const auto [train, test] = d.split(0.3);
  EXPECT_EQ(train.feature_names(), d.feature_names());
  EXPECT_EQ(test.feature_names(), d.feature_names());
  EXPECT_EQ(Dataset::concat({train, test}).feature_names(), d.feature_names());
  // Datasets made from vectors have none (unknown); concat with them keeps the known ones.
  const auto plain = torchclad::classification_dataset(std::vector<float>(10, 1.f), 5, {0, 1});
  EXPECT_TRUE(plain.feature_names().empty());
  EXPECT_EQ(Dataset::concat({plain, train}).feature_names(), d.feature_names());
}

TEST(RootDataNames, ConcatRefusesOtherFeatureNames) {
  ROOT::RDataFrame df("signal", ntuple_file());
  const auto jets = torchclad::dataset_from_columns(df, {"fa[:2]"}, "cls");
  const auto tracks = torchclad::dataset_from_columns(df, {"vi[:2]"}, "cls");
  EXPECT_TRUE(
      throws_with([&] { Dataset::concat({jets, tracks}); },
                  {"Dataset::concat: dataset 1 has the features (vi[:2]), but dataset 0 has the features "
                   "(fa[:2]); feature 0 is 'vi[0]' where 'fa[0]' is expected"}));
  const auto ab = torchclad::dataset_from_columns(df, {"f", "d"}, "cls");
  const auto ba = torchclad::dataset_from_columns(df, {"d", "f"}, "cls");
  EXPECT_TRUE(throws_with([&] { Dataset::concat({ab, ab, ba}); },
                          {"dataset 2 has the features (d, f), but dataset 0 has the features (f, d)",
                           "(the same features in another order)"}));
}

// Mlp checks the names itself: its autograd engine does not go through
// Model::fit, and its standardize fits on columns before fit sees them.
TEST(RootDataNames, MlpRefusesColumnsInAnotherOrder) {
  ROOT::RDataFrame df("signal", ntuple_file());
  const auto ab = torchclad::dataset_from_columns(df, {"f", "d"}, "cls");
  const auto ba = torchclad::dataset_from_columns(df, {"d", "f"}, "cls");
  torchclad::TrainOptions o;
  o.epochs = 1;
  o.progress = false;
  torchclad::Mlp standardized({2, 4, 3});  // cls: 3 classes
  standardized.standardize(ab);
  EXPECT_TRUE(
      throws_with([&] { standardized.fit(ba, ba, o); },
                  {"Mlp::fit: the training set has the features (d, f), but standardize was fitted on "
                   "the features (f, d)"}));
  o.engine = "autograd";
  torchclad::Mlp autograd({2, 4, 3});
  EXPECT_TRUE(throws_with([&] { autograd.fit(ab, ba, o); },
                          {"Mlp::fit: the test set has the features (d, f), but the model trains on the "
                           "features (f, d)"}));
  autograd.fit(ab, ab, o);  // the same order trains
}

TEST(RootDataNames, DataLoaderTakesFileSlashTree) {
  const auto& f = ntuple_file();
  DataLoader by_argument, by_path, same_twice;
  by_argument.features({"i", "d"}).add_signal(f, "signal").add_background(f, "background");
  by_path.features({"i", "d"}).add_signal(f + "/signal", "").add_background(f + "/background", "");
  same_twice.features({"i", "d"}).add_signal(f + "/signal", "signal").add_background(f, "background");
  const auto a = by_argument.build(), b = by_path.build(), c = same_twice.build();
  EXPECT_TRUE(torch::equal(a.impl()->split.images, b.impl()->split.images));
  EXPECT_TRUE(torch::equal(a.impl()->split.labels, b.impl()->split.labels));
  EXPECT_TRUE(torch::equal(a.impl()->split.images, c.impl()->split.images));
  DataLoader two_trees, no_tree;
  two_trees.features({"i"}).add_signal(f + "/signal", "background").add_background(f, "background");
  EXPECT_TRUE(
      throws_with([&] { two_trees.build(); },
                  {"names tree 'signal', but the tree argument is 'background'", "give the tree once"}));
  no_tree.features({"i"}).add_signal(f, "signal").add_background(f, "");
  EXPECT_TRUE(throws_with([&] { no_tree.build(); },
                          {"background source 0", "no tree name given",
                           "the tree is the second argument, add_background(\"file.root\", \"tree\""}));
}

TEST(RootDataNames, ErrorsNameTheUsersFunctionAndColumns) {
  ROOT::RDataFrame df("signal", ntuple_file());
  EXPECT_TRUE(throws_with([&] { torchclad::dataset_from_rdataframe(df, "fa_typo", "cls"); },
                          {"dataset_from_rdataframe: no column 'fa_typo'; the columns are:"}));
  // Ranges are for the column readers; this one takes whole arrays.
  EXPECT_TRUE(
      throws_with([&] { torchclad::dataset_from_rdataframe(df, "fa[:2]", "cls"); },
                  {"dataset_from_rdataframe: no column 'fa[:2]'; this reader takes whole array columns "
                   "('fa'): ranges such as 'fa[:2]' are for dataset_from_columns"}));
  EXPECT_TRUE(throws_with([&] { torchclad::binary_dataset_from_rdataframe(df, "fa_typo", "cls", ""); },
                          {"binary_dataset_from_rdataframe: no column 'fa_typo'"}));
  // A corrupt file: the user's columns, not the helper columns the readers combine them into.
  ROOT::RDataFrame bad("events", corrupt_file());
  EXPECT_TRUE(throws_with([&] { torchclad::dataset_from_columns(bad, {"x", "y"}, "label"); },
                          {"dataset_from_columns: reading the columns 'x', 'y', label 'label' failed "
                           "(is the file corrupt?)"}));
  EXPECT_TRUE(lacks_helper_names([&] { torchclad::dataset_from_columns(bad, {"x", "y"}, "label"); }));
  DataLoader loader;
  loader.features({"x", "y"})
      .add_signal(corrupt_file(), "events", "label == 1", "x + 1")
      .add_background(corrupt_file(), "events", "label == 0");
  EXPECT_TRUE(throws_with([&] { loader.build(); }, {"reading the columns 'x', 'y' failed"}));
  EXPECT_TRUE(lacks_helper_names([&] { loader.build(); }));
}
