#pragma once
// The built-in Mlp definitions (model/mlp_definition.hpp) behind the
// torchclad::mlp_cross_entropy operators, kept by (widths, activation) so a
// call finds its definition without building its name and asking the
// registry. The operators run the definition's Clad gradient: the same
// model-level engine as Model, DefinedModel and torchclad::model_loss.
#include <ATen/ATen.h>

#include <memory>

#include "define/definition.hpp"
#include "ops/activation.hpp"

namespace torchclad::aten {

// The definition of Mlp(widths, act), made on first use; thread-safe. The
// caller has checked the widths. Throws c10::Error naming `op` if the
// definition cannot be made.
std::shared_ptr<define::Definition> mlp_definition_of(at::IntArrayRef widths, Activation act, const char* op);

}  // namespace torchclad::aten
