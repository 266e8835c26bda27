#include "include_hint.hpp"

#include <dirent.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>

#include "cpp_text.hpp"

namespace host {
namespace {

constexpr std::size_t kMaxName = 128;

bool ends_with_word(const std::string& text, const std::string& word) {
  if (text.size() < word.size() || text.compare(text.size() - word.size(), word.size(), word) != 0)
    return false;
  return text.size() == word.size() || !identifier_char(text[text.size() - word.size() - 1]);
}

std::string rtrim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

// The identifier after the first `torchclad::` of the code, or "".
std::string name_used(const std::string& code) {
  static const std::string marker = "torchclad::";
  for (std::size_t at = code.find(marker); at != std::string::npos; at = code.find(marker, at + 1)) {
    if (at > 0 && identifier_char(code[at - 1])) continue;  // my_torchclad::
    std::size_t end = at + marker.size();
    while (end < code.size() && end - at - marker.size() < kMaxName && identifier_char(code[end])) ++end;
    if (end > at + marker.size()) return code.substr(at + marker.size(), end - at - marker.size());
  }
  return "";
}

// The name between the quotes of `prefix'NAME' in namespace 'torchclad'`
// in a diagnostic line, or "".
std::string missing_member(const std::string& line) {
  static const std::string suffix = "' in namespace 'torchclad'";
  const std::size_t end = line.find(suffix);
  if (end == std::string::npos) return "";
  for (const char* prefix : {"no member named '", "no type named '", "no template named '"}) {
    const std::size_t at = line.rfind(prefix, end);
    if (at != std::string::npos) return line.substr(at + std::strlen(prefix), end - at - std::strlen(prefix));
  }
  return "";
}

// A declaration of `name` at namespace scope on this line of a header
// (torchclad's headers do not indent a namespace's contents): a class,
// struct, enum, alias or namespace of that name (not a forward declaration),
// or a function or variable (`Model model(...)`, `inline int x = ...`).
bool declares(const std::string& line, const std::string& name) {
  if (line.empty() || std::isspace(static_cast<unsigned char>(line[0])) || line.rfind("//", 0) == 0 ||
      line[0] == '#' || line[0] == '*' || line.rfind("/*", 0) == 0)
    return false;
  const std::string code = line.substr(0, line.find("//"));
  for (std::size_t at = code.find(name); at != std::string::npos; at = code.find(name, at + 1)) {
    const std::size_t end = at + name.size();
    if ((at > 0 && identifier_char(code[at - 1])) || (end < code.size() && identifier_char(code[end])))
      continue;
    const std::string before = rtrim(code.substr(0, at));
    std::string after = code.substr(end);
    after.erase(0, after.find_first_not_of(" \t"));
    if (ends_with_word(before, "namespace") || ends_with_word(before, "namespace torchclad::")) return true;
    if (ends_with_word(before, "class") || ends_with_word(before, "struct") ||
        ends_with_word(before, "enum") || ends_with_word(before, "using"))
      return after.empty() || after[0] != ';';
    if (before.size() >= 2 && (before.compare(before.size() - 2, 2, "::") == 0 || before.back() == '.'))
      continue;
    if (!after.empty() && (after[0] == '(' || after[0] == '=' || after[0] == '{') &&
        (before.empty() || identifier_char(before.back()) || before.back() == '>' || before.back() == '&' ||
         before.back() == '*'))
      return true;
  }
  return false;
}

// The header of include_dir/torchclad/ that declares `name` ("torchclad/model.h"),
// torchclad.h looked at first; "" when none does.
std::string header_declaring(const std::string& include_dir, const std::string& name) {
  const std::string dir = include_dir + "/torchclad";
  std::vector<std::string> headers;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (const dirent* e = ::readdir(d)) {
      const std::string file = e->d_name;
      if (file.size() > 2 && file.compare(file.size() - 2, 2, ".h") == 0) headers.push_back(file);
    }
    ::closedir(d);
  }
  std::sort(headers.begin(), headers.end(), [](const std::string& a, const std::string& b) {
    return (a == "torchclad.h") != (b == "torchclad.h") ? a == "torchclad.h" : a < b;
  });
  for (const std::string& header : headers) {
    std::ifstream in(dir + "/" + header);
    for (std::string line; std::getline(in, line);)
      if (declares(line, name)) return "torchclad/" + header;
  }
  return "";
}

}  // namespace

std::string include_hint(const std::string& code, const std::vector<std::string>& diagnostics,
                         const std::string& include_dir) {
  for (const std::string& line : diagnostics) {
    if (line.find("error: ") == std::string::npos) continue;
    std::string name = missing_member(line);
    const bool no_namespace =
        name.empty() &&
        (line.find("'torchclad' is not a class, namespace, or enumeration") != std::string::npos ||
         line.find("use of undeclared identifier 'torchclad'") != std::string::npos);
    if (no_namespace) name = name_used(code);
    if (name.empty() && !no_namespace) continue;
    const std::string header = name.empty() ? "" : header_declaring(include_dir, name);
    const std::string why =
        no_namespace ? ", and a new or restarted kernel starts without torchclad's headers" : "";
    if (header == "torchclad/nn.h" || header == "torchclad/nn_onnx.h")
      return "torchclad::" + name + " is for model definitions, compiled with Clad in %%clad cells: " +
             "#include \"torchclad/nn.h\" in such a cell";
    if (!header.empty()) return "#include \"" + header + "\" first: it declares torchclad::" + name + why;
    if (no_namespace)
      return "#include \"torchclad/torchclad.h\" first, or the header of torchclad/ that declares what the "
             "cell uses: a new or restarted kernel starts without torchclad's headers";
    return "";  // a name that no header declares: the error says it all
  }
  return "";
}

}  // namespace host
