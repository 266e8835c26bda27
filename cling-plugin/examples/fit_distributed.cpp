// A program of your own that trains a model of its own data-parallel:
//   mpirun -np 4 build/cling-plugin/examples/torchclad-fit-distributed [batch] [epochs] [out.root]
//          [checkpoint.ckpt [resume]]
// (without mpirun: one process). With a checkpoint file, rank 0 writes it
// after every epoch; with "resume" as well, a job stopped after some epochs
// continues from it (every rank gets rank 0's copy) and ends as the
// uninterrupted job would (TrainOptions::checkpoint and resume).
// torchclad::Distributed starts MPI when a launcher started the program;
// Model::fit then averages the gradients over the ranks, and rank 0 alone
// prints progress and writes the model. Linked
// with libtorchclad_root only (it loads libtorchclad_mpi.so itself) and
// compiled with clang++-19 and the Clad plugin (CMake: torchclad_use_clad).
// The data: two overlapping Gaussian classes in 6 features, made in memory
// alike on every rank (each rank must hold the same data).
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "torchclad/distributed.h"
#include "torchclad/model.h"
#include "torchclad/nn.h"

namespace nn = torchclad::nn;

struct Separator : nn::Model {
  nn::Linear fc1{"fc1", 6, 24};
  nn::Act z1{24}, h1{24};
  nn::Linear fc2{"fc2", 24, 2};
  nn::Act logits{2};
  Separator() {
    inputs(6);
    classes(2);
    output(logits);
  }
  template <class T>
  static T loss(const Separator& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::linear(m.fc1, p, x, a, m.z1, n);
    nn::tanh(a, m.z1, m.h1, n);
    nn::linear(m.fc2, p, a, m.h1, m.logits, n);
    return nn::cross_entropy(a, m.logits, y, n);
  }
};
TORCHCLAD_MODEL(separator, Separator)

torchclad::Dataset make_data(int n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> gauss(0, 1);
  std::vector<float> x;
  std::vector<long long> labels;
  for (int i = 0; i < n; ++i) {
    const long long label = i % 2;
    for (int f = 0; f < 6; ++f) x.push_back(gauss(rng) + (label ? 0.6f : -0.6f) * (f % 3 == 0 ? 1 : 0.3f));
    labels.push_back(label);
  }
  return torchclad::classification_dataset(x, 6, labels);
}

int main(int argc, char** argv) {
  torchclad::Distributed mpi(argc, argv);  // first: MPI may take its own arguments
  const int batch = argc > 1 ? std::stoi(argv[1]) : 16;
  const int epochs = argc > 2 ? std::stoi(argv[2]) : 3;
  const std::string out = argc > 3 ? argv[3] : "separator.root";
  const std::string checkpoint = argc > 4 ? argv[4] : "";
  const bool resume = argc > 5 && std::string(argv[5]) == "resume";
  try {
    const auto train = make_data(1001, 1), test = make_data(400, 2);  // 1001: a partial last batch
    auto model = torchclad::model("separator");
    torchclad::TrainOptions options;
    options.epochs = epochs;
    options.batch = batch;  // per rank
    options.optimizer = "sgd";
    options.lr = 0.1;                 // for the global batch mpi.size() x batch
    options.checkpoint = checkpoint;  // written after every epoch (rank 0)
    options.resume = resume;          // continue after the checkpoint's epoch, if there is one
    const auto result = model.fit(train, test, options);
    model.save(out);  // rank 0 writes
    if (mpi.is_root())
      std::printf("separator: %d rank(s) x batch %d, %s; test accuracy %.2f%%; saved to %s\n", mpi.size(),
                  batch, result.status.c_str(), 100 * result.final_accuracy(), out.c_str());
    // Every rank gets rank 0's test metrics, so every rank decides alike.
    return result.status == "finished" && result.final_accuracy() > 0.6 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "torchclad-fit-distributed (rank %d of %d): %s\n", mpi.rank(), mpi.size(), e.what());
    mpi.fail();  // no MPI_Finalize: the other ranks may wait for this one
    return 1;
  }
}
