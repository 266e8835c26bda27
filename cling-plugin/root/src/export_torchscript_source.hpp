#pragma once
// An ONNX-imported model written as TorchScript (export_torchscript of a
// model imported from ONNX): the original file's graph, one TorchScript
// statement per node, and its tensors (the fine-tuned initializers and the
// graph's other constants) as the module's parameters and buffers, named as
// the file names them ("fc1.weight" is the parameter `weight` of the
// submodule `fc1`), so that torch.jit.load reads the module and its
// state_dict() has the file's names.
#include <map>
#include <set>
#include <string>
#include <vector>

#include "import_graph.hpp"

namespace torchclad::importer {

// A tensor the module holds: its path of attributes ({"fc1", "weight"}),
// a parameter (trained by the model) or a buffer.
struct ModuleTensor {
  std::string name;               // the file's name for it
  std::vector<std::string> path;  // submodules, then the attribute
  bool parameter = false;
  std::vector<int64_t> dims;
  std::vector<float> values;
};

struct TorchScriptSource {
  std::string forward;  // "def forward(self, x: Tensor) -> Tensor:\n    ..."
  std::vector<ModuleTensor> tensors;
};

// The forward pass of `g` (an ONNX file's graph, as read_onnx gives it) as
// TorchScript source. `values` replaces the values of initializers (the
// file's layout, as export_onnx writes them); those in `trained` become
// parameters, every other tensor a buffer. Throws std::runtime_error naming
// the node and its op for what it cannot write.
TorchScriptSource torchscript_source(const Graph& g, const std::map<std::string, std::vector<float>>& values,
                                     const std::set<std::string>& trained);

// Builds the module (torch::jit::Module, its submodules, parameters and
// buffers, forward defined from the source) and saves it to `path`.
void save_torchscript_module(const TorchScriptSource& source, const std::string& path);

}  // namespace torchclad::importer
