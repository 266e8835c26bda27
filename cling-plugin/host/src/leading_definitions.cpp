#include "leading_definitions.hpp"

#include <algorithm>
#include <cctype>
#include <set>

#include "cpp_text.hpp"
#include "last_expression.hpp"

namespace host {
namespace {

constexpr std::size_t kNone = std::string::npos;

std::string word_at(const std::string& s, std::size_t i) {
  std::size_t end = i;
  while (end < s.size() && identifier_char(s[end])) ++end;
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
// '}' that closes a '{' at depth 0 (with a ';' right after it), unless ',' or
// `catch` follows it, or '{' follows a constructor's braced member
// initialiser: `S::S(int a) : a_{a}, b_{a} {}` goes on to the body,
// `int x{1}, y{2};` to its ';', `f() try {...} catch (...) {...}` to its last
// handler; `int f() {...}` then a block `{...}` are two units.
struct Unit {
  std::size_t brace = kNone;       // the first '{' at depth 0
  std::size_t end = kNone;         // after the unit; kNone: unbalanced or unfinished
  int braces = 0;                  // how many '{' at depth 0
  bool named_after_brace = false;  // `struct P {...} p;` declares a variable too
};

Unit scan_unit(const std::string& code, std::size_t start) {
  Unit unit;
  int depth = 0;
  bool colon = false;        // a ':' (not '::') at depth 0 before the first '{': `S::S(int a) : a_{a}`
  bool initialiser = false;  // the '{' at depth 0 just opened follows a name after that ':' (`a_{`)
  char last = 0;             // the last character at depth 0 that is not a space
  for (std::size_t i = start; i < code.size();) {
    const std::size_t after = skip_literal_or_comment(code, i);
    if (after != i) {
      if (depth == 0 && !std::isspace(static_cast<unsigned char>(code[i]))) last = code[i];
      i = after;
      continue;
    }
    const char c = code[i];
    if (depth == 0 && c == ':' && unit.braces == 0) {
      if (i + 1 < code.size() && code[i + 1] == ':')
        ++i;  // `::`
      else
        colon = true;
    }
    if (c == '(' || c == '[' || c == '{') {
      if (c == '{' && depth == 0) {
        if (unit.braces++ == 0) unit.brace = i;
        initialiser = colon && (identifier_char(last) || last == '>');
      }
      ++depth;
    } else if (c == ')' || c == ']' || c == '}') {
      if (--depth < 0) return Unit{};
      if (c == '}' && depth == 0) {
        const std::size_t next = skip_space_and_comments(code, i + 1);
        const bool more = next < code.size() && ((code[next] == '{' && initialiser) || code[next] == ',' ||
                                                 word_at(code, next) == "catch");
        if (!more) {
          const bool semi = next < code.size() && code[next] == ';';
          unit.end = semi ? next + 1 : i + 1;
          unit.named_after_brace = !semi && next < code.size() && identifier_char(code[next]);
          return unit;
        }
      }
    } else if (c == ';' && depth == 0) {
      unit.end = i + 1;
      return unit;
    }
    if (depth == 0 && !std::isspace(static_cast<unsigned char>(c))) last = c;
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

// Where the word `operator` is in a head (`bool operator==(`, `S operator()(`,
// `bool Q::operator<(`), or kNone.
std::size_t names_operator(const std::string& head) {
  for (std::size_t at = head.find("operator"); at != kNone; at = head.find("operator", at + 1))
    if ((at == 0 || !identifier_char(head[at - 1])) &&
        (at + 8 >= head.size() || !identifier_char(head[at + 8])))
      return at;
  return kNone;
}

// The '(' of a function head's parameter list: the first outside template
// arguments (`std::function<int(int)> f(`), or kNone.
std::size_t parameters_open(const std::string& head) {
  int angle = 0;
  for (std::size_t i = 0; i < head.size();) {
    const std::size_t after = skip_literal_or_comment(head, i);
    if (after != i) {
      i = after;
      continue;
    }
    const char c = head[i];
    if (c == '<')
      ++angle;
    else if (c == '>' && angle > 0 && !(i > 0 && head[i - 1] == '-'))
      --angle;
    else if (c == '(' && angle == 0)
      return i;
    ++i;
  }
  return kNone;
}

// The bracket that closes the one at `open`, or kNone.
std::size_t closing_bracket(const std::string& s, std::size_t open) {
  int depth = 0;
  for (std::size_t i = open; i < s.size();) {
    const std::size_t after = skip_literal_or_comment(s, i);
    if (after != i) {
      i = after;
      continue;
    }
    const char c = s[i];
    if (c == '(' || c == '[' || c == '{')
      ++depth;
    else if ((c == ')' || c == ']' || c == '}') && --depth == 0)
      return i;
    ++i;
  }
  return kNone;
}

// After the attributes a declaration starts with (`[[nodiscard]] int f()`).
std::size_t skip_attributes(const std::string& code, std::size_t i) {
  while (code.compare(i, 2, "[[") == 0) {
    const std::size_t close = closing_bracket(code, i);
    if (close == kNone) return i;
    i = skip_space_and_comments(code, close + 1);
  }
  return i;
}

// `S::S` (or `ns::S<T>::S`) before the parameter list: a constructor defined
// out of its class, the only function with member initialisers.
bool names_constructor(const std::string& before) {
  auto skip_back_space = [&](std::size_t i) {
    while (i > 0 && std::isspace(static_cast<unsigned char>(before[i - 1]))) --i;
    return i;
  };
  const std::size_t end = before.size();
  std::size_t name = end;
  while (name > 0 && identifier_char(before[name - 1])) --name;
  std::size_t i = skip_back_space(name);
  if (name == end || i < 2 || before.compare(i - 2, 2, "::") != 0) return false;
  i = skip_back_space(i - 2);
  if (i > 0 && before[i - 1] == '>') {  // `S<T>::S`
    int depth = 0;
    do {
      depth += before[i - 1] == '>' ? 1 : before[i - 1] == '<' ? -1 : 0;
      --i;
    } while (i > 0 && depth > 0);
    if (depth != 0) return false;
    i = skip_back_space(i);
  }
  std::size_t cls = i;
  while (cls > 0 && identifier_char(before[cls - 1])) --cls;
  return i - cls == end - name && before.compare(cls, i - cls, before, name, end - name) == 0;
}

// What stands between a function's parameter list and its body.
struct Tail {
  bool valid = false;         // qualifiers, `-> type`, `try`, a constructor's `: initialisers`
  bool plain = false;         // nothing or `const` before the body or the `:` (read by cling, below)
  bool try_block = false;     // `f() try {...} catch (...) {...}`
  bool initialisers = false;  // `S::S(int x) : a(x) {`
};

Tail read_tail(const std::string& head, std::size_t from, bool constructor) {
  static const std::set<std::string> qualifiers = {"const",    "volatile", "noexcept", "throw",
                                                   "override", "final",    "mutable",  "__attribute__"};
  Tail tail;
  int words = 0;
  bool only_const = true;
  for (std::size_t i = skip_space_and_comments(head, from);; i = skip_space_and_comments(head, i)) {
    if (i >= head.size() || (head[i] == ':' && head.compare(i, 2, "::") != 0)) {
      tail.initialisers = i < head.size();
      tail.valid = constructor || !tail.initialisers;  // `c ? f(x) : S{y}` is no function
      tail.plain = !tail.try_block && (words == 0 || (words == 1 && only_const));
      return tail;
    }
    if (head.compare(i, 2, "->") == 0) {  // a trailing return type: the rest
      tail.valid = true;
      return tail;
    }
    if (head[i] == '&') {  // `f() &`, `f() &&`
      ++i;
      only_const = false;
      continue;
    }
    const std::string word = word_at(head, i);
    if (word == "try") {
      tail.try_block = true;
    } else if (!qualifiers.count(word)) {
      return tail;  // `f(1) << x`, `f(x) MACRO`: not a function head
    }
    ++words;
    only_const = only_const && word == "const";
    i = skip_space_and_comments(head, i + word.size());
    if (word != "try" && word != "const" && i < head.size() && head[i] == '(') {  // noexcept(...)
      const std::size_t close = closing_bracket(head, i);
      if (close == kNone) return tail;
      i = close + 1;
    }
  }
}

// What comes before a body is a function's: a name after a return type or a
// scope before the parameter list (`int f(`, `std::vector<int> ns::f(`,
// `S::S(`, `bool operator==(`), not a call or a macro (`f(`, `FOREACH(`,
// `a.f(`, `p->f(`), and after it only qualifiers, `-> type`, `try` or a
// constructor's member initialisers (not `f(1) << S{2}.size()`).
struct FunctionHead {
  bool function = false;
  // cling's wrap point (cling::utils::getWrapPoint) takes the definition
  // whole: it reads `name(...) {`, `name(...) const {` and `S::S(...) : ... {`
  // up to the first '{', so not `noexcept`, `try` nor `S::S(int x) : a{x} {}`
  // (whose body it takes to be `{x}`).
  bool cling_reads_it = true;
};

FunctionHead function_head(const std::string& head, const Unit& unit) {
  FunctionHead result;
  const std::size_t op = names_operator(head);
  if (statement_keyword(word_at(head, 0)) || (assigns(head) && op == kNone)) return result;
  if (op != kNone) {
    // The parameter list follows the operator's symbol (`()` is one).
    std::size_t at = skip_space_and_comments(head, op + 8);
    if (head.compare(at, 2, "()") == 0) at += 2;
    const std::size_t open = head.find('(', at);
    const std::size_t close = open == kNone ? kNone : closing_bracket(head, open);
    if (close == kNone || word_at(head, 0) == "operator") return result;
    const Tail tail = read_tail(head, close + 1, false);
    result.function = tail.valid;
    // Nor does cling's wrap point read a literal operator (`operator""_w`).
    result.cling_reads_it = tail.plain && unit.braces == 1 && head.compare(at, 2, "\"\"") != 0;
    return result;
  }
  const std::size_t open = parameters_open(head);
  if (open == kNone) return result;  // no parameter list
  std::string before = head.substr(0, open);
  while (!before.empty() && std::isspace(static_cast<unsigned char>(before.back()))) before.pop_back();
  std::size_t name = before.size();
  while (name > 0 && identifier_char(before[name - 1])) --name;
  if (name == 0 || name == before.size()) return result;  // a call, or no name
  const char prev = before[name - 1];
  if (prev == '.' || (prev == '>' && name >= 2 && before[name - 2] == '-')) return result;
  const std::size_t close = closing_bracket(head, open);
  if (close == kNone) return result;
  const Tail tail = read_tail(head, close + 1, names_constructor(before));
  result.function = tail.valid;
  result.cling_reads_it = tail.plain && unit.braces == 1;
  return result;
}

// Whether the unit at `start` is one cling keeps global when it comes first,
// and whether cling's wrap point would cut it short.
struct Definition {
  bool definition = false;
  bool misread_by_wrap_point = false;
};

Definition definition_at(const std::string& code, std::size_t start, const Unit& unit) {
  Definition result;
  if (unit.end == kNone) return result;
  start = skip_attributes(code, start);
  const std::string first = word_at(code, start);
  if (first.empty()) return result;  // `[`, `(`, `::`, `#`, a literal: a statement or a directive
  if (declaration_keyword(first)) {
    result.definition = !(class_key(first) && unit.named_after_brace);
    return result;
  }
  if (unit.brace == kNone) return result;
  const FunctionHead head = function_head(code.substr(start, unit.brace - start), unit);
  result.definition = head.function;
  result.misread_by_wrap_point = head.function && !head.cling_reads_it;
  return result;
}

}  // namespace

std::vector<CellPiece> split_leading_definitions(const std::string& code) {
  std::vector<CellPiece> pieces;
  std::size_t piece_start = 0;
  for (;;) {
    const std::size_t start = skip_space_and_comments(code, piece_start);
    if (start >= code.size()) break;
    const Unit unit = scan_unit(code, start);
    const Definition definition = definition_at(code, start, unit);
    if (!definition.definition) break;
    pieces.push_back({code.substr(piece_start, unit.end - piece_start), definition.misread_by_wrap_point});
    piece_start = unit.end;
  }
  const std::string rest = code.substr(piece_start);
  if (pieces.empty() || skip_space_and_comments(rest, 0) < rest.size()) pieces.push_back({rest, false});
  // Blank lines in place of the pieces before: cling's line numbers are the cell's.
  std::size_t lines = 0;
  for (CellPiece& piece : pieces) {
    const std::size_t own = std::count(piece.code.begin(), piece.code.end(), '\n');
    piece.code.insert(0, lines, '\n');
    lines += own;
  }
  return pieces;
}

}  // namespace host
