#include "inspect.hpp"

#include <TBaseClass.h>
#include <TClass.h>
#include <TDataMember.h>
#include <TFunction.h>
#include <TFunctionTemplate.h>
#include <TGlobal.h>
#include <TInterpreter.h>
#include <TList.h>
#include <TListOfFunctions.h>
#include <TMethod.h>
#include <TMethodArg.h>
#include <TROOT.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <vector>

#include "cell_variables.hpp"
#include "cpp_text.hpp"
#include "last_expression.hpp"

namespace host {
namespace {

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
  if (begin > 0 && begin <= code.size() && (begin == code.size() || !identifier_char(code[begin])) &&
      code[begin - 1] == '(')
    begin = end = begin - 1;
  while (begin > 0 && (identifier_char(code[begin - 1]) ||
                       (code[begin - 1] == ':' && begin >= 2 && code[begin - 2] == ':' && begin >= 3 &&
                        identifier_char(code[begin - 3])))) {
    begin -= code[begin - 1] == ':' ? 2 : 1;
  }
  while (end < code.size() && identifier_char(code[end])) ++end;
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
  while (object_begin > 0 && identifier_char(code[object_begin - 1])) --object_begin;
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

// The cells run so far (newest last), searched for the comments above the
// declarations they made: cling records no leading comment that ROOT's
// reflection returns, and libCling exports no clang API to ask its AST.
std::mutex cells_mutex;
std::deque<std::string> cell_sources;
std::size_t cell_source_bytes = 0;
constexpr std::size_t kMaxCellSourceBytes = 16 * 1024 * 1024;

std::string unqualified(const std::string& name) {
  const std::size_t colon = name.rfind("::");
  return colon == std::string::npos ? name : name.substr(colon + 2);
}

bool word_at(const std::string& text, std::size_t at, const std::string& word) {
  return text.compare(at, word.size(), word) == 0 && (at == 0 || !identifier_char(text[at - 1])) &&
         (at + word.size() == text.size() || !identifier_char(text[at + word.size()]));
}

// Where the line declares (or defines) `name`, or npos: a class (`class
// name {`, `struct name : base`, not `class name;`) or a function (`T name(`,
// `T Class::name(`, not a call: `= name(`, `(name(`, `return name(`).
std::size_t declared_at(const std::string& line, const std::string& name, bool is_class) {
  for (std::size_t at = line.find(name); at != std::string::npos; at = line.find(name, at + 1)) {
    if (!word_at(line, at, name)) continue;
    std::size_t after = at + name.size();
    while (after < line.size() && line[after] == ' ') ++after;
    std::size_t before = at;
    while (before > 0 && line[before - 1] == ' ') --before;
    if (is_class) {
      if (after < line.size() && (line[after] == ';' || line[after] == '<' || line[after] == '(' ||
                                  line[after] == ')' || line[after] == ',' || line[after] == '>'))
        continue;
      for (const char* keyword : {"class", "struct", "union"}) {
        const std::size_t k = std::string(keyword).size();
        if (before >= k && word_at(line, before - k, keyword)) return at;
      }
    } else {
      if (after >= line.size() || line[after] != '(') continue;
      // Before `name` or `Class::name`: a type (`int`, `T*`, `std::vector<T>&`).
      std::size_t start = at;
      while (start >= 2 && line.compare(start - 2, 2, "::") == 0) {
        start -= 2;
        while (start > 0 && identifier_char(line[start - 1])) --start;
      }
      std::size_t type_end = start;
      while (type_end > 0 && line[type_end - 1] == ' ') --type_end;
      // In a call's or a condition's parentheses (`g(a & name(b))`,
      // `if (a > name(b))`), or assigned: a use, not a declaration.
      if (type_end == 0 || type_end == start || line.find('=') < at || line.find('(') < at) continue;
      const char c = line[type_end - 1];
      if (!(identifier_char(c) || c == '*' || c == '&' || c == '>')) continue;
      // `T*`, `T&`, `vector<T>&`: the type's own word before its * and &.
      std::size_t word_end = type_end;
      while (word_end > 0 &&
             (line[word_end - 1] == '*' || line[word_end - 1] == '&' || line[word_end - 1] == ' '))
        --word_end;
      if (word_end == 0 || !(identifier_char(line[word_end - 1]) || line[word_end - 1] == '>')) continue;
      if (line[word_end - 1] == '>' && line.rfind('<', word_end - 1) == std::string::npos) continue;
      std::size_t word = word_end;
      while (word > 0 && identifier_char(line[word - 1])) --word;
      const std::string type_word = line.substr(word, word_end - word);
      if (!type_word.empty() && std::isdigit(static_cast<unsigned char>(type_word[0])))
        continue;  // `2 * name(`
      static const std::set<std::string> not_types = {"return", "else", "new",  "delete",    "throw",
                                                      "case",   "do",   "goto", "co_return", "co_yield"};
      if (!not_types.count(type_word)) return at;
    }
  }
  return std::string::npos;
}

// The parameters of the declaration whose `(` is at `open`, as written
// (`const std::string& s = ""`), split at the commas outside brackets; false
// while the list is not closed (it goes on on the next line). Literals are
// skipped whole (skip_literal_or_comment): a '<' or ',' in a default value
// (`char c = '<'`, `sep = ","`) opens no bracket and ends no parameter; a
// comment (`int n /* rows, cols */`) is a blank.
bool split_parameters(const std::string& text, std::size_t open, std::vector<std::string>* parameters) {
  parameters->clear();
  std::string current;
  int depth = 0;
  for (std::size_t i = open + 1; i < text.size(); ++i) {
    const char c = text[i];
    if (const std::size_t after = skip_literal_or_comment(text, i); after != i) {
      current += text[i] == '/' ? std::string(" ") : text.substr(i, after - i);
      i = after - 1;
      continue;
    }
    if (depth == 0 && (c == ',' || c == ')')) {
      parameters->push_back(trim(current));
      current.clear();
      if (c == ',') continue;
      if (parameters->size() == 1 && parameters->front().empty()) parameters->clear();  // `f()`
      return true;
    }
    if (c == '(' || c == '<' || c == '[' || c == '{') ++depth;
    if ((c == ')' || c == '>' || c == ']' || c == '}') && depth > 0) --depth;
    current += c;
  }
  return false;
}

// The words and signs of a type: `const`, `std`, `::`, `string`, `&`.
std::vector<std::string> type_tokens(const std::string& text) {
  std::vector<std::string> tokens;
  for (std::size_t i = 0; i < text.size();) {
    std::size_t end = i + 1;
    if (identifier_char(text[i]))
      while (end < text.size() && identifier_char(text[end])) ++end;
    else if (text.compare(i, 2, "::") == 0)
      end = i + 2;
    if (!std::isspace(static_cast<unsigned char>(text[i]))) tokens.push_back(text.substr(i, end - i));
    i = end;
  }
  return tokens;
}

bool is_word(const std::string& token) { return !token.empty() && identifier_char(token[0]); }

// The index of the first `[` outside brackets in a type's tokens (`int[3]`,
// not `function<void(int[3])>`), or its size.
std::size_t extents_at(const std::vector<std::string>& t) {
  int depth = 0;
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (t[i] == "[" && depth == 0) return i;
    if (t[i] == "(" || t[i] == "<") ++depth;
    if ((t[i] == ")" || t[i] == ">") && depth > 0) --depth;
  }
  return t.size();
}

// A declaration's parameter without its default value and its name, as
// ROOT writes it (`T* p`, `int a[3]`, `int (*cb)(int)`: `T*`, `int[3]`,
// `int(*)(int)`); `std::string`, `const T` and `unsigned long` name no
// parameter.
std::vector<std::string> unnamed(const std::string& parameter) {
  std::size_t end = 0;
  for (int depth = 0; end < parameter.size() && !(depth == 0 && parameter[end] == '='); ++end) {
    if (const std::size_t after = skip_literal_or_comment(parameter, end); after != end) {
      end = after - 1;
      continue;
    }
    const char c = parameter[end];
    if (c == '(' || c == '<' || c == '[' || c == '{') ++depth;
    if ((c == ')' || c == '>' || c == ']' || c == '}') && depth > 0) --depth;
  }
  std::vector<std::string> t = type_tokens(parameter.substr(0, std::min(end, parameter.size())));
  // The name in a function pointer's or an array reference's `(*cb)`, `(&a)`.
  for (std::size_t i = 1; i + 1 < t.size(); ++i)
    if (is_word(t[i]) && (t[i - 1] == "*" || t[i - 1] == "&") && t[i + 1] == ")") t.erase(t.begin() + i);
  // The name before an array's extents: set them aside meanwhile.
  const std::size_t extents = extents_at(t);
  const std::vector<std::string> tail(t.begin() + extents, t.end());
  t.resize(extents);
  static const std::set<std::string> builtin = {"void",  "bool",     "char",     "wchar_t",  "char8_t",
                                                "short", "char16_t", "char32_t", "int",      "long",
                                                "float", "double",   "signed",   "unsigned", "auto"};
  static const std::set<std::string> not_types = {"const", "volatile", "struct",  "class",
                                                  "enum",  "union",    "typename"};
  if (t.size() >= 2 && is_word(t.back()) && !builtin.count(t.back()) && t[t.size() - 2] != "::") {
    bool type_before = false;
    for (std::size_t i = 0; i + 1 < t.size(); ++i) type_before |= !not_types.count(t[i]);
    if (type_before) t.pop_back();
  }
  t.insert(t.end(), tail.begin(), tail.end());
  return t;
}

// An array parameter is a pointer (`int[3]`, `int[N]`: `int*`; `int[3][4]`:
// `int(*)[4]`), which is also how cling's prototypes are asked for. A
// reference to an array (`int(&)[3]`) stays.
std::vector<std::string> decayed(std::vector<std::string> t) {
  const std::size_t open = extents_at(t);
  const auto close = std::find(t.begin() + static_cast<long>(open), t.end(), "]");
  if (close == t.end() || open == 0 || t[open - 1] == ")") return t;
  const bool more = close + 1 != t.end() && *(close + 1) == "[";
  t.erase(t.begin() + static_cast<long>(open), close + 1);
  const std::vector<std::string> pointer =
      more ? std::vector<std::string>{"(", "*", ")"} : std::vector<std::string>{"*"};
  t.insert(t.begin() + static_cast<long>(open), pointer.begin(), pointer.end());
  return t;
}

// Tokens as C++ text: a space only between two words (`const string&`).
std::string joined(const std::vector<std::string>& tokens) {
  std::string text;
  bool after_word = false;
  for (const std::string& token : tokens) {
    text += (after_word && is_word(token) ? " " : "") + token;
    after_word = is_word(token);
  }
  return text;
}

// `long long` as ROOT writes it: Long64_t, ULong64_t.
void root_long64(std::vector<std::string>* t) {
  for (std::size_t i = 0; i + 1 < t->size(); ++i) {
    if ((*t)[i] != "long" || (*t)[i + 1] != "long") continue;
    const bool is_unsigned = i > 0 && (*t)[i - 1] == "unsigned";
    t->erase(t->begin() + static_cast<long>(i), t->begin() + static_cast<long>(i) + 2);
    if (is_unsigned) t->erase(t->begin() + static_cast<long>(--i));
    t->insert(t->begin() + static_cast<long>(i), is_unsigned ? "ULong64_t" : "Long64_t");
  }
}

// East const as ROOT writes it: `Point const&` is `const Point&` (a const
// after the type's words, before its first `*`, `&`, `(` or `[`).
void const_first(std::vector<std::string>* t) {
  int depth = 0;
  for (std::size_t i = 0; i < t->size(); ++i) {
    const std::string& token = (*t)[i];
    if (depth == 0 && (token == "*" || token == "&" || token == "(" || token == "[")) return;
    if (token == "<") ++depth;
    if (token == ">" && depth > 0) --depth;
    if (depth == 0 && i > 0 && token == "const" && t->front() != "const") {
      t->erase(t->begin() + static_cast<long>(i));
      t->insert(t->begin(), "const");
      return;
    }
  }
}

// A parameter's type spelled alike from a declaration's text and from ROOT
// (which writes `const string&` for `const std::string& s`, `Long64_t` for
// `long long`, and `__cling_N52::Point` for a cell's `Point`): without
// cling's scopes, `struct`, top-level const, arrays' extents, with one
// spelling of `unsigned`, `long int`, `signed`. Other scopes stay (a::T is
// not b::T); same_type compares them.
std::string comparable_type(const std::vector<std::string>& written) {
  static const std::set<std::string> dropped = {"struct", "class", "enum", "union", "typename"};
  static const std::set<std::string> sized = {"char", "short", "int", "long"};
  const std::vector<std::string> t = decayed(written);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < t.size(); ++i) {
    const std::string next = i + 1 < t.size() ? t[i + 1] : "";
    const std::string prev = out.empty() ? "" : out.back();
    if (t[i] == "::") {
      if (prev.rfind("__cling_N", 0) == 0)
        out.pop_back();
      else if (is_word(prev) || prev == ">")
        out.push_back("::");  // a leading `::` (global scope) is dropped
      continue;
    }
    if (dropped.count(t[i]) || (t[i] == "int" && (prev == "short" || prev == "long"))) continue;
    if (t[i] == "signed" && next != "char") {
      if (!sized.count(next)) out.push_back("int");
      continue;
    }
    out.push_back(t[i]);
    if (t[i] == "unsigned" && !sized.count(next)) out.push_back("int");
  }
  root_long64(&out);
  const_first(&out);
  if (!out.empty() && out.back() == "const") out.pop_back();  // `T* const`, `int const`
  if (!out.empty() && out.front() == "const" && out.back() != "*" && out.back() != "&")
    out.erase(out.begin());
  return joined(out);
}

