#include "last_expression.hpp"

#include <algorithm>
#include <cctype>
#include <set>

#include "cpp_text.hpp"

namespace host {
namespace {

bool ident_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }

std::string trim_right(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

// 1'000 or 0xFF'FF: the quote is inside a number (the run of letters and
// digits before it starts with a digit), not a character literal.
bool digit_separator(const std::string& s, std::size_t i) {
  std::size_t b = i;
  while (b > 0 && identifier_char(s[b - 1])) --b;
  return b < i && std::isdigit(static_cast<unsigned char>(s[b]));
}

// Keywords that open a statement or a declaration: such a tail is not an
// expression whose value the cell shows.
const std::set<std::string>& statement_keywords() {
  static const std::set<std::string> words = {
      "alignas",      "asm",       "auto",      "bool",          "break",     "case",     "catch",
      "char",         "char8_t",   "char16_t",  "char32_t",      "class",     "concept",  "const",
      "consteval",    "constexpr", "constinit", "continue",      "co_return", "decltype", "default",
      "delete",       "do",        "double",    "else",          "enum",      "explicit", "export",
      "extern",       "float",     "for",       "friend",        "goto",      "if",       "inline",
      "int",          "long",      "mutable",   "namespace",     "register",  "requires", "return",
      "short",        "signed",    "static",    "static_assert", "struct",    "switch",   "template",
      "thread_local", "throw",     "try",       "typedef",       "typename",  "union",    "unsigned",
      "using",        "virtual",   "void",      "volatile",      "wchar_t",   "while",    "private",
      "public",       "protected", "operator"};
  return words;
}

// `Name`, `ns::Name`, `Name<...>` (balanced), then `*`/`&`/`const`, then a
// second name: a declaration such as `TH1F h("h", "", 10, 0, 1)`.
bool starts_with_declaration(const std::string& e, const std::function<bool(const std::string&)>& is_type) {
  std::size_t i = 0;
  auto name = [&]() {
    if (i >= e.size() || !ident_start(e[i])) return false;
    while (i < e.size() && identifier_char(e[i])) ++i;
    return true;
  };
  if (e.compare(0, 2, "::") == 0) i = 2;
  if (!name()) return false;
  for (;;) {
    i = skip_space_and_comments(e, i);
    if (e.compare(i, 2, "::") == 0) {
      i = skip_space_and_comments(e, i + 2);
      if (!name()) return false;
      continue;
    }
    if (i < e.size() && e[i] == '<') {
      int depth = 0;
      for (; i < e.size(); ++i) {
        if (e[i] == '<' || e[i] == '(')
          ++depth;
        else if (e[i] == '>' || e[i] == ')') {
          if (--depth == 0) break;
        } else if (e[i] == ';' || e[i] == '{')
          return false;
      }
      if (i >= e.size()) return false;
      ++i;
      continue;
    }
    break;
  }
  const std::string type = e.substr(0, i);
  bool indirection = false;
  for (;;) {
    i = skip_space_and_comments(e, i);
    if (i < e.size() && (e[i] == '*' || e[i] == '&')) {
      indirection = true;
      ++i;
      continue;
    }
    if (e.compare(i, 5, "const") == 0 && (i + 5 >= e.size() || !identifier_char(e[i + 5]))) {
      i += 5;
      continue;
    }
    break;
  }
  if (!(i < e.size() && ident_start(e[i]))) return false;
  // `a * b`: a product unless `a` is a type (templates, `T<...> * p`, are types).
  return !indirection || type.find('<') != std::string::npos || is_type(trim_right(type));
}

// Whether the '{' at `open` follows a name that is not a keyword or a
// function's qualifier (`P{`, `ns::P {`), or a template's '>' (`V<int>{`):
// a braced initialiser, not a block.
bool braced_initialiser(const std::string& code, std::size_t open) {
  static const std::set<std::string> qualifiers = {"noexcept", "override", "final"};
  std::size_t end = open;
  while (end > 0 && std::isspace(static_cast<unsigned char>(code[end - 1]))) --end;
  if (end == 0) return false;
  if (code[end - 1] == '>') return end < 2 || code[end - 2] != '-';
  std::size_t begin = end;
  while (begin > 0 && identifier_char(code[begin - 1])) --begin;
  if (begin == end || !ident_start(code[begin])) return false;
  const std::string word = code.substr(begin, end - begin);
  return !statement_keywords().count(word) && !qualifiers.count(word);
}

bool looks_like_expression(const std::string& e, const std::function<bool(const std::string&)>& is_type) {
  if (e.empty()) return false;
  const char c = e[0];
  if (ident_start(c)) {
    std::size_t end = 0;
    while (end < e.size() && identifier_char(e[end])) ++end;
    const std::string first = e.substr(0, end);
    if (statement_keywords().count(first)) return false;
    // A macro call (R__LOAD_LIBRARY(...), TORCHCLAD_MODEL(...)) may expand
    // to a declaration or a pragma, which only works at the top level.
    const bool macro_name =
        first.rfind("R__", 0) == 0 ||
        (first.find('_') != std::string::npos && std::none_of(first.begin(), first.end(), [](char ch) {
           return std::islower(static_cast<unsigned char>(ch));
         }));
    if (macro_name && skip_space_and_comments(e, end) < e.size() && e[skip_space_and_comments(e, end)] == '(')
      return false;
    return !starts_with_declaration(e, is_type);
  }
  if (e.compare(0, 2, "::") == 0) return !starts_with_declaration(e, is_type);
  return std::isdigit(static_cast<unsigned char>(c)) || c == '"' || c == '\'' || c == '(' || c == '*' ||
         c == '&' || c == '!' || c == '-' || c == '+' || c == '~' || c == '[';
}

}  // namespace

std::size_t skip_literal_or_comment(const std::string& s, std::size_t i) {
  const std::size_t n = s.size();
  if (s.compare(i, 2, "//") == 0) {
    while (i < n && s[i] != '\n') ++i;
    return i;
  }
  if (s.compare(i, 2, "/*") == 0) {
    const std::size_t end = s.find("*/", i + 2);
    return end == std::string::npos ? n : end + 2;
  }
  if (s[i] == 'R' && i + 1 < n && s[i + 1] == '"' &&
      (i == 0 || !identifier_char(s[i - 1]) || s[i - 1] == '8' || s[i - 1] == 'u' || s[i - 1] == 'U' ||
       s[i - 1] == 'L')) {
    const std::size_t open = s.find('(', i + 2);
    if (open == std::string::npos) return n;
    const std::string close = ")" + s.substr(i + 2, open - i - 2) + "\"";
    const std::size_t end = s.find(close, open + 1);
    return end == std::string::npos ? n : end + close.size();
  }
  if (s[i] == '"' || (s[i] == '\'' && !digit_separator(s, i))) {
    const char quote = s[i];
    for (++i; i < n && s[i] != quote && s[i] != '\n'; ++i)
      if (s[i] == '\\') ++i;
    return i < n ? i + 1 : n;
  }
  return i;
}

std::size_t skip_space_and_comments(const std::string& s, std::size_t i) {
  for (;;) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    if (i < s.size() && (s.compare(i, 2, "//") == 0 || s.compare(i, 2, "/*") == 0)) {
      i = skip_literal_or_comment(s, i);
      continue;
    }
    return i;
  }
}

