#pragma once
// The files a list of paths and glob patterns names, each checked to hold a
// tree before any reader opens them: an error names the file that lacks the
// tree (and lists what it holds) instead of a reader's complaint about
// columns. Shared by the stream (stream_reader.cpp) and the DataLoader.
//
// Compiled C++20: for the API's implementation, not for cling.
#include <string>
#include <vector>

namespace torchclad::rootdata {

// In order, a pattern's matches in name order; remote files (root://,
// https://) are passed on unchecked. Throws std::runtime_error (prefix
// `where`) for no files, a pattern matching nothing, and what check_tree
// (data/tree_dataset.hpp) throws for each file.
std::vector<std::string> tree_files(const std::string& where, const std::vector<std::string>& files,
                                    const std::string& tree);

}  // namespace torchclad::rootdata
