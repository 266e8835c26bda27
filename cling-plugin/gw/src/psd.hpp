// The detector noise: Advanced LIGO design sensitivity (zero detuning, high
// power; LIGO-T0900288-v3), one-sided PSD in 1/Hz.
#pragma once

#include <vector>

namespace torchclad::gw {

// Below this frequency the curve is not modelled (LAL's model is valid above
// about 9 Hz); the simulator puts no noise there and its band-pass is zero.
inline constexpr double kPsdMinFrequency = 9.0;

// S_n(f) for f > 0 (any f; meaningful from kPsdMinFrequency on).
double aligo_zero_det_high_power(double f);

// S_n at k * df for k = 0 .. n-1; 0 below kPsdMinFrequency (and at DC).
std::vector<double> psd_grid(double df, long long n);

}  // namespace torchclad::gw
