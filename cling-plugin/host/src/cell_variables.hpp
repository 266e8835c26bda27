#pragma once
// The variables a cell can name, for completion and inspect: what cling
// finds as a global (gROOT->GetGlobal(name, kFALSE); not kTRUE, which loads
// ROOT's whole list of globals and slows every later cell), and the
// variables of namespaces that a cell's `using namespace` made visible
// (`namespace ns { TH1F h(...); } using namespace ns;` then `h.Fi`).
#include <optional>
#include <string>

class TClass;

namespace host {

struct CellVariable {
  std::string name;
  std::string type;       // as ROOT names it: "TH1F", "TH1F*" (no const)
  std::string full_type;  // with const
};

// Scans a cell for `using namespace NAME;` (NAME may be qualified) and
// remembers NAME.
void remember_using_directives(const std::string& code);

// The variable `name` (unqualified), if a cell can name it.
std::optional<CellVariable> cell_variable(const std::string& name);

// The class a type names, without const, volatile, `*` and `&`; nullptr
// for a fundamental type or one ROOT does not know.
TClass* class_of_type(std::string type);

}  // namespace host
