// Code generation: the importer's graph becomes a definition in
// torchclad/nn.h. One entry per op in the op table (`ops()` below); each
// reads its node's inputs (activations with their per-sample shapes and
// layout), checks its attributes, and emits members (layer handles and
// activation buffers) and a statement of `loss`.
//
// Layouts: a value is either batch-major, [n, dims...] (the input x, Linear
// outputs), or channel-major, [C, n, L] (Conv1d and pooling outputs: one
// GEMM per convolution over the batch, as nn.h's blocks keep them). With one
// channel the two are the same buffer.
#include "import_codegen.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

namespace torchclad::importer {
namespace {

using nlohmann::json;

// The batch size in shapes computed from activations (Shape of x).
constexpr int64_t kBatch = std::numeric_limits<int64_t>::min() + 1;

struct Value {
  std::string ref;  // "x" (the input batch) or an activation member
  bool is_input = false;
  std::vector<int64_t> dims;   // per sample (without the batch dimension)
  bool channel_major = false;  // [C, n, L] rather than [n, C, L]
  int64_t width() const {
    int64_t w = 1;
    for (auto d : dims) w *= d;
    return w;
  }
  // Its buffer read as channel-major [dims[0], n, dims[1...]].
  bool as_channel_major() const { return dims.size() >= 2 && (channel_major || dims[0] == 1); }
};

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string s;
  for (const auto& e : v) s += (s.empty() ? "" : sep) + e;
  return s;
}
std::string dims_text(const std::vector<int64_t>& d) {
  std::string s = "[";
  for (size_t i = 0; i < d.size(); ++i)
    s += (i ? ", " : "") + (d[i] == kBatch ? std::string("batch") : std::to_string(d[i]));
  return s + "]";
}
std::string cpp_string(const std::string& s) {
  std::string q = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') q += '\\';
    if (c == '\n') {
      q += "\\n";
      continue;
    }
    q += c;
  }
  return q + "\"";
}

struct Context {
  const Graph& g;
  Generated& out;
  std::map<std::string, Value> values;
  std::map<std::string, std::vector<size_t>> consumers;  // tensor -> node indices
  std::vector<std::string> members, body;
  std::set<std::string> identifiers{"m", "p", "a", "x", "y", "n", "nn", "loss", "T"};
  std::set<std::string> layer_names;
  std::set<size_t> fused;  // nodes a handler consumed with its own
  // Integer tensors computed from shapes (Shape -> Gather -> Concat, as the
  // exporters write x.view(x.size(0), -1)); the batch size is kBatch.
  std::map<std::string, ConstTensor> computed;
  std::vector<std::string> preamble;                             // namespace-scope arrays (nn::Const values)
  std::map<std::string, std::pair<std::string, bool>> operands;  // constant -> its member, is it an nn::Param
  int acts = 0;
  size_t index = 0;  // the node being translated

  [[noreturn]] void fail(const GraphNode& node, const std::string& what) const {
    throw std::runtime_error("import_model: " + node.label() + ": " + what);
  }
  const GraphNode& node() const { return g.nodes[index]; }

  const Value& value(const GraphNode& node, size_t i) const {
    if (i >= node.inputs.size() || node.inputs[i].empty())
      fail(node, "input " + std::to_string(i) + " is missing");
    const auto it = values.find(node.inputs[i]);
    if (it == values.end()) {
      if (g.constants.count(node.inputs[i]))
        fail(node, "input '" + node.inputs[i] + "' is a constant where an activation was expected");
      fail(node, "input '" + node.inputs[i] + "' is not computed by an op before it");
    }
    return it->second;
  }
  const ConstTensor& constant(const GraphNode& node, size_t i, bool need_float = true) const {
    if (i >= node.inputs.size() || node.inputs[i].empty())
      fail(node, "input " + std::to_string(i) + " is missing");
    const std::string& name = node.inputs[i];
    const ConstTensor* t = nullptr;
    if (const auto it = g.constants.find(name); it != g.constants.end())
      t = &it->second;
    else if (const auto jt = computed.find(name); jt != computed.end())
      t = &jt->second;
    if (!t) fail(node, "input '" + name + "' must be a constant (an initializer) for torchclad to import it");
    if (need_float && !t->is_float) fail(node, "input '" + name + "' must be a float32 tensor");
    return *t;
  }
  bool has_input(const GraphNode& node, size_t i) const {
    return i < node.inputs.size() && !node.inputs[i].empty();
  }

  int64_t attr_int(const GraphNode& node, const std::string& name, int64_t fallback) const {
    if (!node.attrs.contains(name)) return fallback;
    if (!node.attrs[name].is_number_integer()) fail(node, "attribute " + name + " is not an integer");
    return node.attrs[name].get<int64_t>();
  }
  double attr_float(const GraphNode& node, const std::string& name, double fallback) const {
    return node.attrs.contains(name) ? node.attrs[name].get<double>() : fallback;
  }
  std::vector<int64_t> attr_ints(const GraphNode& node, const std::string& name) const {
    if (!node.attrs.contains(name)) return {};
    return node.attrs[name].get<std::vector<int64_t>>();
  }

  // The single node that reads `tensor`, if exactly one does and it is not
  // a graph output.
  const GraphNode* sole_consumer(const std::string& tensor, size_t* at = nullptr) const {
    for (const auto& o : g.outputs)
      if (o.name == tensor) return nullptr;
    const auto it = consumers.find(tensor);
    if (it == consumers.end() || it->second.size() != 1) return nullptr;
    if (at) *at = it->second[0];
    return &g.nodes[it->second[0]];
  }

  std::string identifier(const std::string& wanted) {
    std::string id;
    for (char c : wanted) id += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
    if (id.empty() || std::isdigit(static_cast<unsigned char>(id[0]))) id = "l" + id;
    std::string unique = id;
    for (int k = 2; identifiers.count(unique); ++k) unique = id + "_" + std::to_string(k);
    identifiers.insert(unique);
    return unique;
  }
  // A layer's name: its weight initializer's prefix ("fc1.weight" -> "fc1"),
  // else from the node's name as PyTorch's exporters write it
  // ("/conv1/Conv" -> "conv1", "/0/Gemm" -> "0"), else the op's.
  std::string layer_name(const GraphNode& node, const std::string& weight) {
    const std::string suffix = ".weight";
    std::string name;
    if (weight.size() > suffix.size() &&
        weight.compare(weight.size() - suffix.size(), suffix.size(), suffix) == 0) {
      name = weight.substr(0, weight.size() - suffix.size());
    } else {
      std::vector<std::string> parts;
      std::stringstream path(node.name);
      for (std::string part; std::getline(path, part, '/');)
        if (!part.empty()) parts.push_back(part);
      if (!parts.empty() && parts.size() > 1 && parts.back().rfind(node.op, 0) == 0) parts.pop_back();
      name = parts.empty() ? node.op : join(parts, ".");
    }
    std::string unique = name;
    for (int k = 2; layer_names.count(unique); ++k) unique = name + "_" + std::to_string(k);
    layer_names.insert(unique);
    return unique;
  }

  // A new activation buffer holding `tensor`.
  Value& new_act(const std::string& tensor, std::vector<int64_t> dims, bool channel_major) {
    Value v;
    v.ref = "t" + std::to_string(acts++);
    identifiers.insert(v.ref);
    v.dims = std::move(dims);
    v.channel_major = channel_major && v.dims.size() >= 2 && v.dims[0] > 1;
    std::string comment =
        "  // " + tensor + " " + dims_text(v.dims) + (v.channel_major ? " channel-major" : "");
    members.push_back("  nn::Act " + v.ref + "{" + std::to_string(v.width()) + ", " +
                      cpp_string("tensor '" + tensor + "'") + "};" + comment);
    return values[tensor] = v;
  }
  void alias(const std::string& tensor, Value v) { values[tensor] = std::move(v); }
  std::string in(const Value& v) const { return v.is_input ? "x" : "m." + v.ref; }
};

// Is `name` a constant (an initializer, a Constant node, or a shape computed
// from the input's)?
bool is_constant_input(const Context& c, const std::string& name) {
  return c.g.constants.count(name) || c.computed.count(name);
}

// ---- Layers with parameters: Linear (Gemm, MatMul with or without an Add of
// a bias) and Conv (1D and 2D), each optionally followed by a
// BatchNormalization folded into it.

// A layer's bias after folding: its values, the file's initializer it came
// from, the initializer export writes it to ("" : the layer has none) and
// the tensor the layer's output stands for (the normalisation's, if folded).
struct LayerBias {
  std::vector<float> values;
  std::string init, target, output;
  bool present() const { return !target.empty(); }
};

// The bias `node` reads at input i (zeros when it has none) for a layer of
// `out` outputs whose output is `output`.
LayerBias read_bias(Context& c, const GraphNode& node, size_t i, int64_t out, const std::string& output) {
  LayerBias b{std::vector<float>(out, 0.0f), "", "", output};
  if (!c.has_input(node, i)) return b;
  const auto& t = c.constant(node, i);
  if (t.numel() != out)
    c.fail(node, "bias '" + t.name + "' has " + std::to_string(t.numel()) + " values for " +
                     std::to_string(out) + " outputs");
  b.values = t.f;
  b.init = b.target = t.name;
  return b;
}

// If the only reader of the layer's output is a BatchNormalization in
// inference form, folds it into w [out, per_out] and the bias. Export then
// writes the layer's bias to the normalisation's B, the layer's own bias (if
// any) becomes 0 and the rest of the normalisation the identity (scale 1,
// mean 0, var 1 - eps).
void fold_batch_norm(Context& c, std::vector<float>& w, LayerBias& b, int64_t out) {
  size_t at = 0;
  const GraphNode* bn = c.sole_consumer(b.output, &at);
  if (!bn || bn->op != "BatchNormalization") return;
  if (c.attr_int(*bn, "training_mode", 0) != 0)
    c.fail(*bn, "training_mode=1 is not supported (export the model in eval())");
  for (size_t i = 1; i < bn->outputs.size(); ++i)
    if (!bn->outputs[i].empty())
      c.fail(*bn, "running-statistics outputs are not supported (export in eval())");
  const auto& scale = c.constant(*bn, 1);
  const auto& bias = c.constant(*bn, 2);
  const auto& mean = c.constant(*bn, 3);
  const auto& var = c.constant(*bn, 4);
  for (const ConstTensor* t : {&scale, &bias, &mean, &var})
    if (t->numel() != out)
      c.fail(*bn, "'" + t->name + "' has " + std::to_string(t->numel()) + " values for " +
                      std::to_string(out) + " channels");
  const double eps = c.attr_float(*bn, "epsilon", 1e-5);
  const int64_t per_out = static_cast<int64_t>(w.size()) / out;
  for (int64_t o = 0; o < out; ++o) {
    const double s = scale.f[o] / std::sqrt(double(var.f[o]) + eps);
    for (int64_t k = 0; k < per_out; ++k) w[o * per_out + k] = static_cast<float>(w[o * per_out + k] * s);
    b.values[o] = static_cast<float>((b.values[o] - mean.f[o]) * s + bias.f[o]);
  }
  if (!b.init.empty()) c.out.fixed.push_back({b.init, std::vector<float>(out, 0.0f)});
  b.target = bias.name;
  c.out.fixed.push_back({scale.name, std::vector<float>(out, 1.0f)});
  c.out.fixed.push_back({mean.name, std::vector<float>(out, 0.0f)});
  c.out.fixed.push_back({var.name, std::vector<float>(out, static_cast<float>(1.0 - eps))});
  c.fused.insert(at);
  b.output = bn->outputs[0];
}

