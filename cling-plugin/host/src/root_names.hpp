#pragma once
// The names ROOT's libraries declare (classes, namespaces, enums, globals),
// for completing a plain name. Listing them loads ROOT's lists of classes and
// globals, and once loaded, every later cell of that process is slower (1.1
// -> 2.2 ms for `int x = 1;` after TTabCom completed `gR`; 1.3 -> 2.6 ms in
// root -b after gROOT->GetListOfGlobals(kTRUE)). So a separate process lists
// them (`torchclad-host --list-root-names FILE`, about 1.5 s), and the list
// is cached on disk per ROOT installation: the host itself never loads them.
#include <string>
#include <vector>

namespace host {

// The child's side: writes the names, one per line, sorted, to `path`.
// Returns 0, or 1 with a message on stderr.
int list_root_names(const char* path);

// The host's side: the cached list (read once per process), or a new one
// from a child process (waits for it, at most kRootNamesTimeoutSeconds).
// Empty if the child failed; the reason is logged on `log_fd`.
const std::vector<std::string>& root_names(int log_fd);

}  // namespace host
