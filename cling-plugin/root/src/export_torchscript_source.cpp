// export_torchscript of an ONNX-imported model: the original file's graph
// (fused as the importer fuses it: GELU's formula is one Gelu node, ...)
// written as the forward method of a TorchScript module, one statement per
// node, over the module's tensors. The ops are those the importer accepts
// (import_codegen.cpp's table), with ONNX's meaning of their attributes
// (strides default to 1, AveragePool does not count padding unless
// count_include_pad, Softmax before opset 13 is over the axes from `axis`
// on, ...). Shape arithmetic (Shape, Gather, Unsqueeze, Concat of int64
// values, as the exporters write x.view(x.size(0), -1)) becomes TorchScript
// list arithmetic on x.size().
#include "export_torchscript_source.hpp"

#include <torch/csrc/jit/api/module.h>
#include <torch/script.h>

#include <algorithm>
#include <functional>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <stdexcept>

#include "import_codegen.hpp"

namespace torchclad::importer {
namespace {

using nlohmann::json;

bool is_identifier(const std::string& s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}
bool all_digits(const std::string& s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}
bool python_keyword(const std::string& s) {
  static const std::set<std::string> words{
      "False", "None",     "True",  "and",    "as",   "assert", "async",  "await",    "break",
      "class", "continue", "def",   "del",    "elif", "else",   "except", "finally",  "for",
      "from",  "global",   "if",    "import", "in",   "is",     "lambda", "nonlocal", "not",
      "or",    "pass",     "raise", "return", "try",  "while",  "with",   "yield"};
  return words.count(s) > 0;
}
// A name the module can hold as an attribute: the file's, or with the
// characters an attribute cannot have replaced (and not the module's own
// attributes, training and forward).
std::string attribute_name(const std::string& s) {
  std::string a;
  for (char c : s) a += std::isalnum(static_cast<unsigned char>(c)) || c == '_' ? c : '_';
  if (a.empty()) a = "_";
  if (std::isdigit(static_cast<unsigned char>(a[0])) && !all_digits(a)) a = "_" + a;
  if (a.rfind("__", 0) == 0) a = "t" + a;
  if (a == "training" || a == "forward") a += "_";
  return a;
}
std::string number(double v) {
  if (std::isinf(v)) return v > 0 ? "float('inf')" : "float('-inf')";
  char text[40];
  std::snprintf(text, sizeof text, "%.9g", v);
  std::string s = text;
  if (s.find_first_of(".en") == std::string::npos) s += ".0";
  return s;
}
std::string int_list(const std::vector<int64_t>& v) {
  std::string s;
  for (auto e : v) s += (s.empty() ? "" : ", ") + std::to_string(e);
  return "[" + s + "]";
}
std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

// A value of the graph in the forward method: a tensor (an expression), or
// an int64 list or scalar of shape arithmetic (its values when known at
// export, else an expression on sizes).
struct Val {
  enum Kind { kTensor, kInts, kInt } kind = kTensor;
  std::string expr;
  bool known = false;
  std::vector<int64_t> ints;
  std::string text() const {
    if (!known) return expr;
    return kind == kInt ? std::to_string(ints.at(0)) : int_list(ints);
  }
};

struct Writer {
  const Graph& g;
  const std::map<std::string, std::vector<float>>& values;
  const std::set<std::string>& trained;
  TorchScriptSource out;
  std::map<std::string, Val> vals;
  std::map<std::string, std::string> members;  // constant -> its self... expression
  std::set<std::vector<std::string>> leaves, modules;
  std::vector<std::string> lines;
  int count = 0;
  const GraphNode* node = nullptr;

  [[noreturn]] void fail(const std::string& why) const {
    throw std::runtime_error("export_torchscript: " + (node ? node->label() : "'" + g.path + "'") + ": " +
                             why);
  }

  // ---- The module's tensors.

