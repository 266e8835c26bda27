// Tests of the ROOT data layer (root/data/tree_dataset.*): IDX -> ROOT -> tensors
// round trips on small synthetic data in a fresh temporary directory, reading
// ranges, implicit MT on and off, RDataFrame nodes after Filter/Define, every
// bad input with its message, and the installed Fashion-MNIST converted whole.
#include <ROOT/RDataFrame.hxx>
#include <TFile.h>
#include <TNamed.h>
#include <TROOT.h>
#include <TTree.h>
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "data/binary_dataset.hpp"
#include "data/mnist.hpp"
#include "data/tree_dataset.hpp"
#include "rootdata_util.hpp"

namespace fs = std::filesystem;
using torchclad::data::load_mnist;
using torchclad::data::MnistSplit;
using torchclad::rootdata::read_mnist_shape;
using torchclad::rootdata::read_rdataframe;
using torchclad::rootdata::read_tree;
using torchclad::rootdata::write_mnist_root;
using namespace torchclad::rootdata_testing;

namespace {

using Bytes = std::vector<uint8_t>;

// IDX bytes: magic 00 00 08 ndims, big-endian sizes, then the payload.
Bytes idx_bytes(const std::vector<uint32_t>& dims, const Bytes& payload) {
  Bytes b = {0, 0, 0x08, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims)
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(d >> s));
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

void write_bytes(const std::string& path, const Bytes& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

Bytes read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(f), {});
}

// A small MNIST-format directory: 4x3 images whose pixels take every byte value.
constexpr int kRows = 4, kCols = 3, kFeatures = kRows * kCols, kTrain = 300, kTest = 40;

const std::string& synthetic_idx_dir() {
  static const std::string dir = [] {
    const std::string d = tmp("idx");
    fs::create_directories(d);
    auto images = [](uint32_t n, uint32_t salt) {
      Bytes px(n * kFeatures);
      for (size_t i = 0; i < px.size(); ++i) px[i] = static_cast<uint8_t>(i * 7 + salt);
      return idx_bytes({n, kRows, kCols}, px);
    };
    auto labels = [](uint32_t n) {
      Bytes lb(n);
      for (uint32_t i = 0; i < n; ++i) lb[i] = static_cast<uint8_t>((i * 3) % 10);
      return idx_bytes({n}, lb);
    };
    write_bytes(d + "/train-images-idx3-ubyte", images(kTrain, 0));
    write_bytes(d + "/train-labels-idx1-ubyte", labels(kTrain));
    write_bytes(d + "/t10k-images-idx3-ubyte", images(kTest, 5));
    write_bytes(d + "/t10k-labels-idx1-ubyte", labels(kTest));
    return d;
  }();
  return dir;
}

// The synthetic IDX directory converted once.
const std::string& synthetic_root_file() {
  static const std::string file = [] {
    const std::string f = tmp("synthetic.root");
    write_mnist_root(load_mnist(synthetic_idx_dir()), f);
    return f;
  }();
  return file;
}

// A tree of kBig entries in clusters of 1000 (so implicit MT runs ~20 tasks),
// whose rows tell their entry number: fimage = entry + j, bimage[0..1] = entry's bytes.
constexpr long long kBig = 20000;

const std::string& big_file() {
  static const std::string file = [] {
    const std::string f = tmp("big.root");
    write_root(f, [](TFile&) {
      auto* t = new TTree("t", "entries that know their number");
      t->SetAutoFlush(1000);
      float fimage[kFeatures];
      UChar_t bimage[kFeatures];
      Int_t label;
      t->Branch("fimage", fimage, ("fimage[" + std::to_string(kFeatures) + "]/F").c_str());
      t->Branch("bimage", bimage, ("bimage[" + std::to_string(kFeatures) + "]/b").c_str());
      t->Branch("label", &label, "label/I");
      for (long long e = 0; e < kBig; ++e) {
        for (int j = 0; j < kFeatures; ++j) {
          fimage[j] = static_cast<float>(e + j);
          bimage[j] = static_cast<UChar_t>(j < 2 ? e >> (8 * j) : e * j);
        }
        label = static_cast<Int_t>(e % 7);
        t->Fill();
      }
    });
    return f;
  }();
  return file;
}

