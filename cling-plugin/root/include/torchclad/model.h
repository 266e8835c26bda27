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

// A model's loss and metrics on a dataset.
struct Evaluation {
  double loss = 0;       // the definition's own loss (mean over the samples)
  double accuracy = -1;  // classifiers: fraction correct; -1 for regression
  double auc = -1;       // binary classifiers: ROC AUC; -1 otherwise
  double rmse = -1;      // regression: root mean squared error; -1 otherwise
  long long samples = 0;
};

// check_gradients: per parameter tensor, the largest relative error of
// Clad's float64 gradient against central finite differences.
struct GradientCheck {
  struct Row {
    std::string parameter;
    long long checked = 0;   // elements compared
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
  // definitions if there is none by that name.
  explicit Model(const std::string& name, unsigned long long seed = 42);

  // Trains on class labels (Dataset) or 0/1 targets (BinaryDataset). Options
  // as for Mlp; the engine is always Clad's gradient of the definition.
  TrainResult fit(const Dataset& train, const Dataset& test, const TrainOptions& options = {});
  TrainResult fit(const BinaryDataset& train, const BinaryDataset& test,
                  const TrainOptions& options = {});
  // Rows streamed from TTrees (torchclad/stream.h, in its order), tested on a Dataset.
  TrainResult fit(const StreamDataset& train, const Dataset& test, const TrainOptions& options = {});
  Evaluation evaluate(const Dataset& data) const;
  Evaluation evaluate(const BinaryDataset& data) const;
  // The output activation per sample, flattened [size * output_width()].
  std::vector<float> predict(const Dataset& data) const;
  std::vector<float> predict(const BinaryDataset& data) const;
  int output_width() const;

  // Clad's gradient in float64 against central finite differences (step h)
  // on the first `batch` samples, up to `per_tensor` elements per parameter
  // tensor; prints the table (to stdout) and returns it. passed: every
  // relative error below `tolerance`.
  GradientCheck check_gradients(const Dataset& data, int batch = 4, int per_tensor = 24,
                                double h = 1e-6, double tolerance = 1e-5) const;
  GradientCheck check_gradients(const BinaryDataset& data, int batch = 4, int per_tensor = 24,
                                double h = 1e-6, double tolerance = 1e-5) const;

  std::string name() const;
  std::string describe() const;
  std::vector<std::string> parameter_names() const;
  std::vector<float> parameter(const std::string& name) const;
  long long parameter_count() const;
  // The training history of every fit so far (epochs numbered from 1 per fit).
  const std::vector<EpochResult>& history() const;

  // A ROOT file with the parameters (TTree "parameters": name, shape,
  // values), the definition's name and source hash, the last fit's options
  // (TNamed "options", JSON) and the metrics history (TTree "history").
  void save(const std::string& path) const;
  // Needs the definition in this session (run its cell first); throws
  // std::runtime_error naming the definition otherwise, or when the file's
  // parameters do not fit it.
  static Model load(const std::string& path);

  struct State;
  explicit Model(std::shared_ptr<State> state) : state_(std::move(state)) {}

 private:
  std::shared_ptr<State> state_;
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
// by name, replacing earlier versions of the same file's models. C++20 and
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

// torchclad::model("name"): a Model of that definition.
Model model(const std::string& name, unsigned long long seed = 42);
// The definitions registered in this session.
std::vector<std::string> model_names();
// Registration errors since the last call (a definition that failed its
// checks when its library loaded), one message each.
std::vector<std::string> take_model_errors();

}  // namespace torchclad

#endif
