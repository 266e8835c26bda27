#pragma once
// Which columns a dataset reads, checked before any event loop: the column
// requests of read_columns (data/column_dataset.hpp) resolved against an
// RDataFrame node's columns and types. Shared by the in-memory reader
// (column_dataset.cpp) and the streaming reader (stream_reader.cpp), so both
// accept the same specifications and give the same errors.
//
// Compiled C++20: for the API's implementation, not for cling.
#include <ROOT/RDataFrame.hxx>

#include <optional>
#include <string>
#include <vector>

#include "data/column_dataset.hpp"

namespace torchclad::rootdata {

// ROOT's and C++'s names of integer types, and of any number type.
bool is_integer_type(const std::string& type);
bool is_number_type(const std::string& type);
// The element type of "ROOT::VecOps::RVec<Float_t>", "vector<double>",
// "std::vector<int,allocator<int> >", ...; nullopt for anything else.
std::optional<std::string> array_element(const std::string& type);

// The largest class label the readers accept: a class index, exact as the
// stream's float32 label (2^24 - 1). A larger one (an event number, 1e12) is
// refused naming its entry instead of wrapping into a negative class count.
inline constexpr long long kMaxLabel = (1LL << 24) - 1;
// The error for a label < 0 or > kMaxLabel in `column` at `entry` ("entry 5").
std::string label_range_error(const std::string& column, long long value, const std::string& entry);

// What a feature, target or weight column may hold, for error messages.
extern const char* const kExpectedNumbers;

// One feature or target entry of a request: a column, whole or a range of
// its values (or the weight column). An array's range, as written:
//   "name[k]"    its value k (from 0, as ROOT's v[k]);
//   "name[:n]"   its first n values;
//   "name[a:b]"  its values a, ..., b - 1;
// each value an entry of a variable-size array lacks reads as 0; a range
// past the end of a fixed-size array ("jet_pt[4]" on jet_pt[4]/F) is an error.
struct ColumnPart {
  std::string role;  // "feature", "target" or "weight"
  std::string spec;  // as written: "m_jj", "jet_pt[:4]", "jet_pt[0]"
  std::string column;
  std::string type;  // as RDataFrame names it: "Float_t", "ROOT::VecOps::RVec<Int_t>"
  bool array = false;
  long long first = 0;  // the range's first value
  long long take = -1;  // values in the range; -1: every value (the whole array)
  std::string alias;    // (column_dataset.cpp) the column's name in the row expression
  bool unsized() const { return array && take < 0; }
  // The element type of an array, the type of a scalar.
  std::string element_type() const { return array ? *array_element(type) : type; }
};

struct ResolvedColumns {
  std::vector<ColumnPart> parts;  // the features, then the targets, in request order
  std::string label_type;         // empty without a label column
  std::optional<ColumnPart> weight;
};

// Checks the request against df's columns (no event loop). Throws
// std::runtime_error prefixed with `where` for: no features, a name listed
// twice, a missing column (the columns are listed), a column of another type
// (strings, objects, arrays of non-numbers), a range on a scalar column or an empty
// or malformed range, a label that is not an integer, a weight that is not one number per
// entry; and what check_branches (data/branch_check.hpp) refuses: C-string
// branches, a range past the end of a fixed-size array, a branch of another
// type in one file of a chain.
ResolvedColumns resolve_columns(ROOT::RDF::RNode df, const ColumnRequest& request, const std::string& where);

}  // namespace torchclad::rootdata
