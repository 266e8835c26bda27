#pragma once
// What a cell-facing Model (torchclad/model.h) holds; shared by model_api.cpp
// and model_io.cpp.
#include <memory>
#include <vector>

#include "model/defined_model.hpp"
#include "torchclad/model.h"

namespace torchclad {

struct Model::State {
  std::shared_ptr<DefinedModel> model;
  unsigned long long seed = 42;
  TrainOptions options;               // of the last fit
  std::vector<EpochResult> history;   // every fit's epochs, in order
  bool trained = false;
};

}  // namespace torchclad
