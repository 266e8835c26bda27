// lalsimulation's SimNoisePSDaLIGOZeroDetHighPower is a physical model, not a
// fit: the Buonanno-Chen quantum noise of the zero-detuned signal-recycled
// interferometer at 125 W, plus suspension thermal noise (proportional to
// f^-5) and coating thermal noise (f^-1). At zero detuning the whole curve is,
// to 5e-5, a Laurent polynomial in x = f / 200 Hz with the powers below. The
// coefficients are a weighted least-squares fit (relative error) to
// lalsimulation 6.2.1 (lalsuite 7.26.16) over 5 Hz to 8.2 kHz; maximum
// relative deviation 4.5e-5 there (tests/python/test_lal_validation.py).
#include "psd.hpp"

#include <cmath>

namespace torchclad::gw {

double aligo_zero_det_high_power(double f) {
  const double x = f / 200.0;
  const double x2 = x * x, inv = 1.0 / x, inv2 = inv * inv;
  const double terms = 0.017069 * inv2 * inv2 * inv  // x^-5: suspension thermal
                       + 0.255715 * inv2 * inv2      // x^-4: radiation pressure
                       - 4.097133 * inv2             // x^-2
                       + 33.704977 * inv             // x^-1: coating thermal
                       + 94.951514                   // x^0: shot noise
                       + 6.864506 * x2;              // x^2: shot noise above the arm pole
  return 1e-49 * terms;
}

std::vector<double> psd_grid(double df, long long n) {
  std::vector<double> s(static_cast<size_t>(n), 0.0);
  for (long long k = 1; k < n; ++k) {
    const double f = k * df;
    if (f >= kPsdMinFrequency) s[k] = aligo_zero_det_high_power(f);
  }
  return s;
}

}  // namespace torchclad::gw
