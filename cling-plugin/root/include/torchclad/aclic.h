// Clad in ROOT's ACLiC: after use_clad_in_aclic(), `.L my_model.C+` (and
// gSystem->CompileMacro) compiles with clang++-19, C++20 and the Clad plugin,
// so a macro can call clad::gradient on its own functions. Plain C++17.
#ifndef TORCHCLAD_ACLIC_H
#define TORCHCLAD_ACLIC_H
#include <string>

namespace torchclad {

// Idempotent. Returns false, with the reason in *error, when the Clad plugin
// or clang++-19 this library was built with is missing.
bool use_clad_in_aclic(std::string* error = nullptr);

}  // namespace torchclad

#endif
