#include "inspect.hpp"

#include <TBaseClass.h>
#include <TClass.h>
#include <TDataMember.h>
#include <TFunction.h>
#include <TGlobal.h>
#include <TList.h>
#include <TListOfFunctions.h>
#include <TMethod.h>
#include <TROOT.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <vector>

namespace host {
namespace {

bool ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

std::size_t byte_at(const std::string& s, long code_points) {
  std::size_t i = 0;
  for (long cp = 0; i < s.size() && cp < code_points; ++cp) {
    ++i;
    while (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) ++i;
  }
  return i;
}

std::string trim(const std::string& s) {
  const std::size_t b = s.find_first_not_of(" \t\r\n");
  return b == std::string::npos ? "" : s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

// The name under the cursor, with its scope (`torchclad::show`), and the
// variable before `.` or `->` when it is a member (`h->Draw`: object "h").
struct Symbol {
  std::string name, object;
};

Symbol symbol_at(const std::string& code, std::size_t cursor) {
  std::size_t begin = cursor, end = cursor;
  // The cursor may sit just after the name, or on its '(' (JupyterLab
  // sends the position of the cursor, often after `f(`).
  if (begin > 0 && begin <= code.size() && (begin == code.size() || !ident_char(code[begin])) &&
      code[begin - 1] == '(')
    begin = end = begin - 1;
  while (begin > 0 &&
         (ident_char(code[begin - 1]) || (code[begin - 1] == ':' && begin >= 2 && code[begin - 2] == ':' &&
                                          begin >= 3 && ident_char(code[begin - 3])))) {
    begin -= code[begin - 1] == ':' ? 2 : 1;
  }
  while (end < code.size() && ident_char(code[end])) ++end;
  Symbol symbol;
  symbol.name = code.substr(begin, end - begin);
  std::size_t before = begin;
  if (before >= 1 && code[before - 1] == '.')
    before -= 1;
  else if (before >= 2 && code.compare(before - 2, 2, "->") == 0)
    before -= 2;
  else
    return symbol;
  std::size_t object_end = before;
  std::size_t object_begin = object_end;
  while (object_begin > 0 && ident_char(code[object_begin - 1])) --object_begin;
  symbol.object = code.substr(object_begin, object_end - object_begin);
  return symbol;
}

bool is_root_class(TClass* cl) {
  const std::string name = cl->GetName();
  if (name.rfind("ROOT::", 0) == 0) return true;
  const char* libs = cl->GetSharedLibs();
  if (!libs || !*libs) return false;
  std::istringstream words(libs);
  std::string first;
  words >> first;
  return std::filesystem::exists(std::string(TROOT::GetLibDir().Data()) + "/" + first);
}

std::string reference_url(const std::string& name, bool is_namespace) {
  std::string page;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (name.compare(i, 2, "::") == 0) {
      page += "_1_1";
      ++i;
    } else if (name[i] == '<') {
      break;  // templates: the page of the template
    } else {
      page += name[i];
    }
  }
  return std::string("https://root.cern/doc/master/") + (is_namespace ? "namespace" : "class") + page +
         ".html";
}

// The comment lines just above `name(` at the start of a declaration in
// torchclad's headers: cling records no comment for them.
std::string header_comment(const std::string& include_dir, const std::string& name) {
  std::error_code ec;
  const std::string unqualified = name.substr(name.rfind(':') == std::string::npos ? 0 : name.rfind(':') + 1);
  for (const auto& entry : std::filesystem::recursive_directory_iterator(include_dir, ec)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path());
    std::vector<std::string> comment;
    for (std::string line; std::getline(in, line);) {
      const std::string t = trim(line);
      if (t.rfind("//", 0) == 0) {
        const std::size_t text = t.find_first_not_of('/');
        comment.push_back(text == std::string::npos ? "" : trim(t.substr(text)));
        continue;
      }
      const std::size_t at = t.find(unqualified + "(");
      const bool declares = at != std::string::npos && at > 0 && !ident_char(t[at - 1]) && t.find('=') > at &&
                            t.find("return") == std::string::npos;
      if (declares && !comment.empty()) {
        std::string text;
        for (const auto& c : comment) text += c + "\n";
        return trim(text);
      }
      comment.clear();
    }
  }
  return "";
}

// "int __cling_N52::doubler(int x)": cling's per-cell namespace is not
// what the cell wrote.
std::string without_cling_namespaces(std::string text) {
  static const std::string marker = "__cling_N";
  for (std::size_t at; (at = text.find(marker)) != std::string::npos;) {
    std::size_t end = at + marker.size();
    while (end < text.size() && std::isdigit(static_cast<unsigned char>(text[end]))) ++end;
    if (text.compare(end, 2, "::") != 0) break;
    text.erase(at, end + 2 - at);
  }
  return text;
}

struct Found {
  std::string plain, markdown;
  void add(const std::string& declaration, const std::string& doc, const std::string& url = "") {
    if (!plain.empty()) {
      plain += "\n";
      markdown += "\n";
    }
    plain += declaration + "\n";
    markdown += "```c++\n" + declaration + "\n```\n";
    if (!doc.empty()) {
      plain += doc + "\n";
      markdown += doc + "\n";
    }
    if (!url.empty()) {
      plain += "Reference: " + url + "\n";
      markdown += "[Reference: " + url + "](" + url + ")\n";
    }
  }
};

void describe_class(TClass* cl, Found* found) {
  const bool ns = cl->Property() & kIsNamespace;
  std::string decl = std::string(ns                             ? "namespace "
                                 : (cl->Property() & kIsStruct) ? "struct "
                                                                : "class ") +
                     cl->GetName();
  if (!ns) {
    if (TList* bases = cl->GetListOfBases(); bases && bases->GetSize() > 0) {
      std::string sep = " : ";
      for (TObject* o : *bases) {
        decl += sep + "public " + o->GetName();
        sep = ", ";
      }
    }
  }
  found->add(decl, trim(cl->GetTitle()), is_root_class(cl) ? reference_url(cl->GetName(), ns) : "");
}

// Every overload of `name` in a class, its bases, or a namespace.
void collect_methods(TClass* cl, const std::string& name, std::set<const TClass*>* seen, Found* found,
                     const std::string& include_dir) {
  if (!cl || !seen->insert(cl).second) return;
  if (auto* methods = dynamic_cast<TListOfFunctions*>(cl->GetListOfMethods())) {
    if (TList* overloads = methods->GetListForObject(name.c_str())) {
      for (TObject* o : *overloads) {
        auto* f = static_cast<TFunction*>(o);
        std::string doc = trim(f->GetTitle());
        if (doc.empty() && !include_dir.empty() && std::string(cl->GetName()).rfind("torchclad", 0) == 0)
          doc = header_comment(include_dir, name);
        found->add(f->GetPrototype(), doc);
      }
    }
  }
  if (!(cl->Property() & kIsNamespace))
    if (TList* bases = cl->GetListOfBases())
      for (TObject* o : *bases)
        collect_methods(static_cast<TBaseClass*>(o)->GetClassPointer(), name, seen, found, include_dir);
}

TClass* class_of_type(std::string type) {
  for (const char* word : {"const ", "volatile "})
    for (std::size_t at; (at = type.find(word)) != std::string::npos;)
      type.erase(at, std::string(word).size());
  while (!type.empty() && (type.back() == '*' || type.back() == '&' || type.back() == ' ')) type.pop_back();
  return type.empty() ? nullptr : TClass::GetClass(type.c_str());
}

}  // namespace

