// Datasets from lists of columns (torchclad/rdataframe.h:
// dataset_from_columns, regression_dataset_from_columns) on a real ROOT
// ntuple written here: every numeric branch type, fixed-size, variable-size
// and std::vector arrays, ranges ("name[k]", "name[:n]") with padding, weights, regression targets,
// chains and friend trees, implicit MT on and off, every error with its
// message (also a chain of files storing a branch with different types, a
// range past a fixed-size array's end, C strings, labels out of class range),
// and the graph usable after each read.
#include <ROOT/RDataFrame.hxx>
#include <TChain.h>
#include <TFile.h>
#include <TTree.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "rootdata_ntuple.hpp"
#include "rootdata_util.hpp"
#include "src/dataset_impl.hpp"
#include "torchclad/rdataframe.h"

using namespace torchclad::rootdata_testing;
using torchclad::dataset_from_columns;
using torchclad::regression_dataset_from_columns;

namespace {

const torch::Tensor& features(const torchclad::Dataset& d) { return d.impl()->split.images; }
const torch::Tensor& labels(const torchclad::Dataset& d) { return d.impl()->split.labels; }

// Column k of x against f(entry) for every row.
::testing::AssertionResult column_is(const torch::Tensor& x, int64_t k,
                                     const std::function<double(const NtupleRow&)>& f, long long offset = 0) {
  const auto col = x.select(1, k).contiguous();
  for (int64_t r = 0; r < col.size(0); ++r) {
    const float want = static_cast<float>(f(NtupleRow{r + offset}));
    if (col[r].item<float>() != want)
      return ::testing::AssertionFailure()
             << "column " << k << " row " << r << ": " << col[r].item<float>() << ", expected " << want;
  }
  return ::testing::AssertionSuccess();
}

// Count, Histo1D and Snapshot on the graph after a read, each seeing every entry.
void expect_graph_usable(ROOT::RDF::RNode df, long long entries) {
  EXPECT_EQ(*df.Count(), static_cast<ULong64_t>(entries));
  EXPECT_EQ(df.Histo1D("f")->GetEntries(), static_cast<double>(entries));
  const std::string snapshot = tmp("columns-graph-snapshot.root");
  df.Snapshot("out", snapshot, {"f"});
  TFile f(snapshot.c_str());
  auto* out = f.Get<TTree>("out");
  ASSERT_NE(out, nullptr) << snapshot;
  EXPECT_EQ(out->GetEntries(), entries);
}

}  // namespace

TEST(RootDataColumns, EveryNumericScalarType) {
  for (bool mt : {false, true}) {
    std::optional<ImplicitMT> imt;
    if (mt) imt.emplace();
    SCOPED_TRACE(mt ? "implicit MT" : "sequential");
    ROOT::RDataFrame df("signal", ntuple_file());
    const auto d = dataset_from_columns(
        df, {"b_o", "c", "uc", "s", "us", "i", "ui", "g", "l", "ul", "f", "d", "f16", "d32"}, "cls");
    ASSERT_EQ(d.size(), kSignalEntries);
    ASSERT_EQ(d.features(), 14);
    EXPECT_EQ(d.targets(), 0);
    EXPECT_FALSE(d.has_weights());
    EXPECT_EQ(d.classes(), 3);
    const auto& x = features(d);
    EXPECT_TRUE(column_is(x, 0, [](auto& r) { return r.b_o(); }));
    EXPECT_TRUE(column_is(x, 1, [](auto& r) { return r.c(); }));
    EXPECT_TRUE(column_is(x, 2, [](auto& r) { return r.uc(); }));  // as they are: not scaled by 1/255
    EXPECT_TRUE(column_is(x, 3, [](auto& r) { return r.s(); }));
    EXPECT_TRUE(column_is(x, 4, [](auto& r) { return r.us(); }));
    EXPECT_TRUE(column_is(x, 5, [](auto& r) { return r.i(); }));
    EXPECT_TRUE(column_is(x, 6, [](auto& r) { return r.ui(); }));
    EXPECT_TRUE(column_is(x, 7, [](auto& r) { return r.g(); }));
    EXPECT_TRUE(column_is(x, 8, [](auto& r) { return r.l(); }));
    EXPECT_TRUE(column_is(x, 9, [](auto& r) { return r.ul(); }));
    EXPECT_TRUE(column_is(x, 10, [](auto& r) { return r.f(); }));
    EXPECT_TRUE(column_is(x, 11, [](auto& r) { return r.d(); }));
    EXPECT_TRUE(column_is(x, 12, [](auto& r) { return r.f16(); }));
    EXPECT_TRUE(column_is(x, 13, [](auto& r) { return r.d32(); }));
    EXPECT_TRUE(torch::equal(labels(d), torch::arange(kSignalEntries, torch::kInt64) % 3));
    // Labels from a Bool_t column, and from a filtered node.
    const auto b = dataset_from_columns(df.Filter("i % 2 == 0"), {"f"}, "b_o");
    EXPECT_EQ(b.size(), kSignalEntries / 2);
    EXPECT_TRUE(torch::equal(labels(b), torch::zeros({kSignalEntries / 2}, torch::kInt64)));
    expect_graph_usable(df, kSignalEntries);
  }
}