// The words of the qualified name at `*i` (`std::string`: std, string),
// past which `*i` moves; none if `*i` is a sign.
std::vector<std::string> qualified_name(const std::vector<std::string>& t, std::size_t* i) {
  std::vector<std::string> words;
  if (*i >= t.size() || !is_word(t[*i])) return words;
  words.push_back(t[(*i)++]);
  while (*i + 1 < t.size() && t[*i] == "::" && is_word(t[*i + 1])) {
    words.push_back(t[*i + 1]);
    *i += 2;
  }
  return words;
}

// Whether two of comparable_type's spellings name one type. A name matches
// the same name with fewer scopes (ROOT writes `string` for `std::string`,
// a cell may write `T` for a::T), but a::T is not b::T.
bool same_type(const std::string& a, const std::string& b) {
  const std::vector<std::string> x = type_tokens(a), y = type_tokens(b);
  std::size_t i = 0, j = 0;
  while (i < x.size() && j < y.size()) {
    const std::vector<std::string> p = qualified_name(x, &i), q = qualified_name(y, &j);
    if (p.empty() != q.empty()) return false;
    if (p.empty() && x[i++] != y[j++]) return false;
    const std::size_t n = std::min(p.size(), q.size());
    if (!std::equal(p.end() - static_cast<long>(n), p.end(), q.end() - static_cast<long>(n))) return false;
  }
  return i == x.size() && j == y.size();
}

