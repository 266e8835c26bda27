#include "windows.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <mutex>
#include <numbers>
#include <random>
#include <thread>

#include "noise.hpp"
#include "psd.hpp"
#include "random.hpp"
#include "snr.hpp"
#include "waveform.hpp"

namespace torchclad::gw {
namespace {

constexpr double kPi = std::numbers::pi;
constexpr double kReferenceDistanceMpc = 100;  // before scaling to the target SNR
constexpr double kStartMargin = 0.05;          // s of full-amplitude chirp before the window starts
constexpr double kStartTaper = 1.1;            // the chirp's amplitude rises over [f_start, 1.1 f_start]
constexpr double kIscoTaper = 0.95;            // and falls over [0.95 f_isco, f_isco]

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

uint64_t stream_seed(uint64_t seed, int tree, uint64_t index) {
  return splitmix64(splitmix64(seed) ^ splitmix64((uint64_t(tree) << 56) ^ index));
}

std::complex<double>* as_complex(torch::Tensor& t) {
  return reinterpret_cast<std::complex<double>*>(t.data_ptr<c10::complex<double>>());
}

double rise(double f, double a, double b) {  // 0 at a, 1 at b, sin^2
  if (f <= a) return 0;
  if (f >= b) return 1;
  const double s = std::sin(0.5 * kPi * (f - a) / (b - a));
  return s * s;
}

}  // namespace

WindowGenerator::WindowGenerator(const SimulationOptions& options)
    : o_((validate(options), options)),
      fs_(options.sample_rate),
      n_(std::llround(options.sample_rate * options.duration)),
      // Half a window (at least 0.5 s) of padding on each side: the chirp's
      // start and the ringing of its ISCO cut fall inside the segment.
      pad_(std::max(n_ / 2, std::llround(0.5 * options.sample_rate))),
      m_(n_ + 2 * pad_),
      whitener_(m_, options.sample_rate, options.band_low, options.band_high) {
  psd_seg_ = psd_grid(fs_ / m_, m_ / 2 + 1);
  psd_win_ = psd_grid(fs_ / n_, n_ / 2 + 1);
}

std::vector<int> WindowGenerator::labels(int tree, long long count) const {
  std::vector<int> labels(count, 0);
  std::fill(labels.begin(), labels.begin() + count / 2, 1);
  std::mt19937_64 rng(stream_seed(o_.seed, tree, ~0ULL));
  std::shuffle(labels.begin(), labels.end(), rng);
  return labels;
}

WindowRecord WindowGenerator::render(int tree, long long index, int label, float* strain,
                                     double* signal) const {
  c10::InferenceMode guard;
  std::mt19937_64 rng(stream_seed(o_.seed, tree, index));
  auto uniform = [&](double a, double b) { return a + (b - a) * uniform01(rng); };
  const long long bins = m_ / 2 + 1;
  const double T = o_.duration;

  WindowRecord rec;
  rec.label = label;
  auto X = torch::empty({bins}, torch::kComplexDouble);
  auto* x = as_complex(X);

  if (label == 1) {
    // Source parameters.
    const double ma = uniform(o_.mass_min, o_.mass_max), mb = uniform(o_.mass_min, o_.mass_max);
    Binary b{std::max(ma, mb), std::min(ma, mb), kReferenceDistanceMpc};
    const double t_merger = uniform(o_.merger_min, o_.merger_max) * T;
    const double phi_c = uniform(0, 2 * kPi);
    const double cos_theta = uniform(-1, 1), sky_phi = uniform(0, 2 * kPi), psi = uniform(0, kPi);
    const double cos_iota = uniform(-1, 1);
    const double target_snr = uniform(o_.snr_min, o_.snr_max);
    // Antenna patterns of an L-shaped detector (arms along x and y) and the
    // inclination: h~ = h~_0 [F+ (1 + cos^2 i) / 2 - i Fx cos i].
    const double a = 0.5 * (1 + cos_theta * cos_theta) * std::cos(2 * sky_phi),
                 c = cos_theta * std::sin(2 * sky_phi);
    const double f_plus = a * std::cos(2 * psi) - c * std::sin(2 * psi);
    const double f_cross = a * std::sin(2 * psi) + c * std::cos(2 * psi);
    std::complex<double> orientation(f_plus * 0.5 * (1 + cos_iota * cos_iota), -f_cross * cos_iota);
    if (std::abs(orientation) < 1e-9) orientation = 1e-9;

    // The chirp from the frequency whose time to merger covers the part of
    // the window before the merger (plus a margin and the start taper).
    const double f_floor = kLowEdge * o_.band_low;
    const double f_isco = isco_frequency(b.mass1, b.mass2);
    const double f_full = frequency_at_time_to_merger(b, t_merger + kStartMargin, f_floor);
    const double f_start = std::min(std::max(f_full / kStartTaper, f_floor), 0.9 * f_isco);
    const double t_c = (pad_ + t_merger * fs_) / fs_;  // seconds from the segment's start
    auto H = torch::empty({bins}, torch::kComplexDouble);
    auto* h = as_complex(H);
    const double df = fs_ / m_;
    taylorf2_grid(b, df, bins, f_start, f_isco, t_c, phi_c, h);
    for (long long k = 0; k < bins; ++k) {
      const double f = k * df;
      const double taper =
          rise(f, f_start, kStartTaper * f_start) * (1 - rise(f, kIscoTaper * f_isco, f_isco));
      h[k] *= orientation * taper * fs_;  // continuous -> DFT convention
    }
    if (m_ % 2 == 0) h[bins - 1] = 0;

    // Optimal SNR of the part inside the window, then scale to the target.
    auto series = torch::fft::irfft(H, m_);
    auto window = series.slice(0, pad_, pad_ + n_).contiguous();
    auto W = (torch::fft::rfft(window) / fs_).contiguous();
    const double snr = optimal_snr_fd(as_complex(W), psd_win_, 1.0 / T, o_.band_low, fs_ / 2);
    const double scale = snr > 0 ? target_snr / snr : 0.0;
    if (signal) {
      const double* w = window.data_ptr<double>();
      for (long long i = 0; i < n_; ++i) signal[i] = scale * w[i];
    }
    coloured_noise_fd(psd_seg_, m_, fs_, rng, x);
    for (long long k = 0; k < bins; ++k) x[k] += scale * h[k];

    rec.snr = float(target_snr);
    rec.mass1 = float(b.mass1);
    rec.mass2 = float(b.mass2);
    rec.merger_time = float(t_merger);
    rec.phase = float(phi_c);
  } else {
    if (signal) std::fill(signal, signal + n_, 0.0);
    coloured_noise_fd(psd_seg_, m_, fs_, rng, x);
  }

  whitener_.apply(x);
  auto whitened = torch::fft::irfft(X, m_);
  const double* w = whitened.data_ptr<double>() + pad_;
  for (long long i = 0; i < n_; ++i) strain[i] = float(w[i]);
  return rec;
}

Batch WindowGenerator::generate(int tree, const std::vector<int>& labels, long long first, long long count,
                                int threads, bool with_signal) const {
  Batch b;
  b.strain = torch::empty({count, n_}, torch::kFloat);
  b.label = torch::empty({count}, torch::kInt);
  b.snr = torch::empty({count}, torch::kFloat);
  b.mass1 = torch::empty({count}, torch::kFloat);
  b.mass2 = torch::empty({count}, torch::kFloat);
  b.merger_time = torch::empty({count}, torch::kFloat);
  b.phase = torch::empty({count}, torch::kFloat);
  if (with_signal) b.signal = torch::empty({count, n_}, torch::kDouble);
  float* strain = b.strain.data_ptr<float>();
  double* signal = with_signal ? b.signal.data_ptr<double>() : nullptr;
  auto* label = b.label.data_ptr<int>();
  auto *snr = b.snr.data_ptr<float>(), *m1 = b.mass1.data_ptr<float>(), *m2 = b.mass2.data_ptr<float>();
  auto *tm = b.merger_time.data_ptr<float>(), *ph = b.phase.data_ptr<float>();
  parallel_for(count, threads, [&](long long i) {
    const long long index = first + i;
    const auto r = render(tree, index, labels.at(index), strain + i * n_, signal ? signal + i * n_ : nullptr);
    label[i] = r.label;
    snr[i] = r.snr;
    m1[i] = r.mass1;
    m2[i] = r.mass2;
    tm[i] = r.merger_time;
    ph[i] = r.phase;
  });
  return b;
}

void parallel_for(long long count, int threads, const std::function<void(long long)>& fn) {
  int n = threads > 0 ? threads : int(std::max(1u, std::thread::hardware_concurrency()));
  n = int(std::min<long long>(n, count));
  if (n <= 1) {
    for (long long i = 0; i < count; ++i) fn(i);
    return;
  }
  std::atomic<long long> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto work = [&] {
    try {
      for (long long i; (i = next.fetch_add(1)) < count;) fn(i);
    } catch (...) {
      std::lock_guard lock(error_mutex);
      if (!error) error = std::current_exception();
      next = count;
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < n; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace torchclad::gw
