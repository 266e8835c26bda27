// The user's RDataFrame graph stays usable after torchclad reads a dataset
// from it: Snapshot, Histo1D, Count and a second dataset on the same nodes,
// for dataset_from_rdataframe and binary_dataset_from_rdataframe, with
// implicit MT on and off, on a single file and on a chain of two files.
// (The per-sample callback of the read once outlived it in the graph and
// locked a destroyed mutex on the next event loop: abort or hang.)
#include <ROOT/RDataFrame.hxx>
#include <TFile.h>
#include <TH1D.h>
#include <TTree.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <optional>
#include <string>
#include <vector>

#include "rootdata_util.hpp"
#include "src/dataset_impl.hpp"
#include "torchclad/rdataframe.h"

using namespace torchclad::rootdata_testing;

namespace {

constexpr int kEntries = 3000;

// Tree "t" with float columns a = entry + offset, b = 2 a, in clusters of 500
// entries (several tasks under implicit MT).
std::string ab_file(const std::string& name, int offset) {
  const std::string f = tmp(name);
  write_root(f, [offset](TFile&) {
    auto* t = new TTree("t", "two float columns");
    t->SetAutoFlush(500);
    float a = 0, b = 0;
    t->Branch("a", &a, "a/F");
    t->Branch("b", &b, "b/F");
    for (int i = 0; i < kEntries; ++i) {
      a = static_cast<float>(i + offset), b = 2 * a;
      t->Fill();
    }
  });
  return f;
}

const std::vector<std::string>& files() {
  static const std::vector<std::string> f = {ab_file("graph-0.root", 0), ab_file("graph-1.root", kEntries)};
  return f;
}

// Every later action on `node` works and sees every entry.
void expect_graph_usable(ROOT::RDF::RNode node, long long entries, const std::string& snapshot) {
  auto count = node.Count();
  auto histo = node.Histo1D({"h", "a", 10, 0.0, 2.0 * entries}, "a");
  EXPECT_EQ(*count, static_cast<ULong64_t>(entries));
  EXPECT_EQ(histo->GetEntries(), static_cast<double>(entries));
  node.Snapshot("out", snapshot, {"image", "label"});
  TFile f(snapshot.c_str());
  auto* out = f.Get<TTree>("out");
  ASSERT_NE(out, nullptr) << snapshot;
  EXPECT_EQ(out->GetEntries(), entries);
}

void expect_same(const torchclad::Dataset& a, const torchclad::Dataset& b) {
  EXPECT_TRUE(torch::equal(a.impl()->split.images, b.impl()->split.images));
  EXPECT_TRUE(torch::equal(a.impl()->split.labels, b.impl()->split.labels));
}

}  // namespace

TEST(RootDataGraph, UsableAfterDatasetFromRDataFrame) {
  for (bool mt : {false, true}) {
    for (bool chain : {false, true}) {
      std::optional<ImplicitMT> imt;
      if (mt) imt.emplace();
      SCOPED_TRACE(std::string(mt ? "implicit MT" : "sequential") + (chain ? ", chain" : ", one file"));
      const std::vector<std::string> inputs = chain ? files() : std::vector<std::string>{files()[0]};
      const long long entries = static_cast<long long>(inputs.size()) * kEntries;
      ROOT::RDataFrame df("t", inputs);
      // The repro: a jitted and a typed Define.
      auto node = df.Define("image", "ROOT::RVecF{(float)a, (float)b}").Define("label", [] { return 1; });
      const auto first = torchclad::dataset_from_rdataframe(node);
      ASSERT_EQ(first.size(), entries);
      EXPECT_TRUE(
          torch::equal(first.impl()->split.images.select(1, 0), torch::arange(entries, torch::kFloat32)));
      expect_graph_usable(
          node, entries,
          tmp(std::string("graph-snapshot-") + (mt ? "mt" : "seq") + (chain ? "-chain" : "") + ".root"));
      // A second dataset from the same node, and one from the root node's branch.
      expect_same(torchclad::dataset_from_rdataframe(node), first);
      const auto half = torchclad::dataset_from_rdataframe(node.Filter("a < 1000"));
      EXPECT_EQ(half.size(), 1000);
      EXPECT_EQ(*df.Count(), static_cast<ULong64_t>(entries));
      expect_graph_usable(node, entries, tmp("graph-snapshot-again.root"));
    }
  }
}

TEST(RootDataGraph, UsableAfterBinaryDatasetFromRDataFrame) {
  for (bool mt : {false, true}) {
    std::optional<ImplicitMT> imt;
    if (mt) imt.emplace();
    SCOPED_TRACE(mt ? "implicit MT" : "sequential");
    ROOT::RDataFrame df("t", files());
    auto node = df.Define("image", "ROOT::RVecF{(float)a, (float)b}")
                    .Define("label", [](float a) { return int(a) % 2; }, {"a"})
                    .Define("snr", [](float b) { return b / 10; }, {"b"});
    for (const std::string snr : {"snr", ""}) {
      SCOPED_TRACE("snr column '" + snr + "'");
      const auto ds = torchclad::binary_dataset_from_rdataframe(node, "image", "label", snr);
      ASSERT_EQ(ds.size(), 2 * kEntries);
      EXPECT_EQ(ds.signals(), kEntries);
      expect_graph_usable(node, 2 * kEntries,
                          tmp(std::string("binary-snapshot-") + (mt ? "mt" : "seq") + ".root"));
      // Then the other kind of dataset from the same graph.
      EXPECT_EQ(torchclad::dataset_from_rdataframe(node).size(), 2 * kEntries);
      expect_graph_usable(node, 2 * kEntries, tmp("binary-snapshot-again.root"));
    }
  }
}
