// torch.ops.torchclad_gw.*: the simulator's parts for Python (validation
// against LALSuite in tests/python). CPU, float64 in and out.
#include <torch/library.h>
#include <torch/torch.h>

#include <random>
#include <tuple>

#include "noise.hpp"
#include "psd.hpp"
#include "snr.hpp"
#include "waveform.hpp"
#include "whiten.hpp"
#include "windows.hpp"

namespace torchclad::gw {
namespace {

torch::Tensor psd_op(const torch::Tensor& freqs) {
  auto f = freqs.to(torch::kDouble).contiguous();
  auto out = torch::empty_like(f);
  const double* in = f.data_ptr<double>();
  double* o = out.data_ptr<double>();
  for (int64_t i = 0; i < f.numel(); ++i) o[i] = aligo_zero_det_high_power(in[i]);
  return out;
}

torch::Tensor taylorf2_op(const torch::Tensor& freqs, double mass1, double mass2, double distance_mpc,
                          double f_lower, double f_upper) {
  TORCH_CHECK(mass1 > 0 && mass2 > 0, "taylorf2: expected positive masses, found ", mass1, " and ", mass2);
  TORCH_CHECK(distance_mpc > 0, "taylorf2: expected distance_mpc > 0, found ", distance_mpc);
  auto f = freqs.to(torch::kDouble).contiguous();
  auto out = torch::empty(f.sizes(), torch::kComplexDouble);
  const double upper = f_upper > 0 ? f_upper : isco_frequency(mass1, mass2);
  const Binary b{mass1, mass2, distance_mpc};
  const double* in = f.data_ptr<double>();
  auto* o = reinterpret_cast<std::complex<double>*>(out.data_ptr<c10::complex<double>>());
  for (int64_t i = 0; i < f.numel(); ++i) o[i] = taylorf2(b, in[i], f_lower, upper);
  return out;
}

double isco_op(double mass1, double mass2) { return isco_frequency(mass1, mass2); }

double time_to_merger_op(double mass1, double mass2, double f) {
  return time_to_merger({mass1, mass2, 1}, f);
}

double optimal_snr_op(const torch::Tensor& strain, double sample_rate, double f_low, double f_high) {
  return optimal_snr(strain, sample_rate, f_low, f_high);
}

torch::Tensor whiten_op(const torch::Tensor& strain, double sample_rate, double band_low, double band_high) {
  return Whitener(strain.size(-1), sample_rate, band_low, band_high)(strain);
}

torch::Tensor coloured_noise_op(int64_t samples, double sample_rate, int64_t seed) {
  TORCH_CHECK(samples > 1, "coloured_noise: expected samples > 1, found ", samples);
  std::mt19937_64 rng(seed);
  return coloured_noise(psd_grid(sample_rate / samples, samples / 2 + 1), samples, sample_rate, rng);
}

std::tuple<torch::Tensor, torch::Tensor, torch::Tensor, torch::Tensor, torch::Tensor, torch::Tensor,
           torch::Tensor, torch::Tensor>
simulate_op(int64_t count, int64_t seed, double sample_rate, double duration, double mass_min,
            double mass_max, double snr_min, double snr_max, int64_t tree, int64_t threads) {
  SimulationOptions o;
  o.train = count;
  o.test = 0;
  o.seed = static_cast<unsigned long long>(seed);
  o.sample_rate = sample_rate;
  o.duration = duration;
  o.mass_min = mass_min;
  o.mass_max = mass_max;
  o.snr_min = snr_min;
  o.snr_max = snr_max;
  o.threads = static_cast<int>(threads);
  o.progress = false;
  TORCH_CHECK(tree == 0 || tree == 1, "simulate: expected tree 0 (train) or 1 (test), found ", tree);
  const WindowGenerator gen(o);
  auto b = gen.generate(int(tree), gen.labels(int(tree), count), 0, count, int(threads), true);
  return {b.strain, b.label, b.snr, b.mass1, b.mass2, b.merger_time, b.phase, b.signal};
}

}  // namespace

TORCH_LIBRARY(torchclad_gw, m) {
  m.def("psd(Tensor freqs) -> Tensor", &psd_op);
  m.def(
      "taylorf2(Tensor freqs, float mass1, float mass2, float distance_mpc, float f_lower, float f_upper) -> "
      "Tensor",
      &taylorf2_op);
  m.def("isco_frequency(float mass1, float mass2) -> float", &isco_op);
  m.def("time_to_merger(float mass1, float mass2, float f) -> float", &time_to_merger_op);
  m.def("optimal_snr(Tensor strain, float sample_rate, float f_low, float f_high) -> float", &optimal_snr_op);
  m.def("whiten(Tensor strain, float sample_rate, float band_low, float band_high) -> Tensor", &whiten_op);
  m.def("coloured_noise(int samples, float sample_rate, int seed) -> Tensor", &coloured_noise_op);
  m.def(
      "simulate(int count, int seed, float sample_rate, float duration, float mass_min, float mass_max, "
      "float snr_min, float snr_max, int tree=0, int threads=0) -> "
      "(Tensor strain, Tensor label, Tensor snr, Tensor mass1, Tensor mass2, Tensor merger_time, Tensor "
      "phase, "
      "Tensor signal)",
      &simulate_op);
}

}  // namespace torchclad::gw
