#pragma once
// Cling diagnostics that are noise as red stderr boxes in a notebook.
//
// The one handled: "warning: 'data' shadows a declaration with the same name
// in the 'std' namespace; use '::data' to reference this declaration", for a
// top-level variable named like something in std (data, size, count, ...;
// ROOT's cling runs `using namespace std`). It is not empty: in later cells
// the plain name is ambiguous (an error) and `::data` is needed. So it is
// kept, as one plain line on stdout that says so, instead of a warning with
// source snippet and caret on stderr. Every other diagnostic stays as it is.
#include <string>

namespace host {

struct SoftenedOutput {
  std::string stderr_text;  // what stays on stderr
  std::string stdout_note;  // the notes that replace the noise ("" if none)
};

// Works on one burst of stderr text (the capture sends a diagnostic, its
// snippet and caret together); lines split across bursts are left alone.
SoftenedOutput soften_cling_noise(const std::string& stderr_text);

}  // namespace host
