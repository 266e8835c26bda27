#pragma once
// The names ROOT's libraries declare (classes, namespaces, enums, globals),
// for completing a plain name. Listing them loads ROOT's lists of classes and
// globals, and once loaded, every later cell of that process is slower
// (`int x = 1;` 1.12 -> 1.56 ms after TTabCom completed `gR`, medians of 3
// runs in the host). So a separate process lists
// them (`torchclad-host --list-root-names FILE`, about 1 s), and the list is
// cached on disk per ROOT installation: the host itself never loads them.
#include <memory>
#include <string>
#include <vector>

namespace host {

// The child's side: writes the names, one per line, sorted, to `path`.
// Returns 0, or 1 with a message on stderr.
int list_root_names(const char* path);

// The host's side: the list, sorted; empty until it is known. The first
// call reads the cache (a regular file of at most 16 MiB; lines that are
// not identifiers are dropped) or, without one, starts the child on a
// thread of its own and returns at once: a completion never waits for it,
// and the ones after it finish have the whole list. The child is stopped
// after kRootNamesTimeoutSeconds; failures are logged on `log_fd`.
std::shared_ptr<const std::vector<std::string>> root_names(int log_fd);

}  // namespace host
