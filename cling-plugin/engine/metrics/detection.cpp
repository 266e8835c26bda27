#include "metrics/detection.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>

namespace torchclad::metrics {
namespace {

void check(std::span<const float> scores, std::span<const int> labels, const char* who) {
  if (scores.size() != labels.size())
    throw std::invalid_argument(std::string(who) + ": " + std::to_string(scores.size()) + " scores but " +
                                std::to_string(labels.size()) + " labels");
  int64_t pos = 0, neg = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] != 0 && labels[i] != 1)
      throw std::invalid_argument(std::string(who) + ": label " + std::to_string(i) + " is " +
                                  std::to_string(labels[i]) + ", expected 0 (noise) or 1 (signal)");
    if (!std::isfinite(scores[i]))
      throw std::invalid_argument(std::string(who) + ": score " + std::to_string(i) + " is not finite (" +
                                  std::to_string(scores[i]) + ")");
    (labels[i] ? pos : neg)++;
  }
  if (pos == 0 || neg == 0)
    throw std::invalid_argument(std::string(who) + ": needs both classes, found " + std::to_string(pos) +
                                " signal and " + std::to_string(neg) + " noise windows");
}

// Indices sorted by score, highest first.
std::vector<size_t> by_score_descending(std::span<const float> scores) {
  std::vector<size_t> idx(scores.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  return idx;
}

}  // namespace

RocCurve roc_curve(std::span<const float> scores, std::span<const int> labels) {
  check(scores, labels, "roc_curve");
  const auto idx = by_score_descending(scores);
  const double pos = std::count(labels.begin(), labels.end(), 1);
  const double neg = labels.size() - pos;
  RocCurve roc;
  roc.false_positive_rate.push_back(0);
  roc.true_positive_rate.push_back(0);
  roc.threshold.push_back(std::numeric_limits<double>::infinity());
  double tp = 0, fp = 0;
  for (size_t k = 0; k < idx.size(); ++k) {
    (labels[idx[k]] ? tp : fp) += 1;
    // One point per distinct score: emit after the last window of a tie.
    if (k + 1 == idx.size() || scores[idx[k + 1]] != scores[idx[k]]) {
      roc.false_positive_rate.push_back(fp / neg);
      roc.true_positive_rate.push_back(tp / pos);
      roc.threshold.push_back(scores[idx[k]]);
    }
  }
  return roc;
}

double roc_auc(std::span<const float> scores, std::span<const int> labels) {
  check(scores, labels, "roc_auc");
  // Mann-Whitney: average ranks (ties share their mean rank), ascending.
  std::vector<size_t> idx(scores.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  double rank_sum = 0, pos = 0;
  for (size_t k = 0; k < idx.size();) {
    size_t end = k;
    while (end + 1 < idx.size() && scores[idx[end + 1]] == scores[idx[k]]) ++end;
    const double mean_rank = 0.5 * (k + end) + 1;
    for (size_t j = k; j <= end; ++j)
      if (labels[idx[j]]) rank_sum += mean_rank, pos += 1;
    k = end + 1;
  }
  const double neg = scores.size() - pos;
  return (rank_sum - pos * (pos + 1) / 2) / (pos * neg);
}

double threshold_at_false_alarm(std::span<const float> scores, std::span<const int> labels,
                                double false_alarm) {
  check(scores, labels, "threshold_at_false_alarm");
  if (!(false_alarm > 0 && false_alarm < 1))
    throw std::invalid_argument(
        "threshold_at_false_alarm: the false-alarm probability must be in (0, 1), found " +
        std::to_string(false_alarm));
  std::vector<float> noise;
  for (size_t i = 0; i < scores.size(); ++i)
    if (!labels[i]) noise.push_back(scores[i]);
  std::sort(noise.begin(), noise.end());
  // At most floor(n0 * fa) noise windows may lie strictly above the threshold.
  const auto allowed = static_cast<size_t>(std::floor(noise.size() * false_alarm + 1e-9));
  return noise[noise.size() - 1 - std::min(allowed, noise.size() - 1)];
}

std::vector<EfficiencyBin> efficiency_vs_snr(std::span<const float> scores, std::span<const int> labels,
                                             std::span<const float> snr, double threshold,
                                             std::span<const double> edges) {
  if (snr.size() != scores.size() || labels.size() != scores.size())
    throw std::invalid_argument("efficiency_vs_snr: scores, labels and snr differ in length (" +
                                std::to_string(scores.size()) + ", " + std::to_string(labels.size()) + ", " +
                                std::to_string(snr.size()) + ")");
  if (edges.size() < 2 || !std::is_sorted(edges.begin(), edges.end()))
    throw std::invalid_argument("efficiency_vs_snr: needs at least two increasing bin edges");
  std::vector<EfficiencyBin> bins(edges.size() - 1);
  for (size_t b = 0; b < bins.size(); ++b) bins[b].snr_low = edges[b], bins[b].snr_high = edges[b + 1];
  for (size_t i = 0; i < scores.size(); ++i) {
    if (!labels[i]) continue;
    auto it = std::upper_bound(edges.begin(), edges.end(), static_cast<double>(snr[i]));
    if (it == edges.begin()) continue;
    // The last bin is closed on the right: a signal exactly at the top edge counts.
    if (it == edges.end()) {
      if (static_cast<double>(snr[i]) != edges.back()) continue;
      --it;
    }
    auto& bin = bins[it - edges.begin() - 1];
    ++bin.signals;
    if (scores[i] > threshold) ++bin.detected;
  }
  constexpr double z = 1.0;  // 68% (one sigma) Wilson interval
  for (auto& bin : bins) {
    if (bin.signals == 0) continue;
    const double n = bin.signals, p = bin.detected / n;
    bin.efficiency = p;
    const double centre = (p + z * z / (2 * n)) / (1 + z * z / n);
    const double half = z * std::sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n);
    bin.interval_low = std::max(0.0, centre - half);
    bin.interval_high = std::min(1.0, centre + half);
  }
  return bins;
}

