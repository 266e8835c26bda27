// torchclad/import.h: import_model (read -> generate -> compile with Clad ->
// set the pretrained parameters), export_onnx, loss_gradient; and
// Model::set_parameter (torchclad/model.h). Beside the generated source, a
// file <source>.import.json keeps what export needs (the original file and
// which initializer each parameter came from), so a model found again by
// name (Model::load) exports as well.
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <map>
#include <set>
#include <stdexcept>

#include "dataset_impl.hpp"
#include "export_torchscript_source.hpp"
#include "import_codegen.hpp"
#include "import_graph.hpp"
#include "import_torchscript.hpp"
#include "model_state.hpp"
#include "plain_errors.hpp"
#include "torchclad/import.h"

namespace torchclad {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string model_name_for(const std::string& path, const std::string& wanted) {
  std::string stem = wanted.empty() ? fs::path(path).stem().string() : wanted;
  std::string name;
  for (char c : stem) name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) name = "m_" + name;
  return name;
}

std::string sidecar(const std::string& source) { return source + ".import.json"; }

}  // namespace

std::vector<std::string> supported_onnx_ops() { return importer::supported_ops(); }

void Model::set_parameter(const std::string& name, const std::vector<float>& values) {
  rethrow_plain([&] {
    const auto& def = state()->model->definition();
    const auto& spec = def.param(name);  // lists the names for an unknown one
    std::string shape;
    for (auto d : spec.shape) shape += (shape.empty() ? "" : ", ") + std::to_string(d);
    if (static_cast<int64_t>(values.size()) != spec.numel)
      throw std::runtime_error("set_parameter: '" + name + "' of model '" + def.name + "' has shape [" +
                               shape + "] (" + std::to_string(spec.numel) + " values); found " +
                               std::to_string(values.size()) + " values");
    for (size_t i = 0; i < values.size(); ++i)
      if (!std::isfinite(values[i]))
        throw std::runtime_error("set_parameter: value " + std::to_string(i) + " for '" + name +
                                 "' is not finite");
    float* p = state()->model->params().data_ptr<float>() + spec.offset;
    std::copy(values.begin(), values.end(), p);
    return 0;
  });
}

Model import_model(const std::string& path, const ImportOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  const std::string ext = fs::path(path).extension().string();
  const bool torchscript = ext == ".pt" || ext == ".pth" || ext == ".torchscript";
  const importer::Graph graph = torchscript ? rethrow_plain([&] {
    return importer::read_torchscript(
        path, std::vector<int64_t>(options.input_shape.begin(), options.input_shape.end()));
  })
                                            : importer::read_onnx(path);
  const std::string name = model_name_for(path, options.name);
  const importer::Generated gen = importer::generate(graph, name, options.loss);
  const std::string source =
      fs::absolute(options.source_file.empty() ? path + ".cpp" : options.source_file).string();
  {
    std::ofstream out(source);
    if (!out) throw std::runtime_error("import_model: cannot write the source file '" + source + "'");
    out << gen.source;
  }
  json meta;
  meta["format"] = graph.format;
  meta["original"] = fs::absolute(path).string();
  meta["loss"] = options.loss;
  if (torchscript) meta["input_shape"] = options.input_shape;  // export_onnx reads the module again
  json exports = json::array();
  for (const auto& e : gen.exports)
    exports.push_back({{"param", e.param},
                       {"initializer", e.initializer},
                       {"transpose", e.transpose},
                       {"rows", e.rows},
                       {"cols", e.cols}});
  meta["exports"] = exports;
  json fixed = json::object();
  for (const auto& [init, values] : gen.fixed) fixed[init] = values;
  meta["fixed"] = fixed;
  std::ofstream(sidecar(source)) << meta.dump(1) << "\n";
  std::printf("import_model: %s -> %s (model '%s'); compiling with Clad\n", path.c_str(), source.c_str(),
              name.c_str());
  std::fflush(stdout);

  const auto names = load_models(source);
  if (std::find(names.begin(), names.end(), name) == names.end())
    throw std::runtime_error("import_model: the generated file did not register model '" + name + "'");
  Model m(name);
  for (const auto& [param, values] : gen.params) m.set_parameter(param, values);
  m.state()->pretrained_from = path;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("import_model: '%s' ready, %lld parameters, %.1f s\n", name.c_str(), m.parameter_count(),
              seconds);
  std::fflush(stdout);
  return m;
}

std::string imported_source(const Model& model) {
  const std::string source = model.state()->model->definition().source_file;
  return fs::exists(sidecar(source)) ? source : "";
}

