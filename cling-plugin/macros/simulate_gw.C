// Simulates whitened gravitational-wave detector strain with torchclad's
// simulator (half the windows with an inspiral chirp at a target SNR), then
// draws one signal window, one noise window and the detector PSD to a PNG.
//
//   scripts/troot -b -q 'cling-plugin/macros/simulate_gw.C("gw.root", 2000, 500)'
R__LOAD_LIBRARY(libtorchclad_gw.so)
#include "torchclad/gw_simulator.h"

#include <TCanvas.h>
#include <TFile.h>
#include <TGraph.h>
#include <TTree.h>

#include <cstdio>
#include <vector>

void simulate_gw(const char* path = "gw.root", long long train = 2000, long long test = 500,
                 const char* png = "simulate_gw.png", unsigned long long seed = 42) {
  torchclad::gw::SimulationOptions options;
  options.train = train;
  options.test = test;
  options.seed = seed;
  options.progress = false;
  const long long written = torchclad::gw::simulate(options, path);

  TFile file(path);
  auto* tree = file.Get<TTree>("train");
  const int n = static_cast<int>(options.sample_rate * options.duration);
  std::vector<float> strain(n);
  int label = 0;
  float snr = 0, mass1 = 0, mass2 = 0, merger_time = 0;
  tree->SetBranchAddress("strain", strain.data());
  tree->SetBranchAddress("label", &label);
  tree->SetBranchAddress("snr", &snr);
  tree->SetBranchAddress("mass1", &mass1);
  tree->SetBranchAddress("mass2", &mass2);
  tree->SetBranchAddress("merger_time", &merger_time);

  TCanvas canvas("simulate_gw", "torchclad-gw", 1200, 900);
  canvas.Divide(1, 3);
  std::vector<TGraph*> keep;
  bool drawn[2] = {false, false};
  for (Long64_t i = 0; i < tree->GetEntries() && !(drawn[0] && drawn[1]); ++i) {
    tree->GetEntry(i);
    if (drawn[label]) continue;
    drawn[label] = true;
    auto* g = new TGraph(n);
    for (int k = 0; k < n; ++k) g->SetPoint(k, k / options.sample_rate, strain[k]);
    if (label == 1)
      g->SetTitle(Form(
          "signal window %lld: %.1f + %.1f M_{#odot}, SNR %.1f, merger at %.3f s;time [s];whitened strain", i,
          mass1, mass2, snr, merger_time));
    else
      g->SetTitle(Form("noise window %lld;time [s];whitened strain", i));
    g->SetLineColor(label == 1 ? kRed + 1 : kBlue + 1);
    g->GetXaxis()->SetLimits(0, options.duration);
    canvas.cd(label == 1 ? 1 : 2);
    g->Draw("AL");
    keep.push_back(g);
  }
  canvas.cd(3);
  gPad->SetLogx();
  gPad->SetLogy();
  auto* psd = file.Get<TGraph>("psd");
  psd->SetTitle("aLIGO design sensitivity (zero detuning, high power);frequency [Hz];PSD [1/Hz]");
  psd->Draw("AL");
  canvas.SaveAs(png);
  printf("simulate_gw: wrote %lld windows to %s; drew %s\n", written, path, png);
}
