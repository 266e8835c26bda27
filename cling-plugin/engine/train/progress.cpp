#include "train/progress.hpp"

#include <unistd.h>

#include <atomic>
#include <cmath>
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
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  char rate[96];
  std::snprintf(rate, sizeof rate, "  %.0f steps/s  loss %.4f", secs > 0 ? done / secs : 0.0, loss);
  out_ << (interactive_ ? "\r" : "") << bar(done) << rate << std::flush;
}

std::string ProgressBar::bar(int64_t done) const {
  constexpr int kWidth = 30;
  const int filled = total_ ? static_cast<int>(kWidth * done / total_) : kWidth;
  return label_ + " [" + std::string(filled, '=') + std::string(kWidth - filled, ' ') + "] " +
         std::to_string(done) + "/" + std::to_string(total_);
}

void ProgressBar::finish(const std::string& summary) {
  if (enabled_ && summary.empty()) {
    draw(done_, loss_);
  } else if (enabled_) {
    out_ << (interactive_ ? "\r" : "") << bar(done_) << "  ";
  } else if (!summary.empty()) {
    out_ << label_ << "  ";
  }
  // On a terminal, the end of the longer live line is cleared.
  if (enabled_ || !summary.empty()) out_ << summary << (interactive_ ? "\033[K" : "") << "\n" << std::flush;
}

Throughput::Rate Throughput::rate(int64_t samples, double seconds) const {
  double n = static_cast<double>(samples), t = seconds;
  for (auto e = recent_.rbegin(); e != recent_.rend() && t < kWindowSeconds; ++e) {
    n += static_cast<double>(e->samples);
    t += e->seconds;
  }
  return {t > 0 ? n / t : 0.0, t};
}

void Throughput::add_epoch(int64_t samples, double seconds) {
  if (!warmed_up_) {  // warm-up: not part of later epochs' rates
    warmed_up_ = true;
    return;
  }
  recent_.push_back({samples, seconds});
  recent_seconds_ += seconds;
  // Older epochs go once the newer ones span the window without them.
  while (recent_.size() > 1 && recent_seconds_ - recent_.front().seconds >= kWindowSeconds) {
    recent_seconds_ -= recent_.front().seconds;
    recent_.pop_front();
  }
}

std::string Throughput::text(const Rate& r) {
  const std::string rate = with_thousands(r.samples_per_second) + " samples/s";
  if (r.seconds >= kWindowSeconds) return rate;
  char span[48];
  std::snprintf(span, sizeof span, " (over %.3g ms)", r.seconds * 1e3);
  return "~" + rate + span;
}

std::string with_thousands(double value) {
  if (!std::isfinite(value)) return "n/a";
  std::string digits = std::to_string(static_cast<long long>(std::llround(std::fabs(value))));
  for (int at = static_cast<int>(digits.size()) - 3; at > 0; at -= 3) digits.insert(at, ",");
  return value < 0 ? "-" + digits : digits;
}

}  // namespace torchclad::train

namespace torchclad {
namespace {
std::atomic<bool> progress_by_default{true};
}  // namespace

bool default_progress() { return progress_by_default.load(std::memory_order_relaxed); }
void set_default_progress(bool on) { progress_by_default.store(on, std::memory_order_relaxed); }

}  // namespace torchclad