DetectionMetrics detection_metrics(std::span<const float> scores, std::span<const int> labels,
                                   std::span<const float> snr, double false_alarm) {
  check(scores, labels, "detection_metrics");
  if (snr.size() != scores.size())
    throw std::invalid_argument("detection_metrics: " + std::to_string(scores.size()) + " scores but " +
                                std::to_string(snr.size()) + " SNR values");
  DetectionMetrics m;
  int64_t correct = 0;
  float snr_max = 0;
  std::vector<float> loud_scores;
  std::vector<int> loud_labels;
  for (size_t i = 0; i < scores.size(); ++i) {
    if (labels[i] && !(std::isfinite(snr[i]) && snr[i] >= 0))
      throw std::invalid_argument("detection_metrics: the SNR of signal window " + std::to_string(i) +
                                  " is " + std::to_string(snr[i]) + "; expected a finite value >= 0");
    (labels[i] ? m.signals : m.noise)++;
    correct += (scores[i] > 0) == (labels[i] == 1);
    if (labels[i]) snr_max = std::max(snr_max, snr[i]);
    if (!labels[i] || snr[i] >= 8) loud_scores.push_back(scores[i]), loud_labels.push_back(labels[i]);
  }
  m.accuracy = double(correct) / scores.size();
  m.auc = roc_auc(scores, labels);
  m.auc_snr_ge_8 = std::count(loud_labels.begin(), loud_labels.end(), 1) > 0
                       ? roc_auc(loud_scores, loud_labels)
                       : std::numeric_limits<double>::quiet_NaN();
  m.false_alarm = false_alarm;
  m.threshold = threshold_at_false_alarm(scores, labels, false_alarm);
  const double snr10[] = {9.5, 10.5};
  const auto bin10 = efficiency_vs_snr(scores, labels, snr, m.threshold, snr10);
  m.efficiency_snr10 = bin10[0].efficiency;
  m.signals_snr10 = bin10[0].signals;
  m.roc = roc_curve(scores, labels);
  // Unit bins from 0 past the loudest signal; at most kMaxBins of them (wider
  // bins for a data set with very loud signals).
  constexpr int kMaxBins = 200;
  const double width = std::max(1.0, std::ceil((std::floor(double(snr_max)) + 1) / kMaxBins));
  std::vector<double> edges;
  for (double e = 0; e <= snr_max + width; e += width) edges.push_back(e);
  m.efficiency = efficiency_vs_snr(scores, labels, snr, m.threshold, edges);
  return m;
}

}  // namespace torchclad::metrics
