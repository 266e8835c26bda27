#pragma once
// Standardisation of features and regression targets (Model::standardize,
// Model::standardize_targets, Mlp::standardize): the one place that fits the
// means and standard deviations and checks the dataset against the model.
// Applying them is model_state.hpp's (model_features, model_targets,
// original_targets).
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "define/definition.hpp"
#include "torchclad/torchclad.h"

namespace torchclad {

// v -> (v - mean) / scale per column; float32 [width] each.
struct Standardization {
  torch::Tensor mean, scale;
};

// A mean and a standard deviation per column of values [n, width], weighted
// by w [n] when defined: mean = sum(w v) / sum(w), variance = sum(w (v -
// mean)^2) / sum(w) (float64 sums). A column of zero variance (or, with
// negative weights, a variance <= 0) gets std 1: it is only centred.
// centred_only (if given) receives those columns' indices. `where` starts
// the errors: no rows, weights summing to <= 0.
Standardization fit_standardization(const torch::Tensor& values, const torch::Tensor& w,
                                    const std::string& where, std::vector<int64_t>* centred_only = nullptr);

// The features of `train` fitted for `def` (its inputs per sample); throws
// std::runtime_error starting with `where` for a shard of a training set, a
// width that differs, an empty dataset or weights summing to <= 0.
Standardization fit_feature_standardization(const define::Definition& def, const Dataset& train,
                                            const std::string& where);

// The regression targets of `train`, per target column, for `def`; throws as
// above, and for a classifier, a dataset of class labels, or another number
// of targets per sample than the model's. A target of zero variance (the
// same value in every event) is only centred (std 1), with a note on stderr
// naming it and its value (the model then learns a constant).
Standardization fit_target_standardization(const define::Definition& def, const Dataset& train,
                                           const std::string& where);

}  // namespace torchclad
