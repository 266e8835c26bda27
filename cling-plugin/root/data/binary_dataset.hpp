#pragma once
// Binary classification data (gravitational-wave windows written by
// torchclad-gwsim) from ROOT files and RDataFrame nodes: a fixed-length
// float array per entry, a 0/1 label and, optionally, each window's SNR.
//
// Compiled C++20 (LibTorch types in the interface): for the engine side, not for cling.
#include <ROOT/RDataFrame.hxx>

#include <string>

#include "data/binary.hpp"

namespace torchclad::rootdata {

struct BinaryColumns {
  std::string features = "strain";
  std::string label = "label";
  std::string snr = "snr";  // empty: the data have no SNR column
};

// Entries [first, first + count) (count < 0: to the end) of `tree` in
// `file`, row i = entry first + i. Errors as read_tree (tree_dataset.hpp),
// plus: a label other than 0 or 1, a missing SNR column (the columns are
// listed), an SNR column that is not Float_t or Double_t.
data::BinarySplit read_binary_tree(const std::string& file, const std::string& tree,
                                   const BinaryColumns& columns = {}, long long first = 0,
                                   long long count = -1);

// The same from any RDataFrame node, in entry order (as read_rdataframe).
data::BinarySplit read_binary_rdataframe(ROOT::RDF::RNode df, const BinaryColumns& columns = {});

}  // namespace torchclad::rootdata
