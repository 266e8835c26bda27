// The repro under root.exe: after torchclad reads datasets from an
// RDataFrame node, the same graph runs Snapshot, Histo1D, Count and more
// reads. Writes its own input file (tree "t", float columns a and b).
//   scripts/troot -b -q 'cling-plugin/tests/macros/rdataframe_after_dataset.C("dir", true)'
R__LOAD_LIBRARY(libtorchclad_root.so)
#include "torchclad/rdataframe.h"

#include <TFile.h>
#include <TROOT.h>
#include <TTree.h>

void rdataframe_after_dataset(const char* dir = ".", bool implicit_mt = false) {
  if (implicit_mt) ROOT::EnableImplicitMT(2);
  const std::string stem = std::string(dir) + "/rdataframe_after_dataset_" + (implicit_mt ? "mt" : "seq");
  const std::string in = stem + "_in.root", out = stem + "_out.root";
  {
    TFile f(in.c_str(), "RECREATE");
    TTree t("t", "two float columns");
    t.SetAutoFlush(400);
    float a = 0, b = 0;
    t.Branch("a", &a, "a/F");
    t.Branch("b", &b, "b/F");
    for (int i = 0; i < 2000; ++i) a = i, b = 2 * i, t.Fill();
    t.Write();
  }
  ROOT::RDataFrame df("t", in);
  auto node = df.Define("image", "ROOT::RVecF{(float)a, (float)b}").Define("label", [] { return 1; });
  auto ds = torchclad::dataset_from_rdataframe(node);
  node.Snapshot("out", out, {"image", "label"});
  auto count = node.Count();
  auto histo = node.Histo1D("a");
  auto again = torchclad::dataset_from_rdataframe(node);
  auto binary = torchclad::binary_dataset_from_rdataframe(node, "image", "label", "");
  auto after_binary = node.Count();
  TFile written(out.c_str());
  auto* snapshot = written.Get<TTree>("out");
  printf(
      "dataset %lld rows; snapshot %lld entries; count %llu; histogram %.0f entries; second dataset "
      "%lld rows; binary dataset %lld rows; count %llu (implicit MT %s)\n",
      ds.size(), snapshot ? snapshot->GetEntries() : -1LL, *count, histo->GetEntries(), again.size(),
      binary.size(), *after_binary, implicit_mt ? "on" : "off");
}