// Whether a declaration's written parameters are an overload's (`types`,
// from comparable_type); `(void)` is `()`, and `...` is not among ROOT's.
bool same_parameters(const std::vector<std::string>& written, const std::vector<std::string>& types) {
  std::vector<std::string> mine;
  for (const std::string& parameter : written)
    if (const std::string type = comparable_type(unnamed(parameter)); type != "...") mine.push_back(type);
  if (mine.size() == 1 && mine.front() == "void") mine.clear();
  if (mine.size() != types.size()) return false;
  for (std::size_t k = 0; k < mine.size(); ++k)
    if (!same_type(mine[k], types[k])) return false;
  return true;
}

// The declaration of `name` in a source text and the comment just above it
// (`//`, `///`, `/** */` lines, above its `template <...>` line if any).
struct SourceDecl {
  std::string declaration, comment;
};

std::string without_line_comment(const std::string& line) { return trim(line.substr(0, line.find("//"))); }

// The parameters of the function declared in `*line` with its `(` at
// `open`, as written; a list that goes on over the next lines of `in` is
// joined into `*line`.
std::vector<std::string> parameters_of(std::istream& in, std::string* line, std::size_t open) {
  constexpr int kMaxMoreLines = 16;
  std::vector<std::string> written;
  std::string next;
  for (int more = 0;
       !split_parameters(*line, open, &written) && more < kMaxMoreLines && std::getline(in, next); ++more)
    *line = without_line_comment(*line) + " " + without_line_comment(trim(next));
  return written;
}

