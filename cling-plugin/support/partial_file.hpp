#pragma once
// Where a file is written before it is renamed into place: a hidden sibling,
// "dir/.name.partial". Hidden because directory listers skip dot files:
// jupyter_server lists a directory and then stats every entry, and a visible
// FILE.partial renamed in between turns the whole listing into a 404 (the
// "Directory not found" dialog in JupyterLab's file browser).
#include <filesystem>
#include <string>

namespace torchclad::support {

inline std::string partial_path(const std::string& path) {
  const std::filesystem::path p(path);
  return (p.parent_path() / ("." + p.filename().string() + ".partial")).string();
}

}  // namespace torchclad::support
