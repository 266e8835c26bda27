#pragma once
// Cells that cling compiles without optimization (`.O 0` for the cell, then
// the session's level again). ROOT's cling optimizes every cell (level 1 in
// ROOT's wheel; EXTRA_CLING_ARGS sets it), which costs a trivial cell about
// 0.5 of its 1.3 ms in cling (`int x = 1;` 1.37 against 0.88 ms, `x+1`
// 1.35 against 0.77 ms, measured here). Optimizing code that runs once gains
// nothing, but a cell at level 0 is only safe where it instantiates no
// template: an instantiation is emitted once, so a later optimized loop would
// call the unoptimized one (measured: 3.4x slower). Hence only cells made of
// fundamental types, literals and operators qualify: `int x = 1;`, `1+1`,
// `double y = x / 3.0;` with x an int, `x` to see a value. Anything else
// (a call, a member, a subscript, a brace, `::`, a directive, a loop, a name
// whose type is not fundamental) keeps the session's level.
#include <functional>
#include <string>

namespace host {

// What the scan asks of a name that is neither a keyword nor declared by the
// cell (only where it cannot tell: the lookups are the costly part).
struct NameLookup {
  // A variable of a fundamental type (int, double, Double_t, size_t, ...;
  // not a pointer, reference or class).
  std::function<bool(const std::string&)> fundamental_variable;
  // A typedef of a fundamental type (Double_t, size_t): it declares as `int` does.
  std::function<bool(const std::string&)> fundamental_type;
};

// Whether `code` qualifies.
bool quick_cell(const std::string& code, const NameLookup& lookup);

}  // namespace host
