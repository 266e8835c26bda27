#pragma once
// Cells that cling compiles without optimization (the host appends
// `#pragma cling optimize(0)`: that transaction only). ROOT's cling optimizes
// every cell (level 1 in ROOT's wheel; EXTRA_CLING_ARGS sets it), which costs
// a trivial cell about 0.6 of its 1.6 ms in cling (`int x = 1;` 1.59 against
// 0.98 ms, `x+1` 1.36 against 0.81 ms, medians of 3 runs in root -b).
// Optimizing code that runs once gains nothing, but a cell at level 0 is only
// safe where it instantiates no template: an instantiation is emitted once,
// so a later optimized loop would call the unoptimized one (measured: 4.7x
// slower at -O2, 1.3x at level 1). Hence only cells made of fundamental
// types, literals and operators qualify: `int x = 1;`, `1+1`, `double y = x /
// 3.0;` with x an int, `x` to see a value. Anything else (a call, a member, a
// subscript, a brace or its digraph, `::`, a directive, a loop, a
// user-defined literal, a name whose type is not fundamental, a cell ending
// in an operator) keeps the session's level.
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
