// A stream's held-out part (StreamDataset::split, StreamSpec::holdout):
// train and test disjoint and together every entry, the same every epoch and
// for the same seed, after max_entries, shared out over ranks
// (data/stream_ranks.hpp), read into memory (to_dataset); and the rows a
// stream holds at once (peak_rows_held, trial 2: it counted the buffer's
// capacity).
#include <TTree.h>

#include <algorithm>
#include <numeric>
#include <set>

#include "data/stream_ranks.hpp"
#include "rootdata_util.hpp"
#include "src/dataset_impl.hpp"
#include "src/stream_impl.hpp"
#include "torchclad/stream.h"

namespace torchclad {
namespace {

using namespace rootdata_testing;

constexpr long long kSplitEntries = 1000;

// Tree "t": x = e / 100 (float), label = e % 2, w = 1 + e % 3.
const std::string& split_file() {
  static const std::string file = [] {
    const std::string f = tmp("split.root");
    write_root(f, [](TFile&) {
      auto* t = new TTree("t", "t");
      t->SetAutoFlush(128);
      Float_t x, w;
      Int_t label;
      t->Branch("x", &x, "x/F");
      t->Branch("label", &label, "label/I");
      t->Branch("w", &w, "w/F");
      for (long long e = 0; e < kSplitEntries; ++e) {
        x = static_cast<float>(e) / 100;
        label = static_cast<Int_t>(e % 2);
        w = 1.0f + static_cast<float>(e % 3);
        t->Fill();
      }
    });
    return f;
  }();
  return file;
}

StreamOptions options(long long chunk, long long buffer, bool shuffle = true) {
  StreamOptions o;
  o.chunk_entries = chunk;
  o.shuffle_buffer = buffer;
  o.shuffle = shuffle;
  return o;
}

// The entries of one epoch, sorted; checks that the rows travel with them.
std::vector<long long> epoch_entries(StreamDataset& s, int epoch) {
  s.begin_epoch(epoch);
  std::vector<float> x, y;
  std::vector<long long> e, all;
  while (long long n = s.next_batch(64, x, y, nullptr, &e)) {
    for (long long r = 0; r < n; ++r) {
      EXPECT_FLOAT_EQ(x[r], static_cast<float>(e[r]) / 100);
      EXPECT_EQ(y[r], static_cast<float>(e[r] % 2));
    }
    all.insert(all.end(), e.begin(), e.end());
  }
  EXPECT_EQ(static_cast<long long>(all.size()), s.size());
  std::sort(all.begin(), all.end());
  return all;
}

std::vector<long long> range(long long n) {
  std::vector<long long> v(n);
  std::iota(v.begin(), v.end(), 0);
  return v;
}

std::vector<long long> merged(std::vector<long long> a, const std::vector<long long>& b) {
  a.insert(a.end(), b.begin(), b.end());
  std::sort(a.begin(), a.end());
  return a;
}

TEST(RootDataStreamSplit, TrainAndTestAreDisjointAndHoldEveryEntry) {
  StreamDataset all({split_file()}, "t", {"x"}, "label", "", options(50, 120));
  auto [train, test] = all.split(0.2, 7);
  EXPECT_EQ(train.size() + test.size(), kSplitEntries);
  EXPECT_GT(test.size(), 150);  // about 200
  EXPECT_LT(test.size(), 250);
  const auto tr = epoch_entries(train, 1), te = epoch_entries(test, 1);
  std::vector<long long> both;
  std::set_intersection(tr.begin(), tr.end(), te.begin(), te.end(), std::back_inserter(both));
  EXPECT_TRUE(both.empty());
  EXPECT_EQ(merged(tr, te), range(kSplitEntries));
  // The same parts every epoch, for the same seed in a new split, and
  // whatever the chunks and the shuffle; another seed: other parts.
  EXPECT_EQ(epoch_entries(train, 2), tr);
  EXPECT_EQ(epoch_entries(test, 3), te);
  StreamDataset again({split_file()}, "t", {"x"}, "label", "", options(17, 0, false));
  auto parts = again.split(0.2, 7);
  EXPECT_EQ(epoch_entries(parts.first, 1), tr);
  EXPECT_EQ(epoch_entries(parts.second, 1), te);
  auto other = all.split(0.2, 8);
  EXPECT_NE(epoch_entries(other.second, 1), te);
  // The whole stream is unchanged.
  EXPECT_EQ(all.size(), kSplitEntries);
  EXPECT_EQ(epoch_entries(all, 1), range(kSplitEntries));
}

// max_entries first, then the split of those entries.
TEST(RootDataStreamSplit, AfterMaxEntries) {
  auto o = options(64, 100);
  o.max_entries = 300;
  StreamDataset first({split_file()}, "t", {"x"}, "label", "", o);
  auto [train, test] = first.split(0.5, 3);
  EXPECT_EQ(merged(epoch_entries(train, 1), epoch_entries(test, 1)), range(300));
}

// Each rank streams its share of the train part (rank_part, as Model::fit under Distributed).
TEST(RootDataStreamSplit, RanksShareTheTrainPart) {
  StreamDataset all({split_file()}, "t", {"x"}, "label", "w", options(40, 60));
  auto [train, test] = all.split(0.3, 11);
  const auto tr = epoch_entries(train, 1), te = epoch_entries(test, 1);
  for (int ranks : {2, 3}) {
    std::vector<long long> union_of_ranks;
    for (int r = 0; r < ranks; ++r) {
      const auto part = rootdata::rank_part(*train.impl()->stream, "rank", r, ranks);
      const long long share = part->entries();
      EXPECT_LE(std::abs(share - train.size() / ranks), 1) << r << " of " << ranks;
      std::vector<float> x(64), y(64), w(64);
      std::vector<long long> e(64);
      part->begin_epoch(1);
      while (int n = part->next(64, x.data(), y.data(), w.data(), e.data()))
        union_of_ranks.insert(union_of_ranks.end(), e.begin(), e.begin() + n);
    }
    std::sort(union_of_ranks.begin(), union_of_ranks.end());
    EXPECT_EQ(union_of_ranks, tr) << ranks << " ranks";  // each train entry once, no test entry
  }
  // The weight sums (Model::fit's weight rule) are the part's.
  double sum = 0;
  for (long long e : te) sum += 1.0 + static_cast<double>(e % 3);
  EXPECT_DOUBLE_EQ(test.impl()->stream->weight_sums().sum, sum);
}

TEST(RootDataStreamSplit, TheTestPartInMemory) {
  StreamDataset all({split_file()}, "t", {"x"}, "label", "w", options(64, 100));
  auto [train, test] = all.split(0.25, 5);
  const auto te = epoch_entries(test, 1);
  const Dataset d = test.to_dataset();
  ASSERT_EQ(d.size(), test.size());
  EXPECT_EQ(d.features(), 1);
  EXPECT_EQ(d.feature_names(), std::vector<std::string>{"x"});  // a model checks them as a column dataset's
  EXPECT_TRUE(d.has_weights());
  const auto& impl = *d.impl();
  for (size_t r = 0; r < te.size(); ++r) {  // in entry order
    ASSERT_FLOAT_EQ(impl.split.images[r][0].item<float>(), static_cast<float>(te[r]) / 100);
    ASSERT_EQ(impl.split.labels[r].item<int64_t>(), te[r] % 2);
    ASSERT_EQ(impl.weights[r].item<float>(), 1.0f + static_cast<float>(te[r] % 3));
  }
  auto reg = StreamDataset::regression({split_file()}, "t", {"label"}, {"x"}).split(0.5, 1).second;
  const Dataset rd = reg.to_dataset();
  EXPECT_EQ(rd.targets(), 1);
  EXPECT_EQ(rd.size(), reg.size());
}

TEST(RootDataStreamSplit, Errors) {
  StreamDataset all({split_file()}, "t", {"x"}, "label");
  for (double f : {0.0, 1.0, -0.5, 1.5})
    EXPECT_TRUE(
        throws_with([&] { all.split(f); }, {"StreamDataset::split: test_fraction must be in (0, 1)"}));
  auto parts = all.split(0.5);
  EXPECT_TRUE(throws_with([&] { parts.second.split(0.5); },
                          {"StreamDataset::split: this stream is already the test part of a split"}));
  auto o = options(10, 0, false);
  o.max_entries = 1;
  StreamDataset one({split_file()}, "t", {"x"}, "label", "", o);
  EXPECT_TRUE(throws_with([&] { one.split(0.5, 1); }, {"part of the split keeps none of the 1 entries"}));
}

// peak_rows_held: the rows in chunks and the buffer at once, not the buffer's capacity.
TEST(RootDataStreamSplit, PeakRowsHeldCountsRowsNotCapacity) {
  // One chunk of all 1000 entries, into a buffer (default 65536 rows, more
  // than the stream has): at most the chunk and the buffer full of its rows.
  StreamDataset defaults({split_file()}, "t", {"x"}, "label");
  epoch_entries(defaults, 1);
  EXPECT_EQ(defaults.peak_rows_held(), 2 * kSplitEntries);
  auto o = StreamOptions{};
  o.max_entries = 500;
  StreamDataset half({split_file()}, "t", {"x"}, "label", "", o);
  epoch_entries(half, 1);
  EXPECT_EQ(half.peak_rows_held(), 1000);
  // In entry order, no buffer: the chunks only (one of 1000, or at most 4 of 50).
  StreamDataset ordered({split_file()}, "t", {"x"}, "label", "", options(65536, 0, false));
  epoch_entries(ordered, 1);
  EXPECT_EQ(ordered.peak_rows_held(), kSplitEntries);
  StreamDataset small({split_file()}, "t", {"x"}, "label", "", options(50, 0, false));
  epoch_entries(small, 1);
  EXPECT_GE(small.peak_rows_held(), 50);
  EXPECT_LE(small.peak_rows_held(), 4 * 50);
  // Small chunks and buffer: above the buffer, within the bound.
  StreamDataset bounded({split_file()}, "t", {"x"}, "label", "", options(50, 100));
  epoch_entries(bounded, 1);
  EXPECT_GT(bounded.peak_rows_held(), 100);
  EXPECT_LE(bounded.peak_rows_held(), bounded.rows_bound());
  EXPECT_EQ(bounded.rows_bound(), 4 * 50 + 100);
}

}  // namespace
}  // namespace torchclad
