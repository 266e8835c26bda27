// torchclad's gravitational-wave simulator, as cling sees it (plain C++17 and
// the standard library; no LibTorch or ROOT type). Implemented in
// libtorchclad_gw.so:
//
//   R__LOAD_LIBRARY(libtorchclad_gw.so)
//   #include "torchclad/gw_simulator.h"
//   torchclad::gw::SimulationOptions o;
//   o.train = 2000; o.test = 500;
//   torchclad::gw::simulate(o, "gw.root");
//
// The file holds trees "train" and "test", one entry per window: strain[N]/F
// (whitened strain, N = sample_rate * duration), label/I (1 signal, 0 noise),
// snr/F (optimal SNR of the injection inside the window, 0 for noise),
// mass1/F, mass2/F (solar masses, 0 for noise), merger_time/F (seconds from
// the window's start, -1 for noise), phase/F (coalescence phase, 0 for
// noise); a TNamed "gw_parameters" (JSON title: every option, the seed, the
// version) and a TGraph "psd" (the detector PSD used, 1/Hz against Hz).
#ifndef TORCHCLAD_GW_SIMULATOR_H
#define TORCHCLAD_GW_SIMULATOR_H

#include <string>

namespace torchclad {
namespace gw {

struct SimulationOptions {
  long long train = 20000;       // windows in tree "train"
  long long test = 4000;         // windows in tree "test"
  unsigned long long seed = 42;  // same seed, same file (whatever the thread count)
  double sample_rate = 2048;     // Hz
  double duration = 1;           // window length in seconds (1 to 2 s is the intended range)
  double mass_min = 5;           // component masses, uniform in [mass_min, mass_max], solar masses
  double mass_max = 50;
  double snr_min = 5;  // target optimal SNR, uniform in [snr_min, snr_max]
  double snr_max = 20;
  double band_low = 20;  // band-pass of the whitening, Hz (smooth edges outside it)
  double band_high = 500;
  double merger_min = 0.5;  // merger time, uniform in [merger_min, merger_max] x duration
  double merger_max = 0.9;
  int threads = 0;       // 0: every core
  bool progress = true;  // progress on stderr
};

// Checks every option; throws std::invalid_argument naming the option, what
// was expected and what was found.
void validate(const SimulationOptions& options);

// Writes the windows to the hidden dir/.name.partial, then renames it to path. Returns the
// number of windows written (train + test). Throws std::invalid_argument for
// bad options, std::runtime_error when the file cannot be written.
long long simulate(const SimulationOptions& options, const std::string& path);

// The options, the seed and the version as the JSON stored in the file.
std::string parameters_json(const SimulationOptions& options);

// Advanced LIGO design sensitivity (zero detuning, high power), one-sided
// PSD in 1/Hz at frequency f in Hz (matches lalsimulation's
// SimNoisePSDaLIGOZeroDetHighPower within 1e-4 relative, 5 Hz to 8 kHz).
double aligo_psd(double f);

// Innermost-stable-circular-orbit gravitational-wave frequency
// 1 / (6^{3/2} pi G M / c^3) in Hz, for component masses in solar masses.
double isco_frequency(double mass1, double mass2);

// "torchclad-gw <version>"
std::string version();

}  // namespace gw
}  // namespace torchclad

#endif
