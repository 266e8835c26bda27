// A trained model (torchclad/model.h) as an RDataFrame column: the physicist
// applies the classifier inside the analysis, in Filter, Histo1D, Snapshot.
// Plain C++17 like torchclad.h; implemented in libtorchclad_root.so.
//
//   auto scored = torchclad::define_model_column(df, "score", model, {"m_jj", "m_jjj", "m_lv"});
//   auto h = scored.Filter("score > 0").Histo1D("score");
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

// df with a float column `name`: per event, the model's output value number
// `output` (0 <= output < model.output_width(): a binary classifier's logit,
// a class's logit, a regression value, in the targets' units if the model
// standardises them) for the features read from `columns` in order,
// standardised if the model is (Model::standardize). The values
// are those predict() gives for the same rows. The columns are written as
// for the datasets (dataset_from_columns, DataLoader): a column holding one
// number per entry of any numeric type (Bool_t, Char_t, ..., Long64_t,
// Float_t, Double_t, Float16_t, Double32_t), an array of numbers (its values
// in order), or a range ("name[k]": value k as ROOT's v[k]; "name[:n]": the first n; 0
// where an entry has fewer), so
// the list a model was trained from applies it. The parameters are read
// when the event loop runs (a later fit changes later loops' values).
// Thread-safe under ROOT::EnableImplicitMT: each processing slot has its own
// buffers, allocated here once per slot. It also defines helper columns
// named "__torchclad_<name>_...".
// Throws std::runtime_error (prefix "define_model_column: ") when the
// columns give another number of values than the model's inputs (in the
// event loop, at the entry, for whole arrays of varying length), a column
// is missing (lists the columns) or holds no numbers (its type and the
// types expected), `output` is out of range, or `name` is empty.
ROOT::RDF::RNode define_model_column(ROOT::RDF::RNode df, const std::string& name, const Model& model,
                                     const std::vector<std::string>& columns, int output = 0);

}  // namespace torchclad

#endif
