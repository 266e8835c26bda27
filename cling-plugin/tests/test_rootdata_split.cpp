// Dataset::concat and Dataset::split (torchclad.h) on datasets read from a
// real ROOT ntuple: rows, labels, targets and weights carried along; the
// split seeded, disjoint, complete and stratified; their errors.
#include <ROOT/RDataFrame.hxx>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <set>
#include <string>
#include <vector>

#include "rootdata_ntuple.hpp"
#include "rootdata_util.hpp"
#include "src/dataset_impl.hpp"
#include "torchclad/rdataframe.h"

using namespace torchclad::rootdata_testing;
using torchclad::Dataset;

namespace {

// Signal: 300 rows, classes 0/1/2 a hundred each; feature 0 is "i" = 3 e, a row id.
Dataset signal(const std::string& weight = "w") {
  ROOT::RDataFrame df("signal", ntuple_file());
  return torchclad::dataset_from_columns(df, {"i", "f"}, "cls", weight);
}

std::vector<float> ids(const Dataset& d) {
  const auto x = d.impl()->split.images.select(1, 0).contiguous();
  return std::vector<float>(x.data_ptr<float>(), x.data_ptr<float>() + x.numel());
}

}  // namespace

TEST(RootDataSplit, SeededStratifiedDisjointAndComplete) {
  const Dataset all = signal();
  const auto [train, test] = all.split(0.25, 7);
  EXPECT_EQ(test.size(), 75);
  EXPECT_EQ(train.size(), 225);
  // Every class in proportion: 25 of each 100 in test.
  for (int c = 0; c < 3; ++c)
    EXPECT_EQ(test.impl()->split.labels.eq(c).sum().item<int64_t>(), 25) << "class " << c;
  // Disjoint, together every row once, each row with its own label and weight.
  std::set<float> seen;
  for (const Dataset* d : {&train, &test}) {
    const auto id = ids(*d);
    const auto y = d->impl()->split.labels, w = d->impl()->weights;
    ASSERT_TRUE(d->has_weights());
    for (size_t r = 0; r < id.size(); ++r) {
      EXPECT_TRUE(seen.insert(id[r]).second) << "row id " << id[r] << " twice";
      const NtupleRow e{static_cast<long long>(id[r]) / 3};
      EXPECT_EQ(y[r].item<int64_t>(), e.cls());
      EXPECT_EQ(w[r].item<float>(), e.w());
    }
  }
  EXPECT_EQ(seen.size(), 300u);
  // The same seed gives the same split, another seed another one.
  EXPECT_EQ(ids(all.split(0.25, 7).second), ids(test));
  EXPECT_NE(ids(all.split(0.25, 8).second), ids(test));
  // Not stratified: the fraction holds overall.
  EXPECT_EQ(all.split(0.1, 7, false).second.size(), 30);
}

TEST(RootDataSplit, RegressionTargetsFollowTheirRows) {
  ROOT::RDataFrame df("signal", ntuple_file());
  const auto r = torchclad::regression_dataset_from_columns(df, {"i"}, {"d", "f"});
  const auto [train, test] = r.split(0.5);
  EXPECT_EQ(train.size() + test.size(), 300);
  EXPECT_EQ(test.targets(), 2);
  const auto id = ids(test);
  const auto t = test.impl()->targets;
  for (size_t k = 0; k < id.size(); ++k) {
    const NtupleRow e{static_cast<long long>(id[k]) / 3};
    EXPECT_EQ(t[k][0].item<float>(), static_cast<float>(e.d()));
    EXPECT_EQ(t[k][1].item<float>(), e.f());
  }
}

TEST(RootDataSplit, ConcatKeepsOrderAndFillsWeights) {
  const Dataset weighted = signal("w"), unweighted = signal("");
  const Dataset both = Dataset::concat({weighted, unweighted});
  ASSERT_EQ(both.size(), 600);
  EXPECT_TRUE(torch::equal(both.impl()->split.images.slice(0, 0, 300), weighted.impl()->split.images));
  EXPECT_TRUE(torch::equal(both.impl()->split.labels.slice(0, 300), unweighted.impl()->split.labels));
  ASSERT_TRUE(both.has_weights());
  EXPECT_TRUE(torch::equal(both.impl()->weights.slice(0, 0, 300), weighted.impl()->weights));
  EXPECT_TRUE(torch::equal(both.impl()->weights.slice(0, 300), torch::ones({300})));
  EXPECT_FALSE(Dataset::concat({unweighted, unweighted}).has_weights());
}

TEST(RootDataSplitErrors, FractionsAndMismatches) {
  const Dataset d = signal();
  for (double f : {0.0, 1.0, -0.5, 2.0})
    EXPECT_TRUE(
        throws_with([&] { d.split(f); }, {"Dataset::split: test_fraction must lie in (0, 1), found"}));
  EXPECT_TRUE(throws_with([&] { d.split(0.001); }, {"leaves the test set empty"}));
  EXPECT_TRUE(throws_with([&] { d.split(0.999); }, {"leaves the training set empty"}));
  ROOT::RDataFrame df("signal", ntuple_file());
  const auto three = torchclad::dataset_from_columns(df, {"i", "f", "d"}, "cls");
  const auto regression = torchclad::regression_dataset_from_columns(df, {"i", "f"}, {"d"});
  EXPECT_TRUE(throws_with([&] { Dataset::concat({}); }, {"Dataset::concat: no datasets given"}));
  EXPECT_TRUE(throws_with([&] { Dataset::concat({d, three}); },
                          {"dataset 1 has 3 features per row; expected 2 as dataset 0"}));
  EXPECT_TRUE(throws_with([&] { Dataset::concat({d, regression}); },
                          {"dataset 1 has 1 regression targets; expected class labels as dataset 0"}));
}
