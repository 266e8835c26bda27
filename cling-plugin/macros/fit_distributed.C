// Data-parallel training from a macro: every rank runs it, and Model::fit
// averages the gradients over the ranks (torchclad/distributed.h):
//   mpirun -np 2 scripts/troot -b -q 'cling-plugin/macros/fit_distributed.C("fashion-mnist.root", 16)'
// Without mpirun it runs as one process (rank 0 of 1): the same result as 2
// ranks with half the batch. require_mpirun = true makes that an error.
// The model is gelu_mlp_model.cpp (torchclad/nn.h), compiled with Clad by
// load_models on every rank; the data a slice of a TTree (torchclad-idx2root
// --out fashion-mnist.root writes that file), read whole by every rank.
R__LOAD_LIBRARY(libtorchclad_root.so)
#include "torchclad/distributed.h"
#include "torchclad/model.h"

#include <TSystem.h>

#include <cstdio>
#include <exception>

int fit_distributed(const char* file = "fashion-mnist.root", int batch = 16, int epochs = 2,
                    long long entries = 2000, const char* out = "fit_distributed.root",
                    bool require_mpirun = false) {
  try {
    // First: MPI starts here under mpirun (before any fit) and ends with mpi.
    torchclad::Distributed mpi(require_mpirun ? torchclad::Distributed::require_launcher
                                              : torchclad::Distributed::optional_launcher);
    const TString dir = gSystem->DirName(__FILE__);
    torchclad::load_models((dir + "/gelu_mlp_model.cpp").Data());
    const auto train = torchclad::Dataset::from_tree(file, "train", "image", "label", 0, entries);
    const auto test = torchclad::Dataset::from_tree(file, "test", "image", "label", 0, entries / 4);

    auto model = torchclad::model("gelu_mlp");
    torchclad::TrainOptions options;
    options.epochs = epochs;
    options.batch = batch;  // per rank: the global batch is mpi.size() x batch
    options.optimizer = "sgd";
    options.lr = 0.05;                                    // the learning rate of the global batch
    const auto result = model.fit(train, test, options);  // progress on rank 0
    model.save(out);  // rank 0 writes; every rank returns when the file is there
    // So every rank may read it back (each evaluates alike).
    const auto reloaded = torchclad::Model::load(out).evaluate(test);
    if (mpi.is_root())
      std::printf(
          "fit_distributed: %d rank(s) x batch %d (global batch %d), %s; test accuracy %.2f%%, "
          "saved to %s\n",
          mpi.size(), batch, mpi.size() * batch, result.status.c_str(), 100 * reloaded.accuracy, out);
    return result.status == "finished" ? 0 : 1;
  } catch (const std::exception& e) {
    // mpi ended with the exception in flight, so MPI was not finalised: the
    // non-zero exit makes mpirun end the other ranks instead of leaving them
    // waiting for this one.
    std::fprintf(stderr, "fit_distributed: %s\n", e.what());
    return 1;
  }
}
