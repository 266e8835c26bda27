// Random draws with a fixed algorithm (the output must not depend on the
// standard library's distributions, and libstdc++'s generate_canonical
// computes a long-double logarithm per draw, which dominated the run time).
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <utility>

namespace torchclad::gw {

// Uniform in [0, 1) with 53 random bits.
inline double uniform01(std::mt19937_64& rng) { return double(rng() >> 11) * 0x1.0p-53; }

// Two independent standard normals (Marsaglia's polar method).
inline std::pair<double, double> normal_pair(std::mt19937_64& rng) {
  double u, v, s;
  do {
    u = 2.0 * uniform01(rng) - 1.0;
    v = 2.0 * uniform01(rng) - 1.0;
    s = u * u + v * v;
  } while (s >= 1.0 || s == 0.0);
  const double factor = std::sqrt(-2.0 * std::log(s) / s);
  return {u * factor, v * factor};
}

}  // namespace torchclad::gw