// `parameters` (comparable_type's) given: only a declaration of a function
// with these parameter types, so that each overload gets its own comment.
SourceDecl find_declaration(std::istream& in, const std::string& name, bool is_class,
                            const std::vector<std::string>* parameters = nullptr) {
  SourceDecl first;
  std::vector<std::string> comment;
  std::string pending_template;
  bool in_block = false;
  auto strip_stars = [](std::string t) {
    t = trim(t);
    while (!t.empty() && (t.front() == '*' || t.front() == '!' || t.front() == '<')) t.erase(0, 1);
    return trim(t);
  };
  for (std::string line; std::getline(in, line);) {
    std::string t = trim(line);
    if (in_block) {
      const std::size_t close = t.find("*/");
      comment.push_back(strip_stars(t.substr(0, close)));
      if (close != std::string::npos) in_block = false;
      continue;
    }
    if (t.rfind("/*", 0) == 0) {
      const std::size_t close = t.find("*/", 2);
      comment.push_back(strip_stars(t.substr(2, close == std::string::npos ? std::string::npos : close - 2)));
      in_block = close == std::string::npos;
      continue;
    }
    if (t.rfind("//", 0) == 0) {
      const std::size_t text = t.find_first_not_of("/!<");
      comment.push_back(text == std::string::npos ? "" : trim(t.substr(text)));
      continue;
    }
    const std::size_t at = declared_at(t, name, is_class);
    const std::vector<std::string> written = at == std::string::npos || is_class
                                                 ? std::vector<std::string>{}
                                                 : parameters_of(in, &t, t.find('(', at));
    if (at != std::string::npos && (is_class || !parameters || same_parameters(written, *parameters))) {
      std::string declaration = t.substr(0, std::min(t.find('{'), t.find(';')));
      if (const std::size_t c = declaration.find("//"); c != std::string::npos) declaration.erase(c);
      declaration = trim(pending_template.empty() ? declaration : pending_template + " " + declaration);
      std::string text;
      for (const auto& c : comment) text += c + "\n";
      SourceDecl found{declaration, trim(text)};
      if (!found.comment.empty()) return found;
      if (first.declaration.empty()) first = found;
    } else if (t.rfind("template", 0) == 0 && t.back() == '>') {
      pending_template = t;
      continue;
    }
    comment.clear();
    pending_template.clear();
  }
  return first;
}

SourceDecl find_in_file(const std::filesystem::path& file, const std::string& name, bool is_class,
                        const std::vector<std::string>* parameters) {
  std::ifstream in(file);
  return in ? find_declaration(in, name, is_class, parameters) : SourceDecl{};
}

