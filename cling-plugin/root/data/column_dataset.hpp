#pragma once
// Datasets from a list of columns of an RDataFrame node (the ntuple case):
// scalars of any numeric type and arrays of numbers side by side make one
// float row per entry, with a class label or regression targets, and a
// per-event weight.
//
// Compiled C++20 (LibTorch types in the interface): for the API's
// implementation, not for cling.
#include <ROOT/RDataFrame.hxx>
#include <torch/torch.h>

#include <string>
#include <vector>

namespace torchclad::rootdata {

struct ColumnRequest {
  // Columns (or ranges "name[k]", "name[:n]", see read_columns) whose values make a row.
  std::vector<std::string> features;
  // An integer column (class index, or 0/1); empty: every label 0.
  std::string label;
  // Columns of float regression targets, as features; empty: a class dataset.
  std::vector<std::string> targets;
  // A numeric scalar column of per-event weights; empty: no weights.
  std::string weight;
};

struct ColumnData {
  torch::Tensor features;  // float32 [N, F]
  torch::Tensor labels;    // int64 [N] (zeros without a label column)
  torch::Tensor targets;   // float32 [N, T], or undefined without target columns
  torch::Tensor weights;   // float32 [N], or undefined without a weight column
  // One name per feature value: "m_jj", or "jet_pt[2]" for array columns.
  std::vector<std::string> feature_names;
};

// One event loop over `df` (rows in entry order, as read_rdataframe;
// identical with implicit MT on or off). Each feature or target is:
//   "name"    a column holding one number per entry (any of Bool_t, Char_t,
//             UChar_t, Short_t, UShort_t, Int_t, UInt_t, Long_t, ULong_t,
//             Long64_t, ULong64_t, Float_t, Double_t, ...) or an array of
//             them (fixed-size or variable-size branch, RVec, std::vector)
//             with the same length in every entry: its values in order;
//   "name[k]", "name[:n]", "name[a:b]" value k of an array column (from
//             0, as ROOT's v[k]), its first n values, its values a to b - 1;
//             0 where an entry has fewer (the rule for ragged arrays, e.g.
//             the four leading jets' pT: "jet_pt[:4]").
// Values are converted to float32. Throws std::runtime_error, prefixed with
// `where`, naming the column, the type found and the type expected for: no
// features, a name listed twice, a missing column (the columns are listed),
// a column of another type (strings, objects, arrays of non-numbers), a range
// ("[k]", "[:n]") on a scalar column or an empty or malformed range, a label that is not an integer, a weight
// that is not one number per entry, an array whose length differs between
// entries (suggests "name[:n]"), a NaN or infinite feature, target or weight
// (its column and row), a label < 0 or > 2^24 - 1, and no entries selected.
ColumnData read_columns(ROOT::RDF::RNode df, const ColumnRequest& request,
                        const std::string& where = "dataset_from_columns");

}  // namespace torchclad::rootdata
