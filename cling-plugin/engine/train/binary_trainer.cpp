#include "train/binary_trainer.hpp"

#include <cstdio>
#include <cstring>

#include "metrics/detection.hpp"
#include "train/binary_engines.hpp"

namespace torchclad::train {
namespace {

data::BinarySplit first_rows(const data::BinarySplit& s, int64_t limit) {
  if (limit <= 0 || limit >= s.x.size(0)) return s;
  return {s.x.narrow(0, 0, limit), s.targets.narrow(0, 0, limit),
          s.snr.defined() ? s.snr.narrow(0, 0, limit) : torch::Tensor()};
}

void check_split(const data::BinarySplit& s, const char* name, const CnnConfig& model) {
  TORCH_CHECK(s.x.defined() && s.x.dim() == 2, "the ", name,
              " features must be a 2-d tensor [samples, length], found ",
              s.x.defined() ? std::to_string(s.x.dim()) + "-d" : "none");
  TORCH_CHECK(s.x.scalar_type() == torch::kFloat32, "the ", name, " features must be float32, found ",
              s.x.scalar_type());
  TORCH_CHECK(s.x.size(0) > 0, "the ", name, " split is empty");
  TORCH_CHECK(s.x.size(1) == model.input_length, "the model's input length is ", model.input_length,
              " but the ", name, " windows have ", s.x.size(1), " samples");
  TORCH_CHECK(s.targets.defined() && s.targets.dim() == 1 && s.targets.size(0) == s.x.size(0),
              "the ", name, " split needs one target per window: ", s.x.size(0), " windows, ",
              s.targets.defined() ? s.targets.numel() : 0, " targets");
  const auto finite = torch::isfinite(s.x);
  if (!finite.all().item<bool>()) {
    const auto bad = finite.logical_not().nonzero()[0];
    const int64_t row = bad[0].item<int64_t>(), col = bad[1].item<int64_t>();
    TORCH_CHECK(false, "the ", name, " windows hold a non-finite value: window ", row, ", sample ",
                col, " is ", s.x[row][col].item<float>(), " (corrupt or badly whitened data?)");
  }
  auto t = s.targets.to(torch::kFloat32);
  TORCH_CHECK(t.eq(0).logical_or(t.eq(1)).all().item<bool>(), "the ", name,
              " targets must be 0 (noise) or 1 (signal)");
}

struct BatchGatherer {
  BatchGatherer(const data::BinarySplit& s, int batch)
      : x_(s.x.contiguous()), t_(s.targets.to(torch::kFloat32).contiguous()),
        width_(s.x.size(1)), xb_(int64_t{batch} * width_), tb_(batch) {}
  void gather(const std::vector<int64_t>& order, int64_t start, int size) {
    const float* src = x_.data_ptr<float>();
    const float* t = t_.data_ptr<float>();
    for (int i = 0; i < size; ++i) {
      const int64_t row = order[start + i];
      std::memcpy(xb_.data() + i * width_, src + row * width_, sizeof(float) * width_);
      tb_[i] = t[row];
    }
  }
  torch::Tensor x_, t_;
  int64_t width_;
  std::vector<float> xb_, tb_;
};

}  // namespace

std::string cnn_model_name(const CnnConfig& m) {
  std::string name = "cnn-" + std::to_string(m.input_length);
  for (const auto& b : m.blocks)
    name += "-c" + std::to_string(b.channels) + "k" + std::to_string(b.kernel) + "p" +
            std::to_string(b.pool);
  return name + "-h" + std::to_string(m.hidden);
}

torch::Tensor predict_logits(BinaryEngine& engine, const torch::Tensor& x) {
  constexpr int64_t kChunk = 512;
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> parts;
  for (int64_t start = 0; start < x.size(0); start += kChunk)
    parts.push_back(engine.logits(x.narrow(0, start, std::min(kChunk, x.size(0) - start)).contiguous())
                        .reshape({-1}));
  return torch::cat(parts);
}

BinaryTrainResult train_binary(const data::BinarySplit& train_all, const data::BinarySplit& test_all,
                               const BinaryTrainConfig& c, std::ostream& log) {
  TORCH_CHECK(c.epochs >= 1, "epochs must be at least 1, found ", c.epochs);
  TORCH_CHECK(c.batch >= 1, "batch must be at least 1, found ", c.batch);
  TORCH_CHECK(c.threads >= 1, "threads must be at least 1, found ", c.threads);
  TORCH_CHECK(c.train_limit >= 0 && c.test_limit >= 0, "train and test limits must not be negative");
  const auto train = first_rows(train_all, c.train_limit);
  const auto test = first_rows(test_all, c.test_limit);
  check_split(train, "training", c.model);
  check_split(test, "test", c.model);
  at::set_num_threads(c.threads);
  std::shared_ptr<BinaryEngine> engine = make_binary_engine(c.engine, c.model, c.optimizer, c.seed);
  BatchGatherer batches(train, c.batch);
  const auto test_targets = test.targets.to(torch::kFloat32);
  const std::vector<int> test_labels = data::binary_labels(test_targets);
  const bool both_classes = test_targets.sum().item<double>() > 0 &&
                            test_targets.sum().item<double>() < test_targets.size(0);

  torch::Tensor test_logits;  // of the latest evaluation
  RunSpec spec;
  spec.engine = c.engine;
  spec.model = cnn_model_name(c.model);
  spec.optimizer = c.optimizer.kind;
  spec.lr = c.optimizer.lr;
  spec.epochs = c.epochs;
  spec.batch = c.batch;
  spec.threads = c.threads;
  spec.samples = train.x.size(0);
  spec.seed = c.seed;
  spec.progress = c.progress;
  auto run = run_epochs(
      spec,
      [&](const std::vector<int64_t>& order, int64_t start, int size) {
        batches.gather(order, start, size);
        return engine->step(batches.xb_.data(), batches.tb_.data(), size);
      },
      [&] {
        const auto logits = predict_logits(*engine, test.x);
        test_logits = logits;
        Evaluation e;
        e.test_loss = torch::binary_cross_entropy_with_logits(logits, test_targets).item<double>();
        e.test_accuracy = logits.gt(0).to(torch::kFloat32).eq(test_targets).to(torch::kFloat64).mean().item<double>();
        if (both_classes) {
          const auto scores = logits.contiguous();
          e.test_auc = metrics::roc_auc({scores.data_ptr<float>(), size_t(scores.numel())}, test_labels);
          char s[32];
          std::snprintf(s, sizeof s, "AUC %.4f", e.test_auc);
          e.summary = s;
        }
        return e;
      },
      log);
  BinaryTrainResult result;
  result.epochs = std::move(run.epochs);
  result.engine = engine;
  result.test_logits = test_logits;
  result.non_finite = run.non_finite;
  result.stopped = run.stopped;
  result.stop_message = run.message;
  return result;
}

}  // namespace torchclad::train