// A file with one tree per kind of bad (or unusual) input, and a TNamed.
const std::string& odd_file() {
  static const std::string file = [] {
    const std::string f = tmp("odd.root");
    write_root(f, [](TFile& file) {
      UChar_t image[kFeatures] = {};
      Int_t label = 0;
      auto standard = [&](const char* name) {
        auto* t = new TTree(name, name);
        t->Branch("image", image, ("image[" + std::to_string(kFeatures) + "]/b").c_str());
        t->Branch("label", &label, "label/I");
        return t;
      };
      standard("empty");
      {
        auto* t = standard("strings");
        std::string name = "hello";
        t->Branch("name", &name);
        for (int i = 0; i < 5; ++i) t->Fill();
      }
      {
        auto* t = new TTree("scalar", "scalar image");
        float x = 1;
        t->Branch("x", &x, "x/F");
        t->Branch("label", &label, "label/I");
        for (int i = 0; i < 5; ++i) t->Fill();
      }
      {
        auto* t = new TTree("ragged", "variable-length images");
        Int_t n = 0;
        float img[kFeatures] = {};
        t->Branch("n", &n, "n/I");
        t->Branch("image", img, "image[n]/F");
        t->Branch("label", &label, "label/I");
        for (int i = 0; i < 20; ++i) {
          n = i == 7 ? 5 : kFeatures;
          t->Fill();
        }
      }
      {
        auto* t = standard("negative");
        for (int i = 0; i < 100; ++i) {
          label = i == 42 ? -3 : i % 10;
          t->Fill();
        }
        label = 0;
      }
      {
        // std::vector<double> images, Long64_t and UChar_t labels, a float label.
        auto* t = new TTree("vectors", "vector columns");
        std::vector<double> img(kFeatures);
        Long64_t llabel = 0;
        UChar_t blabel = 0;
        float flabel = 0;
        t->Branch("image", &img);
        t->Branch("llabel", &llabel, "llabel/L");
        t->Branch("blabel", &blabel, "blabel/b");
        t->Branch("flabel", &flabel, "flabel/F");
        for (int i = 0; i < 30; ++i) {
          for (int j = 0; j < kFeatures; ++j) img[j] = 0.5 * i + j;
          llabel = i, blabel = static_cast<UChar_t>(2 * i), flabel = 1.5f * i;
          t->Fill();
        }
      }
      TNamed note("notatree", "a TNamed");
      file.WriteTObject(&note);
    });
    return f;
  }();
  return file;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

::testing::AssertionResult same(const MnistSplit& a, const MnistSplit& b) {
  if (!a.images.sizes().equals(b.images.sizes()) || !a.labels.sizes().equals(b.labels.sizes()))
    return ::testing::AssertionFailure() << "shapes differ: " << a.images.sizes() << "/" << a.labels.sizes()
                                         << " vs " << b.images.sizes() << "/" << b.labels.sizes();
  if (a.images.dtype() != b.images.dtype() || a.labels.dtype() != b.labels.dtype())
    return ::testing::AssertionFailure() << "dtypes differ";
  if (!torch::equal(a.images, b.images)) {
    const auto rows = (a.images != b.images).any(1).nonzero();
    return ::testing::AssertionFailure() << "images differ, first at row " << rows[0].item<int64_t>();
  }
  if (!torch::equal(a.labels, b.labels)) return ::testing::AssertionFailure() << "labels differ";
  return ::testing::AssertionSuccess();
}

// Where writers put a file before renaming it into place (support/partial_file.hpp).
std::string hidden_partial(const std::string& path) {
  return (fs::path(path).parent_path() / ("." + fs::path(path).filename().string() + ".partial")).string();
}

}  // namespace

// ------------------------------------------------------------- round trips ---

static void IdxToRootToTensorsIsExact() {
  const auto ds = load_mnist(synthetic_idx_dir());
  const std::string file = tmp("roundtrip.root");
  EXPECT_EQ(write_mnist_root(ds, file), kTrain + kTest);
  EXPECT_FALSE(fs::exists(hidden_partial(file)));
  EXPECT_TRUE(same(read_tree(file, "train", "image", "label"), ds.train));
  EXPECT_TRUE(same(read_tree(file, "test", "image", "label"), ds.test));
  EXPECT_EQ(read_mnist_shape(file), (std::pair<long long, long long>(kRows, kCols)));
  // The branches as written.
  TFile f(file.c_str());
  auto* t = f.Get<TTree>("train");
  ASSERT_NE(t, nullptr);
  EXPECT_STREQ(t->GetBranch("image")->GetTitle(), "image[12]/b");
  EXPECT_STREQ(t->GetBranch("label")->GetTitle(), "label/I");
}

