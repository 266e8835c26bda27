// torchclad/rdataframe.h: datasets from lists of columns (ntuples).
#include "data/column_dataset.hpp"
#include "dataset_impl.hpp"
#include "torchclad/rdataframe.h"

namespace torchclad {

Dataset dataset_from_columns(ROOT::RDF::RNode df, const std::vector<std::string>& features,
                             const std::string& label, const std::string& weight) {
  const std::string where = "dataset_from_columns";
  if (label.empty())
    throw std::runtime_error(where +
                             ": no label column given; expected an integer column (class "
                             "index, or 0/1); for float targets use regression_dataset_from_columns");
  auto d = rootdata::read_columns(df, {features, label, {}, weight}, where);
  auto impl = std::make_shared<Dataset::Impl>(Dataset::Impl{{d.features, d.labels}, {}, d.weights});
  impl->feature_names = d.feature_names;
  return Dataset(impl);
}

Dataset regression_dataset_from_columns(ROOT::RDF::RNode df, const std::vector<std::string>& features,
                                        const std::vector<std::string>& targets, const std::string& weight) {
  const std::string where = "regression_dataset_from_columns";
  if (targets.empty()) throw std::runtime_error(where + ": no target columns given; expected at least one");
  auto d = rootdata::read_columns(df, {features, "", targets, weight}, where);
  auto impl = std::make_shared<Dataset::Impl>(Dataset::Impl{{d.features, d.labels}, d.targets, d.weights});
  impl->feature_names = d.feature_names;
  return Dataset(impl);
}

}  // namespace torchclad
