// torchclad-test-cnn-ranks: Cnn::fit (torchclad/cnn.h) under
// torchclad::Distributed on the first windows of a torchclad-gwsim file, in
// one process or under mpirun; rank 0 writes the final parameters as raw
// float32 and prints every epoch's metrics, the test AUC among them (the
// ranks' sharded evaluation; compare_params.py reads both).
// tests/mpi/cnn_ranks.sh compares N ranks with batch B against one process
// with batch N*B. With "telemetry", the program installs a telemetry sink
// (torchclad/telemetry.h, what the kernel host installs to draw the live
// curve) that prints every event it receives as one line naming the rank,
// and fit prints its progress (stderr): tests/mpi/telemetry_ranks.sh counts
// them.
// usage: torchclad-test-cnn-ranks DATA OUT BATCH ENGINE EPOCHS [telemetry]
//   DATA: a torchclad-gwsim file (trees train and test: strain[N], label, snr)
//   ENGINE: clad (Model::fit of the Cnn definition), clad-ops or autograd
//   (the binary trainer)
#include <cstdio>
#include <string>
#include <vector>

#include "run_report.hpp"
#include "torchclad/cnn.h"
#include "torchclad/distributed.h"
#include "torchclad/model.h"
#include "torchclad/telemetry.h"

namespace {

// Not divisible by the global batches of the tests (16): a last, partial
// global batch shared unequally.
constexpr long long kTrainWindows = 101;
constexpr long long kTestWindows = 100;

// One line per event, written at once (mpirun relays each rank's output as it
// arrives; a line written in pieces could be cut by another rank's).
void print_event(const torchclad::Distributed& mpi, const torchclad::telemetry::Event& e) {
  char line[256];
  const int n = std::snprintf(
      line, sizeof line, "telemetry (rank %d of %d): %s epoch %d step %lld of %lld status %s\n", mpi.rank(),
      mpi.size(), e.kind.c_str(), e.epoch, e.step, e.total_steps, e.status.empty() ? "-" : e.status.c_str());
  std::fwrite(line, 1, static_cast<size_t>(n), stdout);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  torchclad::Distributed mpi(argc, argv);  // first: MPI may take its own arguments
  if (argc != 6 && !(argc == 7 && std::string(argv[6]) == "telemetry")) {
    std::fprintf(stderr, "usage: torchclad-test-cnn-ranks DATA OUT BATCH ENGINE EPOCHS [telemetry]\n");
    return 2;
  }
  const bool telemetry = argc == 7;
  try {
    const std::string data = argv[1], out = argv[2];
    const auto train =
        torchclad::BinaryDataset::from_tree(data, "train", "strain", "label", "snr", 0, kTrainWindows);
    const auto test =
        torchclad::BinaryDataset::from_tree(data, "test", "strain", "label", "snr", 0, kTestWindows);
    torchclad::Cnn cnn(train.length());
    torchclad::TrainOptions o;
    o.engine = argv[4];
    o.epochs = std::stoi(argv[5]);
    o.batch = std::stoi(argv[3]);  // per rank
    o.optimizer = torchclad::mpi_test::kOptimizer;
    o.lr = 0.01;  // torchclad-train-gw's sgd default
    o.progress = telemetry;
    if (telemetry)
      torchclad::telemetry::set_sink([&mpi](const torchclad::telemetry::Event& e) { print_event(mpi, e); });
    const auto r = cnn.fit(train, test, o);
    torchclad::telemetry::set_sink({});
    if (mpi.is_root()) {
      torchclad::mpi_test::report_run(cnn.model(), r, out);
      std::printf("%s, %d rank(s) x batch %d, engine %s: %s\n", cnn.describe().c_str(), mpi.size(), o.batch,
                  o.engine.c_str(), r.status.c_str());
    }
    return r.status == "finished" ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "torchclad-test-cnn-ranks (rank %d of %d): %s\n", mpi.rank(), mpi.size(), e.what());
    mpi.fail();  // no MPI_Finalize: the other ranks may wait for this one
    return 1;
  }
}
