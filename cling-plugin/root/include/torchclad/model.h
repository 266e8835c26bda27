// torchclad for ROOT: models you define (torchclad/nn.h, TORCHCLAD_MODEL in a
// %%clad cell, a macro compiled with Clad, or your program), trained with
// their Clad-generated gradients. Plain C++17 like torchclad.h; implemented
// in libtorchclad_root.so.
//
//   auto m = torchclad::model("two_layers");     // fresh parameters (seed 42)
//   m.check_gradients(train);                    // Clad vs finite differences, float64
//   auto r = m.fit(train, test, {});             // live display in a notebook
//   m.save("two_layers.root");
//   auto again = torchclad::Model::load("two_layers.root");
#ifndef TORCHCLAD_MODEL_H
#define TORCHCLAD_MODEL_H

#include <memory>
#include <string>
#include <vector>

#include "torchclad/cnn.h"
#include "torchclad/torchclad.h"

namespace torchclad {

class StreamDataset;  // torchclad/stream.h

// A model's loss and metrics on a dataset. With per-event weights
// (Dataset::has_weights) every mean is weighted, each event counting its
// weight w (negative weights subtract): loss = sum(w l) / sum(w), accuracy =
// weight of the correct events / sum(w), the ROC AUC from weighted
// signal/background sums, RMSE = sqrt(sum(w e^2) / sum(w)).
struct Evaluation {
  double loss = 0;       // the definition's own loss (mean over the samples)
  double accuracy = -1;  // classifiers: fraction correct; -1 for regression
  double auc = -1;       // binary and two-class classifiers: ROC AUC; -1 otherwise
  double rmse = -1;      // regression: root mean squared error (targets' units); -1 otherwise
  long long samples = 0;
  bool weighted = false;  // the dataset's per-event weights were used
};

// A binary classifier's ROC curve on a dataset: one point per distinct
// score, from (0, 0) to (1, 1), thresholds decreasing (an event is called
// signal when its score >= threshold). With per-event weights the rates are
// sums of weights (a rate may step down where weights are negative).
struct RocCurve {
  std::vector<double> false_positive_rate, true_positive_rate, threshold;
  double auc = 0;
};

// check_gradients: per parameter tensor, the largest relative error of
// Clad's float64 gradient against central finite differences.
struct GradientCheck {
  struct Row {
    std::string parameter;
    long long checked = 0;  // elements compared
    double max_abs_error = 0, max_rel_error = 0;
  };
  std::vector<Row> rows;
  double worst_rel_error = 0;
  double tolerance = 0;
  bool passed = false;
  std::string table;  // what check_gradients printed
};

class Model {
 public:
  // The definition registered under `name`, with parameters initialised as
  // it declares, from `seed`. Throws std::runtime_error naming the known
  // definitions if there is none by that name, and for a classifier of one
  // class ("mlp-4-32-1": a built-in Mlp is a softmax classifier, so two
  // classes are "mlp-4-32-2").
  explicit Model(const std::string& name, unsigned long long seed = 42);

  // Trains on class labels (Dataset) or 0/1 targets (BinaryDataset). Options
  // as for Mlp; the engine is always Clad's gradient of the definition.
  // Per-event weights of the training set (Dataset::has_weights) weigh each
  // event's loss: a batch's loss is the mean of (w_i / mean w) l_i, whose
  // expectation over an epoch is the weighted mean sum(w l) / sum(w); a
  // negative weight subtracts its event's loss. The weights must sum to a
  // positive number. options.weighted_sampling draws each epoch's events
  // with replacement with probability |w_i| / sum|w| instead (PyTorch's
  // WeightedRandomSampler), each counting sign(w_i) sum|w| / sum(w).
  // Under torchclad::Distributed every fit trains data-parallel (the global
  // batch, shards of a Dataset, a stream's entries per rank, the sharded
  // evaluation: torchclad/distributed.h).
  TrainResult fit(const Dataset& train, const Dataset& test, const TrainOptions& options = {});
  TrainResult fit(const BinaryDataset& train, const BinaryDataset& test, const TrainOptions& options = {});
  // Rows streamed from TTrees (torchclad/stream.h, in its order), tested on a
  // Dataset; features and regression targets standardised if the model's are
  // (fit standardize() on an in-memory sample of the same columns first). The stream's per-event weights
  // weigh the loss as above, mean(w) being the mean over all the stream's entries (read once, the weight
  // column alone, before the first epoch); weighted_sampling needs an in-memory Dataset.
  TrainResult fit(const StreamDataset& train, const Dataset& test, const TrainOptions& options = {});
  Evaluation evaluate(const Dataset& data) const;
  Evaluation evaluate(const BinaryDataset& data) const;
  // The output activation per sample, flattened [size * output_width()]; a
  // regression model's in the targets' units if they are standardised.
  std::vector<float> predict(const Dataset& data) const;
  std::vector<float> predict(const BinaryDataset& data) const;
  int output_width() const;
  // The ROC curve of a binary model's logit (predict()), or of a two-class
  // classifier's logit difference log(p1 / p0), on a dataset with labels 0
  // (background) and 1 (signal), weighted if the dataset has weights. Throws
  // std::runtime_error for a model of other outputs, other labels (naming
  // the sample), or a class absent (or of weight <= 0). The same score per
  // event as an RDataFrame column: define_model_column's default output
  // (torchclad/model_column.h).
  RocCurve roc(const Dataset& data) const;

