// torchclad::load_models on what users' files and paths look like: a path
// with a quote and a space, nothing left in the temporary directory after a
// load, a file that crashes Clad (a clear message instead of a stack dump),
// a file that does not compile, a %%clad cell pasted as it is (no include),
// one whose output() no block writes. Prints one line: the outcome of each case.
//   scripts/troot -b -q 'cling-plugin/tests/macros/load_models_cases.C("/tmp/out")'
R__LOAD_LIBRARY(libtorchclad_root.so)
#include "torchclad/model.h"

#include <TSystem.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace lmc {

// A regression model; `index` is how loss reads a parameter by hand.
std::string model_source(const std::string& name, const std::string& index) {
  return "#include \"torchclad/nn.h\"\n"
         "struct M_" +
         name +
         " : torchclad::nn::Model {\n"
         "  torchclad::nn::Linear fc{\"fc\", 3, 1};\n"
         "  torchclad::nn::Act z{1};\n"
         "  M_" +
         name +
         "() { inputs(3); regression(1); output(z); }\n"
         "  template <class T>\n"
         "  static T loss(const M_" +
         name +
         "& m, const T* p, T* a, const T* x, const T* y, int n) {\n"
         "    using namespace torchclad::nn;\n"
         "    linear(m.fc, p, x, a, m.z, n);\n"
         "    return mse(a, m.z, y, n) + T(0.01) * p[" +
         index + "] * p[" + index +
         "];\n"
         "  }\n"
         "};\n"
         "TORCHCLAD_MODEL(" +
         name + ", M_" + name + ")\n";
}

std::string write(const std::filesystem::path& file, const std::string& text) {
  std::filesystem::create_directories(file.parent_path());
  std::ofstream(file) << text;
  return file.string();
}

std::string error_of(const std::string& file) {
  try {
    torchclad::load_models(file);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace lmc

int load_models_cases(const char* out) {
  using namespace lmc;
  namespace fs = std::filesystem;
  const fs::path root = fs::path(out) / "load models 'quoted'";
  const auto names = torchclad::load_models(write(root / "it's.cpp", model_source("quoted_path", "m.fc.w")));
  std::string summary = "quoted path: " + (names.size() == 1 ? names[0] : std::string("(wrong)"));

  int left = 0;
  const fs::path tmp = fs::temp_directory_path() / ("torchclad-models-" + std::to_string(gSystem->GetPid()));
  if (fs::exists(tmp))
    for (const auto& e : fs::directory_iterator(tmp)) (void)e, ++left;
  summary += "; files left in the temporary directory: " + std::to_string(left);

  const std::string crash =
      error_of(write(root / "brace_cast.cpp", model_source("brace_cast", "long{m.fc.w}")));
  const bool named =
      crash.find("brace_cast.cpp:10:") != std::string::npos &&
      crash.find("Clad crashed while generating the gradient of M_brace_cast::loss") != std::string::npos &&
      crash.find("static_cast<long>(x)") != std::string::npos;
  summary += "; brace cast: " + (named ? std::string("clear error") : crash);

  const std::string broken = error_of(write(root / "broken.cpp", model_source("broken", "m.fc.weight")));
  summary += "; broken: " + (broken.find("broken.cpp did not compile") != std::string::npos
                                 ? std::string("did not compile")
                                 : broken);

  // A %%clad cell pasted into a file as it is: no #include (load_models
  // includes torchclad/nn.h as the cell has it), members named in errors.
  const std::string cell =
      "namespace nn = torchclad::nn;\n"
      "struct Pasted : nn::Model {\n"
      "  nn::Linear fc1{\"fc1\", 4, 8}, fc2{\"fc2\", 8, 1};\n"
      "  nn::Act z1{8}, h1{8}, logit{1}, logit2{1};\n"
      "  Pasted() { inputs(4); binary(); output(OUTPUT); }\n"
      "  template <class T>\n"
      "  static T loss(const Pasted& m, const T* p, T* a, const T* x, const T* y, int n) {\n"
      "    nn::linear(m.fc1, p, x, a, m.z1, n);\n"
      "    nn::relu(a, m.z1, m.h1, n);\n"
      "    nn::linear(m.fc2, p, a, m.h1, m.logit, n);\n"
      "    return nn::bce_with_logits(a, m.logit, y, n);\n"
      "  }\n"
      "};\n"
      "TORCHCLAD_MODEL(NAME, Pasted)\n";
  auto cell_with = [&](const std::string& name, const std::string& output) {
    std::string text = cell;
    text.replace(text.find("OUTPUT"), 6, output);
    text.replace(text.find("NAME"), 4, name);
    return text;
  };
  const auto pasted =
      torchclad::load_models(write(root / "pasted_cell.cpp", cell_with("pasted_cell", "logit")));
  summary += "; pasted cell: " + (pasted.size() == 1 ? pasted[0] : std::string("(wrong)"));
  const std::string wrong_output =
      error_of(write(root / "wrong_output.cpp", cell_with("wrong_output", "logit2")));
  summary +=
      "; wrong output: " +
      (wrong_output.find("model 'wrong_output' (Pasted): output() names the activation 'logit2', which "
                         "no block in loss() writes") != std::string::npos &&
               wrong_output.find("The blocks write 'z1', 'h1', 'logit'") != std::string::npos
           ? std::string("refused, naming logit2")
           : wrong_output);

  summary += std::string("; noise: ") +
             (torchclad::compiler_output_for_users(
                  "f.cpp:8:32: warning: declaration kind 'UsingDirective' is not supported\n"
                  "    8 |     using namespace torchclad::nn;\n      |                                ^~\n"
                  "f.cpp:9:1: warning: unused variable 'k'\n2 warnings generated.\n") ==
                      "f.cpp:9:1: warning: unused variable 'k'\n"
                  ? "filtered"
                  : "not filtered");
  std::printf("%s\n", summary.c_str());
  return 0;
}