// The layer's parameters (layer.weight as a [rows, cols] matrix, layer.bias
// if present) and where export writes them.
void add_layer_params(Context& c, const std::string& layer, std::vector<float> weight,
                      const std::string& weight_init, bool transposed, int64_t rows, int64_t cols,
                      LayerBias b) {
  c.out.params.push_back({layer + ".weight", std::move(weight)});
  c.out.exports.push_back({layer + ".weight", weight_init, transposed, rows, cols});
  if (!b.present()) return;
  c.out.params.push_back({layer + ".bias", std::move(b.values)});
  c.out.exports.push_back({layer + ".bias", b.target, false, rows, 1});
}

// Emits nn::Linear + nn::linear for x [n, in] -> [n, out]; w [out, in].
void emit_linear(Context& c, const GraphNode& node, const Value& x, std::vector<float> w, LayerBias b,
                 int64_t out, const std::string& weight_init, bool transposed) {
  if (x.dims.size() != 1 || x.channel_major)
    c.fail(node, "its input has per-sample shape " + dims_text(x.dims) +
                     ": a Linear layer reads a flat [batch, features] input (add Flatten before it)");
  const int64_t in = x.dims[0];
  if (static_cast<int64_t>(w.size()) != in * out)
    c.fail(node, "weight '" + weight_init + "' has " + std::to_string(w.size()) + " values, expected " +
                     std::to_string(out) + " x " + std::to_string(in));
  fold_batch_norm(c, w, b, out);
  const std::string layer = c.layer_name(node, weight_init);
  const std::string id = c.identifier(layer);
  c.members.push_back("  nn::Linear " + id + "{" + cpp_string(layer) + ", " + std::to_string(in) + ", " +
                      std::to_string(out) + (b.present() ? "" : ", nn::no_bias") + "};  // " + node.label());
  const Value xv = x;
  Value& y = c.new_act(b.output, {out}, false);
  c.body.push_back(xv.is_input ? "    nn::linear(m." + id + ", p, x, a, m." + y.ref + ", n);"
                               : "    nn::linear(m." + id + ", p, a, m." + xv.ref + ", m." + y.ref + ", n);");
  add_layer_params(c, layer, std::move(w), weight_init, transposed, out, in, std::move(b));
}

void gemm(Context& c, const GraphNode& node) {
  const Value& x = c.value(node, 0);
  const auto& w = c.constant(node, 1);
  if (c.attr_int(node, "transA", 0) != 0) c.fail(node, "transA=1 is not supported");
  if (c.attr_float(node, "alpha", 1.0) != 1.0 || c.attr_float(node, "beta", 1.0) != 1.0)
    c.fail(node, "alpha and beta must be 1 (found " + std::to_string(c.attr_float(node, "alpha", 1.0)) +
                     ", " + std::to_string(c.attr_float(node, "beta", 1.0)) + ")");
  if (w.dims.size() != 2) c.fail(node, "weight '" + w.name + "' is not a matrix");
  const bool trans_b = c.attr_int(node, "transB", 0) != 0;
  const int64_t out = trans_b ? w.dims[0] : w.dims[1], in = trans_b ? w.dims[1] : w.dims[0];
  std::vector<float> weight(w.f);
  if (!trans_b)  // the file's [in, out] -> the model's [out, in]
    for (int64_t o = 0; o < out; ++o)
      for (int64_t i = 0; i < in; ++i) weight[o * in + i] = w.f[i * out + o];
  // The file keeps [in, out] (export transposes back) unless the weight is
  // a Transpose of the file's [out, in] (a traced Linear's addmm(b, x, w.t())).
  emit_linear(c, node, x, std::move(weight), read_bias(c, node, 2, out, node.outputs[0]), out, w.name,
              !trans_b != w.transposed_view);
}

// MatMul(x, W [in, out]): a Linear layer, with a bias when its only reader
// is Add(., b [out]), without one otherwise (torch.nn.Linear(bias=False)).
void matmul(Context& c, const GraphNode& node) {
  const Value& x = c.value(node, 0);
  const auto& w = c.constant(node, 1);
  if (w.dims.size() != 2)
    c.fail(node, "weight '" + w.name + "' is not a matrix [in, out] (found " + dims_text(w.dims) + ")");
  const int64_t in = w.dims[0], out = w.dims[1];
  std::vector<float> weight(w.f.size());
  for (int64_t o = 0; o < out; ++o)
    for (int64_t i = 0; i < in; ++i) weight[o * in + i] = w.f[i * out + o];
  size_t at = 0;
  const GraphNode* add = c.sole_consumer(node.outputs[0], &at);
  LayerBias b{std::vector<float>(out, 0.0f), "", "", node.outputs[0]};
  if (add && add->op == "Add" && add->inputs.size() == 2) {
    const size_t bias_index = add->inputs[0] == node.outputs[0] ? 1 : 0;
    const std::string& q = add->inputs[bias_index];
    const auto it = c.g.constants.find(q);
    if (it != c.g.constants.end() && it->second.is_float && it->second.numel() == out &&
        (it->second.dims.size() == 1 || (it->second.dims.size() == 2 && it->second.dims[0] == 1))) {
      b = read_bias(c, *add, bias_index, out, add->outputs[0]);
      c.fused.insert(at);
    }
  }
  emit_linear(c, node, x, std::move(weight), std::move(b), out, w.name, !w.transposed_view);
}

// A 1D op's pads ([begin, end]) and stride, dilation; auto_pad VALID or NOTSET.
struct Window1d {
  int64_t stride = 1, dilation = 1, pad_begin = 0, pad_end = 0;
};
Window1d window_1d(const Context& c, const GraphNode& node, int64_t default_stride) {
  Window1d w;
  w.stride = default_stride;
  if (const auto s = c.attr_ints(node, "strides"); !s.empty()) w.stride = s[0];
  if (const auto d = c.attr_ints(node, "dilations"); !d.empty()) w.dilation = d[0];
  const auto pads = c.attr_ints(node, "pads");
  if (pads.size() == 2) {
    w.pad_begin = pads[0];
    w.pad_end = pads[1];
  } else if (!pads.empty()) {
    c.fail(node, "pads " + dims_text(pads) + " is not a 1D padding [begin, end]");
  }
  if (node.attrs.contains("auto_pad") && node.attrs["auto_pad"] != "NOTSET" &&
      node.attrs["auto_pad"] != "VALID")
    c.fail(node, "auto_pad " + node.attrs["auto_pad"].get<std::string>() +
                     " is not supported (export with explicit pads)");
  if (w.stride < 1 || w.dilation < 1 || w.pad_begin < 0 || w.pad_end < 0)
    c.fail(node, "strides, dilations and pads must be positive (pads >= 0)");
  return w;
}
std::string options_end(int64_t begin, int64_t end) { return begin == end ? "-1" : std::to_string(end); }

// A 2D op's window: ONNX's pads are [top, left, bottom, right].
struct Window2d {
  int64_t sh = 1, sw = 1, dh = 1, dw = 1, pt = 0, pl = 0, pb = 0, pr = 0;
};
Window2d window_2d(const Context& c, const GraphNode& node, const std::vector<int64_t>& default_strides) {
  Window2d w;
  auto strides = c.attr_ints(node, "strides");
  if (strides.empty()) strides = default_strides;
  auto dil = c.attr_ints(node, "dilations");
  if (dil.empty()) dil = {1, 1};
  auto pads = c.attr_ints(node, "pads");
  if (pads.empty()) pads = {0, 0, 0, 0};
  if (strides.size() != 2 || dil.size() != 2 || pads.size() != 4)
    c.fail(node, "strides, dilations or pads are not 2D (" + dims_text(strides) + ", " + dims_text(dil) +
                     ", " + dims_text(pads) + ")");
  if (node.attrs.contains("auto_pad") && node.attrs["auto_pad"] != "NOTSET" &&
      node.attrs["auto_pad"] != "VALID")
    c.fail(node, "auto_pad " + node.attrs["auto_pad"].get<std::string>() +
                     " is not supported (export with explicit pads)");
  w = {strides[0], strides[1], dil[0], dil[1], pads[0], pads[1], pads[2], pads[3]};
  if (w.sh < 1 || w.sw < 1 || w.dh < 1 || w.dw < 1 || w.pt < 0 || w.pl < 0 || w.pb < 0 || w.pr < 0)
    c.fail(node, "strides and dilations must be >= 1, pads >= 0");
  return w;
}
int64_t out_size(const Context& c, const GraphNode& node, int64_t in, int64_t k, int64_t stride,
                 int64_t dilation, int64_t pad_begin, int64_t pad_end) {
  const int64_t span = dilation * (k - 1) + 1, padded = in + pad_begin + pad_end;
  if (padded < span)
    c.fail(node, "input size " + std::to_string(in) + " (padded) is smaller than the kernel's span " +
                     std::to_string(span));
  return (padded - span) / stride + 1;
}

// A pooling's output size, floor or (ceil_mode=1) ceil, as the blocks compute it.
int64_t pool_out(const Context& c, const GraphNode& node, int64_t in, int64_t k, int64_t stride,
                 int64_t pad_begin, int64_t pad_end, bool ceil) {
  if (k < 1) c.fail(node, "kernel_shape must be >= 1");
  if (pad_begin >= k || pad_end >= k)
    c.fail(node, "pads " + std::to_string(pad_begin) + ", " + std::to_string(pad_end) +
                     " are not smaller than the kernel " + std::to_string(k) + " (a window of padding only)");
  if (in + pad_begin + pad_end < k)
    c.fail(node,
           "input size " + std::to_string(in) + " (padded) is smaller than the kernel " + std::to_string(k));
  const int64_t room = in + pad_begin + pad_end - k;
  int64_t out = (ceil ? (room + stride - 1) / stride : room / stride) + 1;
  if (ceil && (out - 1) * stride >= in + pad_begin)
    --out;  // PyTorch's rule: the last window starts in the input
  return out;
}
bool ceil_mode(const Context& c, const GraphNode& node) {
  const int64_t v = c.attr_int(node, "ceil_mode", 0);
  if (v != 0 && v != 1) c.fail(node, "ceil_mode " + std::to_string(v) + " is not 0 or 1");
  return v == 1;
}