  // Standardisation (TMVA's VarTransform=N, which by default transforms the
  // variables and, in regression, the targets; sklearn's StandardScaler and
  // TransformedTargetRegressor). standardize fits a mean and a standard
  // deviation per feature on `train` and, for a regression model, per target
  // column too: weighted when it has per-event weights (sum(w v) / sum(w),
  // variance sum(w (v - mean)^2) / sum(w)). From then on fit, evaluate,
  // predict, check_gradients and model columns feed the model (x - mean) /
  // std, and a regression model trains on (y - mean) / std while predict,
  // model columns and the RMSE (evaluate's, fit's epoch lines') are in the
  // targets' own units (output * std + mean); the loss (fit's train and test loss, evaluate's loss) is
  // the definition's, on the standardised targets (a Huber delta is in
  // stds). One call makes a regression on targets of ~100 GeV train with
  // the default learning rate; standardize_features (features only) and
  // standardize_targets (targets only, which throws for a classifier) fit
  // one side, and leave the other as it is. Fit them before training (the
  // parameters learn the scales they train with). A column with zero variance
  // (or, with negative weights, a variance <= 0) gets std 1: it is only
  // shifted to 0; for a target a note on stderr names it (a constant target
  // is most likely the wrong column). Stored by save, restored by load (a
  // file of an older version, without target statistics, loads as before).
  // Call again to refit. Throws std::runtime_error if the features per
  // sample differ from the model's inputs, the targets per sample from its
  // targets, the dataset of a regression model has class labels, it is a
  // shard of a training set, or the weights sum to <= 0; on an error the
  // model keeps its earlier standardisation.
  void standardize(const Dataset& train);
  void standardize_features(const Dataset& train);
  void standardize_targets(const Dataset& train);
  bool standardized() const;                 // the features are
  std::vector<float> feature_means() const;  // empty if not standardised
  std::vector<float> feature_stds() const;   // empty if not standardised
  bool targets_standardized() const;
  std::vector<float> target_means() const;  // per target; empty if not standardised
  std::vector<float> target_stds() const;   // per target; empty if not standardised

  // Clad's gradient in float64 against central finite differences (step h)
  // on the first `batch` samples, up to `per_tensor` elements per parameter
  // tensor; prints the table (to stdout) and returns it. passed: every
  // relative error below `tolerance`.
  GradientCheck check_gradients(const Dataset& data, int batch = 4, int per_tensor = 24, double h = 1e-6,
                                double tolerance = 1e-5) const;
  GradientCheck check_gradients(const BinaryDataset& data, int batch = 4, int per_tensor = 24,
                                double h = 1e-6, double tolerance = 1e-5) const;

