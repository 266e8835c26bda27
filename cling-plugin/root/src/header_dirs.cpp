#include "header_dirs.hpp"

#include <dlfcn.h>

#include <filesystem>

namespace torchclad {

const HeaderDirs& header_dirs() {
  static const HeaderDirs dirs = [] {
    namespace fs = std::filesystem;
    Dl_info info{};
    if (dladdr(reinterpret_cast<void*>(&header_dirs), &info) && info.dli_fname) {
      // <prefix>/lib/libtorchclad_root.so -> <prefix>/include
      const fs::path include =
          fs::weakly_canonical(fs::path(info.dli_fname)).parent_path().parent_path() / "include";
      if (fs::exists(include / "torchclad" / "nn.h"))
        return HeaderDirs{include.string(), (include / "torchclad" / "engine").string()};
    }
    const std::string src = TORCHCLAD_SOURCE_DIR;
    return HeaderDirs{src + "/root/include", src + "/engine"};
  }();
  return dirs;
}

}  // namespace torchclad
