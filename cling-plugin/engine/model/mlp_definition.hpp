#pragma once
// The built-in Mlp as a model definition (models/mlp_of_widths.h), looked up
// by a name that carries its configuration: "mlp-784-256-128-10" (ReLU) or
// "mlp-784-64-10-tanh". The definition registry makes such a definition on
// first use (define::register_definition_maker), so Model::load finds a
// saved Mlp in any session with the engine loaded.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "define/definition.hpp"
#include "kernels/activations.hpp"

namespace torchclad {

struct MlpConfig {
  std::vector<int64_t> widths;  // e.g. {784, 256, 128, 10}: input, hidden..., classes
  kernels::Activation activation = kernels::kRelu;
};

// The most Linear layers a built-in Mlp has (the definition's capacity).
int max_mlp_layers();

// "mlp-" + widths joined by "-", then "-<activation>" unless ReLU.
std::string mlp_definition_name(const MlpConfig& config);

// The registered definition of that configuration (made on first use).
// Throws std::runtime_error naming what is wrong with the widths.
std::shared_ptr<define::Definition> mlp_definition(const MlpConfig& config);

}  // namespace torchclad