  std::vector<std::string> place(const std::string& name) {
    std::vector<std::string> path;
    std::stringstream parts(name);
    for (std::string part; std::getline(parts, part, '.');) path.push_back(attribute_name(part));
    if (name.empty() || name.back() == '.') path.push_back("_");
    auto free = [&](const std::vector<std::string>& p) {
      if (leaves.count(p) || modules.count(p)) return false;
      for (size_t k = 1; k < p.size(); ++k)
        if (leaves.count(std::vector<std::string>(p.begin(), p.begin() + k))) return false;
      return true;
    };
    if (!free(path)) {  // a clash with another tensor's place: a flat name of its own
      const std::string flat = attribute_name(name);
      path = {flat};
      for (int k = 2; !free(path); ++k) path = {flat + "_" + std::to_string(k)};
    }
    leaves.insert(path);
    for (size_t k = 1; k < path.size(); ++k)
      modules.insert(std::vector<std::string>(path.begin(), path.begin() + k));
    return path;
  }

  std::string member(const ConstTensor& t) {
    if (const auto it = members.find(t.name); it != members.end()) return it->second;
    ModuleTensor m;
    m.name = t.name;
    m.dims = t.dims;
    if (const auto it = values.find(t.name); it != values.end())
      m.values = it->second;
    else if (t.is_int)
      m.values.assign(t.i.begin(), t.i.end());
    else
      m.values = t.f;
    if (static_cast<int64_t>(m.values.size()) != t.numel())
      fail("tensor '" + t.name + "' has " + std::to_string(t.numel()) + " values, the model gives " +
           std::to_string(m.values.size()));
    m.parameter = trained.count(t.name) > 0;
    m.path = place(t.name);
    std::string expr = "self";
    for (const auto& part : m.path)
      expr = is_identifier(part) && !python_keyword(part) ? expr + "." + part
                                                          : "getattr(" + expr + ", \"" + part + "\")";
    out.tensors.push_back(std::move(m));
    return members[t.name] = expr;
  }

  // ---- The node's inputs.

  bool has(size_t i) const { return i < node->inputs.size() && !node->inputs[i].empty(); }

  Val input(size_t i) {
    if (!has(i)) fail("input " + std::to_string(i) + " is missing");
    const std::string& name = node->inputs[i];
    if (const auto it = vals.find(name); it != vals.end()) return it->second;
    const auto c = g.constants.find(name);
    if (c == g.constants.end()) fail("input '" + name + "' is not computed by an op before it");
    const ConstTensor& t = c->second;
    if (t.is_int) {
      if (t.dims.size() > 1) fail("the int64 constant '" + name + "' is not a list or a number");
      Val v;
      v.kind = t.dims.empty() ? Val::kInt : Val::kInts;
      v.known = true;
      v.ints = t.i;
      return v;
    }
    if (!t.is_float && !t.is_double) fail("the constant '" + name + "' is neither float nor int64");
    return Val{Val::kTensor, member(t)};
  }
  std::string tensor(size_t i) {
    const Val v = input(i);
    if (v.kind != Val::kTensor) fail("input '" + node->inputs[i] + "' is an int64 shape value, not a tensor");
    return v.expr;
  }
  // A constant's values (a bound of Clip, a scalar operand).
  const ConstTensor& constant(size_t i) {
    if (!has(i)) fail("input " + std::to_string(i) + " is missing");
    const auto c = g.constants.find(node->inputs[i]);
    if (c == g.constants.end()) fail("input '" + node->inputs[i] + "' is not a constant");
    return c->second;
  }
  // A list of int64 known at export (axes): input i, else attribute `attr`.
  std::vector<int64_t> known_ints(size_t i, const std::string& attr) {
    if (has(i)) {
      const Val v = input(i);
      if (v.kind == Val::kTensor || !v.known)
        fail("input '" + node->inputs[i] + "' is not an int64 constant");
      return v.ints;
    }
    return ints(attr);
  }

  int64_t attr_int(const std::string& name, int64_t fallback) const {
    return node->attrs.contains(name) ? node->attrs[name].get<int64_t>() : fallback;
  }
  double attr_float(const std::string& name, double fallback) const {
    return node->attrs.contains(name) ? node->attrs[name].get<double>() : fallback;
  }
  std::vector<int64_t> ints(const std::string& name) const {
    return node->attrs.contains(name) ? node->attrs[name].get<std::vector<int64_t>>()
                                      : std::vector<int64_t>{};
  }

