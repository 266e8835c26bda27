#include "cell_variables.hpp"

#include <TClass.h>
#include <TDataMember.h>
#include <TGlobal.h>
#include <TList.h>
#include <TROOT.h>

#include <vector>

#include "cpp_text.hpp"
#include "last_expression.hpp"

namespace host {
namespace {

// The namespaces named by `using namespace` in cells, in order; bounded
// (a cell of a million directives must not grow it without end).
constexpr std::size_t kMaxUsingDirectives = 256;
std::vector<std::string> g_using_namespaces;

std::string read_word(const std::string& code, std::size_t* i) {
  const std::size_t begin = *i;
  while (*i < code.size() && identifier_char(code[*i])) ++*i;
  return code.substr(begin, *i - begin);
}

}  // namespace

void remember_using_directives(const std::string& code) {
  for (std::size_t i = skip_space_and_comments(code, 0); i < code.size();
       i = skip_space_and_comments(code, i)) {
    const char c = code[i];
    if (c == '"' || c == '\'') {
      const std::size_t end = skip_literal_or_comment(code, i);
      i = end > i ? end : i + 1;
      continue;
    }
    if (!identifier_char(c)) {
      ++i;
      continue;
    }
    if (read_word(code, &i) != "using") continue;
    std::size_t j = skip_space_and_comments(code, i);
    if (read_word(code, &j) != "namespace") continue;
    std::string name;
    for (j = skip_space_and_comments(code, j); j < code.size();) {
      if (code.compare(j, 2, "::") == 0) {
        name += "::";
        j += 2;
      } else if (identifier_char(code[j])) {
        name += read_word(code, &j);
      } else {
        break;
      }
    }
    if (name.rfind("::", 0) == 0) name = name.substr(2);
    if (name.empty() || name == "std" || g_using_namespaces.size() >= kMaxUsingDirectives) continue;
    bool known = false;
    for (const std::string& n : g_using_namespaces) known = known || n == name;
    if (!known) g_using_namespaces.push_back(name);
    i = j;
  }
}

std::optional<CellVariable> cell_variable(const std::string& name) {
  if (name.empty()) return std::nullopt;
  if (TGlobal* var = gROOT->GetGlobal(name.c_str(), kFALSE))
    return CellVariable{var->GetName(), var->GetTypeName(), var->GetFullTypeName()};
  // Later directives first: their names are the ones a cell sees last.
  for (auto it = g_using_namespaces.rbegin(); it != g_using_namespaces.rend(); ++it) {
    TClass* ns = TClass::GetClass(it->c_str());
    if (!ns || !(ns->Property() & kIsNamespace) || !ns->GetListOfDataMembers()) continue;
    if (auto* m = dynamic_cast<TDataMember*>(ns->GetListOfDataMembers()->FindObject(name.c_str())))
      return CellVariable{m->GetName(), m->GetTypeName(), m->GetFullTypeName()};
  }
  return std::nullopt;
}

TClass* class_of_type(std::string type) {
  for (const char* word : {"const ", "volatile "})
    for (std::size_t at; (at = type.find(word)) != std::string::npos;)
      type.erase(at, std::string(word).size());
  while (!type.empty() && (type.back() == '*' || type.back() == '&' || type.back() == ' ')) type.pop_back();
  return type.empty() ? nullptr : TClass::GetClass(type.c_str());
}

}  // namespace host
