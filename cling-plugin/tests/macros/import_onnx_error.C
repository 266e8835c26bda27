// import_model on a file it must refuse: prints "import error: <message>"
// and then "session alive" (the ROOT session survives the bad file).
// input_shape: a TorchScript file's per-sample input shape ("1,21").
//   scripts/troot -b -q 'cling-plugin/tests/macros/import_onnx_error.C("bad.onnx")'
R__LOAD_LIBRARY(libtorchclad_root.so)
#include "torchclad/import.h"

#include <cstdio>
#include <sstream>
#include <string>
#include <stdexcept>

void import_onnx_error(const char* path, const char* loss = "cross_entropy", const char* input_shape = "") {
  try {
    torchclad::ImportOptions options;
    options.loss = loss;
    std::stringstream dims(input_shape);
    for (std::string item; std::getline(dims, item, ',');)
      if (!item.empty()) options.input_shape.push_back(std::stoll(item));
    torchclad::import_model(path, options);
    std::printf("imported without error\n");
  } catch (const std::exception& e) {
    std::printf("import error: %s\n", e.what());
  }
  std::printf("session alive\n");
}
