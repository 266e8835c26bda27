// DataLoader (torchclad/rdataframe.h): a signal and a background tree, cuts
// and weight expressions, glob patterns (chains), RDataFrame nodes, into one
// labelled dataset; implicit MT on and off; its errors.
#include <ROOT/RDataFrame.hxx>
#include <TFile.h>
#include <TTree.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "rootdata_ntuple.hpp"
#include "rootdata_util.hpp"
#include "src/dataset_impl.hpp"
#include "torchclad/rdataframe.h"

using namespace torchclad::rootdata_testing;
using torchclad::DataLoader;

namespace {

const torch::Tensor& features(const torchclad::Dataset& d) { return d.impl()->split.images; }
const torch::Tensor& labels(const torchclad::Dataset& d) { return d.impl()->split.labels; }

// The entries e (0-based in each tree) with f = e / 4 passing "i % 2 == 0 && f < 60".
std::vector<float> passing(int n, long long offset) {
  std::vector<float> out;
  for (int k = 0; k < n; ++k) {
    const NtupleRow r{k + offset};
    if (r.i() % 2 == 0 && r.f() < 60 + 0.25f * offset) out.push_back(static_cast<float>(r.i()));
  }
  return out;
}

}  // namespace

TEST(RootDataLoader, SignalAndBackgroundWithCutsAndWeights) {
  for (bool mt : {false, true}) {
    std::optional<ImplicitMT> imt;
    if (mt) imt.emplace();
    SCOPED_TRACE(mt ? "implicit MT" : "sequential");
    const auto& f = ntuple_file();
    DataLoader loader;
    loader.features({"i", "d", "fa[:2]"})
        .add_signal(f, "signal", "i % 2 == 0 && f < 60", "w * 2")
        .add_background(f, "background", "i % 2 == 0 && f < 2560");  // no weight: 1
    const auto d = loader.build();
    const auto sig = passing(kSignalEntries, 0), bkg = passing(kBackgroundEntries, 10000);
    const int64_t ns = static_cast<int64_t>(sig.size()), nb = static_cast<int64_t>(bkg.size());
    ASSERT_GT(ns, 10);
    ASSERT_GT(nb, 10);
    ASSERT_EQ(d.size(), ns + nb);
    EXPECT_EQ(d.features(), 4);
    EXPECT_EQ(d.classes(), 2);
    // Signal rows first, label 1, then background, label 0; in entry order.
    EXPECT_TRUE(torch::equal(
        labels(d), torch::cat({torch::ones({ns}, torch::kInt64), torch::zeros({nb}, torch::kInt64)})));
    std::vector<float> ids = sig;
    ids.insert(ids.end(), bkg.begin(), bkg.end());
    EXPECT_TRUE(torch::equal(features(d).select(1, 0), torch::tensor(ids)));
    // Weights: the signal's expression per entry (i = 3 e, w = 0.5 + e % 3), 1 for background.
    ASSERT_TRUE(d.has_weights());
    const auto w = d.impl()->weights;
    for (int64_t r = 0; r < ns; ++r) {
      const long long e = static_cast<long long>(ids[r]) / 3;
      ASSERT_EQ(w[r].item<float>(), 2 * NtupleRow{e}.w()) << "row " << r;
    }
    EXPECT_TRUE(torch::equal(w.slice(0, ns), torch::ones({nb})));
    // Without weight expressions, no weights.
    DataLoader plain;
    plain.features({"f"}).add_signal(f, "signal").add_background(f, "background");
    const auto p = plain.build();
    EXPECT_EQ(p.size(), kSignalEntries + kBackgroundEntries);
    EXPECT_FALSE(p.has_weights());
  }
}

