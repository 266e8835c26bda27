#pragma once
// What a cell-facing Model (torchclad/model.h) holds; shared by model_api.cpp
// and model_io.cpp.
#include <memory>
#include <string>
#include <vector>

#include "model/defined_model.hpp"
#include "torchclad/model.h"

namespace torchclad {

struct Model::State {
  std::shared_ptr<DefinedModel> model;
  unsigned long long seed = 42;
  TrainOptions options;              // of the last fit
  std::vector<EpochResult> history;  // every fit's epochs, in order
  bool trained = false;
  std::string pretrained_from;  // the file import_model read the parameters from
  // Feature standardisation (Model::standardize): x -> (x - mean) / scale per
  // feature, float32 [inputs] each; undefined: the features go in as they are.
  torch::Tensor mean, scale;
};

// The features as the model reads them: standardised if the model is.
inline torch::Tensor model_features(const Model::State& s, const torch::Tensor& x) {
  if (!s.mean.defined() || x.dim() != 2 || x.size(1) != s.mean.numel()) return x;
  return ((x.to(torch::kFloat32) - s.mean) / s.scale).contiguous();
}

}  // namespace torchclad
