// TaylorF2 phase coefficients: Buonanno, Iyer, Ochsner, Pan, Sathyaprakash,
// Phys. Rev. D 80, 084043 (2009), eq. (3.18) and Table I (non-spinning).
// Amplitude: Cutler & Flanagan, Phys. Rev. D 49, 2658 (1994), eq. (3.3)
// (leading order, what lalsimulation's TaylorF2 uses by default).
#include "waveform.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace torchclad::gw {
namespace {

constexpr double kPi = std::numbers::pi;
constexpr double kEulerGamma = 0.57721566490153286;

struct Phasing {
  double M, eta, amp;  // total mass (s), symmetric mass ratio, amplitude prefactor
  double a2, a3, a4, a5, a6, a6log, a7;
  double vlso;
};

Phasing phasing(const Binary& b) {
  Phasing p;
  const double m = b.mass1 + b.mass2;
  p.M = m * kSolarMassSeconds;
  p.eta = b.mass1 * b.mass2 / (m * m);
  const double eta = p.eta, eta2 = eta * eta, eta3 = eta2 * eta;
  const double mc = p.M * std::pow(eta, 0.6);  // chirp mass in seconds
  p.amp = std::sqrt(5.0 / 24.0) * std::pow(kPi, -2.0 / 3.0) * std::pow(mc, 5.0 / 6.0) /
          (b.distance_mpc * kMegaparsecSeconds);
  p.a2 = 20.0 / 9.0 * (743.0 / 336.0 + 11.0 / 4.0 * eta);
  p.a3 = -16.0 * kPi;
  p.a4 = 10.0 * (3058673.0 / 1016064.0 + 5429.0 / 1008.0 * eta + 617.0 / 144.0 * eta2);
  p.a5 = kPi * (38645.0 / 756.0 - 65.0 / 9.0 * eta);  // times (1 + 3 ln(v / v_lso))
  p.a6 = 11583231236531.0 / 4694215680.0 - 640.0 / 3.0 * kPi * kPi - 6848.0 / 21.0 * kEulerGamma +
         eta * (-15737765635.0 / 3048192.0 + 2255.0 / 12.0 * kPi * kPi) + 76055.0 / 1728.0 * eta2 -
         127825.0 / 1296.0 * eta3;
  p.a6log = -6848.0 / 21.0;  // times ln(4 v)
  p.a7 = kPi * (77096675.0 / 254016.0 + 378515.0 / 1512.0 * eta - 74045.0 / 756.0 * eta2);
  p.vlso = 1.0 / std::sqrt(6.0);
  return p;
}

// Psi(f) without the 2 pi f t_c - phi_c part.
double psi(const Phasing& p, double f) {
  const double v = std::cbrt(kPi * p.M * f);
  const double v2 = v * v, v3 = v2 * v, v4 = v2 * v2, v5 = v4 * v, v6 = v3 * v3, v7 = v6 * v;
  const double series = 1.0 + p.a2 * v2 + p.a3 * v3 + p.a4 * v4 +
                        p.a5 * (1.0 + 3.0 * std::log(v / p.vlso)) * v5 +
                        (p.a6 + p.a6log * std::log(4.0 * v)) * v6 + p.a7 * v7;
  return -kPi / 4.0 + 3.0 / (128.0 * p.eta * v5) * series;
}

}  // namespace

double isco_frequency(double mass1, double mass2) {
  return 1.0 / (std::pow(6.0, 1.5) * kPi * (mass1 + mass2) * kSolarMassSeconds);
}

double time_to_merger(const Binary& b, double f) {
  const Phasing p = phasing(b);
  const double eta = p.eta;
  const double v = std::cbrt(kPi * p.M * f), v2 = v * v, v8 = std::pow(v, 8);
  return 5.0 * p.M / (256.0 * eta * v8) *
         (1.0 + (743.0 / 252.0 + 11.0 / 3.0 * eta) * v2 - 32.0 * kPi / 5.0 * v2 * v +
          (3058673.0 / 508032.0 + 5429.0 / 504.0 * eta + 617.0 / 72.0 * eta * eta) * v2 * v2);
}

double frequency_at_time_to_merger(const Binary& b, double tau, double f_floor) {
  const double f_isco = isco_frequency(b.mass1, b.mass2);
  if (f_floor >= f_isco || time_to_merger(b, f_floor) <= tau) return std::min(f_floor, f_isco);
  double lo = f_floor, hi = f_isco;  // time_to_merger decreases with f on [f_floor, isco]
  for (int i = 0; i < 60; ++i) {
    const double mid = 0.5 * (lo + hi);
    (time_to_merger(b, mid) > tau ? lo : hi) = mid;
  }
  return lo;
}

std::complex<double> taylorf2(const Binary& b, double f, double f_lower, double f_upper) {
  if (f < f_lower || f > f_upper || f <= 0) return {0.0, 0.0};
  const Phasing p = phasing(b);
  return p.amp * std::pow(f, -7.0 / 6.0) * std::polar(1.0, -psi(p, f));
}

void taylorf2_grid(const Binary& b, double df, long long n, double f_lower, double f_upper, double t_c,
                   double phi_c, std::complex<double>* out) {
  const Phasing p = phasing(b);
  for (long long k = 0; k < n; ++k) {
    const double f = k * df;
    if (f < f_lower || f > f_upper || f <= 0) {
      out[k] = {0.0, 0.0};
      continue;
    }
    const double phase = psi(p, f) + 2.0 * kPi * f * t_c - phi_c;
    out[k] = p.amp * std::pow(f, -7.0 / 6.0) * std::polar(1.0, -phase);
  }
}

}  // namespace torchclad::gw
