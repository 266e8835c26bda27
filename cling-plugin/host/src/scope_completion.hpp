#pragma once
// Completion that ROOT's TTabCom does not do: the members of a variable's
// class (`df.Fil`, `h->Dr`, through its bases: RDataFrame's methods are
// RInterface's) and the names in a namespace or class (`std::vec`,
// `torchclad::M`), from cling's reflection; and plain names without
// TTabCom.
#include <optional>
#include <set>
#include <string>
#include <vector>

class TClass;

namespace host {

// `line`: the text of the line up to the cursor. Returns the completions of
// the partial name at its end (the text after the last `.`, `->` or `::`),
// sorted, without duplicates; empty when the line does not end in such a
// member or scoped name, or nothing matches.
std::vector<std::string> scope_completions(const std::string& line);

// The class of the object a member access chain at the end of `text`
// denotes: a variable a cell can name (`h`, cell_variables.hpp), then data
// members and calls by their declared types (`h.GetXaxis()`,
// `df.Filter("x > 0")`), without running anything (TTabCom evaluates the
// expression with ProcessLine). nullptr when a link is not known (a local,
// a subscript, a cast, a fundamental type).
TClass* class_of_chain(const std::string& text);

// Whether `line` ends in a name and `(` (`myf(`, `h.Fill (`; not `((`), and
// where that name is.
bool ends_with_a_call(const std::string& line, std::size_t* name_begin = nullptr,
                      std::size_t* name_end = nullptr);

// For a line ending in a member call's `(` (`h.Fill(`, `h.GetXaxis()->Set(`):
// each overload as "Int_t Fill(Double_t x)" (none if the object's class is
// not known); nullopt if the line does not end so.
std::optional<std::vector<std::string>> member_signatures(const std::string& line);

// The completions of a plain name (`TH1`, `gSys`, `Double`): `root_names`
// (root_names.hpp), ROOT's global pointers, the classes and namespaces ROOT
// knows without loading anything (its class table and rootmaps, what cling
// has parsed: the cells' own, torchclad's) and `cell_names`. Never TTabCom:
// it loads ROOT's list of globals, and every later cell is slower (see
// root_names.hpp). Sorted, without duplicates; empty for an empty `partial`.
std::vector<std::string> name_completions(const std::string& partial, const std::set<std::string>& cell_names,
                                          const std::vector<std::string>& root_names);

}  // namespace host
