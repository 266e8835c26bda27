// One epoch of training, as the trainer records it and every caller gets it:
// Model::fit and Mlp/Cnn::fit (TrainResult), a model's history(), the
// metrics files and the command-line trainers. Plain C++17 with no includes,
// so both the engine (C++20, LibTorch) and ROOT's cling use this one type.
#ifndef TORCHCLAD_EPOCH_H
#define TORCHCLAD_EPOCH_H

namespace torchclad {

struct EpochResult {
  int epoch = 0;
  double train_loss = 0;  // mean over the epoch's steps
  double test_loss = 0;
  double test_accuracy = 0;       // -1 for regression models (torchclad/model.h)
  double seconds = 0;             // training time of the epoch (steps only)
  double samples_per_second = 0;  // over >= 0.25 s of training with the epochs before
  double test_auc = -1;           // binary and two-class classifiers: ROC AUC on the test set; -1 otherwise
  double test_rmse = -1;        // regression models: RMSE on the test set (the targets' units); -1 otherwise
  long long steps = 0;          // optimisation steps of the epoch
  double steps_per_second = 0;  // samples_per_second x this epoch's steps per sample
  // The median time of the epoch's steps (each a batch's gather, forward,
  // backward and update); seconds - steps x this: at most the loop's own cost.
  double median_step_seconds = 0;
};

}  // namespace torchclad

#endif  // TORCHCLAD_EPOCH_H
