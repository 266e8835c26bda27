// The single-process side of data-parallel training (engine/dist/): the
// share rule, a world of one process leaving gradients alone, and the
// optimizer state a checkpoint keeps. The ranks themselves are tested under
// mpirun (tests/mpi/, ctest -R mpi).
#include <gtest/gtest.h>

#include <vector>

#include "dist/communicator.hpp"
#include "dist/data_parallel.hpp"
#include "optim/optimizers.hpp"

using namespace torchclad;

TEST(DataParallelShares, CoverTheGlobalBatchOnceWithAtMostOneSampleOfDifference) {
  for (int ranks : {1, 2, 3, 4, 7})
    for (int64_t m : {0, 1, 2, 3, 5, 16, 17, 63, 64}) {
      int64_t next = 0, smallest = m, largest = 0;
      for (int r = 0; r < ranks; ++r) {
        const auto s = dist::share_of(m, r, ranks);
        EXPECT_EQ(s.begin, next) << "m " << m << ", rank " << r << " of " << ranks;
        next = s.end;
        smallest = std::min(smallest, s.size());
        largest = std::max(largest, s.size());
      }
      EXPECT_EQ(next, m);
      EXPECT_LE(largest - smallest, 1) << "m " << m << ", " << ranks << " ranks";
    }
  // A full global batch gives every rank exactly the local batch.
  for (int r = 0; r < 4; ++r) EXPECT_EQ(dist::share_of(4 * 16, r, 4).size(), 16);
}

TEST(DataParallelShares, OneProcessLeavesGradientsAndLossAlone) {
  ASSERT_FALSE(dist::distributed());
  EXPECT_EQ(dist::rank_label(), "");
  std::vector<float> g{1.5f, -2.0f, 3.25f};
  dist::set_step_share(0, 8);  // even an empty share: one process has no others to wait for
  dist::average_gradients(g.data(), 3);
  EXPECT_EQ(g, (std::vector<float>{1.5f, -2.0f, 3.25f}));
  EXPECT_EQ(dist::global_mean_loss(0.75), 0.75);
  EXPECT_NO_THROW(dist::check_same_options("--batch 8"));
  EXPECT_NO_THROW(dist::check_samples(1, "training samples"));
  dist::set_step_share(1, 1);
}

// What the error for ranks started with different options names first.
TEST(DataParallelOptions, TheFirstDifferenceNamesItsOption) {
  EXPECT_EQ(dist::first_difference("torchclad-train --data a.root --batch 8 --epochs 2",
                                   "torchclad-train --data a.root --batch 16 --epochs 2"),
            "'--batch 8' against '--batch 16'");
  EXPECT_EQ(dist::first_difference("fit of model m: engine clad, optimizer adam, batch 32",
                                   "fit of model m: engine clad, optimizer sgd, batch 32"),
            "'optimizer adam' against 'optimizer sgd'");
  EXPECT_EQ(dist::first_difference("app --data a.root", "app --data b.root"),
            "'--data a.root' against '--data b.root'");
  EXPECT_EQ(dist::first_difference("app --batch 8", "app --batch 8 --seed 3"),
            "nothing more against '--seed'");
  EXPECT_EQ(dist::first_difference("app --batch 8", "app --batch 8"), "");
}

// A checkpoint's optimizer state continues the run exactly (resume = uninterrupted).
TEST(FlatOptimizerState, ReloadedStateContinuesTheRunExactly) {
  for (const char* kind : {"sgd", "adam"}) {
    OptimizerConfig c;
    c.kind = kind;
    c.lr = 0.01;
    const int64_t n = 5;
    auto grads = [](int step) {
      std::vector<float> g(n);
      for (int i = 0; i < n; ++i) g[i] = 0.1f * (i + 1) * (step % 3 - 1) + 0.01f * step;
      return g;
    };
    std::vector<float> whole(n, 1.0f), resumed(n, 1.0f);
    auto a = make_flat_optimizer(c, n);
    for (int s = 0; s < 6; ++s) a->step(whole.data(), grads(s).data());
    auto b = make_flat_optimizer(c, n);
    for (int s = 0; s < 3; ++s) b->step(resumed.data(), grads(s).data());
    const auto state = b->state();
    EXPECT_EQ(state.steps, 3);
    auto c2 = make_flat_optimizer(c, n);
    c2->load_state(state);
    for (int s = 3; s < 6; ++s) c2->step(resumed.data(), grads(s).data());
    EXPECT_EQ(whole, resumed) << kind;
  }
  OptimizerConfig adam;
  auto opt = make_flat_optimizer(adam, 4);
  FlatOptimizerState wrong{1, {std::vector<float>(4)}};
  try {
    opt->load_state(wrong);
    FAIL() << "an SGD state loaded into Adam";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what()).find("adam keeps 2 buffer(s), the state has 1"), std::string::npos)
        << e.what();
  }
}
