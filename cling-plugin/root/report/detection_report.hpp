#pragma once
// A detector's results as ROOT objects and plots: the ROC curve, the
// detection efficiency against SNR at the chosen false-alarm probability,
// and the score distributions of signal and noise windows, written into one
// ROOT file and drawn as PNGs with TCanvas.
#include <span>
#include <string>
#include <vector>

#include "metrics/detection.hpp"

namespace torchclad::report {

struct DetectionReport {
  std::string root_file;
  std::vector<std::string> pngs;  // ROC, efficiency, scores
};

// Writes <prefix>.root (TGraph "roc", TGraphAsymmErrors "efficiency_vs_snr",
// TH1D "scores_signal" and "scores_noise", TNamed "summary") and
// <prefix>_roc.png, <prefix>_efficiency.png, <prefix>_scores.png; `title`
// names the run on the plots (e.g. "clad, cnn-2048-..."). Creates the
// prefix's directory. Throws std::runtime_error naming a path it cannot write.
DetectionReport write_detection_report(const metrics::DetectionMetrics& m, std::span<const float> scores,
                                       std::span<const int> labels, const std::string& prefix,
                                       const std::string& title);

// One line: "AUC 0.987 (SNR >= 8: 0.999), efficiency at SNR 10 and 1% false
// alarm 96.2% (of 131), accuracy 93.1%".
std::string summary_line(const metrics::DetectionMetrics& m);

}  // namespace torchclad::report
