// torchclad-onnx: the one place where ONNX files are parsed and written
// (Debian's libonnx + protobuf 3.21). torchclad::import_model runs it as a
// separate process, so a corrupt or hostile file can only crash this
// program, never the user's ROOT session or the kernel host; and Debian's
// libprotobuf never shares a process with LibTorch, which carries protobuf
// code of its own (cling-plugin/README.md, "Importing models").
//
//   torchclad-onnx read MODEL.onnx OUTDIR [--opsets MIN:MAX] [--ops OP,OP,...]
//     checks the model (torchclad_onnx_check.hpp: the opset within MIN..MAX,
//     the nodes of the listed ops at opsets newer than libonnx's), and
//     writes OUTDIR/graph.json (opset, inputs with shapes, nodes with their
//     attributes, outputs, initializers and Constant nodes' tensors: float32
//     values as offsets into OUTDIR/weights.bin, integer values inline)
//   torchclad-onnx write MODEL.onnx VALUES.json VALUES.bin OUT.onnx
//     copies MODEL.onnx with the float32 initializers that VALUES.json names
//     ({"name": {"offset": floats, "count": n}}) replaced by those values
//   torchclad-onnx build GRAPH.json WEIGHTS.bin OUT.onnx
//     writes a model (opset 17) of a graph in read's format (a TorchScript
//     module's, export_onnx): the importer's internal nodes become ONNX ops
//     (Silu, Gelu, Softplus with beta and threshold as their formulas,
//     AdaptiveAveragePool/AdaptiveMaxPool as pools (or, to a size that does
//     not divide the input, a Slice and a reduction per window), a Transpose's swap as a
//     perm, Clip's bounds as inputs; shapes from ONNX's shape inference),
//     checked by onnx::checker::check_model
// Exit status 0 on success, 2 with one line "torchclad-onnx: ..." on stderr
// for any bad input.
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include "torchclad_onnx_check.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {

using nlohmann::json;

struct BadInput : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The directory of the model being read: external data files are relative to it.
std::filesystem::path model_dir;

onnx::ModelProto read_model(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw BadInput("cannot open '" + path + "' (no such file, or not readable)");
  onnx::ModelProto model;
  model_dir = std::filesystem::absolute(path).parent_path();
  if (!model.ParseFromIstream(&in))
    throw BadInput("'" + path +
                   "' is not an ONNX model: protobuf could not parse it as a ModelProto "
                   "(a truncated or corrupt file, or another format)");
  if (!model.has_graph() || model.graph().node_size() == 0)
    throw BadInput("'" + path + "' holds no graph with nodes: not an ONNX model (or an empty one)");
  return model;
}

std::vector<int64_t> dims_of(const onnx::TensorProto& t) { return {t.dims().begin(), t.dims().end()}; }

int64_t numel_of(const onnx::TensorProto& t) {
  int64_t n = 1;
  for (auto d : t.dims()) n *= d;
  return n;
}

// A tensor whose data live in an external file (torch.onnx.export's
// external_data=True, the default of the dynamo exporter): the same tensor
// with raw_data read from that file. The location must be a relative path
// inside the model's directory.
onnx::TensorProto with_external_data(const onnx::TensorProto& t, const std::string& name) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto& e : t.external_data()) {
    if (e.key() == "location") location = e.value();
    if (e.key() == "offset") offset = std::stoll(e.value());
    if (e.key() == "length") length = std::stoll(e.value());
  }
  const std::filesystem::path rel(location);
  if (location.empty() || rel.is_absolute() ||
      std::any_of(rel.begin(), rel.end(), [](const auto& part) { return part == ".."; }))
    throw BadInput("tensor '" + name + "': external data location '" + location +
                   "' is not a file name relative to the model's directory");
  const auto path = model_dir / rel;
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw BadInput("tensor '" + name + "': cannot open its external data file '" + path.string() + "'");
  in.seekg(0, std::ios::end);
  const int64_t size = in.tellg();
  if (length < 0) length = size - offset;
  if (offset < 0 || length < 0 || offset + length > size)
    throw BadInput("tensor '" + name + "': external data [" + std::to_string(offset) + ", +" +
                   std::to_string(length) + ") lies outside '" + path.string() + "' (" +
                   std::to_string(size) + " bytes)");
  std::string raw(static_cast<size_t>(length), '\0');
  in.seekg(offset);
  in.read(raw.data(), length);
  onnx::TensorProto copy = t;
  copy.clear_external_data();
  copy.set_data_location(onnx::TensorProto::DEFAULT);
  copy.set_raw_data(raw);
  return copy;
}