  // ---- The node's outputs.

  std::string comment() const { return "  # " + one_line(node->name + " (" + node->op + ")"); }
  void emit(const std::string& expr, Val::Kind kind = Val::kTensor) {
    const std::string name = "v" + std::to_string(count++);
    lines.push_back("    " + name + " = " + expr + comment());
    vals[node->outputs.at(0)] = Val{kind, name};
  }
  void known(std::vector<int64_t> v, bool scalar) {
    Val r;
    r.kind = scalar ? Val::kInt : Val::kInts;
    r.known = true;
    r.ints = std::move(v);
    vals[node->outputs.at(0)] = r;
  }
  void alias(const Val& v) {
    if (v.kind == Val::kTensor)
      emit(v.expr);
    else
      vals[node->outputs.at(0)] = v;
  }

  // ---- Ops.

  void gemm() {
    std::string a = tensor(0), b = tensor(1);
    const bool trans_a = attr_int("transA", 0) != 0, trans_b = attr_int("transB", 0) != 0;
    const double alpha = attr_float("alpha", 1.0), beta = attr_float("beta", 1.0);
    const std::string c = has(2) ? tensor(2) : "";
    if (!trans_a && trans_b && alpha == 1.0 && (c.empty() || beta == 1.0))
      return emit("torch.linear(" + a + ", " + b + ", " + (c.empty() ? "None" : c) + ")");
    std::string e = "torch.matmul(" + a + (trans_a ? ".t()" : "") + ", " + b + (trans_b ? ".t()" : "") + ")";
    if (alpha != 1.0) e += " * " + number(alpha);
    if (!c.empty()) e += " + " + c + (beta != 1.0 ? " * " + number(beta) : "");
    emit(e);
  }

  // Spatial rank of a convolution or pooling: 1 or 2, from the weight or the kernel.
  void check_pad_mode() const {
    if (node->attrs.contains("auto_pad") && node->attrs["auto_pad"] != "NOTSET" &&
        node->attrs["auto_pad"] != "VALID")
      fail("auto_pad " + node->attrs["auto_pad"].get<std::string>() + " cannot be written");
  }
  // ONNX's pads [begin..., end...] as PyTorch's symmetric padding, or as
  // constant_pad_nd's [last begin, last end, ...] (`explicit_pad`).
  struct Pads {
    std::vector<int64_t> symmetric, explicit_pad;
    bool asymmetric = false;
  };
  Pads pads(size_t rank) const {
    std::vector<int64_t> p = ints("pads");
    if (p.empty()) p.assign(2 * rank, 0);
    if (p.size() != 2 * rank)
      fail("pads " + int_list(p) + " do not fit " + std::to_string(rank) + " spatial axes");
    Pads r;
    for (size_t k = 0; k < rank; ++k) {
      r.symmetric.push_back(p[k]);
      if (p[k] != p[k + rank]) r.asymmetric = true;
    }
    for (size_t k = rank; k-- > 0;) {
      r.explicit_pad.push_back(p[k]);
      r.explicit_pad.push_back(p[k + rank]);
    }
    return r;
  }
  std::vector<int64_t> ones_or(const std::string& attr, size_t rank) const {
    auto v = ints(attr);
    if (v.empty()) v.assign(rank, 1);
    if (v.size() != rank)
      fail(attr + " " + int_list(v) + " do not fit " + std::to_string(rank) + " spatial axes");
    return v;
  }

  void conv() {
    check_pad_mode();
    const ConstTensor& w = constant(1);
    const size_t rank = w.dims.size() - 2;
    if (rank != 1 && rank != 2) fail("only 1D and 2D convolutions can be written");
    std::string x = tensor(0);
    const std::string weight = tensor(1), bias = has(2) ? tensor(2) : "None";
    const Pads p = pads(rank);
    std::vector<int64_t> padding = p.symmetric;
    if (p.asymmetric) {
      x = "torch.constant_pad_nd(" + x + ", " + int_list(p.explicit_pad) + ", 0.0)";
      padding.assign(rank, 0);
    }
    emit("torch.conv" + std::to_string(rank) + "d(" + x + ", " + weight + ", " + bias + ", " +
         int_list(ones_or("strides", rank)) + ", " + int_list(padding) + ", " +
         int_list(ones_or("dilations", rank)) + ", " + std::to_string(attr_int("group", 1)) + ")");
  }

