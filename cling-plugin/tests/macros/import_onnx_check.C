// One imported ONNX (or TorchScript) model, end to end, for tests/python/test_import_onnx.py:
// import (source written, compiled with Clad, pretrained parameters set),
// predictions, the float64 loss gradient, check_gradients, a short
// fine-tuning (optionally with frozen layers), and export back to ONNX
// (or TorchScript: then the per-sample input shape is the last argument),
// and to the other format (finetuned_cross.pt or .onnx; an error is kept in
// results.txt as cross_export_error). The
// data come from DIR/x.bin and DIR/y.bin (float32, written by the test);
// results go to DIR (raw float32/float64 files and results.txt).
//   scripts/troot -b -q 'cling-plugin/tests/macros/import_onnx_check.C("m.onnx", "cross_entropy", "/tmp/d",
//   8, 3, "fc1")'
R__LOAD_LIBRARY(libtorchclad_root.so)
#include "torchclad/import.h"

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace ioc {
std::vector<float> read_floats(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  std::vector<float> v(static_cast<size_t>(in.tellg()) / sizeof(float));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(v.data()), v.size() * sizeof(float));
  return v;
}
template <class T>
void write(const std::string& path, const std::vector<T>& v) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}
std::vector<float> all_parameters(const torchclad::Model& m) {
  std::vector<float> all;
  for (const auto& name : m.parameter_names()) {
    const auto p = m.parameter(name);
    all.insert(all.end(), p.begin(), p.end());
  }
  return all;
}
}  // namespace ioc

void import_onnx_check(const char* onnx, const char* loss, const char* dir, int features, int epochs,
                       const char* frozen, const char* torchscript_shape = "") {
  const std::string d = dir;
  torchclad::ImportOptions options;
  options.loss = loss;
  options.source_file = d + "/model.cpp";
  std::stringstream dims(torchscript_shape);
  for (std::string item; std::getline(dims, item, ',');)
    if (!item.empty()) options.input_shape.push_back(std::stoll(item));
  auto m = torchclad::import_model(onnx, options);

  const auto x = ioc::read_floats(d + "/x.bin");
  const auto y = ioc::read_floats(d + "/y.bin");
  const long long n = static_cast<long long>(x.size()) / features;
  torchclad::Dataset data = [&] {
    if (std::string(loss) == "mse")
      return torchclad::regression_dataset(x, features, y, static_cast<int>(y.size() / n));
    std::vector<long long> labels(y.begin(), y.end());
    return torchclad::classification_dataset(x, features, labels);
  }();

  ioc::write(d + "/pred.bin", m.predict(data));
  ioc::write(d + "/grad.bin", torchclad::loss_gradient(m, data, static_cast<int>(n)));
  ioc::write(d + "/params_before.bin", ioc::all_parameters(m));
  {
    std::ofstream names(d + "/params.txt");
    for (const auto& name : m.parameter_names()) names << name << " " << m.parameter(name).size() << "\n";
  }
  const auto check = m.check_gradients(data, 4, 8);
  const double before = m.evaluate(data).loss;

  torchclad::TrainOptions o;
  o.epochs = epochs;
  o.batch = 16;
  o.lr = 1e-2;
  o.progress = false;
  std::stringstream list(frozen);
  for (std::string item; std::getline(list, item, ',');)
    if (!item.empty()) o.frozen.push_back(item);
  const auto run = m.fit(data, data, o);
  const double after = m.evaluate(data).loss;
  ioc::write(d + "/pred_after.bin", m.predict(data));
  ioc::write(d + "/params_after.bin", ioc::all_parameters(m));
  if (options.input_shape.empty())
    torchclad::export_onnx(m, d + "/finetuned.onnx");
  else
    torchclad::export_torchscript(m, d + "/finetuned.pt");
  std::string cross_error;
  try {
    if (options.input_shape.empty())
      torchclad::export_torchscript(m, d + "/finetuned_cross.pt");
    else
      torchclad::export_onnx(m, d + "/finetuned_cross.onnx");
  } catch (const std::exception& e) {
    cross_error = e.what();
    for (char& c : cross_error)
      if (c == '\n') c = '|';
  }

  std::ofstream r(d + "/results.txt");
  if (!cross_error.empty()) r << "cross_export_error " << cross_error << "\n";
  r << "source " << torchclad::imported_source(m) << "\n"
    << "status " << run.status << "\n"
    << "loss_before " << before << "\n"
    << "loss_after " << after << "\n"
    << "gradient_check_passed " << check.passed << "\n"
    << "gradient_check_worst " << check.worst_rel_error << "\n";
  std::printf("import_onnx_check: done\n");
}
