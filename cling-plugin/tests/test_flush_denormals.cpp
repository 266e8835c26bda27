// Denormal floats are flushed to zero while a run trains, on the calling
// thread and on the intra-op threads the kernels' parts run on, and the
// previous mode is back after the run (train/flush_denormals.hpp says why:
// a long Adam run fell to a sixth of its speed without it).
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <sstream>
#include <vector>

#include "kernels/parallel.hpp"
#include "train/flush_denormals.hpp"
#include "train/run_loop.hpp"

namespace torchclad::train {
namespace {

// 1e-39 is a denormal float: flushed, 1e-39 * 1 is 0 (DAZ reads it as 0,
// FTZ writes a denormal result as 0).
bool flushes_here() {
  volatile float tiny = 1e-39f, one = 1.0f;
  return tiny * one == 0.0f;
}

RunSpec two_epochs(int threads) {
  RunSpec s;
  s.engine = "test";
  s.model = "none";
  s.optimizer = "sgd";
  s.epochs = 2;
  s.batch = 4;
  s.samples = 8;
  s.threads = threads;
  s.progress = false;
  return s;
}

TEST(FlushDenormals, OnDuringEveryStepAndOffAfterTheRun) {
  ASSERT_FALSE(flushes_here()) << "the process starts with denormals flushed: the test cannot tell";
  std::ostringstream log;
  int steps = 0, flushed = 0;
  run_epochs(
      two_epochs(1),
      [&](const std::vector<int64_t>&, int64_t, int) {
        ++steps;
        flushed += flushes_here() && FlushDenormals::active();
        return 1.0f;
      },
      [] { return Evaluation{}; }, log);
  EXPECT_EQ(steps, 4);
  EXPECT_EQ(flushed, steps);
  EXPECT_FALSE(flushes_here());
  EXPECT_FALSE(FlushDenormals::active());
}

TEST(FlushDenormals, OnTheKernelsThreadsToo) {
  const int before = at::get_num_threads();
  at::set_num_threads(2);
  std::vector<int> flushed(2, -1);
  {
    const FlushDenormals guard;
    kernels::parallel_parts(2, 2, [&](int p) { flushed[p] = flushes_here(); });
  }
  EXPECT_EQ(flushed, (std::vector<int>{1, 1}));
  kernels::parallel_parts(2, 2, [&](int p) { flushed[p] = flushes_here(); });
  EXPECT_EQ(flushed, (std::vector<int>{0, 0}));
  at::set_num_threads(before);
}

}  // namespace
}  // namespace torchclad::train
