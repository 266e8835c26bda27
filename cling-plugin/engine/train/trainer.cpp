#include "train/trainer.hpp"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <ostream>

#include "ops/activation.hpp"
#include "train/engines.hpp"
#include "train/run_loop.hpp"

namespace torchclad::train {
namespace {

// Gathers shuffled rows into one contiguous batch, in buffers allocated once.
class BatchLoader {
 public:
  BatchLoader(const torch::Tensor& images, const torch::Tensor& labels, int batch)
      : images_(images.contiguous()), labels_(labels.to(torch::kInt64).contiguous()),
        width_(images.size(1)), x_(int64_t{batch} * width_), y32_(batch), y64_(batch) {}

  Batch gather(const std::vector<int64_t>& order, int64_t start, int size) {
    const float* src = images_.data_ptr<float>();
    const int64_t* lab = labels_.data_ptr<int64_t>();
    for (int i = 0; i < size; ++i) {
      const int64_t row = order[start + i];
      std::memcpy(x_.data() + i * width_, src + row * width_, sizeof(float) * width_);
      y64_[i] = lab[row];
      y32_[i] = static_cast<int32_t>(lab[row]);
    }
    return Batch{x_.data(), y32_.data(), y64_.data(), size};
  }

 private:
  torch::Tensor images_, labels_;
  int64_t width_;
  std::vector<float> x_;
  std::vector<int32_t> y32_;
  std::vector<int64_t> y64_;
};

data::MnistSplit first_rows(const data::MnistSplit& split, int64_t limit) {
  if (limit <= 0 || limit >= split.images.size(0)) return split;
  return {split.images.narrow(0, 0, limit), split.labels.narrow(0, 0, limit)};
}

void check_config(const data::MnistDataset& data, const TrainConfig& c) {
  TORCH_CHECK(c.epochs >= 1, "epochs must be at least 1, found ", c.epochs);
  TORCH_CHECK(c.batch >= 1, "batch must be at least 1, found ", c.batch);
  TORCH_CHECK(c.threads >= 1, "threads must be at least 1, found ", c.threads);
  TORCH_CHECK(c.model.widths.size() >= 2, "the model needs at least input and output widths");
  TORCH_CHECK(data.train.images.size(0) > 0 && data.test.images.size(0) > 0,
              "the dataset in ", data.dir, " has ", data.train.images.size(0), " training and ",
              data.test.images.size(0), " test samples; expected at least one of each");
  TORCH_CHECK(c.train_limit >= 0 && c.test_limit >= 0, "train and test limits must not be negative");
  const int64_t pixels = data.train.images.size(1);
  TORCH_CHECK(c.model.widths.front() == pixels, "the model's input width is ",
              c.model.widths.front(), " but the images have ", pixels, " pixels (", data.rows, "x",
              data.cols, ")");
  const int64_t classes = 1 + std::max(data.train.labels.max().item<int64_t>(),
                                       data.test.labels.max().item<int64_t>());
  TORCH_CHECK(c.model.widths.back() >= classes, "the model's output width is ",
              c.model.widths.back(), " but the labels need ", classes, " classes");
}

// Test loss and accuracy, in chunks to bound memory.
std::pair<double, double> evaluate(MlpEngine& engine, const data::MnistSplit& test) {
  constexpr int64_t kChunk = 2000;
  double loss_sum = 0;
  int64_t correct = 0, n = test.images.size(0);
  for (int64_t start = 0; start < n; start += kChunk) {
    const int64_t len = std::min(kChunk, n - start);
    auto logits = engine.logits(test.images.narrow(0, start, len).contiguous());
    auto labels = test.labels.narrow(0, start, len);
    loss_sum += torch::nn::functional::cross_entropy(
                    logits, labels, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                    .item<double>();
    correct += logits.argmax(1).eq(labels).sum().item<int64_t>();
  }
  return {loss_sum / n, static_cast<double>(correct) / n};
}

}  // namespace

TrainResult train_mlp(const data::MnistDataset& data, const TrainConfig& config, std::ostream& log) {
  check_config(data, config);
  at::set_num_threads(config.threads);
  const auto train = first_rows(data.train, config.train_limit);
  const auto test = first_rows(data.test, config.test_limit);
  std::shared_ptr<MlpEngine> engine =
      make_engine(config.engine, config.model, config.optimizer, config.seed);
  BatchLoader loader(train.images, train.labels, config.batch);

  RunSpec spec;
  spec.engine = config.engine;
  spec.model = mlp_definition_name(config.model);
  spec.optimizer = config.optimizer.kind;
  spec.lr = config.optimizer.lr;
  spec.epochs = config.epochs;
  spec.batch = config.batch;
  spec.threads = config.threads;
  spec.samples = train.images.size(0);
  spec.seed = config.seed;
  spec.progress = config.progress;
  const RunOutcome run = run_epochs(
      spec,
      [&](const std::vector<int64_t>& order, int64_t start, int size) {
        return engine->step(loader.gather(order, start, size));
      },
      [&] {
        Evaluation e;
        std::tie(e.test_loss, e.test_accuracy) = evaluate(*engine, test);
        return e;
      },
      log);

  TrainResult result;
  result.engine = engine;
  result.non_finite = run.non_finite;
  result.stopped = run.stopped;
  result.stop_message = run.message;
  for (const auto& e : run.epochs)
    result.epochs.push_back({e.epoch, e.steps, e.train_loss, e.eval.test_loss, e.eval.test_accuracy,
                             e.seconds, e.steps_per_second, e.samples_per_second});
  return result;
}

namespace {
std::ofstream open_for_writing(const std::string& path) {
  std::ofstream out(path);
  if (!out) throw std::runtime_error("cannot write metrics file '" + path + "': " + std::strerror(errno));
  return out;
}
}  // namespace

void write_metrics_json(const std::string& path, const TrainConfig& c, const TrainResult& r) {
  auto out = open_for_writing(path);
  out << "{\n  \"dataset\": \"" << c.dataset << "\",\n  \"engine\": \"" << c.engine
      << "\",\n  \"model\": \"mlp\",\n  \"widths\": [";
  for (size_t i = 0; i < c.model.widths.size(); ++i) out << (i ? ", " : "") << c.model.widths[i];
  out << "],\n  \"activation\": \"" << activation_name(c.model.activation) << "\",\n  \"optimizer\": \""
      << c.optimizer.kind << "\",\n  \"lr\": " << c.optimizer.lr << ",\n  \"batch\": " << c.batch
      << ",\n  \"threads\": " << c.threads << ",\n  \"seed\": " << c.seed
      << ",\n  \"non_finite\": " << (r.non_finite ? "true" : "false") << ",\n  \"epochs\": [";
  for (size_t i = 0; i < r.epochs.size(); ++i) {
    const auto& m = r.epochs[i];
    out << (i ? ",\n    " : "\n    ") << "{\"epoch\": " << m.epoch << ", \"steps\": " << m.steps
        << ", \"train_loss\": " << m.train_loss << ", \"test_loss\": " << m.test_loss
        << ", \"test_accuracy\": " << m.test_accuracy << ", \"seconds\": " << m.seconds
        << ", \"steps_per_second\": " << m.steps_per_second
        << ", \"samples_per_second\": " << m.samples_per_second << "}";
  }
  out << "\n  ]\n}\n";
}

void write_metrics_csv(const std::string& path, const TrainConfig& c, const TrainResult& r) {
  auto out = open_for_writing(path);
  out << "engine,epoch,steps,train_loss,test_loss,test_accuracy,seconds,steps_per_second\n";
  for (const auto& m : r.epochs)
    out << c.engine << ',' << m.epoch << ',' << m.steps << ',' << m.train_loss << ','
        << m.test_loss << ',' << m.test_accuracy << ',' << m.seconds << ','
        << m.steps_per_second << '\n';
}

}  // namespace torchclad::train
