#pragma once
// Completion that ROOT's TTabCom does not do: the members of a variable's
// class (`df.Fil`, `h->Dr`, through its bases: RDataFrame's methods are
// RInterface's) and the names in a namespace or class (`std::vec`,
// `torchclad::M`), from cling's reflection.
#include <string>
#include <vector>

namespace host {

// `line`: the text of the line up to the cursor. Returns the completions of
// the partial name at its end (the text after the last `.`, `->` or `::`),
// sorted, without duplicates; empty when the line does not end in such a
// member or scoped name, or nothing matches.
std::vector<std::string> scope_completions(const std::string& line);

}  // namespace host
