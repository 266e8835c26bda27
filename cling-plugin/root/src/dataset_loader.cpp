// torchclad/rdataframe.h's DataLoader: signal and background trees, each
// with a cut and a weight expression, read into one labelled dataset.
#include <optional>
#include <stdexcept>

#include "data/column_dataset.hpp"
#include "data/tree_dataset.hpp"
#include "dataset_impl.hpp"
#include "torchclad/rdataframe.h"

namespace torchclad {

struct DataLoader::Impl {
  struct Source {
    bool signal = true;
    std::string file, tree;                  // a file (or glob pattern) and tree, or:
    std::optional<ROOT::RDF::RNode> node;    // a node of the user's graph
    std::string cut, weight;
  };
  std::vector<std::string> features;
  std::vector<Source> sources;
};

namespace {

constexpr const char* kWeightColumn = "__torchclad_event_weight";
constexpr const char* kClassColumn = "__torchclad_class";

std::string quote(const std::string& s) { return "'" + s + "'"; }

std::string name_of(const DataLoader::Impl::Source& s, int index) {
  const std::string kind = s.signal ? "signal" : "background";
  return kind + " source " + std::to_string(index) + " (" +
         (s.node ? std::string("an RDataFrame node") : quote(s.file) + " tree " + quote(s.tree)) + ")";
}

// Glob patterns and remote files (root://, https://) are left to RDataFrame;
// local files are checked first, for errors that name the file and the tree.
bool checked_by_rdataframe(const std::string& file) {
  return file.find_first_of("*?[") != std::string::npos || file.find("://") != std::string::npos;
}

}  // namespace

DataLoader::DataLoader() : impl_(std::make_shared<Impl>()) {}

DataLoader& DataLoader::features(const std::vector<std::string>& columns) {
  impl_->features = columns;
  return *this;
}

DataLoader& DataLoader::add_signal(const std::string& file, const std::string& tree,
                                   const std::string& cut, const std::string& weight) {
  impl_->sources.push_back({true, file, tree, std::nullopt, cut, weight});
  return *this;
}

DataLoader& DataLoader::add_background(const std::string& file, const std::string& tree,
                                       const std::string& cut, const std::string& weight) {
  impl_->sources.push_back({false, file, tree, std::nullopt, cut, weight});
  return *this;
}

DataLoader& DataLoader::add_signal(ROOT::RDF::RNode df, const std::string& cut, const std::string& weight) {
  impl_->sources.push_back({true, "", "", df, cut, weight});
  return *this;
}

DataLoader& DataLoader::add_background(ROOT::RDF::RNode df, const std::string& cut,
                                       const std::string& weight) {
  impl_->sources.push_back({false, "", "", df, cut, weight});
  return *this;
}

Dataset DataLoader::build() const {
  const std::string where = "DataLoader::build";
  if (impl_->features.empty())
    throw std::runtime_error(where + ": no features; call features({\"column\", ...}) first");
  int signals = 0, backgrounds = 0;
  bool weighted = false;
  for (const auto& s : impl_->sources) {
    (s.signal ? signals : backgrounds) += 1;
    weighted = weighted || !s.weight.empty();
  }
  if (signals == 0 || backgrounds == 0)
    throw std::runtime_error(where + ": no " + std::string(signals == 0 ? "signal" : "background") +
                             " source; add one with " +
                             (signals == 0 ? "add_signal" : "add_background") +
                             "(file, tree) or (RDataFrame node), then build()");

  // Signal sources first, then background, each in the order added.
  std::vector<Dataset> parts;
  for (bool signal : {true, false}) {
    int index = 0;
    for (const auto& s : impl_->sources) {
      if (s.signal != signal) continue;
      const std::string name = where + ": " + name_of(s, index++);
      std::optional<ROOT::RDataFrame> owned;
      if (!s.node) {
        if (!checked_by_rdataframe(s.file)) rootdata::check_tree(name, s.file, s.tree);
        try {
          owned.emplace(s.tree, s.file);
        } catch (const std::exception& e) {
          throw std::runtime_error(name + ": RDataFrame cannot read it: " + e.what());
        }
      }
      ROOT::RDF::RNode node = s.node ? *s.node : ROOT::RDF::RNode(*owned);
      if (!s.cut.empty()) {
        try {
          node = node.Filter(s.cut, "torchclad cut");
        } catch (const std::exception& e) {
          throw std::runtime_error(name + ": the cut " + quote(s.cut) +
                                   " is not a valid expression of its columns: " + e.what());
        }
      }
      if (weighted) {
        // Sources without a weight expression weigh 1.
        try {
          node = node.Define(kWeightColumn,
                             "static_cast<double>(" + (s.weight.empty() ? std::string("1") : s.weight) + ")");
        } catch (const std::exception& e) {
          throw std::runtime_error(name + ": the weight expression " + quote(s.weight) +
                                   " is not one number per entry computed from its columns: " + e.what());
        }
      }
      const int label = signal ? 1 : 0;
      node = node.Define(kClassColumn, [label] { return label; });
      auto d = rootdata::read_columns(node, {impl_->features, kClassColumn, {}, weighted ? kWeightColumn : ""},
                                      name);
      parts.emplace_back(std::make_shared<Dataset::Impl>(
          Dataset::Impl{{d.features, d.labels}, {}, d.weights}));
    }
  }
  return Dataset::concat(parts);
}

}  // namespace torchclad