namespace {

// What export writes: the original file and, per tensor of it, the values
// (the model's parameters, transposed back where the file keeps [in, out],
// and the fixed values of folded normalisations).
struct ExportValues {
  std::string format, original;
  std::vector<std::pair<std::string, std::vector<float>>> values;
  std::set<std::string> trained;     // the tensors the model's parameters are
  std::vector<int64_t> input_shape;  // a TorchScript module's per-sample input shape
};

ExportValues export_values(const Model& model, const std::string& what) {
  const std::string source = imported_source(model);
  if (source.empty())
    throw std::runtime_error(what + ": model '" + model.name() + "' was not imported with import_model (no " +
                             sidecar(model.state()->model->definition().source_file) + ")");
  json meta;
  {
    std::ifstream in(sidecar(source));
    meta = json::parse(in);
  }
  ExportValues ev;
  ev.format = meta.at("format");
  ev.original = meta.at("original");
  ev.input_shape = meta.value("input_shape", std::vector<int64_t>{});
  if (!fs::exists(ev.original))
    throw std::runtime_error(what + ": the original file '" + ev.original +
                             "' is gone; export writes its graph with new weights");
  std::set<std::string> seen;
  auto add = [&](const std::string& init, std::vector<float> values) {
    // An exporter may store equal tensors once (PyTorch's does for constants
    // of equal value): then one initializer would need two values.
    if (!seen.insert(init).second)
      throw std::runtime_error(what + ": tensor '" + init + "' of '" + ev.original +
                               "' is shared by two parameters (or a folded normalisation), so it cannot take "
                               "the fine-tuned values of both; re-export the original without sharing");
    ev.values.push_back({init, std::move(values)});
  };
  for (const auto& [init, values] : meta.at("fixed").items()) add(init, values.get<std::vector<float>>());
  for (const auto& e : meta.at("exports")) {
    std::vector<float> v = model.parameter(e.at("param"));
    if (e.at("transpose").get<bool>()) {  // the model's [rows, cols] -> the file's [cols, rows]
      const int64_t rows = e.at("rows"), cols = e.at("cols");
      std::vector<float> t(v.size());
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t k = 0; k < cols; ++k) t[k * rows + r] = v[r * cols + k];
      v = std::move(t);
    }
    add(e.at("initializer"), std::move(v));
    ev.trained.insert(e.at("initializer").get<std::string>());
  }
  return ev;
}

}  // namespace

namespace {

// A scratch directory, removed with its files.
struct ExportDir {
  fs::path path = fs::temp_directory_path() / ("torchclad-export-" + std::to_string(::getpid()));
  ExportDir() { fs::create_directories(path); }
  ~ExportDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
};

// The original file's graph read again for an export (`what`), its reader's
// "import_model: " error restated as the export's.
template <class Read>
importer::Graph reread_original(const std::string& what, const std::string& original, Read read) {
  try {
    return read();
  } catch (const std::exception& e) {
    std::string message = e.what();
    const std::string prefix = "import_model: ";
    if (message.rfind(prefix, 0) == 0) message = message.substr(prefix.size());
    throw std::runtime_error(what + ": reading the original file '" + original + "' again: " + message);
  }
}

// export_onnx of a model imported from TorchScript: the module's graph (read
// again) in torchclad-onnx read's format, its tensors with the model's
// values, written by torchclad-onnx build as an ONNX model.
void export_torchscript_as_onnx(const Model& model, const ExportValues& ev, const std::string& path) {
  if (ev.input_shape.empty())
    throw std::runtime_error("export_onnx: model '" + model.name() + "' was imported from TorchScript (" +
                             ev.original +
                             ") before its input shape was recorded for export; import it again");
  const importer::Graph graph = reread_original("export_onnx", ev.original, [&] {
    return rethrow_plain([&] { return importer::read_torchscript(ev.original, ev.input_shape); });
  });
  const std::map<std::string, std::vector<float>> values(ev.values.begin(), ev.values.end());
  for (const auto& [name, v] : values)
    if (!graph.constants.count(name))
      throw std::runtime_error("export_onnx: '" + ev.original + "' has no tensor '" + name + "'");
  std::vector<float> weights;
  json inits = json::array();
  for (const auto& [name, t] : graph.constants) {
    json j{{"name", name}, {"dims", t.dims}};
    if (t.is_int) {
      j["type"] = "int64";
      j["values"] = t.i;
    } else {
      const auto it = values.find(name);
      const std::vector<float>& v = it != values.end() ? it->second : t.f;
      if (static_cast<int64_t>(v.size()) != t.numel())
        throw std::runtime_error("export_onnx: tensor '" + name + "' has " + std::to_string(t.numel()) +
                                 " values, the model " + std::to_string(v.size()));
      j["type"] = "float32";
      j["offset"] = weights.size();
      weights.insert(weights.end(), v.begin(), v.end());
    }
    inits.push_back(j);
  }
  auto value_json = [](const importer::GraphValue& v) {
    json dims = json::array();
    for (const auto& d : v.dims)
      dims.push_back(!d.empty() && std::all_of(d.begin(), d.end(), ::isdigit) ? json(std::stoll(d))
                                                                              : json(d));
    return json{{"name", v.name}, {"type", v.type}, {"dims", dims}};
  };
  json inputs = json::array(), outputs = json::array(), nodes = json::array();
  for (const auto& v : graph.inputs) inputs.push_back(value_json(v));
  for (const auto& v : graph.outputs) outputs.push_back(value_json(v));
  for (const auto& n : graph.nodes)
    nodes.push_back({{"name", n.name},
                     {"op", n.op},
                     {"domain", n.domain},
                     {"inputs", n.inputs},
                     {"outputs", n.outputs},
                     {"attributes", n.attrs}});
  const ExportDir dir;
  std::ofstream(dir.path / "graph.json")
      << json{{"initializers", inits}, {"inputs", inputs}, {"outputs", outputs}, {"nodes", nodes}}.dump(1)
      << "\n";
  {
    std::ofstream bin(dir.path / "weights.bin", std::ios::binary);
    bin.write(reinterpret_cast<const char*>(weights.data()), weights.size() * sizeof(float));
  }
  std::string output;
  const int status = importer::run_tool({importer::onnx_tool(), "build", (dir.path / "graph.json").string(),
                                         (dir.path / "weights.bin").string(), path},
                                        output);
  while (!output.empty() && output.back() == '\n') output.pop_back();
  const std::string prefix = "torchclad-onnx: ";
  if (output.rfind(prefix, 0) == 0) output = output.substr(prefix.size());
  if (status != 0) throw std::runtime_error("export_onnx: '" + ev.original + "': " + output);
}

}  // namespace