// A tensor's description; float32 values appended to `weights`.
json tensor_json(const onnx::TensorProto& stored, const std::string& name, std::ofstream& weights,
                 int64_t& offset) {
  const onnx::TensorProto t =
      stored.data_location() == onnx::TensorProto::EXTERNAL ? with_external_data(stored, name) : stored;
  json j = {{"name", name}, {"dims", dims_of(t)}};
  const int64_t n = numel_of(t);
  switch (t.data_type()) {
    case onnx::TensorProto::FLOAT: {
      std::vector<float> v(n);
      if (t.has_raw_data()) {
        if (static_cast<int64_t>(t.raw_data().size()) != 4 * n)
          throw BadInput("tensor '" + name + "': " + std::to_string(t.raw_data().size()) +
                         " bytes of raw data for " + std::to_string(n) + " float32 values");
        std::memcpy(v.data(), t.raw_data().data(), 4 * n);
      } else {
        if (t.float_data_size() != n)
          throw BadInput("tensor '" + name + "': " + std::to_string(t.float_data_size()) +
                         " float values for " + std::to_string(n) + " elements");
        std::copy(t.float_data().begin(), t.float_data().end(), v.begin());
      }
      weights.write(reinterpret_cast<const char*>(v.data()), 4 * n);
      j["type"] = "float32";
      j["offset"] = offset;
      offset += n;
      break;
    }
    case onnx::TensorProto::INT64: {
      std::vector<int64_t> v(n);
      if (t.has_raw_data()) {
        if (static_cast<int64_t>(t.raw_data().size()) != 8 * n)
          throw BadInput("tensor '" + name + "': raw data does not hold " + std::to_string(n) +
                         " int64 values");
        std::memcpy(v.data(), t.raw_data().data(), 8 * n);
      } else {
        if (t.int64_data_size() != n) throw BadInput("tensor '" + name + "': wrong number of int64 values");
        std::copy(t.int64_data().begin(), t.int64_data().end(), v.begin());
      }
      j["type"] = "int64";
      j["values"] = v;
      break;
    }
    case onnx::TensorProto::DOUBLE: {  // the legacy exporter's unfolded constants (clamp bounds): as float32
      std::vector<double> d(n);
      if (t.has_raw_data()) {
        if (static_cast<int64_t>(t.raw_data().size()) != 8 * n)
          throw BadInput("tensor '" + name + "': raw data does not hold " + std::to_string(n) +
                         " float64 values");
        std::memcpy(d.data(), t.raw_data().data(), 8 * n);
      } else {
        if (t.double_data_size() != n)
          throw BadInput("tensor '" + name + "': wrong number of float64 values");
        std::copy(t.double_data().begin(), t.double_data().end(), d.begin());
      }
      const std::vector<float> v(d.begin(), d.end());
      weights.write(reinterpret_cast<const char*>(v.data()), 4 * n);
      j["type"] = "float64";
      j["offset"] = offset;
      offset += n;
      break;
    }
    default:
      j["type"] = "other";
      j["onnx_type"] = t.data_type();
  }
  return j;
}

json attribute_json(const onnx::AttributeProto& a, std::ofstream& weights, int64_t& offset) {
  switch (a.type()) {
    case onnx::AttributeProto::INT:
      return a.i();
    case onnx::AttributeProto::FLOAT:
      return a.f();
    case onnx::AttributeProto::STRING:
      return a.s();
    case onnx::AttributeProto::INTS:
      return std::vector<int64_t>(a.ints().begin(), a.ints().end());
    case onnx::AttributeProto::FLOATS:
      return std::vector<float>(a.floats().begin(), a.floats().end());
    case onnx::AttributeProto::TENSOR:
      return tensor_json(a.t(), a.name(), weights, offset);
    default:
      return json{{"unsupported_attribute_type", static_cast<int>(a.type())}};
  }
}

json value_info_json(const onnx::ValueInfoProto& v) {
  json dims = json::array();
  std::string type = "other";
  if (v.type().has_tensor_type()) {
    const auto& tt = v.type().tensor_type();
    type = tt.elem_type() == onnx::TensorProto::FLOAT ? "float32"
                                                      : "onnx type " + std::to_string(tt.elem_type());
    for (const auto& d : tt.shape().dim())
      dims.push_back(d.has_dim_value() ? json(d.dim_value())
                                       : json(d.dim_param().empty() ? "?" : d.dim_param()));
  }
  return {{"name", v.name()}, {"type", type}, {"dims", dims}};
}

