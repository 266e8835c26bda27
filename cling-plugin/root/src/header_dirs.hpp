#pragma once
// Where the headers that compiled cells and model files include are: the
// installed tree's (beside the library: <prefix>/include) when this library
// was installed, else the source tree it was built from.
#include <string>

namespace torchclad {

struct HeaderDirs {
  std::string api;     // holds torchclad/*.h
  std::string engine;  // holds define/, kernels/, train/ ... (included by nn.h)
};

const HeaderDirs& header_dirs();

}  // namespace torchclad
