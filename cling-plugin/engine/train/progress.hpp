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
  void finish(const std::string& summary);

 private:
  void draw(int64_t done, double loss);
  std::ostream& out_;
  bool enabled_, interactive_;
  std::string label_;
  int64_t total_;
  int64_t done_ = 0;
  double loss_ = 0;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace torchclad::train
