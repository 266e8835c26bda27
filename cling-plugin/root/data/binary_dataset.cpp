#include "data/binary_dataset.hpp"

#include <ROOT/RVec.hxx>
#include <TDirectory.h>
#include <TFile.h>
#include <TLeaf.h>
#include <TTree.h>

#include <algorithm>
#include <memory>
#include <stdexcept>

#include "data/tree_dataset.hpp"
#include "src/text.hpp"

namespace torchclad::rootdata {
namespace {

// Labels as float 0/1 targets; any other value is an error naming its row.
torch::Tensor targets_of(const std::string& where, const torch::Tensor& labels, const std::string& column) {
  const auto bad = labels.gt(1).nonzero();
  if (bad.numel() > 0) {
    const int64_t row = bad[0][0].item<int64_t>();
    throw std::runtime_error(where + ": label column " + quote(column) + " holds " +
                             std::to_string(labels[row].item<int64_t>()) + " at row " + std::to_string(row) +
                             "; a binary classifier expects 0 (noise) or 1 (signal)");
  }
  return labels.to(torch::kFloat32);
}

// The SNR branch of entries [first, first + n), read directly (one scalar
// branch, entry order).
torch::Tensor read_snr_branch(const std::string& where, const std::string& file, const std::string& tree,
                              const std::string& column, long long first, long long n) {
  TDirectory::TContext keep_current_directory;
  std::unique_ptr<TFile> f(TFile::Open(file.c_str(), "READ"));
  auto* t = f ? dynamic_cast<TTree*>(f->Get(tree.c_str())) : nullptr;
  if (!t) throw std::runtime_error(where + ": cannot reopen tree " + quote(tree));
  TLeaf* leaf = t->GetLeaf(column.c_str());
  if (!leaf) {
    std::string names;
    for (auto* b : *t->GetListOfBranches()) names += (names.empty() ? "" : ", ") + std::string(b->GetName());
    throw std::runtime_error(where + ": no SNR column " + quote(column) + "; the columns are: " + names);
  }
  if (leaf->GetLen() != 1 || leaf->GetLeafCount())
    throw std::runtime_error(where + ": SNR column " + quote(column) +
                             " holds an array; expected one number per entry");
  const std::string type = leaf->GetTypeName();
  if (type != "Float_t" && type != "Double_t")
    throw std::runtime_error(where + ": SNR column " + quote(column) + " is " + type +
                             ", expected Float_t or Double_t");
  torch::Tensor snr = torch::empty({n}, torch::kFloat32);
  float* out = snr.data_ptr<float>();
  t->SetBranchStatus("*", false);
  t->SetBranchStatus(column.c_str(), true);
  float vf = 0;
  double vd = 0;
  if (type == "Float_t")
    t->SetBranchAddress(column.c_str(), &vf);
  else
    t->SetBranchAddress(column.c_str(), &vd);
  for (long long i = 0; i < n; ++i) {
    if (t->GetEntry(first + i) <= 0)
      throw std::runtime_error(where + ": reading entry " + std::to_string(first + i) +
                               " failed (is the file corrupt?)");
    out[i] = type == "Float_t" ? vf : static_cast<float>(vd);
  }
  t->ResetBranchAddresses();
  return snr;
}

}  // namespace

data::BinarySplit read_binary_tree(const std::string& file, const std::string& tree, const BinaryColumns& c,
                                   long long first, long long count) {
  const std::string where = "read_binary_tree: " + quote(file) + " tree " + quote(tree);
  auto split = read_tree(file, tree, c.features, c.label, first, count);
  data::BinarySplit out{split.images, targets_of(where, split.labels, c.label), {}};
  if (!c.snr.empty()) out.snr = read_snr_branch(where, file, tree, c.snr, first, split.images.size(0));
  return out;
}

data::BinarySplit read_binary_rdataframe(ROOT::RDF::RNode df, const BinaryColumns& c) {
  // The user's function (torchclad/rdataframe.h) names the errors.
  const std::string where = "binary_dataset_from_rdataframe";
  if (c.snr.empty()) {
    auto split = read_rdataframe(df, c.features, c.label, where);
    return {split.images, targets_of(where, split.labels, c.label), {}};
  }
  const auto names = df.GetColumnNames();
  if (std::find(names.begin(), names.end(), c.snr) == names.end()) {
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    throw std::runtime_error(where + ": no SNR column " + quote(c.snr) + "; the columns are: " + list);
  }
  // The SNR rides along as one more value of each row, so that features,
  // labels and SNR come out of one event loop in the same (entry) order.
  const std::string joined = "__torchclad_features_and_snr";
  ROOT::RDF::RNode with_snr = df;
  try {
    with_snr = df.Define(joined, "auto v = ROOT::RVecF(" + c.features + ".begin(), " + c.features +
                                     ".end()); v.push_back(float(" + c.snr + ")); return v;");
  } catch (const std::exception& e) {
    throw std::runtime_error(where + ": cannot combine columns " + quote(c.features) + " and " +
                             quote(c.snr) + ": " + e.what());
  }
  auto split =
      read_rdataframe(with_snr, joined, c.label, where,
                      "the columns " + quote(c.features) + ", " + quote(c.snr) + " and " + quote(c.label));
  const int64_t f = split.images.size(1) - 1;
  return {split.images.narrow(1, 0, f).contiguous(), targets_of(where, split.labels, c.label),
          split.images.select(1, f).contiguous()};
}

}  // namespace torchclad::rootdata
