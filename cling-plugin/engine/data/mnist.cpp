#include "data/mnist.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include "data/idx.hpp"

namespace torchclad::data {
namespace {

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error("load_mnist: " + what); }

// Distributions ship the files gzipped (Debian) or plain (after a manual
// gunzip); take the plain one when both exist, as it loads faster.
std::string find_file(const std::string& dir, const std::string& name) {
  const std::filesystem::path plain = std::filesystem::path(dir) / name;
  const std::filesystem::path gz = std::filesystem::path(dir) / (name + ".gz");
  if (std::filesystem::exists(plain)) return plain.string();
  if (std::filesystem::exists(gz)) return gz.string();
  fail("missing file: neither " + plain.string() + " nor " + gz.string() + " exists");
}

std::string dims_string(const std::vector<int64_t>& dims) {
  std::string s;
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? "x" : "") + std::to_string(dims[i]);
  return s;
}

struct Images {
  std::string path;
  int64_t count, rows, cols;
  torch::Tensor pixels;
};

// items [first, first + count) (count < 0: the whole file)
IdxArray read_items(const std::string& path, int64_t first, int64_t count) {
  return count < 0 ? read_idx(path) : read_idx_items(path, first, count);
}

Images load_images(const std::string& dir, const std::string& name, int64_t first = 0, int64_t count = -1) {
  Images im;
  im.path = find_file(dir, name);
  IdxArray a = read_items(im.path, first, count);
  if (a.dims.size() != 3)
    fail(im.path + ": expected 3 dimensions (count x rows x cols), found " + std::to_string(a.dims.size()) +
         " (" + dims_string(a.dims) + ")");
  im.count = a.dims[0];
  im.rows = a.dims[1];
  im.cols = a.dims[2];
  // from_blob borrows a.data; the float conversion copies before it dies.
  im.pixels = torch::from_blob(a.data.data(), {im.count, im.rows * im.cols}, torch::kUInt8)
                  .to(torch::kFloat32)
                  .div_(255.0f);
  return im;
}

torch::Tensor load_labels(const std::string& dir, const std::string& name, const Images& im,
                          int64_t first = 0, int64_t count = -1) {
  const std::string path = find_file(dir, name);
  IdxArray a = read_items(path, first, count);
  if (a.dims.size() != 1)
    fail(path + ": expected 1 dimension (count), found " + std::to_string(a.dims.size()) + " (" +
         dims_string(a.dims) + ")");
  if (a.dims[0] != im.count)
    fail(path + ": expected " + std::to_string(im.count) + " labels to match " + im.path + ", found " +
         std::to_string(a.dims[0]));
  for (size_t i = 0; i < a.data.size(); ++i)
    if (a.data[i] >= 10)
      fail(path + ": label " + std::to_string(i) + " is " + std::to_string(a.data[i]) + ", expected 0..9");
  return torch::from_blob(a.data.data(), {im.count}, torch::kUInt8).to(torch::kInt64);
}

}  // namespace

MnistDataset load_mnist(const std::string& dir) { return load_mnist_shard(dir, 0, 0, 1); }

MnistDataset load_mnist_shard(const std::string& dir, int64_t limit, int rank, int ranks) {
  MnistDataset ds;
  ds.dir = dir;
  int64_t first = 0, count = -1;  // the whole split
  if (ranks > 1 || limit > 0) {
    const std::string images = find_file(dir, "train-images-idx3-ubyte");
    const std::string labels = find_file(dir, "train-labels-idx1-ubyte");
    const auto dims = read_idx_dims(images);
    const auto label_dims = read_idx_dims(labels);
    if (label_dims[0] != dims[0])  // both counts before reading a range of either
      fail(labels + ": expected " + std::to_string(dims[0]) + " labels to match " + images + ", found " +
           std::to_string(label_dims[0]));
    const int64_t n = limit > 0 ? std::min<int64_t>(limit, dims[0]) : dims[0];
    if (n < ranks)
      fail(images + ": " + std::to_string(ranks) + " ranks but only " + std::to_string(n) +
           " training samples: some rank would have no data; run at most " + std::to_string(n) + " ranks");
    first = n * rank / ranks;
    count = n * (rank + 1) / ranks - first;
    ds.train_begin = first;
    ds.train_total = n;
  }
  Images train = load_images(dir, "train-images-idx3-ubyte", first, count);
  ds.train.labels = load_labels(dir, "train-labels-idx1-ubyte", train, first, count);
  Images test = load_images(dir, "t10k-images-idx3-ubyte");
  ds.test.labels = load_labels(dir, "t10k-labels-idx1-ubyte", test);
  if (test.rows != train.rows || test.cols != train.cols)
    fail(test.path + ": expected images of " + std::to_string(train.rows) + "x" + std::to_string(train.cols) +
         " pixels as in " + train.path + ", found " + std::to_string(test.rows) + "x" +
         std::to_string(test.cols));
  ds.rows = train.rows;
  ds.cols = train.cols;
  ds.train.images = std::move(train.pixels);
  ds.test.images = std::move(test.pixels);
  return ds;
}

std::string default_fashion_mnist_dir() {
  const char* env = std::getenv("TORCHCLAD_FASHION_MNIST_DIR");
  if (env && *env) return env;
  return "/usr/share/datasets/fashion-mnist";
}

}  // namespace torchclad::data
