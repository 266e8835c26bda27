#pragma once
// A one-line progress bar for long loops: redrawn in place on a terminal at
// most 10 times a second, and reduced to the final line when the log is not
// a terminal (CI logs, files).
#include <chrono>
#include <cstdint>
#include <deque>
#include <ostream>
#include <string>

namespace torchclad::train {

class ProgressBar {
 public:
  ProgressBar(std::ostream& out, bool enabled, std::string label, int64_t total);
  void update(int64_t done, double loss);
  // The last line. With a summary (the epoch's measured results), the bar
  // and the summary only: the live rate and running loss would repeat it in
  // other units. Without one (a stopped run), the bar with its rate and loss.
  void finish(const std::string& summary);

 private:
  void draw(int64_t done, double loss);
  std::string bar(int64_t done) const;  // "epoch 1/2 [=====   ] 47/94"
  std::ostream& out_;
  bool enabled_, interactive_;
  std::string label_;
  int64_t total_;
  int64_t done_ = 0;
  double loss_ = 0;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

// Samples per second that stay meaningful when an epoch is tiny. An epoch of
// a few hundred rows trains in tens of microseconds, where a context switch
// or the first epoch's warm-up (allocations, page faults, 5x slower here)
// changes its time several-fold: its own samples / seconds jumps from epoch
// to epoch. So a rate is taken over at least kWindowSeconds of training: the
// epoch (or the part of it run so far), together with as many of the epochs
// just before it as that needs (training time only: the evaluations between
// them are left out), never the run's first epoch (warm-up; it is rated
// alone). An epoch that alone lasts kWindowSeconds gets exactly its own
// samples / seconds, as before: the figures of real runs do not change. A
// rate over less than the window (a run too short to time) is marked rough
// where it is printed (text).
class Throughput {
 public:
  static constexpr double kWindowSeconds = 0.25;
  struct Rate {
    double samples_per_second = 0;
    double seconds = 0;  // the training time it spans
  };
  // The rate of `samples` trained in `seconds` with the recent epochs before them.
  Rate rate(int64_t samples, double seconds) const;
  // A finished epoch, for the rates of those after it.
  void add_epoch(int64_t samples, double seconds);
  // "52,300 samples/s"; over less than the window "~52,300 samples/s (over 1.9 ms)".
  static std::string text(const Rate& rate);

 private:
  struct Epoch {
    int64_t samples;
    double seconds;
  };
  bool warmed_up_ = false;     // the first epoch went by
  std::deque<Epoch> recent_;   // newest last; at most kWindowSeconds past the newest
  double recent_seconds_ = 0;  // their sum
};

// A rate with thousands separators, "52,300" (the unit as the live display
// and EpochResult give it: samples/s).
std::string with_thousands(double value);

}  // namespace torchclad::train