int read_command(const std::string& path, const std::string& outdir,
                 const torchclad_onnx::ImportScope& scope) {
  const auto model = read_model(path);
  torchclad_onnx::check_onnx_model(model, path, model_dir, scope);
  std::filesystem::create_directories(outdir);
  std::ofstream weights(outdir + "/weights.bin", std::ios::binary);
  int64_t offset = 0;
  const auto& g = model.graph();
  json j;
  j["ir_version"] = model.ir_version();
  j["producer"] = model.producer_name() + " " + model.producer_version();
  j["opset"] = 0;
  for (const auto& o : model.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx") j["opset"] = o.version();
  json inits = json::array();
  for (const auto& t : g.initializer()) inits.push_back(tensor_json(t, t.name(), weights, offset));
  json inputs = json::array();
  for (const auto& v : g.input()) {
    bool is_init = false;
    for (const auto& t : g.initializer()) is_init = is_init || t.name() == v.name();
    if (!is_init) inputs.push_back(value_info_json(v));
  }
  json nodes = json::array();
  for (const auto& n : g.node()) {
    json node = {{"name", n.name()},
                 {"op", n.op_type()},
                 {"domain", n.domain()},
                 {"inputs", std::vector<std::string>(n.input().begin(), n.input().end())},
                 {"outputs", std::vector<std::string>(n.output().begin(), n.output().end())}};
    json attrs = json::object();
    for (const auto& a : n.attribute()) attrs[a.name()] = attribute_json(a, weights, offset);
    node["attributes"] = attrs;
    nodes.push_back(node);
  }
  json outputs = json::array();
  for (const auto& v : g.output()) outputs.push_back(value_info_json(v));
  j["initializers"] = inits;
  j["inputs"] = inputs;
  j["nodes"] = nodes;
  j["outputs"] = outputs;
  weights.close();
  std::ofstream(outdir + "/graph.json") << j.dump(1) << "\n";
  return 0;
}

// A JSON description and the raw bytes it points into (write's replacement
// values, build's weights), each file named when it cannot be opened.
std::pair<json, std::vector<char>> read_json_and_bytes(const std::string& json_path,
                                                       const std::string& bin_path) {
  std::ifstream in(json_path);
  if (!in) throw BadInput("cannot open '" + json_path + "'");
  json j = json::parse(in);
  std::ifstream bin(bin_path, std::ios::binary);
  if (!bin) throw BadInput("cannot open '" + bin_path + "'");
  return {std::move(j),
          std::vector<char>((std::istreambuf_iterator<char>(bin)), std::istreambuf_iterator<char>())};
}

int write_command(const std::string& path, const std::string& values_json, const std::string& values_bin,
                  const std::string& out) {
  auto model = read_model(path);
  const auto [values, raw] = read_json_and_bytes(values_json, values_bin);
  // Self-contained output: tensors kept in an external file are inlined.
  for (auto& t : *model.mutable_graph()->mutable_initializer())
    if (t.data_location() == onnx::TensorProto::EXTERNAL) t = with_external_data(t, t.name());
  size_t replaced = 0;
  for (auto& t : *model.mutable_graph()->mutable_initializer()) {
    if (!values.contains(t.name())) continue;
    const auto& v = values[t.name()];
    const int64_t off = v.at("offset"), count = v.at("count");
    if (t.data_type() != onnx::TensorProto::FLOAT || count != numel_of(t))
      throw BadInput("initializer '" + t.name() + "' has " + std::to_string(numel_of(t)) + " values (type " +
                     std::to_string(t.data_type()) + "), the replacement " + std::to_string(count) +
                     " float32 values");
    if (off < 0 || static_cast<size_t>((off + count) * 4) > raw.size())
      throw BadInput("'" + values_bin + "' is shorter than the values of '" + t.name() + "'");
    t.clear_float_data();
    t.clear_external_data();  // the written file holds every replaced value itself
    t.set_data_location(onnx::TensorProto::DEFAULT);
    t.set_raw_data(std::string(raw.data() + off * 4, count * 4));
    ++replaced;
  }
  if (replaced != values.size())
    throw BadInput("'" + values_json + "' names " + std::to_string(values.size()) +
                   " initializers, the model has " + std::to_string(replaced) + " of them");
  std::ofstream o(out, std::ios::binary);
  if (!o || !model.SerializeToOstream(&o)) throw BadInput("cannot write '" + out + "'");
  return 0;
}

// ---- build: a graph in read's format written as a model of opset 17.

constexpr int kBuildOpset = 17;

struct Builder {
  onnx::ModelProto model;
  onnx::GraphProto* g = nullptr;
  int fresh = 0;
  std::string node_label;  // the node being written, for errors

  Builder() {
    model.set_ir_version(8);
    model.set_producer_name("torchclad");
    auto* opset = model.add_opset_import();
    opset->set_domain("");
    opset->set_version(kBuildOpset);
    g = model.mutable_graph();
    g->set_name("torchclad_export");
  }
  [[noreturn]] void fail(const std::string& why) const { throw BadInput(node_label + ": " + why); }

  std::string temp(const std::string& base) { return base + "#" + std::to_string(fresh++); }
  std::string scalar(float v) {
    auto* t = g->add_initializer();
    t->set_name(temp("const"));
    t->set_data_type(onnx::TensorProto::FLOAT);
    t->add_float_data(v);
    return t->name();
  }
  std::string ints(const std::vector<int64_t>& v) {  // an int64 list as an initializer
    auto* t = g->add_initializer();
    t->set_name(temp("ints"));
    t->set_data_type(onnx::TensorProto::INT64);
    t->add_dims(static_cast<int64_t>(v.size()));
    for (auto e : v) t->add_int64_data(e);
    return t->name();
  }
  onnx::NodeProto* node(const std::string& op, const std::vector<std::string>& inputs,
                        const std::vector<std::string>& outputs, const std::string& name) {
    auto* n = g->add_node();
    n->set_op_type(op);
    n->set_name(name);
    for (const auto& i : inputs) n->add_input(i);
    for (const auto& o : outputs) n->add_output(o);
    return n;
  }
  static void set_ints(onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (auto e : v) a->add_ints(e);
  }
  void set_attribute(onnx::NodeProto* n, const std::string& name, const json& v) const {
    auto* a = n->add_attribute();
    a->set_name(name);
    if (v.is_number_integer()) {
      a->set_type(onnx::AttributeProto::INT);
      a->set_i(v.get<int64_t>());
    } else if (v.is_number()) {
      a->set_type(onnx::AttributeProto::FLOAT);
      a->set_f(v.get<float>());
    } else if (v.is_string()) {
      a->set_type(onnx::AttributeProto::STRING);
      a->set_s(v.get<std::string>());
    } else if (v.is_array() &&
               std::all_of(v.begin(), v.end(), [](const json& e) { return e.is_number_integer(); })) {
      a->set_type(onnx::AttributeProto::INTS);
      for (const auto& e : v) a->add_ints(e.get<int64_t>());
    } else if (v.is_array() && std::all_of(v.begin(), v.end(), [](const json& e) { return e.is_number(); })) {
      a->set_type(onnx::AttributeProto::FLOATS);
      for (const auto& e : v) a->add_floats(e.get<float>());
    } else {
      fail("attribute " + name + " (" + v.dump() + ") has no ONNX type");
    }
  }

  // The dims of `value` (-1 where not known) by ONNX's shape inference over
  // the nodes written so far.
  std::vector<int64_t> dims_of(const std::string& value) const {
    onnx::ModelProto m = model;
    onnx::shape_inference::InferShapes(m);
    auto from = [&](const onnx::ValueInfoProto& v) {
      std::vector<int64_t> d;
      for (const auto& dim : v.type().tensor_type().shape().dim())
        d.push_back(dim.has_dim_value() ? dim.dim_value() : -1);
      return d;
    };
    for (const auto& v : m.graph().input())
      if (v.name() == value) return from(v);
    for (const auto& v : m.graph().value_info())
      if (v.name() == value && v.type().tensor_type().has_shape()) return from(v);
    fail("the shape of '" + value + "' is not known (ONNX's shape inference gives none)");
  }
};

int build_command(const std::string& graph_json, const std::string& weights_bin, const std::string& out) {
  const auto [j, raw] = read_json_and_bytes(graph_json, weights_bin);
  Builder b;
  std::map<std::string, onnx::TensorProto*> inits;
  for (const auto& t : j.at("initializers")) {
    auto* p = b.g->add_initializer();
    p->set_name(t.at("name").get<std::string>());
    int64_t count = 1;
    for (const auto& d : t.at("dims")) {
      p->add_dims(d.get<int64_t>());
      count *= d.get<int64_t>();
    }
    if (t.at("type") == "int64") {
      p->set_data_type(onnx::TensorProto::INT64);
      for (const auto& v : t.at("values")) p->add_int64_data(v.get<int64_t>());
    } else {
      const int64_t off = t.at("offset");
      if (off < 0 || static_cast<size_t>((off + count) * 4) > raw.size())
        throw BadInput("'" + weights_bin + "' is shorter than the values of '" + p->name() + "'");
      p->set_data_type(onnx::TensorProto::FLOAT);
      p->set_raw_data(std::string(raw.data() + off * 4, count * 4));
    }
    inits[p->name()] = p;
  }
  auto value_info = [](onnx::ValueInfoProto* v, const json& spec) {
    v->set_name(spec.at("name").get<std::string>());
    auto* tt = v->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    if (spec.at("dims").empty()) return;
    auto* shape = tt->mutable_shape();
    for (const auto& d : spec.at("dims")) {
      auto* dim = shape->add_dim();
      if (d.is_number())
        dim->set_dim_value(d.get<int64_t>());
      else
        dim->set_dim_param(d.get<std::string>());
    }
  };
  for (const auto& v : j.at("inputs")) value_info(b.g->add_input(), v);
  for (const auto& n : j.at("nodes")) {
    const std::string name = n.at("name"), op = n.at("op");
    b.node_label = "node '" + name + "' (op " + op + ")";
    std::vector<std::string> inputs = n.at("inputs");
    while (!inputs.empty() && inputs.back().empty()) inputs.pop_back();  // absent optional inputs
    const std::vector<std::string> outputs = n.at("outputs");
    json attrs = n.at("attributes");
    const std::string x = inputs.empty() ? "" : inputs[0], y = outputs.at(0);
    auto number = [&](const char* key, double fallback) {
      return attrs.contains(key) ? attrs[key].get<double>() : fallback;
    };
    if (op == "Silu") {  // x * sigmoid(x)
      const std::string s = b.temp(y + ".sigmoid");
      b.node("Sigmoid", {x}, {s}, name + "/Sigmoid");
      b.node("Mul", {x, s}, {y}, name + "/Mul");
      continue;
    }
    if (op == "Gelu") {
      const std::string approximate = attrs.value("approximate", std::string("none"));
      std::string inner;
      if (approximate == "tanh") {  // tanh(sqrt(2 / pi) (x + 0.044715 x^3))
        const std::string x2 = b.temp(y + ".x2"), x3 = b.temp(y + ".x3"), c = b.temp(y + ".c"),
                          s = b.temp(y + ".s"), k = b.temp(y + ".k");
        b.node("Mul", {x, x}, {x2}, name + "/x2");
        b.node("Mul", {x2, x}, {x3}, name + "/x3");
        b.node("Mul", {x3, b.scalar(0.044715f)}, {c}, name + "/cubic");
        b.node("Add", {x, c}, {s}, name + "/sum");
        b.node("Mul", {s, b.scalar(static_cast<float>(std::sqrt(2.0 / M_PI)))}, {k}, name + "/scale");
        inner = b.temp(y + ".tanh");
        b.node("Tanh", {k}, {inner}, name + "/Tanh");
      } else if (approximate == "none") {  // erf(x / sqrt 2)
        const std::string d = b.temp(y + ".div");
        b.node("Div", {x, b.scalar(static_cast<float>(std::sqrt(2.0)))}, {d}, name + "/Div");
        inner = b.temp(y + ".erf");
        b.node("Erf", {d}, {inner}, name + "/Erf");
      } else {
        b.fail("approximate '" + approximate + "' cannot be written");
      }
      const std::string one = b.temp(y + ".plus1"), half = b.temp(y + ".times_x");
      b.node("Add", {inner, b.scalar(1.0f)}, {one}, name + "/Add");
      b.node("Mul", {x, one}, {half}, name + "/Mul");
      b.node("Mul", {half, b.scalar(0.5f)}, {y}, name + "/Half");
      continue;
    }
    if (op == "Softplus" && (number("beta", 1.0) != 1.0 || attrs.contains("threshold"))) {
      // PyTorch's: x where beta x > threshold, else log(1 + e^(beta x)) / beta
      const float beta = static_cast<float>(number("beta", 1.0));
      const std::string bx = b.temp(y + ".bx"), sp = b.temp(y + ".softplus"), d = b.temp(y + ".div"),
                        above = b.temp(y + ".above");
      b.node("Mul", {x, b.scalar(beta)}, {bx}, name + "/Mul");
      b.node("Softplus", {bx}, {sp}, name + "/Softplus");
      b.node("Div", {sp, b.scalar(beta)}, {d}, name + "/Div");
      b.node("Greater", {bx, b.scalar(static_cast<float>(number("threshold", 20.0)))}, {above},
             name + "/Greater");
      b.node("Where", {above, x, d}, {y}, name + "/Where");
      continue;
    }
    if (op == "Clip") {  // bounds as inputs (opset 11 on)
      inputs.resize(1);
      inputs.push_back(attrs.contains("min") ? b.scalar(attrs["min"].get<float>()) : "");
      inputs.push_back(attrs.contains("max") ? b.scalar(attrs["max"].get<float>()) : "");
      while (inputs.back().empty()) inputs.pop_back();
      b.node("Clip", inputs, outputs, name);
      continue;
    }
    if (op == "Transpose" && attrs.contains("swap")) {
      const int64_t rank = static_cast<int64_t>(b.dims_of(x).size());
      std::vector<int64_t> perm(rank), swap = attrs["swap"];
      for (int64_t k = 0; k < rank; ++k) perm[k] = k;
      for (auto& s : swap) s = s < 0 ? s + rank : s;
      if (swap.size() != 2 || swap[0] < 0 || swap[0] >= rank || swap[1] < 0 || swap[1] >= rank)
        b.fail("transpose dims out of range for rank " + std::to_string(rank));
      std::swap(perm[swap[0]], perm[swap[1]]);
      Builder::set_ints(b.node("Transpose", {x}, outputs, name), "perm", perm);
      continue;
    }
    if (op == "AdaptiveAveragePool" || op == "AdaptiveMaxPool") {
      const bool average = op == "AdaptiveAveragePool";
      const std::vector<int64_t> size = attrs.at("output_size");
      const auto dims = b.dims_of(x);
      if (dims.size() != size.size() + 2)
        b.fail("output size of " + std::to_string(size.size()) + " axes for an input of rank " +
               std::to_string(dims.size()));
      std::vector<int64_t> kernel;
      bool global = true, divides = true;
      for (size_t k = 0; k < size.size(); ++k) {
        const int64_t in = dims[k + 2];
        if (in < 1 || size[k] < 1)
          b.fail("an adaptive pooling of input size " + std::to_string(in) + " to " +
                 std::to_string(size[k]) + ": the sizes must be known and positive");
        global = global && size[k] == 1;
        divides = divides && in % size[k] == 0;
        kernel.push_back(in / size[k]);
      }
      if (global) {
        b.node(average ? "GlobalAveragePool" : "GlobalMaxPool", {x}, {y}, name);
      } else if (divides) {  // windows of one size, side by side: a pooling
        auto* p = b.node(average ? "AveragePool" : "MaxPool", {x}, {y}, name);
        Builder::set_ints(p, "kernel_shape", kernel);
        Builder::set_ints(p, "strides", kernel);
      } else {
        // PyTorch's windows [floor(i L / out), ceil((i + 1) L / out)), of
        // different sizes: each one a Slice reduced over its positions
        // (ReduceMean / ReduceMax, keepdims), concatenated along each axis.
        const size_t n = size.size();
        std::vector<int64_t> axes;
        for (size_t k = 0; k < n; ++k) axes.push_back(static_cast<int64_t>(k + 2));
        std::vector<std::string> cells;  // row-major over the output positions
        std::vector<int64_t> at(n, 0);
        for (bool more = true; more;) {
          std::vector<int64_t> starts, ends;
          std::string where;
          for (size_t k = 0; k < n; ++k) {
            const int64_t in = dims[k + 2];
            starts.push_back(at[k] * in / size[k]);
            ends.push_back(((at[k] + 1) * in + size[k] - 1) / size[k]);
            where += "_" + std::to_string(at[k]);
          }
          const std::string slice = b.temp(y + ".window" + where), cell = b.temp(y + ".cell" + where);
          b.node("Slice", {x, b.ints(starts), b.ints(ends), b.ints(axes)}, {slice}, name + "/Slice" + where);
          auto* r = b.node(average ? "ReduceMean" : "ReduceMax", {slice}, {cell}, name + "/Reduce" + where);
          Builder::set_ints(r, "axes", axes);
          cells.push_back(cell);
          more = false;
          for (size_t k = n; k-- > 0;) {
            if (++at[k] < size[k]) {
              more = true;
              break;
            }
            at[k] = 0;
          }
        }
        // Concatenated along the last axis first, then the ones before it.
        for (size_t k = n; k-- > 0;) {
          std::vector<std::string> joined;
          const size_t group = static_cast<size_t>(size[k]);
          for (size_t i = 0; i < cells.size(); i += group) {
            const std::string out = k == 0 ? y : b.temp(y + ".axis" + std::to_string(k + 2));
            auto* c =
                b.node("Concat", std::vector<std::string>(cells.begin() + i, cells.begin() + i + group),
                       {out}, name + "/Concat" + std::to_string(k + 2) + "_" + std::to_string(i / group));
            auto* a = c->add_attribute();
            a->set_name("axis");
            a->set_type(onnx::AttributeProto::INT);
            a->set_i(static_cast<int64_t>(k + 2));
            joined.push_back(out);
          }
          cells = joined;
        }
      }
      continue;
    }
    if (op == "Reshape" && inputs.size() == 2 && inits.count(inputs[1]) && !inits.count(inputs[0])) {
      // The first entry is the batch (TorchScript's x.size(0) is -1 there): 0 copies it.
      auto* shape = inits[inputs[1]];
      if (shape->int64_data_size() > 0) shape->set_int64_data(0, 0);
    }
    auto* written = b.node(op, inputs, outputs, name);
    for (const auto& [key, value] : attrs.items()) {
      if (value.is_array() && value.empty()) continue;  // ONNX's default
      b.set_attribute(written, key, value);
    }
  }
  // The outputs' shapes (the checker wants one) from ONNX's shape inference.
  onnx::ModelProto inferred = b.model;
  onnx::shape_inference::InferShapes(inferred);
  for (const auto& v : j.at("outputs")) {
    auto* o = b.g->add_output();
    value_info(o, v);
    for (const auto& info : inferred.graph().value_info())
      if (info.name() == o->name() && info.type().tensor_type().has_shape()) *o->mutable_type() = info.type();
    if (!o->type().tensor_type().has_shape())
      throw BadInput("the shape of the output '" + o->name() +
                     "' is not known (ONNX's shape inference gives none)");
  }
  b.node_label = "the written model";
  try {
    onnx::checker::check_model(b.model);
  } catch (const std::exception& e) {
    throw BadInput("the model written for '" + out + "' fails ONNX's checker: " + e.what());
  }
  std::ofstream o(out, std::ios::binary);
  if (!o || !b.model.SerializeToOstream(&o)) throw BadInput("cannot write '" + out + "'");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> a(argv + 1, argv + argc);
  try {
    if (a.size() >= 3 && a.size() % 2 == 1 && a[0] == "read") {
      torchclad_onnx::ImportScope scope;
      for (size_t i = 3; i < a.size(); i += 2) {
        if (a[i] == "--opsets" &&
            std::sscanf(a[i + 1].c_str(), "%d:%d", &scope.min_opset, &scope.max_opset) == 2)
          continue;
        if (a[i] != "--ops")
          throw BadInput("unknown option '" + a[i] + "' (or a malformed --opsets MIN:MAX)");
        std::stringstream list(a[i + 1]);
        for (std::string op; std::getline(list, op, ',');) scope.ops.insert(op);
      }
      return read_command(a[1], a[2], scope);
    }
    if (a.size() == 5 && a[0] == "write") return write_command(a[1], a[2], a[3], a[4]);
    if (a.size() == 4 && a[0] == "build") return build_command(a[1], a[2], a[3]);
    std::cerr << "usage: torchclad-onnx read MODEL.onnx OUTDIR [--opsets MIN:MAX] [--ops OP,OP,...]\n"
                 "       torchclad-onnx write MODEL.onnx VALUES.json VALUES.bin OUT.onnx\n"
                 "       torchclad-onnx build GRAPH.json WEIGHTS.bin OUT.onnx\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "torchclad-onnx: " << e.what() << "\n";
    return 2;
  }
}
