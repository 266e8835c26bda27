// A model saved by a command-line trainer (torchclad-train --save), read
// back with torchclad::Model::load in a fresh ROOT session: its test metrics
// on the same test entries must be the ones the trainer recorded.
//   scripts/troot -b -q 'load_saved_model.C("mlp.root", "fashion-mnist.root", 500)'
//   scripts/troot -b -q 'load_saved_model.C("gw-results/clad/model.root", "gw.root", 800, true)'
// (binary: the test tree of a torchclad-gwsim file, strain/label/snr)
R__LOAD_LIBRARY(libtorchclad_root.so)
#include "torchclad/model.h"

#include <cmath>
#include <cstdio>

template <class Data>
int check(const torchclad::Model& model, const Data& test, const char* model_file) {
  const auto e = model.evaluate(test);
  if (model.history().empty()) {
    std::printf("%s: no training history in %s\n", model.name().c_str(), model_file);
    return 1;
  }
  const auto& saved = model.history().back();
  const auto outputs = model.predict(test);
  std::printf("%s: %lld outputs; test accuracy %.2f%%, loss %.6f; the trainer recorded %.2f%%, %.6f\n",
              model.name().c_str(), static_cast<long long>(outputs.size()), 100 * e.accuracy, e.loss,
              100 * saved.test_accuracy, saved.test_loss);
  const bool same = std::abs(e.accuracy - saved.test_accuracy) < 1e-12 &&
                    std::abs(e.loss - saved.test_loss) <= 1e-5 * std::abs(saved.test_loss);
  std::printf("%s: reloaded, test accuracy %.2f%% %s\n", model.name().c_str(), 100 * e.accuracy,
              same ? "as saved" : "DIFFERS from the saved history");
  return same ? 0 : 1;
}

int load_saved_model(const char* model_file, const char* data_file, long long test_limit,
                     bool binary = false) {
  auto model = torchclad::Model::load(model_file);
  if (binary)
    return check(
        model,
        torchclad::BinaryDataset::from_tree(data_file, "test", "strain", "label", "snr", 0, test_limit),
        model_file);
  return check(model, torchclad::Dataset::from_tree(data_file, "test", "image", "label", 0, test_limit),
               model_file);
}
