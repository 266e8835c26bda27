#include "train/model_trainer.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include "dist/communicator.hpp"
#include "dist/data_parallel.hpp"
#include "metrics/detection.hpp"
#include "metrics/weighted.hpp"
#include "train/frozen_parameters.hpp"
#include "train/trainer.hpp"

namespace torchclad::train {

void check_model_data(const define::Definition& def, const ModelData& d, const char* split) {
  TORCH_CHECK(d.x.defined() && d.x.dim() == 2, "model '", def.name, "': the ", split,
              " features must be [samples, ", def.inputs, "], found ",
              d.x.defined() ? std::to_string(d.x.dim()) + "-d" : "none");
  TORCH_CHECK(d.x.size(0) > 0, "model '", def.name, "': the ", split, " split is empty");
  TORCH_CHECK(d.x.size(1) == def.inputs, "model '", def.name, "' takes ", def.inputs,
              " features per sample, but the ", split, " samples have ", d.x.size(1));
  TORCH_CHECK(d.y.defined() && d.y.size(0) == d.x.size(0) && d.y.numel() == d.x.size(0) * def.target_width,
              "model '", def.name, "' needs ", def.target_width, " target value(s) per sample; the ", split,
              " split has ", d.x.size(0), " samples and ", d.y.defined() ? d.y.numel() : 0, " target values");
  const auto finite = torch::isfinite(d.x);
  if (!finite.all().item<bool>()) {
    // Name the first one: corrupt or badly whitened data.
    const auto bad = finite.logical_not().nonzero()[0];
    const int64_t row = bad[0].item<int64_t>(), col = bad[1].item<int64_t>();
    TORCH_CHECK(false, "model '", def.name, "': the ", split, " features hold a non-finite value: sample ",
                row, ", feature ", col, " is ", d.x[row][col].item<float>(),
                " (corrupt or badly whitened data?)");
  }
  const auto y = d.y.to(torch::kFloat32);
  TORCH_CHECK(torch::isfinite(y).all().item<bool>(), "model '", def.name, "': the ", split,
              " targets hold a non-finite value");
  if (def.targets == define::Targets::kClassIndex) {
    const double lo = y.min().item<double>(), hi = y.max().item<double>();
    TORCH_CHECK(lo >= 0 && hi < def.classes && y.eq(y.floor()).all().item<bool>(), "model '", def.name,
                "' classifies into ", def.classes, " classes (labels 0..", def.classes - 1, "), but the ",
                split, " labels range from ", lo, " to ", hi);
  } else if (def.targets == define::Targets::kBinary) {
    TORCH_CHECK(y.eq(0).logical_or(y.eq(1)).all().item<bool>(), "model '", def.name,
                "' is a binary classifier: the ", split, " targets must be 0 or 1");
  }
  if (d.w.defined()) {
    TORCH_CHECK(d.w.numel() == d.x.size(0), "model '", def.name, "': the ", split, " split has ", d.x.size(0),
                " samples and ", d.w.numel(), " weights; expected one weight per sample");
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
  if (def.targets == define::Targets::kClassIndex && def.classes != 2) {
    e.test_accuracy = weighted_mean(out.argmax(1).eq(y.squeeze(1).to(torch::kInt64)), w);
  } else if (def.targets == define::Targets::kBinary || def.targets == define::Targets::kClassIndex) {
    // One score per event: the logit, or for two classes the difference of
    // the logits (log p1/p0, so argmax and the softmax's ranking agree).
    const bool two_classes = def.targets == define::Targets::kClassIndex;
    const auto logit = (two_classes ? out.select(1, 1) - out.select(1, 0) : out.select(1, 0)).contiguous();
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

CladStep::CladStep(DefinedModel& model, const OptimizerConfig& optimizer,
                   const std::vector<std::string>& frozen)
    : model_(model),
      optimizer_(make_flat_optimizer(optimizer, model.params().numel())),
      frozen_(frozen_ranges(model.definition(), frozen)) {}

float CladStep::operator()(const float* x, const float* y, const float* w, int n) {
  const float loss = n ? model_.loss_and_grad(x, y, n, w) : 0.0f;
  float* grads = model_.grads().data_ptr<float>();
  dist::average_gradients(grads, model_.grads().numel());
  zero_frozen(grads, frozen_);
  model_.update(*optimizer_);  // the step, and the gradient cleared for the next
  return loss;
}

RunOutcome train_model(DefinedModel& model, const ModelData& train, const ModelData& test,
                       const ModelTrainConfig& c, std::ostream& log) {
  CladStep step(model, c.optimizer, c.frozen);
  return train_engine(
      model, train, test, run_spec("clad", model.definition().name, c),
      [&step](const float* x, const float* y, const float* w, int n) { return step(x, y, w, n); }, log,
      c.weighted_sampling);
}

}  // namespace torchclad::train