  void pool(bool average) {
    check_pad_mode();
    const auto kernel = ints("kernel_shape");
    const size_t rank = kernel.size();
    if (rank != 1 && rank != 2)
      fail("only 1D and 2D pooling can be written (kernel_shape " + int_list(kernel) + ")");
    const std::string d = std::to_string(rank) + "d(";
    std::string x = tensor(0);
    const auto strides = ones_or("strides", rank);  // ONNX's default stride is 1, PyTorch's the kernel
    const auto dilations = ones_or("dilations", rank);
    const bool ceil = attr_int("ceil_mode", 0) != 0;
    const bool include_pad = attr_int("count_include_pad", 0) != 0;
    const Pads p = pads(rank);
    bool fits = !p.asymmetric;  // PyTorch pads at most half the kernel on each side
    for (size_t k = 0; k < rank; ++k) fits = fits && 2 * p.symmetric[k] <= kernel[k];
    std::vector<int64_t> padding = p.symmetric;
    if (!fits) {
      // Padded explicitly: exact for a max (padding -inf) and for an average
      // that counts the padding, without ceil_mode (whose last window PyTorch
      // places by the padding it knows of).
      if (ceil || (average && !include_pad))
        fail("pads " + int_list(ints("pads")) + " with kernel " + int_list(kernel) +
             (ceil ? " and ceil_mode=1" : " and count_include_pad=0") +
             " cannot be written: PyTorch pools pad the same on both sides, at most half the kernel (" +
             (ceil ? "with ceil_mode" : "for an average not counting the padding") +
             " the padding cannot be added before the pooling)");
      x = "torch.constant_pad_nd(" + x + ", " + int_list(p.explicit_pad) + ", " +
          (average ? std::string("0.0") : number(-INFINITY)) + ")";
      padding.assign(rank, 0);
    }
    if (average) {
      for (auto v : dilations)
        if (v != 1) fail("an AveragePool with dilations cannot be written");
      return emit("torch.avg_pool" + d + x + ", " + int_list(kernel) + ", " + int_list(strides) + ", " +
                  int_list(padding) + ", " + (ceil ? "True" : "False") + ", " +
                  (include_pad ? "True" : "False") + ")");
    }
    if (node->outputs.size() > 1 && !node->outputs[1].empty())
      for (const auto& n : g.nodes)
        for (const auto& i : n.inputs)
          if (i == node->outputs[1]) fail("its indices output is used, which cannot be written");
    emit("torch.max_pool" + d + x + ", " + int_list(kernel) + ", " + int_list(strides) + ", " +
         int_list(padding) + ", " + int_list(dilations) + ", " + (ceil ? "True" : "False") + ")");
  }

  void global_pool(bool average) {
    const std::string x = tensor(0);
    emit(std::string(average ? "torch.mean(" : "torch.amax(") + x + ", list(range(2, " + x +
         ".dim())), True)");
  }

  void reduce(bool average) {
    const std::string x = tensor(0);
    const auto axes = known_ints(1, "axes");
    const bool keep = attr_int("keepdims", 1) != 0;
    const std::string dims = axes.empty() ? "list(range(" + x + ".dim()))" : int_list(axes);
    emit(std::string(average ? "torch.mean(" : "torch.amax(") + x + ", " + dims + ", " +
         (keep ? "True" : "False") + ")");
  }

  void adaptive_pool(bool average) {
    const auto size = ints("output_size");
    if (size.size() != 1 && size.size() != 2) fail("output_size " + int_list(size) + " is not 1D or 2D");
    const std::string call = std::string("torch.adaptive_") + (average ? "avg" : "max") + "_pool" +
                             std::to_string(size.size()) + "d(" + tensor(0) + ", " + int_list(size) + ")";
    emit(average ? call : call + "[0]");
  }

