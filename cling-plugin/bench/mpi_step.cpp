// torchclad-bench-mpi: data-parallel step time under mpirun (issue 19).
// Run by bench/mpi_scaling.py as `mpirun -np N torchclad-bench-mpi ...`.
// For the MLP (784-128-10) and the GW CNN with the model-level engine (clad)
// and the LibTorch autograd engine, each rank times whole steps on its own
// random local batch (gradient, one allreduce over the flat gradient buffer,
// optimizer step) and the time spent in the allreduce; and it times a bare
// MPI allreduce of float buffers of several sizes (the latency/bandwidth fit
// of the cost model in README.md). Rank 0 prints one JSON object per line:
// medians over rounds of the slowest rank's mean per step.
#include <algorithm>
#include <chrono>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "dist/communicator.hpp"
#include "dist/data_parallel.hpp"
#include "dist/mpi_world.hpp"
#include "train/binary_engines.hpp"
#include "train/engines.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using namespace torchclad;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// The slowest rank's value (what the step waits for).
double max_over_ranks(double v) {
  // max via the sum of one-hot contributions is awkward; gather by sums of a vector.
  auto& w = dist::world();
  std::vector<double> all(w.size(), 0.0);
  all[w.rank()] = v;
  w.allreduce_sum(all.data(), static_cast<int64_t>(all.size()));
  return *std::max_element(all.begin(), all.end());
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct Timing {
  std::vector<double> step, allreduce;
};

template <class StepFn>
Timing time_steps(StepFn step, int warmup, int steps, int rounds) {
  Timing t;
  for (int i = 0; i < warmup; ++i) step();
  for (int r = 0; r < rounds; ++r) {
    dist::reset_allreduce_seconds();
    const auto t0 = Clock::now();
    for (int i = 0; i < steps; ++i) step();
    const double s = seconds_since(t0) / steps, a = dist::allreduce_seconds() / steps;
    t.step.push_back(max_over_ranks(s));
    t.allreduce.push_back(max_over_ranks(a));
  }
  return t;
}

void print_record(const std::string& workload, const std::string& engine, int batch, int64_t params,
                  const Timing& t) {
  if (!dist::is_root()) return;
  std::vector<double> sorted = t.step;
  std::sort(sorted.begin(), sorted.end());
  std::cout << "{\"kind\": \"step\", \"workload\": \"" << workload << "\", \"engine\": \"" << engine
            << "\", \"ranks\": " << dist::world().size() << ", \"local_batch\": " << batch
            << ", \"params\": " << params << ", \"step_us\": " << 1e6 * median(t.step)
            << ", \"step_us_min\": " << 1e6 * sorted.front() << ", \"step_us_max\": " << 1e6 * sorted.back()
            << ", \"allreduce_us\": " << 1e6 * median(t.allreduce) << ", \"rounds\": " << t.step.size() << "}"
            << std::endl;
}

std::vector<int> to_list(const std::string& v) {
  std::vector<int> out;
  std::stringstream ss(v);
  for (std::string s; std::getline(ss, s, ',');) out.push_back(std::stoi(s));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  dist::MpiSession mpi(&argc, &argv);
  std::vector<int> mlp_batches{16, 64, 256}, cnn_batches{8, 32, 128};
  std::vector<int> sizes{1, 64, 4096, 65536, 262144, 1048576};
  int steps = 20, rounds = 5, warmup = 5;
  std::vector<std::string> engines{"clad", "autograd"};
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string f = argv[i], v = argv[i + 1];
    if (f == "--mlp-batches")
      mlp_batches = to_list(v);
    else if (f == "--cnn-batches")
      cnn_batches = to_list(v);
    else if (f == "--sizes")
      sizes = to_list(v);
    else if (f == "--steps")
      steps = std::stoi(v);
    else if (f == "--rounds")
      rounds = std::stoi(v);
    else {
      std::cerr << "unknown option " << f << "\n";
      mpi.fail();
      return 2;
    }
  }
  at::set_num_threads(1);
  std::mt19937 rng(1234 + dist::world().rank());
  std::normal_distribution<float> normal;
  // Bare allreduce of n floats (the cost model's fit).
  for (int n : sizes) {
    std::vector<float> buf(n, 1.0f);
    dist::set_step_share(1, 1);
    const auto t =
        time_steps([&] { dist::average_gradients(buf.data(), n); }, 3, n > 100000 ? 20 : 200, rounds);
    if (dist::is_root())
      std::cout << "{\"kind\": \"allreduce\", \"ranks\": " << dist::world().size() << ", \"floats\": " << n
                << ", \"bytes\": " << 4LL * n << ", \"us\": " << 1e6 * median(t.allreduce) << "}"
                << std::endl;
  }
  for (const auto& engine : engines) {
    for (int b : mlp_batches) {
      auto e = train::make_engine(engine, MlpConfig{{784, 128, 10}, kernels::kRelu},
                                  OptimizerConfig{"sgd", 0.01}, 42);
      std::vector<float> x(size_t(b) * 784);
      for (auto& v : x) v = normal(rng);
      std::vector<int32_t> y32(b);
      std::vector<int64_t> y64(b);
      for (int i = 0; i < b; ++i) y64[i] = y32[i] = static_cast<int>(rng() % 10);
      dist::set_step_share(b, int64_t{b} * dist::world().size());
      const auto t = time_steps([&] { e->step(train::Batch{x.data(), y32.data(), y64.data(), b}); }, warmup,
                                steps, rounds);
      print_record("mlp-784-128-10", engine, b, e->params().numel(), t);
    }
    for (int b : cnn_batches) {
      auto e = train::make_binary_engine(engine, CnnConfig{}, OptimizerConfig{"sgd", 0.01}, 42);
      std::vector<float> x(size_t(b) * 2048), y(b);
      for (auto& v : x) v = normal(rng);
      for (auto& v : y) v = static_cast<float>(rng() % 2);
      dist::set_step_share(b, int64_t{b} * dist::world().size());
      const auto t =
          time_steps([&] { e->step(x.data(), y.data(), b); }, warmup, std::max(5, steps / 2), rounds);
      print_record("cnn-gw", engine, b, e->params().numel(), t);
    }
  }
  return 0;
}
