// torchclad-bench: times one MLP training step (forward + loss + backward +
// optimizer update) for the four C++ engines in one process, the engines
// interleaved round by round, and writes JSON records (see README.md).
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "alloc_counter.hpp"
#include "kernels/blas.hpp"
#include "train/engines.hpp"

namespace {

using namespace torchclad;
using Clock = std::chrono::steady_clock;

struct Options {
  std::vector<std::string> workloads{"mlp-784-128-10", "mlp-784-256-128-10"};
  std::vector<int> batches{1, 8, 32, 128, 512};
  std::vector<int> threads{1, 2};
  std::vector<std::string> engines{"clad-model", "clad-model-node", "clad-ops", "libtorch-autograd"};
  int steps = 30, warmup = 10, rounds = 3;
  std::string optimizer = "sgd", out = "bench-cpp.json";
};

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> items;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');) items.push_back(item);
  return items;
}

std::vector<int> split_ints(const std::string& s) {
  std::vector<int> v;
  for (const auto& item : split(s)) v.push_back(std::stoi(item));
  return v;
}

// "mlp-784-256-128-10" -> {784, 256, 128, 10}
std::vector<int64_t> widths_of(const std::string& workload) {
  std::vector<int64_t> widths;
  std::stringstream ss(workload.substr(4));
  for (std::string w; std::getline(ss, w, '-');) widths.push_back(std::stoll(w));
  return widths;
}

double percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const double pos = q * (v.size() - 1);
  const size_t lo = static_cast<size_t>(pos), hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - lo) * (v[hi] - v[lo]);
}

double peak_rss_mb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024.0;
}

// The least GEMM work of one step: forward, dW of every layer, dX of all but
// the first (the input needs no gradient).
double step_gemm_flops(const std::vector<int64_t>& widths, int batch) {
  double flops = 0;
  for (size_t l = 0; l + 1 < widths.size(); ++l) {
    const double mac = double(batch) * widths[l] * widths[l + 1];
    flops += 2 * mac * (l == 0 ? 2 : 3);
  }
  return flops;
}

// Best sgemm throughput of this machine at this thread count, on the BLAS
// LibTorch uses: square matrices of several sizes, each repeated for at least
// 0.3 s, the best rate kept.
double sgemm_peak_gflops() {
  double best = 0;
  for (int n : {256, 512, 1024, 2048}) {
    std::vector<float> a(size_t(n) * n, 0.5f), b(size_t(n) * n, 0.5f), c(size_t(n) * n);
    const auto start = Clock::now();
    while (std::chrono::duration<double>(Clock::now() - start).count() < 0.3) {
      const auto t0 = Clock::now();
      blas::gemm(false, false, n, n, n, 1.f, a.data(), n, b.data(), n, 0.f, c.data(), n);
      const double s = std::chrono::duration<double>(Clock::now() - t0).count();
      best = std::max(best, 2.0 * n * n * n / s / 1e9);
    }
  }
  return best;
}

struct Sampled {
  std::vector<double> us;
  int64_t allocs = 0, steps = 0;
  double rss = 0;
};

void run_config(const Options& o, const std::string& workload, int batch, int threads,
                double peak, std::ostream& json, bool& first) {
  MlpConfig model{widths_of(workload), kernels::kRelu};
  OptimizerConfig opt;
  opt.kind = o.optimizer;
  opt.lr = o.optimizer == "sgd" ? 0.01 : 1e-3;
  // One synthetic batch for every engine.
  auto gen = at::make_generator<at::CPUGeneratorImpl>(7);
  auto x = torch::randn({batch, model.widths[0]}, gen);
  auto y64 = torch::randint(model.widths.back(), {batch}, gen, torch::kInt64);
  auto y32 = y64.to(torch::kInt32);
  train::Batch b{x.data_ptr<float>(), y32.data_ptr<int32_t>(), y64.data_ptr<int64_t>(), batch};

  std::vector<std::unique_ptr<train::MlpEngine>> engines;
  for (const auto& e : o.engines) engines.push_back(train::make_engine(e, model, opt, 1));
  for (auto& e : engines)
    for (int i = 0; i < o.warmup; ++i) e->step(b);
  std::vector<Sampled> samples(engines.size());
  for (int r = 0; r < o.rounds; ++r)
    for (size_t k = 0; k < engines.size(); ++k) {
      support::AllocationCounter counter;
      for (int i = 0; i < o.steps; ++i) {
        const auto t0 = Clock::now();
        engines[k]->step(b);
        samples[k].us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
      }
      samples[k].allocs += counter.count();
      samples[k].steps += o.steps;
      samples[k].rss = peak_rss_mb();
    }

  const double flops = step_gemm_flops(model.widths, batch);
  std::cerr << workload << " batch=" << batch << " threads=" << threads << ":";
  for (size_t k = 0; k < engines.size(); ++k) {
    const auto& s = samples[k];
    const double median = percentile(s.us, 0.5);
    std::cerr << " " << o.engines[k] << " " << static_cast<int>(median) << "us";
    char rec[1024];
    std::snprintf(rec, sizeof rec,
                  "%s\n  {\"workload\": \"%s\", \"engine\": \"%s\", \"batch\": %d, \"threads\": %d, "
                  "\"median_us\": %.3f, \"p25_us\": %.3f, \"p75_us\": %.3f, \"min_us\": %.3f, "
                  "\"samples\": %zu, \"allocs_per_step\": %.3f, \"peak_rss_mb\": %.1f, "
                  "\"gflops\": %.3f, \"sgemm_peak_gflops\": %.3f, \"sgemm_bound_us\": %.3f, "
                  "\"optimizer\": \"%s\", \"torch_version\": \"%s\"}",
                  first ? "" : ",", workload.c_str(), o.engines[k].c_str(), batch, threads, median,
                  percentile(s.us, 0.25), percentile(s.us, 0.75), percentile(s.us, 0.0),
                  s.us.size(), double(s.allocs) / s.steps, s.rss, flops / median / 1e3, peak,
                  flops / peak / 1e3, o.optimizer.c_str(), TORCH_VERSION);
    json << rec;
    first = false;
  }
  std::cerr << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string f = argv[i], v = argv[i + 1];
    if (f == "--workloads") o.workloads = split(v);
    else if (f == "--batches") o.batches = split_ints(v);
    else if (f == "--threads") o.threads = split_ints(v);
    else if (f == "--engines") o.engines = split(v);
    else if (f == "--steps") o.steps = std::stoi(v);
    else if (f == "--warmup") o.warmup = std::stoi(v);
    else if (f == "--rounds") o.rounds = std::stoi(v);
    else if (f == "--optimizer") o.optimizer = v;
    else if (f == "--out") o.out = v;
    else {
      std::cerr << "torchclad-bench: unknown option " << f << "\n";
      return 2;
    }
  }
  std::ofstream json(o.out);
  json << "[";
  bool first = true;
  for (int threads : o.threads) {
    at::set_num_threads(threads);
    const double peak = sgemm_peak_gflops();
    std::cerr << "threads=" << threads << ": sgemm peak " << peak << " GFLOP/s\n";
    for (const auto& w : o.workloads)
      for (int batch : o.batches) run_config(o, w, batch, threads, peak, json, first);
  }
  json << "\n]\n";
  std::cerr << "wrote " << o.out << "\n";
}
