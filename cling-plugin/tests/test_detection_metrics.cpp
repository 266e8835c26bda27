// The detector metrics (metrics/detection.hpp) on cases worked by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "metrics/detection.hpp"

namespace m = torchclad::metrics;

TEST(DetectionMetrics, AucOfSeparatedAndMixedScores) {
  const std::vector<int> labels{0, 0, 1, 1};
  EXPECT_DOUBLE_EQ(m::roc_auc(std::vector<float>{0.1f, 0.2f, 0.8f, 0.9f}, labels), 1.0);
  EXPECT_DOUBLE_EQ(m::roc_auc(std::vector<float>{0.9f, 0.8f, 0.2f, 0.1f}, labels), 0.0);
  // Pairs (signal, noise): (0.3,0.1) win, (0.3,0.4) lose, (0.5,0.1) win, (0.5,0.4) win: 3/4.
  EXPECT_DOUBLE_EQ(m::roc_auc(std::vector<float>{0.1f, 0.4f, 0.3f, 0.5f}, labels), 0.75);
  // Ties count one half: every score equal gives 0.5.
  EXPECT_DOUBLE_EQ(m::roc_auc(std::vector<float>{1, 1, 1, 1}, labels), 0.5);
}

TEST(DetectionMetrics, RocCurvePointsAndAreaAgree) {
  const std::vector<float> scores{0.1f, 0.4f, 0.35f, 0.8f, 0.4f};
  const std::vector<int> labels{0, 0, 1, 1, 1};
  const auto roc = m::roc_curve(scores, labels);
  // Distinct scores 0.8, 0.4 (one signal and one noise tied), 0.35, 0.1, plus the origin.
  ASSERT_EQ(roc.threshold.size(), 5u);
  EXPECT_DOUBLE_EQ(roc.true_positive_rate[1], 1.0 / 3);
  EXPECT_DOUBLE_EQ(roc.false_positive_rate[2], 0.5);
  EXPECT_DOUBLE_EQ(roc.true_positive_rate[2], 2.0 / 3);
  EXPECT_DOUBLE_EQ(roc.false_positive_rate.back(), 1.0);
  EXPECT_DOUBLE_EQ(roc.true_positive_rate.back(), 1.0);
  // The trapezoidal area under these points is the Mann-Whitney AUC.
  double area = 0;
  for (size_t i = 1; i < roc.threshold.size(); ++i)
    area += (roc.false_positive_rate[i] - roc.false_positive_rate[i - 1]) *
            (roc.true_positive_rate[i] + roc.true_positive_rate[i - 1]) / 2;
  EXPECT_NEAR(area, m::roc_auc(scores, labels), 1e-12);
}

TEST(DetectionMetrics, ThresholdKeepsTheFalseAlarmAtMostAsked) {
  std::vector<float> scores;
  std::vector<int> labels;
  for (int i = 0; i < 200; ++i) scores.push_back(i), labels.push_back(0);  // noise 0..199
  scores.push_back(1000), labels.push_back(1);
  const double t = m::threshold_at_false_alarm(scores, labels, 0.01);
  int above = 0;
  for (int i = 0; i < 200; ++i) above += scores[i] > t;
  EXPECT_EQ(above, 2);  // 1% of 200
  EXPECT_DOUBLE_EQ(t, 197);
  EXPECT_THROW(m::threshold_at_false_alarm(scores, labels, 0), std::invalid_argument);
}

