#pragma once
// Activation kinds shared by the kernels, the ATen operators (an int in
// their schemas) and the command line.
#include <string>

#include "kernels/activations.hpp"

namespace torchclad {

using Activation = kernels::Activation;

// "relu", "tanh", "sigmoid", "identity"; throws c10::Error naming the choices.
Activation parse_activation(const std::string& name);
const char* activation_name(Activation act);
// Checks an int from an operator schema (argument `arg` of `op`); throws
// c10::Error for other values.
Activation activation_from_int(int64_t kind, const char* op, const char* arg);

}  // namespace torchclad
