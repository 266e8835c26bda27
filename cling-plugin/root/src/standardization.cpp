#include "standardization.hpp"

#include <cstdio>
#include <stdexcept>
#include <vector>

#include "dataset_impl.hpp"

namespace torchclad {
namespace {

// Below this variance a column counts as constant (float32 data: exactly 0
// in practice).
constexpr double kZeroVariance = 1e-24;

std::string width_of(const torch::Tensor& t) {
  return t.dim() == 2 ? std::to_string(t.size(1)) : std::string("?");
}

// The dataset is a whole one: a shard's weights are all rows' (Distributed::shard).
void check_whole(const Dataset& train, const std::string& where) {
  if (train.impl()->shard_total > 0)
    throw std::runtime_error(where +
                             ": the dataset is one rank's shard of a training set (Distributed::shard); "
                             "standardize on the whole training set");
}

}  // namespace

Standardization fit_standardization(const torch::Tensor& values, const torch::Tensor& weights,
                                    const std::string& where, std::vector<int64_t>* centred_only) {
  const auto v = values.to(torch::kFloat64);
  if (v.size(0) == 0) throw std::runtime_error(where + ": the dataset is empty");
  const auto w = weights.defined() ? weights.to(torch::kFloat64).reshape({-1, 1})
                                   : torch::ones({v.size(0), 1}, torch::kFloat64);
  const double total = w.sum().item<double>();
  if (!(total > 0))
    throw std::runtime_error(where + ": the per-event weights sum to " + std::to_string(total) +
                             "; weighted means need a positive sum");
  const auto mean = (v * w).sum(0) / total;
  const auto var = ((v - mean).pow(2) * w).sum(0) / total;
  // Zero variance (a constant column; with negative weights also a negative
  // "variance"): std 1, so the column is only centred.
  const auto varies = var > kZeroVariance;
  const auto std = torch::where(varies, var.sqrt(), torch::ones_like(var));
  if (centred_only)
    for (int64_t c = 0; c < var.numel(); ++c)
      if (!varies[c].item<bool>()) centred_only->push_back(c);
  return {mean.to(torch::kFloat32).contiguous(), std.to(torch::kFloat32).contiguous()};
}

Standardization fit_feature_standardization(const define::Definition& def, const Dataset& train,
                                            const std::string& where) {
  check_whole(train, where);
  const auto& impl = *train.impl();
  const auto& x = impl.split.images;
  if (x.dim() != 2 || x.size(1) != def.inputs)
    throw std::runtime_error(where + ": model '" + def.name + "' takes " + std::to_string(def.inputs) +
                             " features per sample, the dataset has " + width_of(x));
  return fit_standardization(x, impl.weights, where);
}

Standardization fit_target_standardization(const define::Definition& def, const Dataset& train,
                                           const std::string& where) {
  if (def.targets != define::Targets::kRegression)
    throw std::runtime_error(where + ": model '" + def.name +
                             "' is a classifier; only a regression model's targets are standardised "
                             "(its features: standardize)");
  check_whole(train, where);
  const auto& impl = *train.impl();
  const auto& y = impl.targets;
  if (!y.defined())
    throw std::runtime_error(
        where + ": model '" + def.name + "' is a regression model (" + std::to_string(def.target_width) +
        " target(s) per sample), but the dataset has class labels, not regression targets");
  if (y.dim() != 2 || y.size(1) != def.target_width)
    throw std::runtime_error(where + ": model '" + def.name + "' has " + std::to_string(def.target_width) +
                             " regression target(s) per sample, the dataset has " + width_of(y));
  std::vector<int64_t> centred_only;
  auto fitted = fit_standardization(y, impl.weights, where, &centred_only);
  // A constant target is most likely the wrong column: say so, and how it is
  // handled, rather than let the model learn a constant silently.
  for (const int64_t t : centred_only) {
    const auto column = y.select(1, t);
    const double lo = column.min().item<double>(), hi = column.max().item<double>();
    if (lo == hi)
      std::fprintf(stderr,
                   "torchclad: %s: target %lld of model '%s' is %g in every training event (zero "
                   "variance); it is only centred (std 1), so the model learns a constant\n",
                   where.c_str(), static_cast<long long>(t), def.name.c_str(), lo);
    else
      std::fprintf(stderr,
                   "torchclad: %s: target %lld of model '%s' has a weighted variance <= 0 (negative "
                   "weights); it is only centred (std 1)\n",
                   where.c_str(), static_cast<long long>(t), def.name.c_str());
  }
  return fitted;
}

}  // namespace torchclad
