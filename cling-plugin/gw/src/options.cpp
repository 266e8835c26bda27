// Option checks, the parameters' JSON, the version: the parts of
// gw_simulator.h that need neither LibTorch nor ROOT.
#include <cmath>
#include <sstream>
#include <stdexcept>
#include <string>

#include "psd.hpp"
#include "torchclad/gw_simulator.h"
#include "waveform.hpp"
#include "whiten.hpp"

namespace torchclad::gw {
namespace {

std::string num(double x) {
  std::ostringstream s;
  s.precision(10);
  s << x;
  return s.str();
}

[[noreturn]] void fail(const std::string& message) { throw std::invalid_argument(message); }

void positive(const char* name, double x, const char* what) {
  if (!(x > 0) || !std::isfinite(x)) fail(std::string(name) + ": expected " + what + " > 0, found " + num(x));
}

}  // namespace

void validate(const SimulationOptions& o) {
  if (o.train < 0) fail("train: expected a window count >= 0, found " + std::to_string(o.train));
  if (o.test < 0) fail("test: expected a window count >= 0, found " + std::to_string(o.test));
  if (o.train + o.test == 0) fail("train + test: expected at least one window, found 0 (train 0, test 0)");
  if (o.threads < 0)
    fail("threads: expected a count >= 0 (0: every core), found " + std::to_string(o.threads));

  positive("mass_min", o.mass_min, "a mass in solar masses");
  positive("mass_max", o.mass_max, "a mass in solar masses");
  if (o.mass_min > o.mass_max)
    fail("mass_min " + num(o.mass_min) + " > mass_max " + num(o.mass_max) +
         ": expected mass_min <= mass_max");
  positive("snr_min", o.snr_min, "an SNR");
  positive("snr_max", o.snr_max, "an SNR");
  if (o.snr_min > o.snr_max)
    fail("snr_min " + num(o.snr_min) + " > snr_max " + num(o.snr_max) + ": expected snr_min <= snr_max");

  positive("band_low", o.band_low, "a frequency in Hz");
  positive("band_high", o.band_high, "a frequency in Hz");
  if (kLowEdge * o.band_low < kPsdMinFrequency)
    fail("band_low " + num(o.band_low) + " Hz: expected >= " + num(kPsdMinFrequency / kLowEdge) +
         " Hz (the band-pass edge starts at " + num(kLowEdge) + " x band_low and the PSD is modelled from " +
         num(kPsdMinFrequency) + " Hz)");
  if (o.band_high <= o.band_low)
    fail("band_high " + num(o.band_high) + " Hz: expected > band_low " + num(o.band_low) + " Hz");

  positive("sample_rate", o.sample_rate, "a rate in Hz");
  const double nyquist_needed = kHighEdge * o.band_high;
  if (o.sample_rate / 2 < nyquist_needed)
    fail("sample_rate " + num(o.sample_rate) +
         " Hz is too low for the band: expected a Nyquist frequency >= " + num(nyquist_needed) +
         " Hz (the top of the band-pass edge, " + num(kHighEdge) + " x band_high " + num(o.band_high) +
         " Hz), i.e. sample_rate >= " + num(2 * nyquist_needed) + " Hz; found Nyquist " +
         num(o.sample_rate / 2) + " Hz");

  positive("duration", o.duration, "a window length in seconds");
  const double min_duration = 10.0 / o.band_low;
  if (o.duration < min_duration)
    fail("duration " + num(o.duration) + " s is shorter than the band needs: expected at least " +
         num(min_duration) + " s (10 cycles of the band's low edge, " + num(o.band_low) +
         " Hz, so that the chirp has 10 cycles in band before a merger in the window), found " +
         num(o.duration) + " s");
  if (o.duration > 64) fail("duration: expected at most 64 s, found " + num(o.duration) + " s");
  const double samples = o.sample_rate * o.duration;
  if (std::abs(samples - std::round(samples)) > 1e-6)
    fail("sample_rate x duration: expected a whole number of samples, found " + num(o.sample_rate) + " x " +
         num(o.duration) + " = " + num(samples));

  if (!(o.merger_min > 0) || !(o.merger_max <= 1) || !(o.merger_min <= o.merger_max))
    fail(
        "merger_min, merger_max: expected 0 < merger_min <= merger_max <= 1 (fractions of the window), "
        "found " +
        num(o.merger_min) + ", " + num(o.merger_max));

  const double f_isco = isco_frequency(o.mass_max, o.mass_max);
  const double f_isco_needed = 1.25 * o.band_low;
  if (f_isco < f_isco_needed)
    fail("mass_max " + num(o.mass_max) + " is too heavy for the band: a " + num(o.mass_max) + "+" +
         num(o.mass_max) + " binary reaches its ISCO at " + num(f_isco) +
         " Hz; expected an ISCO frequency >= " + num(f_isco_needed) +
         " Hz (1.25 x band_low), i.e. mass_max <= " + num(o.mass_max * f_isco / f_isco_needed));
}

std::string version() { return std::string("torchclad-gw ") + TORCHCLAD_VERSION; }

std::string parameters_json(const SimulationOptions& o) {
  std::ostringstream j;
  j.precision(17);
  j << "{\"generator\": \"" << version() << "\", \"seed\": " << o.seed << ", \"train\": " << o.train
    << ", \"test\": " << o.test << ", \"sample_rate\": " << o.sample_rate << ", \"duration\": " << o.duration
    << ", \"samples\": " << std::llround(o.sample_rate * o.duration) << ", \"mass_min\": " << o.mass_min
    << ", \"mass_max\": " << o.mass_max
    << ", \"mass_distribution\": \"uniform per component, mass1 >= mass2\""
    << ", \"snr_min\": " << o.snr_min << ", \"snr_max\": " << o.snr_max
    << ", \"snr_distribution\": \"uniform\", \"snr_band_hz\": [" << o.band_low << ", " << o.sample_rate / 2
    << "]"
    << ", \"band_low\": " << o.band_low << ", \"band_high\": " << o.band_high << ", \"band_edges_hz\": ["
    << kLowEdge * o.band_low << ", " << kHighEdge * o.band_high << "]"
    << ", \"merger_min\": " << o.merger_min << ", \"merger_max\": " << o.merger_max
    << ", \"signal_fraction\": 0.5"
    << ", \"psd\": \"aLIGOZeroDetHighPower (LIGO-T0900288-v3; fit to lalsimulation, 5e-5)\""
    << ", \"waveform\": \"TaylorF2, 3.5PN phase, Newtonian amplitude, cut at ISCO, tapered\""
    << ", \"orientation\": \"isotropic sky, polarisation and inclination; then scaled to the target SNR\""
    << ", \"whitening\": \"divide by sqrt(PSD), sin^2 band-pass edges, unit-variance noise\"}";
  return j.str();
}

double aligo_psd(double f) { return aligo_zero_det_high_power(f); }

}  // namespace torchclad::gw
