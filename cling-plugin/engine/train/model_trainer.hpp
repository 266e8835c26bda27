#pragma once
// Trains a DefinedModel (any model definition, model/defined_model.hpp) with
// the shared epoch loop (train/run_loop.hpp): seeded shuffled batches,
// progress, telemetry, stop requests, non-finite losses; per epoch the
// definition's own loss on the test set and, by the kind of targets,
// accuracy (class indices), accuracy and ROC AUC (binary), or RMSE
// (regression).
#include <torch/torch.h>

#include <cstdint>
#include <ostream>
#include <string>

#include "model/defined_model.hpp"
#include "optim/optimizers.hpp"
#include "train/run_loop.hpp"

namespace torchclad::train {

// Samples as the definition reads them: x float32 [n, inputs], y float32
// [n, target_width] (class indices and 0/1 labels as floats).
struct ModelData {
  torch::Tensor x, y;
};

struct ModelTrainConfig {
  OptimizerConfig optimizer;
  int epochs = 5;
  int batch = 64;
  int threads = 1;
  uint64_t seed = 42;
  bool progress = true;
};

// Checks x and y against the definition (shapes, finite values, class
// indices in range, 0/1 labels); throws c10::Error naming the split, what
// was expected and what was found.
void check_model_data(const define::Definition& def, const ModelData& data, const char* split);

// The definition's mean loss on data, and the metrics its targets allow.
Evaluation evaluate_model(DefinedModel& model, const ModelData& data);

// Trains model in place; checks both splits first.
RunOutcome train_model(DefinedModel& model, const ModelData& train, const ModelData& test,
                       const ModelTrainConfig& config, std::ostream& log);

}  // namespace torchclad::train
