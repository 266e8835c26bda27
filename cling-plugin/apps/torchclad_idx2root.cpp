// torchclad-idx2root: converts an MNIST-format IDX directory (train/t10k
// images and labels, plain or gzipped) into a ROOT file with TTrees "train"
// and "test" (branches image[rows*cols]/b and label/I).
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <stdexcept>
#include <string>

#include "cli_args.hpp"
#include "data/mnist.hpp"
#include "data/tree_dataset.hpp"

namespace {

using torchclad::cli::UsageError;

int compression_setting(const std::string& name) {
  if (name == "zstd") return 505;
  if (name == "lzma") return 207;
  if (name == "zlib") return 101;
  if (name == "lz4") return 404;
  if (name == "none") return 0;
  throw UsageError("--compression expects zstd, lzma, zlib, lz4 or none, found '" + name + "'");
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir, out, compression = "zstd";
  torchclad::cli::Options options(
      "usage: torchclad-idx2root [--data DIR] --out FILE.root [--compression NAME]");
  options
      .text("--data", "DIR", dir,
            "an MNIST-format IDX directory (train-images-idx3-ubyte[.gz], ...);\n"
            "default: Debian's Fashion-MNIST (or $TORCHCLAD_FASHION_MNIST_DIR)")
      .text("--out", "FILE", out, "the ROOT file to write (replaced if it exists)")
      .text("--compression", "NAME", compression,
            "{default} (level 5, default), lzma (level 7), zlib (level 1), lz4 (level 4), none")
      .help_line("this help");
  try {
    if (options.parse(argc, argv) == torchclad::cli::Options::Parsed::kHelpShown) return 0;
    if (out.empty()) throw UsageError("--out FILE is required");
    compression_setting(compression);
  } catch (const UsageError& e) {
    std::cerr << "torchclad-idx2root: " << e.what() << "\n" << options.usage();
    return 2;
  }
  try {
    if (dir.empty()) dir = torchclad::data::default_fashion_mnist_dir();
    using Clock = std::chrono::steady_clock;
    const auto t0 = Clock::now();
    const auto ds = torchclad::data::load_mnist(dir);
    const auto t1 = Clock::now();
    const long long entries =
        torchclad::rootdata::write_mnist_root(ds, out, compression_setting(compression));
    const auto t2 = Clock::now();
    const double load_s = std::chrono::duration<double>(t1 - t0).count();
    const double write_s = std::chrono::duration<double>(t2 - t1).count();
    const auto bytes = std::filesystem::file_size(out);
    std::printf(
        "wrote %s: %lld entries (train %lld, test %lld), images %lldx%lld as UChar_t, "
        "%.1f MB (%s), in %.2f s (reading IDX %.2f s, writing ROOT %.2f s)\n",
        out.c_str(), entries, static_cast<long long>(ds.train.labels.size(0)),
        static_cast<long long>(ds.test.labels.size(0)), static_cast<long long>(ds.rows),
        static_cast<long long>(ds.cols), bytes / 1e6, compression.c_str(), load_s + write_s, load_s, write_s);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "torchclad-idx2root: error: " << e.what() << "\n";
    return 1;
  }
}
