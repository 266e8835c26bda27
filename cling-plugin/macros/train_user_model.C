// Defines a model in C++ (gelu_mlp_model.cpp, compiled with Clad by
// torchclad::load_models), checks its gradient, trains it on a TTree, saves
// and reloads it:
//   scripts/troot -b -q 'cling-plugin/macros/train_user_model.C("fashion-mnist.root", 1)'
// (torchclad-idx2root --out fashion-mnist.root writes that file.)
R__LOAD_LIBRARY(libtorchclad_root.so)
#include "torchclad/model.h"

#include <TSystem.h>

#include <cstdio>

int train_user_model(const char* file = "fashion-mnist.root", int epochs = 1, long long limit = 3000,
                     const char* out = "gelu_mlp.root") {
  const TString dir = gSystem->DirName(__FILE__);
  const auto names = torchclad::load_models((dir + "/gelu_mlp_model.cpp").Data());
  std::printf("compiled and loaded: %s\n", names.empty() ? "(nothing)" : names.front().c_str());
  auto train = torchclad::Dataset::from_tree(file, "train", "image", "label", 0, limit);
  auto test = torchclad::Dataset::from_tree(file, "test", "image", "label", 0, limit / 3);

  auto model = torchclad::model("gelu_mlp");
  std::printf("%s", model.describe().c_str());
  const auto check = model.check_gradients(train);
  if (!check.passed) return 1;

  torchclad::TrainOptions options;
  options.epochs = epochs;
  options.progress = false;
  const auto result = model.fit(train, test, options);
  const auto before = model.evaluate(test);
  model.save(out);
  auto again = torchclad::Model::load(out);
  const auto after = again.evaluate(test);
  std::printf("gelu_mlp: %s, test accuracy %.2f%%, reloaded from %s: %.2f%%\n", result.status.c_str(),
              100 * before.accuracy, out, 100 * after.accuracy);
  return result.status == "finished" && after.accuracy == before.accuracy ? 0 : 1;
}