static void ReadsARange() {
  const auto ds = load_mnist(synthetic_idx_dir());
  const auto& file = synthetic_root_file();
  auto part = read_tree(file, "train", "image", "label", 7, 20);
  EXPECT_TRUE(same(part, {ds.train.images.slice(0, 7, 27), ds.train.labels.slice(0, 7, 27)}));
  auto tail = read_tree(file, "train", "image", "label", kTrain - 13);
  EXPECT_TRUE(same(tail, {ds.train.images.slice(0, kTrain - 13), ds.train.labels.slice(0, kTrain - 13)}));
  auto last = read_tree(file, "test", "image", "label", kTest - 1, 1);
  EXPECT_TRUE(same(last, {ds.test.images.slice(0, kTest - 1), ds.test.labels.slice(0, kTest - 1)}));
}

TEST(RootData, RoundTripAndRanges) {
  {
    SCOPED_TRACE("IdxToRootToTensorsIsExact");
    IdxToRootToTensorsIsExact();
  }
  {
    SCOPED_TRACE("ReadsARange");
    ReadsARange();
  }
}

// While a file is written, a directory lister (JupyterLab's file browser via
// jupyter_server) sees no name but the final one: the partial file is hidden,
// so no entry it listed can vanish before it stats it.
TEST(RootData, WriterShowsNoVisiblePartialFile) {
  const auto ds = load_mnist(synthetic_idx_dir());
  const fs::path dir = tmp("lister");
  fs::create_directories(dir);
  std::atomic<bool> done{false};
  std::atomic<int> listings{0};
  std::set<std::string> seen;
  std::thread lister([&] {
    while (!done) {
      for (const auto& e : fs::directory_iterator(dir)) {
        const std::string name = e.path().filename().string();
        if (name[0] != '.') seen.insert(name);
      }
      ++listings;
    }
  });
  while (listings == 0) std::this_thread::yield();  // listing before the write starts
  // On a loaded machine the lister may not run during one write: write again
  // until listings were made while a file was being written.
  int during = 0;
  for (int attempt = 0; attempt < 50 && during == 0; ++attempt) {
    const int before = listings;
    write_mnist_root(ds, (dir / "out.root").string());
    during = listings - before;
  }
  done = true;
  lister.join();
  EXPECT_GT(during, 0);
  seen.erase("out.root");  // seen or not, depending on the last listing's timing
  EXPECT_EQ(seen, std::set<std::string>());
}

static void RowsAreEntriesInOrderWithAndWithoutImplicitMT() {
  const auto& file = big_file();
  const auto entries = torch::arange(kBig, torch::kFloat32);
  for (bool mt : {false, true}) {
    std::optional<ImplicitMT> imt;
    if (mt) imt.emplace();
    SCOPED_TRACE(mt ? "implicit MT" : "sequential");
    const auto all = read_tree(file, "t", "fimage", "label");
    ASSERT_EQ(all.images.size(0), kBig);
    EXPECT_TRUE(torch::equal(all.images.select(1, 0), entries));
    EXPECT_TRUE(torch::equal(all.images.select(1, 5), entries + 5));
    EXPECT_TRUE(torch::equal(all.labels, torch::arange(kBig, torch::kInt64) % 7));
    const auto range = read_tree(file, "t", "fimage", "label", 1234, 5000);
    EXPECT_TRUE(torch::equal(range.images.select(1, 0), entries.slice(0, 1234, 6234)));
    // Bytes: entry = b0 + 256 * b1.
    const auto bytes = read_tree(file, "t", "bimage", "label", 333);
    const auto entry =
        (bytes.images.select(1, 0) * 255).round() + 256 * (bytes.images.select(1, 1) * 255).round();
    EXPECT_TRUE(torch::equal(entry, entries.slice(0, 333)));
  }
}

static void ImplicitMTGivesIdenticalTensors() {
  const auto& file = big_file();
  const auto off = read_tree(file, "t", "bimage", "label", 100, 15000);
  MnistSplit on;
  {
    ImplicitMT imt;
    on = read_tree(file, "t", "bimage", "label", 100, 15000);
  }
  EXPECT_TRUE(same(on, off));
}

