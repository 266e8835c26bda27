#pragma once
// Lexical helpers over C++ source text (a cell, a line of a header), shared
// by the host's scans: they read text, not tokens from clang.
#include <cctype>

namespace host {

// A character of an identifier: a letter or a digit (std::isalnum) or '_';
// `ab1_` is one word, `a.b` two. Not '$' (clang's extension). Whether a word
// may start with it (not a digit) is the caller's test.
inline bool identifier_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

}  // namespace host
