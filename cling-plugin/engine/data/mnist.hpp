#pragma once
// MNIST-format data sets (MNIST, Fashion-MNIST, ...) loaded into tensors:
// whole (~200 MB as float32), or with only a data-parallel rank's shard of
// the training split (load_mnist_shard).
#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace torchclad::data {

struct MnistSplit {
  torch::Tensor images;  // float32 [N, rows*cols], contiguous, pixel/255
  torch::Tensor labels;  // int64 [N], in 0..9
};

struct MnistDataset {
  std::string dir;
  MnistSplit train, test;
  int64_t rows = 0, cols = 0;
  // A rank's shard (data-parallel, dist/row_shards.hpp): train holds rows
  // [train_begin, train_begin + its size) of the first train_total training
  // samples. train_total 0: train holds the whole split.
  int64_t train_begin = 0, train_total = 0;
};

// Loads train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte
// and t10k-labels-idx1-ubyte from dir, each plain or with a .gz suffix.
// Throws std::runtime_error naming the file and the mismatch if a file is
// missing, images are not 3-d or labels 1-d, image and label counts differ,
// train and test image sizes differ, or a label is not below 10.
MnistDataset load_mnist(const std::string& dir);

// The same with only rank `rank` of `ranks`'s shard of the training split
// read (dist::shard_of of the first `limit` samples, limit <= 0: all; the
// other rows are skipped in the file, not kept): train_begin and
// train_total say which. The test split is read whole.
MnistDataset load_mnist_shard(const std::string& dir, int64_t limit, int rank, int ranks);

// Where Debian's dataset-fashion-mnist package installs the data, unless the
// environment variable TORCHCLAD_FASHION_MNIST_DIR is set (and non-empty).
std::string default_fashion_mnist_dir();

}  // namespace torchclad::data
