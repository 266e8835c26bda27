#pragma once
// Per-event weights as every trainer applies them to its batches (the rule is
// written in train/model_trainer.hpp): each event's loss factor, and with
// weighted sampling each epoch's draws with replacement.
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace torchclad::train {

// The sums of a training set's weights, from which every trainer scales each
// event's loss (w_i / mean(w)).
struct WeightSums {
  double sum = 0, sum_abs = 0;
};

// The one rule for a usable set of weights: their sum is clearly positive
// (above 1e-6 of the sum of their absolute values); otherwise the factors of
// 1/sum overflow the steps. Throws c10::Error naming `model` and both sums.
void check_weight_sums(const WeightSums& sums, const std::string& model);

class EventWeights {
 public:
  // w: float [n] (undefined: every weight 1, nothing to do). Weighted
  // sampling needs weights (throws c10::Error without them, naming `model`),
  // and so does a sum of weights that nearly cancels (the factors would
  // overflow). first_epoch: the epoch the run starts at (a resumed run's).
  EventWeights(const torch::Tensor& w, int64_t n, bool sampling, uint64_t seed, const std::string& model,
               int first_epoch = 1);

  bool weighted() const { return !factor_.empty(); }
  bool sampling() const { return !drawn_.empty(); }
  // Weighted sampling: draws the next epoch's events, seeded by (seed, epoch)
  // apart from the shuffle's generator (call once per epoch, in order).
  void draw_epoch();
  // The event at position p of an epoch's order (the draws are with
  // replacement, so the shuffle of positions keeps them independent).
  int64_t row(int64_t p) const { return drawn_.empty() ? p : drawn_[p]; }
  float factor(int64_t row) const { return factor_[row]; }

 private:
  uint64_t seed_ = 0, epoch_ = 0;
  std::vector<float> factor_;
  std::vector<double> cumulative_;
  std::vector<int64_t> drawn_;
};

}  // namespace torchclad::train
