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
#include "train/checkpoint.hpp"
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
  TORCH_CHECK(!d.y_scale.defined() || d.y_scale.numel() == def.target_width, "model '", def.name, "' has ",
              def.target_width, " target value(s) per sample, but the targets' standardisation has ",
              d.y_scale.numel());
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

// Weighted AUC needs each class's weights to sum to a positive number.
bool both_classes_weigh(const std::vector<int>& labels, const torch::Tensor& w) {
  if (!w.defined())
    return std::count(labels.begin(), labels.end(), 1) > 0 && std::count(labels.begin(), labels.end(), 0) > 0;
  const auto wc = w.to(torch::kFloat64).contiguous();
  double s = 0, b = 0;
  for (size_t i = 0; i < labels.size(); ++i) (labels[i] ? s : b) += wc.data_ptr<double>()[i];
  return s > 0 && b > 0;
}

// sum(w l) over rows x, y (w undefined: every weight 1) and the outputs.
// loss_and_outputs takes weighted means, which need a positive sum of
// weights: a rank's rows may have none (negative Monte Carlo weights), so
// positive and negative weights are summed apart.
double loss_sum(DefinedModel& model, const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& w,
                torch::Tensor* out) {
  if (!w.defined()) return model.loss_and_outputs(x, y, out) * double(x.size(0));
  const auto wd = w.to(torch::kFloat64).reshape({-1});
  if (wd.ge(0).all().item<bool>() && wd.sum().item<double>() > 0)
    return model.loss_and_outputs(x, y, out, w) * wd.sum().item<double>();
  *out = model.forward(x);
  double sum = 0;
  for (const auto& rows : {wd.gt(0).nonzero().view({-1}), wd.lt(0).nonzero().view({-1})}) {
    if (rows.numel() == 0) continue;
    const auto part = w.reshape({-1}).index_select(0, rows);
    sum += model.loss_and_outputs(x.index_select(0, rows), y.index_select(0, rows), nullptr, part.abs()) *
           part.to(torch::kFloat64).sum().item<double>();
  }
  return sum;
}

}  // namespace

bool has_binary_scores(const define::Definition& def) {
  return def.targets == define::Targets::kBinary ||
         (def.targets == define::Targets::kClassIndex && def.classes == 2);
}

torch::Tensor binary_scores(const define::Definition& def, const torch::Tensor& outputs) {
  TORCH_CHECK(has_binary_scores(def), "model '", def.name, "' has ", def.output_width,
              " outputs; one score per event needs a binary classifier or a classifier of two classes");
  return (def.targets == define::Targets::kClassIndex ? outputs.select(1, 1) - outputs.select(1, 0)
                                                      : outputs.select(1, 0))
      .contiguous();
}

Evaluation evaluate_model(DefinedModel& model, const ModelData& data, bool over_ranks) {
  const auto& def = model.definition();
  auto& world = dist::world();
  const bool split = over_ranks && world.size() > 1;
  const int64_t n = data.x.size(0);
  // This rank's rows (all of them in one process).
  const dist::Share rows = split ? dist::share_of(n, world.rank(), world.size()) : dist::Share{0, n};
  const auto y_all = data.y.to(torch::kFloat32).reshape({n, def.target_width});
  const auto x = data.x.narrow(0, rows.begin, rows.size());
  const auto y = y_all.narrow(0, rows.begin, rows.size());
  const auto w = data.w.defined() ? data.w.reshape({-1}).narrow(0, rows.begin, rows.size()) : torch::Tensor();
  const auto weigh = [&](const torch::Tensor& v) {  // sum of v [rows], each row counting its weight
    const auto d = v.to(torch::kFloat64);
    return (w.defined() ? d * w.to(torch::kFloat64) : d).sum().item<double>();
  };
  const bool scored = has_binary_scores(def);
  // sum(w l), sum(w), sum(w correct), sum(w squared error): added over the ranks.
  double sums[4] = {0, 0, 0, 0};
  torch::Tensor out, scores;
  Evaluation e;
  if (!split) {
    // One process: the weighted mean as loss_and_outputs takes it (and its
    // error when the weights do not sum to a positive number).
    e.test_loss = model.loss_and_outputs(x, y, &out, w);
  } else if (rows.size() > 0) {
    sums[0] = loss_sum(model, x, y, w, &out);
  }
  if (rows.size() > 0) {
    sums[1] = w.defined() ? w.to(torch::kFloat64).sum().item<double>() : double(rows.size());
    if (def.targets == define::Targets::kRegression) {
      const auto error = data.y_scale.defined() ? (out - y) * data.y_scale : out - y;  // original units
      sums[3] = weigh(error.pow(2).mean(1));
    } else if (scored) {
      scores = binary_scores(def, out);
      sums[2] = weigh(scores.gt(0).eq(y.squeeze(1).gt(0.5)));
    } else {
      sums[2] = weigh(out.argmax(1).eq(y.squeeze(1).to(torch::kInt64)));
    }
  }
  if (split) {
    world.allreduce_sum(sums, 4);
    TORCH_CHECK(sums[1] > 0, "model '", def.name, "': the evaluation weights sum to ", sums[1],
                "; the weighted loss and metrics need a positive sum of weights");
    e.test_loss = sums[0] / sums[1];
  }
  if (def.targets == define::Targets::kRegression) {
    e.test_accuracy = -1;
    e.test_rmse = std::sqrt(sums[3] / sums[1]);
    char s[48];
    std::snprintf(s, sizeof s, "RMSE %.4g", e.test_rmse);
    e.summary = s;
    return e;
  }
  e.test_accuracy = sums[2] / sums[1];
  if (!scored) return e;
  // The AUC ranks every event's score: each rank fills its rows of the whole
  // set's scores and one sum gathers them (adding zeros is exact).
  std::vector<float> all(static_cast<size_t>(n), 0.0f);
  if (rows.size() > 0)
    std::memcpy(all.data() + rows.begin, scores.data_ptr<float>(), sizeof(float) * rows.size());
  if (split) world.allreduce_sum(all.data(), n);
  std::vector<int> labels(static_cast<size_t>(n));
  const auto yc = y_all.contiguous();
  for (size_t i = 0; i < labels.size(); ++i) labels[i] = yc.data_ptr<float>()[i * def.target_width] > 0.5f;
  if (both_classes_weigh(labels, data.w)) {
    if (data.w.defined()) {
      const auto wc = data.w.to(torch::kFloat32).contiguous();
      e.test_auc = metrics::weighted_roc_auc(all, labels, {wc.data_ptr<float>(), labels.size()});
    } else {
      e.test_auc = metrics::roc_auc(all, labels);
    }
    char s[32];
    std::snprintf(s, sizeof s, "AUC %.4f", e.test_auc);
    e.summary = s;
  }
  return e;
}

RunOutcome train_model(DefinedModel& model, const ModelData& train, const ModelData& test,
                       const ModelTrainConfig& c, std::ostream& log, const CheckpointOptions& checkpoints) {
  CladStep step(model, c.optimizer, c.frozen);
  auto spec = run_spec("clad", model.definition().name, c);
  if (!checkpoints.path.empty()) {
    std::ostream quiet(nullptr);  // ranks other than 0 do not say they resume
    use_checkpoints(spec, checkpoints, model, access_of(step.optimizer()), dist::is_root() ? log : quiet);
  }
  return train_engine(
      model, train, test, spec,
      [&step](const float* x, const float* y, const float* w, int n) { return step(x, y, w, n); }, log,
      c.weighted_sampling, RowShard{c.shard_begin, c.shard_total});
}

}  // namespace torchclad::train
