#include "dist/data_parallel.hpp"

#include <c10/util/Exception.h>

#include <algorithm>
#include <chrono>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "dist/communicator.hpp"

namespace torchclad::dist {
namespace {

int64_t step_local = 1, step_global = 1;
bool step_stop = false;
double seconds_in_allreduce = 0;
// What the step's gradient allreduce carried (average_gradients with a loss).
struct Carried {
  bool valid = false;
  float loss = 0;
  bool stop = false;
} carried;

// Scales this rank's g[0..n) in place by its share of the global batch
// (local / global rows; 0 for an empty share), so that the allreduce's sum
// that follows is the global batch's mean.
void scale_to_share(float* g, int64_t n) {
  if (step_local == 0) {
    std::fill(g, g + n, 0.0f);  // an empty share: whatever the engine left there counts nothing
  } else if (step_local != step_global) {
    const float scale = static_cast<float>(step_local) / static_cast<float>(step_global);
    for (int64_t i = 0; i < n; ++i) g[i] *= scale;
  }
}

}  // namespace

Share share_of(int64_t m, int rank, int ranks) { return {m * rank / ranks, m * (rank + 1) / ranks}; }

void set_step_share(int64_t local, int64_t global) {
  step_local = local;
  step_global = global;
  carried.valid = false;  // a new step: nothing carried yet
}

void set_step_stop_request(bool stop) { step_stop = stop; }

void average_gradients(float* g, int64_t n) {
  auto& w = world();
  if (w.size() == 1) return;
  const auto t0 = std::chrono::steady_clock::now();
  scale_to_share(g, n);
  w.allreduce_sum(g, n);
  seconds_in_allreduce += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void average_gradients(float* g, int64_t n, float local_loss) {
  auto& w = world();
  if (w.size() == 1) return;
  const auto t0 = std::chrono::steady_clock::now();
  g[n] = local_loss;  // scaled with the gradients: the share's part of the global mean
  scale_to_share(g, n + 1);
  g[n + 1] = step_stop ? 1.0f : 0.0f;
  w.allreduce_sum(g, n + kStepTail);
  carried = {true, g[n], g[n + 1] > 0};
  seconds_in_allreduce += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double global_mean_loss(double local_loss, bool* stop) {
  auto& w = world();
  if (w.size() == 1) return local_loss;
  if (carried.valid) {
    carried.valid = false;
    if (stop) *stop = carried.stop;
    return carried.loss;
  }
  double v[2] = {step_local == 0 ? 0.0 : local_loss * double(step_local) / double(step_global),
                 stop && *stop ? 1.0 : 0.0};
  w.allreduce_sum(v, 2);
  if (stop) *stop = v[1] > 0;
  return v[0];
}

void sum_over_ranks(double* v, int n, const std::exception_ptr& failure, const std::string& what) {
  auto& w = world();
  if (w.size() == 1) {
    if (failure) std::rethrow_exception(failure);
    return;
  }
  std::vector<double> all(v, v + n);
  all.push_back(failure ? 1.0 : 0.0);
  all.push_back(failure ? double(w.rank()) : 0.0);
  w.allreduce_sum(all.data(), n + 2);
  if (failure) std::rethrow_exception(failure);
  const double failed = all[n], rank = all[n + 1];
  if (failed > 0)
    throw std::runtime_error(
        std::to_string(static_cast<long long>(failed)) + " of " + std::to_string(w.size()) +
        " ranks failed to " + what +
        (failed == 1 ? " (rank " + std::to_string(static_cast<long long>(rank)) + ")" : "") + "; see " +
        (failed == 1 ? "its" : "their") + " error; this is " + rank_label());
  std::copy(all.begin(), all.begin() + n, v);
}

int64_t source_step_batch(int64_t local, const std::exception_ptr& failure, const std::string& what) {
  double count = static_cast<double>(local);
  sum_over_ranks(&count, 1, failure, what);
  const auto global = static_cast<int64_t>(count);
  set_step_share(local, global);
  return global;
}

double allreduce_seconds() { return seconds_in_allreduce; }
void reset_allreduce_seconds() { seconds_in_allreduce = 0; }

std::string first_difference(const std::string& a, const std::string& b) {
  auto words = [](const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string w; in >> w;) {
      while (!w.empty() && (w.back() == ',' || w.back() == ';')) w.pop_back();
      out.push_back(w);
    }
    return out;
  };
  const std::vector<std::string> x = words(a), y = words(b);
  size_t i = 0;
  while (i < x.size() && i < y.size() && x[i] == y[i]) ++i;
  if (i == x.size() && i == y.size()) return "";
  // The option's name with its value: "--batch 8", "optimizer adam" (the
  // word before is the same on both sides: i is the first difference).
  const bool named =
      i > 0 && (x[i - 1].rfind("--", 0) == 0 || x[i - 1].find_first_of("0123456789/.") == std::string::npos);
  auto at = [&](const std::vector<std::string>& v) {
    if (i >= v.size()) return std::string("nothing more");
    const bool value = named && v[i].rfind("--", 0) != 0;
    return "'" + (value ? v[i - 1] + " " : std::string()) + v[i] + "'";
  };
  return at(x) + " against " + at(y);
}

void check_same_options(const std::string& options) {
  auto& w = world();
  if (w.size() == 1) return;
  double length = w.rank() == 0 ? double(options.size()) : 0;
  w.allreduce_sum(&length, 1);
  std::string root(static_cast<size_t>(length), '\0');
  if (w.rank() == 0) root = options;
  w.broadcast(root.data(), static_cast<int64_t>(root.size()), 0);
  // Every rank learns how many differ, so each throws or none does.
  double differing = root == options ? 0 : 1;
  w.allreduce_sum(&differing, 1);
  if (differing == 0) return;
  const std::string difference = first_difference(root, options);
  TORCH_CHECK(false, "the ranks were started with different options (", differing, " of ", w.size(),
              " ranks differ from rank 0", difference.empty() ? "" : "; here rank 0 has " + difference,
              "); every rank must run the same command. Rank 0: '", root, "'; ", rank_label(), ": '", options,
              "'");
}

void check_samples(int64_t samples, const char* what) {
  auto& w = world();
  if (w.size() == 1) return;
  int64_t root = samples;
  w.broadcast(&root, sizeof root, 0);
  double differing = root == samples ? 0 : 1;
  w.allreduce_sum(&differing, 1);
  TORCH_CHECK(differing == 0, "the ranks hold different numbers of ", what, " (rank 0: ", root, "; ",
              rank_label(), ": ", samples, "); every rank must read the same data");
  TORCH_CHECK(samples >= w.size(), w.size(), " ranks but only ", samples, " ", what,
              ": some rank would have no data; run at most ", samples, " ranks");
}

}  // namespace torchclad::dist
