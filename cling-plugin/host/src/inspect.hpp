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
// include_dir: torchclad's headers, whose comments document functions that
// cling knows no comment for.
nlohmann::json inspect_symbol(const std::string& code, long cursor_pos, const std::string& include_dir);

}  // namespace host
