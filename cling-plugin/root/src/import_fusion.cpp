// Activations that exporters write as several ONNX ops, found in the graph
// and replaced by one node before code generation, so the model uses one
// nn.h block (one buffer, one pullback with PyTorch's derivative):
//   GELU (exact)  x * (1 + Erf(x / sqrt 2)) * 0.5      (opset < 20; then Gelu)
//   GELU (tanh)   x * (1 + Tanh(sqrt(2/pi) (x + 0.044715 x^3))) * 0.5
//   SiLU          x * Sigmoid(x)
//   Softplus      Div(Softplus(Mul(x, beta)), beta), and the dynamo
//                 exporter's threshold: Where(Greater(beta x, t), x, that)
// Each pattern's inner values must be read only inside it; otherwise the
// graph stays as it is (and imports op by op, or is refused by op).
#include <cmath>
#include <map>
#include <set>

#include "import_codegen.hpp"

namespace torchclad::importer {
namespace {

struct Matcher {
  const Graph& g;
  std::map<std::string, size_t> producer;
  std::map<std::string, std::vector<size_t>> consumers;
  std::set<std::string> graph_outputs;

  explicit Matcher(const Graph& graph) : g(graph) {
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      for (const auto& t : g.nodes[i].outputs) producer[t] = i;
      for (const auto& t : g.nodes[i].inputs) consumers[t].push_back(i);
    }
    for (const auto& o : g.outputs) graph_outputs.insert(o.name);
  }
  // The value of a constant of one element.
  bool scalar(const std::string& name, double& v) const {
    const auto it = g.constants.find(name);
    if (it == g.constants.end() || it->second.numel() != 1) return false;
    if (!it->second.f.empty())
      v = it->second.f[0];
    else if (!it->second.i.empty())
      v = static_cast<double>(it->second.i[0]);
    else
      return false;
    return true;
  }
  bool is_scalar(const std::string& name, double want) const {
    double v = 0;
    return scalar(name, v) && std::abs(v - want) <= 1e-6 * std::max(1.0, std::abs(want));
  }
  // The node computing `tensor`, if its op is `op`.
  const GraphNode* made_by(const std::string& tensor, const std::string& op, size_t* at = nullptr) const {
    const auto it = producer.find(tensor);
    if (it == producer.end() || g.nodes[it->second].op != op) return nullptr;
    if (at) *at = it->second;
    return &g.nodes[it->second];
  }
  // The single reader of `tensor` (not a graph output).
  const GraphNode* sole_reader(const std::string& tensor, size_t* at) const {
    if (graph_outputs.count(tensor)) return nullptr;
    const auto it = consumers.find(tensor);
    if (it == consumers.end() || it->second.size() != 1) return nullptr;
    *at = it->second[0];
    return &g.nodes[*at];
  }
  bool read_only_by(const std::string& tensor, const std::set<size_t>& readers) const {
    if (graph_outputs.count(tensor)) return false;
    const auto it = consumers.find(tensor);
    if (it == consumers.end()) return false;
    for (auto i : it->second)
      if (!readers.count(i)) return false;
    return true;
  }
  // Binary node `n` with `known` as one input: the other one.
  static bool other_input(const GraphNode& n, const std::string& known, std::string& other) {
    if (n.inputs.size() != 2) return false;
    if (n.inputs[0] == known) {
      other = n.inputs[1];
      return true;
    }
    if (n.inputs[1] == known) {
      other = n.inputs[0];
      return true;
    }
    return false;
  }
  // Binary node `n` of a scalar constant `want` and a tensor: the tensor.
  bool times_scalar(const GraphNode& n, double want, std::string& tensor) const {
    if (n.inputs.size() != 2) return false;
    for (int k = 0; k < 2; ++k)
      if (is_scalar(n.inputs[k], want) && !is_scalar(n.inputs[1 - k], want)) {
        tensor = n.inputs[1 - k];
        return true;
      }
    return false;
  }
};

struct Match {
  std::set<size_t> nodes;
  std::string input, output;
};

// From `tensor` (1 + erf(..) or 1 + tanh(..)), Mul by x and 0.5 in any
// order and grouping: x * t * 0.5, (x * 0.5) * t, t * 0.5 * x.
bool half_x_times(const Matcher& m, const std::string& x, std::string tensor, Match& match) {
  double factor = 1;
  bool have_x = false;
  for (int step = 0; step < 3; ++step) {
    size_t at = 0;
    const GraphNode* mul = m.sole_reader(tensor, &at);
    if (!mul || mul->op != "Mul" || mul->outputs.size() != 1) return false;
    std::string other;
    if (!Matcher::other_input(*mul, tensor, other)) return false;
    double k = 0;
    size_t p_at = 0;
    if (m.scalar(other, k)) {
      factor *= k;
    } else if (other == x && !have_x) {
      have_x = true;
    } else if (const GraphNode* p = m.made_by(other, "Mul", &p_at); p && !have_x) {
      std::string x_side;
      double pk = 0;
      size_t reader = 0;
      if (!(Matcher::other_input(*p, x, x_side) && m.scalar(x_side, pk) && m.sole_reader(other, &reader)))
        return false;
      have_x = true;
      factor *= pk;
      match.nodes.insert(p_at);
    } else {
      return false;
    }
    match.nodes.insert(at);
    tensor = mul->outputs[0];
    if (have_x && std::abs(factor - 0.5) <= 1e-6) {
      match.output = tensor;
      return true;
    }
  }
  return false;
}

// Add(t, 1) as t's only reader: its output.
bool plus_one(const Matcher& m, const std::string& t, Match& match, std::string& out) {
  size_t at = 0;
  const GraphNode* add = m.sole_reader(t, &at);
  std::string other;
  if (!add || add->op != "Add" || !Matcher::other_input(*add, t, other) || !m.is_scalar(other, 1.0))
    return false;
  match.nodes.insert(at);
  out = add->outputs[0];
  return true;
}

// x * (1 + Erf(x / sqrt 2)) * 0.5, from the Erf node at `e`.
bool gelu_erf(const Matcher& m, size_t e, Match& match) {
  const GraphNode& erf = m.g.nodes[e];
  size_t d_at = 0, reader = 0;
  const GraphNode* d = nullptr;
  std::string x;
  if ((d = m.made_by(erf.inputs[0], "Div", &d_at))) {
    if (d->inputs.size() != 2 || !m.is_scalar(d->inputs[1], std::sqrt(2.0))) return false;
    x = d->inputs[0];
  } else if ((d = m.made_by(erf.inputs[0], "Mul", &d_at))) {
    if (!m.times_scalar(*d, std::sqrt(0.5), x)) return false;
  } else {
    return false;
  }
  if (!m.sole_reader(erf.inputs[0], &reader)) return false;
  match.nodes = {d_at, e};
  match.input = x;
  std::string one_plus;
  return plus_one(m, erf.outputs[0], match, one_plus) && half_x_times(m, x, one_plus, match);
}

// x^3 as Pow(x, 3) or x * (x * x), read only by `reader`: x.
bool cube_of(const Matcher& m, const std::string& t, Match& match, std::string& x) {
  size_t at = 0, r = 0;
  if (!m.sole_reader(t, &r)) return false;
  if (const GraphNode* pow = m.made_by(t, "Pow", &at)) {
    if (pow->inputs.size() != 2 || !m.is_scalar(pow->inputs[1], 3.0)) return false;
    x = pow->inputs[0];
    match.nodes.insert(at);
    return true;
  }
  const GraphNode* outer = m.made_by(t, "Mul", &at);
  if (!outer || outer->inputs.size() != 2) return false;
  for (int k = 0; k < 2; ++k) {
    size_t sq_at = 0, sq_r = 0;
    const GraphNode* sq = m.made_by(outer->inputs[1 - k], "Mul", &sq_at);
    const std::string& cand = outer->inputs[k];
    if (sq && sq->inputs.size() == 2 && sq->inputs[0] == cand && sq->inputs[1] == cand &&
        m.sole_reader(outer->inputs[1 - k], &sq_r)) {
      x = cand;
      match.nodes.insert(at);
      match.nodes.insert(sq_at);
      return true;
    }
  }
  return false;
}

// x * (1 + Tanh(sqrt(2/pi) * (x + 0.044715 * x^3))) * 0.5, from the Tanh node at `t`.
bool gelu_tanh(const Matcher& m, size_t t, Match& match) {
  const GraphNode& tanh = m.g.nodes[t];
  size_t b_at = 0, s_at = 0, r = 0;
  const GraphNode* b = m.made_by(tanh.inputs[0], "Mul", &b_at);
  std::string s;
  if (!b || !m.times_scalar(*b, 0.79788456080286535588, s) || !m.sole_reader(tanh.inputs[0], &r))
    return false;
  const GraphNode* add = m.made_by(s, "Add", &s_at);
  if (!add || add->inputs.size() != 2 || !m.sole_reader(s, &r)) return false;
  match.nodes = {t, b_at, s_at};
  for (int k = 0; k < 2; ++k) {
    const std::string& x = add->inputs[k];
    size_t kappa_at = 0;
    const GraphNode* kappa = m.made_by(add->inputs[1 - k], "Mul", &kappa_at);
    std::string cube, cx;
    Match inner = match;
    if (!kappa || !m.times_scalar(*kappa, 0.044715, cube) || !m.sole_reader(add->inputs[1 - k], &r)) continue;
    inner.nodes.insert(kappa_at);
    if (!cube_of(m, cube, inner, cx) || cx != x) continue;
    inner.input = x;
    std::string one_plus;
    if (plus_one(m, tanh.outputs[0], inner, one_plus) && half_x_times(m, x, one_plus, inner)) {
      match = inner;
      return true;
    }
  }
  return false;
}

// Mul(x, Sigmoid(x)), from the Sigmoid node at `s`.
bool silu(const Matcher& m, size_t s, Match& match) {
  const GraphNode& sig = m.g.nodes[s];
  size_t at = 0;
  const GraphNode* mul = m.sole_reader(sig.outputs[0], &at);
  std::string other;
  if (!mul || mul->op != "Mul" || !Matcher::other_input(*mul, sig.outputs[0], other) ||
      other != sig.inputs[0])
    return false;
  match.nodes = {s, at};
  match.input = sig.inputs[0];
  match.output = mul->outputs[0];
  return true;
}

// Softplus with beta (Div(Softplus(Mul(x, beta)), beta)) and, from the dynamo
// exporter, PyTorch's threshold (Where(Greater(beta x, t), x, softplus)),
// from the Softplus node at `sp`: beta and threshold in `attrs`.
bool softplus(const Matcher& m, size_t sp, Match& match, nlohmann::json& attrs) {
  const GraphNode& node = m.g.nodes[sp];
  const std::string u = node.inputs[0];
  double beta = 1;
  std::string x = u, value = node.outputs[0];
  size_t mul_at = 0, div_at = 0, r = 0;
  match.nodes = {sp};
  // Div(Softplus(Mul(x, b)), b); any other input is x itself (beta 1).
  if (const GraphNode* mul = m.made_by(u, "Mul", &mul_at)) {
    std::string cand;
    for (int k = 0; k < 2 && cand.empty(); ++k)
      if (m.scalar(mul->inputs[k], beta) && !m.is_scalar(mul->inputs[1 - k], beta)) cand = mul->inputs[1 - k];
    const GraphNode* div = m.sole_reader(node.outputs[0], &div_at);
    if (!cand.empty() && div && div->op == "Div" && div->inputs[0] == node.outputs[0] &&
        m.is_scalar(div->inputs[1], beta)) {
      x = cand;
      match.nodes.insert(mul_at);
      match.nodes.insert(div_at);
      value = div->outputs[0];
    } else {
      beta = 1;
    }
  }
  double threshold = 1e30;  // ONNX's Softplus: none
  // Where(Greater(u, t), x, value): u read by the Softplus and the Greater only.
  const GraphNode* where = m.sole_reader(value, &r);
  size_t where_at = r, greater_at = 0;
  const GraphNode* greater = nullptr;
  if (where && where->op == "Where" && where->inputs.size() == 3 && where->inputs[1] == x &&
      where->inputs[2] == value && (greater = m.made_by(where->inputs[0], "Greater", &greater_at)) &&
      greater->inputs[0] == u && m.scalar(greater->inputs[1], threshold) &&
      m.read_only_by(where->inputs[0], {where_at}) && (u == x || m.read_only_by(u, {sp, greater_at}))) {
    match.nodes.insert(where_at);
    match.nodes.insert(greater_at);
    value = where->outputs[0];
  } else {
    threshold = 1e30;
  }
  if (u != x && !m.read_only_by(u, match.nodes)) return false;
  if (match.nodes.size() == 1) return false;  // a plain Softplus: nothing to fuse
  match.input = x;
  match.output = value;
  attrs["beta"] = beta;
  attrs["threshold"] = threshold;
  return true;
}

}  // namespace

