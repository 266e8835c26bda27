// torchclad-bench: times one training step (forward + loss + backward +
// optimizer update) for the C++ engines in one process, the engines
// interleaved round by round, and writes JSON records (see README.md).
// Workloads: MLPs (mlp-A-B-...-Z, the four MlpEngines) and the 1D CNN of the
// gravitational-wave workload (cnn-gw, the three BinaryEngines); engine
// clad-user: the workload written as a model definition (user_models.cpp),
// where there is one.
#include <sys/resource.h>
#if defined(__x86_64__) || defined(__i386__)
#endif

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <numeric>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "alloc_counter.hpp"
#include "kernels/blas.hpp"
#include "train/binary_engines.hpp"
#include "train/clad_step.hpp"
#include "model/defined_model.hpp"
#include "model/cnn_definition.hpp"
#include "model/mlp_definition.hpp"
#include "optim/optimizers.hpp"
#include "train/engines.hpp"
#include "train/flush_denormals.hpp"
#include "conv1d_bench.hpp"
#include "memory_bench.hpp"
#include "user_models.hpp"

namespace {

using namespace torchclad;
using Clock = std::chrono::steady_clock;

struct Options {
  std::vector<std::string> workloads{"mlp-784-128-10", "mlp-784-256-128-10"};
  std::vector<int> batches{1, 8, 32, 128, 512};
  std::vector<int> cnn_batches{1, 8, 32, 128, 256};  // for cnn-* workloads
  std::vector<int> threads{1, 2};
  std::vector<std::string> engines{"clad-model", "clad-user", "clad-model-node", "clad-ops",
                                   "libtorch-autograd"};
  std::vector<std::string> optimizers{"sgd", "adam"};
  int steps = 30, warmup = 10, rounds = 3;
  std::string out = "bench-cpp.json";
  bool memory = true;   // bandwidths and the optimizer update alone (memory_bench.hpp)
  bool kernels = true;  // with a cnn-* workload: Conv1d's two paths (conv1d_bench.hpp)
  bool help = false;
};

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> items;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');) items.push_back(item);
  return items;
}