void export_onnx(const Model& model, const std::string& path) {
  const ExportValues ev = export_values(model, "export_onnx");
  if (ev.format == "torchscript") return export_torchscript_as_onnx(model, ev, path);
  if (ev.format != "onnx")
    throw std::runtime_error("export_onnx: model '" + model.name() + "' was imported from " + ev.format +
                             " (" + ev.original + "), not ONNX or TorchScript");
  std::vector<float> all;
  json index = json::object();
  for (const auto& [init, values] : ev.values) {
    index[init] = {{"offset", all.size()}, {"count", values.size()}};
    all.insert(all.end(), values.begin(), values.end());
  }
  const ExportDir dir;
  std::ofstream(dir.path / "values.json") << index.dump() << "\n";
  {
    std::ofstream bin(dir.path / "values.bin", std::ios::binary);
    bin.write(reinterpret_cast<const char*>(all.data()), all.size() * sizeof(float));
  }
  std::string output;
  const int status =
      importer::run_tool({importer::onnx_tool(), "write", ev.original, (dir.path / "values.json").string(),
                          (dir.path / "values.bin").string(), path},
                         output);
  if (status != 0) throw std::runtime_error("export_onnx: " + output);
}

void export_torchscript(const Model& model, const std::string& path) {
  const ExportValues ev = export_values(model, "export_torchscript");
  std::map<std::string, std::vector<float>> values(ev.values.begin(), ev.values.end());
  if (ev.format == "onnx") {
    // The original file's graph as a TorchScript module of the fine-tuned
    // tensors (export_torchscript_source.cpp).
    const importer::Graph graph =
        reread_original("export_torchscript", ev.original, [&] { return importer::read_onnx(ev.original); });
    const auto source = importer::torchscript_source(graph, values, ev.trained);
    rethrow_plain([&] {
      importer::save_torchscript_module(source, path);
      return 0;
    });
    return;
  }
  if (ev.format != "torchscript")
    throw std::runtime_error("export_torchscript: model '" + model.name() + "' was imported from " +
                             ev.format + " (" + ev.original + "), not ONNX or TorchScript");
  rethrow_plain([&] {
    importer::write_torchscript(ev.original, values, path);
    return 0;
  });
}

std::vector<double> loss_gradient(const Model& model, const Dataset& data, int batch) {
  return rethrow_plain([&] {
    auto& s = *model.state();
    const auto& def = s.model->definition();
    const auto& impl = *data.impl();
    const int64_t available = impl.split.images.size(0);
    if (batch < 1 || batch > available)
      throw std::runtime_error("loss_gradient: batch must be in [1, " + std::to_string(available) +
                               "], found " + std::to_string(batch));
    auto x = model_features(s, impl.split.images).narrow(0, 0, batch).to(torch::kFloat64).contiguous();
    if (x.size(1) != def.inputs)
      throw std::runtime_error("loss_gradient: model '" + def.name + "' takes " + std::to_string(def.inputs) +
                               " features, the data have " + std::to_string(x.size(1)));
    torch::Tensor y = def.targets == define::Targets::kRegression
                          ? impl.targets
                          : impl.split.labels.to(torch::kFloat64).unsqueeze(1);
    if (!y.defined()) throw std::runtime_error("loss_gradient: the dataset has no regression targets");
    y = y.narrow(0, 0, batch).to(torch::kFloat64).contiguous();
    auto p = s.model->params().to(torch::kFloat64).contiguous();
    std::vector<double> grad(p.numel(), 0.0);
    s.model->loss_and_grad_double(p.data_ptr<double>(), x.data_ptr<double>(), y.data_ptr<double>(), batch,
                                  grad.data());
    return grad;
  });
}

}  // namespace torchclad