Graph fuse_activation_patterns(Graph g) {
  for (bool changed = true; changed;) {
    changed = false;
    const Matcher m(g);
    for (size_t i = 0; i < g.nodes.size() && !changed; ++i) {
      const GraphNode& node = g.nodes[i];
      if (!node.standard_onnx() || node.inputs.empty() || node.outputs.size() != 1) continue;
      Match match;
      GraphNode fused;
      if (node.op == "Erf" && gelu_erf(m, i, match)) {
        fused.op = "Gelu";
        fused.attrs["approximate"] = "none";
      } else if (node.op == "Tanh" && gelu_tanh(m, i, match)) {
        fused.op = "Gelu";
        fused.attrs["approximate"] = "tanh";
      } else if (node.op == "Sigmoid" && silu(m, i, match)) {
        fused.op = "Silu";
      } else if (node.op == "Softplus" && softplus(m, i, match, fused.attrs)) {
        fused.op = "Softplus";
      } else {
        continue;
      }
      // Named after the exporter's module path of the pattern ("/act/Erf" -> "/act/Gelu").
      const std::string& first = g.nodes[*match.nodes.begin()].name;
      fused.name = first.substr(0, first.rfind('/') + 1) + fused.op;
      fused.inputs = {match.input};
      fused.outputs = {match.output};
      fused.attrs["fused_from"] = std::to_string(match.nodes.size()) + " nodes";
      std::vector<GraphNode> kept;
      const size_t last = *match.nodes.rbegin();
      for (size_t k = 0; k < g.nodes.size(); ++k) {
        if (k == last) kept.push_back(fused);
        if (!match.nodes.count(k)) kept.push_back(std::move(g.nodes[k]));
      }
      g.nodes = std::move(kept);
      changed = true;
    }
  }
  return g;
}

