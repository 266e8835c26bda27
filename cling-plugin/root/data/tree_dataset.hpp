#pragma once
// MNIST-format datasets in ROOT files: the IDX -> ROOT converter and readers
// that turn a TTree (or any RDataFrame node) into contiguous tensors.
//
// Compiled C++20 (LibTorch types in the interface): for the engine and the
// lead's API implementation, not for cling.
#include <ROOT/RDataFrame.hxx>
#include <torch/torch.h>

#include <string>
#include <utility>

#include "data/mnist.hpp"

namespace torchclad::rootdata {

// ROOT's compression setting (100 * algorithm + level) used by default:
// ZSTD level 5, ROOT's recommended general-purpose setting
// (ROOT::RCompressionSetting::EDefaults::kUseGeneralPurpose).
inline constexpr int kDefaultCompression = 505;

// Writes ds as a ROOT file with two TTrees, "train" and "test", one entry per
// sample: branch "image[rows*cols]/b" (UChar_t, round(pixel * 255)) and
// "label/I"; plus a TNamed "mnist_shape" whose title is "<rows>x<cols>"
// (read it back with read_mnist_shape). Pixels must lie in [0, 1] and labels
// in [0, 2^31). The file is written to the hidden "dir/.name.partial" and renamed to path
// when complete, so a failure leaves no half-written file behind.
// compression: ROOT's setting, e.g. 505 (ZSTD 5), 207 (LZMA 7), 101 (zlib 1),
// 404 (LZ4 4), 0 (none). Returns the number of entries written (train + test).
// Throws std::runtime_error naming the path on any error.
long long write_mnist_root(const data::MnistDataset& ds, const std::string& path,
                           int compression = kDefaultCompression);

// The (rows, cols) stored by write_mnist_root in `file`. Throws
// std::runtime_error if the file cannot be read or has no "mnist_shape".
std::pair<long long, long long> read_mnist_shape(const std::string& file);

// Entries [first, first + count) (count < 0: to the end) of tree `tree` in
// `file`, read through an RDataFrame into contiguous tensors: images float32
// [n, F], labels int64 [n], row i holding tree entry first + i.
//   image column: a fixed-size array, variable-size array, RVec or
//     std::vector of UChar_t (scaled by 1/255, exactly as load_mnist does),
//     float or double (taken as they are); every entry the same length F.
//   label column: any integer type (Int_t, Long64_t, UChar_t, ...), 0 to 2^24 - 1 (kMaxLabel).
// The outputs are allocated once and each entry is written at its index, so
// the result is the same with ROOT::EnableImplicitMT() on or off.
// Throws std::runtime_error (prefix "read_tree: ") naming the file, tree or
// column for: missing file, not a ROOT file or corrupt/truncated file, missing
// tree (lists the trees there), missing column (lists the columns), wrong
// column type, arrays of different lengths, empty tree, empty range, range past
// the end, labels < 0 or > 2^24 - 1, and read errors during the event loop.
data::MnistSplit read_tree(const std::string& file, const std::string& tree, const std::string& image_column,
                           const std::string& label_column, long long first = 0, long long count = -1);

// The same from any RDataFrame node (after Filter, Define, ...), running one
// event loop over it. Rows are ordered by dataset entry: for a single TTree
// (or an RDataFrame(n) without input) by entry number, identical with IMT on
// or off. (RDataFrame's rdfentry_ is not the entry number under IMT: it
// numbers entries in processing order, so the order comes from the entry
// ranges RDataFrame gives each task.) For a chain of several files the rows
// are grouped by file, files in name order, then by entry within a file.
// Throws std::runtime_error (prefix `where`) for missing columns, wrong
// types, different lengths, labels < 0 or > 2^24 - 1, no entries selected, and errors
// raised by ROOT during the event loop. The graph stays usable afterwards:
// what the read adds to it (Defines) does nothing in later event loops.
// `where` should name the user's function; `reading` (if given) says what a
// failed event loop was reading, in the user's terms, for readers whose
// columns are helper columns (the default: "columns 'image' and 'label'").
data::MnistSplit read_rdataframe(ROOT::RDF::RNode df, const std::string& image_column,
                                 const std::string& label_column,
                                 const std::string& where = "read_rdataframe",
                                 const std::string& reading = "");

// Throws std::runtime_error (prefix `where`) unless `file` is a readable ROOT
// file holding a TTree `tree`: as read_tree, naming the file, listing what it
// holds when the tree is missing.
void check_tree(const std::string& where, const std::string& file, const std::string& tree);

// The number of entries of `tree` in `file` (the tree's header only; errors
// as check_tree). A rank of a data-parallel run sizes its shard with it.
long long tree_entry_count(const std::string& where, const std::string& file, const std::string& tree);

}  // namespace torchclad::rootdata
