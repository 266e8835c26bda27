#include "define/definition.hpp"

#include <cctype>
#include <cstdio>
#include <iterator>
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

namespace {

// The text with comments, string and character literals blanked (their
// characters become spaces, so positions and braces in them do not count).
std::string code_only(const std::string& t) {
  std::string s = t;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s.compare(i, 2, "//") == 0) {
      while (i < s.size() && s[i] != '\n') s[i++] = ' ';
    } else if (s.compare(i, 2, "/*") == 0) {
      const size_t end = s.find("*/", i + 2);
      const size_t stop = end == std::string::npos ? s.size() : end + 2;
      for (; i < stop; ++i)
        if (s[i] != '\n') s[i] = ' ';
      --i;
    } else if (s[i] == 'R' && s.compare(i + 1, 1, "\"") == 0 &&
               (i == 0 || !(std::isalnum(static_cast<unsigned char>(s[i - 1])) || s[i - 1] == '_'))) {
      // A raw string R"delim( ... )delim": to its closing sequence.
      const size_t open = s.find('(', i + 2);
      if (open == std::string::npos) break;
      const std::string closing = ")" + s.substr(i + 2, open - i - 2) + "\"";
      const size_t end = s.find(closing, open);
      const size_t stop = end == std::string::npos ? s.size() : end + closing.size();
      for (; i < stop; ++i)
        if (s[i] != '\n') s[i] = ' ';
      --i;
    } else if (s[i] == '\'' && i > 0 && std::isalnum(static_cast<unsigned char>(s[i - 1]))) {
      // a digit separator (1'000)
    } else if (s[i] == '"' || s[i] == '\'') {
      const char quote = s[i];
      for (++i; i < s.size() && s[i] != quote; ++i) {
        if (s[i] == '\\' && i + 1 < s.size()) s[i++] = ' ';
        s[i] = ' ';
      }
    }
  }
  return s;
}

std::string trimmed(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

// The statements at the top level of a class body: member declarations up to
// their ';'; a function's body ends its statement (nothing of it is kept).
std::vector<std::string> member_statements(const std::string& body) {
  std::vector<std::string> statements;
  std::string current;
  int depth = 0;
  for (char c : body) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    if (c == '{' || c == '(' || c == '[') ++depth;
    if (c == '}' || c == ')' || c == ']') --depth;
    if (depth == 0 && c == ';') {
      statements.push_back(trimmed(current));
      current.clear();
      continue;
    }
    current += c;
    if (depth == 0 && c == '}') {
      // A function's body: '(' before its '{' (a declarator's braces have none).
      const size_t brace = current.find('{');
      if (current.find('(') < brace) current.clear();
    }
  }
  return statements;
}

// Splits at the commas outside brackets.
std::vector<std::string> split_top_level(const std::string& s) {
  std::vector<std::string> parts(1);
  int depth = 0;
  for (char c : s) {
    if (c == '{' || c == '(' || c == '[' || c == '<') ++depth;
    if (c == '}' || c == ')' || c == ']' || c == '>') --depth;
    if (depth == 0 && c == ',')
      parts.emplace_back();
    else
      parts.back() += c;
  }
  return parts;
}

}  // namespace

DeclaredMembers declared_members(const std::string& source_text, const std::string& struct_name,
                                 const std::string& type) {
  DeclaredMembers out;
  if (!std::regex_match(struct_name, std::regex(R"([A-Za-z_]\w*)"))) return out;
  const std::string code = code_only(source_text);
  const std::regex head(R"(\b(?:struct|class)\s+)" + struct_name + R"(\s*(?:final\s*)?(?::[^{;]*)?\{)");
  std::sregex_iterator m(code.begin(), code.end(), head), end;
  if (m == end || std::next(m) != end) return out;  // none, or more than one
  const size_t open = static_cast<size_t>(m->position(0) + m->length(0));
  size_t close = open;  // the body's closing brace
  for (int depth = 1; close < code.size(); ++close) {
    if (code[close] == '{') ++depth;
    if (code[close] == '}' && --depth == 0) break;
  }
  if (close >= code.size()) return out;
  const std::regex access(R"(^(?:(?:public|private|protected)\s*:\s*)+)");
  const std::regex declaration(R"(^(?:::\s*)?(?:torchclad\s*::\s*)?(?:nn\s*::\s*)?)" + type + R"(\s+(.+)$)");
  const std::regex declarator(R"(^([A-Za-z_]\w*)\s*(?:\[\s*([^\]]*)\]\s*)?(.*)$)");
  for (auto statement : member_statements(code.substr(open, close - open))) {
    statement = std::regex_replace(statement, access, "");
    std::smatch d;
    if (!std::regex_match(statement, d, declaration)) continue;
    for (const auto& part : split_top_level(d[1].str())) {
      std::smatch v;
      const std::string text = trimmed(part);
      if (!std::regex_match(text, v, declarator)) return out;
      const std::string init = trimmed(v[3].str());
      if (!init.empty() && init[0] == '(') return out;  // a function, or not a plain member
      if (!v[2].matched) {
        out.members.push_back({v[1].str(), init});
        continue;
      }
      const std::string size = trimmed(v[2].str());
      if (size.empty() || size.find_first_not_of("0123456789") != std::string::npos) return out;
      for (int i = 0; i < std::stoi(size); ++i)
        out.members.push_back({v[1].str() + "[" + std::to_string(i) + "]", ""});
    }
  }
  out.ok = true;
  return out;
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
