// import_model on files it must refuse: prints "import error: <message>"
// for each, and then "session alive" (the ROOT session survives each bad
// file). One file, or (list set) a list file of lines "path<TAB>loss<TAB>input
// shape" imported one after the other in this session (the tests batch
// their bad files: one ROOT start for many).
// input_shape: a TorchScript file's per-sample input shape ("1,21").
//   scripts/troot -b -q 'cling-plugin/tests/macros/import_onnx_error.C("bad.onnx")'
//   scripts/troot -b -q 'cling-plugin/tests/macros/import_onnx_error.C("", "", "", "bad_files.tsv")'
R__LOAD_LIBRARY(libtorchclad_root.so)
#include "torchclad/import.h"

#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace ioe {
void one(const std::string& path, const std::string& loss, const std::string& input_shape) {
  try {
    torchclad::ImportOptions options;
    options.loss = loss.empty() ? "cross_entropy" : loss;
    std::stringstream dims(input_shape);
    for (std::string item; std::getline(dims, item, ',');)
      if (!item.empty()) options.input_shape.push_back(std::stoll(item));
    torchclad::import_model(path, options);
    std::printf("imported without error\n");
  } catch (const std::exception& e) {
    std::printf("import error: %s\n", e.what());
  }
  std::fflush(stdout);
}
}  // namespace ioe

void import_onnx_error(const char* path, const char* loss = "cross_entropy", const char* input_shape = "",
                       const char* list = "") {
  if (std::string(list).empty()) {
    ioe::one(path, loss, input_shape);
  } else {
    std::ifstream in(list);
    for (std::string line; std::getline(in, line);) {
      std::string fields[3];
      std::stringstream parts(line);
      for (auto& f : fields) std::getline(parts, f, '\t');
      ioe::one(fields[0], fields[1], fields[2]);
    }
  }
  std::printf("session alive\n");
}
