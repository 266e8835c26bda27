#include "report/detection_report.hpp"

#include <TCanvas.h>
#include <TDirectory.h>
#include <TFile.h>
#include <TGraph.h>
#include <TGraphAsymmErrors.h>
#include <TH1D.h>
#include <TLegend.h>
#include <TLine.h>
#include <TNamed.h>
#include <TROOT.h>
#include <TStyle.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>

namespace torchclad::report {
namespace {

std::string percent(double x) {
  char s[32];
  std::snprintf(s, sizeof s, "%.1f%%", 100 * x);
  return s;
}

void save(TCanvas& c, const std::string& path, std::vector<std::string>& pngs) {
  std::error_code ec;
  std::filesystem::remove(path, ec);  // a stale file must not pass for a written one
  c.SaveAs(path.c_str());
  if (!std::filesystem::exists(path))
    throw std::runtime_error("write_detection_report: could not write " + path);
  pngs.push_back(path);
}

}  // namespace

std::string summary_line(const metrics::DetectionMetrics& m) {
  char loud[16] = "n/a";
  if (!std::isnan(m.auc_snr_ge_8)) std::snprintf(loud, sizeof loud, "%.4f", m.auc_snr_ge_8);
  char s[256];
  std::snprintf(s, sizeof s,
                "AUC %.4f (SNR >= 8: %s), efficiency at SNR 10 and %s false alarm %s (of %lld), "
                "accuracy %s",
                m.auc, loud, percent(m.false_alarm).c_str(), percent(m.efficiency_snr10).c_str(),
                static_cast<long long>(m.signals_snr10), percent(m.accuracy).c_str());
  return s;
}

DetectionReport write_detection_report(const metrics::DetectionMetrics& m, std::span<const float> scores,
                                       std::span<const int> labels, const std::string& prefix,
                                       const std::string& title) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(prefix).parent_path();
  std::error_code ec;
  if (!dir.empty()) fs::create_directories(dir, ec);
  if (ec)
    throw std::runtime_error("write_detection_report: cannot create directory '" + dir.string() +
                             "': " + ec.message());
  struct BatchMode {  // draw into files, never open a window; restored however we leave
    bool was = gROOT->IsBatch();
    BatchMode() { gROOT->SetBatch(true); }
    ~BatchMode() { gROOT->SetBatch(was); }
  } batch_mode;
  TDirectory::TContext keep_current_directory;
  DetectionReport out;
  out.root_file = prefix + ".root";

  TGraph roc(static_cast<int>(m.roc.threshold.size()));
  for (size_t i = 0; i < m.roc.threshold.size(); ++i)
    roc.SetPoint(static_cast<int>(i), m.roc.false_positive_rate[i], m.roc.true_positive_rate[i]);
  roc.SetName("roc");
  char auc[16];
  std::snprintf(auc, sizeof auc, "%.4f", m.auc);
  const std::string roc_title =
      title + ": ROC (AUC " + auc + ");false-alarm probability;detection probability";
  roc.SetTitle(roc_title.c_str());

  TGraphAsymmErrors eff;
  eff.SetName("efficiency_vs_snr");
  eff.SetTitle(
      (title + ": efficiency at " + percent(m.false_alarm) + " false alarm;optimal SNR;detection efficiency")
          .c_str());
  for (const auto& b : m.efficiency) {
    if (b.signals == 0) continue;
    const int k = eff.GetN();
    const double mid = 0.5 * (b.snr_low + b.snr_high), half = 0.5 * (b.snr_high - b.snr_low);
    eff.SetPoint(k, mid, b.efficiency);
    eff.SetPointError(k, half, half, b.efficiency - b.interval_low, b.interval_high - b.efficiency);
  }

  const auto [lo_it, hi_it] = std::minmax_element(scores.begin(), scores.end());
  const double lo = scores.empty() ? -1 : *lo_it, hi = scores.empty() ? 1 : *hi_it;
  const double pad = 0.02 * (hi - lo + 1e-6);
  TH1D sig("scores_signal", (title + ": scores;logit;windows").c_str(), 60, lo - pad, hi + pad);
  TH1D noise("scores_noise", (title + ": scores;logit;windows").c_str(), 60, lo - pad, hi + pad);
  sig.SetDirectory(nullptr);
  noise.SetDirectory(nullptr);
  for (size_t i = 0; i < scores.size(); ++i) (labels[i] ? sig : noise).Fill(scores[i]);
  TNamed summary("summary", summary_line(m).c_str());

  {
    std::unique_ptr<TFile> f(TFile::Open(out.root_file.c_str(), "RECREATE"));
    if (!f || f->IsZombie())
      throw std::runtime_error("write_detection_report: cannot create '" + out.root_file + "'");
    f->WriteTObject(&roc);
    f->WriteTObject(&eff);
    f->WriteTObject(&sig);
    f->WriteTObject(&noise);
    f->WriteTObject(&summary);
    f->Close();
  }

  gStyle->SetOptStat(0);
  {
    TCanvas c("torchclad_roc", "ROC", 800, 600);
    c.SetLogx();
    c.SetGrid();
    // Log x: start at the smallest non-zero false-alarm rate.
    TGraph drawn;
    for (int i = 0; i < roc.GetN(); ++i)
      if (roc.GetPointX(i) > 0) drawn.SetPoint(drawn.GetN(), roc.GetPointX(i), roc.GetPointY(i));
    drawn.SetTitle(roc_title.c_str());
    drawn.SetLineWidth(2);
    drawn.SetLineColor(kAzure + 2);
    drawn.Draw("AL");
    drawn.GetYaxis()->SetRangeUser(0, 1.02);
    TLine fa(m.false_alarm, 0, m.false_alarm, 1.02);
    fa.SetLineStyle(2);
    fa.SetLineColor(kRed + 1);
    fa.Draw();
    save(c, prefix + "_roc.png", out.pngs);
  }
  {
    TCanvas c("torchclad_efficiency", "efficiency", 800, 600);
    c.SetGrid();
    eff.SetMarkerStyle(20);
    eff.SetMarkerColor(kAzure + 2);
    eff.SetLineColor(kAzure + 2);
    eff.Draw("AP");
    eff.GetYaxis()->SetRangeUser(0, 1.05);
    TLine ninety(eff.GetXaxis()->GetXmin(), 0.9, eff.GetXaxis()->GetXmax(), 0.9);
    ninety.SetLineStyle(2);
    ninety.SetLineColor(kRed + 1);
    ninety.Draw();
    save(c, prefix + "_efficiency.png", out.pngs);
  }
  {
    TCanvas c("torchclad_scores", "scores", 800, 600);
    c.SetLogy();
    noise.SetLineColor(kGray + 2);
    noise.SetLineWidth(2);
    sig.SetLineColor(kAzure + 2);
    sig.SetLineWidth(2);
    noise.SetMaximum(2 * std::max(noise.GetMaximum(), sig.GetMaximum()));
    noise.SetMinimum(0.5);
    noise.Draw("HIST");
    sig.Draw("HIST SAME");
    TLine t(m.threshold, 0.5, m.threshold, noise.GetMaximum());
    t.SetLineStyle(2);
    t.SetLineColor(kRed + 1);
    t.Draw();
    TLegend legend(0.62, 0.75, 0.88, 0.88);
    legend.AddEntry(&noise, "noise windows", "l");
    legend.AddEntry(&sig, "signal windows", "l");
    legend.AddEntry(&t, ("threshold at " + percent(m.false_alarm) + " false alarm").c_str(), "l");
    legend.Draw();
    save(c, prefix + "_scores.png", out.pngs);
  }
  return out;
}

}  // namespace torchclad::report
