#include "data/tree_files.hpp"

#include <glob.h>

#include <algorithm>
#include <stdexcept>

#include "data/tree_dataset.hpp"
#include "src/text.hpp"

namespace torchclad::rootdata {
namespace {

bool is_pattern(const std::string& f) { return f.find_first_of("*?[") != std::string::npos; }

}  // namespace

std::vector<std::string> tree_files(const std::string& where, const std::vector<std::string>& files,
                                    const std::string& tree) {
  if (files.empty()) throw std::runtime_error(where + ": no files given; expected at least one ROOT file");
  std::vector<std::string> out;
  for (const auto& f : files) {
    if (f.find("://") != std::string::npos) {  // remote: left to ROOT
      out.push_back(f);
      continue;
    }
    if (!is_pattern(f)) {
      check_tree(where, f, tree);
      out.push_back(f);
      continue;
    }
    glob_t g{};
    const int rc = ::glob(f.c_str(), 0, nullptr, &g);
    std::vector<std::string> matches;
    if (rc == 0)
      for (size_t i = 0; i < g.gl_pathc; ++i) matches.push_back(g.gl_pathv[i]);
    globfree(&g);
    if (matches.empty()) throw std::runtime_error(where + ": no file matches " + quote(f));
    std::sort(matches.begin(), matches.end());
    for (const auto& m : matches) {
      check_tree(where, m, tree);
      out.push_back(m);
    }
  }
  return out;
}

}  // namespace torchclad::rootdata
