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
//   each name assigned once, the outputs computed). Node schemas are not
//   checked there: 1.12's older schema of an operator could refuse a newer
//   version's attributes (AveragePool's dilations since opset 19).
#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
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

// Throws std::runtime_error "'path' fails ONNX's checker (...): message",
// the checker's message on one line.
inline void check_onnx_model(const onnx::ModelProto& model, const std::string& path,
                             const std::filesystem::path& model_dir) {
  const int known_opset = checker_max_opset();
  bool newer = model.ir_version() > onnx::IR_VERSION;
  std::unordered_map<std::string, int> opsets;
  for (const auto& o : model.opset_import()) {
    opsets[o.domain()] = static_cast<int>(o.version());
    if ((o.domain().empty() || o.domain() == "ai.onnx") && o.version() > known_opset) newer = true;
  }
  int opset = 0;
  for (const auto& o : model.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx") opset = static_cast<int>(o.version());
  const std::string which = newer ? "structure only: IR version " + std::to_string(model.ir_version()) +
                                        ", opset " + std::to_string(opset) + " are newer than libonnx's " +
                                        std::to_string(onnx::IR_VERSION) + ", " + std::to_string(known_opset)
                                  : "onnx::checker::check_model";
  try {
    if (newer) {
      onnx::checker::CheckerContext ctx;
      ctx.set_ir_version(static_cast<int>(std::min<int64_t>(model.ir_version(), onnx::IR_VERSION)));
      ctx.set_opset_imports(opsets);
      ctx.set_model_dir(model_dir.string());
      check_graph_structure(model, ctx);
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
