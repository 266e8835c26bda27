#pragma once
// onnx::checker on a model torchclad-onnx reads, so that a malformed file
// (a node reading a tensor nothing defines, an attribute of the wrong type, a
// tensor whose data do not match its shape, a missing external data file)
// gets the checker's message and the file's name, not a later confusing
// error of the importer.
//
// Debian's libonnx 1.12 knows IR version 8 and opsets up to 17; torch 2.x
// writes IR version 10 and opsets 18 to 20, which its check_model refuses as
// such. So:
// - a model within what the library knows: onnx::checker::check_model, the
//   full check (every node against its operator's schema);
// - a newer model: the checks of onnx::checker::check_graph that do not
//   depend on an operator's version (value infos and initializers through
//   check_value_info and check_tensor, every input defined before it is read,
//   each name assigned once, the outputs computed), and each node of the ops
//   the importer translates against the newest schema of its op libonnx
//   knows (opset 17): input and output counts, attribute names, types and
//   required ones (OpSchema::Verify), and the element types of inputs whose
//   type the file declares (graph inputs, initializers, Constant nodes).
//   Those ops changed after 17 only in the element types they accept
//   (bfloat16, float8: not float32 or int64) and by two attributes,
//   AveragePool's dilations and Cast's saturate (opset 19), checked here by
//   hand; other ops are left to the importer, which names the unsupported.
// The importer passes its opset range: a file outside it is refused first,
// naming its opset and the range, before any check that the opset could
// make meaningless.
#include <onnx/checker.h>
#include <onnx/defs/data_type_utils.h>
#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <unordered_map>

