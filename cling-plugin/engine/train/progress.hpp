#pragma once
// A one-line progress bar for long loops: redrawn in place on a terminal at
// most 10 times a second, and reduced to the final line when the log is not
// a terminal (CI logs, files).
#include <chrono>
#include <cstdint>
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

// A rate with thousands separators, "52,300" (the unit as the live display
// and EpochResult give it: samples/s).
std::string with_thousands(double value);

}  // namespace torchclad::train
