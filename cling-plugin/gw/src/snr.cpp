#include "snr.hpp"

#include <cmath>

#include "psd.hpp"

namespace torchclad::gw {

double optimal_snr_fd(const std::complex<double>* h, const std::vector<double>& psd, double df, double f_low,
                      double f_high) {
  double sum = 0;
  for (size_t k = 0; k < psd.size(); ++k) {
    const double f = k * df;
    if (f < f_low || f > f_high || psd[k] <= 0) continue;
    sum += std::norm(h[k]) / psd[k];
  }
  return std::sqrt(4.0 * df * sum);
}

double optimal_snr(const torch::Tensor& strain, double fs, double f_low, double f_high) {
  TORCH_CHECK(strain.dim() == 1, "optimal_snr: expected a 1-D strain, found ", strain.dim(), " dimensions");
  TORCH_CHECK(fs > 0, "optimal_snr: expected sample_rate > 0, found ", fs);
  const long long n = strain.size(0);
  const double df = fs / n;
  if (f_high <= 0) f_high = fs / 2;
  auto spectrum = (torch::fft::rfft(strain.to(torch::kDouble)) / fs).contiguous();
  const auto psd = psd_grid(df, n / 2 + 1);
  return optimal_snr_fd(
      reinterpret_cast<const std::complex<double>*>(spectrum.data_ptr<c10::complex<double>>()), psd, df,
      f_low, f_high);
}

}  // namespace torchclad::gw
