#pragma once
// The TTree branches behind a request's columns, file by file: what
// RDataFrame's column types do not say. A C-string branch ("name/C") is typed
// RVec<Char_t> (its characters), a fixed-size array ("jet_pt[4]/F") looks like
// any RVec, and a chain whose files store a branch with different types
// ("/F" in one, "/D" in another) is read as garbage by RDataFrame and
// TTreeReader alike. Called by resolve_columns (data/column_spec.cpp), so
// every reader (in-memory, DataLoader, stream, model column) refuses these.
//
// Compiled C++20: for the API's implementation, not for cling.
#include <ROOT/RDataFrame.hxx>

#include <string>

#include "data/column_spec.hpp"

namespace torchclad::rootdata {

// Throws std::runtime_error (prefix `where`) for: a feature or target column
// that is a C-string branch; a range of a fixed-size array reaching past its
// end (the largest size any file has; variable-size arrays are padded with 0
// instead); a feature, target, label or weight column whose branch has another
// type in one file of df's chain than in its first file. Columns that are not
// branches of df's TTree (Defines, other data sources, remote files) pass.
void check_branches(ROOT::RDF::RNode df, const ResolvedColumns& columns, const std::string& label,
                    const std::string& where);

}  // namespace torchclad::rootdata