// ReLU then MaxPool (PyTorch's Conv-ReLU-MaxPool block) computed as MaxPool
// then ReLU: the two commute (ReLU is monotone; a window's maximum stays
// its maximum), values and gradients alike (the gradient reaches the
// window's first maximum when it is positive, nothing otherwise, in both
// orders, since PyTorch's ReLU has derivative 0 at 0), and the ReLU then
// reads and writes a pool's share of the values (a quarter for MaxPool(4))
// forward and backward. Only where the ReLU's output is read by the MaxPool
// alone and the MaxPool's indices are not used.
Graph pool_before_relu(Graph g) {
  const Matcher m(g);
  std::set<std::string> names;  // every value's name, so that the new one shadows none
  for (const auto& node : g.nodes)
    for (const auto& t : node.outputs) names.insert(t);
  for (const auto& v : g.inputs) names.insert(v.name);
  for (const auto& v : g.outputs) names.insert(v.name);
  for (const auto& [name, value] : g.constants) names.insert(name);
  for (size_t r = 0; r < g.nodes.size(); ++r) {
    const GraphNode& relu = g.nodes[r];
    if (relu.op != "Relu" || !relu.standard_onnx() || relu.inputs.size() != 1 || relu.outputs.size() != 1 ||
        !m.producer.count(relu.inputs[0]))
      continue;
    size_t at = 0;
    const GraphNode* pool = m.sole_reader(relu.outputs[0], &at);
    // at < r: a graph out of order, left as it is.
    if (!pool || at < r || pool->op != "MaxPool" || !pool->standard_onnx() || pool->inputs.size() != 1 ||
        pool->outputs.empty() || pool->outputs.size() > 2)
      continue;
    const bool indices_used = pool->outputs.size() == 2 && (m.consumers.count(pool->outputs[1]) ||
                                                            m.graph_outputs.count(pool->outputs[1]));
    if (indices_used) continue;
    std::string pooled = pool->outputs[0] + "_before_relu";
    while (names.count(pooled)) pooled += "_";
    names.insert(pooled);
    GraphNode first = *pool, second = relu;
    first.inputs = {relu.inputs[0]};
    first.outputs = {pooled};
    second.inputs = {pooled};
    second.outputs = {pool->outputs[0]};
    g.nodes[r] = std::move(first);
    g.nodes[at] = std::move(second);
  }
  return g;
}

}  // namespace torchclad::importer
