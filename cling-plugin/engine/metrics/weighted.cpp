#include "metrics/weighted.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

namespace torchclad::metrics {
namespace {

struct Totals {
  double signal = 0, background = 0;
};

Totals check(std::span<const float> scores, std::span<const int> labels, std::span<const float> weights,
             const char* who) {
  if (scores.size() != labels.size() || scores.size() != weights.size())
    throw std::invalid_argument(std::string(who) + ": " + std::to_string(scores.size()) + " scores, " +
                                std::to_string(labels.size()) + " labels and " +
                                std::to_string(weights.size()) + " weights; expected as many of each");
  Totals t;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] != 0 && labels[i] != 1)
      throw std::invalid_argument(std::string(who) + ": the label of sample " + std::to_string(i) + " is " +
                                  std::to_string(labels[i]) + "; expected 0 (background) or 1 (signal)");
    if (!std::isfinite(scores[i]))
      throw std::invalid_argument(std::string(who) + ": the score of sample " + std::to_string(i) +
                                  " is not finite");
    if (!std::isfinite(weights[i]))
      throw std::invalid_argument(std::string(who) + ": the weight of sample " + std::to_string(i) +
                                  " is not finite");
    (labels[i] ? t.signal : t.background) += weights[i];
  }
  if (!(t.signal > 0) || !(t.background > 0))
    throw std::invalid_argument(std::string(who) +
                                ": the weights of each class must sum to a positive "
                                "number, found signal " +
                                std::to_string(t.signal) + " and background " + std::to_string(t.background));
  return t;
}

std::vector<size_t> sorted_by_score(std::span<const float> scores, bool descending) {
  std::vector<size_t> idx(scores.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(),
            [&](size_t a, size_t b) { return descending ? scores[a] > scores[b] : scores[a] < scores[b]; });
  return idx;
}

}  // namespace

double weighted_roc_auc(std::span<const float> scores, std::span<const int> labels,
                        std::span<const float> weights) {
  const Totals t = check(scores, labels, weights, "weighted_roc_auc");
  const auto idx = sorted_by_score(scores, false);
  // Walk the scores upwards a tie group at a time: each signal event beats
  // the background weight below its group and ties half of its group's.
  double below = 0, sum = 0;
  for (size_t k = 0; k < idx.size();) {
    size_t end = k;
    while (end + 1 < idx.size() && scores[idx[end + 1]] == scores[idx[k]]) ++end;
    double s = 0, b = 0;
    for (size_t j = k; j <= end; ++j) (labels[idx[j]] ? s : b) += weights[idx[j]];
    sum += s * (below + 0.5 * b);
    below += b;
    k = end + 1;
  }
  return sum / (t.signal * t.background);
}

RocCurve weighted_roc_curve(std::span<const float> scores, std::span<const int> labels,
                            std::span<const float> weights) {
  const Totals t = check(scores, labels, weights, "weighted_roc_curve");
  const auto idx = sorted_by_score(scores, true);
  RocCurve roc;
  roc.false_positive_rate.push_back(0);
  roc.true_positive_rate.push_back(0);
  roc.threshold.push_back(std::numeric_limits<double>::infinity());
  double tp = 0, fp = 0;
  for (size_t k = 0; k < idx.size(); ++k) {
    (labels[idx[k]] ? tp : fp) += weights[idx[k]];
    if (k + 1 == idx.size() || scores[idx[k + 1]] != scores[idx[k]]) {
      roc.false_positive_rate.push_back(fp / t.background);
      roc.true_positive_rate.push_back(tp / t.signal);
      roc.threshold.push_back(scores[idx[k]]);
    }
  }
  return roc;
}

}  // namespace torchclad::metrics
