#pragma once
// A %%clad cell's error as a notebook shows it: the summary (the reply's
// evalue) names the place as the cell, "cell lg, line 3", rather than the
// temporary file the host compiled (whose path stays in the compiler's
// output and the traceback).
#include <string>
#include <vector>

namespace host {

// How errors name a cell: "cell lg" for `%%clad lg`, "this cell" for a
// %%clad cell without a name (its library's name is made up).
std::string cell_label(const std::string& name, bool named);

// "<source_path>:3:42: text" -> "text" with " (cell lg, line 3)" before its
// first ": " outside quotes (after what went wrong, before the advice), or
// at its end. Other messages are returned as they are.
std::string in_cell_terms(const std::string& message, const std::string& source_path,
                          const std::string& label);

// The first error of the diagnostics (a line with "error: "), its message in
// the cell's terms; "" if there is none.
std::string first_cell_error(const std::vector<std::string>& diagnostics, const std::string& source_path,
                             const std::string& label);

}  // namespace host
