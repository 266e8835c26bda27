#pragma once
// Rank 0's output of a fit under mpirun (cnn_ranks.cpp, fit_shards.cpp): the
// final parameters as raw float32 (compare_params.py reads them) and one line
// per epoch, which the scripts compare between runs.
#include <cstdio>
#include <string>
#include <vector>

#include "raw_params.hpp"
#include "torchclad/model.h"
#include "torchclad/torchclad.h"

namespace torchclad::mpi_test {

inline void report_run(const Model& model, const TrainResult& r, const std::string& out) {
  std::vector<float> params;
  for (const auto& name : model.parameter_names()) {
    const auto p = model.parameter(name);
    params.insert(params.end(), p.begin(), p.end());
  }
  write_params(out, params.data(), params.size());
  for (const auto& e : r.epochs)
    std::printf("epoch %d: train_loss %.9g test_loss %.9g test_accuracy %.9g test_auc %.9g\n", e.epoch,
                e.train_loss, e.test_loss, e.test_accuracy, e.test_auc);
}

}  // namespace torchclad::mpi_test