  void softmax(const std::string& fn) {
    const std::string x = tensor(0);
    const bool single_axis = g.format == "torchscript" || g.opset >= 13;
    const int64_t axis = attr_int("axis", single_axis ? -1 : 1);
    if (single_axis) return emit("torch." + fn + "(" + x + ", " + std::to_string(axis) + ")");
    // Before opset 13: over the axes from `axis` on, flattened.
    emit("torch." + fn + "(torch.flatten(" + x + ", " + std::to_string(axis) + "), -1).reshape(" + x +
         ".size())");
  }

  void clip() {
    // Bounds from inputs 1 and 2 (opset 11 on) or the min / max attributes:
    // numbers, or tensors where a bound is computed (a Cast of a constant).
    bool computed = false;
    for (size_t i : {1, 2}) computed = computed || (has(i) && !g.constants.count(node->inputs[i]));
    auto bound = [&](size_t i, const char* attr) -> std::string {
      if (has(i)) {
        if (computed) return tensor(i);
        const ConstTensor& t = constant(i);
        if (t.numel() != 1 || (!t.is_float && !t.is_double))
          fail("its bound '" + t.name + "' is not a float scalar");
        return number(t.f.at(0));
      }
      return node->attrs.contains(attr) ? number(node->attrs[attr].get<double>()) : "None";
    };
    const std::string lo = bound(1, "min"), hi = bound(2, "max");
    emit("torch.clamp(" + tensor(0) + ", " + lo + ", " + hi + ")");
  }

  void flatten() {
    const std::string x = tensor(0);
    const int64_t axis = attr_int("axis", 1);
    if (axis == 0) return emit(x + ".reshape([1, -1])");
    if (axis == 1) return emit("torch.flatten(" + x + ", 1)");
    emit("torch.flatten(torch.flatten(" + x + ", " + std::to_string(axis) + "), 0, " +
         (axis > 0 ? std::to_string(axis - 1) : std::string("-2")) + ")");
  }

  void reshape() {
    const std::string x = tensor(0);
    const Val shape = input(1);
    if (shape.kind != Val::kInts) fail("its shape '" + node->inputs[1] + "' is not an int64 list");
    if (!shape.known) return emit(x + ".reshape(" + shape.expr + ")");
    std::string s;
    for (size_t k = 0; k < shape.ints.size(); ++k) {
      const int64_t d = shape.ints[k];
      s += (k ? ", " : "") + (d == 0 && attr_int("allowzero", 0) == 0 ? x + ".size(" + std::to_string(k) + ")"
                                                                      : std::to_string(d));
    }
    emit(x + ".reshape([" + s + "])");
  }

  void transpose() {
    const std::string x = tensor(0);
    if (const auto swap = ints("swap"); swap.size() == 2)  // the TorchScript reader's transpose(x, d0, d1)
      return emit(x + ".transpose(" + std::to_string(swap[0]) + ", " + std::to_string(swap[1]) + ")");
    const auto perm = ints("perm");
    if (perm.empty()) return emit(x + ".permute(list(range(" + x + ".dim() - 1, -1, -1)))");
    emit(x + ".permute(" + int_list(perm) + ")");
  }

  void cast() {
    if (attr_int("to", 1) != 1) fail("only a Cast to float32 (to = 1) can be written");
    if (!vals.count(node->inputs.at(0))) {
      const ConstTensor& t = constant(0);
      if (t.is_int) {  // an int64 constant as float32: a buffer of its values
        ConstTensor f = t;
        f.is_int = false;
        f.is_float = true;
        f.f.assign(t.i.begin(), t.i.end());
        f.i.clear();
        return emit(member(f));
      }
    }
    emit(tensor(0) + ".float()");
  }

  void binary(const std::string& op) {
    const Val a = input(0), b = input(1);
    if (a.kind != Val::kTensor || b.kind != Val::kTensor)
      fail("arithmetic on int64 shape values cannot be written");
    emit(a.expr + " " + op + " " + b.expr);
  }

  void batch_norm() {
    if (attr_int("training_mode", 0) != 0) fail("training_mode=1 cannot be written");
    emit("torch.batch_norm(" + tensor(0) + ", " + tensor(1) + ", " + tensor(2) + ", " + tensor(3) + ", " +
         tensor(4) + ", False, 0.1, " + number(attr_float("epsilon", 1e-5)) + ", False)");
  }