// A file's leading comment block (model.h's describes torchclad::Model).
std::string file_comment(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::string text;
  for (std::string line; std::getline(in, line);) {
    const std::string t = trim(line);
    if (t.rfind("//", 0) != 0) break;
    const std::size_t at = t.find_first_not_of('/');
    text += (at == std::string::npos ? "" : t.substr(at)) + "\n";
  }
  // Keep the indentation of the example lines, drop the one space after //.
  std::string out;
  std::istringstream lines(text);
  for (std::string l; std::getline(lines, l);) out += (l.rfind(' ', 0) == 0 ? l.substr(1) : l) + "\n";
  return trim(out);
}

// Where to look for a declaration: the code of the request (the cell being
// edited), the cells run so far, newest first, and torchclad's headers.
struct Context {
  std::string code, include_dir;
};

SourceDecl find_in_cells(const Context& ctx, const std::string& name, bool is_class,
                         const std::vector<std::string>* parameters = nullptr) {
  const std::string unq = unqualified(name);
  SourceDecl first;
  auto consider = [&](const std::string& text) {
    std::istringstream in(text);
    SourceDecl found = find_declaration(in, unq, is_class, parameters);
    if (first.declaration.empty()) first = found;
    return !found.comment.empty() ? std::move(found) : SourceDecl{};
  };
  if (SourceDecl found = consider(ctx.code); !found.declaration.empty()) return found;
  std::lock_guard<std::mutex> lock(cells_mutex);
  for (auto cell = cell_sources.rbegin(); cell != cell_sources.rend(); ++cell)
    if (SourceDecl found = consider(*cell); !found.declaration.empty()) return found;
  return first;
}

// The comment of `name`'s declaration in the request's code and the cells
// when exactly one declaration of it (a cell run twice counts once) has one.
std::string only_comment_in_cells(const Context& ctx, const std::string& name) {
  std::set<std::pair<std::string, std::string>> commented;
  auto scan = [&](const std::string& text) {
    std::istringstream in(text);
    // find_declaration stops at the first commented one: go on from there.
    for (SourceDecl d; !(d = find_declaration(in, name, false)).comment.empty();)
      commented.insert({d.declaration, d.comment});
  };
  scan(ctx.code);
  {
    std::lock_guard<std::mutex> lock(cells_mutex);
    for (const std::string& cell : cell_sources) scan(cell);
  }
  return commented.size() == 1 ? commented.begin()->second : "";
}

// The parameter types (`const std::string&,int`) of each function `name`
// the request's code and the cells declare: to ask cling for the overloads
// its list of global functions leaves out.
std::set<std::string> cell_prototypes(const Context& ctx, const std::string& name) {
  std::set<std::string> prototypes;
  auto scan = [&](const std::string& text) {
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
      std::string t = trim(line);
      const std::size_t at = t.rfind("//", 0) == 0 ? std::string::npos : declared_at(t, name, false);
      if (at == std::string::npos) continue;
      std::string prototype;
      for (const std::string& parameter : parameters_of(in, &t, t.find('(', at)))
        if (const std::string type = joined(decayed(unnamed(parameter))); type != "...")
          prototype += (prototype.empty() ? "" : ",") + type;
      prototypes.insert(prototype);
    }
  };
  scan(ctx.code);
  std::lock_guard<std::mutex> lock(cells_mutex);
  for (const std::string& cell : cell_sources) scan(cell);
  return prototypes;
}

// In torchclad's headers: `preferred` (the header cling names) first.
SourceDecl find_in_headers(const Context& ctx, const std::string& name, bool is_class,
                           const std::string& preferred, const std::vector<std::string>* parameters) {
  if (ctx.include_dir.empty()) return {};
  const std::string unq = unqualified(name);
  std::error_code ec;
  if (!preferred.empty()) {
    const std::filesystem::path file = std::filesystem::path(preferred).is_absolute()
                                           ? std::filesystem::path(preferred)
                                           : std::filesystem::path(ctx.include_dir) / preferred;
    if (std::filesystem::is_regular_file(file, ec)) {
      SourceDecl found = find_in_file(file, unq, is_class, parameters);
      if (is_class && !found.declaration.empty() && found.comment.empty()) {
        std::string stem = file.stem().string(), lower = unq;
        for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (stem == lower) found.comment = file_comment(file);
      }
      if (!found.declaration.empty()) return found;
    }
  }
  SourceDecl first;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(ctx.include_dir, ec)) {
    if (!entry.is_regular_file(ec)) continue;
    SourceDecl found = find_in_file(entry.path(), unq, is_class, parameters);
    if (!found.comment.empty()) return found;
    if (first.declaration.empty()) first = found;
  }
  return first;
}

bool is_torchclad(const std::string& name) { return name.rfind("torchclad::", 0) == 0; }

SourceDecl find_source(const Context& ctx, const std::string& name, bool is_class,
                       const std::string& header = "", const std::vector<std::string>* parameters = nullptr) {
  return is_torchclad(name) ? find_in_headers(ctx, name, is_class, header, parameters)
                            : find_in_cells(ctx, name, is_class, parameters);
}

