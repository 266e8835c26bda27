#pragma once
// What a %%clad cell's model definitions (torchclad/nn.h, TORCHCLAD_MODEL)
// need from the host: the line that makes nn.h and Clad available to the
// cell, and the checks after its library loaded.
#include <string>
#include <vector>

namespace host {

// Line 1 of a %%clad cell's source (the magic's line, so line numbers match
// the cell): torchclad/nn.h, which includes Clad's header.
inline constexpr const char* kCladCellPrelude = "#include \"torchclad/nn.h\"";

// Problems with the models the cell defined, as one message ("" if none):
// definitions that failed their checks when the library loaded, and calls
// Clad could not differentiate (Clad only warns and takes their derivative
// as 0, which would train a wrong gradient). In the latter case the cell's
// definitions are withdrawn.
std::string cell_model_problems(const std::vector<std::string>& diagnostics,
                                const std::string& source_path);

}  // namespace host
