// torchclad for ROOT: the API that macros and notebook cells use.
//
// Plain C++17 and the standard library only, so ROOT's cling (C++17, no
// Clad) parses it in milliseconds; no LibTorch type crosses it. The engine
// behind it (LibTorch, Clad, C++20) is libtorchclad_root.so:
//   R__LOAD_LIBRARY(libtorchclad_root.so)   // or gSystem->Load(...)
//   #include "torchclad/torchclad.h"
#ifndef TORCHCLAD_TORCHCLAD_H
#define TORCHCLAD_TORCHCLAD_H

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "torchclad/epoch.h"
#include "torchclad/telemetry.h"

namespace torchclad {

namespace detail {
// Set by every constructor of the object holding it. A variable whose
// initialisation threw keeps its name in cling (a notebook's
// `auto m = torchclad::model("typo");`) and holds whatever its memory held;
// its methods then throw instead of following a garbage pointer and taking
// the session down.
struct MadeMark {
  static constexpr unsigned long long kMade = 0x746f726368636c64ULL;  // "torchcld"
  unsigned long long value = kMade;
  bool ok() const { return value == kMade; }
};
[[noreturn]] void never_made(const char* type);
}  // namespace detail

// Labelled samples in memory: float32 features [size, features] and class
// labels [size] (or float regression targets [size, targets]), optionally a
// weight per sample; read once; training shuffles them per epoch by seed.
class Dataset {
 public:
  // One split ("train" or "test") of an MNIST-format IDX directory; pixels scaled to [0, 1].
  static Dataset from_idx(const std::string& dir, const std::string& split = "train");
  // Entries [first, first + count) of a TTree (count < 0: to the end); the
  // image column is a fixed-size array or an RVec/vector of numbers, the label
  // column an integer. Images stored as bytes are scaled to [0, 1].
  static Dataset from_tree(const std::string& file, const std::string& tree,
                           const std::string& image_column = "image",
                           const std::string& label_column = "label", long long first = 0,
                           long long count = -1);
  // From any RDataFrame node, from lists of columns (ntuples), and signal +
  // background trees (DataLoader): torchclad/rdataframe.h.
  long long size() const;
  int features() const;
  int classes() const;       // 1 + the largest label; 0 for a regression dataset
  int targets() const;       // 0: class labels; else the regression targets per sample
  bool has_weights() const;  // per-sample weights stored (else every weight is 1)
  // One name per feature, in order, as the reader named them: "m_jj" (a
  // column of one number), "jet_pt[2]" (value 2 of an array column),
  // "image[0]" ... "image[783]" (dataset_from_rdataframe, from_tree). Empty
  // when unknown (from_idx, classification_dataset). A model records them
  // when it is standardised or fitted, saves them, and refuses data and
  // model columns whose features differ (torchclad/model.h).
  std::vector<std::string> feature_names() const;

  // The samples of every dataset, in order. They must have the same number
  // of features, the same feature names where both are known (the result
  // has the known ones), and the same kind of targets (class labels, or as
  // many regression targets); if any has weights, samples without weigh 1.
  // Throws std::runtime_error naming the first dataset that differs (for
  // names: both lists).
  static Dataset concat(const std::vector<Dataset>& datasets);
  // (train, test): a random split, the same for the same seed. The test side
  // gets round(test_fraction x n) samples; stratified (class datasets), of
  // each class separately, so both sides keep the class proportions. Samples
  // keep their order within each side; labels, targets and weights follow.
  // Throws std::runtime_error if test_fraction is not in (0, 1) or a side
  // would be empty.
  std::pair<Dataset, Dataset> split(double test_fraction, unsigned long long seed = 42,
                                    bool stratify = true) const;

  struct Impl;
  explicit Dataset(std::shared_ptr<Impl> impl);
  const std::shared_ptr<Impl>& impl() const {
    if (!made_.ok()) detail::never_made("Dataset");
    return impl_;
  }