// An overload's parameter types, to find its own declaration in the source.
std::vector<std::string> parameter_types(TFunction* f) {
  std::vector<std::string> types;
  if (TList* args = f->GetListOfMethodArgs())
    for (TObject* o : *args)
      types.push_back(comparable_type(type_tokens(static_cast<TMethodArg*>(o)->GetFullTypeName())));
  return types;
}

// A global function a cell declared, whose comment the cells may hold. ROOT
// gives no function's file (own_scope's test for a class), but cling
// declares each cell's functions in its namespace __cling_N5..., which the
// prototype or the mangled name keeps. libc's and libm's functions (printf,
// pow) are not looked for in the cells.
bool from_cell(TFunction* f) {
  for (const char* text : {f->GetPrototype(), f->GetMangledName()})
    if (text && std::strstr(text, "__cling_N")) return true;
  return false;
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
  void add_members(const std::string& lines) {
    if (lines.empty()) return;
    plain += "Public members:\n" + lines;
    markdown += "Public members:\n```c++\n" + lines + "```\n";
  }
};

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  if (from.empty()) return text;
  for (std::size_t at = 0; (at = text.find(from, at)) != std::string::npos; at += to.size())
    text.replace(at, from.size(), to);
  return text;
}

// The public data members (with their trailing comments) and methods of a
// class that has no reference page: torchclad's, a cell's.
std::string public_members(TClass* cl) {
  static const std::set<std::string> class_def = {"Class",
                                                  "Class_Name",
                                                  "Class_Version",
                                                  "Dictionary",
                                                  "IsA",
                                                  "ShowMembers",
                                                  "Streamer",
                                                  "StreamerNVirtual",
                                                  "DeclFileName",
                                                  "DeclFileLine",
                                                  "ImplFileName",
                                                  "ImplFileLine",
                                                  "CheckTObjectHashConsistency",
                                                  "operator="};
  constexpr int kMaxLines = 40;
  const std::string prefix = without_cling_namespaces(cl->GetName()) + "::";
  std::string lines;
  int count = 0;
  if (TList* members = cl->GetListOfDataMembers()) {
    for (TObject* o : *members) {
      auto* m = static_cast<TDataMember*>(o);
      if (!(m->Property() & kIsPublic)) continue;
      if (++count > kMaxLines) break;
      const std::string title = trim(m->GetTitle());
      lines += "  " + std::string(m->GetFullTypeName()) + " " + m->GetName() + ";" +
               (title.empty() ? "" : "  // " + title) + "\n";
    }
  }
  if (TList* methods = cl->GetListOfMethods()) {
    std::set<std::string> seen;
    for (TObject* o : *methods) {
      auto* f = static_cast<TFunction*>(o);
      const std::string name = f->GetName();
      if (!(f->Property() & kIsPublic) || class_def.count(name) || name.rfind('~', 0) == 0) continue;
      std::string proto = replace_all(without_cling_namespaces(f->GetPrototype()), prefix, "");
      if (f->ExtraProperty() & kIsConstructor) {
        // ROOT writes `C C(args)`; the copy and move constructors go unsaid.
        const std::size_t at = proto.find(name + "(");
        if (at != std::string::npos) proto.erase(0, at);
        const std::string full = without_cling_namespaces(cl->GetName());
        bool copy_or_move = false;
        for (const std::string& type : {full, unqualified(full)})
          copy_or_move |= proto == name + "(const " + type + "&)" || proto == name + "(" + type + "&&)";
        if (copy_or_move) continue;
      } else if (f->Property() & kIsStatic) {
        proto = "static " + proto;
      }
      if (!seen.insert(proto).second) continue;
      if (++count > kMaxLines) break;
      lines += "  " + proto + ";\n";
    }
  }
  if (count > kMaxLines) lines += "  ...\n";
  return lines;
}

// The reference page of a template: cppreference for the standard library,
// ROOT's reference for ROOT's (ROOT::..., or a header TName.h in ROOT).
std::string template_url(const std::string& name) {
  if (name.rfind("std::", 0) == 0) {
    std::string query;
    for (char c : name) query += c == ':' ? std::string("%3A") : std::string(1, c);
    return "https://en.cppreference.com/mwiki/index.php?search=" + query;
  }
  std::error_code ec;
  if (name.rfind("ROOT::", 0) == 0 ||
      (name.find("::") == std::string::npos &&
       std::filesystem::is_regular_file(std::string(TROOT::GetIncludeDir().Data()) + "/" + name + ".h", ec)))
    return reference_url(name, false);
  return "";
}

