#include "scope_completion.hpp"

#include <TClass.h>
#include <TClassTable.h>
#include <TCollection.h>
#include <TDataMember.h>
#include <TEnv.h>
#include <TFunction.h>
#include <TFunctionTemplate.h>
#include <TGlobal.h>
#include <THashList.h>
#include <TInterpreter.h>
#include <TList.h>
#include <TROOT.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <set>

#include "cell_variables.hpp"
#include "cpp_text.hpp"

namespace host {
namespace {

// A name that completes `partial` and that a person would type: no
// operators, destructors or compiler-made names.
bool wanted(const std::string& name, const std::string& partial) {
  return !name.empty() && name.rfind(partial, 0) == 0 &&
         (std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_') &&
         name.rfind("operator", 0) != 0 && name.rfind("__", 0) != 0 && name.find('<') == std::string::npos;
}

void add_members(TClass* cl, const std::string& partial, bool public_only, std::set<std::string>* out) {
  const std::string short_name = [&] {
    std::string n = cl->GetName();
    if (auto lt = n.find('<'); lt != std::string::npos) n = n.substr(0, lt);
    if (auto colon = n.rfind("::"); colon != std::string::npos) n = n.substr(colon + 2);
    return n;
  }();
  auto take = [&](const TCollection* list) {
    if (!list) return;
    for (TObject* o : *list) {
      const std::string name = o->GetName();
      if (name != short_name && wanted(name, partial)) out->insert(name);
    }
  };
  if (public_only) {
    take(cl->GetListOfAllPublicMethods());
    take(cl->GetListOfAllPublicDataMembers());
  } else {
    take(cl->GetListOfMethods());
    take(cl->GetListOfDataMembers());
    take(cl->GetListOfFunctionTemplates());
  }
}

// The next component after `scope::` of a fully qualified name, or "".
std::string component_after(const std::string& full, const std::string& scope) {
  if (full.size() <= scope.size() + 2 || full.compare(0, scope.size(), scope) != 0 ||
      full.compare(scope.size(), 2, "::") != 0)
    return "";
  std::string rest = full.substr(scope.size() + 2);
  std::size_t end = 0;
  while (end < rest.size() && identifier_char(rest[end])) ++end;
  return rest.substr(0, end);
}

// Classes, structs, enums and namespaces declared in `scope`.
void add_types_in_scope(const std::string& scope, const std::string& partial, std::set<std::string>* out) {
  ClassInfo_t* info = gInterpreter->ClassInfo_Factory(kFALSE);
  while (gInterpreter->ClassInfo_Next(info)) {
    const std::string next = component_after(gInterpreter->ClassInfo_FullName(info), scope);
    if (wanted(next, partial)) out->insert(next);
  }
  gInterpreter->ClassInfo_Delete(info);
  // ROOT names std's classes without "std::" in its dictionaries and
  // rootmaps (vector<int>): their templates' names, for std::vec.
  if (scope == "std") {
    auto take = [&](std::string name) {
      if (name.rfind("std::", 0) == 0) name = name.substr(5);
      std::size_t end = 0;
      while (end < name.size() && identifier_char(name[end])) ++end;
      if (end < name.size() && name[end] != '<') return;  // in another scope
      name = name.substr(0, end);
      if (wanted(name, partial)) out->insert(name);
    };
    gClassTable->Init();
    while (const char* name = gClassTable->Next()) take(name);
    if (TEnv* map = gInterpreter->GetMapfile())
      if (THashList* table = map->GetTable())
        for (TObject* o : *table) {
          std::string key = o->GetName();
          if (key.rfind("Library.", 0) == 0) key = key.substr(8);
          take(key);
        }
  }
}

// A short prefix can match thousands: a person reads the first.
constexpr std::size_t kMaxNameCompletions = 1000;

// ROOT's global pointers and settings, declared by its headers: always there,
// though not in ROOT's list of globals until that is loaded.
const char* const kRootGlobals[] = {
    "gROOT", "gSystem",      "gStyle",       "gPad",       "gDirectory", "gFile",  "gRandom",
    "gEnv",  "gInterpreter", "gApplication", "gBenchmark", "gVirtualX",  "gDebug", "gErrorIgnoreLevel"};

// Where the member access chain that ends `text` starts: `h`,
// `h.GetXaxis()`, `df.Filter("x > 0").Define("y", "x")` (calls skipped by
// their parentheses). npos for unbalanced parentheses.
std::size_t chain_start(const std::string& text) {
  std::size_t begin = text.size();
  while (begin > 0) {
    const char c = text[begin - 1];
    if (identifier_char(c) || c == '.') {
      --begin;
    } else if (c == '>' && begin >= 2 && text[begin - 2] == '-') {
      begin -= 2;
    } else if (c == ')') {
      int depth = 0;
      std::size_t k = begin;
      while (k > 0) {
        --k;
        if (text[k] == ')') ++depth;
        if (text[k] == '(' && --depth == 0) break;
      }
      if (depth != 0) return std::string::npos;
      begin = k;
    } else {
      break;
    }
  }
  return begin;
}

}  // namespace

TClass* class_of_chain(const std::string& text) {
  const std::size_t begin = chain_start(text);
  if (begin == std::string::npos || begin >= text.size()) return nullptr;
  const std::string chain = text.substr(begin);
  // The first link: a variable the cells can name (not a call: its type
  // would need the overload).
  std::size_t i = 0;
  while (i < chain.size() && identifier_char(chain[i])) ++i;
  if (i == 0 || std::isdigit(static_cast<unsigned char>(chain[0]))) return nullptr;
  const std::optional<CellVariable> var = cell_variable(chain.substr(0, i));
  if (!var) return nullptr;
  TClass* cl = class_of_type(var->type);
  // Each later link: a data member's type, or a method's return type (its
  // first overload: they rarely differ).
  while (cl && i < chain.size()) {
    if (chain[i] == '.')
      ++i;
    else if (chain.compare(i, 2, "->") == 0)
      i += 2;
    else
      return nullptr;
    const std::size_t name_begin = i;
    while (i < chain.size() && identifier_char(chain[i])) ++i;
    const std::string name = chain.substr(name_begin, i - name_begin);
    if (name.empty()) return nullptr;
    if (i < chain.size() && chain[i] == '(') {
      int depth = 0;
      for (; i < chain.size(); ++i) {
        if (chain[i] == '(') ++depth;
        if (chain[i] == ')' && --depth == 0) break;
      }
      ++i;
      auto* method = dynamic_cast<TFunction*>(cl->GetListOfAllPublicMethods()->FindObject(name.c_str()));
      cl = method ? class_of_type(method->GetReturnTypeName()) : nullptr;
    } else {
      auto* member =
          dynamic_cast<TDataMember*>(cl->GetListOfAllPublicDataMembers()->FindObject(name.c_str()));
      cl = member ? class_of_type(member->GetTypeName()) : nullptr;
    }
  }
  return cl;
}

bool ends_with_a_call(const std::string& line, std::size_t* name_begin, std::size_t* name_end) {
  if (line.empty() || line.back() != '(') return false;
  std::size_t end = line.size() - 1;
  while (end > 0 && line[end - 1] == ' ') --end;
  std::size_t begin = end;
  while (begin > 0 && identifier_char(line[begin - 1])) --begin;
  if (name_begin) *name_begin = begin;
  if (name_end) *name_end = end;
  return begin < end;
}

std::optional<std::vector<std::string>> member_signatures(const std::string& line) {
  std::size_t name_begin = 0, name_end = 0;
  if (!ends_with_a_call(line, &name_begin, &name_end)) return std::nullopt;
  const std::string name = line.substr(name_begin, name_end - name_begin);
  std::size_t object_end;
  if (name_begin >= 1 && line[name_begin - 1] == '.')
    object_end = name_begin - 1;
  else if (name_begin >= 2 && line.compare(name_begin - 2, 2, "->") == 0)
    object_end = name_begin - 2;
  else
    return std::nullopt;
  std::vector<std::string> out;
  TClass* cl = class_of_chain(line.substr(0, object_end));
  if (!cl) return out;
  for (TObject* o : *cl->GetListOfAllPublicMethods())
    if (auto* method = dynamic_cast<TFunction*>(o); method && name == method->GetName()) {
      const std::string text = std::string(method->GetReturnTypeName()) + " " + name + method->GetSignature();
      if (std::find(out.begin(), out.end(), text) == out.end()) out.push_back(text);
    }
  return out;
}

std::vector<std::string> name_completions(const std::string& partial, const std::set<std::string>& cell_names,
                                          const std::vector<std::string>& root_names) {
  if (partial.empty()) return {};
  std::set<std::string> found;
  auto take = [&](const std::string& name) {
    if (name != partial && wanted(name, partial)) found.insert(name);
  };
  for (auto it = cell_names.lower_bound(partial); it != cell_names.end() && it->rfind(partial, 0) == 0; ++it)
    take(*it);
  for (auto it = std::lower_bound(root_names.begin(), root_names.end(), partial);
       it != root_names.end() && it->rfind(partial, 0) == 0; ++it)
    take(*it);
  for (const char* name : kRootGlobals) take(name);
  // Already loaded (gROOT's own few, and the cells' that were looked up): not a load.
  if (TCollection* globals = gROOT->GetListOfGlobals(kFALSE))
    for (TObject* o : *globals) take(o->GetName());
  if (TCollection* types = gROOT->GetListOfTypes(kFALSE))
    for (TObject* o : *types) take(o->GetName());
  gClassTable->Init();
  while (const char* name = gClassTable->Next()) take(first_component(name));
  if (TEnv* map = gInterpreter->GetMapfile())
    if (THashList* table = map->GetTable())
      for (TObject* o : *table) {
        std::string key = o->GetName();
        if (key.rfind("Library.", 0) == 0) key = key.substr(8);
        take(first_component(key));
      }
  // What cling has parsed: the cells' classes and namespaces, torchclad's.
  ClassInfo_t* info = gInterpreter->ClassInfo_Factory(kFALSE);
  while (gInterpreter->ClassInfo_Next(info)) take(first_component(gInterpreter->ClassInfo_FullName(info)));
  gInterpreter->ClassInfo_Delete(info);
  std::vector<std::string> out(found.begin(), found.end());
  if (out.size() > kMaxNameCompletions) out.resize(kMaxNameCompletions);
  return out;
}

std::vector<std::string> scope_completions(const std::string& line) {
  std::size_t token = line.size();
  while (token > 0 && identifier_char(line[token - 1])) --token;
  const std::string partial = line.substr(token);
  std::set<std::string> found;
  if (token >= 2 && line.compare(token - 2, 2, "::") == 0) {
    std::size_t begin = token - 2;
    while (begin > 0 && (identifier_char(line[begin - 1]) || line[begin - 1] == ':')) --begin;
    std::string scope = line.substr(begin, token - 2 - begin);
    if (scope.rfind("::", 0) == 0) scope = scope.substr(2);
    if (scope.empty()) return {};
    if (TClass* cl = TClass::GetClass(scope.c_str())) {
      add_members(cl, partial, /*public_only=*/false, &found);
      if (cl->Property() & kIsNamespace) add_types_in_scope(scope, partial, &found);
    } else if (scope == "std") {
      add_types_in_scope(scope, partial, &found);
    }
  } else if ((token >= 1 && line[token - 1] == '.') ||
             (token >= 2 && line.compare(token - 2, 2, "->") == 0)) {
    const std::size_t end = line[token - 1] == '.' ? token - 1 : token - 2;
    if (TClass* cl = class_of_chain(line.substr(0, end)))
      add_members(cl, partial, /*public_only=*/true, &found);
  }
  return {found.begin(), found.end()};
}

}  // namespace host
