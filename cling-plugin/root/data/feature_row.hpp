#pragma once
// One RVecF column holding an entry's values of resolved column parts
// (data/column_spec.hpp) in order: what a dataset reads as a row
// (column_dataset.cpp) and what a model column feeds the model
// (src/model_column.cpp), so both take the same column specifications
// ("m_jj", "jet_pt", "trk_pt[:6]": the first 6 values, "jet_pt[0]": the
// first, padded with 0 where an entry has fewer).
//
// Compiled C++20: for the API's implementation, not for cling.
#include <ROOT/RDataFrame.hxx>

#include <string>
#include <vector>

#include "data/column_spec.hpp"

namespace torchclad::rootdata {

// df with the column `row`: per entry, for each whole-array part (unsized())
// its length first if `with_lengths`, then every part's values, converted to
// float. Each column is read through a copy named prefix + "column<k>" (sets
// ColumnPart::alias), a prefix no column of df may start with. Throws what
// RDataFrame throws when the expression does not compile.
ROOT::RDF::RNode define_row(ROOT::RDF::RNode df, std::vector<ColumnPart*> parts, const std::string& row,
                            const std::string& prefix, bool with_lengths);

}  // namespace torchclad::rootdata
