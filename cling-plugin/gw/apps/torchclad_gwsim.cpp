// torchclad-gwsim: writes simulated, whitened gravitational-wave detector
// strain windows (half with an injected inspiral chirp) to a ROOT file.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <stdexcept>
#include <string>

#include "cli_args.hpp"
#include "torchclad/gw_simulator.h"

namespace {

const char* kUsage = R"(usage: torchclad-gwsim --out FILE [options]

  --out FILE            the ROOT file to write (written as FILE.partial, renamed when complete)
  --train N             windows in tree "train", default 20000
  --test N              windows in tree "test", default 4000
  --seed S              default 42: same seed, same file
  --sample-rate HZ      default 2048
  --duration S          window length in seconds, default 1
  --mass-min M          component masses uniform in [mass-min, mass-max] solar masses, default 5
  --mass-max M          default 50
  --snr-min X           target optimal SNR uniform in [snr-min, snr-max], default 5
  --snr-max X           default 20
  --band-low HZ         whitening band-pass, default 20 to 500 Hz (smooth edges outside)
  --band-high HZ
  --threads N           default 0: every core
  --quiet               no progress on stderr
  --help                this text

Trees "train" and "test": strain[N]/F (whitened, N = sample rate x duration), label/I
(1 signal, 0 noise; 50/50), snr/F, mass1/F, mass2/F, merger_time/F (s from the window's
start, -1 for noise), phase/F; TNamed "gw_parameters" (JSON) and TGraph "psd".
)";

using torchclad::cli::to_double;
using torchclad::cli::to_int;
using torchclad::cli::UsageError;

}  // namespace

int main(int argc, char** argv) {
  namespace gw = torchclad::gw;
  gw::SimulationOptions o;
  std::string out;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string flag = argv[i];
      if (flag == "--help" || flag == "-h") {
        std::cout << kUsage;
        return 0;
      }
      if (flag == "--quiet") {
        o.progress = false;
        continue;
      }
      if (flag.rfind("--", 0) != 0) throw UsageError("unexpected argument '" + flag + "'");
      if (i + 1 >= argc) throw UsageError(flag + " expects a value");
      const std::string v = argv[++i];
      if (flag == "--out")
        out = v;
      else if (flag == "--train")
        o.train = to_int(flag, v);
      else if (flag == "--test")
        o.test = to_int(flag, v);
      else if (flag == "--seed") {
        const long long s = to_int(flag, v);
        if (s < 0) throw UsageError("--seed expects an integer >= 0, found '" + v + "'");
        o.seed = static_cast<unsigned long long>(s);
      } else if (flag == "--sample-rate")
        o.sample_rate = to_double(flag, v);
      else if (flag == "--duration")
        o.duration = to_double(flag, v);
      else if (flag == "--mass-min")
        o.mass_min = to_double(flag, v);
      else if (flag == "--mass-max")
        o.mass_max = to_double(flag, v);
      else if (flag == "--snr-min")
        o.snr_min = to_double(flag, v);
      else if (flag == "--snr-max")
        o.snr_max = to_double(flag, v);
      else if (flag == "--band-low")
        o.band_low = to_double(flag, v);
      else if (flag == "--band-high")
        o.band_high = to_double(flag, v);
      else if (flag == "--threads")
        o.threads = static_cast<int>(to_int(flag, v));
      else
        throw UsageError("unknown option '" + flag + "'");
    }
    if (out.empty()) throw UsageError("--out FILE is required");
    gw::validate(o);
  } catch (const UsageError& e) {
    std::cerr << "torchclad-gwsim: " << e.what() << "\n\n" << kUsage;
    return 2;
  } catch (const std::invalid_argument& e) {  // a bad parameter value
    std::cerr << "torchclad-gwsim: " << e.what() << "\n";
    return 2;
  }

  try {
    const auto start = std::chrono::steady_clock::now();
    if (o.progress)
      std::cerr << gw::version() << ": " << o.train << " train + " << o.test << " test windows of "
                << o.duration << " s at " << o.sample_rate << " Hz, masses " << o.mass_min << "-"
                << o.mass_max << ", SNR " << o.snr_min << "-" << o.snr_max << ", seed " << o.seed << "\n";
    const long long windows = gw::simulate(o, out);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::error_code ec;
    const auto bytes = std::filesystem::file_size(out, ec);
    std::printf("wrote %lld windows (%lld train, %lld test, %lld samples each) to %s: %.1f MB in %.1f s\n",
                windows, o.train, o.test, static_cast<long long>(o.sample_rate * o.duration + 0.5),
                out.c_str(), ec ? 0.0 : bytes / 1e6, seconds);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "torchclad-gwsim: " << e.what() << "\n";
  }
  return 1;
}
