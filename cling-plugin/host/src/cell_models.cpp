#include "cell_models.hpp"

#include <TSystem.h>

#include "define/definition.hpp"
#include "torchclad/model.h"

namespace host {

bool defines_models(const std::string& body) { return body.find("TORCHCLAD_MODEL") != std::string::npos; }

int compile_and_load_model_cell(const std::string& source_path, const std::string& name, bool changed) {
  if (!changed) return 1;
  static int builds = 0;
  const std::string dir = source_path.substr(0, source_path.rfind('/'));
  const std::string library = dir + "/" + name + "_" + std::to_string(++builds) + ".so";
  if (torchclad::compile_models_library(source_path, library) != 0) return 0;
  return gSystem->Load(library.c_str()) >= 0 ? 1 : 0;
}

std::string cell_model_problems(const std::vector<std::string>& diagnostics, const std::string& source_path) {
  std::string output, problems;
  for (const auto& line : diagnostics) output += line + "\n";
  for (const auto& p : torchclad::non_differentiable_calls(output))
    problems += (problems.empty() ? "" : "\n") + p;
  if (!problems.empty()) torchclad::define::withdraw_definitions_from(source_path);
  for (const auto& e : torchclad::define::take_registration_errors())
    problems += (problems.empty() ? "" : "\n") + e;
  return problems;
}

}  // namespace host
