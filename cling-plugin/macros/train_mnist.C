// Trains torchclad's MLP with Clad-generated backward passes on Fashion-MNIST
// read from a ROOT file through RDataFrame, then writes the training history
// (a TTree and TGraphs) to <out>.root and loss/accuracy curves to <out>.png.
//
//   scripts/troot -b -q 'cling-plugin/macros/train_mnist.C("fashion-mnist.root", 5)'
//
// The ROOT file is made from Debian's IDX files when it does not exist.
R__LOAD_LIBRARY(libtorchclad_root.so)
#include "torchclad/rdataframe.h"

#include <TCanvas.h>
#include <TFile.h>
#include <TGraph.h>
#include <TLegend.h>
#include <TSystem.h>
#include <TTree.h>

void train_mnist(const char* root_file = "fashion-mnist.root", int epochs = 5, long long train_entries = -1,
                 const char* out = "train_mnist", const char* engine = "clad") {
  if (gSystem->AccessPathName(root_file)) {
    printf("converting Fashion-MNIST to %s\n", root_file);
    torchclad::convert_idx_to_root("", root_file);
  }
  ROOT::RDataFrame train_df("train", root_file), test_df("test", root_file);
  ROOT::RDF::RNode train_node = train_df;
  if (train_entries > 0) train_node = train_df.Range(train_entries);
  auto train = torchclad::dataset_from_rdataframe(train_node);
  auto test = torchclad::dataset_from_rdataframe(test_df);
  printf("%s: %lld training and %lld test images of %d pixels\n", root_file, train.size(), test.size(),
         train.features());

  torchclad::Mlp mlp({train.features(), 256, 128, train.classes()});
  torchclad::TrainOptions options;
  options.engine = engine;
  options.epochs = epochs;
  const auto result = mlp.fit(train, test, options);
  printf("%s: %s, test accuracy %.2f%%\n", mlp.describe().c_str(), result.status.c_str(),
         100 * result.final_accuracy());

  TFile file(TString(out) + ".root", "RECREATE");
  TTree history("history", "torchclad training history");
  int epoch;
  double train_loss, test_loss, test_accuracy, seconds;
  history.Branch("epoch", &epoch);
  history.Branch("train_loss", &train_loss);
  history.Branch("test_loss", &test_loss);
  history.Branch("test_accuracy", &test_accuracy);
  history.Branch("seconds", &seconds);
  TGraph g_train, g_test, g_acc;
  for (const auto& e : result.epochs) {
    epoch = e.epoch, train_loss = e.train_loss, test_loss = e.test_loss;
    test_accuracy = e.test_accuracy, seconds = e.seconds;
    history.Fill();
    g_train.AddPoint(e.epoch, e.train_loss);
    g_test.AddPoint(e.epoch, e.test_loss);
    g_acc.AddPoint(e.epoch, 100 * e.test_accuracy);
  }
  g_train.SetNameTitle("train_loss", "training loss;epoch;mean cross-entropy");
  g_test.SetNameTitle("test_loss", "test loss;epoch;mean cross-entropy");
  g_acc.SetNameTitle("test_accuracy", "test accuracy;epoch;accuracy [%]");
  history.Write();
  g_train.Write();
  g_test.Write();
  g_acc.Write();

  TCanvas canvas("curves", "torchclad training", 1200, 500);
  canvas.Divide(2, 1);
  canvas.cd(1);
  g_train.SetLineColor(kRed + 1), g_train.SetMarkerColor(kRed + 1), g_train.SetMarkerStyle(20);
  g_test.SetLineColor(kBlue + 1), g_test.SetMarkerColor(kBlue + 1), g_test.SetMarkerStyle(21);
  g_train.SetTitle(TString::Format("loss (%s engine);epoch;mean cross-entropy", engine));
  g_train.Draw("ALP");
  g_train.SetMinimum(0);
  g_test.Draw("LP same");
  TLegend legend(0.6, 0.75, 0.88, 0.88);
  legend.AddEntry(&g_train, "training", "lp");
  legend.AddEntry(&g_test, "test", "lp");
  legend.Draw();
  canvas.cd(2);
  g_acc.SetMarkerStyle(20);
  g_acc.Draw("ALP");
  canvas.SaveAs(TString(out) + ".png");
  printf("wrote %s.root (history) and %s.png\n", out, out);
}