TEST(RootDataColumns, ArraysSideBySideWithScalars) {
  for (bool mt : {false, true}) {
    std::optional<ImplicitMT> imt;
    if (mt) imt.emplace();
    SCOPED_TRACE(mt ? "implicit MT" : "sequential");
    ROOT::RDataFrame df("background", ntuple_file());
    // Fixed-size array, std::vector of a fixed length, ragged array padded to 3, a scalar.
    const auto d = dataset_from_columns(df, {"fa", "vi", "va[:3]", "f"}, "cls");
    ASSERT_EQ(d.features(), 3 + 2 + 3 + 1);
    const auto& x = features(d);
    const long long o = 10000;
    for (int k = 0; k < 3; ++k) EXPECT_TRUE(column_is(x, k, [k](auto& r) { return r.fa(k); }, o));
    for (int k = 0; k < 2; ++k) EXPECT_TRUE(column_is(x, 3 + k, [k](auto& r) { return r.vi(k); }, o));
    for (int k = 0; k < 3; ++k)
      EXPECT_TRUE(column_is(x, 5 + k, [k](auto& r) { return k < r.na() ? r.va(k) : 0.0; }, o));
    EXPECT_TRUE(column_is(x, 8, [](auto& r) { return r.f(); }, o));
    // Ranges as ROOT indexes: "va[1]" is value 1 (0 where an entry has
    // fewer), "va[:1]" the first value, "va[1:3]" values 1 and 2.
    const auto one = dataset_from_columns(df, {"va[:1]", "va[1]", "fa[2]", "va[1:3]"}, "cls");
    ASSERT_EQ(one.features(), 5);
    EXPECT_TRUE(column_is(features(one), 0, [](auto& r) { return r.na() > 0 ? r.va(0) : 0.0; }, o));
    EXPECT_TRUE(column_is(features(one), 1, [](auto& r) { return r.na() > 1 ? r.va(1) : 0.0; }, o));
    EXPECT_TRUE(column_is(features(one), 2, [](auto& r) { return r.fa(2); }, o));
    EXPECT_TRUE(column_is(features(one), 4, [](auto& r) { return r.na() > 2 ? r.va(2) : 0.0; }, o));
    expect_graph_usable(df, kBackgroundEntries);
  }
}

TEST(RootDataColumns, WeightsAndRegressionTargets) {
  for (bool mt : {false, true}) {
    std::optional<ImplicitMT> imt;
    if (mt) imt.emplace();
    SCOPED_TRACE(mt ? "implicit MT" : "sequential");
    ROOT::RDataFrame df("signal", ntuple_file());
    const auto w = dataset_from_columns(df, {"f", "d"}, "cls", "w");
    ASSERT_TRUE(w.has_weights());
    const auto& weights = w.impl()->weights;
    ASSERT_EQ(weights.sizes(), (std::vector<int64_t>{kSignalEntries}));
    EXPECT_TRUE(column_is(weights.unsqueeze(1), 0, [](auto& r) { return r.w(); }));
    // An integer column works as a weight too.
    EXPECT_TRUE(torch::equal(dataset_from_columns(df, {"f"}, "cls", "i").impl()->weights,
                             3 * torch::arange(kSignalEntries, torch::kFloat32)));

    const auto r = regression_dataset_from_columns(df, {"f", "i"}, {"d", "fa"}, "w");
    EXPECT_EQ(r.features(), 2);
    ASSERT_EQ(r.targets(), 4);
    EXPECT_EQ(r.classes(), 0);
    EXPECT_TRUE(r.has_weights());
    const auto& t = r.impl()->targets;
    EXPECT_TRUE(column_is(t, 0, [](auto& e) { return e.d(); }));
    for (int k = 0; k < 3; ++k) EXPECT_TRUE(column_is(t, 1 + k, [k](auto& e) { return e.fa(k); }));
    EXPECT_TRUE(torch::equal(labels(r), torch::zeros({kSignalEntries}, torch::kInt64)));
    const auto one = regression_dataset_from_columns(df, {"f"}, {"d"});
    EXPECT_EQ(one.targets(), 1);
    EXPECT_FALSE(one.has_weights());
    expect_graph_usable(df, kSignalEntries);
  }
}

