#pragma once
// --save FILE of the command-line trainers: the trained parameters as a
// torchclad::Model file (Model::save's format; Model::load reads it).
#include <string>
#include <vector>

#include "model/mlp_definition.hpp"
#include "src/trained_model.hpp"
#include "torchclad/model.h"
#include "train/engines.hpp"
#include "train/trainer.hpp"

namespace torchclad::cli {

inline TrainOptions options_of(const std::string& engine, const OptimizerConfig& o, int epochs,
                               int batch, int threads, uint64_t seed) {
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
  std::vector<EpochResult> history;
  for (const auto& e : r.epochs)
    history.push_back({e.epoch, e.train_loss, e.test_loss, e.test_accuracy, e.seconds, e.samples_per_second});
  trained_model(mlp_definition(c.model), r.engine->params(), c.seed,
                options_of(c.engine, c.optimizer, c.epochs, c.batch, c.threads, c.seed), history)
      .save(path);
}

}  // namespace torchclad::cli
