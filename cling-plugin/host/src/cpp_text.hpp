#pragma once
// Lexical helpers over C++ source text (a cell, a line of a header), shared
// by the host's scans: they read text, not tokens from clang.
#include <cctype>
#include <string>

namespace host {

// A character of an identifier: a letter or a digit (std::isalnum) or '_';
// `ab1_` is one word, `a.b` two. Not '$' (clang's extension). Whether a word
// may start with it (not a digit) is the caller's test.
inline bool identifier_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// The first component of a qualified name as a user types it first:
// `TTreeFormula`, `ROOT` of ROOT::RDataFrame, `vector` of std::vector<int>
// (ROOT's prompt has `using namespace std`).
inline std::string first_component(std::string name) {
  if (name.rfind("std::", 0) == 0) name = name.substr(5);
  std::size_t end = 0;
  while (end < name.size() && identifier_char(name[end])) ++end;
  name.resize(end);
  return name;
}

}  // namespace host