TEST(RootData, ImplicitMTOnAndOff) {
  {
    SCOPED_TRACE("RowsAreEntriesInOrderWithAndWithoutImplicitMT");
    RowsAreEntriesInOrderWithAndWithoutImplicitMT();
  }
  {
    SCOPED_TRACE("ImplicitMTGivesIdenticalTensors");
    ImplicitMTGivesIdenticalTensors();
  }
}

TEST(RootData, ReadsFloatVectorAndIntegerColumns) {
  const auto& file = odd_file();
  const auto v = read_tree(file, "vectors", "image", "llabel");
  ASSERT_EQ(v.images.size(0), 30);
  ASSERT_EQ(v.images.size(1), kFeatures);
  EXPECT_EQ(v.images[3][2].item<float>(), 3.5f);  // doubles as they are
  EXPECT_TRUE(torch::equal(v.labels, torch::arange(30, torch::kInt64)));
  const auto b = read_tree(file, "vectors", "image", "blabel");
  EXPECT_TRUE(torch::equal(b.labels, 2 * torch::arange(30, torch::kInt64)));
}

static void ReadRDataFrameAfterFilter() {
  const auto& file = big_file();
  const auto all = read_tree(file, "t", "bimage", "label");
  const auto mask = all.labels.eq(3);
  const MnistSplit expected{all.images.index({mask}), all.labels.index({mask})};
  for (bool mt : {false, true}) {
    std::optional<ImplicitMT> imt;
    if (mt) imt.emplace();
    SCOPED_TRACE(mt ? "implicit MT" : "sequential");
    ROOT::RDataFrame df("t", file);
    const auto got = read_rdataframe(df.Filter([](Int_t l) { return l == 3; }, {"label"}), "bimage", "label");
    EXPECT_TRUE(same(got, expected));
  }
}

static void ReadRDataFrameOverAChainKeepsFileOrder() {
  std::vector<std::string> files;
  for (int k = 0; k < 2; ++k) {
    files.push_back(tmp("chain-" + std::to_string(k) + ".root"));
    write_root(files.back(), [k](TFile&) {
      auto* t = new TTree("t", "part of a chain");
      t->SetAutoFlush(250);
      float image[2];
      Int_t label;
      t->Branch("image", image, "image[2]/F");
      t->Branch("label", &label, "label/I");
      for (int i = 0; i < 3000; ++i) {
        image[0] = static_cast<float>(k * 3000 + i), image[1] = static_cast<float>(k);
        label = i % 10;
        t->Fill();
      }
    });
  }
  for (bool mt : {false, true}) {
    std::optional<ImplicitMT> imt;
    if (mt) imt.emplace();
    SCOPED_TRACE(mt ? "implicit MT" : "sequential");
    ROOT::RDataFrame df("t", files);
    const auto got = read_rdataframe(df, "image", "label");
    EXPECT_TRUE(torch::equal(got.images.select(1, 0), torch::arange(6000, torch::kFloat32)));
    const auto odd =
        read_rdataframe(df.Filter([](Int_t l) { return l % 2 == 1; }, {"label"}), "image", "label");
    EXPECT_TRUE(torch::equal(odd.images.select(1, 0), torch::arange(1, 6000, 2, torch::kFloat32)));
  }
}

static void ReadRDataFrameOfDefinedColumns() {
  for (bool mt : {false, true}) {
    std::optional<ImplicitMT> imt;
    if (mt) imt.emplace();
    SCOPED_TRACE(mt ? "implicit MT" : "sequential");
    ROOT::RDataFrame df(5000);
    auto d = df.Define("img", [](ULong64_t e) { return std::vector<float>{float(e), 1, 2}; }, {"rdfentry_"})
                 .Define("dimg", [](ULong64_t e) { return ROOT::RVec<double>{double(e) / 2}; }, {"rdfentry_"})
                 .Define("lab", [](ULong64_t e) { return static_cast<int64_t>(e % 10); }, {"rdfentry_"});
    const auto v = read_rdataframe(d, "img", "lab");
    ASSERT_EQ(v.images.size(0), 5000);
    EXPECT_TRUE(torch::equal(v.images.select(1, 0), torch::arange(5000, torch::kFloat32)));
    EXPECT_TRUE(torch::equal(v.labels, torch::arange(5000, torch::kInt64) % 10));
    const auto r = read_rdataframe(d.Filter([](int64_t l) { return l == 9; }, {"lab"}), "dimg", "lab");
    EXPECT_TRUE(torch::equal(r.images.select(1, 0), torch::arange(9, 5000, 10, torch::kFloat32) / 2));
    // 300 entries: under implicit MT, tasks {0, 75}, {75, 150}, {150, 225},
    // {225, 300}, whose names do not sort as their entries do.
    ROOT::RDataFrame small(300);
    const auto s = read_rdataframe(
        small.Define("img", [](ULong64_t e) { return ROOT::RVec<float>{float(e)}; }, {"rdfentry_"})
            .Define("lab", [] { return 0; }),
        "img", "lab");
    EXPECT_TRUE(torch::equal(s.images.select(1, 0), torch::arange(300, torch::kFloat32)));
  }
}