// Conv 2D: nn::Conv2d, input [cin, h, w] (the input batch [n, cin, h, w] or channel-major).
void conv2d(Context& c, const GraphNode& node) {
  const Value& x = c.value(node, 0);
  const auto& w = c.constant(node, 1);
  const int64_t groups = c.attr_int(node, "group", 1);
  const int64_t cout = w.dims[0], cin = w.dims[1] * groups, kh = w.dims[2], kw = w.dims[3];
  const Window2d win = window_2d(c, node, {1, 1});
  if (x.dims.size() != 3 || x.dims[0] != cin)
    c.fail(node, "its input has per-sample shape " + dims_text(x.dims) + ", the weight needs [" +
                     std::to_string(cin) + ", height, width]");
  if (!x.is_input && !x.as_channel_major()) c.fail(node, "its input is not in channel-major layout");
  const int64_t h = x.dims[1], wd = x.dims[2];
  const int64_t hout = out_size(c, node, h, kh, win.sh, win.dh, win.pt, win.pb);
  const int64_t wout = out_size(c, node, wd, kw, win.sw, win.dw, win.pl, win.pr);
  std::vector<float> weight(w.f);
  LayerBias bias = read_bias(c, node, 2, cout, node.outputs[0]);
  fold_batch_norm(c, weight, bias, cout);
  const bool has_bias = bias.present();
  const std::string layer = c.layer_name(node, w.name);
  const std::string id = c.identifier(layer);
  const std::string options = "nn::Conv2dOptions{" + std::to_string(win.sh) + ", " + std::to_string(win.sw) +
                              ", " + std::to_string(win.pt) + ", " + std::to_string(win.pl) + ", " +
                              std::to_string(win.dh) + ", " + std::to_string(win.dw) + ", " +
                              options_end(win.pt, win.pb) + ", " + options_end(win.pl, win.pr) + ", " +
                              (has_bias ? "true" : "false") + ", " + std::to_string(groups) + "}";
  c.members.push_back("  nn::Conv2d " + id + "{" + cpp_string(layer) + ", " + std::to_string(cin) + ", " +
                      std::to_string(cout) + ", " + std::to_string(kh) + ", " + std::to_string(kw) + ", " +
                      std::to_string(h) + ", " + std::to_string(wd) + ", " + options + "};  // " +
                      node.label());
  Value& y = c.new_act(bias.output, {cout, hout, wout}, true);
  c.body.push_back(x.is_input ? "    nn::conv2d(m." + id + ", p, x, a, m." + y.ref + ", n);"
                              : "    nn::conv2d(m." + id + ", p, a, m." + x.ref + ", m." + y.ref + ", n);");
  add_layer_params(c, layer, std::move(weight), w.name, false, cout, cin / groups * kh * kw, std::move(bias));
}

void conv(Context& c, const GraphNode& node) {
  const Value& x = c.value(node, 0);
  const auto& w = c.constant(node, 1);
  if (w.dims.size() == 4) return conv2d(c, node);
  if (w.dims.size() != 3)
    c.fail(node, "only 1D and 2D convolutions are supported (weight '" + w.name + "' has shape " +
                     dims_text(w.dims) + ")");
  const int64_t groups = c.attr_int(node, "group", 1);
  const int64_t cout = w.dims[0], cin = w.dims[1] * groups, k = w.dims[2];
  const Window1d win = window_1d(c, node, 1);
  if (x.dims.size() != 2 || x.dims[0] != cin)
    c.fail(node, "its input has per-sample shape " + dims_text(x.dims) + ", the weight needs [" +
                     std::to_string(cin) + ", length]");
  if (!x.is_input && !x.as_channel_major())
    c.fail(node,
           "its input is not in channel-major layout (a convolution after a Linear layer needs Reshape to "
           "[n, C, L]: not supported yet)");
  const int64_t lin = x.dims[1];
  const int64_t span = win.dilation * (k - 1) + 1, padded = lin + win.pad_begin + win.pad_end;
  if (padded < span)
    c.fail(node, "input length " + std::to_string(lin) + " (padded) is shorter than the kernel's span " +
                     std::to_string(span));
  const int64_t lout = (padded - span) / win.stride + 1;
  std::vector<float> weight(w.f);
  LayerBias bias = read_bias(c, node, 2, cout, node.outputs[0]);
  fold_batch_norm(c, weight, bias, cout);
  const bool has_bias = bias.present();
  const std::string layer = c.layer_name(node, w.name);
  const std::string id = c.identifier(layer);
  std::string options;
  if (win.stride != 1 || win.pad_begin != 0 || win.pad_end != 0 || win.dilation != 1 || !has_bias ||
      groups != 1)
    options = ", nn::ConvOptions{" + std::to_string(win.stride) + ", " + std::to_string(win.pad_begin) +
              ", " + std::to_string(win.dilation) + ", " + options_end(win.pad_begin, win.pad_end) + ", " +
              (has_bias ? "true" : "false") + ", " + std::to_string(groups) + "}";
  c.members.push_back("  nn::Conv1d " + id + "{" + cpp_string(layer) + ", " + std::to_string(cin) + ", " +
                      std::to_string(cout) + ", " + std::to_string(k) + ", " + std::to_string(lin) + options +
                      "};  // " + node.label());
  Value& y = c.new_act(bias.output, {cout, lout}, true);
  c.body.push_back(x.is_input ? "    nn::conv1d(m." + id + ", p, x, a, m." + y.ref + ", n);"
                              : "    nn::conv1d(m." + id + ", p, a, m." + x.ref + ", m." + y.ref + ", n);");
  add_layer_params(c, layer, std::move(weight), w.name, false, cout, cin / groups * k, std::move(bias));
}

// ---- Constants computed from initializers, as the legacy exporter writes
// them without constant folding: Transpose (a Linear without bias's weight)
// and Cast to float32.

// "[2, 0]" of ints.
std::string ints_text(const std::vector<int64_t>& v) {
  std::string t;
  for (auto e : v) t += (t.empty() ? "" : ", ") + std::to_string(e);
  return t;
}

// Transpose of an activation, the batch axis kept first: nn::Permute into a
// channel-major buffer (what a convolution reads), or an alias when the
// values keep their memory order (perm the identity, or moving axes of size 1).
void transpose_activation(Context& c, const GraphNode& node) {
  const Value x = c.value(node, 0);
  const int64_t rank = static_cast<int64_t>(x.dims.size()) + 1;
  std::vector<int64_t> perm = c.attr_ints(node, "perm");
  if (const auto swap = c.attr_ints(node, "swap"); swap.size() == 2) {  // TorchScript's transpose(x, d0, d1)
    for (int64_t k = 0; k < rank; ++k) perm.push_back(k);
    const int64_t a = swap[0] < 0 ? swap[0] + rank : swap[0], b = swap[1] < 0 ? swap[1] + rank : swap[1];
    if (a < 0 || a >= rank || b < 0 || b >= rank)
      c.fail(node, "transpose dims " + ints_text(swap) + " out of range");
    std::swap(perm[a], perm[b]);
  }
  if (perm.empty())  // ONNX's default: the axes reversed, which moves the batch
    for (int64_t k = rank - 1; k >= 0; --k) perm.push_back(k);
  auto refuse = [&](const std::string& why) {
    c.fail(
        node,
        "a Transpose of an activation of per-sample shape " + dims_text(x.dims) + " with perm [" +
            ints_text(perm) + "]: " + why +
            "; supported are perms that keep the batch axis first (perm[0] = 0) on activations of rank <= 4");
  };
  if (static_cast<int64_t>(perm.size()) != rank)
    refuse("perm does not order the " + std::to_string(rank) + " axes");
  if (perm[0] != 0) refuse("it moves the batch axis");
  if (rank > 4) refuse("rank " + std::to_string(rank) + " is not supported");
  if (x.is_input)
    refuse("a Transpose of the model's input itself is not supported (it needs a layer before it)");
  std::vector<int> q, in_dims, out_dims;
  std::vector<int64_t> dims;
  std::vector<char> seen(rank, 0);
  for (int64_t k = 1; k < rank; ++k) {
    if (perm[k] < 1 || perm[k] >= rank || seen[perm[k]]++) refuse("perm is not a permutation of the axes");
    q.push_back(static_cast<int>(perm[k] - 1));
    dims.push_back(x.dims[perm[k] - 1]);
  }
  for (auto d : x.dims) in_dims.push_back(static_cast<int>(d));
  for (auto d : dims) out_dims.push_back(static_cast<int>(d));
  // The axes longer than 1, in order: unchanged means the same memory order
  // (for a batch-major input).
  std::vector<int64_t> moved_in, moved_out;
  for (size_t k = 0; k < x.dims.size(); ++k)
    if (x.dims[k] > 1) moved_in.push_back(static_cast<int64_t>(k));
  for (size_t k = 0; k < q.size(); ++k)
    if (dims[k] > 1) moved_out.push_back(q[k]);
  if (moved_in == moved_out && !x.channel_major) {
    Value y = x;
    y.dims = dims;
    y.channel_major = false;
    return c.alias(node.outputs[0], y);
  }
  const bool out_cm = dims.size() >= 2 && dims[0] > 1;
  const std::string layer = c.layer_name(node, "");
  const std::string id = c.identifier(layer);
  auto list = [](const std::vector<int>& v) {
    std::string t;
    for (auto e : v) t += (t.empty() ? "" : ", ") + std::to_string(e);
    return "{" + t + "}";
  };
  c.members.push_back("  nn::Permute " + id + "{" + cpp_string(layer) + ", " + list(in_dims) + ", " +
                      (x.channel_major ? "true" : "false") + ", " + list(q) + ", " +
                      (out_cm ? "true" : "false") + "};  // " + node.label());
  Value& y = c.new_act(node.outputs[0], dims, out_cm);
  c.body.push_back("    nn::permute(m." + id + ", a, m." + x.ref + ", m." + y.ref + ", n);");
}

void transpose_constant(Context& c, const GraphNode& node) {
  if (!is_constant_input(c, node.inputs.at(0))) return transpose_activation(c, node);
  ConstTensor q = c.constant(node, 0);
  const auto perm = c.attr_ints(node, "perm");
  if (q.dims.size() != 2 || !(perm.empty() || perm == std::vector<int64_t>{1, 0}))
    c.fail(node, "only a Transpose of a matrix (perm [1, 0]) is supported, found shape " + dims_text(q.dims) +
                     " and perm " + dims_text(perm));
  const int64_t rows = q.dims[0], cols = q.dims[1];
  std::vector<float> t(q.f.size());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < cols; ++k) t[k * rows + r] = q.f[r * cols + k];
  q.f = std::move(t);
  q.dims = {cols, rows};
  q.transposed_view = !q.transposed_view;
  c.computed[node.outputs[0]] = std::move(q);
}

void cast_constant(Context& c, const GraphNode& node) {
  if (!is_constant_input(c,
                         node.inputs.at(0))) {  // activations are float32: a Cast to float32 is the identity
    const Value& x = c.value(node, 0);
    if (c.attr_int(node, "to", 1) != 1)
      c.fail(node,
             "a Cast of an activation to ONNX type " + std::to_string(c.attr_int(node, "to", 1)) +
                 " is not supported: torchclad's activations are float32, and a Cast to float32 (to = 1) "
                 "is the one supported");
    return c.alias(node.outputs[0], x);
  }
  if (c.attr_int(node, "to", 1) != 1) c.fail(node, "only a Cast to float32 (to = 1) is supported");
  ConstTensor q = c.constant(node, 0, false);
  if (q.is_double) {
    q.is_double = false;
    q.is_float = true;
  } else if (q.is_int) {
    q.f.assign(q.i.begin(), q.i.end());
    q.i.clear();
    q.is_int = false;
    q.is_float = true;
  }
  c.computed[node.outputs[0]] = std::move(q);
}

// ---- Ops without parameters.

