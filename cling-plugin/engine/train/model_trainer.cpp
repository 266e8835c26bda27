#include "train/model_trainer.hpp"
#include "train/frozen_parameters.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "dist/communicator.hpp"
#include "dist/data_parallel.hpp"
#include "metrics/detection.hpp"
#include "metrics/weighted.hpp"

namespace torchclad::train {

void check_model_data(const define::Definition& def, const ModelData& d, const char* split) {
  TORCH_CHECK(d.x.defined() && d.x.dim() == 2, "model '", def.name, "': the ", split,
              " features must be [samples, ", def.inputs, "], found ",
              d.x.defined() ? std::to_string(d.x.dim()) + "-d" : "none");
  TORCH_CHECK(d.x.size(0) > 0, "model '", def.name, "': the ", split, " split is empty");
  TORCH_CHECK(d.x.size(1) == def.inputs, "model '", def.name, "' takes ", def.inputs,
              " features per sample, but the ", split, " samples have ", d.x.size(1));
  TORCH_CHECK(d.y.defined() && d.y.size(0) == d.x.size(0) && d.y.numel() == d.x.size(0) * def.target_width,
              "model '", def.name, "' needs ", def.target_width, " target value(s) per sample; the ",
              split, " split has ", d.x.size(0), " samples and ", d.y.defined() ? d.y.numel() : 0,
              " target values");
  TORCH_CHECK(torch::isfinite(d.x).all().item<bool>(), "model '", def.name, "': the ", split,
              " features hold a non-finite value");
  const auto y = d.y.to(torch::kFloat32);
  TORCH_CHECK(torch::isfinite(y).all().item<bool>(), "model '", def.name, "': the ", split,
              " targets hold a non-finite value");
  if (def.targets == define::Targets::kClassIndex) {
    const double lo = y.min().item<double>(), hi = y.max().item<double>();
    TORCH_CHECK(lo >= 0 && hi < def.classes && y.eq(y.floor()).all().item<bool>(), "model '",
                def.name, "' classifies into ", def.classes, " classes (labels 0..", def.classes - 1,
                "), but the ", split, " labels range from ", lo, " to ", hi);
  } else if (def.targets == define::Targets::kBinary) {
    TORCH_CHECK(y.eq(0).logical_or(y.eq(1)).all().item<bool>(), "model '", def.name,
                "' is a binary classifier: the ", split, " targets must be 0 or 1");
  }
  if (d.w.defined()) {
    TORCH_CHECK(d.w.numel() == d.x.size(0), "model '", def.name, "': the ", split, " split has ",
                d.x.size(0), " samples and ", d.w.numel(), " weights; expected one weight per sample");
    const auto w = d.w.to(torch::kFloat64);
    TORCH_CHECK(torch::isfinite(w).all().item<bool>(), "model '", def.name, "': the ", split,
                " weights hold a non-finite value");
    const double total = w.sum().item<double>();
    TORCH_CHECK(total > 0, "model '", def.name, "': the ", split, " weights sum to ", total,
                "; the weighted loss and metrics need a positive sum of weights");
  }
}

namespace {

// The mean of v [n] (0/1 or squared errors), each sample counting its weight
// when there are weights.
double weighted_mean(const torch::Tensor& v, const torch::Tensor& w) {
  const auto d = v.to(torch::kFloat64);
  if (!w.defined()) return d.mean().item<double>();
  const auto wd = w.to(torch::kFloat64).reshape({-1});
  return (d * wd).sum().item<double>() / wd.sum().item<double>();
}

// Weighted AUC needs each class's weights to sum to a positive number.
bool both_classes_weigh(const std::vector<int>& labels, const torch::Tensor& w) {
  if (!w.defined())
    return std::count(labels.begin(), labels.end(), 1) > 0 && std::count(labels.begin(), labels.end(), 0) > 0;
  const auto wc = w.to(torch::kFloat64).contiguous();
  double s = 0, b = 0;
  for (size_t i = 0; i < labels.size(); ++i) (labels[i] ? s : b) += wc.data_ptr<double>()[i];
  return s > 0 && b > 0;
}

}  // namespace

Evaluation evaluate_model(DefinedModel& model, const ModelData& data) {
  const auto& def = model.definition();
  torch::Tensor out;
  Evaluation e;
  e.test_loss = model.loss_and_outputs(data.x, data.y, &out, data.w);
  const auto y = data.y.to(torch::kFloat32).reshape({data.x.size(0), def.target_width});
  const auto& w = data.w;
  if (def.targets == define::Targets::kClassIndex) {
    e.test_accuracy = weighted_mean(out.argmax(1).eq(y.squeeze(1).to(torch::kInt64)), w);
  } else if (def.targets == define::Targets::kBinary) {
    const auto logit = out.select(1, 0).contiguous();
    e.test_accuracy = weighted_mean(logit.gt(0).eq(y.squeeze(1).gt(0.5)), w);
    std::vector<int> labels(y.size(0));
    const auto yc = y.contiguous();
    for (size_t i = 0; i < labels.size(); ++i) labels[i] = yc.data_ptr<float>()[i] > 0.5f;
    if (both_classes_weigh(labels, w)) {
      const std::span<const float> scores{logit.data_ptr<float>(), labels.size()};
      if (w.defined()) {
        const auto wc = w.to(torch::kFloat32).contiguous();
        e.test_auc = metrics::weighted_roc_auc(scores, labels, {wc.data_ptr<float>(), labels.size()});
      } else {
        e.test_auc = metrics::roc_auc(scores, labels);
      }
      char s[32];
      std::snprintf(s, sizeof s, "AUC %.4f", e.test_auc);
      e.summary = s;
    }
  } else {
    e.test_accuracy = -1;
    e.test_rmse = std::sqrt(weighted_mean((out - y).pow(2).mean(1), w));
    char s[48];
    std::snprintf(s, sizeof s, "RMSE %.4g", e.test_rmse);
    e.summary = s;
  }
  return e;
}

RunOutcome train_model(DefinedModel& model, const ModelData& train, const ModelData& test,
                       const ModelTrainConfig& c, std::ostream& log) {
  const auto& def = model.definition();
  TORCH_CHECK(c.epochs >= 1, "epochs must be at least 1, found ", c.epochs);
  TORCH_CHECK(c.batch >= 1, "batch must be at least 1, found ", c.batch);
  TORCH_CHECK(c.threads >= 1, "threads must be at least 1, found ", c.threads);
  check_model_data(def, train, "training");
  check_model_data(def, test, "test");
  at::set_num_threads(c.threads);
  auto optimizer = make_flat_optimizer(c.optimizer, model.params().numel());
  const auto frozen = frozen_ranges(def, c.frozen);

  const auto x = train.x.to(torch::kFloat32).contiguous();
  const auto y = train.y.to(torch::kFloat32).contiguous();
  const int64_t xw = def.inputs, yw = def.target_width;
  std::vector<float> xb(int64_t{c.batch} * xw), yb(int64_t{c.batch} * yw);
  TORCH_CHECK(!c.weighted_sampling || train.w.defined(), "model '", def.name,
              "': weighted sampling needs per-event weights, but the training set has none");
  const int64_t n = x.size(0);
  dist::check_samples(n, "training samples");
  // The position of this rank's first sample in an epoch's order (0 in one
  // process): where a new epoch's weighted draw happens.
  const int64_t dist_epoch_start = dist::share_of(
      std::min<int64_t>(int64_t{c.batch} * dist::world().size(), n), dist::world().rank(),
      dist::world().size()).begin;
  // Per event: its loss factor (see the header); per epoch with weighted
  // sampling: the events drawn, position k of the epoch's order taking
  // drawn[k] (drawn with replacement, so the shuffle of positions keeps them
  // independent).
  std::vector<float> factor, wb;
  std::vector<double> cumulative;
  std::vector<int64_t> drawn;
  if (train.w.defined()) {
    const auto wd = train.w.to(torch::kFloat64).contiguous();
    const double* w = wd.data_ptr<double>();
    double sum = 0, sum_abs = 0;
    for (int64_t i = 0; i < n; ++i) sum += w[i], sum_abs += std::abs(w[i]);
    factor.resize(n);
    wb.resize(c.batch);
    for (int64_t i = 0; i < n; ++i)
      factor[i] = c.weighted_sampling ? static_cast<float>((w[i] > 0 ? 1 : w[i] < 0 ? -1 : 0) * sum_abs / sum)
                                      : static_cast<float>(w[i] * double(n) / sum);
    if (c.weighted_sampling) {
      cumulative.resize(n);
      double run = 0;
      for (int64_t i = 0; i < n; ++i) cumulative[i] = (run += std::abs(w[i])) / sum_abs;
      drawn.resize(n);
    }
  }
  uint64_t sampled_epoch = 0;
  auto draw_epoch = [&] {
    // Seeded by (seed, epoch), apart from the shuffle's generator.
    std::mt19937_64 rng((c.seed ^ 0x9e3779b97f4a7c15ull) * 1000003 + ++sampled_epoch);
    for (int64_t k = 0; k < n; ++k) {
      const double u = static_cast<double>(rng() >> 11) * 0x1p-53;
      const auto it = std::upper_bound(cumulative.begin(), cumulative.end(), u);
      drawn[k] = std::min<int64_t>(it - cumulative.begin(), n - 1);
    }
  };

  RunSpec spec;
  spec.engine = "clad";
  spec.model = def.name;
  spec.optimizer = c.optimizer.kind;
  spec.lr = c.optimizer.lr;
  spec.epochs = c.epochs;
  spec.batch = c.batch;
  spec.threads = c.threads;
  spec.samples = x.size(0);
  spec.seed = c.seed;
  spec.progress = c.progress;
  return run_epochs(
      spec,
      [&](const std::vector<int64_t>& order, int64_t start, int size) {
        const float* xs = x.data_ptr<float>();
        const float* ys = y.data_ptr<float>();
        if (!drawn.empty() && start == dist_epoch_start) draw_epoch();
        for (int i = 0; i < size; ++i) {
          const int64_t row = drawn.empty() ? order[start + i] : drawn[order[start + i]];
          std::memcpy(xb.data() + i * xw, xs + row * xw, sizeof(float) * xw);
          std::memcpy(yb.data() + i * yw, ys + row * yw, sizeof(float) * yw);
          if (!factor.empty()) wb[i] = factor[row];
        }
        const float loss = size ? model.loss_and_grad(xb.data(), yb.data(), size,
                                                      factor.empty() ? nullptr : wb.data())
                                : 0.0f;  // an empty data-parallel share
        dist::average_gradients(model.grads().data_ptr<float>(), model.grads().numel());
        zero_frozen(model.grads().data_ptr<float>(), frozen);
        optimizer->step(model.params().data_ptr<float>(), model.grads().data_ptr<float>());
        return loss;
      },
      [&] { return evaluate_model(model, test); }, log);
}

}  // namespace torchclad::train