TEST(RootDataColumns, ChainsAndFriendTrees) {
  // Two files of one tree "t" (a chain), and a friend tree beside each.
  std::vector<std::string> files;
  for (int k = 0; k < 2; ++k) {
    files.push_back(tmp("columns-chain-" + std::to_string(k) + ".root"));
    write_root(files.back(), [k](TFile&) {
      auto* t = new TTree("t", "part of a chain");
      auto* aux = new TTree("aux", "friend");
      t->SetAutoFlush(200);
      aux->SetAutoFlush(300);
      Double_t x;
      Int_t label;
      Float_t y;
      t->Branch("x", &x, "x/D");
      t->Branch("label", &label, "label/I");
      aux->Branch("y", &y, "y/F");
      for (int e = 0; e < 1000; ++e) {
        x = k * 1000 + e, label = e % 2, y = -x;
        t->Fill();
        aux->Fill();
      }
    });
  }
  for (bool mt : {false, true}) {
    std::optional<ImplicitMT> imt;
    if (mt) imt.emplace();
    SCOPED_TRACE(mt ? "implicit MT" : "sequential");
    TChain chain("t"), friends("aux");
    for (const auto& f : files) chain.Add(f.c_str()), friends.Add(f.c_str());
    chain.AddFriend(&friends, "fr");
    ROOT::RDataFrame df(chain);
    const auto d = dataset_from_columns(df, {"x", "fr.y"}, "label");
    ASSERT_EQ(d.size(), 2000);
    EXPECT_TRUE(torch::equal(features(d).select(1, 0), torch::arange(2000, torch::kFloat32)));
    EXPECT_TRUE(torch::equal(features(d).select(1, 1), -torch::arange(2000, torch::kFloat32)));
    EXPECT_TRUE(torch::equal(labels(d), torch::arange(2000, torch::kInt64) % 2));
    // The friend's column by its short name as well.
    EXPECT_TRUE(torch::equal(features(dataset_from_columns(df, {"y"}, "label")).select(1, 0),
                             -torch::arange(2000, torch::kFloat32)));
    EXPECT_EQ(*df.Count(), 2000u);
  }
}

TEST(RootDataColumnsErrors, ColumnsAndTypes) {
  ROOT::RDataFrame df("signal", ntuple_file());
  const auto columns = [&](std::vector<std::string> f, std::string label, std::string weight = "") {
    return [=, &df] { dataset_from_columns(df, f, label, weight); };
  };
  EXPECT_TRUE(throws_with(columns({"m_jj"}, "cls"), {"dataset_from_columns: no feature column 'm_jj'; the "
                                                     "columns are: b_o, c, cls, d, d32, f, f16, fa, g, i, l, "
                                                     "na, name, nanv, s, uc, ui, ul, us, va, vi, vr, w"}));
  EXPECT_TRUE(throws_with(columns({"f"}, "isSignal"), {"no label column 'isSignal'; the columns are:"}));
  EXPECT_TRUE(throws_with(columns({"f"}, "cls", "weight_mc"), {"no weight column 'weight_mc'"}));
  EXPECT_TRUE(throws_with(columns({}, "cls"), {"no feature columns given"}));
  EXPECT_TRUE(throws_with(columns({"f", "d", "f"}, "cls"), {"'f' is listed twice"}));
  EXPECT_TRUE(throws_with(columns({"name"}, "cls"),
                          {"feature column 'name' has type", "string",
                           "expected one number per entry (Bool_t", "or an array of numbers"}));
  EXPECT_TRUE(throws_with(columns({"f[2]"}, "cls"),
                          {"feature 'f[2]': column 'f' holds one Float_t per entry, not an array"}));
  for (const char* bad : {"fa[:0]", "fa[2:1]", "fa[x]", "fa[-1]", "fa[]", "fa[1:]"})
    EXPECT_TRUE(throws_with(columns({bad}, "cls"), {std::string("'") + bad + "'", "'name[k]' for value k",
                                                    "'name[:n]' for its first n values"}))
        << bad;
  EXPECT_TRUE(
      throws_with(columns({"f"}, "f"), {"label column 'f' has type Float_t; expected one integer per entry",
                                        "use regression_dataset_from_columns"}));
  EXPECT_TRUE(throws_with(columns({"f"}, "name"), {"label column 'name' has type", "string"}));
  EXPECT_TRUE(throws_with(columns({"f"}, "cls", "fa"),
                          {"weight column 'fa' has type", "RVec", "expected one number per entry"}));
  EXPECT_TRUE(throws_with(columns({"f"}, ""), {"no label column given"}));
  EXPECT_TRUE(throws_with([&] { regression_dataset_from_columns(df, {"f"}, {}); },
                          {"regression_dataset_from_columns: no target columns given"}));
  EXPECT_TRUE(throws_with([&] { regression_dataset_from_columns(df, {"f"}, {"name"}); },
                          {"regression_dataset_from_columns: target column 'name' has type"}));
  expect_graph_usable(df, kSignalEntries);
}