// nn::block(a, x, y, args..., n): an elementwise block with numeric arguments.
void elementwise(Context& c, const GraphNode& node, const std::string& block,
                 const std::vector<double>& args = {}) {
  const Value& x = c.value(node, 0);
  if (x.is_input)
    c.fail(node, "an activation of the model's input itself is not supported (it needs a layer before it)");
  const Value xv = x;
  Value& y = c.new_act(node.outputs[0], xv.dims, xv.channel_major);
  std::string extra;
  for (double v : args) {
    char number[32];
    std::snprintf(number, sizeof number, "%.9g", v);
    extra += std::string(number) + ", ";
  }
  c.body.push_back("    nn::" + block + "(a, m." + xv.ref + ", m." + y.ref + ", " + extra + "n);");
}

// Gelu (opset 20, or fused from the Erf / Tanh formula): approximate "none" or "tanh".
void gelu(Context& c, const GraphNode& node) {
  const std::string approximate =
      node.attrs.contains("approximate") ? node.attrs["approximate"].get<std::string>() : "none";
  if (approximate != "none" && approximate != "tanh")
    c.fail(node, "approximate '" + approximate + "' is not supported (supported: 'none' and 'tanh')");
  elementwise(c, node, approximate == "none" ? "gelu" : "gelu_tanh");
}

// Softplus: beta and threshold when fused from PyTorch's formula (see
// import_fusion.cpp), else ONNX's log(1 + e^x) (beta 1, no threshold).
void softplus(Context& c, const GraphNode& node) {
  const double beta = c.attr_float(node, "beta", 1.0), threshold = c.attr_float(node, "threshold", 1e30);
  if (!(beta > 0)) c.fail(node, "beta " + std::to_string(beta) + " is not positive");
  elementwise(c, node, "softplus", {beta, threshold});
}

// [n, C, L] (any layout) -> [n, C * L], PyTorch's order.
void flatten_value(Context& c, const GraphNode& node, const Value& x) {
  const int64_t width = x.width();
  if (x.channel_major && x.dims[0] > 1) {
    const Value xv = x;
    Value& y = c.new_act(node.outputs[0], {width}, false);
    c.body.push_back("    nn::flatten(a, m." + xv.ref + ", m." + y.ref + ", " + std::to_string(xv.dims[0]) +
                     ", n);");
    return;
  }
  Value y = x;  // already [n, C * L] in memory
  y.dims = {width};
  y.channel_major = false;
  c.alias(node.outputs[0], y);
}

void flatten(Context& c, const GraphNode& node) {
  if (c.attr_int(node, "axis", 1) != 1) c.fail(node, "only axis=1 (keep the batch dimension) is supported");
  flatten_value(c, node, c.value(node, 0));
}

// The per-sample dims a Reshape to `s` gives a tensor of per-sample dims
// `in` (s[0] the batch: the batch size, -1 or 0; -1 once among the rest,
// 0 copies the input's dimension).
std::vector<int64_t> reshaped_dims(const Context& c, const GraphNode& node, const std::vector<int64_t>& s,
                                   const std::vector<int64_t>& in, int64_t width) {
  auto bad = [&](const std::string& why) {
    c.fail(
        node,
        why + " (shape " + dims_text(s) + " for per-sample shape " + dims_text(in) +
            "): supported are reshapes that keep the batch dimension first, [batch, -1] or [batch, d1, ...]");
  };
  if (s.size() < 2) bad("the batch dimension is not kept");
  if (!(s[0] == kBatch || s[0] == 0 || s[0] == -1 || s[0] >= 1)) bad("the batch dimension is not kept");
  std::vector<int64_t> dims;
  int64_t known = 1, infer = -1;
  for (size_t i = 1; i < s.size(); ++i) {
    int64_t d = s[i];
    if (d == 0 && c.attr_int(node, "allowzero", 0) == 0) {
      if (i - 1 >= in.size()) bad("0 copies a dimension the input does not have");
      d = in[i - 1];
    }
    if (d == -1) {
      if (infer >= 0 || s[0] == -1) bad("more than one dimension is -1");
      infer = static_cast<int64_t>(dims.size());
    } else if (d < 1) {
      bad("a dimension is " + std::to_string(d));
    } else {
      known *= d;
    }
    dims.push_back(d);
  }
  if (infer >= 0) {
    if (width % known != 0) bad(std::to_string(width) + " values per sample do not divide into it");
    dims[infer] = width / known;
  } else if (known != width) {
    bad("it holds " + std::to_string(known) + " values per sample, the input " + std::to_string(width));
  }
  return dims;
}

// Reshape of a constant (a parameter viewed for broadcasting,
// weight.view(1, C, 1)): the same values, new dims; the name stays the
// initializer's, which export writes.
void reshape_constant(Context& c, const GraphNode& node, const std::vector<int64_t>& s) {
  ConstTensor q = c.constant(node, 0);
  std::vector<int64_t> dims(s);
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] == 0 && c.attr_int(node, "allowzero", 0) == 0 && i < q.dims.size()) dims[i] = q.dims[i];
    if (dims[i] == -1 && infer < 0)
      infer = static_cast<int64_t>(i);
    else if (dims[i] >= 1)
      known *= dims[i];
    else
      c.fail(node, "the constant '" + q.name + "' cannot take the shape " + dims_text(s));
  }
  if (infer >= 0 && known > 0 && q.numel() % known == 0) dims[infer] = q.numel() / known;
  q.dims = dims;
  if (q.numel() != static_cast<int64_t>(q.f.size()))
    c.fail(node, "the constant '" + q.name + "' has " + std::to_string(q.f.size()) + " values, the shape " +
                     dims_text(s) + " holds " + std::to_string(q.numel()));
  c.computed[node.outputs[0]] = std::move(q);
}

// Reshape keeping the batch dimension: to [batch, -1] (flattening, as
// Flatten), or to [batch, C, ...] (a Linear's output viewed as a
// convolution's input: nn::unflatten to channel-major; a relabelling when
// the memory order does not change: the input batch, one channel, or the
// channels kept).
void reshape(Context& c, const GraphNode& node) {
  const auto& shape = c.constant(node, 1, false);
  if (!shape.is_int) c.fail(node, "the shape '" + shape.name + "' is not an int64 tensor");
  if (is_constant_input(c, node.inputs.at(0))) return reshape_constant(c, node, shape.i);
  const Value x = c.value(node, 0);
  const std::vector<int64_t> dims = reshaped_dims(c, node, shape.i, x.dims, x.width());
  if (dims.size() == 1) return flatten_value(c, node, x);
  Value y = x;
  y.dims = dims;
  if (x.is_input || (!x.channel_major && dims[0] == 1)) {  // [n, W] in memory either way
    y.channel_major = false;
    return c.alias(node.outputs[0], y);
  }
  if (x.channel_major) {
    if (dims[0] != x.dims[0])
      c.fail(node, "a reshape of a convolution's output " + dims_text(x.dims) + " to " + dims_text(dims) +
                       " changes its channels: supported are reshapes that keep the channels, or flatten");
    return c.alias(node.outputs[0], y);
  }
  Value& out = c.new_act(node.outputs[0], dims, true);
  c.body.push_back("    nn::unflatten(a, m." + x.ref + ", m." + out.ref + ", " + std::to_string(dims[0]) +
                   ", n);");
}

void identity(Context& c, const GraphNode& node) {
  for (size_t i = 1; i < node.outputs.size(); ++i)
    if (!node.outputs[i].empty() && c.consumers.count(node.outputs[i]))
      c.fail(node, "its output " + std::to_string(i) + " (a mask) is used, which torchclad does not compute");
  c.alias(node.outputs[0], c.value(node, 0));
}

// MaxPool / AveragePool, 2D, on a convolution's output [channels, height, width];
// floor or ceil_mode output size.
void pool2d(Context& c, const GraphNode& node, bool average) {
  const Value& x = c.value(node, 0);
  const auto kernel = c.attr_ints(node, "kernel_shape");
  const Window2d win = window_2d(c, node, {1, 1});
  if (win.dh != 1 || win.dw != 1)
    c.fail(node, "dilations [" + std::to_string(win.dh) + ", " + std::to_string(win.dw) +
                     "] are not supported: torchclad pools without dilation (dilations 1)");
  if (node.outputs.size() > 1 && !node.outputs[1].empty() && c.consumers.count(node.outputs[1]))
    c.fail(node, "its indices output is used, which torchclad does not compute");
  if (x.is_input || x.dims.size() != 3 || !x.as_channel_major())
    c.fail(node, "its input must be a convolution's output [channels, height, width] (found " +
                     dims_text(x.dims) + ")");
  const int64_t channels = x.dims[0], h = x.dims[1], wd = x.dims[2];
  const bool ceil = ceil_mode(c, node);
  const int64_t hout = pool_out(c, node, h, kernel[0], win.sh, win.pt, win.pb, ceil);
  const int64_t wout = pool_out(c, node, wd, kernel[1], win.sw, win.pl, win.pr, ceil);
  const bool include_pad = average && c.attr_int(node, "count_include_pad", 0) != 0;
  const std::string layer = c.layer_name(node, "");
  const std::string id = c.identifier(layer);
  c.members.push_back("  nn::" + std::string(average ? "AvgPool2d " : "MaxPool2d ") + id + "{" +
                      cpp_string(layer) + ", " + std::to_string(channels) + ", " + std::to_string(h) + ", " +
                      std::to_string(wd) + ", " + std::to_string(kernel[0]) + ", " +
                      std::to_string(kernel[1]) + ", nn::Pool2dOptions{" + std::to_string(win.sh) + ", " +
                      std::to_string(win.sw) + ", " + std::to_string(win.pt) + ", " + std::to_string(win.pl) +
                      ", " + options_end(win.pt, win.pb) + ", " + options_end(win.pl, win.pr) + ", " +
                      (include_pad ? "true" : "false") + (ceil ? ", true" : "") + "}};  // " + node.label());
  const Value xv = x;
  Value& y = c.new_act(node.outputs[0], {channels, hout, wout}, xv.channel_major || channels > 1);
  c.body.push_back("    nn::" + std::string(average ? "avg_pool2d" : "max_pool2d") + "(m." + id + ", a, m." +
                   xv.ref + ", m." + y.ref + ", n);");
}

void pool(Context& c, const GraphNode& node, bool average) {
  const Value& x = c.value(node, 0);
  const auto kernel = c.attr_ints(node, "kernel_shape");
  if (kernel.size() == 2) return pool2d(c, node, average);
  if (kernel.size() != 1)
    c.fail(node, "only 1D and 2D pooling are supported (kernel_shape " + dims_text(kernel) + ")");
  const int64_t k = kernel[0];
  const Window1d win = window_1d(c, node, 1);
  if (win.dilation != 1)
    c.fail(node, "dilations [" + std::to_string(win.dilation) +
                     "] are not supported: torchclad pools without dilation (dilations 1)");
  if (node.outputs.size() > 1 && !node.outputs[1].empty() && c.consumers.count(node.outputs[1]))
    c.fail(node, "its indices output is used, which torchclad does not compute");
  if (x.is_input || !x.as_channel_major())
    c.fail(node, "its input must be a convolution's output [channels, length] (found per-sample shape " +
                     dims_text(x.dims) + ")");
  const int64_t channels = x.dims[0], lin = x.dims[1];
  const bool ceil = ceil_mode(c, node);
  const int64_t lout = pool_out(c, node, lin, k, win.stride, win.pad_begin, win.pad_end, ceil);
  const bool include_pad = average && c.attr_int(node, "count_include_pad", 0) != 0;
  const std::string layer = c.layer_name(node, "");
  const std::string id = c.identifier(layer);
  const std::string type = average ? "AvgPool1d" : "MaxPool1d";
  c.members.push_back("  nn::" + type + " " + id + "{" + cpp_string(layer) + ", " + std::to_string(channels) +
                      ", " + std::to_string(lin) + ", " + std::to_string(k) + ", nn::PoolOptions{" +
                      std::to_string(win.stride) + ", " + std::to_string(win.pad_begin) + ", " +
                      options_end(win.pad_begin, win.pad_end) + ", " + (include_pad ? "true" : "false") +
                      (ceil ? ", true" : "") + "}};  // " + node.label());
  const Value xv = x;
  Value& y = c.new_act(node.outputs[0], {channels, lout}, xv.channel_major || channels > 1);
  c.body.push_back("    nn::" + std::string(average ? "avg_pool1d" : "max_pool1d") + "(m." + id + ", a, m." +
                   xv.ref + ", m." + y.ref + ", n);");
}

