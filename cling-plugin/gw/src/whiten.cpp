#include "whiten.hpp"

#include <cmath>
#include <numbers>

#include "psd.hpp"

namespace torchclad::gw {

double bandpass(double f, double low, double high) {
  const double lo0 = kLowEdge * low, hi1 = kHighEdge * high;
  if (f <= lo0 || f >= hi1) return 0.0;
  if (f < low) {
    const double s = std::sin(0.5 * std::numbers::pi * (f - lo0) / (low - lo0));
    return s * s;
  }
  if (f > high) {
    const double c = std::cos(0.5 * std::numbers::pi * (f - high) / (hi1 - high));
    return c * c;
  }
  return 1.0;
}

Whitener::Whitener(long long m, double fs, double band_low, double band_high) : m_(m) {
  const long long bins = m / 2 + 1;
  const double df = fs / m;
  const auto psd = psd_grid(df, bins);
  factor_.assign(bins, 0.0);
  double power = 0;  // sum of bandpass^2 over the full (two-sided) spectrum
  for (long long k = 1; k < bins; ++k) {
    const double w = psd[k] > 0 ? bandpass(k * df, band_low, band_high) : 0.0;
    const bool nyquist = m % 2 == 0 && k == m / 2;
    if (nyquist) continue;  // the noise has no Nyquist component
    factor_[k] = w * std::sqrt(2.0 / (fs * psd[k] + (psd[k] > 0 ? 0 : 1)));
    power += 2 * w * w;
  }
  const double norm = power > 0 ? 1.0 / std::sqrt(power / m) : 0.0;
  for (auto& f : factor_) f *= norm;
}

void Whitener::apply(std::complex<double>* X) const {
  for (size_t k = 0; k < factor_.size(); ++k) X[k] *= factor_[k];
}

torch::Tensor Whitener::operator()(const torch::Tensor& x) const {
  TORCH_CHECK(x.dim() == 1 && x.size(0) == m_, "whiten: expected a series of ", m_, " samples, found ",
              x.sizes());
  auto X = torch::fft::rfft(x.to(torch::kDouble)).contiguous();
  apply(reinterpret_cast<std::complex<double>*>(X.data_ptr<c10::complex<double>>()));
  return torch::fft::irfft(X, m_);
}

}  // namespace torchclad::gw
