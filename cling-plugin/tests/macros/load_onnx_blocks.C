// The blocks for imported models through the run-time path a cell or an
// importer takes: onnx_blocks_model.cpp compiled with Clad by load_models,
// Clad's gradient against finite differences (check_gradients), a fit on 4x4
// "images" from an RDataFrame lowering the loss. Prints one line for ctest.
R__LOAD_LIBRARY(libtorchclad_root.so)
#include "torchclad/model.h"
#include "torchclad/rdataframe.h"

#include <ROOT/RDataFrame.hxx>
#include <TRandom.h>
#include <TSystem.h>

#include <cstdio>

int load_onnx_blocks() {
  const TString dir = gSystem->DirName(__FILE__);
  const auto names = torchclad::load_models((dir + "/onnx_blocks_model.cpp").Data());
  if (names.empty()) return 1;
  gRandom->SetSeed(3);
  ROOT::RDataFrame base(400);
  ROOT::RDF::RNode df = base;
  std::vector<std::string> columns;
  for (int i = 0; i < 16; ++i) {
    columns.push_back("f" + std::to_string(i));
    df = df.Define(columns.back(), "gRandom->Gaus()");
  }
  df = df.Define("label", "int(f0 + f5 + f10 > 0)");
  auto data = torchclad::dataset_from_columns(df, columns, "label");
  auto model = torchclad::model(names.front());
  const auto check = model.check_gradients(data);
  torchclad::TrainOptions options;
  options.epochs = 15;
  options.lr = 1e-2;
  options.batch = 32;
  options.progress = false;
  const auto run = model.fit(data, data, options);
  const double first = run.epochs.front().train_loss, last = run.epochs.back().train_loss;
  const bool learned = last < 0.8 * first;
  std::printf("%s: gradient check %s, loss %s\n", names.front().c_str(), check.passed ? "passed" : "FAILED",
              learned ? "lowered" : "NOT lowered");
  return check.passed && learned ? 0 : 1;
}