// A pooling over whole windows of a convolution's output [C, L] or [C, H, W]:
// `node` as MaxPool / AveragePool with kernel = stride = `kernel`.
void pool_windows(Context& c, const GraphNode& node, bool average, const std::vector<int64_t>& kernel) {
  GraphNode p = node;
  p.attrs = json::object();
  p.attrs["kernel_shape"] = kernel;
  p.attrs["strides"] = kernel;
  pool(c, p, average);
}

const Value& spatial_input(Context& c, const GraphNode& node, const std::string& what) {
  const Value& x = c.value(node, 0);
  if (x.is_input || x.dims.size() < 2 || x.dims.size() > 3 || !x.as_channel_major())
    c.fail(node, what +
                     " reads a convolution's output [channels, length] or [channels, height, width] (found " +
                     (x.is_input ? "the model's input" : "per-sample shape " + dims_text(x.dims)) + ")");
  return x;
}

// GlobalAveragePool / GlobalMaxPool (AdaptiveAvgPool / AdaptiveMaxPool with
// output size 1, as the exporter writes them): one window over all positions.
void global_pool(Context& c, const GraphNode& node, bool average) {
  const Value& x = spatial_input(c, node, "a global pooling");
  pool_windows(c, node, average, std::vector<int64_t>(x.dims.begin() + 1, x.dims.end()));
}

// ReduceMean / ReduceMax over all positions of a convolution's output (the
// dynamo exporter's AdaptiveAvgPool2d(1)): a global pooling; without
// keepdims, flattened to [batch, channels].
void reduce_positions(Context& c, const GraphNode& node, bool average) {
  const Value x = c.value(node, 0);
  const int64_t rank = static_cast<int64_t>(x.dims.size()) + 1;
  std::vector<int64_t> axes = c.attr_ints(node, "axes");
  if (c.has_input(node, 1)) {  // opset 18 on: the axes as an input
    const auto& t = c.constant(node, 1, false);
    if (!t.is_int) c.fail(node, "its axes '" + t.name + "' are not an int64 constant");
    axes = t.i;
  }
  for (auto& a : axes) a = a < 0 ? a + rank : a;
  std::sort(axes.begin(), axes.end());
  std::vector<int64_t> positions;
  for (int64_t k = 2; k < rank; ++k) positions.push_back(k);
  if (x.is_input || rank < 3 || rank > 4 || axes != positions || !x.as_channel_major())
    c.fail(node, "a reduction over axes [" + ints_text(axes) + "] of per-sample shape " + dims_text(x.dims) +
                     ": supported is the " + (average ? "mean" : "maximum") +
                     " over all positions of a convolution's output (axes 2 and on: a global pooling, as "
                     "AdaptiveAvgPool/AdaptiveMaxPool with output size 1 export)");
  const std::vector<int64_t> kernel(x.dims.begin() + 1, x.dims.end());
  if (c.attr_int(node, "keepdims", 1) != 0) return pool_windows(c, node, average, kernel);
  GraphNode pooled = node;
  pooled.outputs = {node.outputs[0] + "#pooled"};
  pool_windows(c, pooled, average, kernel);
  flatten_value(c, node, c.values.at(pooled.outputs[0]));
}

// AdaptiveAvgPool / AdaptiveMaxPool 1D and 2D (TorchScript's
// aten::adaptive_*_pool*d, attribute output_size): PyTorch's windows are
// [floor(i L / o), ceil((i + 1) L / o)). When o divides L on every axis they
// are the windows of a pooling with kernel = stride = L / o (nn::Pool1d /
// Pool2d); otherwise they differ in size and may overlap: nn::AdaptivePool1d
// / AdaptivePool2d, which compute those windows.
void adaptive_pool(Context& c, const GraphNode& node, bool average) {
  const Value& x = spatial_input(c, node, "an adaptive pooling");
  const std::vector<int64_t> in(x.dims.begin() + 1, x.dims.end());
  const std::vector<int64_t> out = c.attr_ints(node, "output_size");
  if (out.size() != in.size())
    c.fail(node, "output size [" + ints_text(out) + "] for input positions [" + ints_text(in) +
                     "]: one size per axis expected");
  std::vector<int64_t> kernel;
  for (size_t k = 0; k < in.size(); ++k) {
    if (out[k] < 1) c.fail(node, "output size [" + ints_text(out) + "]: every size must be at least 1");
    if (out[k] <= in[k] && in[k] % out[k] == 0) kernel.push_back(in[k] / out[k]);
  }
  if (kernel.size() == in.size()) return pool_windows(c, node, average, kernel);
  const Value xv = x;
  const int64_t channels = xv.dims[0];
  const bool two_d = in.size() == 2;
  const std::string layer = c.layer_name(node, "");
  const std::string id = c.identifier(layer);
  const std::string type =
      std::string("Adaptive") + (average ? "Avg" : "Max") + (two_d ? "Pool2d" : "Pool1d");
  std::string geometry = std::to_string(channels);
  for (auto d : in) geometry += ", " + std::to_string(d);
  for (auto d : out) geometry += ", " + std::to_string(d);
  // The comment says which windows PyTorch's rule gives: their sizes per axis.
  std::string windows;
  for (size_t k = 0; k < in.size(); ++k) {
    int64_t lo = in[k], hi = 0;
    for (int64_t i = 0; i < out[k]; ++i) {
      const int64_t size = ((i + 1) * in[k] + out[k] - 1) / out[k] - i * in[k] / out[k];
      lo = std::min(lo, size);
      hi = std::max(hi, size);
    }
    windows += (k ? " x " : "") + std::to_string(lo) + (hi > lo ? "-" + std::to_string(hi) : std::string());
  }
  const auto sizes = [two_d](const std::vector<int64_t>& v) {
    return two_d ? "[" + ints_text(v) + "]" : ints_text(v);
  };
  c.members.push_back("  nn::" + type + " " + id + "{" + cpp_string(layer) + ", " + geometry + "};  // " +
                      node.label() + ": " + sizes(in) + " -> " + sizes(out) + ", windows of " + windows +
                      " (PyTorch's, [floor(i L / out), ceil((i + 1) L / out)))");
  std::vector<int64_t> dims{channels};
  dims.insert(dims.end(), out.begin(), out.end());
  Value& y = c.new_act(node.outputs[0], dims, xv.channel_major || channels > 1);
  c.body.push_back("    nn::adaptive_" + std::string(average ? "avg" : "max") + "_pool" +
                   (two_d ? "2d" : "1d") + "(m." + id + ", a, m." + xv.ref + ", m." + y.ref + ", n);");
}

// The dynamo exporter writes an AdaptiveAvgPool whose output size does not
// divide its input as PyTorch's decomposition (the legacy exporter refuses
// to export it): a GatherND of every window's positions (indices
// [oh, kh, ow, kw, 2], the (row, column) of slot (a, b) of output (i, j):
// PyTorch's window starts plus a, b, clamped to the input; a 1D pooling has
// oh = kh = 1 after an Unsqueeze), a Where zeroing the slots past each
// window's end, Gathers and Adds summing the slots, a Div by the window
// sizes. Recognised by its indices and refused, saying what imports instead.
void refuse_gathered_adaptive_pool(const Graph& g) {
  for (const auto& node : g.nodes) {
    if (node.op != "GatherND" || node.inputs.size() != 2) continue;
    const auto it = g.constants.find(node.inputs[1]);
    if (it == g.constants.end() || !it->second.is_int) continue;
    const ConstTensor& t = it->second;
    if (t.dims.size() != 5 || t.dims[4] != 2 || static_cast<int64_t>(t.i.size()) != t.numel() || t.i.empty())
      continue;
    const int64_t oh = t.dims[0], kh = t.dims[1], ow = t.dims[2], kw = t.dims[3];
    int64_t h = 0, w = 0;  // the input's size: the last window ends at its end
    for (size_t k = 0; k + 1 < t.i.size(); k += 2) {
      h = std::max(h, t.i[k] + 1);
      w = std::max(w, t.i[k + 1] + 1);
    }
    auto start = [](int64_t i, int64_t len, int64_t out) { return i * len / out; };
    auto fits = [&](int64_t len, int64_t out, int64_t slots) {
      for (int64_t i = 0; i < out; ++i)
        if ((i + 1) * len / out + ((i + 1) * len % out != 0) - start(i, len, out) > slots) return false;
      return true;
    };
    bool windows = fits(h, oh, kh) && fits(w, ow, kw);
    for (int64_t i = 0, at = 0; windows && i < oh; ++i)
      for (int64_t a = 0; windows && a < kh; ++a)
        for (int64_t j = 0; windows && j < ow; ++j)
          for (int64_t b = 0; windows && b < kw; ++b, at += 2)
            windows = t.i[at] == std::min(start(i, h, oh) + a, h - 1) &&
                      t.i[at + 1] == std::min(start(j, w, ow) + b, w - 1);
    if (!windows || (h % oh == 0 && w % ow == 0)) continue;
    const bool one_d = h == 1 && oh == 1;
    const std::string sizes =
        one_d ? "input length " + std::to_string(w) + " to output size " + std::to_string(ow)
              : "input size [" + ints_text({h, w}) + "] to output size [" + ints_text({oh, ow}) + "]";
    const bool rows_divide = h % oh == 0;
    throw std::runtime_error(
        "import_model: " + node.label() +
        ": this GatherND is the dynamo exporter's form of an adaptive pooling of " + sizes +
        " (PyTorch's windows gathered, masked, summed and divided): the pooling's output size does not "
        "divide its input (" +
        std::to_string(rows_divide ? w : h) + " is not a multiple of " +
        std::to_string(rows_divide ? ow : oh) +
        ", so its windows differ in size), which torchclad does not "
        "import from ONNX. Import the module as TorchScript (torch.jit.script or trace, with "
        "ImportOptions::input_shape), which imports it, or give the pooling an output size that divides its "
        "input (the exporters then write a pooling torchclad imports)");
  }
}

