#pragma once
// TorchScript modules in and out of the importer (import_torchscript.cpp).
#include <map>
#include <string>
#include <vector>

#include "import_graph.hpp"

namespace torchclad::importer {

// The module's forward pass as the importer's graph, for inputs of
// `input_shape` per sample. Throws std::runtime_error naming the problem.
Graph read_torchscript(const std::string& path, const std::vector<int64_t>& input_shape);

// Loads `original`, sets the parameters and buffers named in `values` and
// saves the module to `out`.
void write_torchscript(const std::string& original, const std::map<std::string, std::vector<float>>& values,
                       const std::string& out);

}  // namespace torchclad::importer
