#pragma once
// Metrics of a binary detector (signal vs noise) from its scores: the ROC
// curve and its area, the threshold that gives a chosen false-alarm
// probability on noise, and the detection efficiency against the signals'
// SNR at that threshold — the figures gravitational-wave searches report.
//
// Plain C++ over spans of scores (higher = more signal-like), labels (1
// signal, 0 noise) and, for efficiency, each window's SNR.
#include <cstdint>
#include <span>
#include <vector>

namespace torchclad::metrics {

struct RocCurve {
  // Points from (0, 0) to (1, 1), one per distinct score, thresholds
  // decreasing: a window is called signal when its score >= threshold.
  std::vector<double> false_positive_rate, true_positive_rate, threshold;
};

// Throws std::invalid_argument if the sizes differ, a label is not 0 or 1,
// a score is not finite, or one class is absent.
RocCurve roc_curve(std::span<const float> scores, std::span<const int> labels);

// Area under the ROC curve = P(score of a random signal > score of a random
// noise window), ties counting one half (Mann-Whitney U / (n1 n0)).
double roc_auc(std::span<const float> scores, std::span<const int> labels);

// The smallest threshold t such that at most a fraction `false_alarm` of the
// noise windows have score > t (windows above t are called signal), i.e.
// the ceil(n0 * (1 - false_alarm))-th smallest noise score.
double threshold_at_false_alarm(std::span<const float> scores, std::span<const int> labels,
                                double false_alarm);

struct EfficiencyBin {
  double snr_low = 0, snr_high = 0;  // [low, high)
  int64_t signals = 0, detected = 0;
  double efficiency = 0;                       // detected / signals (0 when empty)
  double interval_low = 0, interval_high = 0;  // 68% Wilson score interval
};

// Fraction of signal windows with score > threshold, in SNR bins given by
// consecutive edges.
std::vector<EfficiencyBin> efficiency_vs_snr(std::span<const float> scores, std::span<const int> labels,
                                             std::span<const float> snr, double threshold,
                                             std::span<const double> edges);

struct DetectionMetrics {
  int64_t signals = 0, noise = 0;
  double accuracy = 0;          // at score 0 (a logit of 0 is probability 1/2)
  double auc = 0;               // all signals vs all noise
  double auc_snr_ge_8 = 0;      // signals with SNR >= 8 vs all noise (NaN: no such signal)
  double false_alarm = 0.01;    // the chosen false-alarm probability
  double threshold = 0;         // threshold_at_false_alarm(false_alarm)
  double efficiency_snr10 = 0;  // efficiency of signals with SNR in [9.5, 10.5) at threshold
  int64_t signals_snr10 = 0;    // how many signals that bin holds
  RocCurve roc;
  std::vector<EfficiencyBin> efficiency;  // unit SNR bins (wider past SNR 200) from 0 past the loudest signal
};

// Throws std::invalid_argument (see roc_auc) and for a signal whose SNR is
// not finite or negative.
DetectionMetrics detection_metrics(std::span<const float> scores, std::span<const int> labels,
                                   std::span<const float> snr, double false_alarm = 0.01);

}  // namespace torchclad::metrics
