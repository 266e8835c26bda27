#include "train/event_weights.hpp"

#include <algorithm>
#include <cmath>
#include <random>

namespace torchclad::train {

void check_weight_sums(const WeightSums& s, const std::string& model) {
  TORCH_CHECK(s.sum > 1e-6 * s.sum_abs, "model '", model, "': the training weights sum to ", s.sum,
              " while their absolute values sum to ", s.sum_abs,
              "; positive and negative weights nearly cancel, so each event's loss factor w / mean(w) "
              "would be huge: give the set a clearly positive sum of weights");
}

EventWeights::EventWeights(const torch::Tensor& weights, int64_t n, bool sampling, uint64_t seed,
                           const std::string& model, int first_epoch)
    : seed_(seed), epoch_(static_cast<uint64_t>(first_epoch - 1)) {
  TORCH_CHECK(!sampling || weights.defined(), "model '", model,
              "': weighted sampling needs per-event weights, but the training set has none");
  if (!weights.defined()) return;
  const auto wd = weights.to(torch::kFloat64).contiguous();
  const double* w = wd.data_ptr<double>();
  WeightSums sums;
  for (int64_t i = 0; i < n; ++i) sums.sum += w[i], sums.sum_abs += std::abs(w[i]);
  check_weight_sums(sums, model);
  const double sum = sums.sum, sum_abs = sums.sum_abs;
  factor_.resize(n);
  for (int64_t i = 0; i < n; ++i)
    factor_[i] = sampling ? static_cast<float>((w[i] > 0   ? 1
                                                : w[i] < 0 ? -1
                                                           : 0) *
                                               sum_abs / sum)
                          : static_cast<float>(w[i] * double(n) / sum);
  if (!sampling) return;
  cumulative_.resize(n);
  double run = 0;
  for (int64_t i = 0; i < n; ++i) cumulative_[i] = (run += std::abs(w[i])) / sum_abs;
  drawn_.resize(n);
}

void EventWeights::draw_epoch() {
  const int64_t n = static_cast<int64_t>(drawn_.size());
  std::mt19937_64 rng((seed_ ^ 0x9e3779b97f4a7c15ull) * 1000003 + ++epoch_);
  for (int64_t k = 0; k < n; ++k) {
    const double u = static_cast<double>(rng() >> 11) * 0x1p-53;
    const auto it = std::upper_bound(cumulative_.begin(), cumulative_.end(), u);
    drawn_[k] = std::min<int64_t>(it - cumulative_.begin(), n - 1);
  }
}

}  // namespace torchclad::train