nlohmann::json inspect_symbol(const std::string& code, long cursor_pos, const std::string& include_dir) {
  const Symbol symbol = symbol_at(code, byte_at(code, cursor_pos < 0 ? 0 : cursor_pos));
  Found found;
  if (!symbol.name.empty()) {
    if (!symbol.object.empty()) {
      // A member: look in the class of the variable's type.
      if (TGlobal* var = gROOT->GetGlobal(symbol.object.c_str(), kTRUE)) {
        if (TClass* cl = class_of_type(var->GetTypeName())) {
          std::set<const TClass*> seen;
          collect_methods(cl, symbol.name, &seen, &found, include_dir);
          if (found.plain.empty())
            if (TDataMember* m = cl->GetDataMember(symbol.name.c_str()))
              found.add(std::string(m->GetFullTypeName()) + " " + cl->GetName() + "::" + m->GetName(),
                        trim(m->GetTitle()));
        }
      }
    } else {
      const std::size_t scope_end = symbol.name.rfind("::");
      TClass* cl = TClass::GetClass(symbol.name.c_str());
      if (cl && (cl->HasInterpreterInfo() || cl->IsLoaded())) {
        describe_class(cl, &found);
      } else if (scope_end != std::string::npos) {
        // ns::function or Class::method.
        std::set<const TClass*> seen;
        collect_methods(TClass::GetClass(symbol.name.substr(0, scope_end).c_str()),
                        symbol.name.substr(scope_end + 2), &seen, &found, include_dir);
      } else {
        if (auto* functions = dynamic_cast<TListOfFunctions*>(gROOT->GetListOfGlobalFunctions(kTRUE)))
          if (TList* overloads = functions->GetListForObject(symbol.name.c_str()))
            for (TObject* o : *overloads) {
              auto* f = static_cast<TFunction*>(o);
              found.add(without_cling_namespaces(f->GetPrototype()), trim(f->GetTitle()));
            }
        // Functions declared in cells live in cling's per-cell namespaces.
        if (found.plain.empty())
          if (TFunction* f = gROOT->GetGlobalFunction(symbol.name.c_str(), nullptr, kTRUE))
            found.add(without_cling_namespaces(f->GetPrototype()), trim(f->GetTitle()));
      }
      if (found.plain.empty() && scope_end == std::string::npos) {
        if (TGlobal* var = gROOT->GetGlobal(symbol.name.c_str(), kTRUE)) {
          found.add(std::string(var->GetFullTypeName()) + " " + var->GetName(), "");
          if (TClass* type = class_of_type(var->GetTypeName())) describe_class(type, &found);
        }
      }
    }
  }
  if (found.plain.empty()) return {{"found", false}, {"data", nlohmann::json::object()}};
  return {{"found", true}, {"data", {{"text/plain", found.plain}, {"text/markdown", found.markdown}}}};
}

}  // namespace host
