// What a new user writes under root.exe for an ntuple with scalar branches in
// a signal and a background tree (the C++17 API as cling parses it): a
// DataLoader with cuts and weights, a stratified split, datasets from lists
// of columns (class and regression), concat. Writes its own input file.
//   scripts/troot -b -q 'cling-plugin/tests/macros/ntuple_dataset.C("dir")'
R__LOAD_LIBRARY(libtorchclad_root.so)
#include "torchclad/rdataframe.h"

#include <TFile.h>
#include <TTree.h>

void ntuple_dataset(const char* dir = ".") {
  const std::string file = std::string(dir) + "/ntuple_dataset.root";
  {
    TFile f(file.c_str(), "RECREATE");
    for (const char* name : {"signal", "background"}) {
      TTree t(name, name);
      float m_jj, m_jjj, weight;
      double m_lv;
      int n_jets;
      t.Branch("m_jj", &m_jj, "m_jj/F");
      t.Branch("m_jjj", &m_jjj, "m_jjj/F");
      t.Branch("m_lv", &m_lv, "m_lv/D");
      t.Branch("n_jets", &n_jets, "n_jets/I");
      t.Branch("weight", &weight, "weight/F");
      for (int e = 0; e < 1000; ++e) {
        m_jj = 50 + e % 100, m_jjj = 2 * m_jj, m_lv = 80.4 + e % 7, n_jets = 2 + e % 5, weight = 0.5;
        t.Fill();
      }
      t.Write();
    }
  }
  torchclad::DataLoader loader;
  loader.features({"m_jj", "m_jjj", "m_lv"})
      .add_signal(file, "signal", "n_jets >= 4", "weight * 2")
      .add_background(file, "background", "n_jets >= 4", "weight");
  auto all = loader.build();
  auto [train, test] = all.split(0.25, 42);

  ROOT::RDataFrame df("signal", file);
  auto labelled = df.Define("label", "n_jets % 2");
  auto cls = torchclad::dataset_from_columns(labelled, {"m_jj", "m_jjj", "m_lv"}, "label", "weight");
  auto reg = torchclad::regression_dataset_from_columns(df, {"m_jj", "n_jets"}, {"m_jjj", "m_lv"});
  auto both = torchclad::Dataset::concat({cls, cls});
  std::string error = "none";
  try {
    torchclad::dataset_from_columns(df, {"m_jj", "m_bb"}, "n_jets");
  } catch (const std::exception& e) {
    error = e.what();
  }
  // One line, for the test's pattern.
  printf(
      "loader: %lld rows, %d features, %d classes, weights %s; train %lld, test %lld; columns: %lld rows, "
      "%d classes; regression: %d targets; concat: %lld rows; count %llu; error: %s\n",
      all.size(), all.features(), all.classes(), all.has_weights() ? "yes" : "no", train.size(), test.size(),
      cls.size(), cls.classes(), reg.targets(), both.size(), *df.Count(), error.c_str());
}
