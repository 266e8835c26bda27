#include "train/model_trainer.hpp"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include "metrics/detection.hpp"

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
}

Evaluation evaluate_model(DefinedModel& model, const ModelData& data) {
  const auto& def = model.definition();
  torch::Tensor out;
  Evaluation e;
  e.test_loss = model.loss_and_outputs(data.x, data.y, &out);
  const auto y = data.y.to(torch::kFloat32).reshape({data.x.size(0), def.target_width});
  if (def.targets == define::Targets::kClassIndex) {
    e.test_accuracy = out.argmax(1).eq(y.squeeze(1).to(torch::kInt64)).to(torch::kFloat64).mean().item<double>();
  } else if (def.targets == define::Targets::kBinary) {
    const auto logit = out.select(1, 0).contiguous();
    e.test_accuracy = logit.gt(0).eq(y.squeeze(1).gt(0.5)).to(torch::kFloat64).mean().item<double>();
    std::vector<int> labels(y.size(0));
    const auto yc = y.contiguous();
    for (size_t i = 0; i < labels.size(); ++i) labels[i] = yc.data_ptr<float>()[i] > 0.5f;
    const bool both = std::count(labels.begin(), labels.end(), 1) > 0 &&
                      std::count(labels.begin(), labels.end(), 0) > 0;
    if (both) {
      e.test_auc = metrics::roc_auc({logit.data_ptr<float>(), labels.size()}, labels);
      char s[32];
      std::snprintf(s, sizeof s, "AUC %.4f", e.test_auc);
      e.summary = s;
    }
  } else {
    e.test_accuracy = -1;
    e.test_rmse = std::sqrt((out - y).pow(2).mean().item<double>());
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

  const auto x = train.x.to(torch::kFloat32).contiguous();
  const auto y = train.y.to(torch::kFloat32).contiguous();
  const int64_t xw = def.inputs, yw = def.target_width;
  std::vector<float> xb(int64_t{c.batch} * xw), yb(int64_t{c.batch} * yw);

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
        for (int i = 0; i < size; ++i) {
          const int64_t row = order[start + i];
          std::memcpy(xb.data() + i * xw, xs + row * xw, sizeof(float) * xw);
          std::memcpy(yb.data() + i * yw, ys + row * yw, sizeof(float) * yw);
        }
        const float loss = model.loss_and_grad(xb.data(), yb.data(), size);
        optimizer->step(model.params().data_ptr<float>(), model.grads().data_ptr<float>());
        return loss;
      },
      [&] { return evaluate_model(model, test); }, log);
}

}  // namespace torchclad::train