TEST(RootDataLoader, GlobPatternsAndRDataFrameNodes) {
  // Background in two files matched by one pattern (a chain), signal as a node.
  std::vector<std::string> files;
  for (int k = 0; k < 2; ++k) {
    files.push_back(tmp("loader-bkg-" + std::to_string(k) + ".root"));
    write_root(files.back(), [k](TFile&) {
      auto* t = new TTree("events", "background part");
      t->SetAutoFlush(100);
      Float_t x;
      t->Branch("x", &x, "x/F");
      for (int e = 0; e < 700; ++e) x = static_cast<float>(k * 700 + e), t->Fill();
    });
  }
  for (bool mt : {false, true}) {
    std::optional<ImplicitMT> imt;
    if (mt) imt.emplace();
    SCOPED_TRACE(mt ? "implicit MT" : "sequential");
    ROOT::RDataFrame signal(300);
    auto node = signal.Define("x", [](ULong64_t e) { return -1.0f - static_cast<float>(e); }, {"rdfentry_"});
    DataLoader loader;
    loader.features({"x"}).add_background(tmp("loader-bkg-*.root"), "events", "x >= 100").add_signal(node);
    const auto d = loader.build();
    ASSERT_EQ(d.size(), 300 + 1300);
    EXPECT_TRUE(
        torch::equal(features(d).select(1, 0).slice(0, 0, 300), -1 - torch::arange(300, torch::kFloat32)))
        << features(d).select(1, 0).slice(0, 0, 300);
    EXPECT_TRUE(
        torch::equal(features(d).select(1, 0).slice(0, 300), torch::arange(100, 1400, torch::kFloat32)));
    EXPECT_EQ(labels(d).sum().item<int64_t>(), 300);
    EXPECT_EQ(*node.Count(), 300u);  // the user's graph still runs
    node.Snapshot("out", tmp("loader-graph-snapshot.root"), {"x"});
    {
      TFile f(tmp("loader-graph-snapshot.root").c_str());
      auto* out = f.Get<TTree>("out");
      ASSERT_NE(out, nullptr);
      EXPECT_EQ(out->GetEntries(), 300);
    }
  }
  // A pattern that also matches a file without the tree: that file is named.
  write_root(tmp("loader-mix-1.root"), [](TFile&) {
    auto* t = new TTree("events", "events");
    Float_t x = 1;
    t->Branch("x", &x, "x/F");
    t->Fill();
  });
  write_root(tmp("loader-mix-2.root"), [](TFile&) { (new TTree("other", "not events"))->Fill(); });
  DataLoader careless;
  careless.features({"x"})
      .add_background(tmp("loader-mix-*.root"), "events")
      .add_signal(tmp("loader-mix-1.root"), "events");
  EXPECT_TRUE(throws_with([&] { careless.build(); },
                          {"background source 0", "loader-mix-2.root", "no tree 'events'", "other"}));
  EXPECT_TRUE(throws_with(
      [] {
        DataLoader()
            .features({"x"})
            .add_background(tmp("loader-none-*.root"), "events")
            .add_signal(tmp("loader-mix-1.root"), "events")
            .build();
      },
      {"no file matches", "loader-none-*.root"}));
}

TEST(RootDataLoaderErrors, SourcesAndExpressions) {
  const auto& f = ntuple_file();
  const auto build = [](DataLoader l) { return [l] { l.build(); }; };
  EXPECT_TRUE(throws_with(build(DataLoader().add_signal(f, "signal").add_background(f, "background")),
                          {"DataLoader::build: no features; call features"}));
  EXPECT_TRUE(throws_with(build(DataLoader().features({"f"}).add_signal(f, "signal")),
                          {"no background source; add one with add_background"}));
  EXPECT_TRUE(throws_with(build(DataLoader().features({"f"}).add_background(f, "background")),
                          {"no signal source; add one with add_signal"}));
  const std::string missing = tmp("no-such-ntuple.root");
  EXPECT_TRUE(throws_with(
      build(DataLoader().features({"f"}).add_signal(missing, "signal").add_background(f, "background")),
      {"DataLoader::build: signal source 0 ('" + missing + "' tree 'signal')", "no such file"}));
  EXPECT_TRUE(
      throws_with(build(DataLoader().features({"f"}).add_signal(f, "signal").add_background(f, "ttbar")),
                  {"background source 0", "no tree 'ttbar'", "signal (TTree)", "background (TTree)"}));
  EXPECT_TRUE(throws_with(
      build(DataLoader().features({"f"}).add_signal(f, "signal", "f >").add_background(f, "background")),
      {"signal source 0", "the cut 'f >' is not a valid expression of its columns"}));
  EXPECT_TRUE(throws_with(
      build(DataLoader().features({"f"}).add_signal(f, "signal").add_background(f, "background", "", "name")),
      {"background source 0", "the weight expression 'name' is not one number per entry"}));
  EXPECT_TRUE(throws_with(
      build(DataLoader().features({"f"}).add_signal(f, "signal").add_background(f, "background", "f < 0")),
      {"background source 0", "no entries selected"}));
  EXPECT_TRUE(throws_with(
      build(DataLoader().features({"m_jj"}).add_signal(f, "signal").add_background(f, "background")),
      {"signal source 0", "no feature column 'm_jj'"}));
  EXPECT_TRUE(throws_with(
      build(DataLoader().features({"va"}).add_signal(f, "signal").add_background(f, "background")),
      {"signal source 0", "feature column 'va'", "different lengths"}));
}