TEST(RootDataColumnsErrors, RaggedArraysNameTheColumn) {
  for (bool mt : {false, true}) {
    std::optional<ImplicitMT> imt;
    if (mt) imt.emplace();
    SCOPED_TRACE(mt ? "implicit MT" : "sequential");
    ROOT::RDataFrame df("signal", ntuple_file());
    EXPECT_TRUE(
        throws_with([&] { dataset_from_columns(df, {"f", "va"}, "cls"); },
                    {"feature column 'va'", "holds arrays of different lengths, from 0 to 3 values per entry",
                     "write 'va[:n]' to take the first n values, padded with 0"}));
    EXPECT_TRUE(throws_with([&] { dataset_from_columns(df, {"vi", "vr"}, "cls"); },
                            {"feature column 'vr'", "different lengths, from 0 to 2"}));
    EXPECT_TRUE(throws_with([&] { regression_dataset_from_columns(df, {"f"}, {"va"}); },
                            {"target column 'va'", "different lengths"}));
    // Two ragged arrays whose lengths add up to the same total in every entry.
    auto both = df.Define("up", [](Int_t n) { return ROOT::RVecF(n); }, {"na"})
                    .Define("down", [](Int_t n) { return ROOT::RVecF(3 - n); }, {"na"});
    EXPECT_TRUE(throws_with([&] { dataset_from_columns(both, {"up", "down"}, "cls"); },
                            {"feature column 'up'", "different lengths: 0 values at row 0, 1 at row 1"}));
    expect_graph_usable(df, kSignalEntries);
  }
}

TEST(RootDataColumnsErrors, BadValues) {
  ROOT::RDataFrame df("signal", ntuple_file());
  EXPECT_TRUE(throws_with([&] { dataset_from_columns(df, {"f", "nanv"}, "cls"); },
                          {"feature 'nanv' is NaN at row 17"}));
  EXPECT_TRUE(throws_with([&] { dataset_from_columns(df, {"f"}, "cls", "nanv"); },
                          {"weight 'nanv' is NaN at row 17"}));
  EXPECT_TRUE(throws_with([&] { regression_dataset_from_columns(df, {"f"}, {"d", "nanv"}); },
                          {"target 'nanv' is NaN at row 17"}));
  // A double too large for float32.
  auto big = df.Define("huge", [](Int_t i) { return i == 9 ? 1e300 : 1.0; }, {"i"});
  EXPECT_TRUE(throws_with([&] { dataset_from_columns(big, {"huge"}, "cls"); },
                          {"feature 'huge' is +inf at row 3", "too large for float32"}));
  auto negative = df.Define("shifted", [](Int_t c) { return c - 1; }, {"cls"});
  EXPECT_TRUE(throws_with([&] { dataset_from_columns(negative, {"f"}, "shifted"); },
                          {"negative label -1 in column 'shifted'"}));
  EXPECT_TRUE(throws_with([&] { dataset_from_columns(df.Filter("f < 0"), {"f"}, "cls"); },
                          {"dataset_from_columns: no entries selected"}));
  auto empty = df.Define("nothing", [] { return ROOT::RVecF(); });
  EXPECT_TRUE(throws_with([&] { dataset_from_columns(empty, {"nothing"}, "cls"); },
                          {"the feature columns hold no values"}));
  expect_graph_usable(df, kSignalEntries);
}

