// Reading an ONNX file into the importer's graph: torchclad-onnx parses it
// in its own process (apps/torchclad_onnx.cpp) and writes graph.json +
// weights.bin into a scratch directory, read here.
#include <dlfcn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "import_codegen.hpp"
#include "import_graph.hpp"
#include "text.hpp"

namespace torchclad::importer {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {
struct ScratchDir {
  fs::path path;
  ScratchDir() {
    static std::atomic<int> count{0};
    path = fs::temp_directory_path() /
           ("torchclad-import-" + std::to_string(getpid()) + "-" + std::to_string(++count));
    fs::create_directories(path);
  }
  ~ScratchDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
};
}  // namespace

std::string onnx_tool() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<const void*>(&onnx_tool), &info) && info.dli_fname) {
    const fs::path lib = fs::path(info.dli_fname).parent_path();
    for (const auto& candidate : {lib / "torchclad-onnx", lib / ".." / "bin" / "torchclad-onnx"})
      if (fs::exists(candidate)) return candidate.string();
  }
  return "torchclad-onnx";  // from PATH
}

int run_tool(const std::vector<std::string>& args, std::string& output) {
  std::string command;
  for (const auto& a : args) command += shell_quote(a) + " ";
  FILE* p = popen((command + "2>&1").c_str(), "r");
  if (!p) throw std::runtime_error("cannot run " + args.at(0));
  char buffer[4096];
  for (size_t got; (got = std::fread(buffer, 1, sizeof buffer, p)) > 0;) output.append(buffer, got);
  return pclose(p);
}

Graph read_onnx(const std::string& path) {
  if (!fs::exists(path)) throw std::runtime_error("import_model: no file '" + path + "'");
  ScratchDir dir;
  std::string output;
  const std::string tool = onnx_tool();
  std::string ops;
  // Checked against libonnx's opset-17 schemas: not the reductions, whose
  // axes became an input at opset 18 (the importer checks them itself).
  for (const auto& op : supported_ops())
    if (op != "ReduceMean" && op != "ReduceMax") ops += (ops.empty() ? "" : ",") + op;
  const int status = run_tool({tool, "read", path, dir.path.string(), "--opsets",
                               std::to_string(kMinOpset) + ":" + std::to_string(kMaxOpset), "--ops", ops},
                              output);
  while (!output.empty() && output.back() == '\n') output.pop_back();
  if (WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) > 2))
    throw std::runtime_error("import_model: " + tool + " failed reading '" + path + "' (" +
                             (WIFSIGNALED(status) ? "signal " + std::to_string(WTERMSIG(status))
                                                  : "exit status " + std::to_string(WEXITSTATUS(status))) +
                             "): " + output);
  if (status != 0) {
    const std::string prefix = "torchclad-onnx: ";
    if (output.rfind(prefix, 0) == 0) output = output.substr(prefix.size());
    // Every message names the file (the checker's and most of the reader's do already).
    if (output.find(path) == std::string::npos) output = "'" + path + "': " + output;
    throw std::runtime_error("import_model: " + output);
  }
  json j;
  {
    std::ifstream in(dir.path / "graph.json");
    j = json::parse(in);
  }
  std::vector<float> weights;
  {
    std::ifstream in(dir.path / "weights.bin", std::ios::binary | std::ios::ate);
    weights.resize(static_cast<size_t>(in.tellg()) / sizeof(float));
    in.seekg(0);
    in.read(reinterpret_cast<char*>(weights.data()), weights.size() * sizeof(float));
  }
  auto tensor = [&](const json& t, bool initializer) {
    ConstTensor c;
    c.name = t.at("name");
    c.dims = t.at("dims").get<std::vector<int64_t>>();
    c.initializer = initializer;
    const std::string type = t.at("type");
    if (type == "float32") {
      const int64_t off = t.at("offset");
      c.is_float = true;
      c.f.assign(weights.begin() + off, weights.begin() + off + c.numel());
    } else if (type == "float64") {  // values rounded to float32; usable after a Cast to float32
      const int64_t off = t.at("offset");
      c.is_double = true;
      c.f.assign(weights.begin() + off, weights.begin() + off + c.numel());
    } else if (type == "int64") {
      c.is_int = true;
      c.i = t.at("values").get<std::vector<int64_t>>();
    }
    return c;
  };
  auto value = [](const json& v) {
    GraphValue g;
    g.name = v.at("name");
    g.type = v.at("type");
    for (const auto& d : v.at("dims"))
      g.dims.push_back(d.is_number() ? std::to_string(d.get<int64_t>()) : d.get<std::string>());
    return g;
  };
  Graph g;
  g.path = path;
  g.format = "onnx";
  g.opset = j.at("opset");
  g.producer = j.value("producer", "");
  for (const auto& t : j.at("initializers")) {
    auto c = tensor(t, true);
    g.constants[c.name] = std::move(c);
  }
  for (const auto& v : j.at("inputs")) g.inputs.push_back(value(v));
  for (const auto& v : j.at("outputs")) g.outputs.push_back(value(v));
  for (const auto& n : j.at("nodes")) {
    GraphNode node;
    node.name = n.at("name");
    node.op = n.at("op");
    node.domain = n.at("domain");
    node.inputs = n.at("inputs").get<std::vector<std::string>>();
    node.outputs = n.at("outputs").get<std::vector<std::string>>();
    node.attrs = n.at("attributes");
    if (node.name.empty()) node.name = node.op + "#" + std::to_string(g.nodes.size());
    // A Constant node is a constant tensor, not a step of the forward pass.
    if (node.op == "Constant" && node.attrs.contains("value") && node.outputs.size() == 1) {
      auto c = tensor(node.attrs["value"], false);
      c.name = node.outputs[0];
      g.constants[c.name] = std::move(c);
      continue;
    }
    g.nodes.push_back(std::move(node));
  }
  return g;
}

}  // namespace torchclad::importer