TEST(RootData, ReadRDataFrame) {
  {
    SCOPED_TRACE("ReadRDataFrameAfterFilter");
    ReadRDataFrameAfterFilter();
  }
  {
    SCOPED_TRACE("ReadRDataFrameOverAChainKeepsFileOrder");
    ReadRDataFrameOverAChainKeepsFileOrder();
  }
  {
    SCOPED_TRACE("ReadRDataFrameOfDefinedColumns");
    ReadRDataFrameOfDefinedColumns();
  }
}

// ---------------------------------------------------------------- bad input ---

static void MissingFile() {
  const std::string f = tmp("no-such-file.root");
  EXPECT_TRUE(
      throws_with([&] { read_tree(f, "train", "image", "label"); }, {"read_tree", "no such file", f}));
}

static void NotARootFile() {
  const std::string f = tmp("random.root");
  Bytes junk(4096);
  std::mt19937 rng(1);
  for (auto& b : junk) b = static_cast<uint8_t>(rng());
  write_bytes(f, junk);
  EXPECT_TRUE(throws_with([&] { read_tree(f, "train", "image", "label"); }, {"not a ROOT file", f}));
  EXPECT_TRUE(
      throws_with([&] { read_tree(tmp_dir().string(), "train", "image", "label"); }, {"is a directory"}));
}

static void TruncatedFile() {
  const Bytes whole = read_bytes(big_file());
  // Cut in the middle: ROOT finds no keys and gives up.
  const std::string half = tmp("cut-half.root");
  write_bytes(half, Bytes(whole.begin(), whole.begin() + whole.size() / 2));
  EXPECT_TRUE(throws_with([&] { read_tree(half, "t", "fimage", "label"); },
                          {"read_tree", half, "truncated or corrupt"}));
  // Cut near the end: ROOT recovers some keys, but the file is still incomplete.
  const std::string most = tmp("cut-most.root");
  write_bytes(most, Bytes(whole.begin(), whole.end() - 2000));
  EXPECT_TRUE(throws_with([&] { read_tree(most, "t", "fimage", "label"); },
                          {"read_tree", most, "truncated or corrupt"}));
}

static void FileNotClosedByItsWriter() {
  // A copy taken while the writer still had the file open (as after a crash).
  const std::string open_copy = tmp("not-closed.root");
  {
    TDirectory::TContext keep;
    TFile f(tmp("being-written.root").c_str(), "RECREATE");
    auto* t = new TTree("t", "t");
    UChar_t image[kFeatures] = {};
    Int_t label = 1;
    t->Branch("image", image, ("image[" + std::to_string(kFeatures) + "]/b").c_str());
    t->Branch("label", &label, "label/I");
    for (int i = 0; i < 100; ++i) t->Fill();
    t->Write();
    f.Flush();
    fs::copy_file(f.GetName(), open_copy);
    f.Close();
  }
  EXPECT_TRUE(throws_with([&] { read_tree(open_copy, "t", "image", "label"); },
                          {"read_tree", open_copy, "was not closed properly"}));
}

static void CorruptBasketsGiveAnErrorNotACrash() {
  // Spoil the compression headers ("ZL\10": zlib, ROOT's default for TFile) of
  // the baskets in the middle of the file.
  Bytes bytes = read_bytes(big_file());
  int spoiled = 0;
  for (size_t i = bytes.size() / 4; i + 3 < bytes.size() / 2; ++i)
    if (bytes[i] == 'Z' && bytes[i + 1] == 'L' && bytes[i + 2] == 8) bytes[i] = bytes[i + 1] = 'Q', ++spoiled;
  ASSERT_GT(spoiled, 3);
  const std::string f = tmp("corrupt.root");
  write_bytes(f, bytes);
  for (bool mt : {false, true}) {
    std::optional<ImplicitMT> imt;
    if (mt) imt.emplace();
    EXPECT_TRUE(throws_with([&] { read_tree(f, "t", "fimage", "label"); }, {"read_tree", f, "failed"}));
  }
}