 private:
  std::shared_ptr<Impl> impl_;
  detail::MadeMark made_;
};

// Writes an MNIST-format IDX directory (empty: Debian's Fashion-MNIST) as a
// ROOT file with trees "train" and "test" (branches image[rows*cols]/b and
// label/I), compressed. Returns the number of entries written.
long long convert_idx_to_root(const std::string& idx_dir, const std::string& root_file);

// Whether a fit prints its progress bar on stderr when TrainOptions::progress
// is left alone: true, except in the Jupyter kernel, whose host sets it to
// false at start because the live training display shows the run there
// (options.progress = true still prints the bar). Defined in libtorchclad.
bool default_progress();
void set_default_progress(bool on);

struct TrainOptions {
  std::string engine =
      "clad";  // Mlp: clad, clad-model-node, clad-ops, autograd; Cnn: clad, clad-ops, autograd
  int epochs = 5;
  int batch = 64;
  int threads = 1;
  std::string optimizer = "adam";  // adam or sgd
  double lr = 1e-3;
  unsigned long long seed = 42;
  bool progress = default_progress();  // progress bar on stderr (default_progress above)
  // Models (torchclad/model.h) on a dataset with per-event weights: draw each
  // epoch's events with probability |w| / sum|w| instead of weighing their
  // losses (Model::fit).
  bool weighted_sampling = false;
  // Models: parameters kept fixed while the others train (fine-tuning):
  // names ("fc1.weight") or layer names ("fc1" = fc1.weight and fc1.bias).
  std::vector<std::string> frozen;
  // Checkpoints of every fit (Model::fit in memory and streamed, Mlp::fit
  // and Cnn::fit with any engine), the commands' --checkpoint FILE and
  // --resume file (one format, engine/train/checkpoint.hpp). checkpoint: a
  // path to which, after every epoch, rank 0 alone (under mpirun) writes the
  // parameters, the optimizer's state (step count and buffers), the epoch,
  // the seed (a stream's: StreamOptions::seed) and the global batch (ranks x
  // batch), to the hidden .FILE.partial, then renamed: a job killed while
  // writing keeps the previous checkpoint whole. resume: if the file exists,
  // the fit continues after its epoch up to `epochs` from its parameters and
  // optimizer state (rank 0 reads it and sends it to every rank); each
  // epoch's batch order depends only on (seed, epoch), so the fit ends with
  // the parameters of the uninterrupted one, bit for bit, and its result
  // and history hold the epochs it trained (numbered on from the
  // checkpoint's). A file that does not exist yet: the fit starts at epoch 1
  // (so one job script can run both). Throws std::runtime_error, naming
  // both sides, for a checkpoint of another model, optimizer, seed or
  // global batch, one already at `epochs`, or resume without a path. Not in
  // the file: the data, lr, frozen names and the standardisation (give the
  // resumed fit the same).
  std::string checkpoint;
  bool resume = false;
  // Per-epoch metrics files of every fit (Model::fit in memory and streamed,
  // Mlp::fit and Cnn::fit with any engine), with the field names of the
  // commands' --metrics-json and --metrics-csv: per epoch epoch, steps,
  // train_loss, test_loss, test_accuracy (-1 for regression), seconds,
  // steps_per_second, samples_per_second, then test_auc and test_rmse (-1
  // where not measured); the JSON's header also names the dataset ("in-memory"
  // or "stream"), engine, model, optimizer, lr, batch, threads, seed and the
  // run's status. Empty: no file. Rank 0 alone (under mpirun) writes them:
  // before the first epoch (the header, no epochs), which throws
  // std::runtime_error naming the option and the path if the file cannot be
  // written (e.g. its directory does not exist), and again when the fit
  // returns, with every epoch it trained (a stopped or failed run's too).
  std::string metrics_json;
  std::string metrics_csv;
};

struct TrainResult {
  std::vector<EpochResult> epochs;
  std::string status;  // "finished", "stopped" (interrupt), "failed" (non-finite loss)
  std::string message;
  double final_accuracy() const { return epochs.empty() ? 0 : epochs.back().test_accuracy; }
};

class Model;  // torchclad/model.h

// A multilayer perceptron classifier: Linear layers of the given widths
// (input, hidden..., classes; any depth) with an activation between them
// (relu, tanh, sigmoid or identity). It is a model definition like your own
// (models/mlp_of_widths.h, named "mlp-784-256-10" or "mlp-784-256-10-tanh"):
// engine "clad" trains it with Clad's gradient of the definition, as
// torchclad::Model does; clad-model-node, clad-ops and autograd train the
// same parameters for comparison.
class Mlp {
 public:
  explicit Mlp(std::vector<long long> widths, const std::string& activation = "relu");
  // Trains fresh parameters (from options.seed) on train, evaluating on test
  // after each epoch. options.engine: "clad" (Clad's gradient of the
  // definition, the default), or "autograd", "clad-ops", "clad-model-node"
  // to compare gradient engines on the same parameters and batches.
  // Features are used as they are, unless standardize was called.
  TrainResult fit(const Dataset& train, const Dataset& test, const TrainOptions& options = {});
  // Feature standardisation as Model::standardize does it (the same code):
  // a mean and a std per feature fitted on `train` (weighted by its per-event
  // weights, if any; a constant feature gets std 1); every later fit, with
  // any engine, trains on (x - mean) / std, and predict, accuracy, model()
  // and save apply it (model().feature_means()). Call it before fit; again
  // to refit. Throws std::runtime_error if the features per sample differ
  // from the first width, the dataset is empty or a shard, or the weights sum
  // to <= 0.
  void standardize(const Dataset& train);
  double accuracy(const Dataset& data) const;  // of the last fit's parameters
  // The predicted class of each sample (the largest logit); model().predict
  // gives the logits themselves.
  std::vector<long long> predict(const Dataset& data) const;
  std::string describe() const;
  // The last fit's model (include torchclad/model.h): evaluate, predict,
  // parameters, history. save writes it as Model::save does; Model::load
  // reads it back in any session.
  const Model& model() const;
  void save(const std::string& path) const;

  struct State;

 private:
  void check_made() const {
    if (!made_.ok()) detail::never_made("Mlp");
  }
  std::vector<long long> widths_;
  std::string activation_;
  std::shared_ptr<State> state_;  // the trained engine, after fit
  detail::MadeMark made_;
};

// Shows an image file (.png, .jpg, .svg) below the running notebook cell, e.g.
// a plot saved with TCanvas::SaveAs. Returns false outside a notebook (root.exe,
// commands), where there is nowhere to show it. Throws std::runtime_error if
// the file cannot be read or its type is not an image type it knows.
bool show(const std::string& image_file);

// Version strings of the parts in use.
std::string versions();

}  // namespace torchclad

#endif
