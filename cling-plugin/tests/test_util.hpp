#pragma once
// Helpers shared by the C++ tests: random buffers, finite differences and
// comparisons that report the worst element.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace torchclad::testing {

inline std::vector<double> random_vector(int64_t n, uint64_t seed, double offset_from_zero = 0) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  std::vector<double> v(n);
  for (auto& x : v) {
    x = normal(rng);
    // Keeps values away from kinks (ReLU at 0) where derivatives are one-sided.
    if (offset_from_zero > 0) x += x >= 0 ? offset_from_zero : -offset_from_zero;
  }
  return v;
}

inline torch::Tensor to_tensor(const std::vector<double>& v, at::IntArrayRef shape) {
  return torch::tensor(v, torch::kFloat64).view(shape).clone();
}

inline std::vector<double> to_vector(const torch::Tensor& t) {
  auto c = t.to(torch::kFloat64).contiguous();
  return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}

// Central finite differences of f with respect to v[i], for i in `indices`.
inline std::vector<double> finite_differences(const std::function<double()>& f, double* v,
                                              const std::vector<int64_t>& indices, double h = 1e-6) {
  std::vector<double> d;
  for (int64_t i : indices) {
    const double saved = v[i];
    v[i] = saved + h;
    const double up = f();
    v[i] = saved - h;
    const double down = f();
    v[i] = saved;
    d.push_back((up - down) / (2 * h));
  }
  return d;
}

inline std::vector<int64_t> all_indices(int64_t n, int64_t max_count = 400) {
  std::vector<int64_t> idx;
  const int64_t stride = std::max<int64_t>(1, n / max_count);
  for (int64_t i = 0; i < n; i += stride) idx.push_back(i);
  return idx;
}

inline std::vector<double> pick(const std::vector<double>& v, const std::vector<int64_t>& idx) {
  std::vector<double> out;
  for (int64_t i : idx) out.push_back(v[i]);
  return out;
}

// |a - b| <= atol + rtol * |b| for every element; the message names the worst.
inline ::testing::AssertionResult close(const std::vector<double>& a, const std::vector<double>& b,
                                        double rtol, double atol) {
  if (a.size() != b.size())
    return ::testing::AssertionFailure() << "sizes differ: " << a.size() << " vs " << b.size();
  double worst = 0;
  size_t at = a.size();
  for (size_t i = 0; i < a.size(); ++i) {
    const double excess = std::isnan(a[i]) || std::isnan(b[i])
                              ? (std::isnan(a[i]) && std::isnan(b[i]) ? 0.0 : INFINITY)
                              : std::abs(a[i] - b[i]) - (atol + rtol * std::abs(b[i]));
    if (excess > worst) worst = excess, at = i;
  }
  if (at < a.size())
    return ::testing::AssertionFailure() << "element " << at << " of " << a.size() << ": " << a[at] << " vs "
                                         << b[at] << " (rtol " << rtol << ", atol " << atol << ")";
  return ::testing::AssertionSuccess();
}

// The message of the c10::Error that f throws, or "" if it throws none.
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const c10::Error& e) {
    return e.what_without_backtrace();
  }
  return "";
}

}  // namespace torchclad::testing
