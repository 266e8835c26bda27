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

}  // namespace torchclad
