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
  // Target standardisation of a regression model (Model::standardize,
  // standardize_targets): the model trains on y -> (y - target_mean) /
  // target_scale per target, float32 [target_width] each, and its outputs
  // go back as out * target_scale + target_mean; undefined: as they are.
  torch::Tensor target_mean, target_scale;
  // The features the model was standardised or trained on, one name per
  // input ("m_jj", "jet_pt[2]", src/feature_names.hpp); empty: unknown.
  std::vector<std::string> feature_names;
};

// The model's feature names against `names` (a dataset's or stream's,
// described by `what`: "the dataset"): both known and different is an error
// prefixed with `where` listing both (a reordered column list would score
// silently; another number of names is left to the width checks, which
// name the counts). record_model_features also keeps `names` if the model had none
// (fit, standardize). Defined in model_api.cpp.
void check_model_features(const Model::State& s, const std::vector<std::string>& names,
                          const std::string& where, const std::string& what);
void record_model_features(Model::State& s, const std::vector<std::string>& names, const std::string& where,
                           const std::string& what);

// The features as the model reads them: standardised if the model is.
inline torch::Tensor model_features(const Model::State& s, const torch::Tensor& x) {
  if (!s.mean.defined() || x.dim() != 2 || x.size(1) != s.mean.numel()) return x;
  return ((x.to(torch::kFloat32) - s.mean) / s.scale).contiguous();
}

// Regression targets [n, target_width] as the model trains on them:
// standardised if the model's targets are.
inline torch::Tensor model_targets(const Model::State& s, const torch::Tensor& y) {
  if (!s.target_mean.defined() || y.dim() != 2 || y.size(1) != s.target_mean.numel()) return y;
  return ((y.to(torch::kFloat32) - s.target_mean) / s.target_scale).contiguous();
}

// The model's outputs [n, target_width] in the targets' own units (GeV, not
// standard deviations): what predict and a model column give.
inline torch::Tensor original_targets(const Model::State& s, const torch::Tensor& out) {
  if (!s.target_mean.defined() || out.dim() != 2 || out.size(1) != s.target_mean.numel()) return out;
  return (out * s.target_scale + s.target_mean).contiguous();
}

}  // namespace torchclad
