#include "train/trainer.hpp"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <ostream>

#include "dist/communicator.hpp"
#include "dist/data_parallel.hpp"
#include "ops/activation.hpp"
#include "train/checkpoint.hpp"
#include "train/engines.hpp"
#include "train/event_weights.hpp"

namespace torchclad::train {

RunOutcome train_engine(DefinedModel& model, const ModelData& train, const ModelData& test,
                        RunSpec spec, const EngineStep& step, std::ostream& log, bool weighted_sampling) {
  const auto& def = model.definition();
  TORCH_CHECK(spec.epochs >= 1, "epochs must be at least 1, found ", spec.epochs);
  TORCH_CHECK(spec.batch >= 1, "batch must be at least 1, found ", spec.batch);
  TORCH_CHECK(spec.threads >= 1, "threads must be at least 1, found ", spec.threads);
  check_model_data(def, train, "training");
  check_model_data(def, test, "test");
  at::set_num_threads(spec.threads);
  const auto x = train.x.to(torch::kFloat32).contiguous();
  const auto y = train.y.to(torch::kFloat32).contiguous();
  const int64_t xw = def.inputs, yw = def.target_width, n = x.size(0);
  std::vector<float> xb(int64_t{spec.batch} * xw), yb(int64_t{spec.batch} * yw), wb(spec.batch);
  spec.samples = n;
  dist::check_samples(n, "training samples");
  EventWeights weights(train.w, n, weighted_sampling, spec.seed, def.name, spec.first_epoch);
  // The position of this rank's first sample in an epoch's order (0 in one
  // process): where a new epoch's weighted draw happens.
  const int64_t epoch_start = dist::share_of(std::min<int64_t>(int64_t{spec.batch} * dist::world().size(), n),
                                             dist::world().rank(), dist::world().size())
                                  .begin;
  return run_epochs(
      spec,
      [&](const std::vector<int64_t>& order, int64_t start, int size) {
        const float* xs = x.data_ptr<float>();
        const float* ys = y.data_ptr<float>();
        if (weights.sampling() && start == epoch_start) weights.draw_epoch();
        for (int i = 0; i < size; ++i) {
          const int64_t row = weights.row(order[start + i]);
          std::memcpy(xb.data() + i * xw, xs + row * xw, sizeof(float) * xw);
          std::memcpy(yb.data() + i * yw, ys + row * yw, sizeof(float) * yw);
          if (weights.weighted()) wb[i] = weights.factor(row);
        }
        return step(xb.data(), yb.data(), weights.weighted() ? wb.data() : nullptr, size);
      },
      [&] { return evaluate_model(model, test); }, log);
}

namespace {

data::MnistSplit first_rows(const data::MnistSplit& split, int64_t limit) {
  if (limit <= 0 || limit >= split.images.size(0)) return split;
  return {split.images.narrow(0, 0, limit), split.labels.narrow(0, 0, limit)};
}

ModelData class_data(const data::MnistSplit& s) {
  return {s.images, s.labels.to(torch::kFloat32).unsqueeze(1)};
}

}  // namespace

TrainResult train_mlp(const data::MnistDataset& data, const TrainConfig& config, std::ostream& log) {
  TORCH_CHECK(config.train_limit >= 0 && config.test_limit >= 0, "train and test limits must not be negative");
  TORCH_CHECK(config.batch >= 1, "batch must be at least 1, found ", config.batch);
  std::shared_ptr<MlpEngine> engine =
      make_engine(config.engine, config.model, config.optimizer, config.seed);
  // The engines read class labels as int32 and int64.
  std::vector<int32_t> y32(config.batch);
  std::vector<int64_t> y64(config.batch);
  RunSpec spec = run_spec(config.engine, engine->definition().name, config);
  use_checkpoints(spec, {config.checkpoint, config.resume}, engine->model(), engine->optimizer_access(),
                  log);
  const RunOutcome run = train_engine(
      engine->model(), class_data(first_rows(data.train, config.train_limit)),
      class_data(first_rows(data.test, config.test_limit)), spec,
      [&](const float* x, const float* y, const float*, int n) {
        for (int i = 0; i < n; ++i) y64[i] = y32[i] = static_cast<int32_t>(y[i]);
        return engine->step(Batch{x, y32.data(), y64.data(), n});
      },
      log);
  return {run.epochs, engine, run.non_finite, run.stopped, run.message};
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
        << ", \"train_loss\": " << m.train_loss << ", \"test_loss\": " << m.eval.test_loss
        << ", \"test_accuracy\": " << m.eval.test_accuracy << ", \"seconds\": " << m.seconds
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
        << m.eval.test_loss << ',' << m.eval.test_accuracy << ',' << m.seconds << ','
        << m.steps_per_second << '\n';
}

}  // namespace torchclad::train
