// torchclad/model_column.h: a model evaluated per event as an RDataFrame
// column. The features are one RVecF per entry, made from the columns as a
// dataset reads them (data/feature_row.hpp: scalars, arrays, "name[:n]"); a
// per-slot Define copies them into the slot's own input buffer and runs the
// model's forward pass on that slot's activation buffer (no buffer is shared
// between threads; they are allocated once per slot, when the column is
// defined).
#include "torchclad/model_column.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "data/column_spec.hpp"
#include "data/feature_row.hpp"
#include "define/definition.hpp"
#include "feature_names.hpp"
#include "model_state.hpp"
#include "text.hpp"

namespace torchclad {
namespace {

const std::string kWhere = "define_model_column: ";

// One slot's buffers: the event's features, the activations, dummy targets.
struct SlotBuffers {
  std::vector<float> x, acts, y;
};

struct Evaluator {
  std::shared_ptr<Model::State> state;
  std::shared_ptr<const define::Definition> def;
  std::shared_ptr<std::vector<SlotBuffers>> slots;
  int output = 0;
  bool difference = false;  // log(p1/p0) of a two-class classifier: output 1 - output 0
  std::string columns;      // for the error of a row of another width

  float operator()(unsigned slot, ULong64_t entry, const ROOT::RVecF& row) const {
    auto& b = (*slots)[slot];
    if (row.size() != b.x.size())  // only whole arrays of varying length get here
      throw std::runtime_error(kWhere + "the columns (" + columns + ") give " + std::to_string(row.size()) +
                               " values at entry " + std::to_string(entry) + ", model '" + def->name +
                               "' takes " + std::to_string(b.x.size()) +
                               "; for an array whose length varies write 'name[:n]' (its first n values, "
                               "padded with 0), as for the dataset the model was trained on");
    if (!*def->alive)
      throw std::runtime_error(kWhere + "the definition of model '" + def->name +
                               "' was replaced or unloaded; make the column again from a new model");
    std::copy(row.begin(), row.end(), b.x.begin());
    if (state->mean.defined()) {
      const float* m = state->mean.data_ptr<float>();
      const float* s = state->scale.data_ptr<float>();
      for (size_t i = 0; i < b.x.size(); ++i) b.x[i] = (b.x[i] - m[i]) / s[i];
    }
    // The loss of one sample against zero targets (valid for every kind):
    // its forward pass fills the activations, the output among them.
    def->loss_f(def->instance.get(), state->model->params().data_ptr<float>(), b.acts.data(), b.x.data(),
                b.y.data(), 1);
    // The difference as train::binary_scores takes it (float32, the same
    // rounding): the score roc() and evaluate().auc rank events by.
    const float out = difference ? b.acts[def->output_offset + 1] - b.acts[def->output_offset]
                                 : b.acts[def->output_offset + output];
    // A regression model trained on standardised targets: in the targets' units, as predict gives it.
    if (state->target_mean.defined())
      return out * state->target_scale.data_ptr<float>()[output] +
             state->target_mean.data_ptr<float>()[output];
    return out;
  }
};

// The names the columns give, as the readers name the values
// ("jet_pt[2]"); a whole array, whose length only the event loop tells,
// takes the run "name[0]", "name[1]", ... that the model's names have at its
// place (or stands as written, to show where the lists part).
std::vector<std::string> given_feature_names(const std::vector<rootdata::ColumnPart>& parts,
                                             const std::vector<std::string>& expected) {
  std::vector<std::string> out;
  for (const auto& p : parts) {
    if (!p.array) {
      out.push_back(p.column);
    } else if (!p.unsized()) {
      for (long long k = 0; k < p.take; ++k) out.push_back(array_value_name(p.column, p.first + k));
    } else {
      long long k = 0;
      while (out.size() < expected.size() && expected[out.size()] == array_value_name(p.column, k)) {
        out.push_back(expected[out.size()]);
        ++k;
      }
      if (k == 0) out.push_back(p.spec);
    }
  }
  return out;
}

}  // namespace

ROOT::RDF::RNode define_model_column(ROOT::RDF::RNode df, const std::string& name, const Model& model,
                                     const std::vector<std::string>& given_columns, int output) {
  const auto& state = model.state();
  const auto def = state->model->definition_ptr();
  if (name.empty()) throw std::runtime_error(kWhere + "the new column needs a name");
  // The default: the score roc() uses.
  bool difference = false;
  if (output == kScore) {
    if (def->targets == define::Targets::kClassIndex && def->classes == 2) {
      difference = true;
      output = 1;
    } else if (def->output_width == 1) {
      output = 0;
    } else {
      throw std::runtime_error(kWhere + "model '" + def->name + "' has " + std::to_string(def->output_width) +
                               " outputs; the default, torchclad::kScore (the score roc() uses), is for "
                               "binary and two-class classifiers and models of one output: pass the "
                               "output you want, 0 to " +
                               std::to_string(def->output_width - 1));
    }
  }
  if (output < 0 || output >= def->output_width)
    throw std::runtime_error(kWhere + "output " + std::to_string(output) + " is not one of model '" +
                             def->name + "''s " + std::to_string(def->output_width) + " outputs");
  // No columns: the model's own, in its order.
  const auto& names = state->feature_names;
  if (given_columns.empty() && names.empty())
    throw std::runtime_error(kWhere + "no columns given, and model '" + def->name +
                             "' does not know the names of its features (it was not standardised or fitted "
                             "on a dataset read from columns, or its file was saved without them): list "
                             "the columns");
  const std::vector<std::string> columns = given_columns.empty() ? feature_columns(names) : given_columns;
  const std::string where = kWhere.substr(0, kWhere.size() - 2);  // resolve_columns adds ": "
  auto resolved = rootdata::resolve_columns(df, {columns, "", {}, ""}, where);
  check_model_features(*state, given_feature_names(resolved.parts, names), where, "the column list");
  // The width, when no whole array of unknown length is among the columns.
  long long width = 0;
  bool known = true, scalars = true;
  for (const auto& p : resolved.parts) {
    known = known && !p.unsized();
    scalars = scalars && !p.array;
    width += p.array ? p.take : 1;
  }
  if (known && width != def->inputs)
    throw std::runtime_error(kWhere + "model '" + def->name + "' takes " + std::to_string(def->inputs) +
                             " features per event, " +
                             (scalars ? std::to_string(columns.size()) + " columns given ("
                                      : "the columns give " + std::to_string(width) + " values (") +
                             join(columns) + ")");

  auto slots = std::make_shared<std::vector<SlotBuffers>>(df.GetNSlots());
  for (auto& b : *slots) {
    b.x.assign(def->inputs, 0.f);
    b.acts.assign(def->acts_per_sample, 0.f);
    b.y.assign(def->target_width, 0.f);
  }
  // The helper columns' names start with the new column's (as an identifier),
  // so several model columns can be defined on one graph.
  std::string prefix = "__torchclad_" + name + "_";
  std::replace_if(
      prefix.begin(), prefix.end(), [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); }, '_');
  std::vector<rootdata::ColumnPart*> parts;
  for (auto& p : resolved.parts) parts.push_back(&p);
  const std::string row = prefix + "features";
  ROOT::RDF::RNode node = df;
  try {
    node = rootdata::define_row(df, parts, row, prefix, false);
  } catch (const std::exception& e) {
    throw std::runtime_error(kWhere + "cannot combine the columns into the model's input: " + e.what());
  }
  const Evaluator evaluate{state, def, slots, output, difference, join(columns)};
  return node.DefineSlotEntry(
      name,
      [evaluate](unsigned slot, ULong64_t entry, const ROOT::RVecF& x) { return evaluate(slot, entry, x); },
      {row});
}

}  // namespace torchclad
