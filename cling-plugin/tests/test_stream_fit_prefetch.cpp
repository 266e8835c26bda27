// Model::fit on a StreamDataset reads epochs ahead (ColumnStream::prefetch):
// epoch 1 while it prepares its step, epoch e + 1 while it evaluates epoch e.
// A fit that ends early, by an exception after its prefetch or a run
// stopped after an epoch's last rows, leaves no prefetched epoch and no
// reader thread running in the caller's stream, which trains afterwards as
// a fresh one.
#include <ROOT/RDataFrame.hxx>
#include <TFile.h>
#include <TTree.h>
#include <gtest/gtest.h>

#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "scratch_dir.hpp"
#include "src/stream_impl.hpp"
#include "torchclad/model.h"
#include "torchclad/nn.h"
#include "torchclad/rdataframe.h"
#include "torchclad/stream.h"

namespace nn = torchclad::nn;

// Two features, one linear regression target (no activation: a huge target
// makes the squared error infinite).
struct PrefetchLinear : nn::Model {
  nn::Linear fc{"fc", 2, 1};
  nn::Act out{1};
  PrefetchLinear() {
    inputs(2);
    regression(1);
    output(out);
  }
  template <class T>
  static T loss(const PrefetchLinear& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::linear(m.fc, p, x, a, m.out, n);
    return nn::mse(a, m.out, y, n);
  }
};
TORCHCLAD_MODEL(prefetch_linear, PrefetchLinear)

namespace {

using torchclad::testing::tmp;

// Tree "events": a, b uniform in [-1, 1], E = 2a - b + 1; with `huge_last`,
// the last entry's E is 1e30 (its squared error is infinite in float).
std::string write_targets(const std::string& name, int n, bool huge_last) {
  const std::string file = tmp(name);
  TFile f(file.c_str(), "RECREATE");
  TTree t("events", "events");
  Float_t a, b, energy;
  t.Branch("a", &a, "a/F");
  t.Branch("b", &b, "b/F");
  t.Branch("E", &energy, "E/F");
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-1, 1);
  for (int i = 0; i < n; ++i) {
    a = u(rng), b = u(rng);
    energy = huge_last && i == n - 1 ? 1e30f : 2 * a - b + 1;
    t.Fill();
  }
  t.Write();
  f.Close();
  return file;
}

torchclad::StreamOptions stream_options(bool shuffle = true) {
  torchclad::StreamOptions o;
  o.chunk_entries = 100;  // 20 chunks an epoch, 2 read ahead: the reader waits for the fit
  o.shuffle_buffer = 300;
  o.shuffle = shuffle;
  return o;
}

torchclad::TrainOptions train_options() {
  torchclad::TrainOptions o;
  o.epochs = 2;
  o.batch = 50;
  o.lr = 1e-2;
  o.progress = false;
  return o;
}

torchclad::StreamDataset stream_of(const std::string& file, bool shuffle = true) {
  return torchclad::StreamDataset::regression({file}, "events", {"a", "b"}, {"E"}, "",
                                              stream_options(shuffle));
}

torchclad::rootdata::ColumnStream& column_stream(torchclad::StreamDataset& s) { return *s.impl()->stream; }

// An exception after the prefetch of epoch 1 (the metrics file's directory
// does not exist: refused once the prefetch started) cancels it: no epoch
// prefetched, no reader thread; a fit afterwards is a fresh stream's.
TEST(StreamFitPrefetch, AFitThatThrowsAfterItsPrefetchLeavesNoReaderRunning) {
  const std::string file = write_targets("prefetch-train.root", 2000, false);
  const auto test = torchclad::regression_dataset_from_columns(ROOT::RDataFrame("events", file).Range(300),
                                                               {"a", "b"}, {"E"});
  auto train = stream_of(file);
  auto& stream = column_stream(train);
  auto refused = train_options();
  refused.metrics_json = tmp("no-such-dir/prefetch.json");
  auto model = torchclad::model("prefetch_linear");
  try {
    model.fit(train, test, refused);
    FAIL() << "an unwritable metrics file was accepted";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("metrics_json"), std::string::npos) << e.what();
  }
  EXPECT_EQ(stream.prefetched(), 0);
  EXPECT_FALSE(stream.reading());

  auto trained = torchclad::model("prefetch_linear");
  const auto r = trained.fit(train, test, train_options());
  ASSERT_EQ(r.status, "finished") << r.message;
  auto fresh_train = stream_of(file);
  auto fresh = torchclad::model("prefetch_linear");
  const auto f = fresh.fit(fresh_train, test, train_options());
  ASSERT_EQ(f.status, "finished") << f.message;
  ASSERT_EQ(r.epochs.size(), f.epochs.size());
  for (size_t e = 0; e < r.epochs.size(); ++e) {
    EXPECT_EQ(r.epochs[e].train_loss, f.epochs[e].train_loss) << e;
    EXPECT_EQ(r.epochs[e].test_loss, f.epochs[e].test_loss) << e;
  }
  EXPECT_EQ(trained.parameter("fc.weight"), fresh.parameter("fc.weight"));
  EXPECT_EQ(trained.parameter("fc.bias"), fresh.parameter("fc.bias"));
}

// Epoch 1's last step (rows in entry order: its last batch holds the last
// entry, whose squared error is infinite) prefetches epoch 2, then the loss
// stops the run: the prefetched epoch is cancelled.
TEST(StreamFitPrefetch, ARunStoppedAtAnEpochsLastStepLeavesNoReaderRunning) {
  const std::string file = write_targets("prefetch-huge.root", 2000, true);
  const auto test = torchclad::regression_dataset_from_columns(ROOT::RDataFrame("events", file).Range(300),
                                                               {"a", "b"}, {"E"});
  auto train = stream_of(file, /*shuffle=*/false);
  auto& stream = column_stream(train);
  auto model = torchclad::model("prefetch_linear");
  const auto r = model.fit(train, test, train_options());
  EXPECT_EQ(r.status, "failed");
  EXPECT_NE(r.message.find("epoch 1, step 40"), std::string::npos) << r.message;  // 2000 / 50: the last
  EXPECT_EQ(stream.prefetched(), 0);
  EXPECT_FALSE(stream.reading());
}

}  // namespace
