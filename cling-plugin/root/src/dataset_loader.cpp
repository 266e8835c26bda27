// torchclad/rdataframe.h's DataLoader: signal and background trees, each
// with a cut and a weight expression, read into one labelled dataset.
#include <algorithm>
#include <cctype>
#include <optional>
#include <stdexcept>

#include "data/column_dataset.hpp"
#include "data/tree_dataset.hpp"
#include "data/tree_files.hpp"
#include "dataset_impl.hpp"
#include "text.hpp"
#include "torchclad/rdataframe.h"

namespace torchclad {

struct DataLoader::Impl {
  struct Source {
    bool signal = true;
    std::string file, tree;                // a file (or glob pattern) and tree, or:
    std::optional<ROOT::RDF::RNode> node;  // a node of the user's graph
    std::string cut, weight;
  };
  std::vector<std::string> features;
  std::vector<Source> sources;
};

namespace {

constexpr const char* kWeightColumn = "__torchclad_event_weight";
constexpr const char* kClassColumn = "__torchclad_class";

std::string name_of(const DataLoader::Impl::Source& s, int index) {
  const std::string kind = s.signal ? "signal" : "background";
  return kind + " source " + std::to_string(index) + " (" +
         (s.node ? std::string("an RDataFrame node")
                 : quote(s.file) + (s.tree.empty() ? std::string() : " tree " + quote(s.tree))) +
         ")";
}

// A source's file and tree; the file may name its tree as ROOT users write
// it for TChain::Add and StreamDataset takes it, "file.root/tree" (with
// the tree argument "" or the same tree).
std::pair<std::string, std::string> file_and_tree(const DataLoader::Impl::Source& s,
                                                  const std::string& where) {
  std::string file = s.file, tree = s.tree;
  const std::string add = s.signal ? "add_signal" : "add_background";
  if (const auto split = split_tree_path(file, where)) {
    const std::string& named = split->second;
    file = split->first;
    if (!tree.empty() && tree != named)
      throw std::runtime_error(where + ": " + quote(s.file) + " names tree " + quote(named) +
                               ", but the tree argument is " + quote(tree) + "; give the tree once: " + add +
                               "(\"file.root\", \"tree\", cut, weight) or " + add +
                               "(\"file.root/tree\", \"\", cut, weight)");
    tree = named;
  }
  if (tree.empty())
    throw std::runtime_error(where + ": no tree name given for " + quote(s.file) +
                             ": the tree is the second argument, " + add +
                             "(\"file.root\", \"tree\", cut, weight), or write the path as 'file.root/tree'");
  return {file, tree};
}

bool identifier_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// A name an expression uses as a variable, and where.
struct NameUse {
  size_t begin = 0, end = 0;
  std::string name;
};

// The names an expression uses as variables: identifiers not called (f(...)),
// not qualified (std::abs), not members (v.size()), outside string literals.
std::vector<NameUse> name_uses(const std::string& e) {
  static const std::vector<std::string> words = {
      "true", "false", "nullptr",  "and",   "or",   "not",  "static_cast", "int",    "float", "double",
      "long", "bool",  "unsigned", "short", "char", "auto", "const",       "return", "sizeof"};
  std::vector<NameUse> uses;
  for (size_t i = 0; i < e.size();) {
    const char c = e[i];
    if (c == '"' || c == '\'') {  // a literal: to its closing quote
      size_t j = i + 1;
      while (j < e.size() && e[j] != c) j += e[j] == '\\' ? 2 : 1;
      i = j + 1;
    } else if (std::isdigit(static_cast<unsigned char>(c))) {  // 1e5, 0x1f, 2.5f
      while (i < e.size() && (identifier_char(e[i]) || e[i] == '.')) ++i;
    } else if (identifier_char(c)) {
      size_t j = i;
      while (j < e.size() && identifier_char(e[j])) ++j;
      // "fr.y": a friend tree's column, one name.
      while (j + 1 < e.size() && e[j] == '.' && identifier_char(e[j + 1]) &&
             !std::isdigit(static_cast<unsigned char>(e[j + 1]))) {
        size_t k = j + 1;
        while (k < e.size() && identifier_char(e[k])) ++k;
        j = k;
      }
      const std::string name = e.substr(i, j - i);
      size_t next = j;
      while (next < e.size() && std::isspace(static_cast<unsigned char>(e[next]))) ++next;
      const bool called = next < e.size() && e[next] == '(';
      const bool qualified = (next + 1 < e.size() && e[next] == ':' && e[next + 1] == ':') ||
                             (i >= 2 && e[i - 1] == ':' && e[i - 2] == ':');
      const bool member = i >= 1 && (e[i - 1] == '.' || (i >= 2 && e[i - 1] == '>' && e[i - 2] == '-'));
      if (!called && !qualified && !member && std::find(words.begin(), words.end(), name) == words.end())
        uses.push_back({i, j, name});
      i = j;
    } else {
      ++i;
    }
  }
  return uses;
}

std::vector<std::string> expression_names(const std::string& e) {
  std::vector<std::string> names;
  for (const auto& u : name_uses(e))
    if (std::find(names.begin(), names.end(), u.name) == names.end()) names.push_back(u.name);
  return names;
}

bool var_like(const std::string& c) {
  return c.size() > 3 && c.compare(0, 3, "var") == 0 && std::all_of(c.begin() + 3, c.end(), [](char ch) {
           return std::isdigit(static_cast<unsigned char>(ch));
         });
}

// ROOT 6.40 jits an expression by renaming its columns var0, var1, ... one
// after the other, so a column itself named var<k> can be renamed into
// another: the cut "var1 > 0 && var2 > 0 && var3 > 0" on TMVA's example
// TreeS kept 2776 entries instead of 2214. When an expression uses such a
// column, it reads copies of its columns instead, each a Define of one
// column (which cannot be renamed into another), under names of their own.
std::string with_safe_names(ROOT::RDF::RNode& node, const std::string& expression) {
  std::vector<std::string> columns;
  try {
    columns = node.GetColumnNames();
  } catch (const std::exception&) {
    return expression;
  }
  auto is_column = [&](const std::string& n) {
    return std::find(columns.begin(), columns.end(), n) != columns.end();
  };
  const auto uses = name_uses(expression);
  if (std::none_of(uses.begin(), uses.end(),
                   [&](const NameUse& u) { return is_column(u.name) && var_like(u.name); }))
    return expression;
  std::string out = expression;
  for (auto u = uses.rbegin(); u != uses.rend(); ++u) {
    if (!is_column(u->name)) continue;
    std::string copy = "__torchclad_copy_" + u->name;
    std::replace(copy.begin(), copy.end(), '.', '_');
    if (!node.HasColumn(copy)) node = node.Define(copy, u->name);
    out.replace(u->begin, u->end - u->begin, copy);
  }
  return out;
}

// Why a cut or weight expression did not compile, in terms of the source's
// columns: RDataFrame's own message only points at the compiler's output
// on stderr. Names that are not columns (the usual cause: a column another
// tree has, a typo) are listed with the columns; a column whose name is not
// a C++ identifier ("jet1_b-tag", read as jet1_b - tag) is named with the
// way to use it: an Alias.
std::string expression_error(ROOT::RDF::RNode& node, const std::string& expression, const std::string& what) {
  std::vector<std::string> columns;
  try {
    for (const auto& c : node.GetColumnNames())
      if (c.rfind('#', 0) != 0 && c.rfind("__torchclad", 0) != 0) columns.push_back(c);
  } catch (const std::exception&) {
    return what;
  }
  std::string unknown, list, odd;
  for (const auto& n : expression_names(expression))
    if (std::find(columns.begin(), columns.end(), n) == columns.end())
      unknown += (unknown.empty() ? "'" : ", '") + n + "'";
  for (const auto& c : columns) {
    list += (list.empty() ? "" : ", ") + c;
    const bool plain =
        !c.empty() && !std::isdigit(static_cast<unsigned char>(c[0])) &&
        std::all_of(c.begin(), c.end(), [](char ch) { return identifier_char(ch) || ch == '.'; });
    if (!plain && odd.empty()) odd = c;
  }
  std::string out = unknown.empty() ? "it does not compile" : "not a column: " + unknown;
  out += "; the columns are: " + list;
  if (!odd.empty()) {
    std::string alias = odd;
    for (auto& ch : alias)
      if (!identifier_char(ch)) ch = '_';
    if (!alias.empty() && std::isdigit(static_cast<unsigned char>(alias[0]))) alias = "_" + alias;
    out += "; a column whose name is not a C++ identifier, such as " + quote(odd) +
           ", cannot be named in an expression: give it a name with RDataFrame's Alias and add the "
           "source as a node, e.g. add_signal(ROOT::RDataFrame(tree, file).Alias(\"" +
           alias + "\", \"" + odd + "\"), cut, weight)";
  }
  // RDataFrame's message for a compilation error says no more than "see above".
  if (what.find("just-in-time compilation") == std::string::npos) out += " (" + what + ")";
  return out;
}

}  // namespace

DataLoader::DataLoader() : impl_(std::make_shared<Impl>()) {}

DataLoader& DataLoader::features(const std::vector<std::string>& columns) {
  impl().features = columns;
  return *this;
}

DataLoader& DataLoader::add_signal(const std::string& file, const std::string& tree, const std::string& cut,
                                   const std::string& weight) {
  impl().sources.push_back({true, file, tree, std::nullopt, cut, weight});
  return *this;
}

DataLoader& DataLoader::add_background(const std::string& file, const std::string& tree,
                                       const std::string& cut, const std::string& weight) {
  impl().sources.push_back({false, file, tree, std::nullopt, cut, weight});
  return *this;
}

DataLoader& DataLoader::add_signal(ROOT::RDF::RNode df, const std::string& cut, const std::string& weight) {
  impl().sources.push_back({true, "", "", df, cut, weight});
  return *this;
}

DataLoader& DataLoader::add_background(ROOT::RDF::RNode df, const std::string& cut,
                                       const std::string& weight) {
  impl().sources.push_back({false, "", "", df, cut, weight});
  return *this;
}

Dataset DataLoader::build() const {
  const std::string where = "DataLoader::build";
  if (impl().features.empty())
    throw std::runtime_error(where + ": no features; call features({\"column\", ...}) first");
  int signals = 0, backgrounds = 0;
  bool weighted = false;
  for (const auto& s : impl().sources) {
    (s.signal ? signals : backgrounds) += 1;
    weighted = weighted || !s.weight.empty();
  }
  if (signals == 0 || backgrounds == 0)
    throw std::runtime_error(where + ": no " + std::string(signals == 0 ? "signal" : "background") +
                             " source; add one with " + (signals == 0 ? "add_signal" : "add_background") +
                             "(file, tree) or (RDataFrame node), then build()");

  // Signal sources first, then background, each in the order added.
  std::vector<Dataset> parts;
  for (bool signal : {true, false}) {
    int index = 0;
    for (const auto& s : impl().sources) {
      if (s.signal != signal) continue;
      const std::string name = where + ": " + name_of(s, index++);
      std::optional<ROOT::RDataFrame> owned;
      if (!s.node) {
        // Each file a pattern matches checked too: one without the tree is
        // named here, not blamed on columns by RDataFrame.
        const auto [file, tree] = file_and_tree(s, name);
        const auto files = rootdata::tree_files(name, {file}, tree);
        try {
          owned.emplace(tree, files);
        } catch (const std::exception& e) {
          throw std::runtime_error(name + ": RDataFrame cannot read it: " + e.what());
        }
      }
      ROOT::RDF::RNode node = s.node ? *s.node : ROOT::RDF::RNode(*owned);
      if (!s.cut.empty()) {
        try {
          const std::string cut = with_safe_names(node, s.cut);  // may add Defines to node
          node = node.Filter(cut, "torchclad cut");
        } catch (const std::exception& e) {
          throw std::runtime_error(
              name + ": the cut " + quote(s.cut) +
              " is not a valid expression of its columns: " + expression_error(node, s.cut, e.what()));
        }
      }
      if (weighted) {
        // Sources without a weight expression weigh 1.
        try {
          const std::string weight = s.weight.empty() ? std::string("1") : with_safe_names(node, s.weight);
          node = node.Define(kWeightColumn, "static_cast<double>(" + weight + ")");
        } catch (const std::exception& e) {
          throw std::runtime_error(name + ": the weight expression " + quote(s.weight) +
                                   " is not one number per entry computed from its columns: " +
                                   expression_error(node, s.weight, e.what()));
        }
      }
      const int label = signal ? 1 : 0;
      node = node.Define(kClassColumn, [label] { return label; });
      auto d = rootdata::read_columns(
          node, {impl().features, kClassColumn, {}, weighted ? kWeightColumn : ""}, name);
      auto impl = std::make_shared<Dataset::Impl>(Dataset::Impl{{d.features, d.labels}, {}, d.weights});
      impl->feature_names = d.feature_names;
      parts.emplace_back(impl);
    }
  }
  return Dataset::concat(parts);
}

}  // namespace torchclad
