#include "cell_models.hpp"

#include <TSystem.h>

#include "define/definition.hpp"
#include "torchclad/model.h"

namespace host {
namespace {

// Clad v2.4's warning for a call it has no derivative for, e.g.
// "cell.C:9:12: warning: attempted differentiation of function 'mystery'
// without definition and no suitable overload was found in namespace
// 'custom_derivatives'". Returns "cell.C:9:12" and "mystery".
bool non_differentiable_call(const std::string& line, std::string* where, std::string* callee) {
  const std::string marker = "warning: attempted differentiation of function '";
  const auto at = line.find(marker);
  if (at == std::string::npos) return false;
  const auto name_start = at + marker.size();
  const auto name_end = line.find('\'', name_start);
  if (name_end == std::string::npos) return false;
  *callee = line.substr(name_start, name_end - name_start);
  *where = line.substr(0, at);
  while (!where->empty() && (where->back() == ' ' || where->back() == ':')) where->pop_back();
  return true;
}

}  // namespace

bool defines_models(const std::string& body) {
  return body.find("TORCHCLAD_MODEL") != std::string::npos;
}

int compile_and_load_model_cell(const std::string& source_path, const std::string& name,
                                bool changed) {
  if (!changed) return 1;
  static int builds = 0;
  const std::string dir = source_path.substr(0, source_path.rfind('/'));
  const std::string library = dir + "/" + name + "_" + std::to_string(++builds) + ".so";
  if (torchclad::compile_models_library(source_path, library) != 0) return 0;
  return gSystem->Load(library.c_str()) >= 0 ? 1 : 0;
}

std::string cell_model_problems(const std::vector<std::string>& diagnostics,
                                const std::string& source_path) {
  std::string problems;
  for (const auto& line : diagnostics) {
    std::string where, callee;
    if (!non_differentiable_call(line, &where, &callee)) continue;
    problems += (problems.empty() ? "" : "\n") + where + ": Clad cannot differentiate the call to '" +
                callee + "': it has no definition Clad can see and no custom derivative. Use a "
                "torchclad building block, define '" + callee + "' in the cell so that Clad can "
                "differentiate it, or give it a derivative in namespace clad::custom_derivatives ('" +
                callee + "_pullback')";
  }
  if (!problems.empty()) torchclad::define::withdraw_definitions_from(source_path);
  for (const auto& e : torchclad::define::take_registration_errors())
    problems += (problems.empty() ? "" : "\n") + e;
  return problems;
}

}  // namespace host
