// torchclad for ROOT: a 1D convolutional signal classifier (the
// gravitational-wave workload), for macros and notebook cells. Plain C++17
// like torchclad.h; implemented in libtorchclad_root.so.
//
//   auto train = torchclad::BinaryDataset::from_tree("gw.root", "train");
//   auto test  = torchclad::BinaryDataset::from_tree("gw.root", "test");
//   torchclad::Cnn cnn(train.length());
//   cnn.fit(train, test);                       // Clad backward passes
//   auto d = cnn.evaluate(test, 0.01, "gw-results/clad");  // ROC, efficiency: ROOT file + PNGs
#ifndef TORCHCLAD_CNN_H
#define TORCHCLAD_CNN_H

#include <memory>
#include <string>
#include <vector>

#include "torchclad/torchclad.h"

namespace torchclad {

// Windows with a 0/1 label (1: signal) and each window's SNR (0 for noise),
// read once into memory.
class BinaryDataset {
 public:
  // Entries [first, first + count) (count < 0: to the end) of a TTree whose
  // features column is a fixed-length float array per entry (torchclad-gwsim
  // writes strain[N]/F, label/I, snr/F). snr_column may be empty.
  static BinaryDataset from_tree(const std::string& file, const std::string& tree,
                                 const std::string& features_column = "strain",
                                 const std::string& label_column = "label",
                                 const std::string& snr_column = "snr", long long first = 0,
                                 long long count = -1);
  // From any RDataFrame node: torchclad/rdataframe.h.
  long long size() const;
  int length() const;         // values per window
  long long signals() const;  // windows labelled 1

  struct Impl;
  explicit BinaryDataset(std::shared_ptr<Impl> impl);
  const std::shared_ptr<Impl>& impl() const {
    if (!made_.ok()) detail::never_made("BinaryDataset");
    return impl_;
  }

 private:
  std::shared_ptr<Impl> impl_;
  detail::MadeMark made_;
};

struct ConvBlock {
  int channels = 8;  // Conv1d output channels
  int kernel = 16;   // Conv1d kernel size (stride 1, no padding)
  int pool = 4;      // MaxPool1d kernel and stride
};

// What a detector achieves on a test set (metrics/detection.hpp).
struct DetectionResult {
  double accuracy = 0;      // at probability 1/2
  double auc = 0;           // ROC AUC, all signals vs noise
  double auc_snr_ge_8 = 0;  // signals with SNR >= 8 vs noise
  double false_alarm = 0.01;
  double threshold = 0;         // logit giving that false-alarm probability on the noise windows
  double efficiency_snr10 = 0;  // detected fraction of signals with SNR in [9.5, 10.5)
  long long signals_snr10 = 0;
  std::vector<double> snr_bins, efficiency;  // bin centres and efficiencies (non-empty bins)
  std::string summary;                       // one line
  std::vector<std::string> files;            // the report's ROOT file and PNGs, if written
};

// Any detector's scores (one logit per window: Cnn::scores, or
// Model::predict of a binary model, e.g. an imported one) on windows with
// an SNR column: the threshold for `false_alarm` on the noise windows, the
// efficiency per unit of SNR, ROC AUC. With a report_prefix, also writes
// <prefix>.root (ROC, efficiency, score histograms) and <prefix>_*.png,
// titled `title`.
DetectionResult detect(const std::vector<float>& scores, const BinaryDataset& test, double false_alarm = 0.01,
                       const std::string& report_prefix = "", const std::string& title = "");

// Conv1d -> ReLU -> MaxPool1d blocks, then Linear -> ReLU -> Linear to one
// logit, binary cross-entropy. It is a model definition like your own
// (models/cnn_of_blocks.h, named "cnn-2048-c8k16p4-c16k8p4-c32k8p4-h64"):
// engine "clad" trains it with Clad's gradient of the definition, as
// torchclad::Model does; clad-ops and autograd train the same parameters.
class Cnn {
 public:
  explicit Cnn(int input_length = 2048, std::vector<ConvBlock> blocks = {{8, 16, 4}, {16, 8, 4}, {32, 8, 4}},
               int hidden = 64);
  TrainResult fit(const BinaryDataset& train, const BinaryDataset& test, const TrainOptions& options = {});
  // Logits per window of the last fit's model.
  std::vector<float> scores(const BinaryDataset& data) const;
  // Needs the data's SNR column. With a report_prefix, also writes
  // <prefix>.root (ROC, efficiency, score histograms) and <prefix>_*.png.
  DetectionResult evaluate(const BinaryDataset& test, double false_alarm = 0.01,
                           const std::string& report_prefix = "") const;
  std::string describe() const;
  // The last fit's model (include torchclad/model.h); save writes it as
  // Model::save does, and Model::load reads it back in any session.
  const Model& model() const;
  void save(const std::string& path) const;

  struct State;

 private:
  void check_made() const {
    if (!made_.ok()) detail::never_made("Cnn");
  }
  int input_length_;
  std::vector<ConvBlock> blocks_;
  int hidden_;
  std::string engine_;
  std::shared_ptr<State> state_;
  detail::MadeMark made_;
};

}  // namespace torchclad

#endif
