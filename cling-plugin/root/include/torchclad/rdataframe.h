// torchclad datasets from RDataFrame. Separate from torchclad.h because
// instantiating RDataFrame's types costs cling about 0.4 s; cells that only
// read IDX files or TTrees by name skip it.
//
// Every reader runs one event loop over the node it is given and leaves the
// graph usable: later Snapshots, histograms, counts and reads on the same
// RDataFrame work (implicit MT on or off). Rows are in entry order (for a
// chain: file by file, files in name order), the same with implicit MT on or
// off. Errors are std::runtime_error naming the column, the type found and the
// type expected; nothing is returned on error.
#ifndef TORCHCLAD_RDATAFRAME_H
#define TORCHCLAD_RDATAFRAME_H
#include <ROOT/RDataFrame.hxx>

#include <memory>
#include <string>
#include <vector>

#include "torchclad/cnn.h"
#include "torchclad/torchclad.h"

namespace torchclad {

// Any RDataFrame node (after Filter, Define, Range...), in entry order; the
// columns as for Dataset::from_tree: one whole array column of images (no
// ranges: "jet_pt[:2]" is dataset_from_columns' syntax), one integer label
// column. Its feature names are the array's values, "image[0]", "image[1]", ...
// Errors are prefixed "dataset_from_rdataframe: ".
Dataset dataset_from_rdataframe(ROOT::RDF::RNode df, const std::string& image_column = "image",
                                const std::string& label_column = "label");

// A classification dataset from a list of columns, e.g. an ntuple's scalars:
//   dataset_from_columns(df, {"m_jj", "m_jjj", "m_lv"}, "label", "weight")
// features: each a column of one number per entry (any numeric type: Bool_t,
//   Char_t, UChar_t, Short_t, Int_t, Long64_t, Float_t, Double_t, their
//   unsigned kinds, ...) or of an array of numbers (fixed-size or
//   variable-size array branch, RVec, std::vector) of the same length in
//   every entry; its values, converted to float, make the row in order.
//   A range of an array column: "name[k]" its value k (from 0, as ROOT's
//   v[k]), "name[:n]" its first n values, "name[a:b]" values a to b - 1,
//   each 0 where an entry has fewer: the rule for ragged arrays (an array
//   column of varying length without a range is an error that suggests
//   "name[:n]"; a range past the end of a fixed-size array, "jet_pt[4]" on
//   jet_pt[4]/F, is an error). "jet_pt[:4]": the four leading jets' pT;
//   "jet_pt[0]": the leading jet's.
// label: an integer column (class index 0 to 2^24 - 1, or 0/1; bool works).
// weight: a column of one number per entry, stored as per-event weights
//   (Dataset::has_weights); negative weights are kept; empty: none. Models
//   (torchclad/model.h) use them in the loss, the metrics and, optionally,
//   the sampling; a trained model comes back as a column through
//   torchclad/model_column.h.
// The dataset's feature_names() are one per value, in order: "m_jj", and
// "jet_pt[0]", "jet_pt[1]" for "jet_pt[:2]" (a model records them).
// Errors (std::runtime_error, prefix "dataset_from_columns: "): no features,
// a column listed twice, a missing column (lists the columns), a column that
// is not numbers (its type and the types expected; a C-string branch, name/C),
// a range on a scalar column or past a fixed-size array's end, a column whose
// branch has another type in one file of a chain than in another (both files
// named), a float label column, an array weight, arrays of different lengths,
// a NaN or infinite value (its column and row), a label < 0 or > 2^24 - 1 (its
// entry), no entries.
Dataset dataset_from_columns(ROOT::RDF::RNode df, const std::vector<std::string>& features,
                             const std::string& label, const std::string& weight = "");

// The same with float regression targets instead of class labels: targets
// are columns (or ranges, "name[:n]") as the features, one or several; the dataset's
// targets() is their number of values. Errors as dataset_from_columns
// (prefix "regression_dataset_from_columns: "), and no target columns.
Dataset regression_dataset_from_columns(ROOT::RDF::RNode df, const std::vector<std::string>& features,
                                        const std::vector<std::string>& targets,
                                        const std::string& weight = "");

// Signal and background samples, in the spirit of TMVA's DataLoader, read
// into one labelled dataset: label 1 for signal, 0 for background.
//   torchclad::DataLoader loader;
//   loader.features({"m_jj", "m_jjj", "m_lv"})
//       .add_signal("ttH.root", "nominal", "n_jets >= 4", "weight_mc * xsec")
//       .add_background("ttbar_*.root", "nominal", "n_jets >= 4", "weight_mc * xsec");
//   auto [train, test] = loader.build().split(0.25);
class DataLoader {
 public:
  DataLoader();
  // The columns (or ranges, "name[k]", "name[:n]") of each row, as for dataset_from_columns.
  DataLoader& features(const std::vector<std::string>& columns);
  // A tree in a file, or in the files a glob pattern matches ("bkg_*.root":
  // a chain); the path may name the tree as for TChain::Add and
  // StreamDataset, add_signal("sig.root/nominal", "", cut, weight). cut: a selection expression of the tree's
  // columns, as for RDataFrame::Filter ("" keeps every entry). weight: a per-event weight expression
  // ("weight_mc * 1.2", negative values kept); if any source has one, the dataset has weights and sources
  // without one weigh 1. A column whose name is not a C++ identifier ("jet1_b-tag") is a feature by its name
  // but cannot appear in an expression: add the source as a node with an Alias (RDataFrame(tree,
  // file).Alias("jet1_b_tag", "jet1_b-tag")). Expressions using columns named var1, var2, ... read copies of
  // their columns (ROOT 6.40's jit mixes such names up).
  DataLoader& add_signal(const std::string& file, const std::string& tree, const std::string& cut = "",
                         const std::string& weight = "");
  DataLoader& add_background(const std::string& file, const std::string& tree, const std::string& cut = "",
                             const std::string& weight = "");
  // Any RDataFrame node (a TChain, friend trees, Defines, ...), same cut and weight.
  DataLoader& add_signal(ROOT::RDF::RNode df, const std::string& cut = "", const std::string& weight = "");
  DataLoader& add_background(ROOT::RDF::RNode df, const std::string& cut = "",
                             const std::string& weight = "");
  // Reads every source (one event loop each): signal rows first, then
  // background, each in the order added and in entry order; the feature
  // names are those of dataset_from_columns. Throws
  // std::runtime_error (prefix "DataLoader::build: " and the source: kind,
  // number, file and tree) for: no features, no signal or no background
  // source, a missing file or tree, a cut or weight expression that does not
  // compile (naming the names that are not columns and listing the
  // source's columns), no entry passing a cut, no tree (or a path's tree
  // other than the tree argument), and every error of
  // dataset_from_columns. For more than two classes: a dataset per sample
  // (dataset_from_columns over a node with a Define'd constant label),
  // then Dataset::concat.
  Dataset build() const;

  struct Impl;

 private:
  Impl& impl() const {
    if (!made_.ok()) detail::never_made("DataLoader");
    return *impl_;
  }
  std::shared_ptr<Impl> impl_;
  detail::MadeMark made_;
};

// Binary windows (torchclad/cnn.h) from any RDataFrame node, in entry order;
// snr_column may be empty. Errors are prefixed "binary_dataset_from_rdataframe: ".
BinaryDataset binary_dataset_from_rdataframe(ROOT::RDF::RNode df,
                                             const std::string& features_column = "strain",
                                             const std::string& label_column = "label",
                                             const std::string& snr_column = "snr");

}  // namespace torchclad

#endif
