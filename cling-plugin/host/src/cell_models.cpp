#include "cell_models.hpp"

#include <TSystem.h>

#include <cstdio>
#include <exception>

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

void record_failed_model_cell(const std::string& source_text, const std::string& cell,
                              const std::string& error) {
  for (const auto& name : torchclad::define::declared_model_names(source_text)) {
    const bool kept = torchclad::define::record_failed_build(
        name, "model '" + name + "' has no working definition: the latest run of " + cell +
                  " did not compile (" + error + "); fix the cell and run it again");
    if (kept)
      std::fprintf(stderr, "torchclad: model '%s' keeps the definition of the last run of %s that compiled\n",
                   name.c_str(), cell.c_str());
  }
}

std::map<std::string, std::string> model_sources() {
  std::map<std::string, std::string> sources;
  for (const auto& name : torchclad::define::definition_names()) try {
      sources[name] = torchclad::define::find_definition(name)->source_file;
    } catch (const std::exception&) {  // gone meanwhile
    }
  return sources;
}

std::vector<std::string> models_from(const std::string& source_path) {
  std::vector<std::string> names;
  for (const auto& [name, source] : model_sources())
    if (source == source_path) names.push_back(name);
  return names;
}

namespace {

std::string directory_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash);
}

// "cell 'later'" for a cell's file (<workdir>/later.C), else "file '<path>'".
std::string source_name(const std::string& path, const std::string& cell_dir) {
  const std::string suffix = ".C";
  if (directory_of(path) == cell_dir && path.size() > cell_dir.size() + 1 + suffix.size() &&
      path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0)
    return "cell '" + path.substr(cell_dir.size() + 1, path.size() - cell_dir.size() - 1 - suffix.size()) +
           "'";
  return "file '" + path + "'";
}

}  // namespace

std::string replacement_notices(const std::map<std::string, std::string>& before,
                                const std::string& source_path) {
  const std::string dir = directory_of(source_path);
  std::string notices;
  for (const auto& name : models_from(source_path)) {
    const auto old = before.find(name);
    if (old == before.end() || old->second == source_path) continue;
    notices += "model '" + name + "' (defined by " + source_name(old->second, dir) +
               ") is replaced by the one in " + source_name(source_path, dir) + "\n";
  }
  return notices;
}

}  // namespace host
