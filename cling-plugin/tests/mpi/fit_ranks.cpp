// torchclad-test-fit-ranks: train_model (the engine of Model::fit) on
// synthetic data with per-event weights, in one process or under mpirun, and
// rank 0 writes the final parameters as raw float32. tests/mpi/fit_ranks.sh
// compares N ranks with local batch B against one process with batch N*B,
// with weighted losses and with weighted sampling (whose per-epoch draw every
// rank must make alike).
// usage: torchclad-test-fit-ranks OUT_FILE BATCH weights|sampling
#include <fstream>
#include <iostream>
#include <string>

#include "dist/communicator.hpp"
#include "dist/mpi_world.hpp"
#include "model/defined_model.hpp"
#include "model/mlp_definition.hpp"
#include "train/model_trainer.hpp"

int main(int argc, char** argv) {
  using namespace torchclad;
  dist::MpiSession mpi(&argc, &argv);
  if (argc != 4) {
    std::cerr << "usage: torchclad-test-fit-ranks OUT_FILE BATCH weights|sampling\n";
    return mpi.fail(), 2;
  }
  try {
    DefinedModel model(mlp_definition(MlpConfig{{8, 16, 3}, kernels::kRelu}), 42);
    torch::manual_seed(7);  // the same data on every rank
    const int64_t n = 101;  // not divisible by the global batches of the test
    const auto x = torch::randn({n, 8});
    const auto y = torch::randint(0, 3, {n, 1}).to(torch::kFloat32);
    const auto w = torch::rand({n}) + 0.25;
    train::ModelTrainConfig c;
    c.optimizer.kind = "sgd";
    c.optimizer.lr = 0.1;
    c.epochs = 3;
    c.batch = std::stoi(argv[2]);
    c.progress = false;
    c.weighted_sampling = std::string(argv[3]) == "sampling";
    std::ostream null(nullptr);
    const auto run = train::train_model(model, {x, y, w}, {x, y, w}, c, null);
    if (dist::is_root()) {
      std::ofstream f(argv[1], std::ios::binary);
      f.write(reinterpret_cast<const char*>(model.params().data_ptr<float>()),
              sizeof(float) * model.params().numel());
      std::cout << "trained " << run.epochs.size() << " epochs, last train loss " << run.epochs.back().train_loss
                << "\n";
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "torchclad-test-fit-ranks (" << dist::rank_label() << "): " << e.what() << "\n";
  }
  mpi.fail();
  return 1;
}
