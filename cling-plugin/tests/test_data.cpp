// Tests of the IDX reader and the MNIST loader on small files written to a
// fresh temporary directory, plus one load of the installed Fashion-MNIST.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "data/idx.hpp"
#include "data/mnist.hpp"

namespace fs = std::filesystem;
using torchclad::data::IdxArray;
using torchclad::data::load_mnist;
using torchclad::data::read_idx;

namespace {

using Bytes = std::vector<uint8_t>;

// IDX bytes: magic 00 00 type ndims, big-endian sizes, then the payload.
Bytes idx_bytes(const std::vector<uint32_t>& dims, const Bytes& payload, uint8_t type = 0x08) {
  Bytes b = {0, 0, type, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims)
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(d >> s));
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

Bytes iota_bytes(size_t n) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(i * 7);
  return b;
}

void write_raw(const fs::path& path, const Bytes& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(f.good()) << path;
}

void write_gz(const fs::path& path, const Bytes& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr) << path;
  ASSERT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())), static_cast<int>(bytes.size()));
  ASSERT_EQ(gzclose(f), Z_OK);
}

Bytes read_file(const fs::path& path) {
  std::ifstream f(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(f), {});
}

// Runs fn, which must throw std::runtime_error, and returns its message.
std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected std::runtime_error";
  return "";
}

class DataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    dir_ = fs::temp_directory_path() /
           ("torchclad_test_data_" + std::to_string(getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(dir_);
    ASSERT_TRUE(fs::create_directory(dir_));
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // A tiny MNIST-format set of 4x4 images (test ones 4 x test_cols): byte k
  // of the pixel array is k % 256, except byte 0, which is 255.
  void write_mnist(int64_t train_n, int64_t test_n, Bytes train_labels, Bytes test_labels,
                   uint32_t test_cols = 4) {
    auto images = [](int64_t n, uint32_t cols) {
      Bytes px(static_cast<size_t>(n) * 4 * cols);
      for (size_t i = 0; i < px.size(); ++i) px[i] = static_cast<uint8_t>(i % 256);
      if (!px.empty()) px[0] = 255;
      return idx_bytes({static_cast<uint32_t>(n), 4, cols}, px);
    };
    // Mix gzip and plain files: both must be found.
    write_gz(path("train-images-idx3-ubyte.gz"), images(train_n, 4));
    write_raw(path("train-labels-idx1-ubyte"),
              idx_bytes({static_cast<uint32_t>(train_labels.size())}, train_labels));
    write_raw(path("t10k-images-idx3-ubyte"), images(test_n, test_cols));
    write_gz(path("t10k-labels-idx1-ubyte.gz"),
             idx_bytes({static_cast<uint32_t>(test_labels.size())}, test_labels));
  }

  fs::path dir_;
};

TEST_F(DataTest, RawRoundTrip) {
  const Bytes payload = iota_bytes(2 * 3 * 5);
  write_raw(path("a.idx"), idx_bytes({2, 3, 5}, payload));
  IdxArray a = read_idx(path("a.idx"));
  EXPECT_EQ(a.dims, (std::vector<int64_t>{2, 3, 5}));
  EXPECT_EQ(a.data, payload);
}

TEST_F(DataTest, GzipRoundTripDetectedByMagicNotName) {
  const Bytes payload = iota_bytes(100000);  // several zlib buffers
  write_gz(path("a.idx"), idx_bytes({100, 1000}, payload));
  IdxArray a = read_idx(path("a.idx"));
  EXPECT_EQ(a.dims, (std::vector<int64_t>{100, 1000}));
  EXPECT_EQ(a.data, payload);
}

// A rank's shard: items [first, first + count) alone, raw (seeked) and
// gzip (decompressed and dropped), equal to that slice of the whole file.
TEST_F(DataTest, ItemRangeRawAndGzip) {
  const Bytes payload = iota_bytes(100 * 1000);
  write_raw(path("r.idx"), idx_bytes({100, 1000}, payload));
  write_gz(path("g.idx"), idx_bytes({100, 1000}, payload));
  for (const std::string& p : {path("r.idx"), path("g.idx")}) {
    EXPECT_EQ(torchclad::data::read_idx_dims(p), (std::vector<int64_t>{100, 1000}));
    IdxArray a = torchclad::data::read_idx_items(p, 37, 25);
    EXPECT_EQ(a.dims, (std::vector<int64_t>{25, 1000})) << p;
    EXPECT_EQ(a.data, Bytes(payload.begin() + 37000, payload.begin() + 62000)) << p;
    EXPECT_EQ(torchclad::data::read_idx_items(p, 99, 1).data, Bytes(payload.end() - 1000, payload.end()));
    const std::string msg = error_of([&] { torchclad::data::read_idx_items(p, 90, 11); });
    EXPECT_NE(msg.find("items [90, 101) asked for, but the file holds 100"), std::string::npos) << msg;
  }
  // A file cut short inside the range: truncation, naming the range.
  Bytes cut = idx_bytes({100, 1000}, payload);
  cut.resize(cut.size() - 5000);
  write_raw(path("cut.idx"), cut);
  const std::string msg = error_of([&] { torchclad::data::read_idx_items(path("cut.idx"), 90, 10); });
  EXPECT_NE(msg.find("truncated IDX payload"), std::string::npos) << msg;
}

// load_mnist_shard: rank r of 3 holds rows [r n / 3, (r + 1) n / 3) of the
// first `limit` training samples, the same rows load_mnist gives.
TEST_F(DataTest, MnistShardIsTheSliceOfTheWhole) {
  Bytes labels(10);
  for (size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<uint8_t>(i % 10);
  write_mnist(10, 2, labels, {3, 4});
  const auto whole = load_mnist(dir_.string());
  EXPECT_EQ(whole.train_total, 0);
  int64_t rows = 0;
  for (int rank = 0; rank < 3; ++rank) {
    const auto shard = torchclad::data::load_mnist_shard(dir_.string(), 8, rank, 3);
    const int64_t begin = 8 * rank / 3, end = 8 * (rank + 1) / 3;
    EXPECT_EQ(shard.train_begin, begin);
    EXPECT_EQ(shard.train_total, 8);
    ASSERT_EQ(shard.train.images.size(0), end - begin);
    EXPECT_TRUE(shard.train.images.equal(whole.train.images.narrow(0, begin, end - begin)));
    EXPECT_TRUE(shard.train.labels.equal(whole.train.labels.narrow(0, begin, end - begin)));
    EXPECT_TRUE(shard.test.images.equal(whole.test.images));
    rows += shard.train.images.size(0);
  }
  EXPECT_EQ(rows, 8);
  const std::string msg = error_of([&] { torchclad::data::load_mnist_shard(dir_.string(), 2, 0, 3); });
  EXPECT_NE(msg.find("3 ranks but only 2 training samples"), std::string::npos) << msg;
}

TEST_F(DataTest, FourDimsAndEmpty) {
  write_raw(path("a"), idx_bytes({1, 2, 1, 2}, iota_bytes(4)));
  EXPECT_EQ(read_idx(path("a")).dims, (std::vector<int64_t>{1, 2, 1, 2}));
  write_raw(path("b"), idx_bytes({0, 28, 28}, {}));
  IdxArray b = read_idx(path("b"));
  EXPECT_EQ(b.dims, (std::vector<int64_t>{0, 28, 28}));
  EXPECT_TRUE(b.data.empty());
}

TEST_F(DataTest, BadMagic) {
  Bytes b = idx_bytes({3}, iota_bytes(3));
  b[1] = 0x01;
  write_raw(path("bad"), b);
  std::string msg = error_of([&] { read_idx(path("bad")); });
  EXPECT_NE(msg.find(path("bad")), std::string::npos) << msg;
  EXPECT_NE(msg.find("magic"), std::string::npos) << msg;
  EXPECT_NE(msg.find("0x00 0x01"), std::string::npos) << msg;
}

TEST_F(DataTest, BadDimensionCount) {
  write_raw(path("d0"), idx_bytes({}, {}));
  std::string msg = error_of([&] { read_idx(path("d0")); });
  EXPECT_NE(msg.find(path("d0")), std::string::npos) << msg;
  EXPECT_NE(msg.find("expected 1..4, found 0"), std::string::npos) << msg;
  write_raw(path("d5"), idx_bytes({1, 1, 1, 1, 1}, {7}));
  msg = error_of([&] { read_idx(path("d5")); });
  EXPECT_NE(msg.find("expected 1..4, found 5"), std::string::npos) << msg;
}

TEST_F(DataTest, BadDimensionSizes) {
  write_raw(path("neg"), idx_bytes({2, 0x80000000u}, {}));
  std::string msg = error_of([&] { read_idx(path("neg")); });
  EXPECT_NE(msg.find(path("neg")), std::string::npos) << msg;
  EXPECT_NE(msg.find("dimension 1"), std::string::npos) << msg;
  EXPECT_NE(msg.find("found -2147483648"), std::string::npos) << msg;
  write_raw(path("big"), idx_bytes({0x7fffffff, 0x7fffffff, 0x7fffffff}, {}));
  msg = error_of([&] { read_idx(path("big")); });
  EXPECT_NE(msg.find("overflow"), std::string::npos) << msg;
}

TEST_F(DataTest, UnsupportedTypeCode) {
  write_raw(path("f32"), idx_bytes({1}, {0, 0, 0, 0}, 0x0D));
  std::string msg = error_of([&] { read_idx(path("f32")); });
  EXPECT_NE(msg.find(path("f32")), std::string::npos) << msg;
  EXPECT_NE(msg.find("0x0D"), std::string::npos) << msg;
  EXPECT_NE(msg.find("expected 0x08"), std::string::npos) << msg;
}

TEST_F(DataTest, TruncatedHeader) {
  write_raw(path("h"), {0, 0, 8});
  std::string msg = error_of([&] { read_idx(path("h")); });
  EXPECT_NE(msg.find("expected 4 bytes, found 3"), std::string::npos) << msg;
  write_raw(path("h2"), {0, 0, 8, 2, 0, 0, 0, 3, 0});
  msg = error_of([&] { read_idx(path("h2")); });
  EXPECT_NE(msg.find("expected 12 bytes, found 9"), std::string::npos) << msg;
}

TEST_F(DataTest, TruncatedPayloadRawAndGzip) {
  Bytes b = idx_bytes({10, 10}, iota_bytes(100));
  b.resize(b.size() - 37);
  write_raw(path("t"), b);
  write_gz(path("t.gz"), b);
  for (const std::string& p : {path("t"), path("t.gz")}) {
    std::string msg = error_of([&] { read_idx(p); });
    EXPECT_NE(msg.find(p + ":"), std::string::npos) << msg;
    EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
    EXPECT_NE(msg.find("expected 100 bytes, found 63"), std::string::npos) << msg;
  }
}

TEST_F(DataTest, TrailingBytes) {
  Bytes b = idx_bytes({10}, iota_bytes(10));
  b.insert(b.end(), {1, 2, 3});
  write_raw(path("x"), b);
  std::string msg = error_of([&] { read_idx(path("x")); });
  EXPECT_NE(msg.find(path("x")), std::string::npos) << msg;
  EXPECT_NE(msg.find("trailing"), std::string::npos) << msg;
  EXPECT_NE(msg.find("expected 10 bytes, found 13 (3 extra)"), std::string::npos) << msg;
}

TEST_F(DataTest, CorruptGzipStream) {
  write_gz(path("c.gz"), idx_bytes({100, 100}, iota_bytes(10000)));
  Bytes gz = read_file(path("c.gz"));
  ASSERT_GT(gz.size(), 40u);
  for (size_t i = 12; i < 30; ++i) gz[i] ^= 0xA5;  // inside the deflate data
  write_raw(path("c.gz"), gz);
  std::string msg = error_of([&] { read_idx(path("c.gz")); });
  EXPECT_NE(msg.find(path("c.gz")), std::string::npos) << msg;
  EXPECT_NE(msg.find("corrupt gzip stream"), std::string::npos) << msg;
}

TEST_F(DataTest, CutOffGzipStream) {
  write_gz(path("c.gz"), idx_bytes({100, 100}, iota_bytes(10000)));
  Bytes gz = read_file(path("c.gz"));
  gz.resize(gz.size() / 2);
  write_raw(path("c.gz"), gz);
  std::string msg = error_of([&] { read_idx(path("c.gz")); });
  EXPECT_NE(msg.find(path("c.gz")), std::string::npos) << msg;
  EXPECT_NE(msg.find("corrupt gzip stream: unexpected end of file"), std::string::npos) << msg;
}

TEST_F(DataTest, MissingFile) {
  std::string msg = error_of([&] { read_idx(path("nope")); });
  EXPECT_NE(msg.find(path("nope")), std::string::npos) << msg;
  EXPECT_NE(msg.find("No such file"), std::string::npos) << msg;
}

TEST_F(DataTest, LoadTinyMnist) {
  write_mnist(5, 3, {0, 1, 2, 9, 4}, {7, 0, 3});
  auto ds = load_mnist(dir_.string());
  EXPECT_EQ(ds.dir, dir_.string());
  EXPECT_EQ(ds.rows, 4);
  EXPECT_EQ(ds.cols, 4);
  for (auto* split : {&ds.train, &ds.test}) {
    EXPECT_EQ(split->images.scalar_type(), torch::kFloat32);
    EXPECT_EQ(split->labels.scalar_type(), torch::kInt64);
    EXPECT_TRUE(split->images.is_contiguous());
    EXPECT_EQ(split->images.size(1), 16);
  }
  EXPECT_EQ(ds.train.images.sizes(), (std::vector<int64_t>{5, 16}));
  EXPECT_EQ(ds.test.images.sizes(), (std::vector<int64_t>{3, 16}));
  EXPECT_FLOAT_EQ(ds.train.images[0][0].item<float>(), 1.0f);  // pixel 255
  EXPECT_FLOAT_EQ(ds.train.images[0][1].item<float>(), 1.0f / 255);
  EXPECT_FLOAT_EQ(ds.train.images[2][3].item<float>(), 35.0f / 255);  // byte 2*16+3
  EXPECT_FLOAT_EQ(ds.test.images[1][0].item<float>(), 16.0f / 255);
  EXPECT_TRUE(torch::equal(ds.train.labels, torch::tensor({0, 1, 2, 9, 4}, torch::kInt64)));
  EXPECT_TRUE(torch::equal(ds.test.labels, torch::tensor({7, 0, 3}, torch::kInt64)));
}

TEST_F(DataTest, MnistMissingFileNamesBoth) {
  write_mnist(2, 1, {0, 1}, {2});
  fs::remove(path("t10k-labels-idx1-ubyte.gz"));
  std::string msg = error_of([&] { load_mnist(dir_.string()); });
  EXPECT_NE(msg.find(path("t10k-labels-idx1-ubyte") + " nor"), std::string::npos) << msg;
  EXPECT_NE(msg.find(path("t10k-labels-idx1-ubyte.gz")), std::string::npos) << msg;
}

TEST_F(DataTest, MnistCountMismatch) {
  write_mnist(5, 3, {0, 1, 2, 3}, {0, 1, 2});
  std::string msg = error_of([&] { load_mnist(dir_.string()); });
  EXPECT_NE(msg.find(path("train-labels-idx1-ubyte")), std::string::npos) << msg;
  EXPECT_NE(msg.find(path("train-images-idx3-ubyte.gz")), std::string::npos) << msg;
  EXPECT_NE(msg.find("expected 5 labels"), std::string::npos) << msg;
  EXPECT_NE(msg.find("found 4"), std::string::npos) << msg;
}

TEST_F(DataTest, MnistLabelOutOfRange) {
  write_mnist(2, 3, {0, 1}, {2, 10, 3});
  std::string msg = error_of([&] { load_mnist(dir_.string()); });
  EXPECT_NE(msg.find(path("t10k-labels-idx1-ubyte.gz")), std::string::npos) << msg;
  EXPECT_NE(msg.find("label 1 is 10, expected 0..9"), std::string::npos) << msg;
}

TEST_F(DataTest, MnistImageSizeMismatch) {
  write_mnist(2, 1, {0, 1}, {2}, /*test_cols=*/5);
  std::string msg = error_of([&] { load_mnist(dir_.string()); });
  EXPECT_NE(msg.find(path("t10k-images-idx3-ubyte")), std::string::npos) << msg;
  EXPECT_NE(msg.find("expected images of 4x4"), std::string::npos) << msg;
  EXPECT_NE(msg.find("found 4x5"), std::string::npos) << msg;
}

TEST_F(DataTest, MnistWrongRank) {
  write_mnist(2, 1, {0, 1}, {2});
  write_gz(path("train-images-idx3-ubyte.gz"), idx_bytes({2, 16}, iota_bytes(32)));
  std::string msg = error_of([&] { load_mnist(dir_.string()); });
  EXPECT_NE(msg.find(path("train-images-idx3-ubyte.gz")), std::string::npos) << msg;
  EXPECT_NE(msg.find("expected 3 dimensions"), std::string::npos) << msg;
  EXPECT_NE(msg.find("found 2 (2x16)"), std::string::npos) << msg;
}

TEST(DefaultFashionMnistDir, EnvOverride) {
  const char* old = std::getenv("TORCHCLAD_FASHION_MNIST_DIR");
  const std::string saved = old ? old : "";
  setenv("TORCHCLAD_FASHION_MNIST_DIR", "/some/where", 1);
  EXPECT_EQ(torchclad::data::default_fashion_mnist_dir(), "/some/where");
  unsetenv("TORCHCLAD_FASHION_MNIST_DIR");
  EXPECT_EQ(torchclad::data::default_fashion_mnist_dir(), "/usr/share/datasets/fashion-mnist");
  if (old) setenv("TORCHCLAD_FASHION_MNIST_DIR", saved.c_str(), 1);
}

// Debian's dataset-fashion-mnist package: the data the engine trains on.
TEST(FashionMnist, LoadsInstalledDataset) {
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  if (!fs::exists(dir)) GTEST_SKIP() << dir << " not installed (apt install dataset-fashion-mnist)";
  auto ds = load_mnist(dir);
  EXPECT_EQ(ds.rows, 28);
  EXPECT_EQ(ds.cols, 28);
  EXPECT_EQ(ds.train.images.sizes(), (std::vector<int64_t>{60000, 784}));
  EXPECT_EQ(ds.test.images.sizes(), (std::vector<int64_t>{10000, 784}));
  EXPECT_EQ(ds.train.labels.sizes(), (std::vector<int64_t>{60000}));
  EXPECT_EQ(ds.test.labels.sizes(), (std::vector<int64_t>{10000}));
  for (auto* split : {&ds.train, &ds.test}) {
    EXPECT_GE(split->labels.min().item<int64_t>(), 0);
    EXPECT_LE(split->labels.max().item<int64_t>(), 9);
    EXPECT_GE(split->images.min().item<float>(), 0.0f);
    EXPECT_LE(split->images.max().item<float>(), 1.0f);
  }
  EXPECT_FLOAT_EQ(ds.train.images.max().item<float>(), 1.0f);  // some pixel is 255
  EXPECT_TRUE(torch::equal(torch::bincount(ds.train.labels), torch::full({10}, 6000, torch::kInt64)));
  EXPECT_TRUE(torch::equal(torch::bincount(ds.test.labels), torch::full({10}, 1000, torch::kInt64)));
}

}  // namespace
