#include "noise.hpp"

#include <cmath>

#include "random.hpp"

namespace torchclad::gw {

void coloured_noise_fd(const std::vector<double>& psd, long long m, double fs, std::mt19937_64& rng,
                       std::complex<double>* X) {
  const long long bins = m / 2 + 1;
  for (long long k = 0; k < bins; ++k) {
    const bool edge = k == 0 || (m % 2 == 0 && k == m / 2);
    if (edge || psd[k] <= 0) {
      X[k] = {0.0, 0.0};
      continue;
    }
    const double sigma = std::sqrt(m * fs * psd[k] / 4.0);
    const auto [a, b] = normal_pair(rng);
    X[k] = {sigma * a, sigma * b};
  }
}

torch::Tensor coloured_noise(const std::vector<double>& psd, long long m, double fs, std::mt19937_64& rng) {
  auto X = torch::empty({m / 2 + 1}, torch::kComplexDouble);
  coloured_noise_fd(psd, m, fs, rng,
                    reinterpret_cast<std::complex<double>*>(X.data_ptr<c10::complex<double>>()));
  return torch::fft::irfft(X, m);
}

}  // namespace torchclad::gw
