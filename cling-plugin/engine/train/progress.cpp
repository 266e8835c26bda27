#include "train/progress.hpp"

#include <unistd.h>

#include <cstdio>
#include <iostream>

namespace torchclad::train {

ProgressBar::ProgressBar(std::ostream& out, bool enabled, std::string label, int64_t total)
    : out_(out),
      enabled_(enabled),
      // Only std::cerr/std::clog on a terminal get the live bar.
      interactive_((&out == &std::cerr || &out == &std::clog) && isatty(STDERR_FILENO)),
      label_(std::move(label)),
      total_(total),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

void ProgressBar::update(int64_t done, double loss) {
  done_ = done;
  loss_ = loss;
  if (!enabled_ || !interactive_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < std::chrono::milliseconds(100) && done != total_) return;
  last_draw_ = now;
  draw(done, loss);
}

void ProgressBar::draw(int64_t done, double loss) {
  constexpr int kWidth = 30;
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const int filled = total_ ? static_cast<int>(kWidth * done / total_) : kWidth;
  char line[256];
  std::snprintf(line, sizeof line, "%s [%s%s] %lld/%lld  %.0f steps/s  loss %.4f", label_.c_str(),
                std::string(filled, '=').c_str(), std::string(kWidth - filled, ' ').c_str(),
                static_cast<long long>(done), static_cast<long long>(total_), secs > 0 ? done / secs : 0.0,
                loss);
  out_ << (interactive_ ? "\r" : "") << line << std::flush;
}

void ProgressBar::finish(const std::string& summary) {
  if (enabled_) {
    draw(done_, loss_);
    out_ << (summary.empty() ? "" : "  ");
  } else if (!summary.empty()) {
    out_ << label_ << "  ";
  }
  if (enabled_ || !summary.empty()) out_ << summary << "\n" << std::flush;
}

}  // namespace torchclad::train
