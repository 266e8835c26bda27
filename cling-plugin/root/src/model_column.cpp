// torchclad/model_column.h: a model evaluated per event as an RDataFrame
// column. Each feature column is converted to float by a Define typed for its
// column type, then a chain of per-slot Defines writes the features of the
// event into the slot's own input buffer; the last link runs the model's
// forward pass on that slot's activation buffer (no buffer is shared between
// threads; they are allocated once per slot, when the column is defined).
#include "torchclad/model_column.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "define/definition.hpp"
#include "model_state.hpp"

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

  float operator()(unsigned slot, float last_feature) const {
    auto& b = (*slots)[slot];
    b.x.back() = last_feature;
    if (!*def->alive)
      throw std::runtime_error(kWhere + "the definition of model '" + def->name +
                               "' was replaced or unloaded; make the column again from a new model");
    if (state->mean.defined()) {
      const float* m = state->mean.data_ptr<float>();
      const float* s = state->scale.data_ptr<float>();
      for (size_t i = 0; i < b.x.size(); ++i) b.x[i] = (b.x[i] - m[i]) / s[i];
    }
    // The loss of one sample against zero targets (valid for every kind):
    // its forward pass fills the activations, the output among them.
    def->loss_f(def->instance.get(), state->model->params().data_ptr<float>(), b.acts.data(), b.x.data(),
                b.y.data(), 1);
    return b.acts[def->output_offset + output];
  }
};

// Link k of the chain: the event's feature k into the slot's buffer.
struct Store {
  std::shared_ptr<std::vector<SlotBuffers>> slots;
  int k = 0;
  int operator()(unsigned slot, float v) const {
    (*slots)[slot].x[k] = v;
    return k;
  }
  int operator()(unsigned slot, int /*previous link*/, float v) const { return (*this)(slot, v); }
};

template <typename T>
ROOT::RDF::RNode as_float(ROOT::RDF::RNode df, const std::string& out, const std::string& column) {
  return df.Define(out, [](T v) { return static_cast<float>(v); }, {column});
}

bool any_of(const std::string& t, std::initializer_list<const char*> names) {
  return std::find(names.begin(), names.end(), t) != names.end();
}

ROOT::RDF::RNode float_column(ROOT::RDF::RNode df, const std::string& out, const std::string& column,
                              const std::string& t) {
  if (any_of(t, {"Float_t", "float", "Float16_t"})) return as_float<float>(df, out, column);
  if (any_of(t, {"Double_t", "double", "Double32_t"})) return as_float<double>(df, out, column);
  if (any_of(t, {"Bool_t", "bool"})) return as_float<bool>(df, out, column);
  if (any_of(t, {"Char_t", "char"})) return as_float<char>(df, out, column);
  if (any_of(t, {"signed char", "int8_t", "std::int8_t"})) return as_float<signed char>(df, out, column);
  if (any_of(t, {"UChar_t", "unsigned char", "uint8_t", "std::uint8_t"}))
    return as_float<unsigned char>(df, out, column);
  if (any_of(t, {"Short_t", "short", "int16_t", "std::int16_t"})) return as_float<short>(df, out, column);
  if (any_of(t, {"UShort_t", "unsigned short", "uint16_t", "std::uint16_t"}))
    return as_float<unsigned short>(df, out, column);
  if (any_of(t, {"Int_t", "int", "int32_t", "std::int32_t"})) return as_float<int>(df, out, column);
  if (any_of(t, {"UInt_t", "unsigned int", "uint32_t", "std::uint32_t"}))
    return as_float<unsigned int>(df, out, column);
  if (any_of(t, {"Long_t", "long", "int64_t", "std::int64_t"})) return as_float<long>(df, out, column);
  if (any_of(t, {"ULong_t", "unsigned long", "uint64_t", "std::uint64_t", "size_t", "std::size_t"}))
    return as_float<unsigned long>(df, out, column);
  if (any_of(t, {"Long64_t", "long long"})) return as_float<long long>(df, out, column);
  if (any_of(t, {"ULong64_t", "unsigned long long"})) return as_float<unsigned long long>(df, out, column);
  throw std::runtime_error(kWhere + "column '" + column + "' holds " + t +
                           "; expected one number per entry (Bool_t, Char_t, UChar_t, Short_t, "
                           "UShort_t, Int_t, UInt_t, Long_t, ULong_t, Long64_t, ULong64_t, Float_t, "
                           "Double_t, Float16_t, Double32_t)");
}

std::string join(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

}  // namespace

ROOT::RDF::RNode define_model_column(ROOT::RDF::RNode df, const std::string& name, const Model& model,
                                     const std::vector<std::string>& columns, int output) {
  const auto& state = model.state();
  const auto def = state->model->definition_ptr();
  if (name.empty()) throw std::runtime_error(kWhere + "the new column needs a name");
  if (static_cast<int>(columns.size()) != def->inputs)
    throw std::runtime_error(kWhere + "model '" + def->name + "' takes " + std::to_string(def->inputs) +
                             " features per event, " + std::to_string(columns.size()) + " columns given (" +
                             join(columns) + ")");
  if (output < 0 || output >= def->output_width)
    throw std::runtime_error(kWhere + "output " + std::to_string(output) + " is not one of model '" +
                             def->name + "''s " + std::to_string(def->output_width) + " outputs");
  const auto known = df.GetColumnNames();
  for (const auto& c : columns)
    if (std::find(known.begin(), known.end(), c) == known.end())
      throw std::runtime_error(kWhere + "no column '" + c + "'; the columns are: " + join(known));

  auto slots = std::make_shared<std::vector<SlotBuffers>>(df.GetNSlots());
  for (auto& b : *slots) {
    b.x.assign(def->inputs, 0.f);
    b.acts.assign(def->acts_per_sample, 0.f);
    b.y.assign(def->target_width, 0.f);
  }
  ROOT::RDF::RNode node = df;
  const std::string prefix = name + "_torchclad_in";
  for (size_t k = 0; k < columns.size(); ++k)
    node = float_column(node, prefix + std::to_string(k) + "f", columns[k], df.GetColumnType(columns[k]));
  // The chain: link k stores feature k after link k - 1 has stored its own.
  const size_t last = columns.size() - 1;
  for (size_t k = 0; k < last; ++k) {
    const Store store{slots, static_cast<int>(k)};
    const std::string link = prefix + std::to_string(k);
    if (k == 0)
      node =
          node.DefineSlot(link, [store](unsigned slot, float v) { return store(slot, v); }, {prefix + "0f"});
    else
      node = node.DefineSlot(link, [store](unsigned slot, int prev, float v) { return store(slot, prev, v); },
                             {prefix + std::to_string(k - 1), prefix + std::to_string(k) + "f"});
  }
  const Evaluator evaluate{state, def, slots, output};
  if (last == 0)
    return node.DefineSlot(name, [evaluate](unsigned slot, float v) { return evaluate(slot, v); },
                           {prefix + "0f"});
  return node.DefineSlot(name, [evaluate](unsigned slot, int, float v) { return evaluate(slot, v); },
                         {prefix + std::to_string(last - 1), prefix + std::to_string(last) + "f"});
}

}  // namespace torchclad