  std::string name() const;
  // The definition, whether trained, the features (names), the standardisation.
  std::string describe() const;
  // The features the model takes, one name per input in order, as the
  // dataset it was first standardised or fitted on named them
  // (Dataset::feature_names: "var1", "jet_pt[2]"); saved and loaded with it.
  // Empty: unknown (never given a dataset with names; a file saved before
  // names were). While known, fit, evaluate, predict, roc, standardize,
  // check_gradients and define_model_column refuse features of other names
  // or in another order, listing both (as TMVA's Reader checks its
  // AddVariable list against the weight file): a model applied to swapped
  // columns scores garbage without any other sign.
  std::vector<std::string> feature_names() const;
  // Replaces them: names for a model trained without (one per input), the
  // same quantities under other names (or Alias the columns in RDataFrame),
  // or {} to forget them (nothing is checked then). Throws
  // std::runtime_error for another number of names than inputs.
  void set_feature_names(const std::vector<std::string>& names);
  std::vector<std::string> parameter_names() const;
  std::vector<float> parameter(const std::string& name) const;
  long long parameter_count() const;
  // Replaces the values of parameter `name` (row-major, as parameter()
  // gives them; e.g. pretrained weights, torchclad/import.h). Throws
  // std::runtime_error naming the parameter, its shape and the number of
  // values found when the count differs or a value is not finite, and
  // listing the parameters for an unknown name.
  void set_parameter(const std::string& name, const std::vector<float>& values);
  // The training history of every fit so far (epochs numbered from 1 per
  // fit; a resumed fit's from the checkpoint's epoch + 1: TrainOptions::resume).
  const std::vector<EpochResult>& history() const;
  // The options of the last fit: fit's, or for a loaded model the saved
  // file's (engine, epochs, batch, threads, optimizer, lr, seed,
  // weighted_sampling; the rest as TrainOptions defaults them). A model never
  // trained: TrainOptions{}.
  TrainOptions training_options() const;

  // A ROOT file with the parameters (TTree "parameters": name, shape,
  // values), the definition's name and source hash, the last fit's options
  // (TNamed "options", JSON), the metrics history (TTree "history"), the
  // standardisation (TTrees "standardization", "target_standardization")
  // and the feature names (TTree "features", branch "name", if known).
  void save(const std::string& path) const;
  // Needs the definition in this session (run its cell first); throws
  // std::runtime_error naming the definition otherwise, or when the file's
  // parameters do not fit it. A file without feature names (saved before
  // they were recorded) loads with them unknown.
  static Model load(const std::string& path);

  struct State;
  explicit Model(std::shared_ptr<State> state) : state_(std::move(state)) {}
  const std::shared_ptr<State>& state() const {
    if (!made_.ok()) detail::never_made("Model");
    return state_;
  }

 private:
  std::shared_ptr<State> state_;
  detail::MadeMark made_;
};

// Datasets made in memory (from C++ vectors), for regression targets
// (`targets` values per sample in y) or class labels. x holds `features`
// values per sample, row after row. Throws std::invalid_argument when the
// sizes do not fit or a value is not finite.
Dataset regression_dataset(const std::vector<float>& x, int features, const std::vector<float>& y,
                           int targets = 1);
Dataset classification_dataset(const std::vector<float>& x, int features,
                               const std::vector<long long>& labels);

// Compiles a C++ file of model definitions (torchclad/nn.h, TORCHCLAD_MODEL)
// with clang++-19 and Clad into a library and loads it: its models register
// by name, replacing earlier versions of the same file's models. torchclad/nn.h
// is included first, as in a %%clad cell (a cell pasted into a file compiles
// as it is). C++20 and
// LibTorch headers are allowed (there is no cling dictionary). Returns the
// names of the file's models; throws std::runtime_error if it does not
// compile, defines no model, calls what Clad cannot differentiate, or a
// definition fails its checks (the compiler's messages go to stderr).
std::vector<std::string> load_models(const std::string& source_file);
// The compiler command load_models and %%clad model cells use.
std::string model_compile_command(const std::string& source, const std::string& library);
// Runs that command (output on stdout/stderr); returns its exit status.
int compile_models_library(const std::string& source, const std::string& library);
// From a compiler's output: Clad's warnings about calls it could not
// differentiate (it takes their derivative as 0: a wrong gradient), each as a
// message that names the call and what to do. load_models and %%clad cells
// refuse such a file.
std::vector<std::string> non_differentiable_calls(const std::string& compiler_output);
// From a compiler's output: if the compiler crashed (Clad does on a few
// forms, e.g. a brace cast long{x} in differentiated code), a message naming
// the function, the place and what to write instead; "" otherwise.
std::string clad_crash(const std::string& compiler_output);
// The output as a user should see it: without Clad's warnings that are noise
// (one per `using namespace` inside loss) and with a crash's stack dump
// replaced by clad_crash's message.
std::string compiler_output_for_users(const std::string& compiler_output);

// torchclad::model("name"): a Model of that definition.
Model model(const std::string& name, unsigned long long seed = 42);
// The definitions registered in this session.
std::vector<std::string> model_names();
// Registration errors since the last call (a definition that failed its
// checks when its library loaded), one message each.
std::vector<std::string> take_model_errors();

}  // namespace torchclad

#endif
