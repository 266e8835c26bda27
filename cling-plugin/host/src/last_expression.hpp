#pragma once
// The value of a cell: the expression its code ends with, without ';'.
// ROOT's prompt and notebook kernel print it (cling's value printer, on
// stdout); the host evaluates it on its own instead, so that its text goes
// to the notebook as the cell's execute_result and ROOT objects can be drawn.
#include <functional>
#include <string>

namespace host {

struct SplitCell {
  std::string statements;  // everything before the last expression (may be blank)
  std::string expression;  // the last expression, "" when the cell has none
};

// A lexical scan (comments, string/char/raw-string literals, brackets): the
// expression is the text after the last top-level ';' (or a '}' that ends a
// line, or a preprocessor line), when it looks like an expression. It does
// not when it starts with a keyword that opens a statement or declaration
// (int, auto, for, return, ...), with two names in a row (`TH1F h(...)`, a
// declaration), with `T * x` or `T & x` where is_type(T) (`a * b` is a
// product otherwise), or with something other than a name, literal, '(',
// '*', '&', '!', '-', '+', '~', '[' or '::'. Then expression is "" and the
// cell runs whole, as before (cling prints a value itself).
SplitCell split_last_expression(const std::string& code,
                                const std::function<bool(const std::string&)>& is_type);

// The lexical steps of the scan, shared with leading_definitions.cpp and
// inspect.cpp.
// Skips a comment, string, character or raw string literal starting at i;
// returns the index after it, or i when there is none at i.
std::size_t skip_literal_or_comment(const std::string& s, std::size_t i);
// Skips blanks and comments from i; returns the index after them.
std::size_t skip_space_and_comments(const std::string& s, std::size_t i);

}  // namespace host
