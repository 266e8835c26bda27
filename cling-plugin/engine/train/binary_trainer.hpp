#pragma once
// Trains the built-in Cnn (the 1D CNN of the gravitational-wave workload)
// with any binary engine, in the loop every built-in engine shares
// (train/trainer.hpp: train_engine): the same shuffled batches, checks,
// progress, telemetry and stop handling as the Mlp, with the definition's
// test loss, accuracy and ROC AUC per epoch.
#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "data/binary.hpp"
#include "model/cnn_definition.hpp"
#include "optim/optimizers.hpp"
#include "train/run_loop.hpp"
#include "train/run_options.hpp"

namespace torchclad::train {

class BinaryEngine;

struct BinaryTrainConfig : RunOptions {
  std::string dataset = "gw";  // a label for the outputs
  std::string engine = "clad";
  CnnConfig model;
  int64_t train_limit = 0;  // use the first N training samples (0: all)
  int64_t test_limit = 0;
  std::string checkpoint;  // write FILE after every epoch (any engine)
  bool resume = false;     // continue from checkpoint (train/checkpoint.hpp)
};

struct BinaryTrainResult {
  std::vector<EpochResult> epochs;
  std::shared_ptr<BinaryEngine> engine;  // the trained model
  torch::Tensor test_logits;             // [test windows used] after the last epoch (undefined if none ran)
  bool non_finite = false, stopped = false;
  std::string stop_message;
};

// "cnn-2048-c8k16p4-c16k8p4-c32k8p4-h64": the Cnn's definition name.
inline std::string cnn_model_name(const CnnConfig& model) { return cnn_definition_name(model); }

// Throws c10::Error for invalid configurations or data (feature count vs the
// model's input length, targets other than 0/1, empty splits) before any step.
BinaryTrainResult train_binary(const data::BinarySplit& train, const data::BinarySplit& test,
                               const BinaryTrainConfig& config, std::ostream& log);

// Logits [n] of x [n, input_length] (no gradient).
torch::Tensor predict_logits(BinaryEngine& engine, const torch::Tensor& x);

}  // namespace torchclad::train
