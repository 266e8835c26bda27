#pragma once
// inspect (Shift+Tab in JupyterLab): what the symbol under the cursor is,
// from cling's reflection (TClass, TMethod, TFunction, TGlobal).
#include <string>

#include <nlohmann/json.hpp>

namespace host {

// {"found": bool, "data": {"text/plain": ..., "text/markdown": ...}} for the
// name at cursor_pos (code points) in code: a class or namespace (its
// declaration with bases, ROOT's one-line description, and for ROOT's
// classes a link to the reference page), a function or method (every
// overload's prototype and comment; `h->Dr|` and `df.Fil|` look in the
// variable's class), a variable (its type, and its class's description).
// Comments: ROOT's (the ClassDef and trailing `//` comments cling records),
// else the comment block (`//`, `///`, `/** */`) just above the declaration
// in the source: torchclad's headers (include_dir) for torchclad's names,
// the request's code and the cells given to remember_cell_source for the
// classes and functions cells declared (libCling exports no clang API to
// read its AST's comments); each overload's from the declaration with its
// parameter types. A class without a reference page also lists its public
// members. Class and function templates: their declaration in the source,
// or `template <...>`, and the reference page (cppreference for std::,
// ROOT's for ROOT's).
nlohmann::json inspect_symbol(const std::string& code, long cursor_pos, const std::string& include_dir);

// A cell that ran: its declarations' comments are shown by inspect (the
// latest cell declaring a name wins; the oldest are dropped past 16 MiB).
void remember_cell_source(const std::string& code);

}  // namespace host