void describe_class(TClass* cl, Found* found, const Context& ctx) {
  const bool ns = cl->Property() & kIsNamespace;
  const std::string name = without_cling_namespaces(cl->GetName());
  std::string decl = std::string(ns                             ? "namespace "
                                 : (cl->Property() & kIsStruct) ? "struct "
                                                                : "class ") +
                     name;
  if (!ns) {
    if (TList* bases = cl->GetListOfBases(); bases && bases->GetSize() > 0) {
      std::string sep = " : ";
      for (TObject* o : *bases) {
        decl += sep + "public " + o->GetName();
        sep = ", ";
      }
    }
  }
  const bool root = is_root_class(cl);
  std::string doc = trim(cl->GetTitle());
  // torchclad's classes and a cell's (declared in no header): the comment
  // above them and their public members.
  const char* file =
      ns || root || !cl->GetClassInfo() ? nullptr : gInterpreter->ClassInfo_FileName(cl->GetClassInfo());
  const std::string header = file ? file : "";
  const bool own = !ns && !root && (is_torchclad(name) || (file && header.empty()));
  if (doc.empty() && own) doc = find_source(ctx, name, true, header).comment;
  // The standard library's classes come from headers named <vector>, <string>.
  const bool standard = !own && !header.empty() && header.find_first_of("./") == std::string::npos;
  found->add(decl, doc,
             root       ? reference_url(name, ns)
             : standard ? template_url("std::" + name.substr(0, name.find('<')))
                        : "");
  if (own) found->add_members(public_members(cl));
}

// torchclad's namespace and classes, and the classes and namespaces cells
// declared (in no header): the scopes whose comments are read from source.
bool own_scope(TClass* cl) {
  const std::string name = without_cling_namespaces(cl->GetName());
  if (name == "torchclad" || is_torchclad(name)) return true;
  if (is_root_class(cl) || !cl->GetClassInfo()) return false;
  const char* file = gInterpreter->ClassInfo_FileName(cl->GetClassInfo());
  return file && !*file;
}

// Every overload of `name` in a class, its bases, or a namespace.
void collect_methods(TClass* cl, const std::string& name, std::set<const TClass*>* seen, Found* found,
                     const Context& ctx) {
  if (!cl || !seen->insert(cl).second) return;
  if (auto* methods = dynamic_cast<TListOfFunctions*>(cl->GetListOfMethods())) {
    if (TList* overloads = methods->GetListForObject(name.c_str())) {
      for (TObject* o : *overloads) {
        auto* f = static_cast<TFunction*>(o);
        std::string doc = trim(f->GetTitle());
        if (doc.empty() && own_scope(cl)) {
          const std::vector<std::string> types = parameter_types(f);
          doc = find_source(ctx, without_cling_namespaces(cl->GetName()) + "::" + name, false, "", &types)
                    .comment;
        }
        found->add(without_cling_namespaces(f->GetPrototype()), doc);
      }
    }
  }
  if (!(cl->Property() & kIsNamespace))
    if (TList* bases = cl->GetListOfBases())
      for (TObject* o : *bases)
        collect_methods(static_cast<TBaseClass*>(o)->GetClassPointer(), name, seen, found, ctx);
}

// Global functions, each with the comment of its own declaration in the
// cells. When none of them matches a declaration's parameters (a spelling
// comparable_type misses: a macro, a typedef), the only cell function still
// gets the only commented declaration of its name, as before overloads were
// told apart.
void add_functions(const Context& ctx, const std::string& name, const std::vector<TFunction*>& overloads,
                   Found* found) {
  std::vector<std::string> docs;
  int from_cells = 0;
  bool matched = false;
  for (TFunction* f : overloads) {
    std::string doc = trim(f->GetTitle());
    if (from_cell(f)) {
      ++from_cells;
      const std::vector<std::string> types = parameter_types(f);
      const SourceDecl source = doc.empty() ? find_in_cells(ctx, name, false, &types) : SourceDecl{};
      matched |= !doc.empty() || !source.declaration.empty();
      if (doc.empty()) doc = source.comment;
    }
    docs.push_back(doc);
  }
  for (std::size_t i = 0; i < overloads.size(); ++i) {
    if (from_cells == 1 && !matched && from_cell(overloads[i])) docs[i] = only_comment_in_cells(ctx, name);
    found->add(without_cling_namespaces(overloads[i]->GetPrototype()), docs[i]);
  }
}

