#include "data/branch_check.hpp"

#include <ROOT/RTTreeDS.hxx>
#include <TBranchElement.h>
#include <TChain.h>
#include <TChainElement.h>
#include <TDirectory.h>
#include <TFile.h>
#include <TFriendElement.h>
#include <TLeaf.h>
#include <TLeafC.h>
#include <TTree.h>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <vector>

#include "src/text.hpp"

namespace torchclad::rootdata {
namespace {

// RInterfaceBase::GetDataSource is protected; a member pointer taken in a
// derived class reaches it (RDataFrame has no public way to its TTree).
struct DataSourceOf : ROOT::RDF::RNode {
  static ROOT::RDF::RDataSource* get(const ROOT::RDF::RNode& n) {
    return (n.*(&DataSourceOf::GetDataSource))();
  }
};

// One column's branch in one file.
struct Leaf {
  std::string file;
  std::string type;      // "Float_t", "vector<float>"
  std::string shape;     // "", "[4]", "[ntrk]"
  long long fixed = -1;  // a fixed-size array's length
  bool cstring = false;
  bool array = false;
  std::string shown() const { return type + shape; }
  bool same_type(const Leaf& o) const { return type == o.type && array == o.array && cstring == o.cstring; }
};

std::optional<Leaf> leaf_of(TTree& t, const std::string& column, const std::string& file) {
  TLeaf* leaf = t.GetLeaf(column.c_str());
  if (!leaf) return std::nullopt;
  Leaf l{file, leaf->GetTypeName()};
  l.cstring = dynamic_cast<TLeafC*>(leaf) != nullptr;
  if (auto* be = dynamic_cast<TBranchElement*>(leaf->GetBranch())) {
    if (be->GetClassName() && *be->GetClassName()) l.type = be->GetClassName();
    return l;
  }
  if (TLeaf* count = leaf->GetLeafCount()) {
    l.array = true;
    l.shape = "[" + std::string(count->GetName()) + "]";
  } else if (leaf->GetLenStatic() > 1 || std::string(leaf->GetTitle()).find('[') != std::string::npos) {
    l.array = true;
    l.fixed = leaf->GetLenStatic();
    l.shape = "[" + std::to_string(l.fixed) + "]";
  }
  if (l.cstring) l.shape = " (C string, /C)";
  return l;
}

// f(tree, file) for each local file of t: each file of a chain, opened here.
template <typename F>
void each_file(TTree* t, const F& f) {
  auto* chain = dynamic_cast<TChain*>(t);
  if (!chain) {
    f(*t, t->GetCurrentFile() ? std::string(t->GetCurrentFile()->GetName()) : std::string(t->GetName()));
    return;
  }
  for (TObject* o : *chain->GetListOfFiles()) {
    auto* element = static_cast<TChainElement*>(o);
    const std::string file = element->GetTitle();
    if (file.find("://") != std::string::npos) continue;  // remote: left to ROOT
    TDirectory::TContext keep_current_directory;
    std::unique_ptr<TFile> tf(TFile::Open(file.c_str(), "READ"));
    if (!tf || tf->IsZombie()) continue;  // the reader reports it
    if (auto* ft = tf->Get<TTree>(element->GetName())) f(*ft, file);
  }
}

}  // namespace

void check_branches(ROOT::RDF::RNode df, const ResolvedColumns& columns, const std::string& label,
                    const std::string& where) {
  auto* ds = dynamic_cast<ROOT::Internal::RDF::RTTreeDS*>(DataSourceOf::get(df));
  TTree* tree = ds ? ds->GetTree() : nullptr;
  if (!tree) return;
  const auto defined = df.GetDefinedColumnNames();
  // Column -> (role, its branch in each file, in chain order).
  std::map<std::string, std::pair<std::string, std::vector<Leaf>>> leaves;
  auto want = [&](const std::string& role, const std::string& column) {
    if (std::find(defined.begin(), defined.end(), column) == defined.end())
      leaves.emplace(column, std::pair{role, std::vector<Leaf>{}});
  };
  for (const auto& p : columns.parts) want(p.role, p.column);
  if (!label.empty()) want("label", label);
  if (columns.weight) want("weight", columns.weight->column);
  if (leaves.empty()) return;
  // The tree's own files, then each friend's for the columns still not found
  // (a friend's column as "alias.x" or "x").
  auto visit = [&](TTree* t, const std::string& alias) {
    std::vector<std::string> open;
    for (const auto& [column, entry] : leaves)
      if (entry.second.empty()) open.push_back(column);
    each_file(t, [&](TTree& ft, const std::string& file) {
      for (const auto& column : open) {
        std::string name = column;
        if (!alias.empty() && name.rfind(alias + ".", 0) == 0) name = name.substr(alias.size() + 1);
        if (auto l = leaf_of(ft, name, file)) leaves[column].second.push_back(*l);
      }
    });
  };
  visit(tree, "");
  if (TList* friends = tree->GetListOfFriends())
    for (TObject* o : *friends) {
      auto* fe = static_cast<TFriendElement*>(o);
      if (TTree* ft = fe->GetTree()) visit(ft, fe->GetName());
    }

  for (const auto& [column, entry] : leaves) {
    const auto& [role, found] = entry;
    if (found.empty()) continue;
    const Leaf& first = found.front();
    for (const Leaf& l : found)
      if (!l.same_type(first))
        throw std::runtime_error(
            where + ": " + role + " column " + quote(column) + " has type " + first.shown() + " in " +
            quote(first.file) + " but " + l.shown() + " in " + quote(l.file) + " (tree " +
            quote(tree->GetName()) +
            "); a chain of files must store each column with one type (RDataFrame and TTreeReader would read "
            "the other files' values as garbage): write those files again with the column converted (e.g. "
            "RDataFrame's Redefine and Snapshot), or read them as separate datasets");
    if (first.cstring && role != "label" && role != "weight")
      throw std::runtime_error(where + ": " + role + " column " + quote(column) +
                               " is a C-string branch (leaf type /C: text, which RDataFrame reads as its "
                               "characters); expected " +
                               kExpectedNumbers);
  }
  // Ranges past the end of a fixed-size array.
  for (const auto& p : columns.parts) {
    const auto it = leaves.find(p.column);
    if (!p.array || p.take < 0 || it == leaves.end() || it->second.second.empty()) continue;
    long long size = -1;
    for (const Leaf& l : it->second.second) {
      if (l.fixed < 0) size = -2;  // a variable-size array somewhere: padded with 0
      if (size != -2) size = std::max(size, l.fixed);
    }
    if (size < 0 || p.first + p.take <= size) continue;
    const std::string values = size == 0 ? "it has no values"
                                         : "its values are " + p.column + "[0] to " + p.column + "[" +
                                               std::to_string(size - 1) + "]";
    throw std::runtime_error(where + ": " + p.role + " " + quote(p.spec) + ": column " + quote(p.column) +
                             " is a fixed-size array of " + std::to_string(size) + " values (" +
                             it->second.second.front().shown() + "), so " + quote(p.spec) +
                             (p.take == 1 ? " is past its end: " : " reaches past its end: ") + values +
                             " (only variable-size arrays are padded with 0)");
  }
}

}  // namespace torchclad::rootdata
