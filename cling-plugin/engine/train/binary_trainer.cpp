#include "train/binary_trainer.hpp"

#include "train/binary_engines.hpp"
#include "train/checkpoint.hpp"
#include "train/trainer.hpp"

namespace torchclad::train {
namespace {

data::BinarySplit first_rows(const data::BinarySplit& s, int64_t limit) {
  if (limit <= 0 || limit >= s.x.size(0)) return s;
  return {s.x.narrow(0, 0, limit), s.targets.narrow(0, 0, limit),
          s.snr.defined() ? s.snr.narrow(0, 0, limit) : torch::Tensor()};
}

ModelData binary_data(const data::BinarySplit& s) {
  TORCH_CHECK(s.targets.defined() && s.targets.dim() == 1, "a binary split needs one target per window");
  return {s.x, s.targets.to(torch::kFloat32).unsqueeze(1)};
}

}  // namespace

torch::Tensor predict_logits(BinaryEngine& engine, const torch::Tensor& x) {
  return engine.model().forward(x).reshape({-1});
}

BinaryTrainResult train_binary(const data::BinarySplit& train_all, const data::BinarySplit& test_all,
                               const BinaryTrainConfig& c, std::ostream& log) {
  TORCH_CHECK(c.train_limit >= 0 && c.test_limit >= 0, "train and test limits must not be negative");
  const auto test = first_rows(test_all, c.test_limit);
  std::shared_ptr<BinaryEngine> engine = make_binary_engine(c.engine, c.model, c.optimizer, c.seed);
  RunSpec spec = run_spec(c.engine, engine->definition().name, c);
  use_checkpoints(spec, {c.checkpoint, c.resume}, engine->model(), engine->optimizer_access(), log);
  // A rank's shard (train_all.total > 0) is already its part of the first train_limit windows.
  const bool shard = train_all.total > 0;
  TORCH_CHECK(!shard || c.train_limit <= 0 || c.train_limit >= train_all.total,
              "the training shard was read from the first ", train_all.total, " windows, but train_limit is ",
              c.train_limit);
  auto run = train_engine(
      engine->model(), binary_data(shard ? train_all : first_rows(train_all, c.train_limit)),
      binary_data(test), spec,
      [&](const float* x, const float* y, const float*, int n) { return engine->step(x, y, n); }, log, false,
      RowShard{train_all.begin, train_all.total});
  BinaryTrainResult result;
  result.epochs = std::move(run.epochs);
  result.engine = engine;
  if (!result.epochs.empty()) result.test_logits = predict_logits(*engine, test.x);
  result.non_finite = run.non_finite;
  result.stopped = run.stopped;
  result.stop_message = run.message;
  return result;
}

}  // namespace torchclad::train
