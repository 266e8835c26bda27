#pragma once
// Text the ROOT side's messages, commands and paths share: names quoted in
// errors, arguments quoted for /bin/sh, lists joined by ", ", and the
// "file.root/tree" paths that TChain::Add takes.
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace torchclad {

// 'name': a name, path or expression as the errors quote it (nothing escaped).
std::string quote(const std::string& s);

// For /bin/sh: single quotes, each ' inside written as '\''.
std::string shell_quote(const std::string& s);

// The items joined by ", ".
std::string join(const std::vector<std::string>& items);

// A path written as ROOT users write it for TChain::Add, "file.root/tree"
// (the tree after the file): {"file.root", "tree"}. nullopt for a path that
// names no tree so: without ".root/", a URL ("://"), or a file that exists
// under the whole path. Throws std::runtime_error "<where>: '<path>' names no
// tree after the file" for "file.root/". The caller says what is wrong when
// the tree differs from the one its tree argument names.
std::optional<std::pair<std::string, std::string>> split_tree_path(const std::string& path,
                                                                   const std::string& where);

}  // namespace torchclad
