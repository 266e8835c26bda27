// torchclad-test-fit-ranks: train_model (the engine of Model::fit) on
// synthetic data with per-event weights, in one process or under mpirun, and
// rank 0 writes the final parameters as raw float32. tests/mpi/fit_ranks.sh
// compares N ranks with local batch B against one process with batch N*B,
// with weighted losses and with weighted sampling (whose per-epoch draw every
// rank must make alike). The modes shard-weights and shard-sampling train
// in train_engine with each rank holding only its shard of the rows
// (RowShard, dist/row_shards.hpp) and the weights of all, the step of
// train_model: the result must be the one process's all the same. The mode
// one-collective trains with the step every Clad fit takes (train::CladStep)
// and checks that each step, the ranks' agreement on its loss and stop
// request included, makes one allreduce.
// usage: torchclad-test-fit-ranks OUT_FILE BATCH weights|sampling|shard-weights|shard-sampling|one-collective
#include <algorithm>
#include <iostream>
#include <string>

#include "dist/communicator.hpp"
#include "dist/data_parallel.hpp"
#include "dist/mpi_world.hpp"
#include "dist/row_shards.hpp"
#include "model/defined_model.hpp"
#include "model/mlp_definition.hpp"
#include "optim/optimizers.hpp"
#include "raw_params.hpp"
#include "train/clad_step.hpp"
#include "train/model_trainer.hpp"
#include "train/trainer.hpp"

int main(int argc, char** argv) {
  using namespace torchclad;
  dist::MpiSession mpi(&argc, &argv);
  if (argc != 4) {
    std::cerr << "usage: torchclad-test-fit-ranks OUT_FILE BATCH "
                 "weights|sampling|shard-weights|shard-sampling|one-collective\n";
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
    c.optimizer.kind = mpi_test::kOptimizer;
    c.optimizer.lr = 0.1;
    c.epochs = mpi_test::kEpochs;
    c.batch = std::stoi(argv[2]);
    c.progress = false;
    const std::string mode = argv[3];
    c.weighted_sampling = mode == "sampling" || mode == "shard-sampling";
    std::ostream null(nullptr);
    train::RunOutcome run;
    if (mode.rfind("shard-", 0) == 0) {
      // This rank keeps its shard of x and y only; the weights of all rows.
      const auto shard = dist::shard_of(n, dist::world().rank(), dist::world().size());
      const auto xs = x.narrow(0, shard.begin, shard.size()).clone(),
                 ys = y.narrow(0, shard.begin, shard.size()).clone();
      auto optimizer = make_flat_optimizer(c.optimizer, model.params().numel());
      run = train::train_engine(
          model, {xs, ys, w}, {x, y, w}, train::run_spec("clad", model.definition().name, c),
          [&](const float* xb, const float* yb, const float* wb, int rows) {  // train_model's step
            const float loss = rows ? model.loss_and_grad(xb, yb, rows, wb) : 0.0f;
            dist::average_gradients(model.grads().data_ptr<float>(), model.grads().numel());
            optimizer->step(model.params().data_ptr<float>(), model.grads().data_ptr<float>());
            return loss;
          },
          null, c.weighted_sampling, train::RowShard{shard.begin, n});
    } else if (mode == "one-collective") {
      // The allreduces between one step's start and the next's, within an epoch.
      train::CladStep step(model, c.optimizer);
      const int64_t global_batch = int64_t{c.batch} * dist::world().size();
      const int64_t steps_per_epoch = (n + global_batch - 1) / global_batch;
      int64_t calls = 0, at_last_step = 0, steps = 0, worst = 0;
      run = train::train_engine(
          model, {x, y, w}, {x, y, w}, train::run_spec("clad", model.definition().name, c),
          [&](const float* xb, const float* yb, const float* wb, int rows) {
            const int64_t now = dist::world().allreduces();
            if (calls++ % steps_per_epoch != 0) {  // not an epoch's first step: no evaluation between
              ++steps;
              worst = std::max(worst, now - at_last_step);
            }
            at_last_step = now;
            return step(xb, yb, wb, rows);
          },
          null, false);
      if (steps == 0 || worst != 1) {
        std::cerr << "one-collective: up to " << worst << " allreduces per step over " << steps
                  << " steps, expected 1\n";
        return mpi.fail(), 1;
      }
      if (dist::is_root()) std::cout << "every step made 1 allreduce (" << steps << " steps)\n";
    } else {
      run = train::train_model(model, {x, y, w}, {x, y, w}, c, null);
    }
    if (dist::is_root()) {
      mpi_test::write_params(argv[1], model.params().data_ptr<float>(), model.params().numel());
      std::cout << "trained " << run.epochs.size() << " epochs, last train loss "
                << run.epochs.back().train_loss << "\n";
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "torchclad-test-fit-ranks (" << dist::rank_label() << "): " << e.what() << "\n";
  }
  mpi.fail();
  return 1;
}