void leaky_relu(Context& c, const GraphNode& node) {
  const Value& x = c.value(node, 0);
  if (x.is_input)
    c.fail(node, "an activation of the model's input itself is not supported (it needs a layer before it)");
  const Value xv = x;
  const double alpha = c.attr_float(node, "alpha", 0.01);
  Value& y = c.new_act(node.outputs[0], xv.dims, xv.channel_major);
  char number[32];
  std::snprintf(number, sizeof number, "%.9g", alpha);
  c.body.push_back("    nn::leaky_relu(a, m." + xv.ref + ", m." + y.ref + ", " + number + ", n);");
}

// Clip (torch.clamp, ReLU6, Hardtanh): bounds from inputs 1 and 2 (opset
// 11 on; scalar constants, either may be absent) or the min / max attributes.
void clip(Context& c, const GraphNode& node) {
  const Value& x = c.value(node, 0);
  if (x.is_input)
    c.fail(node, "an activation of the model's input itself is not supported (it needs a layer before it)");
  auto bound = [&](size_t i, const char* attr, double fallback) {
    if (c.has_input(node, i)) {
      const auto& q = c.constant(node, i);
      if (q.numel() != 1)
        c.fail(node, "its bound '" + q.name + "' is not a scalar (shape " + dims_text(q.dims) + ")");
      return static_cast<double>(q.f[0]);
    }
    return c.attr_float(node, attr, fallback);
  };
  const double lo = bound(1, "min", -1e300), hi = bound(2, "max", 1e300);
  if (!(lo <= hi))
    c.fail(node, "its lower bound " + std::to_string(lo) + " is above its upper bound " + std::to_string(hi));
  const Value xv = x;
  Value& y = c.new_act(node.outputs[0], xv.dims, xv.channel_major);
  char l[32], h[32];
  std::snprintf(l, sizeof l, "%.9g", lo);
  std::snprintf(h, sizeof h, "%.9g", hi);
  c.body.push_back("    nn::clip(a, m." + xv.ref + ", m." + y.ref + ", " + l + ", " + h + ", n);");
}

// Softmax / LogSoftmax over one axis (opset 13 on and TorchScript; before
// opset 13 over the axes from `axis` on, flattened): the features of a flat
// activation (nn::softmax), the channels of a channel-major one
// (nn::softmax_channels), any other axis of a sample (nn::softmax_axis:
// `count` values `inner` apart in either layout). Not over the batch.
void softmax(Context& c, const GraphNode& node, const std::string& block) {
  const Value& x = c.value(node, 0);
  if (x.is_input)
    c.fail(node, "a softmax of the model's input itself is not supported (it needs a layer before it)");
  const int64_t rank = static_cast<int64_t>(x.dims.size()) + 1;
  const int64_t given = c.attr_int(node, "axis", c.g.opset < 13 ? 1 : -1);
  const int64_t axis = given < 0 ? given + rank : given;
  const bool single_axis =
      c.g.format == "torchscript" || c.g.opset >= 13;  // older ONNX: over axis.. flattened
  const Value xv = x;
  auto refuse = [&](const std::string& why) {
    c.fail(node, "axis " + std::to_string(given) + " of per-sample shape " + dims_text(xv.dims) + ": " + why +
                     "; supported are the axes 1 to " + std::to_string(rank - 1) + " (or -1 to -" +
                     std::to_string(rank - 1) + ") of an activation of rank <= 4");
  };
  if (axis < 0 || axis >= rank) refuse("out of range");
  if (axis == 0) refuse("a softmax over the batch mixes the samples");
  if (rank > 4) refuse("rank " + std::to_string(rank) + " is not supported");
  const size_t d = static_cast<size_t>(axis - 1);                    // the axis among the per-sample dims
  if (rank == 2 || (!single_axis && d == 0 && !xv.channel_major)) {  // all of a sample's values
    Value& y = c.new_act(node.outputs[0], xv.dims, xv.channel_major);
    c.body.push_back("    nn::" + block + "(a, m." + xv.ref + ", m." + y.ref + ", n);");
    return;
  }
  if (d == 0 && xv.channel_major) {
    if (!single_axis)
      refuse("at opset " + std::to_string(c.g.opset) +
             " a softmax over the flattened channels and positions of a " +
             "convolution's output (channel-major) is not supported (export with opset 13 or later)");
    Value& y = c.new_act(node.outputs[0], xv.dims, true);
    c.body.push_back("    nn::" + block + "_channels(a, m." + xv.ref + ", m." + y.ref + ", " +
                     std::to_string(xv.dims[0]) + ", n);");
    return;
  }
  int64_t count = 1, inner = 1;
  for (size_t k = d; k < xv.dims.size(); ++k) (k == d || !single_axis ? count : inner) *= xv.dims[k];
  Value& y = c.new_act(node.outputs[0], xv.dims, xv.channel_major);
  c.body.push_back("    nn::" + block + "_axis(a, m." + xv.ref + ", m." + y.ref + ", " +
                   std::to_string(count) + ", " + std::to_string(inner) + ", n);");
}

// ---- Shape arithmetic on int64 tensors (no step of the forward pass).

bool is_int_constant(const Context& c, const std::string& name) {
  const auto a = c.g.constants.find(name);
  if (a != c.g.constants.end()) return a->second.is_int;
  const auto b = c.computed.find(name);
  return b != c.computed.end() && b->second.is_int;
}

void set_ints(Context& c, const GraphNode& node, std::vector<int64_t> values, bool scalar = false) {
  ConstTensor t;
  t.name = node.outputs[0];
  t.is_int = true;
  if (!scalar) t.dims = {static_cast<int64_t>(values.size())};
  t.i = std::move(values);
  c.computed[t.name] = std::move(t);
}

void shape_of(Context& c, const GraphNode& node) {
  const Value& x = c.value(node, 0);
  std::vector<int64_t> dims{kBatch};
  dims.insert(dims.end(), x.dims.begin(), x.dims.end());
  const int64_t rank = static_cast<int64_t>(dims.size());
  int64_t start = c.attr_int(node, "start", 0), end = c.attr_int(node, "end", rank);
  if (start < 0) start += rank;
  if (end < 0) end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, start, rank);
  set_ints(c, node, std::vector<int64_t>(dims.begin() + start, dims.begin() + end));
}

void gather_ints(Context& c, const GraphNode& node) {
  const auto& data = c.constant(node, 0, false);
  const auto& index = c.constant(node, 1, false);
  if (!data.is_int || !index.is_int || data.dims.size() != 1 || c.attr_int(node, "axis", 0) != 0)
    c.fail(node, "only Gather of a shape (1-D int64, axis 0) is supported");
  std::vector<int64_t> out;
  for (auto k : index.i) {
    if (k < 0) k += static_cast<int64_t>(data.i.size());
    if (k < 0 || k >= static_cast<int64_t>(data.i.size())) c.fail(node, "index out of range");
    out.push_back(data.i[k]);
  }
  set_ints(c, node, out, index.dims.empty());
}

// Unsqueeze / Squeeze of an activation (the dynamo exporter's 1D adaptive
// pooling: Unsqueeze to [C, 1, L], a 2D pooling, Squeeze): axes of size 1
// added or removed after the batch, an alias when the memory order stays
// (a convolution's output keeps its channels first), else refused; a
// channel-major value squeezed to [C] is flattened to [batch, C].
void squeeze_activation(Context& c, const GraphNode& node) {
  const Value x = c.value(node, 0);
  const bool unsqueeze = node.op == "Unsqueeze";
  std::vector<int64_t> axes = c.attr_ints(node, "axes");
  if (c.has_input(node, 1)) {  // opset 13 on: the axes as an input
    const auto& t = c.constant(node, 1, false);
    if (!t.is_int) c.fail(node, "its axes '" + t.name + "' are not an int64 constant");
    axes = t.i;
  }
  const int64_t in_rank = static_cast<int64_t>(x.dims.size()) + 1;
  const int64_t rank = unsqueeze ? in_rank + static_cast<int64_t>(axes.size()) : in_rank;
  std::vector<int64_t> full{kBatch};
  full.insert(full.end(), x.dims.begin(), x.dims.end());
  for (auto& a : axes) a = a < 0 ? a + rank : a;
  std::sort(axes.begin(), axes.end());
  auto refuse = [&](const std::string& why) {
    c.fail(node, node.op + " of an activation of per-sample shape " + dims_text(x.dims) + " on axes [" +
                     ints_text(axes) + "]: " + why +
                     "; supported are axes of size 1 after the batch (and, on a convolution's output, after "
                     "its channels)");
  };
  if (x.is_input) refuse("the model's input itself (it needs a layer before it)");
  if (axes.empty() && !unsqueeze)  // every axis of size 1
    for (int64_t k = 1; k < in_rank; ++k)
      if (full[k] == 1) axes.push_back(k);
  const bool cm = x.channel_major && !x.dims.empty() && x.dims[0] > 1;
  for (auto a : axes)
    if (a < 1 || a >= rank || (cm && a < 2)) refuse("an axis moves the batch or the channels");
  std::vector<int64_t> dims;
  if (unsqueeze) {
    for (int64_t k = 1, from = 1; k < rank; ++k)
      dims.push_back(std::binary_search(axes.begin(), axes.end(), k) ? 1 : full[from++]);
  } else {
    for (auto a : axes)
      if (full[a] != 1) refuse("axis " + std::to_string(a) + " has size " + std::to_string(full[a]));
    for (int64_t k = 1; k < in_rank; ++k)
      if (!std::binary_search(axes.begin(), axes.end(), k)) dims.push_back(full[k]);
  }
  if (dims.empty()) refuse("nothing of the sample is left");
  if (cm && dims.size() == 1) return flatten_value(c, node, x);  // [C] of a [C, n, 1] buffer
  Value y = x;
  y.dims = dims;
  y.channel_major = cm;
  c.alias(node.outputs[0], y);
}

// Unsqueeze / Squeeze of a shape value: the values stay, the rank changes.
void reshape_ints(Context& c, const GraphNode& node) {
  if (!is_constant_input(c, node.inputs.at(0))) return squeeze_activation(c, node);
  const auto& data = c.constant(node, 0, false);
  if (!data.is_int) c.fail(node, "only " + node.op + " of a shape (int64) is supported");
  set_ints(c, node, data.i, node.op == "Squeeze" && data.i.size() == 1);
}

void concat_ints(Context& c, const GraphNode& node) {
  std::vector<int64_t> out;
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    const auto& part = c.constant(node, i, false);
    if (!part.is_int) c.fail(node, "only Concat of shapes (int64) is supported");
    out.insert(out.end(), part.i.begin(), part.i.end());
  }
  set_ints(c, node, out);
}

