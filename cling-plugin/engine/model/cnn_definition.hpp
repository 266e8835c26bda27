#pragma once
// The built-in Cnn as a model definition (models/cnn_of_blocks.h), looked up
// by a name that carries its configuration:
// "cnn-2048-c8k16p4-c16k8p4-c32k8p4-h64". The definition registry makes it
// on first use (define::register_definition_maker), so Model::load finds a
// saved Cnn in any session with the engine loaded.
#include <memory>
#include <string>

#include "define/definition.hpp"
#include "model/cnn_config.hpp"

namespace torchclad {

std::string cnn_definition_name(const CnnConfig& config);

// The registered definition of that configuration (made on first use).
// Throws std::runtime_error naming what is wrong with the shape.
std::shared_ptr<define::Definition> cnn_definition(const CnnConfig& config);

}  // namespace torchclad
