#pragma once
// What a %%clad cell's model definitions (torchclad/nn.h, TORCHCLAD_MODEL)
// need from the host: the line that makes nn.h and Clad available to the
// cell, and the checks after its library loaded.
#include <map>
#include <string>
#include <vector>

namespace host {

// Line 1 of a %%clad cell's source (the magic's line, so line numbers match
// the cell): Clad's header; for a cell that defines models, torchclad/nn.h
// (which includes it). Not nn.h in every cell: cells compiled by ACLiC have a
// cling dictionary, and when one is replaced cling drops the declarations it
// brought (nn.h's), while their include guards stay.
inline constexpr const char* kCladCellPrelude = "#include \"clad/Differentiator/Differentiator.h\"";
inline constexpr const char* kModelCellPrelude = "#include \"torchclad/nn.h\"";

// Whether a %%clad cell defines models (TORCHCLAD_MODEL). Such a cell is
// compiled with clang++-19 + Clad into a library of its own and loaded,
// without a cling dictionary: later cells reach its models by name
// (torchclad::model), it may use C++20 and LibTorch headers, and running it
// again loads a new library instead of unloading the old one (unloading a
// dictionary makes cling drop the declarations of every later cell).
bool defines_models(const std::string& body);

// Compiles the model cell's source into <dir>/<name>_<n>.so and loads it,
// when `changed` (else the library of this source is loaded already). The compiler's
// messages go to stderr. Returns 1 on success, 0 on failure.
int compile_and_load_model_cell(const std::string& source_path, const std::string& name, bool changed);

// Problems with the models the cell defined, as one message ("" if none):
// definitions that failed their checks when the library loaded, and calls
// Clad could not differentiate (Clad only warns and takes their derivative
// as 0, which would train a wrong gradient). In the latter case the cell's
// definitions are withdrawn.
std::string cell_model_problems(const std::vector<std::string>& diagnostics, const std::string& source_path);

// A model cell that did not compile: each model its text declares that has
// no working definition gets `error` (the cell's first error, in cell terms)
// as the reason torchclad::model(name) gives, instead of an older run's
// error. A working definition of an earlier run is kept; a line on stderr
// says so.
void record_failed_model_cell(const std::string& source_text, const std::string& cell,
                              const std::string& error);

// The file each registered model was compiled from (name -> source file),
// taken before a model cell loads to tell what it replaced.
std::map<std::string, std::string> model_sources();
// The models registered from source_path.
std::vector<std::string> models_from(const std::string& source_path);
// A line for each model the cell's library took over from another cell (or
// file), "" if none: "model 'later' (defined by cell 'later') is replaced by
// the one in cell 'other'". A cell run again replaces its own models
// silently. Cells are the files beside source_path (the host's work
// directory, NAME.C).
std::string replacement_notices(const std::map<std::string, std::string>& before,
                                const std::string& source_path);

}  // namespace host