// A command-line value that is not what its option takes (main reports it
// with the usage and exits 2).
struct BadValue : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// An integer in [least, most], digits only: "--steps ten", "--steps 3x",
// "--steps +5" and "--steps 0" are refused.
int whole_int(const std::string& option, const std::string& text, int least = 1, int most = 1 << 30) {
  size_t used = 0;
  int value = 0;
  const bool digits = !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
  try {
    if (digits) value = std::stoi(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (!digits || used != text.size() || value < least || value > most)
    throw BadValue(option + " expects " + (least == 0 ? "an integer >= 0" : "a positive integer") +
                   (most < (1 << 30) ? " up to " + std::to_string(most) : std::string()) + ", found '" +
                   text + "'");
  return value;
}

// A list item given twice would time (and report) the same thing twice.
template <class T>
void no_repeats(const std::string& option, const std::vector<T>& items) {
  for (size_t i = 0; i < items.size(); ++i)
    if (std::find(items.begin(), items.begin() + i, items[i]) != items.begin() + i) {
      std::ostringstream item;
      item << items[i];
      throw BadValue(option + " lists '" + item.str() + "' more than once");
    }
}

// A comma-separated list that must name at least one item.
std::vector<std::string> nonempty_list(const std::string& option, const std::string& s) {
  auto items = split(s);
  if (items.empty() ||
      std::any_of(items.begin(), items.end(), [](const std::string& i) { return i.empty(); }))
    throw BadValue(option + " expects a comma-separated list without empty items, found '" + s + "'");
  no_repeats(option, items);
  return items;
}

std::vector<int> split_ints(const std::string& option, const std::string& s, int most = 1 << 30) {
  std::vector<int> v;
  for (const auto& item : split(s)) v.push_back(whole_int(option, item, 1, most));
  if (v.empty())
    throw BadValue(option + " expects a comma-separated list of positive integers, found '" + s + "'");
  no_repeats(option, v);
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

// The CNN workloads by name.
CnnConfig cnn_config_of(const std::string& workload) {
  TORCH_CHECK(workload == "cnn-gw", "torchclad-bench: unknown workload '", workload,
              "': expected mlp-A-B[-C...] or cnn-gw");
  return CnnConfig{};  // 2048 samples, conv blocks {8,16,4} {16,8,4} {32,8,4}, hidden 64
}

// The CNN's least GEMM-shaped work of one step: every conv and linear layer
// forward and dW, dX for all but the first conv (the input needs none). The
// shapes as the Cnn definition has them (models/cnn_of_blocks.h): convolution
// stride 1 without padding, pooling window = stride.
double cnn_step_flops(const CnnConfig& config, int batch) {
  double flops = 0;
  int64_t cin = 1, lin = config.input_length;
  for (size_t b = 0; b < config.blocks.size(); ++b) {
    const auto& blk = config.blocks[b];
    const int64_t lconv = lin - blk.kernel + 1;
    const double mac = double(batch) * blk.channels * cin * blk.kernel * lconv;
    flops += 2 * mac * (b == 0 ? 2 : 3);
    cin = blk.channels;
    lin = lconv / blk.pool;
  }
  const double features = double(cin) * lin;
  flops += 2 * 3 * double(batch) * (features * config.hidden + config.hidden);
  return flops;
}

// An engine asked for that a workload cannot run: said once, so a report
// without its rows is not a surprise.
void say_not_timed(const std::string& engine, const std::string& workload, const char* why) {
  static std::set<std::string> said;
  if (said.insert(engine + " " + workload).second)
    std::cerr << "torchclad-bench: " << engine << " not timed on " << workload << ": " << why << "\n";
}

// Result names of the C++ engines -> the binary engines behind them.
const char* binary_engine_of(const std::string& result_name) {
  if (result_name == "clad-model") return "clad";
  if (result_name == "clad-ops") return "clad-ops";
  if (result_name == "libtorch-autograd") return "autograd";
  return nullptr;  // clad-model-node: MLP only
}

// Engine clad-user: a definition's Clad gradient (DefinedModel) and the same
// fused optimizer as clad-model, stepped as Model::fit steps it
// (train::CladStep). Null if the workload has no definition.
struct UserEngine {
  std::unique_ptr<DefinedModel> model;
  std::unique_ptr<train::CladStep> clad_step;
  void step(const float* x, const float* y, int batch) { (*clad_step)(x, y, nullptr, batch); }
};
std::unique_ptr<UserEngine> make_user_engine(const std::string& workload, const OptimizerConfig& opt) {
  const std::string name = bench::user_model_of(workload);
  if (name.empty()) return nullptr;
  auto e = std::make_unique<UserEngine>();
  e->model = std::make_unique<DefinedModel>(define::find_definition(name), 1);
  e->clad_step = std::make_unique<train::CladStep>(*e->model, opt);
  return e;
}

struct Sampled {
  std::vector<double> us;
  int64_t allocs = 0, steps = 0;
  double rss = 0;
};

// Warm-up, then rounds in which every engine in turn takes o.steps timed steps.
std::vector<Sampled> time_engines(const Options& o, const std::vector<std::function<void()>>& steps) {
  for (auto& step : steps)
    for (int i = 0; i < o.warmup; ++i) step();
  std::vector<Sampled> samples(steps.size());
  // Reserved: a vector growing inside the counted scope would count its
  // own reallocations (8 in 90 steps) against the engine.
  for (auto& s : samples) s.us.reserve(size_t(o.rounds) * o.steps);
  for (int r = 0; r < o.rounds; ++r)
    for (size_t k = 0; k < steps.size(); ++k) {
      support::AllocationCounter counter;
      for (int i = 0; i < o.steps; ++i) {
        const auto t0 = Clock::now();
        steps[k]();
        samples[k].us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
      }
      samples[k].allocs += counter.count();
      samples[k].steps += o.steps;
      samples[k].rss = peak_rss_mb();
    }
  return samples;
}

// What a step's parameters, gradients and optimizer state cost in memory
// traffic, and the time that traffic takes at the measured bandwidths.
struct StepBytes {
  double bytes = 0, state = 0, l2_us = 0, l3_us = 0, mem_us = 0;
  size_t l2_cache = 0;  // a core's L2: the state above fits in it or not
};
// The Linear weights (2-D parameters) a batch-1 step of def updates in their
// pullbacks (DefinedModel::fuses).
int64_t fused_weights(const define::Definition& def, int batch) {
  int64_t n = 0;
  if (batch == 1 && def.weights_read_once)
    for (const auto& p : def.params) n += p.shape.size() == 2 ? p.numel : 0;
  return n;
}
StepBytes step_bytes(const define::Definition& def, int batch, const std::string& optimizer,
                     const bench::Bandwidths& bw) {
  StepBytes s;
  s.bytes = bench::step_param_bytes(def.param_count, optimizer, fused_weights(def, batch));
  s.state = bench::step_state_bytes(def.param_count, optimizer, fused_weights(def, batch));
  if (bw.l2_gbs > 0) s.l2_us = s.bytes / bw.l2_gbs / 1e3;
  s.l2_cache = bw.l2_cache_bytes;
  if (bw.l3_gbs > 0) s.l3_us = s.bytes / bw.l3_gbs / 1e3;
  if (bw.memory_gbs > 0) s.mem_us = s.bytes / bw.memory_gbs / 1e3;
  return s;
}

void write_records(const std::string& optimizer, const std::string& workload,
                   const std::vector<std::string>& names, const std::vector<Sampled>& samples, int batch,
                   int threads, double peak, double flops, const StepBytes& bytes, std::ostream& json,
                   bool& first) {
  std::cerr << workload << " " << optimizer << " batch=" << batch << " threads=" << threads << ":";
  for (size_t k = 0; k < samples.size(); ++k) {
    const auto& s = samples[k];
    const double median = percentile(s.us, 0.5);
    std::cerr << " " << names[k] << " " << static_cast<int>(median) << "us";
    char rec[2048];
    std::snprintf(
        rec, sizeof rec,
        "%s\n  {\"workload\": \"%s\", \"engine\": \"%s\", \"batch\": %d, \"threads\": %d, "
        "\"median_us\": %.3f, \"mean_us\": %.3f, \"p25_us\": %.3f, \"p75_us\": %.3f, \"min_us\": %.3f, "
        "\"samples\": %zu, \"allocs_per_step\": %.3f, \"peak_rss_mb\": %.1f, "
        "\"gflops\": %.3f, \"sgemm_peak_gflops\": %.3f, \"sgemm_bound_us\": %.3f, "
        "\"step_bytes\": %.0f, \"step_state_bytes\": %.0f, \"l2_cache_bytes\": %zu, "
        "\"bytes_bound_l2_us\": %.3f, \"bytes_bound_l3_us\": %.3f, \"bytes_bound_mem_us\": %.3f, "
        "\"optimizer\": \"%s\", \"torch_version\": \"%s\"}",
        first ? "" : ",", workload.c_str(), names[k].c_str(), batch, threads, median,
        std::accumulate(s.us.begin(), s.us.end(), 0.0) / s.us.size(), percentile(s.us, 0.25),
        percentile(s.us, 0.75), percentile(s.us, 0.0), s.us.size(), double(s.allocs) / s.steps, s.rss,
        flops / median / 1e3, peak, flops / peak / 1e3, bytes.bytes, bytes.state, bytes.l2_cache, bytes.l2_us,
        bytes.l3_us, bytes.mem_us, optimizer.c_str(), TORCH_VERSION);
    json << rec;
    first = false;
  }
  std::cerr << "\n";
}

void run_config(const Options& o, const std::string& optimizer, const std::string& workload, int batch,
                int threads, double peak, const bench::Bandwidths& bw, std::ostream& json, bool& first) {
  MlpConfig model{widths_of(workload), kernels::kRelu};
  OptimizerConfig opt;
  opt.kind = optimizer;
  opt.lr = optimizer == "sgd" ? 0.01 : 1e-3;
  // One synthetic batch for every engine.
  auto gen = at::make_generator<at::CPUGeneratorImpl>(7);
  auto x = torch::randn({batch, model.widths[0]}, gen);
  auto y64 = torch::randint(model.widths.back(), {batch}, gen, torch::kInt64);
  auto y32 = y64.to(torch::kInt32);
  train::Batch b{x.data_ptr<float>(), y32.data_ptr<int32_t>(), y64.data_ptr<int64_t>(), batch};

  auto yf = y64.to(torch::kFloat32);  // class indices as the definitions read them

  std::vector<std::string> names;
  std::vector<std::unique_ptr<train::MlpEngine>> engines;
  std::unique_ptr<UserEngine> user;
  std::vector<std::function<void()>> steps;
  for (const auto& e : o.engines) {
    if (e == "clad-user") {
      if (!(user = make_user_engine(workload, opt))) {
        say_not_timed(e, workload, "it has no model definition");
        continue;
      }
      steps.push_back(
          [&user, &x, &yf, batch] { user->step(x.data_ptr<float>(), yf.data_ptr<float>(), batch); });
    } else {
      engines.push_back(train::make_engine(e, model, opt, 1));
      steps.push_back([e = engines.back().get(), &b] { e->step(b); });
    }
    names.push_back(e);
  }
  write_records(optimizer, workload, names, time_engines(o, steps), batch, threads, peak,
                step_gemm_flops(model.widths, batch),
                step_bytes(*mlp_definition(model), batch, optimizer, bw), json, first);
}

void run_cnn_config(const Options& o, const std::string& optimizer, const std::string& workload, int batch,
                    int threads, double peak, const bench::Bandwidths& bw, std::ostream& json, bool& first) {
  const CnnConfig model = cnn_config_of(workload);
  OptimizerConfig opt;
  opt.kind = optimizer;
  opt.lr = optimizer == "sgd" ? 0.01 : 1e-3;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(7);
  auto x = torch::randn({batch, model.input_length}, gen);
  auto targets = torch::randint(2, {batch}, gen, torch::kInt64).to(torch::kFloat32);
  std::vector<std::string> names;
  std::vector<std::unique_ptr<train::BinaryEngine>> engines;
  std::unique_ptr<UserEngine> user;
  std::vector<std::function<void()>> steps;
  for (const auto& e : o.engines) {
    if (e == "clad-user") {
      if (!(user = make_user_engine(workload, opt))) {
        say_not_timed(e, workload, "it has no model definition");
        continue;
      }
      steps.push_back([&user, &x, &targets, batch] {
        user->step(x.data_ptr<float>(), targets.data_ptr<float>(), batch);
      });
    } else if (const char* binary = binary_engine_of(e)) {
      engines.push_back(train::make_binary_engine(binary, model, opt, 1));
      steps.push_back([en = engines.back().get(), &x, &targets, batch] {
        en->step(x.data_ptr<float>(), targets.data_ptr<float>(), batch);
      });
    } else {
      say_not_timed(e, workload, "that engine is for the MLPs only");
      continue;
    }
    names.push_back(e);
  }
  write_records(optimizer, workload, names, time_engines(o, steps), batch, threads, peak,
                cnn_step_flops(model, batch), step_bytes(*cnn_definition(model), batch, optimizer, bw), json,
                first);
}

// The known engines and workloads, so a typo is an error and not a run that
// silently times nothing.
const char* const kEngines[] = {"clad-model", "clad-user", "clad-model-node", "clad-ops",
                                "libtorch-autograd"};

// mlp-A-B[-C...]: at least two widths, each 1 to 65536, no empty part (a
// trailing '-' too), at most 2^28 weights (a gigabyte of float32).
bool valid_workload(const std::string& w) {
  if (w == "cnn-gw") return true;
  if (w.rfind("mlp-", 0) != 0 || w.back() == '-') return false;
  std::vector<long long> widths;
  std::stringstream ss(w.substr(4));
  for (std::string part; std::getline(ss, part, '-');) {
    // No leading zero: mlp-08-4 would time mlp-8-4 again under another name.
    if (part.empty() || part.size() > 5 || part.find_first_not_of("0123456789") != std::string::npos ||
        (part.size() > 1 && part[0] == '0'))
      return false;
    widths.push_back(std::stoll(part));
    if (widths.back() < 1 || widths.back() > 65536) return false;
  }
  long long weights = 0;
  for (size_t i = 1; i < widths.size(); ++i) weights += widths[i - 1] * widths[i];
  return widths.size() >= 2 && weights <= (1LL << 28);
}

// Fills o from argv (option-value pairs); throws BadValue naming the option,
// what it takes and what was found.
void parse_options(int argc, char** argv, Options& o) {
  std::set<std::string> seen;
  for (int i = 1; i < argc; i += 2) {
    const std::string f = argv[i];
    if (f == "--help" || f == "-h") {
      o.help = true;
      return;
    }
    if (i + 1 >= argc) throw BadValue(f + " needs a value");
    const std::string v = argv[i + 1];
    // No value of these options starts with '-': such a word is an option.
    if (v.rfind("-", 0) == 0) throw BadValue(f + " needs a value, found the option " + v);
    if (!seen.insert(f == "--optimizers" ? "--optimizer" : f).second) throw BadValue(f + " is given twice");
    if (f == "--workloads") {
      o.workloads = nonempty_list(f, v);
      for (const auto& w : o.workloads)
        if (!valid_workload(w))
          throw BadValue("--workloads: unknown workload '" + w +
                         "' (expected cnn-gw or mlp-A-B[-C...], widths 1 to 65536, at most 2^28 weights)");
    } else if (f == "--batches") {
      o.batches = split_ints(f, v, 65536);
    } else if (f == "--cnn-batches") {
      o.cnn_batches = split_ints(f, v, 65536);
    } else if (f == "--threads") {
      o.threads = split_ints(f, v, 256);
    } else if (f == "--engines") {
      o.engines = nonempty_list(f, v);
      for (const auto& e : o.engines)
        if (std::find(std::begin(kEngines), std::end(kEngines), e) == std::end(kEngines))
          throw BadValue(
              "--engines: unknown engine '" + e +
              "' (expected clad-model, clad-user, clad-model-node, clad-ops or libtorch-autograd)");
    } else if (f == "--steps") {
      o.steps = whole_int(f, v);
    } else if (f == "--warmup") {
      o.warmup = whole_int(f, v, 0);
    } else if (f == "--rounds") {
      o.rounds = whole_int(f, v);
    } else if (f == "--optimizer" || f == "--optimizers") {
      o.optimizers = nonempty_list(f, v);
      for (const auto& opt : o.optimizers)
        if (opt != "sgd" && opt != "adam")
          throw BadValue("--optimizer takes sgd and/or adam, found '" + opt + "'");
    } else if (f == "--memory") {
      if (v != "0" && v != "1") throw BadValue("--memory expects 1 or 0, found '" + v + "'");
      o.memory = v == "1";
    } else if (f == "--kernels") {
      if (v != "0" && v != "1") throw BadValue("--kernels expects 1 or 0, found '" + v + "'");
      o.kernels = v == "1";
    } else if (f == "--out") {
      o.out = v;
    } else {
      throw BadValue("unknown option " + f);
    }
  }
}

}  // namespace

constexpr const char* kUsage =
    "usage: torchclad-bench [--workloads mlp-784-128-10,mlp-784-256-128-10] [--batches 1,8,32,128,512]\n"
    "                       [--cnn-batches 1,8,32,128,256] [--threads 1,2]\n"
    "                       [--engines clad-model,clad-user,clad-model-node,clad-ops,libtorch-autograd]\n"
    "                       [--steps 30] [--warmup 10] [--rounds 3] [--optimizer sgd,adam]\n"
    "                       [--memory 1|0] [--kernels 1|0] [--out bench-cpp.json]\n"
    "Times training steps of the C++ engines, interleaved round by round, and writes\n"
    "JSON records (cling-plugin/bench/README.md). Workloads: mlp-A-B[-C...], cnn-gw\n"
    "(the defaults are shown in brackets; `npm run bench` adds cnn-gw).\n"
    "--batches: the MLPs' batch sizes; --cnn-batches: cnn-gw's.\n"
    "--rounds R, --warmup W, --steps S: each round steps every engine W times untimed,\n"
    "then S timed steps; engines take turns round by round. Records: the median step.\n"
    "--optimizer: one or more of sgd, adam, default both (every workload and batch runs with each).\n"
    "L2, L3 and memory bandwidth (triad) are always measured first: every step record's\n"
    "bounds use them. --memory 1 (default) also writes them as records and times the\n"
    "fused optimizer update alone (SGD and Adam over 101,770, 1M and 32M parameters).\n"
    "--kernels 1 (default), with cnn-gw among the workloads: Conv1d's two paths (direct,\n"
    "im2col + GEMM) timed against each other on its three layers at each --cnn-batches.\n"
    "--out is written when the run ends (FILE.partial until then); a run that ends with an\n"
    "error writes none.\n";

void run_all(const Options& o, std::ostream& json);

int main(int argc, char** argv) {
  Options o;
  try {
    parse_options(argc, argv, o);
  } catch (const BadValue& e) {
    std::cerr << "torchclad-bench: " << e.what() << "\n" << kUsage;
    return 2;
  }
  if (o.help) {
    std::cout << kUsage;
    return 0;
  }
  // Records go to FILE.partial, renamed to FILE at the end: a run that
  // fails half-way leaves no truncated JSON for report.py to read.
  const std::string partial = o.out + ".partial";
  std::ofstream json(partial);
  if (!json) {
    std::cerr << "torchclad-bench: cannot write --out " << o.out << "\n";
    return 2;
  }
  try {
    run_all(o, json);
  } catch (const std::exception& e) {
    json.close();
    std::remove(partial.c_str());
    std::cerr << "torchclad-bench: failed, " << o.out << " not written: " << e.what() << "\n";
    return 1;
  }
  json.close();
  if (!json || std::rename(partial.c_str(), o.out.c_str()) != 0) {
    std::remove(partial.c_str());
    std::cerr << "torchclad-bench: cannot write --out " << o.out << "\n";
    return 1;
  }
  std::cerr << "wrote " << o.out << "\n";
}

// Every record: the bandwidths, the optimizer update alone (--memory 1),
// Conv1d's two paths (--kernels 1, with a CNN workload), then the steps of
// every thread count, workload, batch and optimizer.
void run_all(const Options& o, std::ostream& json) {
  json << "[";
  bool first = true;
  // Bandwidths (one thread) bound the steps' parameter traffic in every record.
  const bench::Bandwidths bw = bench::measure_bandwidths();
  std::cerr << "triad bandwidth: L2 " << bw.l2_gbs << ", L3 " << bw.l3_gbs << ", memory " << bw.memory_gbs
            << " GB/s\n";
  if (o.memory) bench::write_memory_records(bw, {101770, 1000000, 32000000}, json, first);
  if (o.kernels && std::any_of(o.workloads.begin(), o.workloads.end(),
                               [](const std::string& w) { return w.rfind("cnn-", 0) == 0; })) {
    at::set_num_threads(1);
    bench::write_conv1d_records(o.cnn_batches, o.rounds, o.steps, json, first);
  }
  for (int threads : o.threads) {
    at::set_num_threads(threads);
    // Subnormal floats flushed to zero on every thread, as the training loop
    // does (train/flush_denormals.hpp): a step repeated on one batch drives
    // gradients and moments into the subnormal range after some hundreds of
    // steps, and would then time microcode assists instead of the step.
    const torchclad::train::FlushDenormals flush_denormals;
    const double peak = sgemm_peak_gflops();
    std::cerr << "threads=" << threads << ": sgemm peak " << peak << " GFLOP/s\n";
    for (const auto& w : o.workloads)
      if (w.rfind("cnn-", 0) == 0)
        for (int batch : o.cnn_batches)
          for (const auto& opt : o.optimizers)
            run_cnn_config(o, opt, w, batch, threads, peak, bw, json, first);
      else
        for (int batch : o.batches)
          for (const auto& opt : o.optimizers) run_config(o, opt, w, batch, threads, peak, bw, json, first);
  }
  json << "\n]\n";
}
