#pragma once
// Metrics of classifiers and regressions with per-event weights (HEP Monte
// Carlo weights, negative ones included): every sum over events is a sum of
// their weights, as TMVA's weighted ROC and efficiencies are. With every
// weight 1 they equal the unweighted metrics.
#include <span>

#include "metrics/detection.hpp"

namespace torchclad::metrics {

// sum over signal s and background b of w_s w_b ([score_s > score_b] + 1/2
// [score_s == score_b]) / (W_signal W_background): the weighted
// Mann-Whitney statistic. Throws std::invalid_argument if the sizes differ, a
// label is not 0 or 1, a score or weight is not finite, or a class's weights
// do not sum to a positive number.
double weighted_roc_auc(std::span<const float> scores, std::span<const int> labels,
                        std::span<const float> weights);

// The ROC curve from (0, 0) to (1, 1), one point per distinct score, thresholds
// decreasing: true positive rate = signal weight above the threshold over the
// signal's total weight, false positive rate the same for background. With
// negative weights a rate may step down. Same errors as weighted_roc_auc.
RocCurve weighted_roc_curve(std::span<const float> scores, std::span<const int> labels,
                            std::span<const float> weights);

}  // namespace torchclad::metrics
