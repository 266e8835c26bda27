// The signal: the inspiral of a non-spinning compact binary as a TaylorF2
// frequency-domain chirp (stationary-phase approximation, 3.5PN phase,
// Newtonian amplitude), cut at the ISCO frequency.
#pragma once

#include <complex>

namespace torchclad::gw {

inline constexpr double kSolarMassSeconds = 4.925490947641267e-06;   // G M_sun / c^3 (LAL_MTSUN_SI)
inline constexpr double kMegaparsecSeconds = 1.0292712503287737e14;  // 1 Mpc / c (LAL_PC_SI * 1e6 / LAL_C_SI)

struct Binary {
  double mass1 = 10, mass2 = 10;  // solar masses
  double distance_mpc = 100;      // luminosity distance
};

// 1 / (6^{3/2} pi M), M the total mass in seconds.
double isco_frequency(double mass1, double mass2);

// Time from frequency f to coalescence, 2PN (seconds).
double time_to_merger(const Binary& b, double f);

// The frequency whose 2PN time to coalescence is tau (bisection), clipped
// to [f_floor, isco].
double frequency_at_time_to_merger(const Binary& b, double tau, double f_floor);

// h~(f) of the plus polarisation of a face-on source (the strain of an
// optimally oriented detector), continuous Fourier convention
// h~(f) = int h(t) e^{-2 pi i f t} dt in strain/Hz, coalescence at t = 0
// with phase 0:  h~ = A f^{-7/6} e^{-i Psi(f)},
//   A = sqrt(5/24) pi^{-2/3} (c/D) (G Mc/c^3)^{5/6},
//   Psi = -pi/4 + 3/(128 eta v^5) sum_k alpha_k v^k,  v = (pi M f)^{1/3}.
// Zero outside [f_lower, f_upper].
std::complex<double> taylorf2(const Binary& b, double f, double f_lower, double f_upper);

// out[k] = h~(k df) for k in [0, n), as above but coalescing at time t_c
// with phase phi_c: the phase is Psi(f) + 2 pi f t_c - phi_c.
void taylorf2_grid(const Binary& b, double df, long long n, double f_lower, double f_upper, double t_c,
                   double phi_c, std::complex<double>* out);

}  // namespace torchclad::gw
