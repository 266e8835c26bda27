#pragma once
// --save FILE of the command-line trainers: the trained parameters as a
// torchclad::Model file (Model::save's format; Model::load reads it).
#include <string>
#include <vector>

#include "model/mlp_definition.hpp"
#include "src/trained_model.hpp"
#include "torchclad/model.h"
#include "model/cnn_definition.hpp"
#include "train/binary_engines.hpp"
#include "train/binary_trainer.hpp"
#include "train/engines.hpp"
#include "train/trainer.hpp"

namespace torchclad::cli {

inline TrainOptions options_of(const std::string& engine, const OptimizerConfig& o, int epochs, int batch,
                               int threads, uint64_t seed) {
  TrainOptions t;
  t.engine = engine;
  t.optimizer = o.kind;
  t.lr = o.lr;
  t.epochs = epochs;
  t.batch = batch;
  t.threads = threads;
  t.seed = seed;
  t.progress = false;
  return t;
}

inline void save_mlp(const std::string& path, const train::TrainConfig& c, const train::TrainResult& r) {
  trained_model(mlp_definition(c.model), r.engine->params(), c.seed,
                options_of(c.engine, c.optimizer, c.epochs, c.batch, c.threads, c.seed), r.epochs)
      .save(path);
}

inline void save_cnn(const std::string& path, const train::BinaryTrainConfig& c,
                     const train::BinaryTrainResult& r) {
  trained_model(cnn_definition(c.model), r.engine->params(), c.seed,
                options_of(c.engine, c.optimizer, c.epochs, c.batch, c.threads, c.seed), r.epochs)
      .save(path);
}

}  // namespace torchclad::cli
