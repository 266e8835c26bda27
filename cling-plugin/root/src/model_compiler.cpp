// Compiling files of model definitions (torchclad/nn.h) into libraries that
// register their models when loaded: clang++-19 with the Clad plugin, C++20,
// the engine's and LibTorch's headers, and no cling dictionary (so neither
// rootcling's C++17 parse nor cling's view of the file's types is involved).
#include <TSystem.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
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
  if (compile_models_library(absolute, library) != 0)
    throw std::runtime_error("load_models: " + source_file +
                             " did not compile (the compiler's messages are above)");
  if (gSystem->Load(library.c_str()) < 0)
    throw std::runtime_error("load_models: cannot load " + library + " (see the message above)");
  const auto errors = define::take_registration_errors();
  if (!errors.empty()) throw std::runtime_error(errors.front());
  return names_from(absolute);
}

}  // namespace torchclad
