#pragma once
// From the importer's graph to a definition in torchclad/nn.h: the C++
// source, the model's parameter values, and how to write them back into
// the original file's initializers (export).
#include <string>
#include <utility>
#include <vector>

#include "import_graph.hpp"

namespace torchclad::importer {

// A model parameter written back to an initializer of the original file.
struct ExportEntry {
  std::string param;           // the model's parameter ("fc1.weight")
  std::string initializer;     // the file's initializer it becomes
  bool transpose = false;      // the model keeps [out, in], the file [in, out]
  int64_t rows = 0, cols = 0;  // the model parameter's shape as a matrix (for transpose)
};

struct Generated {
  std::string source;                                              // the definition's C++ source
  std::string model_name;                                          // TORCHCLAD_MODEL's name
  std::vector<std::pair<std::string, std::vector<float>>> params;  // model parameter -> values
  std::vector<ExportEntry> exports;
  // Initializers written with fixed values on export (a folded
  // BatchNormalization becomes the identity).
  std::vector<std::pair<std::string, std::vector<float>>> fixed;
};

// The ops of the op table, in order.
std::vector<std::string> supported_ops();
constexpr int kMinOpset = 9, kMaxOpset = 22;

// Activations exporters write as several ops (GELU's Erf/Tanh formulas,
// SiLU's Sigmoid * x, Softplus with beta and threshold) replaced by one node
// each (Gelu, Silu, Softplus); import_fusion.cpp.
Graph fuse_activation_patterns(Graph g);

// MaxPool(Relu(x)) imported as Relu(MaxPool(x)), the same values and
// gradients with the ReLU on the pooled values; import_fusion.cpp.
Graph pool_before_relu(Graph g);

// Throws std::runtime_error naming the node, the op and what is wrong.
Generated generate(const Graph& g, const std::string& model_name, const std::string& loss);

}  // namespace torchclad::importer