// What the column types alone do not tell (data/branch_check.hpp): the
// branches' types file by file, fixed-size arrays' ends, C strings; and
// labels that are no class index.
TEST(RootDataColumnsErrors, BranchesTheColumnTypesDoNotTell) {
  const std::string f4 = write_branch_kinds<Float_t>("kinds_a.root", 4);
  const std::string d4 = write_branch_kinds<Double_t>("kinds_b.root", 4);
  const std::string f3 = write_branch_kinds<Float_t>("sizes_c.root", 3);
  // A chain whose files store jet_pt as float in one, double in the other: refused, naming both.
  const std::vector<std::string> mixed_parts = {
      "feature column 'jet_pt' has type Float_t[4] in '" + f4 + "' but Double_t[4] in '" + d4 + "'",
      "(tree 'events')", "write those files again"};
  auto mixed_message = [&](const std::string& where) {
    auto p = mixed_parts;
    p.insert(p.begin(), where + ": ");
    return p;
  };
  ROOT::RDataFrame mixed("events", tmp("kinds_?.root"));
  EXPECT_TRUE(throws_with([&] { dataset_from_columns(mixed, {"jet_pt[:4]"}, "label"); },
                          mixed_message("dataset_from_columns")));
  EXPECT_TRUE(throws_with(
      [&] {
        torchclad::DataLoader()
            .features({"jet_pt[0]"})
            .add_signal(tmp("kinds_*.root"), "events", "label == 1")
            .add_background(tmp("kinds_*.root"), "events", "label == 0")
            .build();
      },
      mixed_parts));
  // Columns of one type in every file read well from that chain; each file alone too.
  EXPECT_EQ(dataset_from_columns(mixed, {"trk[:2]"}, "label").size(), 40);
  EXPECT_EQ(dataset_from_columns(ROOT::RDataFrame("events", d4), {"jet_pt[:4]"}, "label").size(), 20);

  ROOT::RDataFrame one("events", f4);
  // An index or range past the end of a fixed-size array.
  EXPECT_TRUE(throws_with([&] { dataset_from_columns(one, {"jet_pt[4]"}, "label"); },
                          {"dataset_from_columns: feature 'jet_pt[4]': column 'jet_pt' is a fixed-size array "
                           "of 4 values (Float_t[4]), so 'jet_pt[4]' is past its end: its values are "
                           "jet_pt[0] to jet_pt[3]"}));
  EXPECT_TRUE(throws_with([&] { dataset_from_columns(one, {"jet_pt[9]"}, "label"); }, {"is past its end"}));
  EXPECT_TRUE(throws_with([&] { regression_dataset_from_columns(one, {"label"}, {"jet_pt[2:5]"}); },
                          {"target 'jet_pt[2:5]'", "reaches past its end"}));
  // Up to the end is fine; a variable-size array pads with 0.
  const auto ends = dataset_from_columns(one, {"jet_pt[:4]", "jet_pt[3]", "trk[7]"}, "label");
  EXPECT_EQ(features(ends)[0][4].item<float>(), 70.0f);
  EXPECT_EQ(features(ends).select(1, 5).abs().sum().item<float>(), 0.0f);
  // Fixed sizes that differ between files (same type) read padded, up to the
  // largest (rows grouped by file in name order: kinds_a, then sizes_c).
  ROOT::RDataFrame sizes("events", std::vector<std::string>{f4, f3});
  const auto padded = dataset_from_columns(sizes, {"jet_pt[3]"}, "label");
  ASSERT_EQ(padded.size(), 40);
  EXPECT_EQ(features(padded)[0][0].item<float>(), 70.0f);
  EXPECT_EQ(features(padded)[20][0].item<float>(), 0.0f);
  EXPECT_TRUE(throws_with([&] { dataset_from_columns(sizes, {"jet_pt[4]"}, "label"); },
                          {"fixed-size array of 4 values"}));

  // A C string is text, not 8 numbers.
  EXPECT_TRUE(throws_with([&] { dataset_from_columns(one, {"label", "c_str"}, "label"); },
                          {"dataset_from_columns: feature column 'c_str' is a C-string branch (leaf type /C",
                           "expected one number per entry"}));
  EXPECT_TRUE(throws_with([&] { dataset_from_columns(one.Filter("label == 1"), {"c_str[:2]"}, "label"); },
                          {"'c_str' is a C-string branch"}));

  // 64-bit labels that are no class index: refused, not wrapped into a negative class count.
  EXPECT_TRUE(throws_with([&] { dataset_from_columns(one.Range(3), {"label"}, "l_big"); },
                          {"dataset_from_columns: label 1000000000000 in column 'l_big' at ",
                           "is not a class index: labels must be class indices from 0 to 16777215"}));
  EXPECT_TRUE(throws_with([&] { dataset_from_columns(one, {"label"}, "ul_big"); },
                          {"label 9223372036854775807 in column 'ul_big'", "is not a class index"}));
}
