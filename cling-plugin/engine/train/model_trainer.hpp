#pragma once
// Trains a DefinedModel (any model definition, model/defined_model.hpp) with
// the shared epoch loop (train/run_loop.hpp): seeded shuffled batches,
// progress, telemetry, stop requests, non-finite losses; per epoch the
// definition's own loss on the test set and, by the kind of targets,
// accuracy (class indices), accuracy and ROC AUC (binary, and two class
// indices scored by the difference of their logits), or RMSE (regression).
//
// Per-event weights (ModelData::w): the loss of a batch is (1/n) sum_i f_i
// l_i with f_i = w_i / mean(w) over the training set, so its expectation over
// the epoch's batches is the weighted mean sum(w l) / sum(w) of the training
// set; a negative weight subtracts its event's loss (its gradient pushes the
// other way), as a negative Monte Carlo weight subtracts its event from a
// histogram. The weights must sum to a positive number. With
// weighted_sampling, each epoch instead draws as many events as the set
// holds, with replacement, with probability |w_i| / sum|w| (PyTorch's
// WeightedRandomSampler), and an event's loss counts sign(w_i) sum|w| /
// sum(w): the same expectation; with positive weights, plain weighted
// sampling and unweighted losses. Evaluations are weighted: the loss as
// sum(w l) / sum(w), accuracy, ROC AUC and RMSE with each event counting w_i.
//
// Data-parallel (dist::world() of several ranks): a fit's per-epoch
// evaluation is sharded (evaluate_model with over_ranks): every rank holds
// the whole evaluation set and evaluates rows [floor(r n/N), floor((r+1) n/N));
// the sums (weighted loss, weights, weighted correct counts, weighted squared
// errors) are added over the ranks in one allreduce, and the scores of a
// two-class model are gathered to every rank (an allreduce of n floats, each
// rank filling its rows) for the ROC AUC: every rank gets the one process's
// metrics, to float rounding.
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "model/defined_model.hpp"
#include "optim/optimizers.hpp"
#include "train/checkpoint.hpp"
#include "train/clad_step.hpp"
#include "train/run_loop.hpp"
#include "train/run_options.hpp"

namespace torchclad::train {

// Samples as the definition reads them: x float32 [n, inputs], y float32
// [n, target_width] (class indices and 0/1 labels as floats).
struct ModelData {
  torch::Tensor x, y;
  torch::Tensor w;  // per-event weights float32 [n], or undefined (every weight 1)
  // Standardised regression targets (Model::standardize): per target, the
  // std that turns an error in y's units back into the targets' own units,
  // float32 [target_width], so the RMSE is in those units (the loss stays the
  // definition's, on y); undefined: y is in its own units.
  torch::Tensor y_scale;
};

struct ModelTrainConfig : RunOptions {
  bool weighted_sampling = false;   // see above; needs weights
  std::vector<std::string> frozen;  // parameter names or layer prefixes kept fixed (frozen_parameters.hpp)
  // A training set sharded over the ranks (train::RowShard, dist/row_shards.hpp):
  // the training x and y hold rows [shard_begin, shard_begin + rows) of
  // shard_total, w (if any) the weights of all. shard_total 0: the whole set.
  int64_t shard_begin = 0, shard_total = 0;
};

// Checks x, y and w against the definition (shapes, finite values, class
// indices in range, 0/1 labels, one weight per sample summing to a positive
// number); throws c10::Error naming the split, what was expected and what
// was found.
void check_model_data(const define::Definition& def, const ModelData& data, const char* split);

// The definition's mean loss on data, and the metrics its targets allow.
// over_ranks (the default, a fit's evaluation): with several ranks every rank
// must call it with the same data (collective; see above); false: this
// process evaluates all of data alone (Model::evaluate).
Evaluation evaluate_model(DefinedModel& model, const ModelData& data, bool over_ranks = true);

// Whether the definition gives one score per event (a binary classifier, or
// a classifier of two classes), and the scores [n] of its outputs [n, width]:
// the logit, or for two classes the difference of the logits, log(p1 / p0)
// (so the argmax and the softmax's ranking agree). The one rule of
// evaluate_model's accuracy and AUC and of Model::roc; throws c10::Error for
// other models.
bool has_binary_scores(const define::Definition& def);
torch::Tensor binary_scores(const define::Definition& def, const torch::Tensor& outputs);

// Trains model in place in train_engine (train/trainer.hpp), with its Clad
// gradient and the fused optimizer; the options and both splits are checked
// before any step. With checkpoints.path set, a checkpoint after every
// epoch and, resuming, the run continued from it (train/checkpoint.hpp).
RunOutcome train_model(DefinedModel& model, const ModelData& train, const ModelData& test,
                       const ModelTrainConfig& config, std::ostream& log,
                       const CheckpointOptions& checkpoints = {});

}  // namespace torchclad::train