// Concat of shapes (evaluated), or of activations along axis 1: the
// features of flat activations (nn::concat_features) or the channels of
// convolution outputs (nn::concat_channels), two at a time.
void concat(Context& c, const GraphNode& node) {
  bool shapes = true;
  for (const auto& in : node.inputs) shapes = shapes && is_int_constant(c, in);
  if (shapes) return concat_ints(c, node);
  if (node.inputs.size() < 2) c.fail(node, "needs two or more inputs");
  Value acc = c.value(node, 0);
  // Axis 1 of [batch, ...], or the same counted from the end (torch.cat(dim=-1) of flat features).
  const int64_t rank = static_cast<int64_t>(acc.dims.size()) + 1, given = c.attr_int(node, "axis", 1);
  if ((given < 0 ? given + rank : given) != 1)
    c.fail(node, "axis " + std::to_string(given) + " of per-sample shape " + dims_text(acc.dims) +
                     ": only axis 1 (the features of flat activations, the channels of a convolution's "
                     "output) is supported for activations");
  for (size_t i = 1; i < node.inputs.size(); ++i) {
    const Value next = c.value(node, i);
    for (const Value* v : {static_cast<const Value*>(&acc), &next})
      if (v->is_input) c.fail(node, "a concat of the model's input itself is not supported");
    const bool flat = acc.dims.size() == 1 && next.dims.size() == 1;
    const bool channels = acc.dims.size() >= 2 && next.dims.size() == acc.dims.size() &&
                          acc.as_channel_major() && next.as_channel_major() &&
                          std::equal(acc.dims.begin() + 1, acc.dims.end(), next.dims.begin() + 1);
    if (!flat && !channels)
      c.fail(node, "inputs of per-sample shapes " + dims_text(acc.dims) + " and " + dims_text(next.dims) +
                       " do not concatenate along features or channels");
    std::vector<int64_t> dims = acc.dims;
    dims[0] += next.dims[0];
    const std::string out =
        i + 1 == node.inputs.size() ? node.outputs[0] : node.outputs[0] + "#" + std::to_string(i);
    Value& y = c.new_act(out, dims, channels);
    c.body.push_back("    nn::" + std::string(flat ? "concat_features" : "concat_channels") + "(a, m." +
                     acc.ref + ", m." + next.ref + ", m." + y.ref + ", n);");
    acc = y;
  }
}

// ---- Add, Sub, Mul (Div): of two activations of the same shape (a
// residual connection), or of an activation and a constant broadcast as a
// scalar, per value of a sample or (on a convolution's output [C, ...]) per
// channel. An
// initializer with more than one value is a trained nn::Param (named as the
// initializer, written back on export); a scalar or a Constant node's value is
// an nn::Const (its values in the source, not trained).

// An nn::Const member with q's values written into the source.
std::string const_member(Context& c, const ConstTensor& q) {
  const std::string id = c.identifier("k_" + q.name);
  std::string values;
  char number[32];
  for (float v : q.f) {
    std::snprintf(number, sizeof number, "%.9g", double(v));
    values += (values.empty() ? "" : ", ") + std::string(number);
  }
  std::vector<std::string> dims;
  for (auto d : q.dims) dims.push_back(std::to_string(d));
  c.preamble.push_back("static constexpr double " + id + "_values[] = {" + values + "};");
  c.members.push_back("  nn::Const " + id + "{" + cpp_string("constant " + q.name) + ", " + id +
                      "_values, {" + (dims.empty() ? std::string("1") : join(dims, ", ")) +
                      "}};  // not trained");
  return id;
}

// BatchNormalization not right after a layer it folds into: nn::BatchNorm,
// gamma and beta trained (named after the scale's layer, exported back),
// the running statistics constants.
void batch_norm(Context& c, const GraphNode& node) {
  const Value x = c.value(node, 0);
  if (x.is_input) c.fail(node, "a normalisation of the model's input itself is not supported");
  if (c.attr_int(node, "training_mode", 0) != 0)
    c.fail(node, "training_mode=1 is not supported (export the model in eval())");
  for (size_t i = 1; i < node.outputs.size(); ++i)
    if (!node.outputs[i].empty() && c.consumers.count(node.outputs[i]))
      c.fail(node, "running-statistics outputs are not supported (export in eval())");
  int64_t channels = 0, spatial = 0;
  if (x.dims.size() == 1) {
    channels = x.dims[0];
  } else if (x.as_channel_major()) {
    channels = x.dims[0];
    spatial = x.width() / channels;
  } else {
    c.fail(node, "its input of per-sample shape " + dims_text(x.dims) +
                     " is not [features] or a convolution's output");
  }
  const auto& scale = c.constant(node, 1);
  const auto& bias = c.constant(node, 2);
  const auto& mean = c.constant(node, 3);
  const auto& var = c.constant(node, 4);
  for (const ConstTensor* t : {&scale, &bias, &mean, &var})
    if (t->numel() != channels)
      c.fail(node, "'" + t->name + "' has " + std::to_string(t->numel()) + " values for " +
                       std::to_string(channels) + " channels");
  const std::string mean_id = const_member(c, mean), var_id = const_member(c, var);
  const std::string layer = c.layer_name(node, scale.name);
  const std::string id = c.identifier(layer);
  char eps[32];
  std::snprintf(eps, sizeof eps, "%.9g", c.attr_float(node, "epsilon", 1e-5));
  c.members.push_back("  nn::BatchNorm " + id + "{" + cpp_string(layer) + ", " + std::to_string(channels) +
                      ", " + std::to_string(spatial) + ", " + mean_id + ", " + var_id + ", " + eps +
                      "};  // " + node.label());
  Value& y = c.new_act(node.outputs[0], x.dims, x.channel_major);
  c.body.push_back("    nn::batch_norm(m." + id + ", p, a, m." + x.ref + ", m." + y.ref + ", n);");
  c.out.params.push_back({layer + ".weight", scale.f});
  c.out.params.push_back({layer + ".bias", bias.f});
  c.out.exports.push_back({layer + ".weight", scale.name, false, channels, 1});
  c.out.exports.push_back({layer + ".bias", bias.name, false, channels, 1});
}

// The member holding constant q (declared on first use) and whether it is a
// trained nn::Param.
std::pair<std::string, bool> operand_member(Context& c, const ConstTensor& q) {
  if (const auto it = c.operands.find(q.name); it != c.operands.end()) return it->second;
  std::vector<std::string> dims;
  for (auto d : q.dims) dims.push_back(std::to_string(d));
  const std::string shape = "{" + join(dims, ", ") + "}";
  std::string id;
  const bool param = q.initializer && q.numel() > 1;
  if (param) {
    id = c.identifier(q.name);
    c.layer_names.insert(q.name);
    c.members.push_back("  nn::Param " + id + "{" + cpp_string(q.name) + ", " +
                        (dims.empty() ? "{1}" : shape) + "};  // initializer '" + q.name + "' (trained)");
    c.out.params.push_back({q.name, q.f});
    c.out.exports.push_back({q.name, q.name, false, q.numel(), 1});
  } else {
    id = const_member(c, q);
  }
  return c.operands[q.name] = {id, param};
}

// Add / Sub / Mul of two activations whose per-sample shapes broadcast
// (numpy's rule; the same rank, each axis equal or 1; or a layout that
// differs): nn::Broadcast, the output in the layout of the operand of the
// full shape (channel-major if neither has it and it has channels).
void broadcast_activations(Context& c, const GraphNode& node, const std::string& op, const Value& x1,
                           const Value& x2) {
  auto refuse = [&](const std::string& why) {
    c.fail(node,
           "inputs of per-sample shapes " + dims_text(x1.dims) + " and " + dims_text(x2.dims) + ": " + why +
               "; supported between two activations are the same shape, or shapes of the same rank <= 4 that "
               "broadcast (each axis equal or 1)");
  };
  if (op == "div") refuse("Div of two activations is not supported");
  if (x1.dims.size() != x2.dims.size()) refuse("their ranks differ");
  if (x1.dims.size() > 3) refuse("rank " + std::to_string(x1.dims.size() + 1) + " is not supported");
  std::vector<int64_t> dims;
  for (size_t k = 0; k < x1.dims.size(); ++k) {
    if (x1.dims[k] != x2.dims[k] && x1.dims[k] != 1 && x2.dims[k] != 1)
      refuse("axis " + std::to_string(k + 1) + " has sizes " + std::to_string(x1.dims[k]) + " and " +
             std::to_string(x2.dims[k]) + ", which do not broadcast");
    dims.push_back(std::max(x1.dims[k], x2.dims[k]));
  }
  bool out_cm = dims.size() >= 2 && dims[0] > 1;
  if (x1.dims == dims)
    out_cm = x1.channel_major;
  else if (x2.dims == dims)
    out_cm = x2.channel_major;
  auto list = [](const std::vector<int64_t>& v) { return "{" + ints_text(v) + "}"; };
  const std::string layer = c.layer_name(node, "");
  const std::string id = c.identifier(layer);
  c.members.push_back("  nn::Broadcast " + id + "{" + cpp_string(layer) + ", " + list(x1.dims) + ", " +
                      (x1.channel_major ? "true" : "false") + ", " + list(x2.dims) + ", " +
                      (x2.channel_major ? "true" : "false") + ", " + (out_cm ? "true" : "false") + "};  // " +
                      node.label());
  Value& y = c.new_act(node.outputs[0], dims, out_cm);
  c.body.push_back("    nn::broadcast_" + op + "(m." + id + ", a, m." + x1.ref + ", m." + x2.ref + ", m." +
                   y.ref + ", n);");
}

void binary(Context& c, const GraphNode& node, const std::string& op) {
  if (node.inputs.size() != 2) c.fail(node, "needs two inputs");
  const bool c0 = is_constant_input(c, node.inputs[0]), c1 = is_constant_input(c, node.inputs[1]);
  if (c0 && c1) c.fail(node, "both inputs are constants");
  auto not_input = [&](const Value& v) {
    if (v.is_input)
      c.fail(node, "an operation on the model's input itself is not supported (it needs a layer before it)");
  };
  if (!c0 && !c1) {
    if (op == "div") c.fail(node, "Div of two activations is not supported");
    const Value x1 = c.value(node, 0), x2 = c.value(node, 1);
    not_input(x1);
    not_input(x2);
    if (x1.dims != x2.dims || x1.channel_major != x2.channel_major)
      return broadcast_activations(c, node, op, x1, x2);
    Value& y = c.new_act(node.outputs[0], x1.dims, x1.channel_major);
    c.body.push_back("    nn::" + op + "(a, m." + x1.ref + ", m." + x2.ref + ", m." + y.ref + ", n);");
    return;
  }
  const Value x = c.value(node, c0 ? 1 : 0);
  not_input(x);
  const ConstTensor& q = c.constant(node, c0 ? 0 : 1);
  std::string block = op;
  if (c0 && op == "sub") block = "rsub";
  if (c0 && op == "div") c.fail(node, "a constant divided by an activation is not supported");
  std::vector<int64_t> dims;  // q's shape without leading 1s
  for (auto d : q.dims)
    if (!dims.empty() || d != 1) dims.push_back(d);
  // [C, 1, ...] against [C, L, ...]: one value per channel.
  const bool per_channel = x.dims.size() >= 2 && dims.size() == x.dims.size() && dims[0] == x.dims[0] &&
                           std::all_of(dims.begin() + 1, dims.end(), [](int64_t d) { return d == 1; });
  if (!(q.numel() == 1 || dims == x.dims || per_channel))
    c.fail(node,
           "a constant of shape " + dims_text(q.dims) + " against per-sample shape " + dims_text(x.dims) +
               ": supported are a scalar, one value per feature (the sample's shape) and, on [C, ...], one "
               "value per channel (shape [1, C, 1, ...])");
  const std::string channels = x.dims.size() >= 2 ? std::to_string(x.dims[0]) : "0";
  const auto [member, param] = operand_member(c, q);
  Value& y = c.new_act(node.outputs[0], x.dims, x.channel_major);
  c.body.push_back("    nn::" + block + (param ? "(p, a, m." : "(a, m.") + x.ref + ", m." + member + ", m." +
                   y.ref + ", " + channels + ", n);");
}

