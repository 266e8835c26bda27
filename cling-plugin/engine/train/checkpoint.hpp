#pragma once
// Checkpoints of a training run, written by rank 0 after every epoch and read
// by --resume: the parameters, the optimizer's state (step count and
// buffers), the epoch, and what the batch order depends on (the seed and the
// global batch: epoch e's order is a shuffle seeded by (seed, e), so no
// generator state needs saving). A resumed run takes the steps the
// uninterrupted run takes from the next epoch on, with the same values.
//
// File: "TCLADCKP", version, model name, optimizer kind, epoch, seed, global
// batch, the parameters, the optimizer state; written to the hidden .FILE.partial and renamed,
// so a job killed while writing leaves the previous checkpoint whole.
#include <cstdint>
#include <ostream>
#include <string>

#include "model/defined_model.hpp"
#include "optim/optimizers.hpp"
#include "train/optimizer_access.hpp"
#include "train/run_loop.hpp"

namespace torchclad::train {

struct CheckpointOptions {
  std::string path;     // empty: no checkpoints
  bool resume = false;  // continue from path when it exists (else start at epoch 1)
  // How the caller names the epochs setting in errors (the commands' flag;
  // the API's "options.epochs").
  std::string epochs_name = "--epochs";
};

// Sets spec.after_epoch to write the checkpoint (rank 0) and, resuming,
// loads the checkpoint into model and optimizer (rank 0 reads the file and
// sends it to every rank) and sets spec.first_epoch. spec must name the run
// (model, optimizer, seed, batch, epochs). The optimizer state has one
// layout for every engine (FlatOptimizerState), so a checkpoint of one engine
// resumes in another. Throws c10::Error on every rank for a checkpoint of
// another run (model, optimizer, seed, global batch) or one with no epoch
// left to train.
void use_checkpoints(RunSpec& spec, const CheckpointOptions& options, DefinedModel& model,
                     const OptimizerAccess& optimizer, std::ostream& log);

}  // namespace torchclad::train
