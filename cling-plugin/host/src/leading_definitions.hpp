#pragma once
// A cell that starts with several definitions. cling keeps only the first
// one global: cling::utils::getWrapPoint stops after the first function or
// class definition and wraps all that follows in a function, where a second
// function definition is "function definition is not allowed here" (ROOT's
// prompt and notebook kernel do the same with such a cell). So the host gives
// each leading definition to ProcessLine on its own, then the rest.
#include <string>
#include <vector>

namespace host {

// A piece of a cell, and how it goes to cling.
struct CellPiece {
  std::string code;
  // A function definition that cling's wrap point would cut short: it takes
  // the first '{...}' after the parameter list, or after a constructor's ':',
  // for the body, so not `S::S(int x) : a{x} {}`, `f() try {...} catch (...)
  // {...}` nor `f() noexcept {...}`. Such a piece goes to cling as a
  // declaration (TInterpreter::Declare), never wrapped. Declare allows no
  // redefinition: run again, such a cell fails with "redefinition of" (the
  // host adds a hint to rename the function or restart). (Not in `extern "C++"
  // { ... }` through ProcessLine: cling crashed on an error in such a block,
  // `extern "C++" { NoSuchClass::NoSuchClass(int x) : a{x} {} }`.)
  bool declare = false;
};

// The cell cut after each of its leading top-level definitions and
// declarations (a function definition; a class, struct, union or enum; a
// namespace, template, extern, using or typedef), found by a lexical scan;
// the rest, from the first statement (or preprocessor line) on, is the last
// piece. Pieces after the first start with the cell's earlier lines as blank
// lines, so that cling's line numbers are the cell's. A cell without such a
// definition is one piece.
std::vector<CellPiece> split_leading_definitions(const std::string& code);

}  // namespace host
