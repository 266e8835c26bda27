#pragma once
// The intermediate graph of an imported model, whatever it came from (an
// ONNX file through torchclad-onnx; TorchScript later): nodes with ONNX op
// names and attributes, the graph's inputs and outputs, and constant tensors
// (initializers and Constant nodes' values). Private to libtorchclad_root.
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace torchclad::importer {

struct ConstTensor {
  std::string name;
  std::vector<int64_t> dims;
  std::vector<float> f;    // float32 tensors
  std::vector<int64_t> i;  // int64 tensors
  bool is_float = false, is_int = false;
  bool is_double = false;    // float64 in the file, its values in f (rounded)
  bool initializer = false;  // an ONNX initializer (can be written back)
  // A Transpose (perm [1, 0]) of the initializer `name` ([out, in] in the
  // file): values [in, out] here, written back transposed.
  bool transposed_view = false;
  int64_t numel() const {
    int64_t n = 1;
    for (auto d : dims) n *= d;
    return n;
  }
};

struct GraphValue {
  std::string name;
  std::string type;               // "float32", ...
  std::vector<std::string> dims;  // numbers as text, or the symbolic name
};

struct GraphNode {
  std::string name, op, domain;
  std::vector<std::string> inputs, outputs;
  nlohmann::json attrs = nlohmann::json::object();
  std::string label() const { return "node '" + name + "' (op " + op + ")"; }
  // An op of the default ONNX domain (written "" or "ai.onnx").
  bool standard_onnx() const { return domain.empty() || domain == "ai.onnx"; }
};

struct Graph {
  std::string path;    // the file it was read from
  std::string format;  // "onnx"
  int opset = 0;
  std::string producer;
  std::vector<GraphValue> inputs, outputs;
  std::vector<GraphNode> nodes;
  std::map<std::string, ConstTensor> constants;
  // Lines the generated source carries as comments (what the reader left
  // out of the model, e.g. a TorchScript module's input checks).
  std::vector<std::string> notes;
};

// Runs torchclad-onnx on `path` and reads what it wrote; throws
// std::runtime_error with its message.
Graph read_onnx(const std::string& path);

// The torchclad-onnx program (beside this library, or in ../bin).
std::string onnx_tool();

// Runs a command; returns its exit status and its output (stdout + stderr).
int run_tool(const std::vector<std::string>& args, std::string& output);

}  // namespace torchclad::importer
