#pragma once
// The options torchclad-train and torchclad-train-gw share, declared once on
// their Options table; Config is a trainer's config (train::TrainConfig,
// train::BinaryTrainConfig: train::RunOptions with limits and a checkpoint).
#include <string>

#include "cli_args.hpp"

namespace torchclad::cli {

// What the two trainers' --help says differently of the options they share.
struct TrainerWording {
  std::string unit;              // what a trainer trains on: "samples", "windows"
  double sgd_lr;                 // --lr's default with --optimizer sgd
  std::string seed_note;         // a line after --seed's help ("" for none)
  std::string train_limit_note;  // appended to --train-limit's help
  std::string checkpoint_note;   // which engines --checkpoint takes
};

// --epochs --batch --threads --optimizer --lr
template <class Config>
void add_optimizer_options(Options& o, Config& c, const TrainerWording& w) {
  o.integer("--epochs", c.epochs, "default {default}")
      .integer("--batch", c.batch, "default {default}")
      .integer("--threads", c.threads, "intra-op threads, default {default}")
      .text("--optimizer", "NAME", c.optimizer.kind, "{default} (default) or sgd (momentum 0.9)")
      .number("--lr", c.optimizer.lr,
              "learning rate, default {default} (adam) / " + shown(w.sgd_lr) + " (sgd)");
}

// --seed --train-limit --test-limit
template <class Config>
void add_sample_options(Options& o, Config& c, const TrainerWording& w) {
  o.integer("--seed", c.seed,
            "default {default}: same seed, same initial weights and batch order for every engine" +
                (w.seed_note.empty() ? "" : "\n" + w.seed_note))
      .integer("--train-limit", c.train_limit,
               "train on the first N " + w.unit + " only" + w.train_limit_note)
      .integer("--test-limit", c.test_limit, "evaluate on the first N test " + w.unit + " only");
}

// --checkpoint --resume --quiet
template <class Config>
void add_checkpoint_options(Options& o, Config& c, const TrainerWording& w) {
  o.text("--checkpoint", "FILE", c.checkpoint,
         "write the parameters, optimizer state and epoch to FILE after every\nepoch (" + w.checkpoint_note +
             ")")
      .set("--resume",
           "continue from --checkpoint FILE (when it exists) at the next epoch;\n"
           "the result equals an uninterrupted run's",
           c.resume)
      .on("--quiet", "no progress bar", [&c] { c.progress = false; });
}

// After parsing: sgd's default learning rate unless --lr was given.
template <class Config>
void apply_optimizer_defaults(const Options& o, Config& c, const TrainerWording& w) {
  if (!o.given("--lr") && c.optimizer.kind == "sgd") c.optimizer.lr = w.sgd_lr;
}

// The run as both trainers log it: "adam lr 0.001, batch 64, threads 1, seed
// 42", and with more than one rank "; 4 ranks, global batch 256".
template <class Config>
std::string run_summary(const Config& c, int ranks) {
  std::string s = c.optimizer.kind + " lr " + shown(c.optimizer.lr) + ", batch " + std::to_string(c.batch) +
                  ", threads " + std::to_string(c.threads) + ", seed " + std::to_string(c.seed);
  if (ranks > 1)
    s += "; " + std::to_string(ranks) + " ranks, global batch " + std::to_string(c.batch * ranks);
  return s;
}

// --help's note on running under mpirun.
inline std::string mpirun_note(const TrainerWording& w) {
  return "Under mpirun -np N each rank reads only its shard of the training entries\n"
         "(rank r: [r n/N, (r+1) n/N) of the n used) and trains on its share of each\n"
         "global batch of N x --batch " +
         w.unit +
         " of the epoch's shuffle, the ranks\n"
         "exchanging the rows each share needs once per epoch (one gradient allreduce\n"
         "per step; the learning rate is the one for that global batch; the result is\n"
         "one process's with --batch N x B); rank 0 prints and writes the outputs.\n";
}

}  // namespace torchclad::cli
