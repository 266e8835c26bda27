// torchclad/import.h: pretrained models from ONNX files and TorchScript
// modules, as models you can read, run, check and fine-tune with Clad's
// gradients, and export back.
//
//   auto m = torchclad::import_model("mlp.onnx", {"cross_entropy"});
//   // prints where the generated source is: mlp.onnx.cpp (torchclad/nn.h)
//   m.evaluate(test); m.fit(train, test, options); m.check_gradients(train);
//   torchclad::export_onnx(m, "mlp-finetuned.onnx");
//
// The ONNX graph becomes a definition in torchclad/nn.h (a struct with one
// handle per layer, named after the layers' initializers: fc1.weight ->
// nn::Linear("fc1", ...), and its forward pass and loss written with the
// building blocks), compiled with Clad as torchclad::load_models compiles a
// file, and the model gets the file's weights. Plain C++17 (cling parses it).
#ifndef TORCHCLAD_IMPORT_H
#define TORCHCLAD_IMPORT_H

#include <string>
#include <vector>

#include "torchclad/model.h"

namespace torchclad {

struct ImportOptions {
  // The loss the model trains with, on its output:
  //   "cross_entropy"   class indices, one logit per class (Dataset labels)
  //   "bce_with_logits" 0/1 targets, one logit per sample
  //   "mse"             regression targets, as many as outputs
  std::string loss = "cross_entropy";
  // The model's name (torchclad::model(name)); "" = from the file's name.
  std::string name;
  // Where the generated C++ goes; "" = the model's path + ".cpp".
  std::string source_file;
  // TorchScript files only (they carry no shapes): the input's shape per
  // sample, without the batch: {features} or {channels, length}. A scripted
  // module's input checks (`if x.dim() != 2: raise ...`) are evaluated for
  // it: one that raises refuses the import with its message; the others are
  // listed in the generated source.
  std::vector<long long> input_shape;
};

// The ops import_model translates (one entry each in its op table).
std::vector<std::string> supported_onnx_ops();

// Reads `path` (an ONNX file, parsed by the torchclad-onnx process; or a
// TorchScript module saved by torch.jit.script/trace, by its extension .pt,
// .pth or .torchscript: a torch.nn.Sequential-like forward of the same ops,
// with options.input_shape), writes
// the model's source, compiles it with Clad and returns the model with the
// file's parameters. Throws std::runtime_error naming the problem: no such
// file, not an ONNX (or TorchScript) model (corrupt or truncated), an opset outside
// [9, 22], an op it does not translate (naming the node, its op and the
// supported list), attributes or shapes it cannot use (dimensions other
// than the batch that are not fixed numbers), or the source not compiling.
Model import_model(const std::string& path, const ImportOptions& options = {});

// The generated source file of an imported model ("" if it was not imported).
std::string imported_source(const Model& model);

// Writes the ONNX file the model was imported from with its current
// parameters (after fine-tuning): the same graph, its initializers replaced.
// BatchNormalization folded into the layer before it at import is written
// back as that layer's weights and an identity normalisation, so the file
// computes what the model does. A model imported from TorchScript: the
// module's graph written as an ONNX model (opset 17) with the model's
// parameters. Throws std::runtime_error for a model imported otherwise, or
// naming the node it cannot write.
void export_onnx(const Model& model, const std::string& path);

// The model as a TorchScript module with its current parameters (torch.jit.load
// reads it). Imported from TorchScript: the original module with its
// parameters and buffers replaced. Imported from ONNX: the original file's
// graph written as the module's forward, one statement per node, its tensors
// the module's parameters and buffers under the file's names ("fc1.weight":
// submodule fc1, parameter weight); an op or attribute it cannot write is
// an error naming the node.
void export_torchscript(const Model& model, const std::string& path);

// The float64 gradient of the model's loss over the first `batch` samples of
// `data` with respect to every parameter, flat in parameter order (as
// parameter_names(), each tensor row-major): what a training step uses, for
// comparing with another framework.
std::vector<double> loss_gradient(const Model& model, const Dataset& data, int batch);

}  // namespace torchclad

#endif
