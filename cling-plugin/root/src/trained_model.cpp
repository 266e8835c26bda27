#include "trained_model.hpp"

#include "model_state.hpp"

namespace torchclad {

Model trained_model(std::shared_ptr<const define::Definition> def, const torch::Tensor& params,
                    unsigned long long seed, const TrainOptions& options,
                    std::vector<EpochResult> history) {
  auto s = std::make_shared<Model::State>();
  s->model = std::make_shared<DefinedModel>(std::move(def), seed);
  TORCH_CHECK(params.numel() == s->model->params().numel(), "trained_model: ", params.numel(),
              " parameters for model '", s->model->definition().name, "', which has ",
              s->model->params().numel());
  s->model->params().copy_(params.detach().reshape({-1}));
  s->seed = seed;
  s->options = options;
  s->history = std::move(history);
  s->trained = !s->history.empty();
  return Model(s);
}

EpochResult epoch_result(const train::EpochStats& e) {
  EpochResult r{e.epoch, e.train_loss, e.eval.test_loss, e.eval.test_accuracy, e.seconds,
                e.samples_per_second};
  r.test_auc = e.eval.test_auc;
  return r;
}

std::vector<EpochResult> epoch_results(const std::vector<train::EpochStats>& epochs) {
  std::vector<EpochResult> out;
  for (const auto& e : epochs) out.push_back(epoch_result(e));
  return out;
}

TrainResult record_fit(Model::State& state, const train::RunOutcome& run, const TrainOptions& options) {
  TrainResult out;
  out.epochs = epoch_results(run.epochs);
  state.history.insert(state.history.end(), out.epochs.begin(), out.epochs.end());
  out.status = run.non_finite ? "failed" : run.stopped ? "stopped" : "finished";
  out.message = run.message;
  state.options = options;
  state.trained = state.trained || !run.epochs.empty();
  return out;
}

}  // namespace torchclad