  // ---- Shape arithmetic.

  void shape() {
    const std::string x = tensor(0);
    const bool has_start = node->attrs.contains("start"), has_end = node->attrs.contains("end");
    if (!has_start && !has_end) return emit(x + ".size()", Val::kInts);
    emit(x + ".size()[" + (has_start ? std::to_string(attr_int("start", 0)) : "") + ":" +
             (has_end ? std::to_string(attr_int("end", 0)) : "") + "]",
         Val::kInts);
  }

  void gather() {
    const Val data = input(0), index = input(1);
    if (data.kind != Val::kInts || index.kind == Val::kTensor || !index.known || attr_int("axis", 0) != 0)
      fail("only a Gather of an int64 shape (axis 0, constant indices) can be written");
    const bool scalar = index.kind == Val::kInt;
    if (data.known) {
      std::vector<int64_t> picked;
      for (auto k : index.ints) {
        if (k < 0) k += static_cast<int64_t>(data.ints.size());
        if (k < 0 || k >= static_cast<int64_t>(data.ints.size())) fail("index out of range");
        picked.push_back(data.ints[k]);
      }
      return known(picked, scalar);
    }
    if (scalar) return emit(data.expr + "[" + std::to_string(index.ints.at(0)) + "]", Val::kInt);
    std::string s;
    for (auto k : index.ints) s += (s.empty() ? "" : ", ") + data.expr + "[" + std::to_string(k) + "]";
    emit("[" + s + "]", Val::kInts);
  }

  void squeeze_or_unsqueeze() {
    const bool unsqueeze = node->op == "Unsqueeze";
    const Val x = input(0);
    if (x.kind != Val::kTensor) {  // of a shape value: the values stay
      if (unsqueeze) {
        if (x.kind == Val::kInts && x.known) return known(x.ints, false);
        if (x.kind == Val::kInts) fail("an Unsqueeze of an int64 list cannot be written");
        return x.known ? known(x.ints, false) : emit("[" + x.expr + "]", Val::kInts);
      }
      if (x.kind == Val::kInts && x.known && x.ints.size() == 1) return known(x.ints, true);
      if (x.kind == Val::kInts) return emit(x.expr + "[0]", Val::kInt);
      return alias(x);
    }
    std::vector<int64_t> axes = known_ints(1, "axes");
    if (axes.empty())  // which axes have size 1 is known once the model runs
      fail(node->op + " without axes cannot be written (export with opset 13 or later, which gives them)");
    const bool negative = std::all_of(axes.begin(), axes.end(), [](int64_t a) { return a < 0; });
    if (!negative && !std::all_of(axes.begin(), axes.end(), [](int64_t a) { return a >= 0; }))
      fail("axes " + int_list(axes) + " of both signs cannot be written");
    std::sort(axes.begin(), axes.end());
    if (!unsqueeze) std::reverse(axes.begin(), axes.end());
    std::string e = x.expr;
    const std::string rank = x.expr + ".dim()" + (unsqueeze ? " + " + std::to_string(axes.size()) : "");
    for (auto a : axes)
      e += std::string(unsqueeze ? ".unsqueeze(" : ".squeeze(") +
           (negative ? std::to_string(a) + " + " + rank : std::to_string(a)) + ")";
    emit(e);
  }

  void concat() {
    std::vector<Val> parts;
    bool all_ints = true, all_known = true;
    for (size_t i = 0; i < node->inputs.size(); ++i) {
      parts.push_back(input(i));
      all_ints = all_ints && parts.back().kind != Val::kTensor;
      all_known = all_known && parts.back().known;
    }
    if (parts.empty()) fail("no inputs");
    if (all_ints) {
      if (all_known) {
        std::vector<int64_t> v;
        for (const auto& p : parts) v.insert(v.end(), p.ints.begin(), p.ints.end());
        return known(v, false);
      }
      std::string e;
      for (const auto& p : parts)
        e += (e.empty() ? "" : " + ") + (p.kind == Val::kInt ? "[" + p.text() + "]" : p.text());
      return emit(e, Val::kInts);
    }
    std::string list;
    for (size_t i = 0; i < parts.size(); ++i) {
      if (parts[i].kind != Val::kTensor) fail("a Concat of tensors and int64 shape values");
      list += (i ? ", " : "") + parts[i].expr;
    }
    emit("torch.cat([" + list + "], " + std::to_string(attr_int("axis", 1)) + ")");
  }

