#pragma once
// What the fit tests under mpirun (fit_ranks.cpp, fit_shards.cpp) share: the
// training options they compare runs with, and rank 0's output, the final
// parameters as raw float32 that compare_params.py reads.
#include <cstddef>
#include <fstream>
#include <stdexcept>
#include <string>

namespace torchclad::mpi_test {

// Three epochs of plain SGD: a difference in any step's batch shows in the parameters.
constexpr int kEpochs = 3;
constexpr const char* kOptimizer = "sgd";

inline void write_params(const std::string& path, const float* params, size_t n) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(params), static_cast<std::streamsize>(sizeof(float) * n));
  if (!f) throw std::runtime_error("cannot write the parameters to " + path);
}

}  // namespace torchclad::mpi_test
