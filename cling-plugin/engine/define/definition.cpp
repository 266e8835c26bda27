#include "define/definition.hpp"

#include <cstdio>
#include <map>
#include <mutex>
#include <regex>
#include <sstream>
#include <stdexcept>

namespace torchclad::define {
namespace {

struct Registry {
  std::mutex mutex;
  std::map<std::string, std::shared_ptr<Definition>> definitions;
  std::map<std::string, std::string> errors;  // name -> why it has no definition
  std::vector<std::string> pending_errors;
  std::vector<DefinitionMaker> makers;
};

Registry& registry() {
  static Registry* r = new Registry;  // never destroyed: libraries unregister at exit
  return *r;
}

std::string join(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s.empty() ? "(none)" : s;
}

std::vector<std::string> names_locked(const Registry& r) {
  std::vector<std::string> names;
  for (const auto& [name, def] : r.definitions) names.push_back(name);
  return names;
}

}  // namespace

const ParamSpec& Definition::param(const std::string& wanted) const {
  for (const auto& p : params)
    if (p.name == wanted) return p;
  std::vector<std::string> known;
  for (const auto& p : params) known.push_back(p.name);
  throw std::runtime_error("model '" + name + "' has no parameter '" + wanted +
                           "'; its parameters are: " + join(known));
}

std::string Definition::describe() const {
  std::ostringstream s;
  s << "model '" << name << "': " << param_count << " parameters in " << params.size() << " tensors, "
    << inputs << " inputs -> ";
  if (targets == Targets::kClassIndex)
    s << classes << " classes";
  else if (targets == Targets::kBinary)
    s << "1 logit (binary)";
  else
    s << target_width << " regression target" << (target_width == 1 ? "" : "s");
  s << ", " << acts_per_sample << " activation values per sample\n";
  for (const auto& p : params) {
    s << "  " << p.name << " [";
    for (size_t i = 0; i < p.shape.size(); ++i) s << (i ? ", " : "") << p.shape[i];
    s << "]\n";
  }
  return s.str();
}

void report_registration_error(const std::string& name, const std::string& message) {
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.errors[name] = message;
  if (auto it = r.definitions.find(name); it != r.definitions.end()) {
    *it->second->alive = false;
    r.definitions.erase(it);
  }
  r.pending_errors.push_back(message);
  std::fprintf(stderr, "torchclad: %s\n", message.c_str());
}

bool record_failed_build(const std::string& name, const std::string& message) {
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  if (auto it = r.definitions.find(name); it != r.definitions.end() && *it->second->alive) return true;
  r.errors[name] = message;
  return false;
}

std::vector<std::string> declared_model_names(const std::string& source_text) {
  static const std::regex declaration(R"(TORCHCLAD_MODEL\s*\(\s*([A-Za-z_]\w*)\s*,)");
  std::vector<std::string> names;
  for (std::sregex_iterator m(source_text.begin(), source_text.end(), declaration), end; m != end; ++m)
    names.push_back((*m)[1].str());
  return names;
}

void register_definition(std::shared_ptr<Definition> def) {
  auto& r = registry();
  {
    std::lock_guard<std::mutex> lock(r.mutex);
    auto it = r.definitions.find(def->name);
    const bool duplicate =
        it != r.definitions.end() && *it->second->alive && it->second->library == def->library;
    if (!duplicate) {
      if (it != r.definitions.end()) *it->second->alive = false;  // replaced
      r.errors.erase(def->name);
      r.definitions[def->name] = std::move(def);
      return;
    }
  }
  report_registration_error(def->name, "model '" + def->name + "' is defined twice in " + def->library +
                                           " (" + def->source_file +
                                           "); give each TORCHCLAD_MODEL its own name");
}

void unregister_definition(const std::string& name, const Definition* def) {
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  *def->alive = false;
  auto it = r.definitions.find(name);
  if (it != r.definitions.end() && it->second.get() == def) r.definitions.erase(it);
}

void withdraw_definitions_from(const std::string& source_file) {
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  for (auto it = r.definitions.begin(); it != r.definitions.end();) {
    if (it->second->source_file == source_file) {
      *it->second->alive = false;
      r.errors[it->first] = "model '" + it->first +
                            "' was withdrawn: Clad could not differentiate "
                            "every call in its loss (see the error of the cell that defined it)";
      it = r.definitions.erase(it);
    } else {
      ++it;
    }
  }
}

std::shared_ptr<Definition> find_definition(const std::string& name) {
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  if (auto it = r.definitions.find(name); it != r.definitions.end()) return it->second;
  if (auto e = r.errors.find(name); e != r.errors.end()) throw std::runtime_error(e->second);
  // A maker builds its definition without the registry (under this lock, so
  // that two threads asking for one name get one definition).
  for (auto maker : r.makers) {
    std::shared_ptr<Definition> made;
    try {
      made = maker(name);
    } catch (const std::exception& e) {
      throw std::runtime_error("model '" + name + "': " + e.what());
    }
    if (made) return r.definitions[name] = std::move(made);
  }
  throw std::runtime_error("no model definition named '" + name +
                           "' in this session (defined: " + join(names_locked(r)) +
                           "); define it with TORCHCLAD_MODEL in a %%clad cell, a macro "
                           "compiled with Clad, or a program linked with torchclad");
}

void register_definition_maker(DefinitionMaker maker) {
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.makers.push_back(maker);
}

std::vector<std::string> definition_names() {
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  return names_locked(r);
}

std::vector<std::string> take_registration_errors() {
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  std::vector<std::string> out;
  out.swap(r.pending_errors);
  return out;
}

}  // namespace torchclad::define
