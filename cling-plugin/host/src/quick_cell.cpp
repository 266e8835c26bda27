#include "quick_cell.hpp"

#include <cctype>
#include <cstring>
#include <set>

#include "cpp_text.hpp"
#include "last_expression.hpp"

namespace host {
namespace {

// Longer cells are not what this saves time on, and the scan stays cheap.
constexpr std::size_t kMaxQuickCellBytes = 512;

// Keywords that name a fundamental type or qualify one: a statement starting
// with them declares variables.
bool type_keyword(const std::string& w) {
  static const std::set<std::string> words{"bool",     "char", "char8_t", "char16_t", "char32_t", "wchar_t",
                                           "short",    "int",  "long",    "float",    "double",   "signed",
                                           "unsigned", "auto", "const",   "volatile"};
  return words.count(w) != 0;
}

// A literal of a built-in type: digits (hex after 0x, binary after 0b), '.',
// separators, an exponent and the suffixes u, l, f. Not 10ms, 2.0i, 1_k:
// user-defined literals call (template) operators.
bool plain_number(const std::string& t) {
  const bool hex = t.size() > 1 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X');
  const bool binary = t.size() > 1 && t[0] == '0' && (t[1] == 'b' || t[1] == 'B');
  for (std::size_t k = 0; k < t.size(); ++k) {
    const char ch = t[k];
    if (std::isdigit(static_cast<unsigned char>(ch)) || ch == '.' || ch == '\'' || ch == '+' || ch == '-')
      continue;
    if ((hex || binary) && k == 1) continue;  // the x or b
    if (std::strchr("uUlL", ch)) continue;
    if (hex ? (std::isxdigit(static_cast<unsigned char>(ch)) || ch == 'p' || ch == 'P')
            : !binary && std::strchr("eEfF", ch))
      continue;
    return false;
  }
  return true;
}

// Keywords that stand for a value: true, false, nullptr, sizeof(...).
bool value_keyword(const std::string& w) {
  return w == "true" || w == "false" || w == "nullptr" || w == "sizeof";
}

// Operator characters a quick cell may use. Not '.', '[', ']', '{', '}',
// '#', and "::" and "->" are refused where they appear.
bool operator_char(char c) { return c != '\0' && std::strchr("=+-*/%(),;!~^|&<>?:", c) != nullptr; }

}  // namespace

bool quick_cell(const std::string& code, const NameLookup& lookup) {
  if (code.size() > kMaxQuickCellBytes) return false;
  std::set<std::string> declared;  // names the cell declares (their types are fundamental)
  bool statement_start = true;     // the next token starts a statement
  bool declaration = false;        // the statement declares variables
  bool expect_declarator = false;  // a name here is a variable being declared
  int depth = 0;                   // parentheses
  enum { kNothing, kOperand, kOperator, kClose, kEnd } last = kNothing;  // the last token's kind
  bool seen_operand = false;
  const std::size_t n = code.size();
  std::size_t i = 0;
  while (true) {
    i = skip_space_and_comments(code, i);
    if (i >= n) break;
    const char c = code[i];
    if (c == '"' || c == '\'') {  // a string or character literal
      const std::size_t end = skip_literal_or_comment(code, i);
      if (end <= i || end > n || code[end - 1] != c) return false;  // unterminated
      if (end < n && identifier_char(code[end])) return false;      // "abc"s: a literal operator
      i = end;
      statement_start = expect_declarator = false;
      last = kOperand, seen_operand = true;
      continue;
    }
    if (std::isdigit(static_cast<unsigned char>(c)) ||
        (c == '.' && i + 1 < n && std::isdigit(static_cast<unsigned char>(code[i + 1])))) {
      const std::size_t start = i;
      ++i;
      while (i < n && (identifier_char(code[i]) || code[i] == '.' || code[i] == '\'' ||
                       ((code[i] == '+' || code[i] == '-') && std::strchr("eEpP", code[i - 1]))))
        ++i;
      if (!plain_number(code.substr(start, i - start))) return false;  // 10ms, 2.0i, 123_k
      statement_start = expect_declarator = false;
      last = kOperand, seen_operand = true;
      continue;
    }
    if (identifier_char(c)) {
      std::size_t end = i;
      while (end < n && identifier_char(code[end])) ++end;
      const std::string word = code.substr(i, end - i);
      if (end < n && (code[end] == '"' || code[end] == '\'')) return false;  // u8"...", L'x': prefixes
      const std::size_t next = skip_space_and_comments(code, end);
      const bool called = next < n && code[next] == '(';
      int variable = -1;  // looked up once, when needed
      auto fundamental_variable = [&] {
        if (variable < 0) variable = lookup.fundamental_variable(word) ? 1 : 0;
        return variable == 1;
      };
      const bool names_a_type = type_keyword(word) || (statement_start && !called && !declared.count(word) &&
                                                       !value_keyword(word) && !fundamental_variable() &&
                                                       lookup.fundamental_type(word));
      if (names_a_type) {
        if (statement_start) declaration = true;
        if (declaration && depth == 0) expect_declarator = true;
      } else if (value_keyword(word)) {
        if (expect_declarator) return false;
      } else if (called) {
        return false;  // a call: it may instantiate a template
      } else if (expect_declarator && depth == 0) {
        declared.insert(word);
        expect_declarator = false;
      } else if (declared.count(word) || fundamental_variable()) {
        expect_declarator = false;
      } else {
        return false;
      }
      statement_start = false;
      last = kOperand, seen_operand = true;
      i = end;
      continue;
    }
    if (!operator_char(c)) return false;  // '.', '[', '{', '#', ...
    const char next = i + 1 < n ? code[i + 1] : '\0';
    if (c == ':' && next == ':') return false;
    if (c == '-' && next == '>') return false;
    // Digraphs: <: :> <% %> %: are [ ] { } #.
    if ((c == '<' && (next == ':' || next == '%')) || (c == ':' && next == '>') ||
        (c == '%' && (next == '>' || next == ':')))
      return false;
    if (c == '(') {
      if (expect_declarator) return false;  // int (x), a function's declarator
      if (last == kClose) return false;     // (f)(1): a call
      ++depth;
    } else if (c == ')') {
      if (--depth < 0) return false;
    } else if (c == ';') {
      if (depth != 0) return false;
      statement_start = true;
      declaration = expect_declarator = false;
      last = kEnd;
      ++i;
      continue;
    } else if (c == ',') {
      expect_declarator = declaration && depth == 0;
      statement_start = false;
      last = kOperator;
      ++i;
      continue;
    } else if ((c == '*' || c == '&') && expect_declarator) {
      last = kOperator;
      ++i;  // int* p: still the declarator
      continue;
    }
    expect_declarator = false;
    statement_start = false;
    // x++ and x-- end an operand; any other operator wants one after it.
    const bool postfix = (c == '+' || c == '-') && next == c && last == kOperand;
    last = c == ')' ? kClose : postfix ? kOperand : kOperator;
    seen_operand = seen_operand || postfix;
    i += postfix ? 2 : 1;
  }
  // A cell ending in an operator is incomplete: cling's error would point
  // past the pragma (line numbers are kept only for complete cells).
  return (last == kOperand || last == kClose || last == kEnd) && depth == 0 && seen_operand;
}

}  // namespace host
