#include "train/run_loop.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <functional>
#include <numeric>
#include <random>
#include <streambuf>

#include <c10/util/Exception.h>

#include "dist/communicator.hpp"
#include "dist/data_parallel.hpp"
#include "dist/launcher.hpp"
#include "train/flush_denormals.hpp"
#include "train/progress.hpp"
#include "train/telemetry.hpp"

namespace torchclad::train {
namespace {

using Clock = std::chrono::steady_clock;

// Data-parallel: set when the ranks agreed to stop (see run_epochs).
bool stop_agreed = false;

std::string next_run_id() {
  static std::atomic<int> counter{0};
  return "run-" + std::to_string(getpid()) + "-" + std::to_string(++counter);
}

// The median of v (reordered), 0 if empty; of an even count, the mean of the middle two.
double median_of(std::vector<double>& v) {
  if (v.empty()) return 0;
  const auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  if (v.size() % 2) return *mid;
  return (*mid + *std::max_element(v.begin(), mid)) / 2;
}

std::string format_lr(double lr) {
  char s[32];
  std::snprintf(s, sizeof s, "%g", lr);
  return s;
}

// Ends the live display of a run an exception stopped, with the exception's
// text (the first line of a c10::Error: no C++ backtrace in a notebook).
// The telemetry sink's own failure is dropped: the exception is the error.
template <class EndRun>
void end_run_on_error(const EndRun& end_run, std::exception_ptr error) {
  std::string message = "training stopped by an error";
  try {
    std::rethrow_exception(error);
  } catch (const c10::Error& e) {
    message = e.what_without_backtrace();
  } catch (const std::exception& e) {
    message = e.what();
  } catch (...) {
  }
  try {
    end_run("failed", message);
  } catch (...) {
  }
}

RunOutcome run_source_epochs(const RunSpec& spec, const SourceSteps& steps, int64_t global_batch,
                             const EvaluateFn& evaluate, std::ostream& log);

// Rank 0's test metrics to every rank, so that every rank's result of a fit
// (and a macro's decision on it) is the same.
void share_evaluation(Evaluation& e) {
  auto& w = dist::world();
  double v[5] = {e.test_loss, e.test_accuracy, e.test_auc, e.test_rmse, double(e.summary.size())};
  w.broadcast(v, sizeof v, 0);
  e.test_loss = v[0], e.test_accuracy = v[1], e.test_auc = v[2], e.test_rmse = v[3];
  e.summary.resize(static_cast<size_t>(v[4]));
  w.broadcast(e.summary.data(), static_cast<int64_t>(e.summary.size()), 0);
}

}  // namespace

RunOutcome run_epochs(const RunSpec& spec, const StepFn& step, const EvaluateFn& evaluate,
                      std::ostream& log) {
  // Rows by index: epoch e visits every row once, in a shuffle seeded by (seed, e).
  // Data-parallel: every rank shuffles the same order; a step's global batch
  // is ranks x batch rows of it, of which this rank takes its share.
  const int64_t n = spec.samples;
  const int rank = dist::world().rank(), ranks = dist::world().size();
  const int64_t global_batch = int64_t{spec.batch} * ranks;
  // Ranks that would run different fits (fit() from a program or macro gets
  // no check of its command line) stop here with an error on every rank,
  // not in a hang at mismatched collectives.
  if (ranks > 1)
    dist::check_same_options("fit of model " + spec.model + ": engine " + spec.engine + ", optimizer " +
                             spec.optimizer + ", lr " + format_lr(spec.lr) + ", epochs " +
                             std::to_string(spec.epochs) + " from " + std::to_string(spec.first_epoch) +
                             ", batch per rank " + std::to_string(spec.batch) + ", seed " +
                             std::to_string(spec.seed));
  std::vector<int64_t> order(n);
  int64_t start = 0;
  SourceSteps steps;
  steps.begin_epoch = [&](int epoch) {
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 rng(spec.seed * 1000003 + epoch);
    std::shuffle(order.begin(), order.end(), rng);
    start = 0;
  };
  steps.next = [&](int& size) {
    const int64_t m = std::min<int64_t>(global_batch, n - start);
    if (m <= 0) return size = 0, 0.0f;
    const dist::Share share = dist::share_of(m, rank, ranks);
    dist::set_step_share(share.size(), m);
    // The ranks agree on the loss (a non-finite one stops all) and on a stop
    // request, carried by the step's gradient allreduce.
    dist::set_step_stop_request(telemetry::stop_requested());
    const float local = step(order, start + share.begin, static_cast<int>(share.size()));
    start += m;
    size = static_cast<int>(m);
    if (ranks == 1) return local;
    bool stop = telemetry::stop_requested();
    const float global = static_cast<float>(dist::global_mean_loss(local, &stop));
    stop_agreed = stop;
    return global;
  };
  return run_source_epochs(spec, steps, global_batch, evaluate, log);
}

RunOutcome run_epochs(const RunSpec& spec, const SourceSteps& steps, const EvaluateFn& evaluate,
                      std::ostream& log) {
  const int ranks = dist::world().size();
  TORCH_CHECK(ranks == 1 || steps.data_parallel, "batches from this source do not run data-parallel: ", ranks,
              " ranks were started; run one process");
  if (ranks == 1) return run_source_epochs(spec, steps, spec.batch, evaluate, log);
  // The source's next() read and trained on this rank's batch; the ranks agree
  // on the global batch's loss (a non-finite one stops all) and on a stop request.
  SourceSteps agreed = steps;
  agreed.next = [&steps](int& size) {
    dist::set_step_stop_request(telemetry::stop_requested());  // carried as in the steps by index
    const float local = steps.next(size);
    if (size == 0) return 0.0f;  // the global batch: every rank ends the epoch here
    bool stop = telemetry::stop_requested();
    const float global = static_cast<float>(dist::global_mean_loss(local, &stop));
    stop_agreed = stop;
    return global;
  };
  return run_source_epochs(spec, agreed, int64_t{spec.batch} * ranks, evaluate, log);
}

namespace {

RunOutcome run_source_epochs(const RunSpec& spec, const SourceSteps& steps, int64_t global_batch,
                             const EvaluateFn& evaluate, std::ostream& rank_log) {
  const FlushDenormals flush_denormals;  // while it trains (train/flush_denormals.hpp: why)
  const int64_t n = spec.samples;
  const int64_t steps_per_epoch = (n + global_batch - 1) / global_batch;
  const bool root = dist::is_root();
  // mpirun started several processes, but MPI was not started in this one
  // (a macro or program without torchclad::Distributed): said once, on every process.
  static bool told_alone = false;
  if (!dist::distributed() && dist::launched_processes() > 1 && !told_alone) {
    told_alone = true;
    std::fprintf(stderr,
                 "torchclad: mpirun started %d processes, but this one trains alone: create a "
                 "torchclad::Distributed (torchclad/distributed.h) before fit to train data-parallel; "
                 "as it is, every process trains on all the data and writes the same files\n",
                 dist::launched_processes());
  }
  // Rank 0 alone prints (the commands pass the others a silent log already;
  // fit() from a program or macro passes every rank the same stream).
  struct NullBuffer : std::streambuf {
    int overflow(int c) override { return c; }
  } null_buffer;
  std::ostream silent(&null_buffer);
  std::ostream& log = root ? rank_log : silent;
  stop_agreed = false;
  RunOutcome out;

  telemetry::Event ev;
  ev.run_id = next_run_id();
  ev.engine = spec.engine;
  ev.model = spec.model;
  ev.optimizer = spec.optimizer;
  ev.batch = spec.batch;
  ev.threads = spec.threads;
  ev.epochs = spec.epochs;
  ev.total_steps = steps_per_epoch * spec.epochs;
  auto emit = [&](const char* kind) {
    ev.kind = kind;
    if (root) telemetry::emit(ev);
  };
  auto end_run = [&](const char* status, const std::string& message) {
    ev.status = status;
    ev.message = message;
    emit("end");
  };
  emit("start");
  const auto min_event_gap = std::chrono::duration<double>(1.0 / telemetry::kMaxStepEventsPerSecond);
  auto last_event = Clock::now() - std::chrono::seconds(1);
  Throughput throughput;  // samples/s over >= 0.25 s of training: tiny epochs' rates (train/progress.hpp)
  // Each step's time, for the epoch's median step: seconds - steps x median
  // bounds what the loop costs beside its steps (it also holds the steps'
  // spread above their median), timed in the same process (a benchmark's
  // step in another process can differ by more than that).
  std::vector<double> step_seconds;
  step_seconds.reserve(static_cast<size_t>(steps_per_epoch));

  // A run that an exception ends (a stream's read error, a bad batch) still
  // ends its live display, "failed" with the error's own text, instead of
  // showing "running" forever; the exception goes on to the caller.
  try {
    for (int epoch = spec.first_epoch; epoch <= spec.epochs; ++epoch) {
      // The epoch's time (its samples/s) starts before its shuffle: all the
      // epoch's training costs but the evaluation after it.
      const auto t0 = Clock::now();
      steps.begin_epoch(epoch);
      ProgressBar bar(log, spec.progress && root,
                      "epoch " + std::to_string(epoch) + "/" + std::to_string(spec.epochs), steps_per_epoch);
      EpochResult m;
      m.epoch = epoch;
      double loss_sum = 0;
      // The live curve gets the mean loss since the previous step event (the
      // epoch's running mean would drop at every epoch boundary).
      double event_loss_sum = 0;
      int64_t event_losses = 0;
      int64_t samples = 0;  // trained on in this epoch
      step_seconds.clear();
      for (int64_t s = 0; s < steps_per_epoch; ++s) {
        // Data-parallel, a stop request counts once the ranks agreed on it
        // (in the previous step's loss sum), so all stop at the same step.
        if (dist::distributed() ? stop_agreed : telemetry::stop_requested()) {
          stop_agreed = false;
          telemetry::clear_stop();
          out.stopped = true;
          out.message = "training stopped on request at epoch " + std::to_string(epoch) + ", step " +
                        std::to_string(s + 1) + "\n";  // printed as it is, it ends its line
          bar.finish("");
          log << out.message;
          end_run("stopped", out.message);
          return out;
        }
        int size = 0;
        const auto step_start = Clock::now();
        const float loss = steps.next(size);
        if (size == 0) break;  // the source ran out of batches
        step_seconds.push_back(std::chrono::duration<double>(Clock::now() - step_start).count());
        samples += size;
        if (!std::isfinite(loss)) {
          out.non_finite = true;
          out.message = "training stopped: the loss became " +
                        std::string(std::isnan(loss) ? "NaN" : "infinite") + " at epoch " +
                        std::to_string(epoch) + ", step " + std::to_string(s + 1) + " (learning rate " +
                        format_lr(spec.lr) + "); try a lower learning rate";
          bar.finish("");
          log << out.message << "\n";
          end_run("failed", out.message);
          return out;
        }
        loss_sum += loss;
        event_loss_sum += loss;
        ++event_losses;
        ++m.steps;
        bar.update(s + 1, loss_sum / m.steps);
        if (root && telemetry::has_sink()) {
          const auto now = Clock::now();
          if (now - last_event >= min_event_gap || s + 1 == steps_per_epoch) {
            last_event = now;
            ev.epoch = epoch;
            ev.step = (epoch - 1) * steps_per_epoch + s + 1;
            ev.loss = event_loss_sum / event_losses;
            event_loss_sum = 0;
            event_losses = 0;
            ev.samples_per_second =
                throughput.rate(samples, std::chrono::duration<double>(now - t0).count()).samples_per_second;
            emit("step");
          }
        }
      }
      m.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
      m.median_step_seconds = median_of(step_seconds);
      m.train_loss = m.steps ? loss_sum / m.steps : 0;
      const auto rate = throughput.rate(samples, m.seconds);
      m.samples_per_second = rate.samples_per_second;
      // Over the same window as samples/s: a tiny epoch's own rate swings.
      m.steps_per_second = samples > 0 ? rate.samples_per_second * m.steps / samples : 0;
      throughput.add_epoch(samples, m.seconds);
      Evaluation eval = evaluate();  // every rank: a fit's evaluation is sharded over the ranks
      if (dist::distributed()) share_evaluation(eval);
      m.test_loss = eval.test_loss;
      m.test_accuracy = eval.test_accuracy;
      m.test_auc = eval.test_auc;
      m.test_rmse = eval.test_rmse;
      char accuracy[48] = "";
      if (m.test_accuracy >= 0)  // < 0: not a classifier
        std::snprintf(accuracy, sizeof accuracy, "  test accuracy %.2f%%", 100 * m.test_accuracy);
      char summary[240];
      std::snprintf(summary, sizeof summary, "train loss %.4f  test loss %.4f%s%s%s  %s", m.train_loss,
                    m.test_loss, accuracy, eval.summary.empty() ? "" : "  ", eval.summary.c_str(),
                    Throughput::text(rate).c_str());
      bar.finish(summary);
      out.epochs.push_back(m);
      ev.epoch = epoch;
      ev.step = (epoch - 1) * steps_per_epoch + m.steps;
      ev.loss = m.train_loss;  // the schema's "mean training loss of the epoch"
      ev.test_loss = m.test_loss;
      ev.test_accuracy = m.test_accuracy;
      ev.test_auc = m.test_auc;
      ev.samples_per_second = m.samples_per_second;
      emit("epoch");
      if (spec.after_epoch_stats) spec.after_epoch_stats(out.epochs);
      if (spec.after_epoch) spec.after_epoch(epoch);
    }
  } catch (...) {
    end_run_on_error(end_run, std::current_exception());
    throw;
  }
  end_run("finished", "");
  return out;
}

}  // namespace

}  // namespace torchclad::train