TEST(RootDataErrors, BadFiles) {
  {
    SCOPED_TRACE("MissingFile");
    MissingFile();
  }
  {
    SCOPED_TRACE("NotARootFile");
    NotARootFile();
  }
  {
    SCOPED_TRACE("TruncatedFile");
    TruncatedFile();
  }
  {
    SCOPED_TRACE("FileNotClosedByItsWriter");
    FileNotClosedByItsWriter();
  }
  {
    SCOPED_TRACE("CorruptBasketsGiveAnErrorNotACrash");
    CorruptBasketsGiveAnErrorNotACrash();
  }
}

static void MissingTreeListsTheTrees() {
  EXPECT_TRUE(throws_with([&] { read_tree(synthetic_root_file(), "validation", "image", "label"); },
                          {"no tree 'validation'", "train (TTree)", "test (TTree)"}));
  EXPECT_TRUE(throws_with([&] { read_tree(odd_file(), "notatree", "image", "label"); },
                          {"'notatree'", "is a TNamed, not a TTree"}));
}

static void MissingColumnListsTheColumns() {
  EXPECT_TRUE(throws_with([&] { read_tree(synthetic_root_file(), "train", "pixels", "label"); },
                          {"no column 'pixels'", "the columns are:", "image", "label"}));
  EXPECT_TRUE(throws_with([&] { read_tree(synthetic_root_file(), "train", "image", "target"); },
                          {"no column 'target'"}));
}

static void WrongColumnTypes() {
  const auto& f = odd_file();
  EXPECT_TRUE(throws_with([&] { read_tree(f, "strings", "name", "label"); },
                          {"image column 'name' has type", "string", "expected an array"}));
  EXPECT_TRUE(throws_with([&] { read_tree(f, "strings", "image", "name"); },
                          {"label column 'name' has type", "expected one integer per entry"}));
  EXPECT_TRUE(throws_with([&] { read_tree(f, "scalar", "x", "label"); },
                          {"image column 'x' holds one Float_t per entry", "expected an array"}));
  EXPECT_TRUE(throws_with([&] { read_tree(f, "vectors", "image", "flabel"); },
                          {"label column 'flabel' has type Float_t"}));
}

static void ImagesOfDifferentLengths() {
  EXPECT_TRUE(throws_with([&] { read_tree(odd_file(), "ragged", "image", "label"); },
                          {"different lengths", "entry 7 has 5 values", "has 12"}));
  ROOT::RDataFrame df(10);
  auto d = df.Define("img", [](ULong64_t e) { return ROOT::RVec<float>(e == 4 ? 2 : 3); }, {"rdfentry_"})
               .Define("lab", [] { return 1; });
  EXPECT_TRUE(throws_with([&] { read_rdataframe(d, "img", "lab"); },
                          {"read_rdataframe", "different lengths", "rdfentry_ 4 has 2 values"}));
}

static void EmptyTreeAndEmptyRanges() {
  EXPECT_TRUE(throws_with([&] { read_tree(odd_file(), "empty", "image", "label"); },
                          {"'empty'", "the tree is empty"}));
  const auto& f = synthetic_root_file();
  EXPECT_TRUE(throws_with([&] { read_tree(f, "test", "image", "label", 3, 0); }, {"empty range"}));
  EXPECT_TRUE(
      throws_with([&] { read_tree(f, "test", "image", "label", -1, 5); }, {"first entry must be >= 0"}));
  ROOT::RDataFrame df("train", f);
  EXPECT_TRUE(throws_with(
      [&] { read_rdataframe(df.Filter([](Int_t l) { return l > 100; }, {"label"}), "image", "label"); },
      {"no entries selected"}));
}

static void RangePastTheEnd() {
  const auto& f = synthetic_root_file();
  EXPECT_TRUE(throws_with([&] { read_tree(f, "test", "image", "label", kTest); },
                          {"range past the end", "first entry 40", "has 40 entries"}));
  EXPECT_TRUE(throws_with([&] { read_tree(f, "test", "image", "label", 30, 11); },
                          {"range past the end", "[30, 41)", "has 40 entries"}));
}