SplitCell split_last_expression(const std::string& code,
                                const std::function<bool(const std::string&)>& is_type) {
  std::size_t boundary = 0;    // where the last top-level statement ended
  std::size_t brace_open = 0;  // the last '{' at depth 0
  int depth = 0;
  bool line_start = true;
  for (std::size_t i = 0; i < code.size();) {
    const char c = code[i];
    if (line_start && depth == 0 && c == '#') {  // a preprocessor line, with its continuations
      while (i < code.size() && !(code[i] == '\n' && code[i - 1] != '\\')) ++i;
      boundary = i;
      continue;
    }
    if (c == '\n')
      line_start = true;
    else if (!std::isspace(static_cast<unsigned char>(c)))
      line_start = false;
    const std::size_t after = skip_literal_or_comment(code, i);
    if (after != i) {
      i = after;
      continue;
    }
    if (c == '(' || c == '[' || c == '{') {
      if (c == '{' && depth == 0) brace_open = i;
      ++depth;
    } else if (c == ')' || c == ']' || c == '}') {
      if (--depth < 0) return {code, ""};  // unbalanced: cling will say what is wrong
      if (c == '}' && depth == 0) {
        // A '}' ends a statement (a function, a loop) only when nothing
        // follows it on its line: `[]{ return 1; }()` is one expression.
        // Nor does the cell's last '}' when its '{' is a braced initialiser,
        // after a type's name: `P{1} == P{2}`, `std::vector<int>{1, 2}`.
        std::size_t j = i + 1;
        while (j < code.size() && (code[j] == ' ' || code[j] == '\t' || code[j] == '\r')) ++j;
        // Only at the very end of the cell: `P{1}\n1+1` is a statement, then a value.
        const bool cell_ends = skip_space_and_comments(code, i + 1) >= code.size();
        if ((j >= code.size() || code[j] == '\n' || code.compare(j, 2, "//") == 0) &&
            !(cell_ends && braced_initialiser(code, brace_open)))
          boundary = i + 1;
      }
    } else if (c == ';' && depth == 0) {
      boundary = i + 1;
    }
    ++i;
  }
  if (depth != 0) return {code, ""};
  const std::size_t start = skip_space_and_comments(code, boundary);
  if (start >= code.size()) return {code, ""};
  // The expression without trailing blanks and comments (a line comment
  // would swallow what cling puts after the expression).
  std::size_t end = start;
  for (std::size_t i = start; i < code.size();) {
    const std::size_t after = skip_literal_or_comment(code, i);
    const bool comment = after != i && code[i] == '/';
    if (after != i) {
      if (!comment) end = after;
      i = after;
      continue;
    }
    if (!std::isspace(static_cast<unsigned char>(code[i]))) end = i + 1;
    ++i;
  }
  std::string expression = code.substr(start, end - start);
  if (!looks_like_expression(expression, is_type)) return {code, ""};
  return {code.substr(0, start), expression};
}

}  // namespace host