// Class and function templates, which TClass and TFunction do not describe:
// the declaration written in the source (a cell, torchclad's headers) or
// `template <...>`, the comment above it, and the reference page.
void describe_template(const std::string& name, const Context& ctx, Found* found) {
  if (name.empty() || !gInterpreter) return;
  const std::size_t scope_end = name.rfind("::");
  // ROOT's C++ has `using namespace std`: `vector`, `sort` are std's unless
  // a cell declared its own.
  const bool std_too =
      scope_end == std::string::npos && gInterpreter->CheckClassTemplate(("std::" + name).c_str());
  if (gInterpreter->CheckClassTemplate(name.c_str())) {
    const SourceDecl source = find_source(ctx, name, true);
    if (std_too && source.declaration.empty()) return describe_template("std::" + name, ctx, found);
    found->add(source.declaration.empty() ? "template <...> class " + name : source.declaration,
               source.comment.empty() ? "A class template: " + name + "<...> names a class." : source.comment,
               template_url(name));
    return;
  }
  TFunctionTemplate* function = nullptr;
  if (scope_end == std::string::npos) {
    function = gROOT->GetFunctionTemplate(name.c_str());
    if (!function) {
      if (TClass* std = TClass::GetClass("std"); std && std->GetFunctionTemplate(name.c_str()))
        return describe_template("std::" + name, ctx, found);
    }
  } else if (TClass* scope = TClass::GetClass(name.substr(0, scope_end).c_str())) {
    if (scope->HasInterpreterInfo())
      function = scope->GetFunctionTemplate(name.substr(scope_end + 2).c_str());
  }
  if (!function) return;
  const SourceDecl source = find_source(ctx, name, false);
  const unsigned parameters = function->GetTemplateNargs();
  found->add(source.declaration.empty()
                 ? "template <" + std::to_string(parameters) +
                       (parameters == 1 ? " parameter" : " parameters") + "> " + name + "(...)"
                 : source.declaration,
             source.comment.empty() ? "A function template: its template arguments are deduced from a call's "
                                      "arguments, or given as " +
                                          name + "<...>(...)."
                                    : source.comment,
             template_url(name));
}

}  // namespace

void remember_cell_source(const std::string& code) {
  if (code.find_first_not_of(" \t\r\n") == std::string::npos || code.size() > kMaxCellSourceBytes) return;
  std::lock_guard<std::mutex> lock(cells_mutex);
  cell_sources.push_back(code);
  cell_source_bytes += code.size();
  while (cell_source_bytes > kMaxCellSourceBytes && !cell_sources.empty()) {
    cell_source_bytes -= cell_sources.front().size();
    cell_sources.pop_front();
  }
}

nlohmann::json inspect_symbol(const std::string& code, long cursor_pos, const std::string& include_dir) {
  const Symbol symbol = symbol_at(code, byte_at(code, cursor_pos < 0 ? 0 : cursor_pos));
  const Context ctx{code, include_dir};
  Found found;
  if (!symbol.name.empty()) {
    if (!symbol.object.empty()) {
      // A member: look in the class of the variable's type.
      if (const std::optional<CellVariable> var = cell_variable(symbol.object)) {
        if (TClass* cl = class_of_type(var->type)) {
          std::set<const TClass*> seen;
          collect_methods(cl, symbol.name, &seen, &found, ctx);
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
        describe_class(cl, &found, ctx);
      } else if (scope_end != std::string::npos) {
        // ns::function or Class::method.
        std::set<const TClass*> seen;
        collect_methods(TClass::GetClass(symbol.name.substr(0, scope_end).c_str()),
                        symbol.name.substr(scope_end + 2), &seen, &found, ctx);
      } else {
        // A function template: its declaration, not the specializations
        // calls made (`double twice<double>(double x)`).
        const bool is_template = gROOT->GetFunctionTemplate(symbol.name.c_str()) != nullptr;
        if (is_template) describe_template(symbol.name, ctx, &found);
        std::vector<TFunction*> overloads;
        auto add_function = [&](TFunction* f) {
          const std::string prototype = without_cling_namespaces(f->GetPrototype());
          if (!is_template || prototype.find(symbol.name + "<") == std::string::npos) overloads.push_back(f);
        };
        if (auto* functions = dynamic_cast<TListOfFunctions*>(gROOT->GetListOfGlobalFunctions(kFALSE)))
          if (TList* overloads = functions->GetListForObject(symbol.name.c_str()))
            for (TObject* o : *overloads) add_function(static_cast<TFunction*>(o));
        // Functions declared in cells live in cling's per-cell namespaces,
        // which that list leaves out: one, then each overload the cells
        // declare, asked for by its parameter types.
        if (overloads.empty() && !is_template)
          if (TFunction* f = gROOT->GetGlobalFunction(symbol.name.c_str(), nullptr, kFALSE)) {
            add_function(f);
            std::set<std::string> seen = {f->GetMangledName()};
            if (from_cell(f))
              for (const std::string& prototype : cell_prototypes(ctx, symbol.name))
                if (TFunction* g =
                        gROOT->GetGlobalFunctionWithPrototype(symbol.name.c_str(), prototype.c_str(), kFALSE))
                  if (seen.insert(g->GetMangledName()).second) add_function(g);
          }
        add_functions(ctx, symbol.name, overloads, &found);
      }
      if (found.plain.empty() && scope_end == std::string::npos) {
        if (const std::optional<CellVariable> var = cell_variable(symbol.name)) {
          found.add(var->full_type + " " + var->name, "");
          if (TClass* type = class_of_type(var->type)) describe_class(type, &found, ctx);
        }
      }
      if (found.plain.empty()) describe_template(symbol.name, ctx, &found);
    }
  }
  if (found.plain.empty()) return {{"found", false}, {"data", nlohmann::json::object()}};
  return {{"found", true}, {"data", {{"text/plain", found.plain}, {"text/markdown", found.markdown}}}};
}

}  // namespace host
