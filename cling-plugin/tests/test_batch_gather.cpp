// Batches copied ahead on a thread of their own (train/batch_gather.hpp) and
// train_engine's use of them: every step gets the rows of the seeded
// shuffle, in order, whether its batch was copied ahead or on the spot.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <sstream>
#include <vector>

#include "model/mlp_definition.hpp"
#include "train/batch_gather.hpp"
#include "train/trainer.hpp"

namespace torchclad::train {
namespace {

// Row r of a set: x = (r, r + 0.5, ...), y = 100 + r, weight 1 + r / 10.
struct Rows {
  int64_t xw = 5;
  std::vector<float> x, y;
  explicit Rows(int n) {
    for (int r = 0; r < n; ++r) {
      for (int j = 0; j < xw; ++j) x.push_back(r + 0.5f * j);
      y.push_back(100.f + r);
    }
  }
  BatchGather::Row row(int r) const { return {x.data() + r * xw, y.data() + r, 1 + r / 10.f}; }
};

void expect_batch(const BatchGather& g, const std::vector<int>& rows, const Rows& set) {
  for (size_t i = 0; i < rows.size(); ++i) {
    for (int j = 0; j < set.xw; ++j) EXPECT_EQ(g.x()[i * set.xw + j], rows[i] + 0.5f * j) << i;
    EXPECT_EQ(g.y()[i], 100.f + rows[i]) << i;
    EXPECT_EQ(g.w()[i], 1 + rows[i] / 10.f) << i;
  }
}

class Gather : public ::testing::TestWithParam<bool> {};

TEST_P(Gather, CopiesTheListedRowsNowOrAhead) {
  const Rows set(50);
  BatchGather g(4, set.xw, 1, GetParam());
  EXPECT_EQ(g.ahead(), GetParam());
  const std::vector<int> first{7, 3, 49, 0}, second{12, 13, 2};
  for (int i = 0; i < 4; ++i) g.rows()[i] = set.row(first[i]);
  g.copy_now(4);
  expect_batch(g, first, set);
  for (int i = 0; i < 3; ++i) g.rows()[i] = set.row(second[i]);
  g.copy_ahead(3);
  expect_batch(g, first, set);  // the batch being trained on stays as it is
  g.wait_ahead();
  expect_batch(g, second, set);
  g.wait_ahead();  // nothing in flight: the batch stays
  expect_batch(g, second, set);
  // A copy ahead that is dropped leaves the batch as it was.
  for (int i = 0; i < 4; ++i) g.rows()[i] = set.row(first[i]);
  g.copy_ahead(4);
  g.cancel_ahead();
  g.wait_ahead();
  expect_batch(g, second, set);
}

INSTANTIATE_TEST_SUITE_P(AheadOrNot, Gather, ::testing::Bool());

// train_engine on rows whose x holds their index: the batches the steps get
// are the seeded shuffle's (run_loop.cpp: iota shuffled by
// mt19937_64(seed * 1000003 + epoch)), in order, over 2 epochs and a last
// partial batch. The steps' batches are copied in groups of several steps
// (trainer.cpp: about 1 MiB, at most 16 steps), ahead on the worker from 32
// KiB a group: batch 1 (groups of 16 rows: 50 KB), 7 (16 steps, the last
// group of an epoch shorter), 64 (5 steps: one group is the epoch), 299 (a
// last batch of 1 row), 300 (one step an epoch) and 512 (larger than the set).
class TrainEngineBatches : public ::testing::TestWithParam<int> {};

TEST_P(TrainEngineBatches, AreTheSeededShufflesRowsInOrder) {
  const int batch = GetParam(), n = 300, epochs = 2;
  DefinedModel model(mlp_definition({{784, 4, 3}, kernels::kRelu}), 1);
  auto x = torch::zeros({n, 784});
  for (int r = 0; r < n; ++r) x[r][0] = r;
  auto y = (torch::arange(n) % 3).to(torch::kFloat32).unsqueeze(1);
  RunSpec spec;
  spec.engine = "test";
  spec.model = model.definition().name;
  spec.epochs = epochs;
  spec.batch = batch;
  spec.seed = 11;
  spec.progress = false;
  std::vector<float> seen;  // x[., 0] of every row of every step, in order
  std::ostringstream log;
  train_engine(
      model, {x, y}, {x.narrow(0, 0, 10), y.narrow(0, 0, 10)}, spec,
      [&](const float* xb, const float* yb, const float*, int size) {
        for (int i = 0; i < size; ++i) {
          seen.push_back(xb[i * 784]);
          EXPECT_EQ(yb[i], float(int(xb[i * 784]) % 3));
        }
        return 1.0f;
      },
      log);
  std::vector<float> expected;
  for (int e = 1; e <= epochs; ++e) {
    std::vector<int64_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 rng(spec.seed * 1000003 + e);
    std::shuffle(order.begin(), order.end(), rng);
    for (int64_t r : order) expected.push_back(float(r));
  }
  EXPECT_EQ(seen, expected);
}

INSTANTIATE_TEST_SUITE_P(Batches, TrainEngineBatches, ::testing::Values(1, 7, 64, 299, 300, 512));

}  // namespace
}  // namespace torchclad::train
