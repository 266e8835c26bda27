#pragma once
// What a step's memory traffic could cost at best: this machine's bandwidths
// (a STREAM-like triad over buffers in L2, in L3 and in main memory) and the
// fused optimizer update (optim/optimizers.hpp) timed alone, in bytes moved
// per second. Bytes are counted as reads plus writes, without the
// write-allocate read, for the triad and the optimizer alike.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ostream>
#include <string>
#include <vector>

#include "optim/optimizers.hpp"

namespace torchclad::bench {

struct Bandwidths {
  double l2_gbs = 0, l3_gbs = 0, memory_gbs = 0;
};

// Keeps the compiler from dropping or merging passes over a buffer.
inline void clobber(const void* p) { asm volatile("" : : "r"(p) : "memory"); }

// Best triad rate a[i] = b[i] + s * c[i] over three buffers of total_bytes
// together (12 bytes moved per element), timing batches of passes that take
// at least 50 µs, for at least 0.3 s.
inline double triad_gbs(size_t total_bytes) {
  using Clock = std::chrono::steady_clock;
  const size_t n = total_bytes / 12;
  std::vector<float> a(n, 0.f), b(n, 1.f), c(n, 2.f);
  const float s = 0.5f;
  auto pass = [&] {
    float* __restrict pa = a.data();
    const float* __restrict pb = b.data();
    const float* __restrict pc = c.data();
    for (size_t i = 0; i < n; ++i) pa[i] = pb[i] + s * pc[i];
    clobber(pa);
  };
  pass();  // pages touched, caches warm
  int reps = 1;
  double best = 0;
  const auto start = Clock::now();
  while (std::chrono::duration<double>(Clock::now() - start).count() < 0.3) {
    const auto t0 = Clock::now();
    for (int r = 0; r < reps; ++r) pass();
    const double sec = std::chrono::duration<double>(Clock::now() - t0).count();
    if (sec < 50e-6) reps *= 2;
    best = std::max(best, 12.0 * n * reps / sec / 1e9);
  }
  return best;
}

// L2: 1 MiB in all (this machine's L2 is 2 MiB per core; the MLP's parameters,
// gradients and Adam moments are 1.6 MB). L3: 24 MiB. Memory: 384 MiB, more
// than any L3 here (260 MiB).
inline Bandwidths measure_bandwidths() {
  return {triad_gbs(size_t{1} << 20), triad_gbs(size_t{24} << 20), triad_gbs(size_t{384} << 20)};
}

// Bytes an optimizer update of n parameters moves at least: SGD-momentum reads
// p, g, buf and writes p, buf; Adam reads p, g, m, v and writes p, m, v.
inline double optimizer_bytes(int64_t n, const std::string& optimizer) {
  return 4.0 * n * (optimizer == "adam" ? 7 : 5);
}

// Bytes a training step moves at least in parameters, gradients and optimizer
// state: the forward pass reads the parameters, the backward pass writes the
// gradients, the optimizer moves what optimizer_bytes says. Inputs and
// activations are left out (at batch 1 they are a few KB). fused: parameters
// updated in their layer's pullback (DefinedModel::fused_step, batch 1),
// whose gradient is neither written nor read: 8 bytes less each.
inline double step_param_bytes(int64_t n, const std::string& optimizer, int64_t fused = 0) {
  return 4.0 * n * 2 + optimizer_bytes(n, optimizer) - 8.0 * fused;
}

struct OptimizerTiming {
  double median_us = 0, min_us = 0;
  int64_t steps = 0;
};

// The fused update alone, on buffers kept warm by the previous update (as in
// a training loop): median and best of updates timed one by one, for at least
// 0.3 s and 20 updates, after 5 untimed ones. clear: step_and_clear, as the
// model-level engine steps (DefinedModel::update), with the gradient written
// again before each update, untimed (as the backward pass writes it).
inline OptimizerTiming time_optimizer(const std::string& kind, int64_t n, bool clear = false) {
  using Clock = std::chrono::steady_clock;
  OptimizerConfig config;
  config.kind = kind;
  config.lr = kind == "sgd" ? 0.01 : 1e-3;
  auto opt = make_flat_optimizer(config, n);
  std::vector<float> p(n), g(n);
  for (int64_t i = 0; i < n; ++i) p[i] = 0.01f * float(i % 97), g[i] = 1e-3f * float(i % 89 - 44);
  const std::vector<float> g0 = g;
  auto update = [&] {
    if (clear)
      opt->step_and_clear(p.data(), g.data());
    else
      opt->step(p.data(), g.data());
  };
  for (int i = 0; i < 5; ++i) {
    if (clear) std::copy(g0.begin(), g0.end(), g.begin());
    update();
  }
  std::vector<double> us;
  const auto start = Clock::now();
  while (us.size() < 20 || std::chrono::duration<double>(Clock::now() - start).count() < 0.3) {
    if (clear) std::copy(g0.begin(), g0.end(), g.begin());
    clobber(g.data());
    const auto t0 = Clock::now();
    update();
    clobber(p.data());
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  std::sort(us.begin(), us.end());
  return {us[us.size() / 2], us.front(), static_cast<int64_t>(us.size())};
}

// JSON records: one per bandwidth level ("kind": "bandwidth") and one per
// (optimizer, parameter count) ("kind": "optimizer"), comma-led after the first.
inline void write_memory_records(const Bandwidths& bw, const std::vector<int64_t>& counts, std::ostream& json,
                                 bool& first) {
  char rec[768];
  const std::pair<const char*, double> levels[] = {
      {"l2", bw.l2_gbs}, {"l3", bw.l3_gbs}, {"memory", bw.memory_gbs}};
  for (const auto& [level, gbs] : levels) {
    std::snprintf(rec, sizeof rec, "%s\n  {\"kind\": \"bandwidth\", \"level\": \"%s\", \"gbs\": %.2f}",
                  first ? "" : ",", level, gbs);
    json << rec;
    first = false;
  }
  for (const char* kind : {"sgd", "adam"})
    for (int64_t n : counts) {
      const OptimizerTiming t = time_optimizer(kind, n);
      // step_and_clear also writes the gradient: 4 bytes more per parameter.
      const OptimizerTiming c = time_optimizer(kind, n, true);
      const double bytes = optimizer_bytes(n, kind), clear_bytes = bytes + 4.0 * n;
      std::snprintf(rec, sizeof rec,
                    ",\n  {\"kind\": \"optimizer\", \"optimizer\": \"%s\", \"params\": %lld, "
                    "\"bytes\": %.0f, \"median_us\": %.3f, \"min_us\": %.3f, \"samples\": %lld, "
                    "\"gbs\": %.2f, \"clear_bytes\": %.0f, \"clear_median_us\": %.3f, \"clear_gbs\": %.2f, "
                    "\"l2_gbs\": %.2f, \"l3_gbs\": %.2f, \"memory_gbs\": %.2f}",
                    kind, static_cast<long long>(n), bytes, t.median_us, t.min_us,
                    static_cast<long long>(t.steps), bytes / t.median_us / 1e3, clear_bytes, c.median_us,
                    clear_bytes / c.median_us / 1e3, bw.l2_gbs, bw.l3_gbs, bw.memory_gbs);
      json << rec;
      std::cerr << "optimizer " << kind << " n=" << n << ": " << t.median_us << " us, "
                << bytes / t.median_us / 1e3 << " GB/s; step_and_clear " << c.median_us << " us, "
                << clear_bytes / c.median_us / 1e3 << " GB/s\n";
    }
}

}  // namespace torchclad::bench
