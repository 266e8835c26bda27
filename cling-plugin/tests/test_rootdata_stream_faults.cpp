// The stream over broken files (trial 2, finding 2: a corrupt basket
// crashed the reader thread, or left next_batch waiting forever): a basket
// that does not inflate in a scalar, a fixed-size array, a variable-size
// array, its size branch and the label; a file cut short; a file whose tree
// is gone at the next epoch. Each gives an error naming the column, the entry
// and the file, thrown by next_batch on the caller's thread, within a bound;
// the stream starts over at begin_epoch, and other streams still work.
#include <TFile.h>
#include <TTree.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <memory>
#include <thread>

#include "rootdata_util.hpp"
#include "stream_corrupt_files.hpp"
#include "torchclad/stream.h"

namespace torchclad {
namespace {

using namespace rootdata_testing;
using namespace stream_testing;

constexpr long long kFaultEntries = 2000;
constexpr int kBadBasket = 10;  // entries 1000..1099

// Tree `tree`, zlib-compressed (a flipped byte fails its checksum), baskets
// of 100 entries: x = e % 10 (float), pair[2] (double: e % 7, 1), n = e % 4
// and var[n] (float: 0.5), label = e % 2.
std::string write_fault_tree(const std::string& name, long long n, const std::string& tree = "t") {
  const std::string f = tmp(name);
  TDirectory::TContext keep;
  TFile out(f.c_str(), "RECREATE", "", 101);
  auto* t = new TTree(tree.c_str(), tree.c_str());
  t->SetAutoFlush(100);
  Float_t x, var[3];
  Double_t pair[2];
  Int_t nv, label;
  t->Branch("x", &x, "x/F");
  t->Branch("pair", pair, "pair[2]/D");
  t->Branch("n", &nv, "n/I");
  t->Branch("var", var, "var[n]/F");
  t->Branch("label", &label, "label/I");
  for (long long e = 0; e < n; ++e) {
    x = static_cast<float>(e % 10);
    pair[0] = static_cast<double>(e % 7), pair[1] = 1;
    nv = static_cast<Int_t>(e % 4 == 3 ? 3 : e % 4);
    for (int k = 0; k < 3; ++k) var[k] = 0.5f;
    label = static_cast<Int_t>(e % 2);
    t->Fill();
  }
  out.Write();
  out.Close();
  return f;
}

const std::string& fault_source() {
  static const std::string f = write_fault_tree("faults_source.root", kFaultEntries);
  return f;
}

StreamOptions options(long long chunk, long long buffer, bool shuffle) {
  StreamOptions o;
  o.chunk_entries = chunk;
  o.shuffle_buffer = buffer;
  o.shuffle = shuffle;
  return o;
}

// Reads epoch `epoch` to its end (or its error); the rows read before.
long long read_epoch_rows(StreamDataset& s, int epoch, long long* rows) {
  s.begin_epoch(epoch);
  std::vector<float> x, y;
  *rows = 0;
  while (long long n = s.next_batch(100, x, y)) *rows += n;
  return *rows;
}

TEST(RootDataStreamFaults, ACorruptBasketNamesTheColumnTheEntryAndTheFile) {
  struct Case {
    const char* branch;
    std::string what;
  };
  const std::vector<Case> cases = {
      {"x", "reading feature column 'x'"},
      {"pair", "reading feature column 'pair'"},
      {"var", "reading feature column 'var'"},
      {"n", "reading branch 'n' (the sizes of feature column 'var')"},
      {"label", "reading label column 'label'"},
  };
  for (const auto& c : cases) {
    const std::string bad = tmp(std::string("corrupt_") + c.branch + ".root");
    const long long entry = corrupt_basket(fault_source(), bad, "t", c.branch, kBadBasket);
    ASSERT_EQ(entry, 1000);
    // In entry order: the rows before the basket arrive, then the error.
    StreamDataset s({bad}, "t", {"x", "pair", "var[:3]"}, "label", "", options(64, 0, false));
    for (int epoch : {1, 2}) {  // begin_epoch starts over: the same error again
      long long rows = 0;
      EXPECT_TRUE(throws_with([&] { within(60, [&] { read_epoch_rows(s, epoch, &rows); }); },
                              {"StreamDataset: " + c.what + " at entry 1000 (entry 1000 of file '" + bad +
                                   "') failed: ROOT could not read its basket",
                               "is the file corrupt or truncated?"}))
          << c.branch << ", epoch " << epoch;
      EXPECT_EQ(rows, 1000) << c.branch;
    }
    // Shuffled, read ahead: the same error, on the caller's thread.
    StreamDataset shuffled({bad}, "t", {"x", "pair", "var[:3]"}, "label", "", options(50, 300, true));
    long long rows = 0;
    EXPECT_TRUE(throws_with([&] { within(60, [&] { read_epoch_rows(shuffled, 1, &rows); }); },
                            {"StreamDataset: " + c.what + " at entry 10", "of file '" + bad + "') failed"}))
        << c.branch;
  }
  // Other streams, and a new stream of the good file, read as before.
  StreamDataset good({fault_source()}, "t", {"x", "pair", "var[:3]"}, "label", "", options(64, 200, true));
  long long rows = 0;
  within(60, [&] { read_epoch_rows(good, 1, &rows); });
  EXPECT_EQ(rows, kFaultEntries);
}

// A corrupt basket at entry 0 is found when the stream opens (it reads entry 0).
TEST(RootDataStreamFaults, ACorruptFirstBasketIsFoundWhenOpening) {
  const std::string bad = tmp("corrupt_first.root");
  corrupt_basket(fault_source(), bad, "t", "pair", 0);
  EXPECT_TRUE(throws_with([&] { StreamDataset s({bad}, "t", {"x", "pair"}, "label"); },
                          {"StreamDataset: reading feature column 'pair' at entry 0 (entry 0 of file '" +
                           bad + "') failed: ROOT could not read its basket"}));
}

// A file cut in the middle: an error naming the file, when opened or when
// read, never a crash or a wait.
TEST(RootDataStreamFaults, ATruncatedFile) {
  const std::string cut = tmp("truncated.root");
  truncate_copy(fault_source(), cut, static_cast<long long>(std::filesystem::file_size(fault_source()) / 2));
  EXPECT_TRUE(throws_with(
      [&] {
        within(60, [&] {
          StreamDataset s({cut}, "t", {"x", "pair", "var[:3]"}, "label", "", options(64, 0, false));
          long long rows = 0;
          read_epoch_rows(s, 1, &rows);
        });
      },
      {"StreamDataset: ", cut}));
}

// The second file of a chain replaced, between epochs, by one without the tree.
TEST(RootDataStreamFaults, ATreeGoneBetweenEpochs) {
  const std::string a = write_fault_tree("gone_a.root", 500), b = write_fault_tree("gone_b.root", 500);
  StreamDataset s({a, b}, "t", {"x", "pair"}, "label", "", options(100, 0, false));
  long long rows = 0;
  within(60, [&] { read_epoch_rows(s, 1, &rows); });
  EXPECT_EQ(rows, 1000);
  const std::string other = write_fault_tree("gone_other.root", 10, "other");
  std::filesystem::rename(other, b);
  EXPECT_TRUE(throws_with([&] { within(60, [&] { read_epoch_rows(s, 2, &rows); }); },
                          {"StreamDataset: reading entry 500 (entry 0 of file '" + b + "') failed"}));
  EXPECT_EQ(rows, 500);
}

}  // namespace
}  // namespace torchclad
