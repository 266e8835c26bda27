// Whitening: divide the spectrum by sqrt(PSD), band-pass with smooth
// (sin^2) edges, and scale so that whitened detector noise has unit
// variance per sample.
#pragma once

#include <complex>
#include <vector>

#include <torch/torch.h>

namespace torchclad::gw {

// The band-pass rises from 0 at kLowEdge * low to 1 at low, is 1 up to
// high, and falls to 0 at kHighEdge * high.
inline constexpr double kLowEdge = 0.8;
inline constexpr double kHighEdge = 1.1;
double bandpass(double f, double low, double high);

class Whitener {
 public:
  // For series of m samples at rate fs (bins k = 0 .. m/2).
  Whitener(long long m, double fs, double band_low, double band_high);
  // factor[k] = bandpass(f_k) sqrt(2 / (fs S_k)) / sqrt(sum_full bandpass^2 / m):
  // X_k -> factor[k] X_k maps noise of PSD S to unit-variance samples.
  const std::vector<double>& factor() const { return factor_; }
  // In place on X[0 .. m/2].
  void apply(std::complex<double>* X) const;
  // Whitened time series of a real series of m samples (float64 out).
  torch::Tensor operator()(const torch::Tensor& x) const;

 private:
  long long m_;
  std::vector<double> factor_;
};

}  // namespace torchclad::gw
