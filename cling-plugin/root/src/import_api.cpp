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
  }
  return ev;
}

}  // namespace

void export_onnx(const Model& model, const std::string& path) {
  const ExportValues ev = export_values(model, "export_onnx");
  if (ev.format != "onnx")
    throw std::runtime_error("export_onnx: model '" + model.name() + "' was imported from " + ev.format +
                             " (" + ev.original + "), not ONNX");
  std::vector<float> all;
  json index = json::object();
  for (const auto& [init, values] : ev.values) {
    index[init] = {{"offset", all.size()}, {"count", values.size()}};
    all.insert(all.end(), values.begin(), values.end());
  }
  const fs::path dir = fs::temp_directory_path() / ("torchclad-export-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "values.json") << index.dump() << "\n";
  {
    std::ofstream bin(dir / "values.bin", std::ios::binary);
    bin.write(reinterpret_cast<const char*>(all.data()), all.size() * sizeof(float));
  }
  std::string output;
  const int status = importer::run_tool({importer::onnx_tool(), "write", ev.original,
                                         (dir / "values.json").string(), (dir / "values.bin").string(), path},
                                        output);
  std::error_code ignored;
  fs::remove_all(dir, ignored);
  if (status != 0) throw std::runtime_error("export_onnx: " + output);
}

void export_torchscript(const Model& model, const std::string& path) {
  const ExportValues ev = export_values(model, "export_torchscript");
  if (ev.format != "torchscript")
    throw std::runtime_error("export_torchscript: model '" + model.name() + "' was imported from " +
                             ev.format + " (" + ev.original + "), not TorchScript");
  std::map<std::string, std::vector<float>> values(ev.values.begin(), ev.values.end());
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
