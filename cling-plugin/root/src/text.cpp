#include "text.hpp"

#include <filesystem>
#include <stdexcept>

namespace torchclad {

std::string quote(const std::string& s) { return "'" + s + "'"; }

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string join(const std::vector<std::string>& items) {
  std::string s;
  for (const auto& i : items) s += (s.empty() ? "" : ", ") + i;
  return s;
}

std::optional<std::pair<std::string, std::string>> split_tree_path(const std::string& path,
                                                                   const std::string& where) {
  const auto at = path.find(".root/");
  if (at == std::string::npos || path.find("://") != std::string::npos || std::filesystem::exists(path))
    return std::nullopt;
  const std::string tree = path.substr(at + 6);
  if (tree.empty()) throw std::runtime_error(where + ": " + quote(path) + " names no tree after the file");
  return std::make_pair(path.substr(0, at + 5), tree);
}

}  // namespace torchclad
