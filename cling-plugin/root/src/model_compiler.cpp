// Compiling files of model definitions (torchclad/nn.h) into libraries that
// register their models when loaded: clang++-19 with the Clad plugin, C++20,
// the engine's and LibTorch's headers, and no cling dictionary (so neither
// rootcling's C++17 parse nor cling's view of the file's types is involved).
#include <TSystem.h>

#include <atomic>
#include <filesystem>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "define/definition.hpp"
#include "torchclad/model.h"

namespace torchclad {
namespace {

std::string quoted(const std::string& s) { return "'" + s + "'"; }

std::vector<std::string> names_from(const std::string& source_file) {
  std::vector<std::string> names;
  for (const auto& n : define::definition_names())
    if (define::find_definition(n)->source_file == source_file) names.push_back(n);
  return names;
}

}  // namespace

std::string model_compile_command(const std::string& source, const std::string& library) {
  const std::string src = TORCHCLAD_SOURCE_DIR, torch = TORCHCLAD_TORCH_ROOT;
  // Optimised as the engine is (-O3 -march=native: the library runs where it
  // is built); undefined symbols resolve against the loaded engine. Hidden
  // and -Bsymbolic: a newer version of the same file, loaded beside the
  // older, must call its own functions, not the older library's same-named
  // ones (the dynamic linker would bind those first).
  return std::string(TORCHCLAD_CXX) +
         " -std=c++20 -O3 -march=native -fPIC -shared -fvisibility=hidden -fvisibility-inlines-hidden"
         " -Wl,-Bsymbolic" +
         " -fplugin=" + TORCHCLAD_CLAD_PLUGIN + " -DCLAD_NO_NUM_DIFF" +
         " -D_GLIBCXX_USE_CXX11_ABI=" + std::to_string(TORCHCLAD_CXX11_ABI) +
         " -isystem " + TORCHCLAD_CLAD_INCLUDE + " -I" + src + "/root/include -I" + src + "/engine" +
         " -isystem " + torch + "/include -isystem " + torch + "/include/torch/csrc/api/include" +
         " -isystem " + TORCHCLAD_ROOT_INCLUDE_DIR + " -Wno-#warnings " + quoted(source) + " -o " +
         quoted(library);
}

int compile_models_library(const std::string& source, const std::string& library) {
  return gSystem->Exec(model_compile_command(source, library).c_str());
}

std::vector<std::string> non_differentiable_calls(const std::string& compiler_output) {
  // Clad v2.4's warning, e.g. "cell.C:9:12: warning: attempted differentiation
  // of function 'mystery' without definition and no suitable overload was
  // found in namespace 'custom_derivatives'" (it then takes the derivative as 0).
  const std::string marker = "warning: attempted differentiation of function '";
  std::vector<std::string> problems;
  std::istringstream lines(compiler_output);
  for (std::string line; std::getline(lines, line);) {
    const auto at = line.find(marker);
    if (at == std::string::npos) continue;
    const auto name_start = at + marker.size(), name_end = line.find('\'', name_start);
    if (name_end == std::string::npos) continue;
    const std::string callee = line.substr(name_start, name_end - name_start);
    std::string where = line.substr(0, at);
    while (!where.empty() && (where.back() == ' ' || where.back() == ':')) where.pop_back();
    problems.push_back(where + ": Clad cannot differentiate the call to '" + callee +
                       "': it has no definition Clad can see and no custom derivative. Use a "
                       "torchclad building block, define '" + callee + "' in the same file so that "
                       "Clad can differentiate it, or give it a derivative in namespace "
                       "clad::custom_derivatives ('" + callee + "_pullback')");
  }
  return problems;
}

std::vector<std::string> load_models(const std::string& source_file) {
  namespace fs = std::filesystem;
  if (!fs::exists(source_file)) throw std::runtime_error("load_models: no file '" + source_file + "'");
  // A new library name per load, so that nothing already loaded is replaced
  // under a running model (the registry retires the older definitions).
  static std::atomic<int> loads{0};
  const fs::path dir = fs::temp_directory_path() / ("torchclad-models-" + std::to_string(gSystem->GetPid()));
  fs::create_directories(dir);
  const std::string library = (dir / (fs::path(source_file).stem().string() + "_" +
                                      std::to_string(++loads) + ".so"))
                                  .string();
  const std::string absolute = fs::absolute(source_file).string();
  // The compiler's messages are shown, and read for Clad's warnings.
  std::string output;
  FILE* compiler = popen((model_compile_command(absolute, library) + " 2>&1").c_str(), "r");
  if (!compiler) throw std::runtime_error("load_models: cannot run the compiler");
  char buffer[4096];
  for (size_t got; (got = std::fread(buffer, 1, sizeof buffer, compiler)) > 0;) {
    output.append(buffer, got);
    std::fwrite(buffer, 1, got, stderr);
  }
  if (pclose(compiler) != 0)
    throw std::runtime_error("load_models: " + source_file +
                             " did not compile (the compiler's messages are above)");
  if (gSystem->Load(library.c_str()) < 0)
    throw std::runtime_error("load_models: cannot load " + library + " (see the message above)");
  std::string problems;
  for (const auto& p : non_differentiable_calls(output)) problems += (problems.empty() ? "" : "\n") + p;
  if (!problems.empty()) define::withdraw_definitions_from(absolute);
  for (const auto& e : define::take_registration_errors()) problems += (problems.empty() ? "" : "\n") + e;
  if (!problems.empty()) throw std::runtime_error("load_models: " + problems);
  const auto names = names_from(absolute);
  if (names.empty())
    throw std::runtime_error("load_models: " + source_file + " defines no model (no TORCHCLAD_MODEL)");
  return names;
}

}  // namespace torchclad