static void NegativeLabels() {
  for (bool mt : {false, true}) {
    std::optional<ImplicitMT> imt;
    if (mt) imt.emplace();
    EXPECT_TRUE(throws_with([&] { read_tree(odd_file(), "negative", "image", "label"); },
                            {"negative label -3", "column 'label'", "entry 42"}));
  }
}

static void ReadRDataFrameMissingColumn() {
  ROOT::RDataFrame df(3);
  auto d = df.Define("lab", [] { return 1; });
  EXPECT_TRUE(
      throws_with([&] { read_rdataframe(d, "img", "lab"); }, {"read_rdataframe", "no column 'img'", "lab"}));
}

TEST(RootDataErrors, BadValuesAndRanges) {
  {
    SCOPED_TRACE("ImagesOfDifferentLengths");
    ImagesOfDifferentLengths();
  }
  {
    SCOPED_TRACE("NegativeLabels");
    NegativeLabels();
  }
  {
    SCOPED_TRACE("EmptyTreeAndEmptyRanges");
    EmptyTreeAndEmptyRanges();
  }
  {
    SCOPED_TRACE("RangePastTheEnd");
    RangePastTheEnd();
  }
}

TEST(RootDataErrors, TreesAndColumns) {
  {
    SCOPED_TRACE("MissingTreeListsTheTrees");
    MissingTreeListsTheTrees();
  }
  {
    SCOPED_TRACE("MissingColumnListsTheColumns");
    MissingColumnListsTheColumns();
  }
  {
    SCOPED_TRACE("WrongColumnTypes");
    WrongColumnTypes();
  }
  {
    SCOPED_TRACE("ReadRDataFrameMissingColumn");
    ReadRDataFrameMissingColumn();
  }
}

TEST(RootDataErrors, WriteErrors) {
  auto ds = load_mnist(synthetic_idx_dir());
  const std::string nodir = tmp("no-such-dir") + "/out.root";
  EXPECT_TRUE(
      throws_with([&] { write_mnist_root(ds, nodir); }, {"write_mnist_root", nodir, "does not exist"}));
  ds.test.images = ds.test.images * 2;
  const std::string f = tmp("bad-pixels.root");
  EXPECT_TRUE(throws_with([&] { write_mnist_root(ds, f); }, {f, "test split", "expected a value in [0, 1]"}));
  EXPECT_FALSE(fs::exists(f));
  EXPECT_FALSE(fs::exists(hidden_partial(f)));
  EXPECT_TRUE(throws_with([&] { read_mnist_shape(odd_file()); }, {"no TNamed 'mnist_shape'"}));
}

// ------------------------------------------------------- real Fashion-MNIST ---

// One test (one process under ctest): the conversion takes ~3 s.
TEST(FashionMnist, ConvertsEveryEntryExactlyWithAndWithoutImplicitMT) {
  const std::string dir = torchclad::data::default_fashion_mnist_dir();
  if (!fs::exists(dir + "/train-images-idx3-ubyte.gz") && !fs::exists(dir + "/train-images-idx3-ubyte"))
    GTEST_SKIP() << "Fashion-MNIST is not installed in " << dir;
  const auto ds = load_mnist(dir);
  const std::string file = tmp("fashion-mnist.root");
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(write_mnist_root(ds, file), 70000);
  std::printf("[ timing ] Fashion-MNIST -> ROOT (ZSTD 5): %.2f s, %.1f MB\n", seconds_since(t0),
              fs::file_size(file) / 1e6);
  EXPECT_EQ(read_mnist_shape(file), (std::pair<long long, long long>(28, 28)));

  t0 = std::chrono::steady_clock::now();
  const auto train = read_tree(file, "train", "image", "label");
  std::printf("[ timing ] read_tree train (60000), sequential: %.3f s\n", seconds_since(t0));
  const auto test = read_tree(file, "test", "image", "label");
  EXPECT_EQ(train.images.size(0), 60000);
  EXPECT_EQ(test.images.size(0), 10000);
  EXPECT_TRUE(torch::equal(train.images[0], ds.train.images[0]));
  EXPECT_TRUE(same(train, ds.train));
  EXPECT_TRUE(same(test, ds.test));

  ImplicitMT imt;
  t0 = std::chrono::steady_clock::now();
  const auto on = read_tree(file, "train", "image", "label");
  std::printf("[ timing ] read_tree train (60000), implicit MT (2 threads): %.3f s\n", seconds_since(t0));
  EXPECT_TRUE(same(on, train));
  const auto range_on = read_tree(file, "train", "image", "label", 12345, 30000);
  EXPECT_TRUE(same(range_on, {train.images.slice(0, 12345, 42345), train.labels.slice(0, 12345, 42345)}));
}

