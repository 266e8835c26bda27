// The shared epoch loop (train/run_loop.hpp) with steps that return known
// losses: the epoch event's loss, the stop message, rows by index and
// batches from a source; its samples/s over a minimum window (Throughput).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <limits>
#include <numeric>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include <c10/util/Exception.h>

#include "train/progress.hpp"
#include "train/run_loop.hpp"
#include "train/run_options.hpp"
#include "train/telemetry.hpp"

namespace torchclad::train {
namespace {

RunSpec spec_of(int64_t samples, int batch, int epochs) {
  RunSpec s;
  s.engine = "test";
  s.model = "none";
  s.optimizer = "sgd";
  s.epochs = epochs;
  s.batch = batch;
  s.samples = samples;
  s.seed = 7;
  s.progress = false;
  return s;
}

struct Events {
  std::vector<telemetry::Event> all;
  Events() {
    telemetry::set_sink([this](const telemetry::Event& e) { all.push_back(e); });
  }
  ~Events() { telemetry::set_sink({}); }
  std::vector<telemetry::Event> of(const std::string& kind) const {
    std::vector<telemetry::Event> v;
    for (const auto& e : all)
      if (e.kind == kind) v.push_back(e);
    return v;
  }
};

// Losses 1, 2, 3, ... per step: step events are at most 20 per second, so a
// fast epoch reports its first step and its last window; the epoch event
// must carry the mean of every step of the epoch, not the last window's.
TEST(RunLoop, TheEpochEventCarriesTheEpochsMeanTrainingLoss) {
  Events events;
  std::ostringstream log;
  int calls = 0;
  const auto out = run_epochs(
      spec_of(100, 10, 2), [&](const std::vector<int64_t>&, int64_t, int) { return float(++calls); },
      [] { return Evaluation{}; }, log);
  ASSERT_EQ(out.epochs.size(), 2u);
  const auto epochs = events.of("epoch");
  ASSERT_EQ(epochs.size(), 2u);
  // Epoch 1: losses 1..10, mean 5.5; epoch 2: 11..20, mean 15.5.
  EXPECT_DOUBLE_EQ(epochs[0].loss, 5.5);
  EXPECT_DOUBLE_EQ(epochs[1].loss, 15.5);
  EXPECT_DOUBLE_EQ(out.epochs[1].train_loss, 15.5);
  // The first step is always reported, so the last step event of epoch 1
  // covers a window without it (losses from 2 up: mean above 5.5).
  std::vector<telemetry::Event> first_epoch_steps;
  for (const auto& e : events.of("step"))
    if (e.epoch == 1) first_epoch_steps.push_back(e);
  ASSERT_GE(first_epoch_steps.size(), 2u);
  EXPECT_GT(first_epoch_steps.back().loss, 5.5);
  EXPECT_EQ(epochs[1].step, 20);
}

TEST(RunLoop, TheStopMessageEndsItsLine) {
  Events events;
  std::ostringstream log;
  int calls = 0;
  const auto out = run_epochs(
      spec_of(100, 10, 3),
      [&](const std::vector<int64_t>&, int64_t, int) {
        if (++calls == 14) telemetry::request_stop();
        return 1.0f;
      },
      [] { return Evaluation{}; }, log);
  EXPECT_TRUE(out.stopped);
  EXPECT_EQ(out.message, "training stopped on request at epoch 2, step 5\n");
  // The log ends with it: one line end, not two.
  const std::string text = log.str();
  ASSERT_GE(text.size(), out.message.size());
  EXPECT_EQ(text.substr(text.size() - out.message.size()), out.message);
  EXPECT_NE(text.substr(text.size() - 2), "\n\n");
  ASSERT_EQ(events.of("end").size(), 1u);
  EXPECT_EQ(events.of("end")[0].status, "stopped");
}

// Rows by index: every row once per epoch, in the shuffle seeded by (seed, epoch).
TEST(RunLoop, IndexStepsVisitEveryRowOncePerEpochInTheSeededOrder) {
  std::ostringstream log;
  const int64_t n = 53;
  std::vector<std::vector<int64_t>> seen(3);
  int epoch = 0;
  int64_t last_start = -1;
  run_epochs(
      spec_of(n, 8, 3),
      [&](const std::vector<int64_t>& order, int64_t start, int size) {
        if (start == 0) ++epoch;
        EXPECT_GT(start, last_start == -1 || start == 0 ? -1 : last_start);
        last_start = start;
        EXPECT_EQ(size, std::min<int64_t>(8, n - start));
        for (int i = 0; i < size; ++i) seen[epoch - 1].push_back(order[start + i]);
        return 0.5f;
      },
      [] { return Evaluation{}; }, log);
  for (int e = 1; e <= 3; ++e) {
    std::vector<int64_t> expected(n);
    std::iota(expected.begin(), expected.end(), 0);
    std::mt19937_64 rng(7 * 1000003 + e);
    std::shuffle(expected.begin(), expected.end(), rng);
    EXPECT_EQ(seen[e - 1], expected) << "epoch " << e;
  }
}

// Batches from a source: begin_epoch per epoch, sizes as the source gives
// them, an epoch that ends when the source runs out.
TEST(RunLoop, SourceStepsTrainUntilTheSourceRunsOut) {
  Events events;
  std::ostringstream log;
  std::vector<int> begun;
  int left = 0;
  SourceSteps steps;
  steps.begin_epoch = [&](int e) {
    begun.push_back(e);
    left = e == 2 ? 25 : 40;  // epoch 2 ends early
  };
  steps.next = [&](int& size) {
    size = std::min(left, 16);
    left -= size;
    return 2.0f;
  };
  const auto out = run_epochs(spec_of(40, 16, 3), steps, [] { return Evaluation{}; }, log);
  EXPECT_EQ(begun, (std::vector<int>{1, 2, 3}));
  ASSERT_EQ(out.epochs.size(), 3u);
  EXPECT_EQ(out.epochs[0].steps, 3);
  EXPECT_EQ(out.epochs[1].steps, 2);
  EXPECT_DOUBLE_EQ(out.epochs[1].train_loss, 2.0);
  EXPECT_EQ(events.of("end")[0].status, "finished");
}

// RunOptions::metrics: the files are rewritten after every epoch with the
// epochs so far (status "running"), before after_epoch runs, so a run killed
// later leaves them.
TEST(RunLoop, MetricsFilesAfterEveryEpoch) {
  const auto dir = std::filesystem::temp_directory_path() / "torchclad-run-loop-metrics";
  std::filesystem::create_directories(dir);
  RunOptions o;
  o.epochs = 3;
  o.batch = 16;
  o.progress = false;
  o.metrics.json = (dir / "m.json").string();
  o.metrics.csv = (dir / "m.csv").string();
  o.metrics.engine = "test";
  o.metrics.header = {{"model", json_string("none")}};
  std::filesystem::remove(o.metrics.json);
  std::filesystem::remove(o.metrics.csv);
  RunSpec spec = run_spec("test", "none", o);
  spec.samples = 40;
  auto read = [](const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  auto count = [](const std::string& text, const std::string& what) {
    int n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  };
  std::vector<int> checked;
  spec.after_epoch = [&](int epoch) {
    const std::string json = read(o.metrics.json), csv = read(o.metrics.csv);
    EXPECT_EQ(count(json, "{\"epoch\": "), epoch) << json;
    EXPECT_NE(json.find("\"status\": \"running\""), std::string::npos) << json;
    EXPECT_EQ(count(csv, "\ntest,"), epoch) << csv;  // one row per epoch after the header
    checked.push_back(epoch);
  };
  std::ostringstream log;
  const auto out = run_epochs(
      spec, [](const std::vector<int64_t>&, int64_t, int) { return 1.0f; }, [] { return Evaluation{}; }, log);
  ASSERT_EQ(out.epochs.size(), 3u);
  EXPECT_EQ(checked, (std::vector<int>{1, 2, 3}));
}

TEST(RunLoop, ASourceLossThatIsNotFiniteFailsTheRun) {
  std::ostringstream log;
  SourceSteps steps;
  steps.begin_epoch = [](int) {};
  steps.next = [](int& size) {
    size = 4;
    return std::numeric_limits<float>::quiet_NaN();
  };
  const auto out = run_epochs(spec_of(8, 4, 1), steps, [] { return Evaluation{}; }, log);
  EXPECT_TRUE(out.non_finite);
  EXPECT_NE(out.message.find("the loss became NaN at epoch 1, step 1"), std::string::npos);
}

// A source that fails while the run trains (a stream's read error): the
// error reaches the caller, and the run's display ends "failed" with the
// error's text, not "running" forever.
TEST(RunLoop, ARunThatAnErrorEndsEndsItsDisplayFailed) {
  Events events;
  std::ostringstream log;
  SourceSteps steps;
  int calls = 0;
  steps.begin_epoch = [](int) {};
  steps.next = [&](int& size) {
    if (++calls == 3) throw std::runtime_error("feature 'pt' is NaN at entry 137");
    size = 4;
    return 1.0f;
  };
  EXPECT_THROW(run_epochs(spec_of(40, 4, 2), steps, [] { return Evaluation{}; }, log), std::runtime_error);
  ASSERT_FALSE(events.all.empty());
  EXPECT_EQ(events.all.front().kind, "start");
  EXPECT_EQ(events.all.back().kind, "end");
  EXPECT_EQ(events.all.back().status, "failed");
  EXPECT_EQ(events.all.back().message, "feature 'pt' is NaN at entry 137");
  EXPECT_EQ(events.of("end").size(), 1u);
  // A run that ends normally ends once, "finished".
  Events again;
  calls = -100;
  run_epochs(spec_of(8, 4, 1), steps, [] { return Evaluation{}; }, log);
  ASSERT_EQ(again.of("end").size(), 1u);
  EXPECT_EQ(again.of("end")[0].status, "finished");
  // A c10::Error (TORCH_CHECK) gives its message without the C++ backtrace.
  Events torch_error;
  calls = 0;
  steps.next = [&](int& size) {
    TORCH_CHECK(++calls < 2, "batch of 3 rows, expected 4");
    size = 4;
    return 1.0f;
  };
  EXPECT_THROW(run_epochs(spec_of(40, 4, 2), steps, [] { return Evaluation{}; }, log), c10::Error);
  ASSERT_EQ(torch_error.of("end").size(), 1u);
  EXPECT_EQ(torch_error.of("end")[0].message, "batch of 3 rows, expected 4");
}

// ---- samples/s of tiny epochs (train::Throughput), from given times: no clock.

double rate(const Throughput& t, int64_t samples, double seconds) {
  return t.rate(samples, seconds).samples_per_second;
}

// An epoch as long as the window or longer: its own samples / seconds, the
// figure of every real run, whatever came before.
TEST(Throughput, AnEpochOfTheWindowOrLongerIsRatedAlone) {
  Throughput t;
  EXPECT_DOUBLE_EQ(rate(t, 60000, 2.0), 30000.0);
  t.add_epoch(60000, 2.0);
  t.add_epoch(300, 0.0001);  // a tiny, noisy one before does not count
  EXPECT_DOUBLE_EQ(rate(t, 60000, 2.0), 30000.0);
  EXPECT_DOUBLE_EQ(rate(t, 1000, Throughput::kWindowSeconds), 1000 / Throughput::kWindowSeconds);
  EXPECT_EQ(Throughput::text(t.rate(60000, 2.0)), "30,000 samples/s");
}

// Tiny epochs: one that took 3x its neighbours (a context switch) moves the
// rate by a few percent, not 3x; the window spans the recent epochs only.
TEST(Throughput, TinyEpochsAreRatedOverTheWindow) {
  Throughput t;
  const double tiny = 0.0005;  // 300 rows in half a millisecond: 600,000 samples/s
  t.add_epoch(300, 0.01);      // the first, warm-up, 20x slower: left out of the others' rates
  for (int e = 0; e < 1000; ++e) t.add_epoch(300, tiny);
  EXPECT_NEAR(rate(t, 300, tiny), 600000.0, 1e-6 * 600000);
  EXPECT_EQ(Throughput::text(t.rate(300, tiny)), "600,000 samples/s");
  const double slow = rate(t, 300, 3 * tiny);
  EXPECT_GT(slow, 0.99 * 600000);
  EXPECT_LT(slow, 600000.0);
  EXPECT_NEAR(300 / (3 * tiny), 200000.0, 1e-6);  // what the epoch alone would have said
  // After a change of speed, the window forgets the old epochs: 500 more
  // epochs twice as fast (0.125 s: half the window) still show the old ones,
  // 1,500 (0.375 s, more than the window) no longer do.
  for (int e = 0; e < 500; ++e) t.add_epoch(300, tiny / 2);
  EXPECT_LT(rate(t, 300, tiny / 2), 0.9 * 1200000);
  for (int e = 0; e < 1000; ++e) t.add_epoch(300, tiny / 2);
  EXPECT_NEAR(rate(t, 300, tiny / 2), 1200000.0, 1e-6 * 1200000);
}

// A run shorter than the window: the mean since its second epoch, marked
// rough with the time it spans; the first epoch is rated alone.
TEST(Throughput, ARunShorterThanTheWindowIsMarkedRough) {
  Throughput t;
  EXPECT_DOUBLE_EQ(rate(t, 0, 0.0), 0.0);
  EXPECT_DOUBLE_EQ(rate(t, 300, 0.004), 75000.0);  // the first epoch, warm-up
  t.add_epoch(300, 0.004);
  t.add_epoch(300, 0.001);
  const auto r = t.rate(300, 0.001);
  EXPECT_DOUBLE_EQ(r.samples_per_second, 600 / 0.002);
  EXPECT_DOUBLE_EQ(r.seconds, 0.002);
  EXPECT_EQ(Throughput::text(r), "~300,000 samples/s (over 2 ms)");
}

// Each epoch's median_step_seconds is the median of its own steps' times:
// steps of 2, 2, 4, 4 and 100 ms give 4 ms, where their mean would be
// 22.4 ms; sleep_for can only overshoot, and three steps would have to
// overshoot by 16 ms for the median to reach 20 ms.
TEST(RunLoop, EpochsReportTheMedianOfTheirStepTimes) {
  std::ostringstream log;
  const int ms[] = {2, 2, 4, 4, 100};
  int calls = 0;
  const auto out = run_epochs(
      spec_of(10, 2, 2),
      [&](const std::vector<int64_t>&, int64_t, int) {
        std::this_thread::sleep_for(std::chrono::milliseconds(ms[calls++ % 5]));
        return 1.0f;
      },
      [] { return Evaluation{}; }, log);
  ASSERT_EQ(out.epochs.size(), 2u);
  for (const auto& e : out.epochs) {
    EXPECT_EQ(e.steps, 5);
    EXPECT_GE(e.median_step_seconds, 0.004) << e.epoch;
    EXPECT_LT(e.median_step_seconds, 0.020) << e.epoch;
    EXPECT_GE(e.seconds, 0.112) << e.epoch;
  }
}

// The loop reports the rates Throughput gives from its epochs' own times,
// in the epochs' results, the epoch events and the epoch lines.
TEST(RunLoop, EpochRatesAreTakenOverTheWindow) {
  Events events;
  std::ostringstream log;
  const auto out = run_epochs(
      spec_of(40, 8, 6), [&](const std::vector<int64_t>&, int64_t, int) { return 1.0f; },
      [] { return Evaluation{}; }, log);
  ASSERT_EQ(out.epochs.size(), 6u);
  const auto epochs = events.of("epoch");
  ASSERT_EQ(epochs.size(), 6u);
  Throughput expected;
  for (size_t e = 0; e < out.epochs.size(); ++e) {
    const double rate = expected.rate(40, out.epochs[e].seconds).samples_per_second;
    EXPECT_DOUBLE_EQ(out.epochs[e].samples_per_second, rate) << e;
    EXPECT_DOUBLE_EQ(epochs[e].samples_per_second, rate) << e;
    // steps/s over the same window: 5 steps of 8 samples.
    EXPECT_DOUBLE_EQ(out.epochs[e].steps_per_second, rate * 5 / 40) << e;
    expected.add_epoch(40, out.epochs[e].seconds);
  }
  // Microseconds of training in all: every epoch line says its rate is rough.
  auto spec = spec_of(40, 8, 2);
  spec.progress = true;
  std::ostringstream lines;
  run_epochs(
      spec, [&](const std::vector<int64_t>&, int64_t, int) { return 1.0f; }, [] { return Evaluation{}; },
      lines);
  EXPECT_NE(lines.str().find("epoch 2/2"), std::string::npos) << lines.str();
  EXPECT_NE(lines.str().find("  ~"), std::string::npos) << lines.str();
  EXPECT_NE(lines.str().find(" samples/s (over "), std::string::npos) << lines.str();
}

}  // namespace
}  // namespace torchclad::train
