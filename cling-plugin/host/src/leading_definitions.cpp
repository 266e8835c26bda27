#include "leading_definitions.hpp"

#include <algorithm>
#include <cctype>
#include <set>

#include "last_expression.hpp"

namespace host {
namespace {

constexpr std::size_t kNone = std::string::npos;

bool word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

std::string word_at(const std::string& s, std::size_t i) {
  std::size_t end = i;
  while (end < s.size() && word_char(s[end])) ++end;
  return s.substr(i, end - i);
}

// Keywords that start a declaration cling also takes at global scope.
bool declaration_keyword(const std::string& word) {
  static const std::set<std::string> words = {"namespace", "template", "extern", "using", "typedef",
                                              "struct",    "class",    "union",  "enum"};
  return words.count(word) != 0;
}

bool class_key(const std::string& word) {
  return word == "struct" || word == "class" || word == "union" || word == "enum";
}

// Keywords before a '(' ... '{' that is a statement, not a function.
bool statement_keyword(const std::string& word) {
  static const std::set<std::string> words = {"if",     "for",      "while",    "switch",    "do",
                                              "else",   "try",      "catch",    "return",    "throw",
                                              "case",   "default",  "goto",     "new",       "delete",
                                              "sizeof", "co_await", "co_yield", "co_return", "static_assert"};
  return words.count(word) != 0;
}

// One top-level declaration or statement: up to a ';' at depth 0, or to the
// '}' that closes a '{' at depth 0 (with a ';' right after it), unless '{' or
// ',' follows it: `S::S(int a) : a_{a}, b_{a} {}` goes on to the body.
struct Unit {
  std::size_t brace = kNone;       // the first '{' at depth 0
  std::size_t end = kNone;         // after the unit; kNone: unbalanced or unfinished
  bool named_after_brace = false;  // `struct P {...} p;` declares a variable too
};

Unit scan_unit(const std::string& code, std::size_t start) {
  Unit unit;
  int depth = 0;
  for (std::size_t i = start; i < code.size();) {
    const std::size_t after = skip_literal_or_comment(code, i);
    if (after != i) {
      i = after;
      continue;
    }
    const char c = code[i];
    if (c == '(' || c == '[' || c == '{') {
      if (c == '{' && depth == 0 && unit.brace == kNone) unit.brace = i;
      ++depth;
    } else if (c == ')' || c == ']' || c == '}') {
      if (--depth < 0) return Unit{};
      if (c == '}' && depth == 0) {
        const std::size_t next = skip_space_and_comments(code, i + 1);
        const bool more = next < code.size() && (code[next] == '{' || code[next] == ',');
        if (!more) {
          const bool semi = next < code.size() && code[next] == ';';
          unit.end = semi ? next + 1 : i + 1;
          unit.named_after_brace = !semi && next < code.size() && word_char(code[next]);
          return unit;
        }
      }
    } else if (c == ';' && depth == 0) {
      unit.end = i + 1;
      return unit;
    }
    ++i;
  }
  return unit;
}

// An '=' outside brackets: `auto f = [](int a) { ... };` is a variable.
bool assigns(const std::string& head) {
  int depth = 0;
  for (std::size_t i = 0; i < head.size();) {
    const std::size_t after = skip_literal_or_comment(head, i);
    if (after != i) {
      i = after;
      continue;
    }
    const char c = head[i++];
    if (c == '(' || c == '[')
      ++depth;
    else if (c == ')' || c == ']')
      --depth;
    else if (c == '=' && depth == 0)
      return true;
  }
  return false;
}

// The word `operator` in a head: `bool operator==(`, `S operator()(`.
bool names_operator(const std::string& head) {
  for (std::size_t at = head.find("operator"); at != kNone; at = head.find("operator", at + 1))
    if ((at == 0 || !word_char(head[at - 1])) && !word_char(head[std::min(at + 8, head.size() - 1)]))
      return true;
  return false;
}

// What comes before a body is a function's: a name after a return type or a
// scope before the parameter list (`int f(`, `std::vector<int> ns::f(`,
// `S::S(`, `bool operator==(`), not a call or a macro (`f(`, `FOREACH(`,
// `a.f(`, `p->f(`).
bool function_head(const std::string& head) {
  const bool op = names_operator(head);
  if (statement_keyword(word_at(head, 0)) || (assigns(head) && !op)) return false;
  if (op) return word_at(head, 0) != "operator";
  std::string before = head.substr(0, head.find('('));
  if (before.size() == head.size()) return false;  // no parameter list
  while (!before.empty() && std::isspace(static_cast<unsigned char>(before.back()))) before.pop_back();
  std::size_t name = before.size();
  while (name > 0 && word_char(before[name - 1])) --name;
  if (name == 0 || name == before.size()) return false;  // a call, or no name
  const char prev = before[name - 1];
  return prev != '.' && !(prev == '>' && name >= 2 && before[name - 2] == '-');
}

// Whether the unit at `start` is one cling keeps global when it comes first.
bool is_definition(const std::string& code, std::size_t start, const Unit& unit) {
  if (unit.end == kNone) return false;
  const std::string first = word_at(code, start);
  if (first.empty()) return false;  // `[`, `(`, `::`, `#`, a literal: a statement or a directive
  if (declaration_keyword(first)) return !(class_key(first) && unit.named_after_brace);
  return unit.brace != kNone && function_head(code.substr(start, unit.brace - start));
}

}  // namespace

std::vector<std::string> split_leading_definitions(const std::string& code) {
  std::vector<std::string> pieces;
  std::size_t piece_start = 0;
  for (;;) {
    const std::size_t start = skip_space_and_comments(code, piece_start);
    if (start >= code.size()) break;
    const Unit unit = scan_unit(code, start);
    if (!is_definition(code, start, unit)) break;
    pieces.push_back(code.substr(piece_start, unit.end - piece_start));
    piece_start = unit.end;
  }
  const std::string rest = code.substr(piece_start);
  if (pieces.empty() || skip_space_and_comments(rest, 0) < rest.size()) pieces.push_back(rest);
  // Blank lines in place of the pieces before: cling's line numbers are the cell's.
  std::size_t lines = 0;
  for (std::string& piece : pieces) {
    const std::size_t own = std::count(piece.begin(), piece.end(), '\n');
    piece.insert(0, lines, '\n');
    lines += own;
  }
  return pieces;
}

}  // namespace host