  void identity() {
    for (size_t i = 1; i < node->outputs.size(); ++i)
      for (const auto& n : g.nodes)
        for (const auto& in : n.inputs)
          if (!node->outputs[i].empty() && in == node->outputs[i])
            fail("its output " + std::to_string(i) + " (a mask) is used, which cannot be written");
    alias(input(0));
  }

  void unary(const std::string& fn, const std::string& args = "") { emit(fn + "(" + tensor(0) + args + ")"); }

  void write(const GraphNode& n) {
    node = &n;
    if (!n.domain.empty() && n.domain != "ai.onnx")
      fail("an op of domain '" + n.domain + "' cannot be written");
    if (n.outputs.empty() || n.outputs[0].empty()) fail("it has no output");
    const std::string& op = n.op;
    if (op == "Gemm") return gemm();
    if (op == "MatMul") return emit("torch.matmul(" + tensor(0) + ", " + tensor(1) + ")");
    if (op == "Conv") return conv();
    if (op == "Relu") return unary("torch.relu");
    if (op == "Tanh") return unary("torch.tanh");
    if (op == "Sigmoid") return unary("torch.sigmoid");
    if (op == "LeakyRelu") return unary("torch.leaky_relu", ", " + number(attr_float("alpha", 0.01)));
    if (op == "Elu") return unary("torch.elu", ", " + number(attr_float("alpha", 1.0)));
    if (op == "Gelu") {
      const std::string approximate =
          n.attrs.contains("approximate") ? n.attrs["approximate"].get<std::string>() : "none";
      if (approximate != "none" && approximate != "tanh")
        fail("approximate '" + approximate + "' cannot be written");
      return unary("torch.gelu", ", approximate='" + approximate + "'");
    }
    if (op == "Softplus")  // ONNX's has no threshold: PyTorch's default 20 changes it by < 1e-8
      return unary("torch.softplus",
                   ", " + number(attr_float("beta", 1.0)) + ", " + number(attr_float("threshold", 20.0)));
    if (op == "HardSigmoid") {
      const double alpha = attr_float("alpha", 0.2), beta = attr_float("beta", 0.5);
      if (std::abs(alpha - 1.0 / 6.0) < 1e-7 && beta == 0.5) return unary("torch.hardsigmoid");
      return emit("torch.clamp(" + tensor(0) + " * " + number(alpha) + " + " + number(beta) + ", 0.0, 1.0)");
    }
    if (op == "HardSwish") return unary("torch.hardswish");
    if (op == "Silu") return unary("torch.silu");
    if (op == "Clip") return clip();
    if (op == "Softmax") return softmax("softmax");
    if (op == "LogSoftmax") return softmax("log_softmax");
    if (op == "MaxPool" || op == "AveragePool") return pool(op == "AveragePool");
    if (op == "GlobalMaxPool" || op == "GlobalAveragePool") return global_pool(op == "GlobalAveragePool");
    if (op == "ReduceMax" || op == "ReduceMean") return reduce(op == "ReduceMean");
    if (op == "AdaptiveMaxPool" || op == "AdaptiveAveragePool")
      return adaptive_pool(op == "AdaptiveAveragePool");
    if (op == "Flatten") return flatten();
    if (op == "Reshape") return reshape();
    if (op == "Dropout" || op == "Identity") return identity();
    if (op == "BatchNormalization") return batch_norm();
    if (op == "Add") return binary("+");
    if (op == "Sub") return binary("-");
    if (op == "Mul") return binary("*");
    if (op == "Div") return binary("/");
    if (op == "Shape") return shape();
    if (op == "Transpose") return transpose();
    if (op == "Cast") return cast();
    if (op == "Gather") return gather();
    if (op == "Unsqueeze" || op == "Squeeze") return squeeze_or_unsqueeze();
    if (op == "Concat") return concat();
    fail("op " + op + " cannot be written as TorchScript");
  }
};

}  // namespace

TorchScriptSource torchscript_source(const Graph& graph,
                                     const std::map<std::string, std::vector<float>>& values,
                                     const std::set<std::string>& trained) {
  const Graph g = fuse_activation_patterns(graph);
  if (g.inputs.size() != 1 || g.outputs.size() != 1)
    throw std::runtime_error("export_torchscript: '" + g.path + "' has " + std::to_string(g.inputs.size()) +
                             " inputs and " + std::to_string(g.outputs.size()) +
                             " outputs; one of each is supported");
  for (const auto& [name, v] : values)
    if (!g.constants.count(name))
      throw std::runtime_error("export_torchscript: '" + g.path + "' has no tensor '" + name + "'");
  Writer w{g, values, trained, {}, {}, {}, {}, {}, {}};
  w.vals[g.inputs[0].name] = Val{Val::kTensor, "x"};
  for (const auto& node : g.nodes) w.write(node);
  const auto it = w.vals.find(g.outputs[0].name);
  if (it == w.vals.end() || it->second.kind != Val::kTensor)
    throw std::runtime_error("export_torchscript: '" + g.path + "': the output '" + g.outputs[0].name +
                             "' is not a tensor computed by its nodes");
  // Every fine-tuned tensor has its place (one the graph reads through an
  // op the importer folded away still belongs to the module).
  w.node = nullptr;
  for (const auto& [name, v] : values) w.member(g.constants.at(name));
  std::ostringstream s;
  s << "def forward(self, x: Tensor) -> Tensor:\n"
    << "    # The forward pass of " << one_line(g.path) << " (ONNX"
    << (g.opset ? ", opset " + std::to_string(g.opset) : std::string())
    << "), written by torchclad's export_torchscript\n"
    << "    # (input '" << one_line(g.inputs[0].name)
    << "'; one statement per node, its name and op after it)\n";
  for (const auto& line : w.lines) s << line << "\n";
  s << "    return " << it->second.expr << "\n";
  w.out.forward = s.str();
  return std::move(w.out);
}

void save_torchscript_module(const TorchScriptSource& source, const std::string& path) {
  torch::jit::Module module("__torch__.TorchcladExport");
  module.register_attribute("training", c10::BoolType::get(), false);
  const auto cu = module._ivalue()->compilation_unit();
  std::map<std::vector<std::string>, torch::jit::Module> subs;
  int count = 0;
  // The submodule at `prefix` (made, with those above it, on first use).
  std::function<torch::jit::Module(const std::vector<std::string>&)> sub =
      [&](const std::vector<std::string>& prefix) -> torch::jit::Module {
    if (prefix.empty()) return module;
    if (const auto it = subs.find(prefix); it != subs.end()) return it->second;
    torch::jit::Module parent = sub(std::vector<std::string>(prefix.begin(), prefix.end() - 1));
    torch::jit::Module m("__torch__.TorchcladExport.Sub" + std::to_string(count++), cu, true);
    m.register_attribute("training", c10::BoolType::get(), false);
    parent.register_module(prefix.back(), m);
    return subs[prefix] = m;
  };
  for (const auto& t : source.tensors) {
    auto owner = sub(std::vector<std::string>(t.path.begin(), t.path.end() - 1));
    auto values = torch::from_blob(const_cast<float*>(t.values.data()),
                                   {static_cast<int64_t>(t.values.size())}, torch::kFloat32)
                      .clone()
                      .reshape(t.dims);
    if (t.parameter)  // trainable in PyTorch after torch.jit.load, as a module's parameters are
      owner.register_parameter(t.path.back(), values.set_requires_grad(true), false);
    else
      owner.register_buffer(t.path.back(), values);
  }
  try {
    module.define(source.forward);
  } catch (const std::exception& e) {
    throw std::runtime_error("export_torchscript: the generated forward does not compile as TorchScript (" +
                             std::string(e.what()).substr(0, std::string(e.what()).find('\n')) + "):\n" +
                             source.forward);
  }
  module.save(path);
}

}  // namespace torchclad::importer
