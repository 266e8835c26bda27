// Coloured Gaussian detector noise, drawn in the frequency domain.
#pragma once

#include <complex>
#include <random>
#include <vector>

#include <torch/torch.h>

namespace torchclad::gw {

// Conventions used throughout: a real series of m samples at rate fs has the
// unnormalised DFT X_k = rfft(x)_k, k = 0 .. m/2, frequency k fs / m; the
// continuous transform is x~(f_k) = X_k / fs; a one-sided PSD S gives
// E|X_k|^2 = m fs S(f_k) / 2.
//
// Fills X[0 .. m/2] with such noise: X_k = sqrt(m fs S_k / 4) (a + i b),
// a, b standard normal, for every bin with S_k > 0 (0 elsewhere, DC and
// Nyquist included). psd holds S_k for k = 0 .. m/2.
void coloured_noise_fd(const std::vector<double>& psd, long long m, double fs, std::mt19937_64& rng,
                       std::complex<double>* X);

// The same noise as a time series of m samples (float64).
torch::Tensor coloured_noise(const std::vector<double>& psd, long long m, double fs, std::mt19937_64& rng);

}  // namespace torchclad::gw