using Handler = std::function<void(Context&, const GraphNode&)>;
const std::vector<std::pair<std::string, Handler>>& ops() {
  static const std::vector<std::pair<std::string, Handler>> table = {
      {"Gemm", gemm},
      {"MatMul", matmul},  // followed by Add of a bias
      {"Conv", conv},      // 1D and 2D: stride, padding, dilation, groups, with or without bias
      {"Relu", [](Context& c, const GraphNode& n) { elementwise(c, n, "relu"); }},
      {"Tanh", [](Context& c, const GraphNode& n) { elementwise(c, n, "tanh"); }},
      {"Sigmoid", [](Context& c, const GraphNode& n) { elementwise(c, n, "sigmoid"); }},
      {"LeakyRelu", leaky_relu},
      {"Elu",
       [](Context& c, const GraphNode& n) { elementwise(c, n, "elu", {c.attr_float(n, "alpha", 1.0)}); }},
      {"Gelu", gelu},  // opset 20; the Erf and Tanh formulas of older exporters are fused into it
      {"Softplus", softplus},
      {"HardSigmoid",
       [](Context& c, const GraphNode& n) {
         elementwise(c, n, "hard_sigmoid", {c.attr_float(n, "alpha", 0.2), c.attr_float(n, "beta", 0.5)});
       }},
      {"HardSwish", [](Context& c, const GraphNode& n) { elementwise(c, n, "hard_swish"); }},
      {"Clip", clip},  // torch.clamp, ReLU6, Hardtanh
      {"Softmax", [](Context& c, const GraphNode& n) { softmax(c, n, "softmax"); }},
      {"LogSoftmax", [](Context& c, const GraphNode& n) { softmax(c, n, "log_softmax"); }},
      {"MaxPool", [](Context& c, const GraphNode& n) { pool(c, n, false); }},     // 1D and 2D
      {"AveragePool", [](Context& c, const GraphNode& n) { pool(c, n, true); }},  // 1D and 2D
      {"GlobalMaxPool", [](Context& c, const GraphNode& n) { global_pool(c, n, false); }},
      {"GlobalAveragePool", [](Context& c, const GraphNode& n) { global_pool(c, n, true); }},
      {"ReduceMax", [](Context& c, const GraphNode& n) { reduce_positions(c, n, false); }},  // over positions
      {"ReduceMean", [](Context& c, const GraphNode& n) { reduce_positions(c, n, true); }},  // over positions
      {"Flatten", flatten},
      {"Reshape", reshape},  // to [batch, -1], [batch, C, ...]; of constants
      {"Dropout", identity},
      {"Identity", identity},
      {"BatchNormalization", batch_norm},  // where it does not fold into the layer before it
      {"Add", [](Context& c, const GraphNode& n) { binary(c, n, "add"); }},
      {"Sub", [](Context& c, const GraphNode& n) { binary(c, n, "sub"); }},
      {"Mul", [](Context& c, const GraphNode& n) { binary(c, n, "mul"); }},
      {"Div", [](Context& c, const GraphNode& n) { binary(c, n, "div"); }},
      // Shape arithmetic, as the exporters write x.view(x.size(0), -1).
      {"Shape", shape_of},
      {"Transpose", transpose_constant},  // of a constant matrix
      {"Cast", cast_constant},            // of a constant, to float32
      {"Gather", gather_ints},
      {"Unsqueeze", reshape_ints},  // of shapes; of activations, axes of size 1
      {"Squeeze", reshape_ints},
      {"Concat", concat},  // of shapes, or of activations along features or channels
                           // BatchNormalization: folded into the Gemm/MatMul/Conv before it.
  };
  return table;
}

// Nodes the readers write that are no ONNX op: SiLU (fused from Sigmoid * x,
// or TorchScript's aten::silu) and TorchScript's adaptive pooling.
const std::vector<std::pair<std::string, Handler>>& internal_ops() {
  static const std::vector<std::pair<std::string, Handler>> table = {
      {"Silu", [](Context& c, const GraphNode& n) { elementwise(c, n, "silu"); }},
      {"AdaptiveMaxPool", [](Context& c, const GraphNode& n) { adaptive_pool(c, n, false); }},
      {"AdaptiveAveragePool", [](Context& c, const GraphNode& n) { adaptive_pool(c, n, true); }},
  };
  return table;
}

}  // namespace

std::vector<std::string> supported_ops() {
  std::vector<std::string> names;
  for (const auto& [name, handler] : ops()) names.push_back(name);
  return names;
}

namespace {
// An Identity of a constant (PyTorch's exporter writes them for parameters
// without constant folding) is that constant under another name; its
// ConstTensor keeps the initializer's name, which export writes.
Graph without_constant_identities(Graph g) {
  std::vector<GraphNode> kept;
  for (auto& node : g.nodes) {
    if (node.op == "Identity" && node.inputs.size() == 1 && node.outputs.size() == 1 &&
        g.constants.count(node.inputs[0])) {
      g.constants[node.outputs[0]] = g.constants.at(node.inputs[0]);
      continue;
    }
    kept.push_back(std::move(node));
  }
  g.nodes = std::move(kept);
  return g;
}

}  // namespace

Generated generate(const Graph& graph, const std::string& model_name, const std::string& loss) {
  const Graph g = pool_before_relu(fuse_activation_patterns(without_constant_identities(graph)));
  const std::string where = "import_model: '" + g.path + "': ";
  if (g.opset < kMinOpset || g.opset > kMaxOpset)
    throw std::runtime_error(where + "opset " + std::to_string(g.opset) +
                             " is not supported (torchclad imports opsets " + std::to_string(kMinOpset) +
                             " to " + std::to_string(kMaxOpset) + ")");
  if (loss != "cross_entropy" && loss != "bce_with_logits" && loss != "mse")
    throw std::runtime_error("import_model: loss must be cross_entropy, bce_with_logits or mse, found '" +
                             loss + "'");
  if (g.inputs.size() != 1 || g.outputs.size() != 1)
    throw std::runtime_error(where + "a model with one input and one output is supported; it has " +
                             std::to_string(g.inputs.size()) + " inputs and " +
                             std::to_string(g.outputs.size()) + " outputs");
  Generated out;
  out.model_name = model_name;
  Context c{g, out, {}, {}, {}, {}};
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (const auto& t : g.nodes[i].inputs) c.consumers[t].push_back(i);

  // The input: [batch, fixed dims...].
  const auto& input = g.inputs[0];
  if (input.type != "float32")
    throw std::runtime_error(where + "input '" + input.name + "' is " + input.type + ", not float32");
  if (input.dims.size() < 2 || input.dims.size() > 4)
    throw std::runtime_error(
        where + "input '" + input.name + "' has rank " + std::to_string(input.dims.size()) +
        "; supported are [batch, features], [batch, channels, length] and [batch, channels, "
        "height, width]");
  Value x;
  x.ref = "x";
  x.is_input = true;
  for (size_t i = 1; i < input.dims.size(); ++i) {
    const auto& d = input.dims[i];
    if (d.empty() || !std::all_of(d.begin(), d.end(), ::isdigit) || std::stoll(d) < 1)
      throw std::runtime_error(
          where + "input '" + input.name + "' has dimension " + std::to_string(i) + " '" + d +
          "', which is not a fixed size: only the batch dimension may be dynamic (export "
          "with a fixed input shape otherwise)");
    x.dims.push_back(std::stoll(d));
  }
  c.values[input.name] = x;
  refuse_gathered_adaptive_pool(g);

  for (c.index = 0; c.index < g.nodes.size(); ++c.index) {
    if (c.fused.count(c.index)) continue;
    const auto& node = g.nodes[c.index];
    const Handler* h = nullptr;
    for (const auto* table : {&ops(), &internal_ops()})
      for (const auto& [name, handler] : *table)
        if (name == node.op && node.standard_onnx()) h = &handler;
    if (!h)
      throw std::runtime_error("import_model: " + node.label() +
                               " is not supported. Supported ops: " + join(supported_ops(), ", "));
    (*h)(c, node);
  }

  const auto it = c.values.find(g.outputs[0].name);
  if (it == c.values.end())
    throw std::runtime_error(where + "the output '" + g.outputs[0].name + "' is not computed");
  const Value y = it->second;
  if (y.is_input) throw std::runtime_error(where + "the output is the input itself");
  if (y.dims.size() != 1 && !(y.dims.size() == 2 && y.dims[0] == 1 && !y.channel_major))
    throw std::runtime_error(where + "the output has per-sample shape " + dims_text(y.dims) +
                             "; torchclad models output a flat [batch, width]");
  const int64_t width = y.width();
  std::string targets, loss_call;
  if (loss == "cross_entropy") {
    if (width < 2)
      throw std::runtime_error(where +
                               "cross_entropy needs one logit per class (2 or more); the output has " +
                               std::to_string(width));
    targets = "classes(" + std::to_string(width) + ")";
    loss_call = "nn::cross_entropy(a, m." + y.ref + ", y, n)";
  } else if (loss == "bce_with_logits") {
    if (width != 1)
      throw std::runtime_error(where + "bce_with_logits needs one logit per sample; the output has " +
                               std::to_string(width));
    targets = "binary()";
    loss_call = "nn::bce_with_logits(a, m." + y.ref + ", y, n)";
  } else {
    targets = "regression(" + std::to_string(width) + ")";
    loss_call = "nn::mse(a, m." + y.ref + ", y, n)";
  }

  int64_t features = x.width();
  const std::string type = "Imported_" + model_name;
  std::ostringstream s;
  s << "// Generated by torchclad::import_model from " << g.path << "\n"
    << "// (" << g.format << (g.format == "onnx" ? ", opset " + std::to_string(g.opset) : std::string())
    << (g.producer.empty() ? "" : ", written by " + g.producer)
    << "). The model's forward pass in torchclad/nn.h;\n"
    << "// the loss (" << loss << ") was chosen at import. Parameters are named after the\n"
    << "// file's initializers; import_model sets their pretrained values.\n"
    << "// Input '" << input.name << "': " << dims_text(x.dims) << " per sample, read as " << features
    << " features.\n";
  for (const auto& note : g.notes) s << "// " << note << "\n";
  s << "#include \"torchclad/nn.h\"\n\n"
    << "namespace nn = torchclad::nn;\n\n";
  for (const auto& line : c.preamble) s << line << "\n";
  if (!c.preamble.empty()) s << "\n";
  s << "struct " << type << " : nn::Model {\n";
  for (const auto& m : c.members) s << m << "\n";
  s << "  " << type << "() {\n"
    << "    inputs(" << features << ");\n"
    << "    " << targets << ";\n"
    << "    output(" << y.ref << ");\n"
    << "  }\n"
    << "  template <class T>\n"
    << "  static T loss(const " << type << "& m, const T* p, T* a, const T* x, const T* y, int n) {\n";
  for (const auto& line : c.body) s << line << "\n";
  s << "    return " << loss_call << ";\n"
    << "  }\n"
    << "};\n"
    << "TORCHCLAD_MODEL(" << model_name << ", " << type << ")\n";
  out.source = s.str();
  return out;
}

}  // namespace torchclad::importer
