// Trains torchclad's 1D CNN with Clad-generated backward passes to find
// compact-binary chirps in simulated, whitened LIGO strain read through
// RDataFrame, then evaluates it: ROC curve and AUC, detection efficiency
// against SNR at 1% false alarm (<out>.root and <out>_*.png), and the
// training history (TGraphs in <out>.root, curves in <out>_history.png).
//
//   scripts/troot -b -q 'cling-plugin/macros/train_gw.C("gw.root", 6)'
//
// The data file is simulated first when it does not exist (torchclad-gwsim
// does the same from the command line).
R__LOAD_LIBRARY(libtorchclad_root.so)
R__LOAD_LIBRARY(libtorchclad_gw.so)
#include "torchclad/gw_simulator.h"
#include "torchclad/rdataframe.h"

#include <TCanvas.h>
#include <TFile.h>
#include <TGraph.h>
#include <TLegend.h>
#include <TSystem.h>

void train_gw(const char* root_file = "gw.root", int epochs = 6, long long train_windows = 20000,
              long long test_windows = 4000, const char* out = "train_gw", const char* engine = "clad") {
  if (gSystem->AccessPathName(root_file)) {
    torchclad::gw::SimulationOptions sim;
    sim.train = train_windows;
    sim.test = test_windows;
    printf("simulating %lld + %lld windows into %s\n", sim.train, sim.test, root_file);
    torchclad::gw::simulate(sim, root_file);
  }
  ROOT::RDataFrame train_df("train", root_file), test_df("test", root_file);
  ROOT::RDF::RNode train_node = train_df, test_node = test_df;
  if (train_windows > 0) train_node = train_df.Range(train_windows);
  if (test_windows > 0) test_node = test_df.Range(test_windows);
  auto train = torchclad::binary_dataset_from_rdataframe(train_node);
  auto test = torchclad::binary_dataset_from_rdataframe(test_node);
  printf("%s: %lld training windows (%lld with a signal) and %lld test windows of %d samples\n", root_file,
         train.size(), train.signals(), test.size(), train.length());

  torchclad::Cnn cnn(train.length());
  torchclad::TrainOptions options;
  options.engine = engine;
  options.epochs = epochs;
  const auto result = cnn.fit(train, test, options);
  const auto detection = cnn.evaluate(test, 0.01, out);
  printf("%s: %s; %s\n", cnn.describe().c_str(), result.status.c_str(), detection.summary.c_str());

  TGraph g_train, g_test, g_auc;
  for (const auto& e : result.epochs) {
    g_train.AddPoint(e.epoch, e.train_loss);
    g_test.AddPoint(e.epoch, e.test_loss);
    g_auc.AddPoint(e.epoch, e.test_auc);
  }
  g_train.SetNameTitle("train_loss",
                       TString::Format("loss (%s engine);epoch;mean binary cross-entropy", engine));
  g_test.SetNameTitle("test_loss", "test loss;epoch;mean binary cross-entropy");
  g_auc.SetNameTitle("test_auc", "test ROC AUC;epoch;AUC");
  TFile file(TString(out) + ".root", "UPDATE");
  g_train.Write();
  g_test.Write();
  g_auc.Write();

  TCanvas canvas("history", "torchclad training", 1200, 500);
  canvas.Divide(2, 1);
  canvas.cd(1);
  g_train.SetLineColor(kRed + 1), g_train.SetMarkerColor(kRed + 1), g_train.SetMarkerStyle(20);
  g_test.SetLineColor(kBlue + 1), g_test.SetMarkerColor(kBlue + 1), g_test.SetMarkerStyle(21);
  g_train.Draw("ALP");
  g_train.SetMinimum(0);
  g_test.Draw("LP same");
  TLegend legend(0.6, 0.75, 0.88, 0.88);
  legend.AddEntry(&g_train, "training", "lp");
  legend.AddEntry(&g_test, "test", "lp");
  legend.Draw();
  canvas.cd(2);
  g_auc.SetLineColor(kGreen + 2), g_auc.SetMarkerColor(kGreen + 2), g_auc.SetMarkerStyle(20);
  g_auc.Draw("ALP");
  canvas.SaveAs(TString(out) + "_history.png");
}