// Binary windows (root/data/binary_dataset.*): features, 0/1 labels and SNR
// come out row for row, from a TTree and from an RDataFrame node (the SNR
// rides along in one event loop), with implicit MT on as well.
namespace {

constexpr int kWindows = 5000, kWindowLength = 16;

// Window i: strain[j] = i + j/100, label = i % 2, snr = i / 10 for signals, 0 for noise.
const std::string& windows_file() {
  static const std::string file = [] {
    const std::string f = tmp("windows.root");
    write_root(f, [](TFile&) {
      auto* t = new TTree("train", "windows that know their number");
      float strain[kWindowLength], snr = 0, merger = 0;
      int label = 0;
      t->Branch("strain", strain, ("strain[" + std::to_string(kWindowLength) + "]/F").c_str());
      t->Branch("label", &label, "label/I");
      t->Branch("snr", &snr, "snr/F");
      t->Branch("merger_time", &merger, "merger_time/F");
      t->SetAutoFlush(-20000);  // ~20 kB clusters: several tasks under implicit MT
      for (int i = 0; i < kWindows; ++i) {
        for (int j = 0; j < kWindowLength; ++j) strain[j] = i + j / 100.0f;
        label = i % 2;
        snr = label ? i / 10.0f : 0.0f;
        merger = label ? 0.5f : -1.0f;
        t->Fill();
      }
    });
    return f;
  }();
  return file;
}

void expect_windows(const torchclad::data::BinarySplit& s, int first, int n) {
  ASSERT_EQ(s.x.size(0), n);
  ASSERT_EQ(s.x.size(1), kWindowLength);
  ASSERT_TRUE(s.snr.defined());
  for (int r = 0; r < n; r += 97) {
    const int i = first + r;
    EXPECT_FLOAT_EQ(s.x[r][0].item<float>(), float(i)) << "row " << r;
    EXPECT_FLOAT_EQ(s.x[r][kWindowLength - 1].item<float>(), i + (kWindowLength - 1) / 100.0f);
    EXPECT_EQ(s.targets[r].item<float>(), float(i % 2));
    EXPECT_FLOAT_EQ(s.snr[r].item<float>(), i % 2 ? i / 10.0f : 0.0f);
  }
}

}  // namespace

TEST(BinaryData, FromTreeAndRDataFrameRowForRow) {
  using namespace torchclad::rootdata;
  expect_windows(read_binary_tree(windows_file(), "train"), 0, kWindows);
  expect_windows(read_binary_tree(windows_file(), "train", {}, 1234, 100), 1234, 100);
  const auto plain = read_binary_rdataframe(ROOT::RDataFrame("train", windows_file()));
  expect_windows(plain, 0, kWindows);
  ImplicitMT imt;
  const auto mt = read_binary_rdataframe(ROOT::RDataFrame("train", windows_file()));
  EXPECT_TRUE(torch::equal(mt.x, plain.x));
  EXPECT_TRUE(torch::equal(mt.targets, plain.targets));
  EXPECT_TRUE(torch::equal(mt.snr, plain.snr));
}

TEST(BinaryData, ErrorsNameTheColumn) {
  using namespace torchclad::rootdata;
  const auto message = [](const std::function<void()>& f) {
    try {
      f();
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message([] {
              read_binary_tree(windows_file(), "train", {"strain", "label", "loudness"});
            }).find("no SNR column 'loudness'; the columns are: strain, label, snr, merger_time"),
            std::string::npos);
  ROOT::RDataFrame df("train", windows_file());
  EXPECT_NE(
      message([&] {
        read_binary_rdataframe(df.Define("three", "label + 2"), {"strain", "three", "snr"});
      }).find("label column 'three' holds 2 at row 0; a binary classifier expects 0 (noise) or 1 (signal)"),
      std::string::npos);
  EXPECT_NE(message([&] {
              read_binary_rdataframe(df, {"strain", "label", "loudness"});
            }).find("no SNR column 'loudness'"),
            std::string::npos);
}
