#pragma once
// The names of a dataset's features and of the features a model was trained
// on, as TMVA's weight file and Reader::AddVariable keep them: one name per
// feature value, "m_jj" for a column of one number, "jet_pt[2]" for value 2
// of an array column. A model applied to columns in another order scores
// garbage without any other sign, so every reader names its features, a
// model records them, and a dataset or column list that differs is refused
// naming both lists. An empty list: names unknown (IDX files, datasets made
// from C++ vectors, model files saved before names were), never checked.
#include <cstdint>
#include <string>
#include <vector>

namespace torchclad {

// "jet_pt[2]": the name of value `index` of an array column.
std::string array_value_name(const std::string& column, int64_t index);

// "image[0]", ..., "image[n-1]": the names of an array column's n values.
std::vector<std::string> array_feature_names(const std::string& column, int64_t n);

// The names as column specifications, runs of one array's consecutive
// values joined: {"var1", "jet_pt[0]", "jet_pt[1]", "jet_pt[2]"} ->
// {"var1", "jet_pt[:3]"}; "jet_pt[1:3]" for a run from 1, "jet_pt[2]" for one
// value. Read by dataset_from_columns or a model column, they give the same
// values in the same order.
std::vector<std::string> feature_columns(const std::vector<std::string>& names);

// feature_columns joined by ", ": what describe() and the errors print (784
// pixels read "image[:784]").
std::string feature_list(const std::vector<std::string>& names);

// Throws std::runtime_error "<where>: <what_found> <found>, but <what_expected>
// <expected>; ..." (both lists, and the first place they differ) when both
// are known and differ. `hint` ends the message (how to get out of it).
void check_feature_names(const std::vector<std::string>& expected, const std::vector<std::string>& found,
                         const std::string& where, const std::string& what_expected,
                         const std::string& what_found, const std::string& hint);

}  // namespace torchclad
