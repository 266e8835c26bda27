// Reading a TorchScript module (torch.jit.script or torch.jit.trace, saved)
// into the importer's graph: torch::jit::load, its forward graph inlined,
// and each aten op of the supported set written as the ONNX node the code
// generator knows (aten::linear -> Gemm with transB=1, aten::conv1d -> Conv,
// aten::batch_norm -> BatchNormalization, ...). Parameters and buffers are
// the constants, named by their module path ("fc1.weight"), which is also
// where export_torchscript writes them back. TorchScript carries no shapes:
// the caller gives the per-sample input shape.
#include <torch/csrc/jit/passes/constant_propagation.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/passes/inliner.h>
#include <torch/csrc/jit/runtime/jit_exception.h>
#include <torch/script.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <sstream>
#include <stdexcept>

#include "import_codegen.hpp"
#include "import_graph.hpp"
#include "import_torchscript.hpp"

namespace torchclad::importer {
namespace {

using torch::jit::Value;

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

// PyTorch's symmetric padding [p...] as ONNX's [begin..., end...].
std::vector<int64_t> both_ends(const std::vector<int64_t>& padding) {
  std::vector<int64_t> pads(padding);
  pads.insert(pads.end(), padding.begin(), padding.end());
  return pads;
}

ConstTensor tensor_constant(const std::string& name, const at::Tensor& t) {
  ConstTensor c;
  c.name = name;
  c.dims = t.sizes().vec();
  c.initializer = true;
  c.is_float = true;
  const auto f = t.detach().to(torch::kFloat32).contiguous();
  c.f.assign(f.data_ptr<float>(), f.data_ptr<float>() + f.numel());
  return c;
}

// A module's plain attributes (a scripted module's `training`, numbers)
// read through prim::GetAttr become constants, so that constant propagation
// removes the branches on them (BatchNorm's `if self.training:`).
void fold_attribute_constants(torch::jit::Graph& graph, const torch::jit::Module& module) {
  std::map<const Value*, c10::IValue> objects{{graph.inputs()[0], module._ivalue()}};
  for (auto* node : graph.nodes()) {
    if (node->kind() != c10::prim::GetAttr) continue;
    const auto it = objects.find(node->input(0));
    if (it == objects.end() || !it->second.isObject()) continue;
    const auto value = it->second.toObject()->getAttr(node->s(c10::Symbol::attr("name")));
    if (value.isObject()) {
      objects[node->output()] = value;
    } else if (value.isBool() || value.isInt() || value.isDouble()) {
      torch::jit::WithInsertPoint here(node);
      node->output()->replaceAllUsesWith(graph.insertConstant(value));
    }
  }
}

// The prim::RaiseException of `block`, if it has one.
const torch::jit::Node* raise_of(const torch::jit::Block* block) {
  for (const auto* n : block->nodes())
    if (n->kind() == c10::prim::RaiseException) return n;
  return nullptr;
}

// A string the graph computes: a constant, or a format's template ("... {}").
std::string text_of(const Value* v) {
  if (const auto s = torch::jit::toIValue(v); s && s->isString()) return s->toStringRef();
  if (v->node()->kind() == c10::aten::format && v->node()->inputs().size() > 0)
    return text_of(v->node()->input(0));
  return "";
}

// An input check of a scripted module, as the generated source notes it.
struct InputCheck {
  std::string condition;  // the Python line ("if x.dim() != 2:"), when the file keeps its source
  std::string raises;     // "ValueError: expected 2D input"
};

// Input checks of scripted modules (`if x.dim() != 2: raise ValueError(...)`,
// BatchNorm's input check): a prim::If without outputs whose branches raise
// or do nothing. They go (what they check is checked for the declared input
// shape by running the module, below), and dead code elimination takes the
// values only they read.
std::vector<InputCheck> drop_input_checks(std::shared_ptr<torch::jit::Graph>& graph) {
  std::vector<torch::jit::Node*> checks;
  std::vector<InputCheck> found;
  for (auto* node : graph->nodes()) {
    if (node->kind() != c10::prim::If || !node->outputs().empty()) continue;
    const torch::jit::Node* raise = nullptr;
    bool only = true;
    for (const auto* b : node->blocks()) {
      if (const auto* r = raise_of(b))
        raise = r;
      else if (b->nodes().begin() != b->nodes().end())
        only = false;
    }
    if (!raise || !only) continue;
    checks.push_back(node);
    InputCheck check;
    std::string source;
    try {
      source = node->sourceRange().text().str();
    } catch (const std::exception&) {
    }
    const auto start = source.find_first_not_of(" \t");
    if (start != std::string::npos) check.condition = first_line(source.substr(start));
    std::string kind = raise->inputs().size() > 1 ? text_of(raise->input(1)) : "";
    if (kind.rfind("builtins.", 0) == 0) kind = kind.substr(9);
    check.raises = (kind.empty() ? "Exception" : kind) + ": " + text_of(raise->input(0));
    found.push_back(check);
  }
  for (auto* node : checks) node->destroy();
  torch::jit::EliminateDeadCode(graph);
  return found;
}

// Runs the module on zeros of the declared input shape (batch 2): an input
// check that raises for that shape refuses the import with its message, as
// PyTorch would raise running the model; the others are noted in the
// generated source. (A check on the values, not the shape, is evaluated for
// zeros only: the model torchclad compiles does not check its inputs.)
void evaluate_input_checks(torch::jit::Module& module, const std::string& path,
                           const std::vector<int64_t>& input_shape, const std::vector<InputCheck>& checks,
                           std::vector<std::string>& notes) {
  if (checks.empty()) return;
  std::vector<int64_t> shape{2};
  shape.insert(shape.end(), input_shape.begin(), input_shape.end());
  std::string dims = "[batch";
  for (auto d : input_shape) dims += ", " + std::to_string(d);
  dims += "]";
  try {
    torch::NoGradGuard no_grad;
    module.forward({torch::zeros(shape)});
  } catch (const torch::jit::JITException& e) {
    // The raised message: the original one with its class, or the last line
    // of the interpreter's report ("builtins.ValueError: ...").
    auto plain = [](std::string t) { return t.rfind("builtins.", 0) == 0 ? t.substr(9) : t; };
    std::string raised;
    if (const auto original = e.getOriginalMsg(); original && !original->empty()) {
      const auto kind = e.getPythonClassName();
      raised = (kind && !kind->empty() ? plain(*kind) + ": " : "") + first_line(*original);
    } else {
      std::stringstream lines(e.what());
      for (std::string line; std::getline(lines, line);)
        if (line.find_first_not_of(" \t") != std::string::npos) raised = plain(line);
    }
    throw std::runtime_error("import_model: '" + path + "': the module raises for the declared input shape " +
                             dims + " (ImportOptions::input_shape): " + raised +
                             "; give the per-sample shape the module expects (without the batch)");
  } catch (const std::exception&) {
    // Not one of its checks (a shape mismatch of an op, say): the code
    // generator names what it cannot import.
  }
  notes.push_back(
      "Input checks of the TorchScript module, left out (they pass for the declared input shape " + dims +
      "; the model does not check its inputs at run time):");
  for (const auto& c : checks)
    notes.push_back("  " + (c.condition.empty() ? std::string("(a check)") : c.condition) + " raise " +
                    c.raises);
}

}  // namespace

torch::jit::Module load_torchscript(const std::string& path) {
  if (!std::filesystem::exists(path)) throw std::runtime_error("import_model: no file '" + path + "'");
  try {
    auto m = torch::jit::load(path);
    m.eval();
    return m;
  } catch (const c10::Error& e) {
    throw std::runtime_error(
        "import_model: '" + path +
        "' is not a TorchScript module torch::jit::load can read: " + first_line(e.what_without_backtrace()));
  }
}

Graph read_torchscript(const std::string& path, const std::vector<int64_t>& input_shape) {
  if (input_shape.empty())
    throw std::runtime_error(
        "import_model: a TorchScript file carries no shapes: give ImportOptions::input_shape "
        "(per sample, without the batch: {features} or {channels, length})");
  auto module = load_torchscript(path);
  auto graph = module.get_method("forward").graph()->copy();
  torch::jit::Inline(*graph);
  // Branches on constants (a scripted F.relu6's `if inplace:`, BatchNorm's
  // `if self.training:`) go, and so do input checks that raise; what stays
  // of prim::If / prim::Loop depends on the data, and is refused below.
  fold_attribute_constants(*graph, module);
  torch::jit::ConstantPropagation(graph);
  const std::vector<InputCheck> checks = drop_input_checks(graph);
  for (const auto* node : graph->nodes()) {
    const std::string kind = node->kind().toQualString();
    if (kind != "prim::If" && kind != "prim::Loop") continue;
    const std::string out =
        node->outputs().empty() ? std::string("no output") : "output '" + node->output(0)->debugName() + "'";
    throw std::runtime_error(
        "import_model: '" + path + "': node '" + kind + "' (" + out + ") (" + kind + "): control flow (" +
        kind +
        ") is not supported: torchclad imports a forward pass "
        "without data-dependent branches or loops (trace the model with torch.jit.trace, or "
        "script one without them)");
  }

  Graph g;
  g.path = path;
  g.format = "torchscript";
  g.opset = kMinOpset;  // the aten ops are mapped to ONNX ops of any supported opset
  g.producer = "TorchScript";
  evaluate_input_checks(module, path, input_shape, checks, g.notes);
  for (const auto& p : module.named_parameters(true)) g.constants[p.name] = tensor_constant(p.name, p.value);
  for (const auto& b : module.named_buffers(true))
    if (b.value.is_floating_point()) g.constants[b.name] = tensor_constant(b.name, b.value);

  const auto inputs = graph->inputs();
  if (inputs.size() != 2)
    throw std::runtime_error("import_model: '" + path + "': forward takes " +
                             std::to_string(inputs.size() - 1) + " inputs; one input tensor is supported");
  std::map<const Value*, std::string> name_of;                    // activations and parameters
  std::map<const Value*, std::string> module_path;                // self and its submodules
  std::map<const Value*, c10::IValue> constants;                  // prim::Constant, int lists
  std::map<const Value*, std::vector<std::string>> tensor_lists;  // torch.cat's operands
  std::map<const Value*, std::vector<const Value*>> tuples;       // prim::TupleConstruct
  module_path[inputs[0]] = "";
  name_of[inputs[1]] = "x";
  GraphValue in{"x", "float32", {"batch"}};
  for (auto d : input_shape) in.dims.push_back(std::to_string(d));
  g.inputs.push_back(in);

  auto ints = [&](const Value* v) -> std::vector<int64_t> {
    const auto it = constants.find(v);
    if (it == constants.end()) return {};
    if (it->second.isIntList()) return it->second.toIntList().vec();
    if (it->second.isInt()) return {it->second.toInt()};
    return {};
  };
  // A number: a Python one, or (traced: `x / 2.0`) a constant tensor of one value.
  auto scalar = [&](const Value* v, double fallback) {
    const auto it = constants.find(v);
    if (it == constants.end()) return fallback;
    if (it->second.isDouble() || it->second.isInt()) return it->second.toScalar().toDouble();
    if (it->second.isTensor() && it->second.toTensor().numel() == 1)
      return it->second.toTensor().to(torch::kFloat64).item<double>();
    return fallback;
  };
  int count = 0;
  for (const auto* node : graph->nodes()) {
    const std::string kind = node->kind().toQualString();
    if (kind == "prim::GetAttr") {
      const auto base = module_path.find(node->input(0));
      if (base == module_path.end()) continue;
      const std::string attr = node->s(c10::Symbol::attr("name"));
      const std::string full = base->second.empty() ? attr : base->second + "." + attr;
      // A parameter or buffer (a Tensor, or Optional[Tensor] as Conv1d's
      // bias), a submodule, or another attribute's value (None, a number).
      if (g.constants.count(full)) {
        name_of[node->output()] = full;
        continue;
      }
      c10::IValue value = module._ivalue();
      std::stringstream parts(full);
      for (std::string part; std::getline(parts, part, '.');) value = value.toObject()->getAttr(part);
      if (value.isObject())
        module_path[node->output()] = full;
      else
        constants[node->output()] = value;
      continue;
    }
    if (kind == "prim::Constant") {
      if (auto v = torch::jit::toIValue(node->output())) constants[node->output()] = *v;
      continue;
    }
    if ((kind == "prim::NumToTensor" || kind == "aten::Int") && constants.count(node->input(0))) {
      constants[node->output()] = constants[node->input(0)];  // a traced x.size(0)
      continue;
    }
    // Tuples of values (adaptive_max_pool's (values, indices), then [0]).
    if (kind == "prim::TupleConstruct") {
      tuples[node->output()] = std::vector<const Value*>(node->inputs().begin(), node->inputs().end());
      continue;
    }
    if (kind == "prim::TupleIndex" || kind == "prim::TupleUnpack") {
      const auto tuple = tuples.find(node->input(0));
      if (tuple != tuples.end()) {
        const auto index = kind == "prim::TupleIndex" ? ints(node->input(1)) : std::vector<int64_t>{};
        for (size_t k = 0; k < node->outputs().size(); ++k) {
          const int64_t at = index.empty() ? static_cast<int64_t>(k) : index[0];
          if (at >= 0 && at < static_cast<int64_t>(tuple->second.size()) && name_of.count(tuple->second[at]))
            name_of[node->output(k)] = name_of[tuple->second[at]];
        }
        continue;
      }
    }
    if (kind == "prim::ListConstruct") {
      std::vector<int64_t> list;
      bool all = true;
      for (const auto* i : node->inputs()) {
        const auto it = constants.find(i);
        if (it == constants.end() || !it->second.isInt())
          all = false;
        else
          list.push_back(it->second.toInt());
      }
      if (all) {
        constants[node->output()] = c10::IValue(list);
      } else {  // a list of activations or parameters (torch.cat's)
        std::vector<std::string> names;
        for (const auto* i : node->inputs())
          if (name_of.count(i)) names.push_back(name_of[i]);
        if (names.size() == node->inputs().size()) tensor_lists[node->output()] = names;
      }
      continue;
    }
    GraphNode n;
    n.name = kind + "#" + std::to_string(count++);
    n.op = kind;
    auto where = [&](const GraphNode& at) {
      return "import_model: '" + path + "': node '" + at.name + "' (" + kind + "): ";
    };
    auto input_name = [&](size_t i) {
      const auto it = name_of.find(node->input(i));
      if (it != name_of.end()) return it->second;
      if (constants.count(node->input(i)) && constants[node->input(i)].isNone()) return std::string();
      throw std::runtime_error("import_model: '" + path + "': " + n.name + ": input " + std::to_string(i) +
                               " is neither an activation nor a parameter");
    };
    if (kind == "aten::linear") {
      n.op = "Gemm";
      n.inputs = {input_name(0), input_name(1), input_name(2)};
      n.attrs["transB"] = 1;
    } else if (kind == "aten::matmul" || kind == "aten::mm") {
      // x @ w with w [in, out] (a following add of a bias folds into it)
      n.op = "MatMul";
      n.inputs = {input_name(0), input_name(1)};
    } else if (kind == "aten::addmm") {
      // addmm(bias, x, w, beta, alpha): a traced Linear of older versions, w = weight.t()
      if (scalar(node->input(3), 1.0) != 1.0 || scalar(node->input(4), 1.0) != 1.0)
        throw std::runtime_error(where(n) + "beta and alpha other than 1 are not supported");
      n.op = "Gemm";
      n.inputs = {input_name(1), input_name(2), input_name(0)};
    } else if (kind == "aten::t") {  // of a parameter (a weight used as [in, out])
      n.op = "Transpose";
      n.inputs = {input_name(0)};
    } else if (kind == "aten::cat") {
      const auto list = tensor_lists.find(node->input(0));
      const auto dim = ints(node->input(1));
      if (list == tensor_lists.end() || dim.size() != 1)
        throw std::runtime_error(where(n) +
                                 "its operands are not a list of tensors computed before it, or its dim is "
                                 "not a constant");
      n.op = "Concat";
      n.inputs = list->second;
      n.attrs["axis"] = dim[0];
    } else if (kind == "aten::relu" || kind == "aten::tanh" || kind == "aten::sigmoid") {
      n.op = kind == "aten::relu" ? "Relu" : kind == "aten::tanh" ? "Tanh" : "Sigmoid";
      n.inputs = {input_name(0)};
    } else if (kind == "aten::conv1d" || kind == "aten::conv2d" || kind == "aten::_convolution") {
      // _convolution (traced): (x, w, b, stride, padding, dilation, transposed, output_padding, groups, ...)
      const bool traced = kind == "aten::_convolution";
      if (traced) {
        const auto t = constants.find(node->input(6));
        if (t == constants.end() || !t->second.isBool() || t->second.toBool())
          throw std::runtime_error("import_model: '" + path + "': " + n.name +
                                   ": transposed convolutions are not supported");
      }
      n.op = "Conv";
      n.inputs = {input_name(0), input_name(1), input_name(2)};
      n.attrs["strides"] = ints(node->input(3));
      const auto pads = ints(node->input(4));
      n.attrs["pads"] = both_ends(pads);
      n.attrs["dilations"] = ints(node->input(5));
      const auto groups = ints(node->input(traced ? 8 : 6));
      n.attrs["group"] = groups.empty() ? 1 : groups[0];
    } else if (kind == "aten::max_pool1d" || kind == "aten::max_pool2d") {
      n.op = "MaxPool";
      n.inputs = {input_name(0)};
      n.attrs["kernel_shape"] = ints(node->input(1));
      n.attrs["strides"] = ints(node->input(2)).empty() ? ints(node->input(1)) : ints(node->input(2));
      const auto pads = ints(node->input(3));
      n.attrs["pads"] = both_ends(pads);
      n.attrs["dilations"] = ints(node->input(4));
      const auto ceil = constants.find(node->input(5));
      n.attrs["ceil_mode"] =
          ceil != constants.end() && ceil->second.isBool() && ceil->second.toBool() ? 1 : 0;
    } else if (kind == "aten::leaky_relu") {
      n.op = "LeakyRelu";
      n.inputs = {input_name(0)};
      n.attrs["alpha"] = scalar(node->input(1), 0.01);
    } else if (kind == "aten::elu") {
      // elu(x, alpha, scale, input_scale): nn.ELU's scales are 1 (SELU and CELU have others)
      if (scalar(node->input(2), 1.0) != 1.0 || scalar(node->input(3), 1.0) != 1.0)
        throw std::runtime_error(where(n) +
                                 "scale and input_scale other than 1 (SELU, CELU) are not supported");
      n.op = "Elu";
      n.inputs = {input_name(0)};
      n.attrs["alpha"] = scalar(node->input(1), 1.0);
    } else if (kind == "aten::gelu") {
      const auto it = constants.find(node->input(1));
      n.op = "Gelu";
      n.inputs = {input_name(0)};
      n.attrs["approximate"] =
          it != constants.end() && it->second.isString() ? it->second.toStringRef() : std::string("none");
    } else if (kind == "aten::silu" || kind == "aten::hardswish") {
      n.op = kind == "aten::silu" ? "Silu" : "HardSwish";
      n.inputs = {input_name(0)};
    } else if (kind == "aten::hardsigmoid") {  // relu6(x + 3) / 6
      n.op = "HardSigmoid";
      n.inputs = {input_name(0)};
      n.attrs["alpha"] = 1.0 / 6.0;
      n.attrs["beta"] = 0.5;
    } else if (kind == "aten::softplus") {  // softplus(x, beta, threshold)
      n.op = "Softplus";
      n.inputs = {input_name(0)};
      n.attrs["beta"] = scalar(node->input(1), 1.0);
      n.attrs["threshold"] = scalar(node->input(2), 20.0);
    } else if (kind == "aten::adaptive_avg_pool1d" || kind == "aten::adaptive_avg_pool2d" ||
               kind == "aten::adaptive_max_pool1d" || kind == "aten::adaptive_max_pool2d") {
      // (x, output_size); the max pools also give the indices (not computed)
      const auto size = ints(node->input(1));
      if (size.empty())
        throw std::runtime_error(where(n) +
                                 "the output size is not a list of numbers (None entries are not supported)");
      n.op = kind.find("avg") != std::string::npos ? "AdaptiveAveragePool" : "AdaptiveMaxPool";
      n.inputs = {input_name(0)};
      n.attrs["output_size"] = size;
    } else if (kind == "aten::softmax" || kind == "aten::log_softmax") {
      n.op = kind == "aten::softmax" ? "Softmax" : "LogSoftmax";
      n.inputs = {input_name(0)};
      n.attrs["axis"] = ints(node->input(1)).empty() ? -1 : ints(node->input(1))[0];
    } else if (kind == "aten::avg_pool1d" || kind == "aten::avg_pool2d") {
      // (x, kernel, stride, padding, ceil_mode, count_include_pad)
      n.op = "AveragePool";
      n.inputs = {input_name(0)};
      n.attrs["kernel_shape"] = ints(node->input(1));
      n.attrs["strides"] = ints(node->input(2)).empty() ? ints(node->input(1)) : ints(node->input(2));
      const auto pads = ints(node->input(3));
      n.attrs["pads"] = both_ends(pads);
      const auto flag = [&](size_t i) {
        const auto it = constants.find(node->input(i));
        return it != constants.end() && it->second.isBool() && it->second.toBool() ? 1 : 0;
      };
      n.attrs["ceil_mode"] = flag(4);
      n.attrs["count_include_pad"] = flag(5);
      if (node->inputs().size() > 6 &&
          !(constants.count(node->input(6)) && constants[node->input(6)].isNone()))
        throw std::runtime_error("import_model: '" + path + "': " + n.name + " (" + kind +
                                 "): divisor_override is not supported (only None)");
    } else if (kind == "aten::flatten") {
      const auto start = ints(node->input(1)), end = ints(node->input(2));
      if (start.empty() || start[0] != 1 || end.empty() || end[0] != -1)
        throw std::runtime_error("import_model: '" + path + "': " + n.name +
                                 ": only flatten(x, 1, -1) is supported");
      n.op = "Flatten";
      n.inputs = {input_name(0)};
      n.attrs["axis"] = 1;
    } else if (kind == "aten::dropout" || kind == "aten::feature_dropout" || kind == "aten::contiguous") {
      n.op = "Identity";
      n.inputs = {input_name(0)};
    } else if (kind == "aten::batch_norm") {
      n.op = "BatchNormalization";
      n.inputs = {input_name(0), input_name(1), input_name(2), input_name(3), input_name(4)};
      n.attrs["epsilon"] = scalar(node->input(7), 1e-5);
    } else if (kind == "aten::clamp" || kind == "aten::hardtanh" || kind == "aten::relu6") {
      n.op = "Clip";
      n.inputs = {input_name(0)};
      const bool relu6 = kind == "aten::relu6";
      const double none = std::numeric_limits<double>::quiet_NaN();
      const double lo = relu6 ? 0.0 : scalar(node->input(1), kind == "aten::hardtanh" ? -1.0 : none);
      const double hi = relu6 ? 6.0 : scalar(node->input(2), kind == "aten::hardtanh" ? 1.0 : none);
      if (!std::isnan(lo)) n.attrs["min"] = lo;
      if (!std::isnan(hi)) n.attrs["max"] = hi;
    } else if (kind == "aten::size") {
      // x.size(0), the batch size, as the exporters write x.view(x.size(0), ...): -1 in the shape.
      const auto dim = ints(node->input(1));
      if (node->inputs().size() != 2 || dim.size() != 1 || dim[0] != 0)
        throw std::runtime_error(where(n) +
                                 "only x.size(0) (the batch size, in a view or reshape) is supported");
      constants[node->output()] = c10::IValue(int64_t{-1});
      continue;
    } else if (kind == "aten::view" || kind == "aten::reshape") {
      const auto shape = ints(node->input(1));
      if (shape.empty())
        throw std::runtime_error(where(n) + "the shape is not a list of constants and x.size(0)");
      n.op = "Reshape";
      ConstTensor t;
      t.name = n.name + ".shape";
      t.is_int = true;
      t.dims = {static_cast<int64_t>(shape.size())};
      t.i = shape;
      g.constants[t.name] = t;
      n.inputs = {input_name(0), t.name};
    } else if (kind == "aten::permute" || kind == "aten::transpose") {
      // permute(x, dims); transpose(x, d0, d1): the swap, made a perm once the rank is known
      n.op = "Transpose";
      n.inputs = {input_name(0)};
      if (kind == "aten::permute") {
        const auto dims = ints(node->input(1));
        if (dims.empty()) throw std::runtime_error(where(n) + "its dims are not constants");
        std::vector<int64_t> perm;
        for (auto d : dims) perm.push_back(d < 0 ? d + static_cast<int64_t>(dims.size()) : d);
        n.attrs["perm"] = perm;
      } else {
        const auto d0 = ints(node->input(1)), d1 = ints(node->input(2));
        if (d0.empty() || d1.empty()) throw std::runtime_error(where(n) + "its dims are not constants");
        n.attrs["swap"] = std::vector<int64_t>{d0[0], d1[0]};
      }
    } else if (kind == "aten::add" || kind == "aten::sub" || kind == "aten::mul" || kind == "aten::div") {
      n.op = kind == "aten::add" ? "Add" : kind == "aten::sub" ? "Sub" : kind == "aten::mul" ? "Mul" : "Div";
      if ((kind == "aten::add" || kind == "aten::sub") && scalar(node->input(2), 1.0) != 1.0)
        throw std::runtime_error(where(n) + "alpha other than 1 is not supported");
      if (kind == "aten::div" && node->inputs().size() > 2 &&
          !(constants.count(node->input(2)) && constants[node->input(2)].isNone()))
        throw std::runtime_error(where(n) + "a rounding_mode is not supported (only true division)");
      n.inputs = {input_name(0), ""};
      if (name_of.count(node->input(1))) {
        n.inputs[1] = input_name(1);
      } else {  // a Python number: a scalar constant
        const double v = scalar(node->input(1), std::numeric_limits<double>::quiet_NaN());
        if (std::isnan(v))
          throw std::runtime_error(where(n) + "the second operand is neither a tensor nor a number");
        ConstTensor t;
        t.name = n.name + ".other";
        t.is_float = true;
        t.f = {static_cast<float>(v)};
        g.constants[t.name] = t;
        n.inputs[1] = t.name;
      }
    } else {
      throw std::runtime_error(
          where(n) + "op " + kind + " is not supported for TorchScript (supported: " +
          "aten::linear (with or without bias), matmul, mm, addmm, t (of a parameter), relu, tanh, "
          "sigmoid, leaky_relu, elu, gelu, silu, softplus, hardsigmoid, hardswish, clamp, hardtanh, relu6, "
          "softmax, log_softmax, conv1d/2d, max_pool1d/2d, avg_pool1d/2d, adaptive_avg_pool1d/2d, "
          "adaptive_max_pool1d/2d, flatten, view/reshape, permute, transpose, cat, "
          "add/sub/mul/div, dropout, batch_norm)");
    }
    const std::string out = node->output(0)->debugName();
    name_of[node->output(0)] = out;
    n.outputs = {out};
    g.nodes.push_back(std::move(n));
  }
  const auto outputs = graph->outputs();
  if (outputs.size() != 1 || !name_of.count(outputs[0]))
    throw std::runtime_error("import_model: '" + path +
                             "': forward must return one tensor computed by its ops");
  g.outputs.push_back({name_of[outputs[0]], "float32", {}});
  return g;
}

void write_torchscript(const std::string& original, const std::map<std::string, std::vector<float>>& values,
                       const std::string& out) {
  auto module = load_torchscript(original);
  torch::NoGradGuard no_grad;
  size_t written = 0;
  auto set = [&](const std::string& name, at::Tensor t) {
    const auto it = values.find(name);
    if (it == values.end()) return;
    if (static_cast<int64_t>(it->second.size()) != t.numel())
      throw std::runtime_error("export_torchscript: '" + name + "' has " + std::to_string(t.numel()) +
                               " values, the model " + std::to_string(it->second.size()));
    t.copy_(
        torch::from_blob(const_cast<float*>(it->second.data()), t.sizes(), torch::kFloat32).to(t.dtype()));
    ++written;
  };
  for (const auto& p : module.named_parameters(true)) set(p.name, p.value);
  for (const auto& b : module.named_buffers(true)) set(b.name, b.value);
  if (written != values.size())
    throw std::runtime_error("export_torchscript: '" + original + "' lacks some of the model's tensors");
  module.save(out);
}

}  // namespace torchclad::importer