namespace torchclad_onnx {

// The opset of the default domain libonnx knows up to.
inline int checker_max_opset() {
  const auto& map = onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
  const auto it = map.find("");
  return it == map.end() ? 0 : it->second.second;
}

// The checks of check_graph that hold whatever the operators' versions.
inline void check_graph_structure(const onnx::ModelProto& model, const onnx::checker::CheckerContext& ctx) {
  const auto& g = model.graph();
  onnx::checker::LexicalScopeContext names;
  for (const auto& v : g.input()) onnx::checker::check_value_info(v, ctx);
  for (const auto& v : g.output()) onnx::checker::check_value_info(v, ctx);
  for (const auto& v : g.input()) {
    if (names.this_graph_has(v.name()))
      throw std::runtime_error("the graph input '" + v.name() + "' is declared twice");
    names.add(v.name());
  }
  for (const auto& t : g.initializer()) {
    onnx::checker::check_tensor(t, ctx);
    names.add(t.name());
  }
  for (const auto& node : g.node()) {
    const std::string label = "node '" + node.name() + "' (op " + node.op_type() + ")";
    for (const auto& input : node.input())
      if (!input.empty() && !names.this_or_ancestor_graph_has(input))
        throw std::runtime_error(
            label + " reads '" + input +
            "', which is not a graph input, an initializer or an output of a node before it "
            "(nodes must be topologically sorted)");
    for (const auto& output : node.output()) {
      if (output.empty()) continue;
      if (names.this_graph_has(output))
        throw std::runtime_error(
            label + " writes '" + output +
            "', which is already assigned (a graph is in static single assignment form)");
      names.add(output);
    }
  }
  for (const auto& v : g.output())
    if (!names.this_graph_has(v.name()))
      throw std::runtime_error("the graph output '" + v.name() + "' is not computed by any node");
}

// What the importer accepts: its opsets and the ops it translates.
struct ImportScope {
  int min_opset = 0, max_opset = 0;  // 0: any
  std::set<std::string> ops;         // the ops whose nodes are checked at newer opsets
};

// The opset of the default domain the model imports (0: none).
inline int model_opset(const onnx::ModelProto& model) {
  int opset = 0;
  for (const auto& o : model.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx") opset = static_cast<int>(o.version());
  return opset;
}

// Throws std::runtime_error naming the file's opset and the range.
inline void check_opset(const onnx::ModelProto& model, const std::string& path, const ImportScope& scope) {
  if (scope.max_opset == 0) return;
  const int opset = model_opset(model);
  const std::string range = "torchclad imports opsets " + std::to_string(scope.min_opset) + " to " +
                            std::to_string(scope.max_opset) + " of the default ONNX domain";
  if (opset == 0)
    throw std::runtime_error("'" + path + "' imports no opset of the default ONNX domain ('' or ai.onnx) (" +
                             range + ")");
  if (opset < scope.min_opset || opset > scope.max_opset)
    throw std::runtime_error("'" + path + "': opset " + std::to_string(opset) + " is not supported (" +
                             range + "; re-export with opset_version in that range)");
}

// "tensor(float)" for an element type of TensorProto::DataType.
inline std::string tensor_type(int elem_type) {
  onnx::TypeProto t;
  t.mutable_tensor_type()->set_elem_type(elem_type);
  return *onnx::Utils::DataTypeUtils::ToType(t);
}

// Each node of scope.ops against libonnx's newest schema of its op (see the
// top of this file); the element types of the inputs the file declares.
inline void check_nodes_against_schemas(const onnx::ModelProto& model, int known_opset,
                                        const ImportScope& scope) {
  const auto& g = model.graph();
  std::map<std::string, int> declared;  // tensor -> element type
  for (const auto& v : g.input())
    if (v.type().has_tensor_type()) declared[v.name()] = v.type().tensor_type().elem_type();
  for (const auto& t : g.initializer()) declared[t.name()] = t.data_type();
  const int version = std::min(model_opset(model), known_opset);
  for (const auto& node : g.node()) {
    if (!(node.domain().empty() || node.domain() == "ai.onnx")) continue;
    if (node.op_type() == "Constant") {
      for (const auto& a : node.attribute())
        if (a.name() == "value" && a.has_t() && node.output_size() == 1)
          declared[node.output(0)] = a.t().data_type();
      continue;
    }
    if (!scope.ops.count(node.op_type())) continue;
    const auto* schema = onnx::OpSchemaRegistry::Schema(node.op_type(), version);
    if (!schema) continue;
    const std::string label = "node '" + node.name() + "' (op " + node.op_type() + ")";
    onnx::NodeProto copy = node;
    copy.clear_attribute();
    for (const auto& a : node.attribute()) {
      const bool newer = (node.op_type() == "AveragePool" && a.name() == "dilations") ||
                         (node.op_type() == "Cast" && a.name() == "saturate");
      if (!newer) {
        *copy.add_attribute() = a;
        continue;
      }
      const auto want = a.name() == "dilations" ? onnx::AttributeProto::INTS : onnx::AttributeProto::INT;
      if (a.type() != want)
        throw std::runtime_error(label + ": attribute " + a.name() + " has type " +
                                 onnx::AttributeProto_AttributeType_Name(a.type()) + ", expected " +
                                 onnx::AttributeProto_AttributeType_Name(want));
    }
    try {
      schema->Verify(copy);
    } catch (const std::exception& e) {
      throw std::runtime_error(label + " against the schema of " + node.op_type() + " (version " +
                               std::to_string(schema->SinceVersion()) + "): " + e.what());
    }
    const auto& formals = schema->inputs();
    for (int i = 0; i < node.input_size() && !formals.empty(); ++i) {
      const auto it = declared.find(node.input(i));
      if (node.input(i).empty() || it == declared.end()) continue;
      const auto& formal = formals[std::min<size_t>(i, formals.size() - 1)];
      const std::string type = tensor_type(it->second);
      if (!formal.GetTypes().count(onnx::Utils::DataTypeUtils::ToType(type))) {
        std::string allowed;
        for (const auto* t : formal.GetTypes()) allowed += (allowed.empty() ? "" : ", ") + *t;
        throw std::runtime_error(label + ": input " + std::to_string(i) + " '" + node.input(i) + "' is " +
                                 type + ", which its input '" + formal.GetName() + "' does not take (" +
                                 allowed + ")");
      }
    }
  }
}

// Throws std::runtime_error "'path' fails ONNX's checker (...): message",
// the checker's message on one line.
inline void check_onnx_model(const onnx::ModelProto& model, const std::string& path,
                             const std::filesystem::path& model_dir, const ImportScope& scope = {}) {
  check_opset(model, path, scope);
  const int known_opset = checker_max_opset();
  bool newer = model.ir_version() > onnx::IR_VERSION;
  std::unordered_map<std::string, int> opsets;
  for (const auto& o : model.opset_import()) {
    opsets[o.domain()] = static_cast<int>(o.version());
    if ((o.domain().empty() || o.domain() == "ai.onnx") && o.version() > known_opset) newer = true;
  }
  const int opset = model_opset(model);
  const std::string which =
      newer ? std::string(scope.ops.empty() ? "structure only"
                                            : "structure, and nodes against opset " +
                                                  std::to_string(known_opset) + " schemas") +
                  ": IR version " + std::to_string(model.ir_version()) + ", opset " + std::to_string(opset) +
                  " are newer than libonnx's " + std::to_string(onnx::IR_VERSION) + ", " +
                  std::to_string(known_opset)
            : "onnx::checker::check_model";
  try {
    if (newer) {
      onnx::checker::CheckerContext ctx;
      ctx.set_ir_version(static_cast<int>(std::min<int64_t>(model.ir_version(), onnx::IR_VERSION)));
      ctx.set_opset_imports(opsets);
      ctx.set_model_dir(model_dir.string());
      check_graph_structure(model, ctx);
      check_nodes_against_schemas(model, known_opset, scope);
    } else {
      // check_model(ModelProto) resolves external data against the working
      // directory: this process's, set to the model's.
      const auto cwd = std::filesystem::current_path();
      std::filesystem::current_path(model_dir);
      try {
        onnx::checker::check_model(model);
      } catch (...) {
        std::filesystem::current_path(cwd);
        throw;
      }
      std::filesystem::current_path(cwd);
    }
  } catch (const std::exception& e) {
    std::string message = e.what();
    std::replace(message.begin(), message.end(), '\n', ' ');
    for (size_t at; (at = message.find("  ")) != std::string::npos;) message.erase(at, 1);
    throw std::runtime_error("'" + path + "' fails ONNX's checker (" + which + "): " + message);
  }
}

}  // namespace torchclad_onnx
