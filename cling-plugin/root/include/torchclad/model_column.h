// A trained model (torchclad/model.h) as an RDataFrame column: the physicist
// applies the classifier inside the analysis, in Filter, Histo1D, Snapshot.
// Plain C++17 like torchclad.h; implemented in libtorchclad_root.so.
//
//   auto scored = torchclad::define_model_column(df, "score", model, {"m_jj", "m_jjj", "m_lv"});
//   auto h = scored.Filter("score > 0").Histo1D("score");   // the events the model calls signal
//
// (RDataFrame's own Define needs a callable whose argument types match the
// columns' types exactly; this does that dispatch for any numeric columns.)
#ifndef TORCHCLAD_MODEL_COLUMN_H
#define TORCHCLAD_MODEL_COLUMN_H
#include <ROOT/RDataFrame.hxx>

#include <string>
#include <vector>

#include "torchclad/model.h"

namespace torchclad {

// define_model_column's default output: the score roc() and
// evaluate().auc rank events by. For a two-class classifier (every built-in
// Mlp "mlp-...-2", a classes(2) model) log(p1/p0) = output 1 - output 0,
// > 0 where the model finds class 1 (signal) more likely than class 0
// (background); for a binary classifier its logit (output 0); for a model
// of one output (a regression) that output.
inline constexpr int kScore = -1;

// df with a float column `name`: per event, the model's score (output =
// kScore, the default, above) or its output value number `output` (0 <=
// output < model.output_width(): a binary classifier's logit, a class's
// logit (output 0 of a two-class model is the background's), a regression
// value, in the targets' units if the model standardises them) for the
// features read from `columns` in order, standardised if the model is
// (Model::standardize). The values are those predict() gives for the same
// rows (kScore: the difference of a two-class model's two). For a
// probability in [0, 1]: Define("p", "1 / (1 + exp(-score))").
// The columns are written as for the datasets (dataset_from_columns,
// DataLoader): a column holding one number per entry of any numeric type
// (Bool_t, Char_t, ..., Long64_t, Float_t, Double_t, Float16_t, Double32_t),
// an array of numbers (its values in order), or a range ("name[k]": value k
// as ROOT's v[k]; "name[:n]": the first n; 0 where an entry has fewer), so
// the list a model was trained from applies it. If the model knows its
// feature names (Model::feature_names: it was standardised or fitted on a
// dataset read from columns, or loaded from a file that has them), the
// columns must give those names in that order (a swapped pair is an error
// listing both lists); an empty list (the default) reads the model's own
// columns. The parameters are read
// when the event loop runs (a later fit changes later loops' values).
// Thread-safe under ROOT::EnableImplicitMT: each processing slot has its own
// buffers, allocated here once per slot. It also defines helper columns
// named "__torchclad_<name>_...".
// Throws std::runtime_error (prefix "define_model_column: ") when the
// columns give other features than the model's names, or another number of
// values than the model's inputs (in the event loop, at the entry, for whole
// arrays of varying length), a column is missing (lists the columns) or
// holds no numbers (its type and the types expected), no columns are given
// and the model does not know its own, `output` is out of range or kScore
// for a model of several outputs that is not a two-class classifier, or
// `name` is empty.
ROOT::RDF::RNode define_model_column(ROOT::RDF::RNode df, const std::string& name, const Model& model,
                                     const std::vector<std::string>& columns = {}, int output = kScore);

}  // namespace torchclad

#endif
