// The window generator: one whitened strain window per (tree, index), half
// with an injected chirp scaled to a target optimal SNR, half noise only.
// Every window draws from its own RNG, seeded from (seed, tree, index), so
// the output does not depend on the number of threads or the order.
#pragma once

#include <complex>
#include <cstdint>
#include <functional>
#include <vector>

#include <torch/torch.h>

#include "torchclad/gw_simulator.h"
#include "whiten.hpp"

namespace torchclad::gw {

struct WindowRecord {
  int label = 0;               // 1 signal, 0 noise
  float snr = 0;               // optimal SNR inside the window (0 for noise)
  float mass1 = 0, mass2 = 0;  // solar masses, mass1 >= mass2 (0 for noise)
  float merger_time = -1;      // seconds from the window's start (-1 for noise)
  float phase = 0;             // coalescence phase (0 for noise)
};

// In-memory windows: strain (count, N) float32, the records' columns
// (label int32, the rest float32), and with_signal: the injected signal
// alone, unwhitened, in strain units (count, N) float64 (zero for noise).
struct Batch {
  torch::Tensor strain, label, snr, mass1, mass2, merger_time, phase, signal;
};

class WindowGenerator {
 public:
  explicit WindowGenerator(const SimulationOptions& options);  // validates

  long long samples() const { return n_; }  // N = sample_rate * duration
  long long segment() const { return m_; }  // M: the generated segment, window at [pad, pad + N)
  const SimulationOptions& options() const { return o_; }

  // Labels of a tree of `count` windows: exactly count / 2 signals, shuffled by the seed.
  std::vector<int> labels(int tree, long long count) const;

  // Renders window `index` of `tree` (0 train, 1 test) with the given label
  // into strain[N]; signal (N doubles, may be null) gets the injection alone.
  WindowRecord render(int tree, long long index, int label, float* strain, double* signal) const;

  // Windows [first, first + count) of a tree whose labels are given, on
  // `threads` threads (0: every core).
  Batch generate(int tree, const std::vector<int>& labels, long long first, long long count, int threads,
                 bool with_signal) const;

  // The PSD on the segment's frequency grid (k fs / M), for the file's TGraph.
  const std::vector<double>& segment_psd() const { return psd_seg_; }
  double segment_df() const { return fs_ / m_; }

 private:
  SimulationOptions o_;
  double fs_;
  long long n_, pad_, m_;
  std::vector<double> psd_seg_, psd_win_;
  Whitener whitener_;
};

// Runs fn(i) for i in [0, count) on `threads` threads (0: every core).
void parallel_for(long long count, int threads, const std::function<void(long long)>& fn);

}  // namespace torchclad::gw
