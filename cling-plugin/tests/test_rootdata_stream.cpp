// The streaming dataset (torchclad/stream.h, data/stream_reader.hpp) on ROOT
// files written here: the same rows as dataset_from_columns for every numeric
// branch type, chunk boundaries, the seeded order, every entry once per
// epoch, chains, friend trees, implicit MT on and off, bounded memory,
// epochs read ahead (prefetch, its cancellation, the next epoch's at an
// epoch's last rows), the files usable afterwards, and the errors.
#include <TChain.h>
#include <TTree.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <limits>
#include <numeric>
#include <optional>
#include <thread>

#include "rootdata_ntuple.hpp"
#include "rootdata_util.hpp"
#include "stream_corrupt_files.hpp"
#include "src/dataset_impl.hpp"
#include "src/stream_impl.hpp"
#include "torchclad/rdataframe.h"
#include "torchclad/stream.h"

namespace torchclad {
namespace {

using namespace rootdata_testing;

constexpr long long kEntries = 1000;

// Tree "t": x = e / 100 (float), k = e % 7 (int), pair[2] (double: e, -e),
// label = e % 2, weight = 1 + e % 5, ragged[e % 3] (float), neg (label -1 at
// entry 600), and friend tree "aux" with y = 2e in the same file.
std::string write_plain(const std::string& name, long long first, long long n) {
  const std::string file = tmp(name);
  write_root(file, [&](TFile&) {
    auto* t = new TTree("t", "t");
    auto* aux = new TTree("aux", "friend");
    t->SetAutoFlush(128);
    Float_t x, weight, ragged[2];
    Int_t k, label, nr, neg;
    Double_t pair[2];
    Double_t y;
    t->Branch("x", &x, "x/F");
    t->Branch("k", &k, "k/I");
    t->Branch("pair", pair, "pair[2]/D");
    t->Branch("label", &label, "label/I");
    t->Branch("weight", &weight, "weight/F");
    t->Branch("nr", &nr, "nr/I");
    t->Branch("ragged", ragged, "ragged[nr]/F");
    t->Branch("neg", &neg, "neg/I");
    aux->Branch("y", &y, "y/D");
    for (long long i = 0; i < n; ++i) {
      const long long e = first + i;
      x = static_cast<float>(e) / 100;
      k = static_cast<Int_t>(e % 7);
      pair[0] = static_cast<double>(e), pair[1] = -static_cast<double>(e);
      label = static_cast<Int_t>(e % 2);
      weight = 1.0f + static_cast<float>(e % 5);
      nr = static_cast<Int_t>(e % 3);
      for (int m = 0; m < nr; ++m) ragged[m] = 0.5f;
      neg = e == 600 ? -1 : 1;
      y = 2.0 * static_cast<double>(e);
      t->Fill();
      aux->Fill();
    }
  });
  return file;
}

const std::string& plain_file() {
  static const std::string f = write_plain("stream.root", 0, kEntries);
  return f;
}

StreamOptions options(long long chunk, long long buffer, bool shuffle = true, unsigned long long seed = 42) {
  StreamOptions o;
  o.chunk_entries = chunk;
  o.shuffle_buffer = buffer;
  o.shuffle = shuffle;
  o.seed = seed;
  return o;
}

struct Epoch {
  std::vector<float> x, y, w;
  std::vector<long long> entries;
  std::vector<long long> sizes;
};

Epoch read_epoch(StreamDataset& s, int epoch, int batch) {
  Epoch out;
  s.begin_epoch(epoch);
  std::vector<float> x, y, w;
  std::vector<long long> e;
  while (long long n = s.next_batch(batch, x, y, &w, &e)) {
    out.sizes.push_back(n);
    out.x.insert(out.x.end(), x.begin(), x.end());
    out.y.insert(out.y.end(), y.begin(), y.end());
    out.w.insert(out.w.end(), w.begin(), w.end());
    out.entries.insert(out.entries.end(), e.begin(), e.end());
  }
  return out;
}

// Whether `holds` becomes true within a minute (polled).
bool eventually(const std::function<bool()>& holds) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!holds()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// Tree "t", zlib-compressed (a flipped byte fails its checksum), baskets of
// 100 entries: x = e / 100, label = e % 2, weight = 1 + e % 5.
std::string write_weighted_zlib(const std::string& name) {
  const std::string file = tmp(name);
  TDirectory::TContext keep;
  TFile out(file.c_str(), "RECREATE", "", 101);
  auto* t = new TTree("t", "t");
  t->SetAutoFlush(100);
  Float_t x, weight;
  Int_t label;
  t->Branch("x", &x, "x/F");
  t->Branch("label", &label, "label/I");
  t->Branch("weight", &weight, "weight/F");
  for (long long e = 0; e < kEntries; ++e) {
    x = static_cast<float>(e) / 100;
    label = static_cast<Int_t>(e % 2);
    weight = 1.0f + static_cast<float>(e % 5);
    t->Fill();
  }
  out.Write();
  out.Close();
  return file;
}

std::vector<long long> all_entries(long long n) {
  std::vector<long long> v(n);
  std::iota(v.begin(), v.end(), 0);
  return v;
}

// In entry order (shuffle off), every numeric branch type and array kind
// gives the rows, labels and weights dataset_from_columns gives.
TEST(RootDataStream, EveryNumericTypeAsTheInMemoryReader) {
  const std::vector<std::string> features = {"b_o", "c", "uc", "s",   "us",  "i",  "ui", "g",     "l",
                                             "ul",  "f", "d",  "f16", "d32", "fa", "vi", "va[:2]"};
  for (bool mt : {false, true}) {
    std::optional<ImplicitMT> imt;
    if (mt) imt.emplace();
    StreamDataset s({ntuple_file()}, "signal", features, "cls", "w", options(64, 0, false));
    EXPECT_EQ(s.size(), kSignalEntries);
    EXPECT_EQ(s.features(), 21);
    EXPECT_TRUE(s.has_weights());
    EXPECT_EQ(s.feature_names()[14], "fa[0]");
    const Epoch e = read_epoch(s, 1, 50);
    EXPECT_EQ(e.entries, all_entries(kSignalEntries));

    ROOT::RDataFrame df("signal", ntuple_file());
    const Dataset d = dataset_from_columns(df, features, "cls", "w");
    const auto& impl = *d.impl();
    const auto x = impl.split.images.contiguous();
    ASSERT_EQ(x.numel(), static_cast<long long>(e.x.size()));
    EXPECT_TRUE(std::equal(e.x.begin(), e.x.end(), x.data_ptr<float>())) << "implicit MT " << mt;
    for (long long r = 0; r < kSignalEntries; ++r) {
      ASSERT_EQ(e.y[r], static_cast<float>(impl.split.labels[r].item<int64_t>())) << r;
      ASSERT_EQ(e.w[r], impl.weights[r].item<float>()) << r;
    }
  }
}

TEST(RootDataStream, ChunkBoundariesThatDoNotDivideTheBatch) {
  StreamDataset s({plain_file()}, "t", {"x", "pair"}, "label", "", options(37, 0, false));
  const Epoch e = read_epoch(s, 1, 10);
  EXPECT_EQ(e.entries, all_entries(kEntries));
  ASSERT_EQ(e.sizes.size(), 100u);
  for (long long n : e.sizes) EXPECT_EQ(n, 10);
  for (long long r = 0; r < kEntries; ++r) {
    ASSERT_FLOAT_EQ(e.x[3 * r], static_cast<float>(r) / 100);
    ASSERT_EQ(e.x[3 * r + 2], -static_cast<float>(r));
    ASSERT_EQ(e.y[r], static_cast<float>(r % 2));
  }
  EXPECT_EQ(s.chunks_read(), 28);  // ceil(1000 / 37)
  // A last batch smaller than the others.
  const Epoch odd = read_epoch(s, 2, 64);
  EXPECT_EQ(odd.sizes.back(), kEntries % 64);
  EXPECT_EQ(odd.entries, all_entries(kEntries));
}

// Same seed: the same batches, with implicit MT on or off; every entry once
// per epoch; another epoch or seed: another order.
TEST(RootDataStream, TheOrderIsSeededAndEveryEntryComesOncePerEpoch) {
  std::vector<std::vector<long long>> orders;
  for (bool mt : {false, true}) {
    std::optional<ImplicitMT> imt;
    if (mt) imt.emplace();
    StreamDataset s({plain_file()}, "t", {"x", "k"}, "label", "weight", options(64, 150));
    for (int epoch = 1; epoch <= 2; ++epoch) {
      const Epoch e = read_epoch(s, epoch, 48);
      std::vector<long long> sorted = e.entries;
      std::sort(sorted.begin(), sorted.end());
      EXPECT_EQ(sorted, all_entries(kEntries)) << "epoch " << epoch;
      // Rows travel with their entry.
      for (size_t r = 0; r < e.entries.size(); ++r) {
        ASSERT_FLOAT_EQ(e.x[2 * r], static_cast<float>(e.entries[r]) / 100);
        ASSERT_EQ(e.y[r], static_cast<float>(e.entries[r] % 2));
        ASSERT_EQ(e.w[r], 1.0f + static_cast<float>(e.entries[r] % 5));
      }
      orders.push_back(e.entries);
    }
  }
  EXPECT_EQ(orders[0], orders[2]);  // epoch 1, implicit MT off and on
  EXPECT_EQ(orders[1], orders[3]);
  EXPECT_NE(orders[0], orders[1]);
  EXPECT_NE(orders[0], all_entries(kEntries));
  // A new stream, the same seed: the same order; another seed: another.
  StreamDataset again({plain_file()}, "t", {"x", "k"}, "label", "weight", options(64, 150));
  EXPECT_EQ(read_epoch(again, 1, 48).entries, orders[0]);
  StreamDataset other({plain_file()}, "t", {"x", "k"}, "label", "weight", options(64, 150, true, 7));
  EXPECT_NE(read_epoch(other, 1, 48).entries, orders[0]);
  // Restarting an epoch half-way gives the epoch from its start.
  again.begin_epoch(1);
  std::vector<float> x, y;
  again.next_batch(100, x, y);
  EXPECT_EQ(read_epoch(again, 1, 48).entries, orders[0]);
}

// ColumnStream::cancel_prefetch: a prefetched epoch no begin_epoch began
// stops its reader (the trainers cancel it when they end early); the epoch
// afterwards is as if it had never been prefetched; an epoch begun reads on.
TEST(RootDataStream, ACancelledPrefetchStopsItsReader) {
  StreamDataset plain({plain_file()}, "t", {"x", "k"}, "label", "weight", options(64, 150));
  const Epoch e2 = read_epoch(plain, 2, 48);
  StreamDataset s({plain_file()}, "t", {"x", "k"}, "label", "weight", options(64, 150));
  auto& stream = *s.impl()->stream;
  EXPECT_EQ(stream.prefetched(), 0);
  EXPECT_FALSE(stream.reading());
  stream.cancel_prefetch();  // nothing prefetched: nothing to do
  stream.prefetch(2);
  EXPECT_EQ(stream.prefetched(), 2);
  EXPECT_TRUE(stream.reading());  // 16 chunks, 2 read ahead: it waits for the consumer
  stream.cancel_prefetch();
  EXPECT_EQ(stream.prefetched(), 0);
  EXPECT_FALSE(stream.reading());
  EXPECT_LE(s.chunks_read(), 2);
  EXPECT_EQ(read_epoch(s, 2, 48).entries, e2.entries);
  EXPECT_EQ(read_epoch(s, 2, 48).x, e2.x);
  // An epoch begun is no prefetch: cancel_prefetch leaves it.
  s.begin_epoch(2);
  std::vector<float> x, y;
  std::vector<long long> entries, got;
  EXPECT_EQ(s.next_batch(100, x, y, nullptr, &entries), 100);
  got = entries;
  stream.cancel_prefetch();
  while (s.next_batch(100, x, y, nullptr, &entries) > 0)
    got.insert(got.end(), entries.begin(), entries.end());
  EXPECT_EQ(got, e2.entries);
  EXPECT_LE(s.peak_rows_held(), s.rows_bound());
}

// begin_epoch(e, last_epoch), the trainers' epochs: the epoch's last rows
// prefetch epoch e + 1 (not after the last epoch), whose chunks begin_epoch
// then keeps; the rows are those of begin_epoch(e) alone.
TEST(RootDataStream, AnEpochsLastRowsPrefetchTheNext) {
  StreamDataset plain({plain_file()}, "t", {"x", "k"}, "label", "weight", options(64, 150));
  const Epoch e1 = read_epoch(plain, 1, 48), e2 = read_epoch(plain, 2, 48);
  StreamDataset s({plain_file()}, "t", {"x", "k"}, "label", "weight", options(64, 150));
  auto& stream = *s.impl()->stream;
  const int batch = 48;
  std::vector<float> x(batch * 2), y(batch);
  std::vector<long long> entries(batch);
  for (int epoch = 1; epoch <= 2; ++epoch) {
    stream.begin_epoch(epoch, 2);
    EXPECT_EQ(stream.prefetched(), 0);
    std::vector<long long> got;
    long long read = 0;
    while (const int n = stream.next(batch, x.data(), y.data(), nullptr, entries.data())) {
      got.insert(got.end(), entries.begin(), entries.begin() + n);
      read += n;
      // Epoch 1's last rows prefetched epoch 2; epoch 2 is the last.
      EXPECT_EQ(stream.prefetched(), read == kEntries && epoch == 1 ? 2 : 0) << "epoch " << epoch;
    }
    EXPECT_EQ(got, (epoch == 1 ? e1 : e2).entries);
  }
  EXPECT_EQ(s.chunks_read(), 32);  // each epoch's chunks read once
  // begin_epoch(e) alone prefetches nothing.
  stream.begin_epoch(1);
  while (stream.next(batch, x.data(), y.data())) {
  }
  EXPECT_EQ(stream.prefetched(), 0);
}

// The sum of the weights (ColumnStream::weight_sums) reads them with a chain
// of its own while a prefetched epoch reads; its error names the entry in
// its file (located in that chain, not the reader thread's).
TEST(RootDataStream, TheWeightSumsErrorNamesTheEntryWhileAnEpochReads) {
  const std::string good = write_weighted_zlib("stream-weights.root"), bad = tmp("stream-bad-weight.root");
  const long long first = stream_testing::corrupt_basket(good, bad, "t", "weight", 2);
  StreamDataset s({good, bad}, "t", {"x"}, "label", "weight", options(64, 150));
  auto& stream = *s.impl()->stream;
  stream.prefetch(1);
  try {
    stream.weight_sums();
    FAIL() << "a corrupt weight basket was summed";
  } catch (const std::runtime_error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("at entry " + std::to_string(kEntries + first) + " (entry " + std::to_string(first) +
                     " of file '" + bad + "')"),
              std::string::npos)
        << m;
  }
  stream.cancel_prefetch();
}

// Rows held at once: at most (prefetch + 2) chunks and the buffer.
TEST(RootDataStream, MemoryIsBoundedByChunksAndTheBuffer) {
  StreamDataset s({plain_file()}, "t", {"x", "pair"}, "label", "", options(50, 100));
  EXPECT_EQ(s.rows_bound(), 4 * 50 + 100);
  for (int epoch = 1; epoch <= 2; ++epoch) read_epoch(s, epoch, 32);
  EXPECT_EQ(s.chunks_read(), 40);
  EXPECT_GT(s.peak_rows_held(), 100);
  EXPECT_LE(s.peak_rows_held(), s.rows_bound());
  EXPECT_LT(s.rows_bound(), kEntries);
}

// The batch size does not change the rows nor their order: batches of 1
// take the buffer's draws one by one, larger ones several at once
// (ColumnStream::Impl::draw_full), across chunk boundaries and the end.
TEST(RootDataStream, TheOrderDoesNotDependOnTheBatch) {
  for (const auto& o : {options(64, 150), options(37, 100), options(50, 0, false), options(2000, 700)}) {
    StreamDataset s({plain_file()}, "t", {"x", "pair"}, "label", "weight", o);
    for (int epoch = 1; epoch <= 2; ++epoch) {
      const Epoch one = read_epoch(s, epoch, 1);
      for (int batch : {7, 48, 333, 5000}) {
        const Epoch e = read_epoch(s, epoch, batch);
        EXPECT_EQ(e.entries, one.entries) << "batch " << batch << ", epoch " << epoch;
        EXPECT_EQ(e.x, one.x) << "batch " << batch;
        EXPECT_EQ(e.y, one.y) << "batch " << batch;
        EXPECT_EQ(e.w, one.w) << "batch " << batch;
      }
    }
  }
}

// ColumnStream::prefetch (the trainers read an epoch's first chunks before
// it starts): the epoch begin_epoch then gives is the epoch's, whenever
// prefetch was called; it ends the epoch running.
TEST(RootDataStream, APrefetchedEpochIsTheEpoch) {
  StreamDataset plain({plain_file()}, "t", {"x", "k"}, "label", "weight", options(64, 150));
  const Epoch e1 = read_epoch(plain, 1, 48), e2 = read_epoch(plain, 2, 48);
  StreamDataset s({plain_file()}, "t", {"x", "k"}, "label", "weight", options(64, 150));
  auto& stream = *s.impl()->stream;
  stream.prefetch(1);
  // Once the reader has read a chunk, prefetch(1) again keeps it: restarted,
  // it would read that chunk again (17 chunks below, whatever the timing).
  ASSERT_TRUE(eventually([&] { return s.chunks_read() >= 1; }));
  EXPECT_EQ(stream.prefetched(), 1);
  stream.prefetch(1);  // the same epoch: kept
  EXPECT_EQ(read_epoch(s, 1, 48).entries, e1.entries);
  EXPECT_EQ(s.chunks_read(), 16);  // ceil(1000 / 64): read once
  // Half-way through epoch 1, prefetch(2) ends it.
  s.begin_epoch(1);
  std::vector<float> x, y;
  EXPECT_EQ(s.next_batch(100, x, y), 100);
  stream.prefetch(2);
  EXPECT_EQ(s.next_batch(100, x, y), 0);
  const Epoch p2 = read_epoch(s, 2, 48);
  EXPECT_EQ(p2.entries, e2.entries);
  EXPECT_EQ(p2.x, e2.x);
  // Another epoch than the one prefetched starts as usual.
  stream.prefetch(3);
  EXPECT_EQ(read_epoch(s, 1, 48).entries, e1.entries);
  EXPECT_LE(s.peak_rows_held(), s.rows_bound());
}

TEST(RootDataStream, ChainsOfSeveralFilesAndPatterns) {
  const std::string a = write_plain("part_a.root", 0, 300), b = write_plain("part_b.root", 300, 450),
                    c = write_plain("part_c.root", 750, 250);
  for (const auto& files : {std::vector<std::string>{a, b, c}, std::vector<std::string>{tmp("part_*.root")},
                            std::vector<std::string>{a, tmp("part_[bc].root")}}) {
    StreamDataset s(files, "t", {"x"}, "label", "", options(128, 0, false));
    ASSERT_EQ(s.size(), kEntries);
    const Epoch e = read_epoch(s, 1, 100);
    EXPECT_EQ(e.entries, all_entries(kEntries));
    for (long long r = 0; r < kEntries; ++r) ASSERT_FLOAT_EQ(e.x[r], static_cast<float>(r) / 100);
  }
  // The first max_entries entries only, across the files' boundary.
  auto first = options(128, 0, false);
  first.max_entries = 550;
  StreamDataset limited({a, b, c}, "t", {"x"}, "label", "", first);
  EXPECT_EQ(limited.size(), 550);
  EXPECT_EQ(read_epoch(limited, 1, 100).entries, all_entries(550));
  StreamDataset shuffled({a, b, c}, "t", {"x"}, "label", "", options(128, 200));
  auto entries = read_epoch(shuffled, 1, 100).entries;
  std::sort(entries.begin(), entries.end());
  EXPECT_EQ(entries, all_entries(kEntries));
}

TEST(RootDataStream, FriendTrees) {
  const std::string a = write_plain("friend_a.root", 0, 400), b = write_plain("friend_b.root", 400, 600);
  StreamDataset s({a, b}, "t", {"x", "y", "fr.y"}, "label", "", options(100, 0, false),
                  {{"aux", {a, b}, "fr"}});
  const Epoch e = read_epoch(s, 1, 64);
  EXPECT_EQ(e.entries, all_entries(kEntries));
  for (long long r = 0; r < kEntries; ++r) {
    ASSERT_EQ(e.x[3 * r + 1], 2.0f * static_cast<float>(r));
    ASSERT_EQ(e.x[3 * r + 2], 2.0f * static_cast<float>(r));
  }
}

TEST(RootDataStream, RegressionTargets) {
  auto s = StreamDataset::regression({plain_file()}, "t", {"x"}, {"pair", "k"}, "", options(100, 0, false));
  EXPECT_EQ(s.targets(), 3);
  const Epoch e = read_epoch(s, 1, 64);
  for (long long r = 0; r < kEntries; ++r) {
    ASSERT_EQ(e.y[3 * r], static_cast<float>(r));
    ASSERT_EQ(e.y[3 * r + 2], static_cast<float>(r % 7));
  }
}

// The stream reads the files only: they, and RDataFrames over them, work
// during and after it, also when it is dropped half-way through an epoch.
TEST(RootDataStream, TheFilesStayUsable) {
  ROOT::RDataFrame df("t", plain_file());
  auto before = df.Count();
  {
    StreamDataset s({plain_file()}, "t", {"x"}, "label", "", options(64, 100));
    s.begin_epoch(1);
    std::vector<float> x, y;
    EXPECT_EQ(s.next_batch(10, x, y), 10);
    EXPECT_EQ(ROOT::RDataFrame("t", plain_file()).Count().GetValue(),
              static_cast<unsigned long long>(kEntries));
  }  // dropped mid-epoch: its thread stops
  EXPECT_EQ(*before, static_cast<unsigned long long>(kEntries));
  EXPECT_EQ(df.Filter("label == 1").Count().GetValue(), static_cast<unsigned long long>(kEntries / 2));
  const Dataset d = dataset_from_columns(df, {"x"}, "label");
  EXPECT_EQ(d.size(), kEntries);
}

TEST(RootDataStream, ErrorsBeforeReading) {
  const std::string f = plain_file();
  auto make = [&](std::vector<std::string> files, std::string tree, std::vector<std::string> features,
                  std::string label, std::string weight = "", StreamOptions o = {}) {
    return [=] { StreamDataset s(files, tree, features, label, weight, o); };
  };
  EXPECT_TRUE(throws_with(make({f}, "t", {"x", "m_bb"}, "label"),
                          {"StreamDataset: no feature column 'm_bb'; the columns are: k, label, neg, nr, "
                           "pair, ragged, weight, x"}));
  EXPECT_TRUE(
      throws_with(make({ntuple_file()}, "signal", {"name"}, "cls"),
                  {"StreamDataset: feature column 'name' has type", "expected one number per entry"}));
  EXPECT_TRUE(
      throws_with(make({f}, "t", {"x"}, "x"),
                  {"StreamDataset: label column 'x' has type Float_t; expected one integer per entry"}));
  EXPECT_TRUE(throws_with(make({f}, "t", {"x[2]"}, "label"),
                          {"column 'x' holds one Float_t per entry, not an array"}));
  EXPECT_TRUE(throws_with(make({f}, "t", {"x"}, "label", "pair"), {"weight column 'pair' has type"}));
  EXPECT_TRUE(throws_with(make({f}, "t", {}, "label"), {"no feature columns given"}));
  EXPECT_TRUE(
      throws_with(make({tmp("no-such.root")}, "t", {"x"}, "label"), {"no such file: '", "no-such.root'"}));
  EXPECT_TRUE(throws_with(make({f}, "events", {"x"}, "label"), {"no tree 'events' in", "it holds: "}));
  EXPECT_TRUE(throws_with(make({tmp("nothing_*.root")}, "t", {"x"}, "label"),
                          {"no file matches '", "nothing_*.root'"}));
  EXPECT_TRUE(throws_with(make({}, "t", {"x"}, "label"), {"no files given"}));
  EXPECT_TRUE(throws_with(make({f}, "t", {"x"}, "label", "", options(0, 10)),
                          {"chunk_entries must be at least 1, found 0"}));
  EXPECT_TRUE(
      throws_with(make({f}, "t", {"x"}, "label", "", options(10, -1)), {"shuffle_buffer must be >= 0"}));
  EXPECT_TRUE(
      throws_with([&] { StreamDataset::regression({f}, "t", {"x"}, {}); }, {"no target columns given"}));
  StreamDataset s({f}, "t", {"x"}, "label");
  std::vector<float> x, y;
  EXPECT_TRUE(throws_with([&] { s.next_batch(10, x, y); }, {"call begin_epoch(1) before reading rows"}));
}

// Found while reading: thrown when the rows reach the entry, naming column and entry.
TEST(RootDataStream, ErrorsWhileReading) {
  for (bool mt : {false, true}) {
    std::optional<ImplicitMT> imt;
    if (mt) imt.emplace();
    auto first_error = [](StreamDataset s) {
      return [s]() mutable {
        s.begin_epoch(1);
        std::vector<float> x, y;
        while (s.next_batch(64, x, y) > 0) {
        }
      };
    };
    EXPECT_TRUE(throws_with(
        first_error(StreamDataset({plain_file()}, "t", {"x", "ragged"}, "label", "", options(100, 0, false))),
        {"feature column 'ragged' (", "holds arrays of different lengths: 0 values at entry 0, 1 at entry 1",
         "write 'ragged[:n]'"}));
    EXPECT_TRUE(
        throws_with(first_error(StreamDataset({plain_file()}, "t", {"x"}, "neg", "", options(100, 50))),
                    {"negative label -1 in column 'neg' at entry 600"}));
    EXPECT_TRUE(throws_with(first_error(StreamDataset({ntuple_file()}, "signal", {"f", "nanv"}, "cls", "",
                                                      options(100, 0, false))),
                            {"feature 'nanv' is NaN at entry 17"}));
    // Ranges pad ragged arrays, as dataset_from_columns does: "ragged[:2]"
    // the first two values, "ragged[1]" value 1 (as ROOT's v[1]).
    StreamDataset padded({plain_file()}, "t", {"ragged[:2]", "ragged[1]"}, "label", "",
                         options(100, 0, false));
    EXPECT_EQ(padded.feature_names(), (std::vector<std::string>{"ragged[0]", "ragged[1]", "ragged[1]"}));
    const Epoch e = read_epoch(padded, 1, 64);
    for (long long r = 0; r < kEntries; ++r) {
      ASSERT_EQ(e.x[3 * r], r % 3 >= 1 ? 0.5f : 0.0f);
      ASSERT_EQ(e.x[3 * r + 1], r % 3 == 2 ? 0.5f : 0.0f);
      ASSERT_EQ(e.x[3 * r + 2], r % 3 == 2 ? 0.5f : 0.0f);
    }
  }
}

// As the in-memory readers (data/branch_check.hpp): a chain whose files store
// a branch with different types, a range past a fixed-size array's end and a
// C string are refused before reading; a label out of class range when read.
TEST(RootDataStream, BranchesTheColumnTypesDoNotTell) {
  const std::string f4 = write_branch_kinds<Float_t>("stream_kinds_a.root", 4);
  const std::string d4 = write_branch_kinds<Double_t>("stream_kinds_b.root", 4);
  auto make = [](std::vector<std::string> files, std::vector<std::string> features, std::string label) {
    return [=] { StreamDataset s(files, "events", features, label); };
  };
  EXPECT_TRUE(throws_with(make({tmp("stream_kinds_*.root")}, {"jet_pt[:4]"}, "label"),
                          {"StreamDataset: feature column 'jet_pt' has type Float_t[4] in '" + f4 +
                               "' but Double_t[4] in '" + d4 + "'",
                           "write those files again"}));
  EXPECT_TRUE(throws_with(make({f4}, {"jet_pt[4]"}, "label"),
                          {"StreamDataset: feature 'jet_pt[4]': column 'jet_pt' is a fixed-size array of 4 "
                           "values (Float_t[4]), so 'jet_pt[4]' is past its end"}));
  EXPECT_TRUE(throws_with(make({d4}, {"jet_pt[1:5]"}, "label"), {"reaches past its end"}));
  EXPECT_TRUE(throws_with(make({f4}, {"c_str"}, "label"),
                          {"StreamDataset: feature column 'c_str' is a C-string branch"}));
  for (const char* label : {"l_big", "ul_big"}) {
    StreamDataset s({f4}, "events", {"jet_pt[:4]", "trk[5]"}, label, "", options(8, 0, false));
    EXPECT_TRUE(throws_with(
        [&] {
          s.begin_epoch(1);
          std::vector<float> x, y;
          while (s.next_batch(4, x, y) > 0) {
          }
        },
        {std::string("column '") + label + "' at entry 0 is not a class index",
         label == std::string("l_big") ? "label 1000000000000 " : "label 9223372036854775807 "}));
  }
  // The same columns of one type in every file of the chain read well.
  StreamDataset ok({tmp("stream_kinds_*.root")}, "events", {"trk[:2]", "ntrk"}, "label");
  EXPECT_EQ(ok.size(), 40);
}

}  // namespace
}  // namespace torchclad
