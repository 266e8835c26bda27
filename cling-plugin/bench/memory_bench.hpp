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
#include <exception>
#include <fstream>
#include <ostream>
#include <string>
#include <tuple>
#include <vector>

#include "optim/optimizers.hpp"

namespace torchclad::bench {

struct Bandwidths {
  double l2_gbs = 0, l3_gbs = 0, memory_gbs = 0;
  // The triads' three buffers together, bytes (cache_buffer_bytes).
  size_t l2_bytes = 0, l3_bytes = 0, memory_bytes = 0;
  size_t l2_cache_bytes = 0;  // a core's whole L2, from sysfs
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

// A cache's size in bytes from sysfs (cpu0's cache index of that level,
// "1024K"), or fallback when the kernel does not say.
inline size_t cache_bytes(int level, size_t fallback) {
  for (int index = 0; index < 8; ++index) {
    const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index) + "/";
    std::ifstream lv(dir + "level"), sz(dir + "size");
    int l = 0;
    std::string size;
    if (!(lv >> l) || l != level || !(sz >> size) || size.empty()) continue;
    const size_t unit = size.back() == 'K' ? 1024 : size.back() == 'M' ? 1024 * 1024 : 1;
    size_t value = 0;
    try {
      value = static_cast<size_t>(std::stoull(size));
    } catch (const std::exception&) {  // not a size: keep the fallback
    }
    if (value > 0) return value * unit;
  }
  return fallback;
}

// The triads' buffer sizes, read from this machine's caches: half the L2 of a
// core (the rest holds code, stack and the other buffers' lines), half the L3
// (on AMD it is a victim cache shared by the cores), and memory: 8 times the
// L3, at least 384 MiB.
inline Bandwidths measure_bandwidths() {
  const size_t l2 = cache_bytes(2, size_t{1} << 20), l3 = cache_bytes(3, size_t{32} << 20);
  Bandwidths bw;
  bw.l2_cache_bytes = l2;
  bw.l2_bytes = l2 / 2;
  bw.l3_bytes = std::max(l3 / 2, 4 * l2);
  bw.memory_bytes = std::max(size_t{384} << 20, 8 * l3);
  bw.l2_gbs = triad_gbs(bw.l2_bytes);
  bw.l3_gbs = triad_gbs(bw.l3_bytes);
  bw.memory_gbs = triad_gbs(bw.memory_bytes);
  return bw;
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

// Bytes a step keeps from one step to the next and touches in each: the
// parameters, the gradients not fused away, and the optimizer's state (SGD's
// momentum buffer; Adam's two moments). Whether this fits in a core's L2 is
// what decides which bandwidth bounds a small batch's step.
inline double step_state_bytes(int64_t n, const std::string& optimizer, int64_t fused = 0) {
  return 4.0 * (n + (n - fused) + n * (optimizer == "adam" ? 2 : 1));
}

struct OptimizerTiming {
  double median_us = 0, min_us = 0;
  int64_t steps = 0;
};

// Median and best of update() timed call by call, for at least 0.3 s and 20
// calls, after 5 untimed ones; before() runs untimed ahead of each call.
template <class Update, class Before>
OptimizerTiming time_updates(Update update, Before before) {
  using Clock = std::chrono::steady_clock;
  for (int i = 0; i < 5; ++i) {
    before();
    update();
  }
  std::vector<double> us;
  const auto start = Clock::now();
  while (us.size() < 20 || std::chrono::duration<double>(Clock::now() - start).count() < 0.3) {
    before();
    const auto t0 = Clock::now();
    update();
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  std::sort(us.begin(), us.end());
  return {us[us.size() / 2], us.front(), static_cast<int64_t>(us.size())};
}

inline void fill_parameters(std::vector<float>& p, std::vector<float>& g) {
  for (size_t i = 0; i < p.size(); ++i) p[i] = 0.01f * float(i % 97), g[i] = 1e-3f * float(int(i % 89) - 44);
}

// The fused update alone, on buffers kept warm by the previous update (as in
// a training loop). clear: step_and_clear, as the model-level engine steps
// (DefinedModel::update), with the gradient written again before each
// update, untimed (as the backward pass writes it).
inline OptimizerTiming time_optimizer(const std::string& kind, int64_t n, bool clear = false) {
  OptimizerConfig config;
  config.kind = kind;
  config.lr = kind == "sgd" ? 0.01 : 1e-3;
  auto opt = make_flat_optimizer(config, n);
  std::vector<float> p(n), g(n);
  fill_parameters(p, g);
  const std::vector<float> g0 = g;
  return time_updates(
      [&] {
        if (clear)
          opt->step_and_clear(p.data(), g.data());
        else
          opt->step(p.data(), g.data());
        clobber(p.data());
      },
      [&] {
        if (clear) std::copy(g0.begin(), g0.end(), g.begin());
        clobber(g.data());
      });
}

// Adam's memory traffic without its square root and division: the same
// reads (p, g, m, v) and writes (p, m, v) per parameter in one pass, with
// multiply-adds only. Timed as the update is, it is what Adam would take if
// moving its bytes were its only cost; the real update's excess over it is
// the cost of the arithmetic.
inline OptimizerTiming time_adam_streams(int64_t n) {
  std::vector<float> p(n), g(n), m(n, 0.f), v(n, 0.f);
  fill_parameters(p, g);
  return time_updates(
      [&] {
        float* __restrict pp = p.data();
        float* __restrict pm = m.data();
        float* __restrict pv = v.data();
        const float* __restrict pg = g.data();
        for (int64_t i = 0; i < n; ++i) {
          const float gi = pg[i];
          const float mi = 0.9f * pm[i] + 0.1f * gi;
          const float vi = 0.999f * pv[i] + 0.001f * gi * gi;
          pm[i] = mi;
          pv[i] = vi;
          pp[i] -= 1e-3f * mi + 1e-8f * vi;
        }
        clobber(pp);
      },
      [&] { clobber(g.data()); });
}

// JSON records: one per bandwidth level ("kind": "bandwidth") and one per
// (optimizer, parameter count) ("kind": "optimizer"), comma-led after the first.
inline void write_memory_records(const Bandwidths& bw, const std::vector<int64_t>& counts, std::ostream& json,
                                 bool& first) {
  char rec[768];
  const std::tuple<const char*, double, size_t> levels[] = {{"l2", bw.l2_gbs, bw.l2_bytes},
                                                            {"l3", bw.l3_gbs, bw.l3_bytes},
                                                            {"memory", bw.memory_gbs, bw.memory_bytes}};
  for (const auto& [level, gbs, bytes] : levels) {
    std::snprintf(rec, sizeof rec,
                  "%s\n  {\"kind\": \"bandwidth\", \"level\": \"%s\", \"gbs\": %.2f, \"bytes\": %zu}",
                  first ? "" : ",", level, gbs, bytes);
    json << rec;
    first = false;
  }
  for (const char* kind : {"sgd", "adam"})
    for (int64_t n : counts) {
      const OptimizerTiming t = time_optimizer(kind, n);
      // step_and_clear also writes the gradient: 4 bytes more per parameter.
      const OptimizerTiming c = time_optimizer(kind, n, true);
      const double bytes = optimizer_bytes(n, kind), clear_bytes = bytes + 4.0 * n;
      // Adam's streams without its arithmetic (SGD-momentum is little more
      // than its streams already): null for SGD.
      const double streams_us = std::string(kind) == "adam" ? time_adam_streams(n).median_us : -1;
      char streams[32] = "null";
      if (streams_us > 0) std::snprintf(streams, sizeof streams, "%.3f", streams_us);
      std::snprintf(rec, sizeof rec,
                    ",\n  {\"kind\": \"optimizer\", \"optimizer\": \"%s\", \"params\": %lld, "
                    "\"bytes\": %.0f, \"median_us\": %.3f, \"min_us\": %.3f, \"samples\": %lld, "
                    "\"gbs\": %.2f, \"clear_bytes\": %.0f, \"clear_median_us\": %.3f, \"clear_gbs\": %.2f, "
                    "\"streams_median_us\": %s, \"l2_gbs\": %.2f, \"l3_gbs\": %.2f, \"memory_gbs\": %.2f}",
                    kind, static_cast<long long>(n), bytes, t.median_us, t.min_us,
                    static_cast<long long>(t.steps), bytes / t.median_us / 1e3, clear_bytes, c.median_us,
                    clear_bytes / c.median_us / 1e3, streams, bw.l2_gbs, bw.l3_gbs, bw.memory_gbs);
      json << rec;
      std::cerr << "optimizer " << kind << " n=" << n << ": " << t.median_us << " us, "
                << bytes / t.median_us / 1e3 << " GB/s; step_and_clear " << c.median_us << " us, "
                << clear_bytes / c.median_us / 1e3 << " GB/s";
      if (streams_us > 0) std::cerr << "; its streams alone " << streams_us << " us";
      std::cerr << "\n";
    }
}

}  // namespace torchclad::bench