TEST(DetectionMetrics, EfficiencyBinsCountDetectedSignals) {
  const std::vector<float> scores{5, 0, 5, 5, 0, -1};
  const std::vector<int> labels{1, 1, 1, 1, 1, 0};
  const std::vector<float> snr{4.5f, 4.2f, 10.1f, 9.7f, 10.3f, 0};
  const std::vector<double> edges{4, 5, 9.5, 10.5};
  const auto bins = m::efficiency_vs_snr(scores, labels, snr, 1.0, edges);
  ASSERT_EQ(bins.size(), 3u);
  EXPECT_EQ(bins[0].signals, 2);
  EXPECT_EQ(bins[0].detected, 1);
  EXPECT_EQ(bins[1].signals, 0);
  EXPECT_EQ(bins[2].signals, 3);
  EXPECT_EQ(bins[2].detected, 2);
  EXPECT_DOUBLE_EQ(bins[2].efficiency, 2.0 / 3);
  EXPECT_LT(bins[2].interval_low, bins[2].efficiency);
  EXPECT_GT(bins[2].interval_high, bins[2].efficiency);
}

TEST(DetectionMetrics, SummaryOfAPerfectDetector) {
  std::vector<float> scores, snr;
  std::vector<int> labels;
  for (int i = 0; i < 300; ++i) {
    const bool signal = i % 2;
    labels.push_back(signal);
    snr.push_back(signal ? 5 + (i % 30) * 0.5f : 0);
    scores.push_back(signal ? 2 + snr.back() : -2 + (i % 7) * 0.1f);
  }
  const auto d = m::detection_metrics(scores, labels, snr);
  EXPECT_EQ(d.signals, 150);
  EXPECT_EQ(d.noise, 150);
  EXPECT_DOUBLE_EQ(d.accuracy, 1.0);
  EXPECT_DOUBLE_EQ(d.auc, 1.0);
  EXPECT_DOUBLE_EQ(d.auc_snr_ge_8, 1.0);
  EXPECT_DOUBLE_EQ(d.efficiency_snr10, 1.0);
  EXPECT_GT(d.signals_snr10, 0);
  EXPECT_FALSE(d.efficiency.empty());
}

TEST(DetectionMetrics, BadInputIsNamed) {
  const std::vector<float> two{0.1f, 0.2f};
  try {
    m::roc_auc(two, std::vector<int>{0, 2});
    FAIL() << "no error for label 2";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("label 1 is 2, expected 0 (noise) or 1 (signal)"),
              std::string::npos);
  }
  EXPECT_THROW(m::roc_auc(two, std::vector<int>{1, 1}), std::invalid_argument);  // one class only
  EXPECT_THROW(m::roc_auc(two, std::vector<int>{1}), std::invalid_argument);     // sizes
  EXPECT_THROW(m::roc_auc(std::vector<float>{0.f, NAN}, std::vector<int>{0, 1}), std::invalid_argument);
}

TEST(DetectionMetrics, EdgeCasesOfSnr) {
  // Every signal exactly at SNR 10 (a whole number): counted in the last bin.
  const std::vector<float> scores{3, 4, -1, -2};
  const std::vector<int> labels{1, 1, 0, 0};
  const auto d = m::detection_metrics(scores, labels, std::vector<float>{10, 10, 0, 0});
  int64_t counted = 0;
  for (const auto& b : d.efficiency) counted += b.signals;
  EXPECT_EQ(counted, 2);
  EXPECT_EQ(d.signals_snr10, 2);
  // No signal at SNR >= 8: that AUC is not measured (NaN), not 0.
  EXPECT_TRUE(std::isnan(m::detection_metrics(scores, labels, std::vector<float>{5, 6, 0, 0}).auc_snr_ge_8));
  // A non-finite or negative SNR is named, not looped over.
  try {
    m::detection_metrics(scores, labels, std::vector<float>{5, INFINITY, 0, 0});
    FAIL() << "no error for an infinite SNR";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("the SNR of signal window 1 is inf"), std::string::npos) << e.what();
  }
  EXPECT_THROW(m::detection_metrics(scores, labels, std::vector<float>{-1, 5, 0, 0}), std::invalid_argument);
  // Very loud signals: bins get wider, their number stays bounded.
  const auto loud = m::detection_metrics(scores, labels, std::vector<float>{1e9f, 5, 0, 0});
  EXPECT_LE(loud.efficiency.size(), 202u);
}
