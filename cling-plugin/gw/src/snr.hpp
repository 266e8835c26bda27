// The noise-weighted inner product and the optimal SNR (Cutler & Flanagan
// 1994, eq. 2.3-2.4):  (a|b) = 4 Re sum_k a~(f_k) b~*(f_k) / S(f_k) df,
// rho_opt = sqrt((h|h)), over the bins with f_low <= f_k <= f_high.
#pragma once

#include <complex>
#include <vector>

#include <torch/torch.h>

namespace torchclad::gw {

// Continuous-convention spectrum h~(k df), k = 0 .. n-1; psd S_k on the same grid.
double optimal_snr_fd(const std::complex<double>* h, const std::vector<double>& psd, double df, double f_low,
                      double f_high);

// Optimal SNR of a real time series (1-D, any float dtype) sampled at fs,
// against the aLIGO design PSD; f_high <= 0 means up to the Nyquist frequency.
double optimal_snr(const torch::Tensor& strain, double fs, double f_low, double f_high);

}  // namespace torchclad::gw
